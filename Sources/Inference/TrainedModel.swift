import Configuration
import Foundation
import Network
import Support

/// A network restored from a checkpoint, with the config it was trained with.
public struct TrainedModel {
    public let network: ChandnaNetwork
    public let config: Config
    public let checkpoint: Checkpoint

    /// Loads `url`. The model's sizes come from the config stored in the checkpoint; a file without
    /// one (a Keras weights file) uses `fallback`. Weights that do not fit are refused by layer name.
    public static func load(_ url: URL, fallback: Config) throws -> TrainedModel {
        var config = fallback
        if let json = try Checkpoint.configJSON(of: url) {
            config = try Config.parse(Data(json.utf8), source: "\(url.relativePath) (stored config)")
        }
        let network = ChandnaNetwork(shape: config.model, seed: config.seed)
        let checkpoint = try Checkpoint.load(url, expecting: network.parameterShapes)
        try network.load(checkpoint.layers, source: url.relativePath)
        return TrainedModel(network: network, config: config, checkpoint: checkpoint)
    }

    /// The model a user means when they name none (`predict` without --checkpoint or --config),
    /// the first that exists of:
    /// 1. `Models/cnnsep.h5` in `folder` (the current folder);
    /// 2. `Models/cnnsep.h5` beside the executable (symbolic links followed) or in one of the three
    ///    folders above it, so a checkout's model is found from `.build/<triple>/release/cnnsep`;
    /// 3. the newest checkpoint of the `dsd100` run, then of the `demo` run (`Checkpoints/<name>/latest.h5`
    ///    in `folder`), as `cnnsep train` and `cnnsep demo` leave them.
    /// Nil when there is none.
    public static func findDefault(in folder: URL, executable: URL?) -> URL? {
        var candidates = [folder.appendingPathComponent(shippedModel)]
        if var above = executable?.resolvingSymlinksInPath().deletingLastPathComponent() {
            for _ in 0..<4 {
                candidates.append(above.appendingPathComponent(shippedModel))
                above = above.deletingLastPathComponent()
            }
        }
        candidates += ["dsd100", "demo"].map { folder.appendingPathComponent("Checkpoints/\($0)/latest.h5") }
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// Where a model shipped with cnnsep lives, relative to the folders `findDefault` searches.
    public static let shippedModel = "Models/cnnsep.h5"

    /// The one-line error for a `predict` that finds no model.
    public static let noModelHint = "no trained model: run `cnnsep demo` (trains one in a few minutes) or pass --checkpoint FILE"

    /// The run folder's newest checkpoint for a config: `Checkpoints/<name>/latest.h5`.
    public static func latest(for config: Config, runDirectory: URL? = nil) throws -> URL {
        let url = (runDirectory ?? URL(fileURLWithPath: "Checkpoints/\(config.name)")).appendingPathComponent("latest.h5")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CNNSepError("\(url.relativePath): no checkpoint found; train one with `cnnsep train --config \(config.name)` (or pass --checkpoint FILE)")
        }
        return url
    }
}
