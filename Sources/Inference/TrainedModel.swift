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
            config = try Config.parse(Data(json.utf8), source: "\(url.path) (stored config)")
        }
        let network = ChandnaNetwork(shape: config.model, seed: config.seed)
        let checkpoint = try Checkpoint.load(url, expecting: network.parameterShapes)
        try network.load(checkpoint.layers, source: url.path)
        return TrainedModel(network: network, config: config, checkpoint: checkpoint)
    }

    /// The run folder's newest checkpoint for a config: `Checkpoints/<name>/latest.h5`.
    public static func latest(for config: Config, runDirectory: URL? = nil) throws -> URL {
        let url = (runDirectory ?? URL(fileURLWithPath: "Checkpoints/\(config.name)")).appendingPathComponent("latest.h5")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CNNSepError("\(url.path): no checkpoint found; train one with `cnnsep train --config \(config.name)` (or pass --checkpoint FILE)")
        }
        return url
    }
}
