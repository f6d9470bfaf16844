import Foundation
import Autodiff
import Support

/// Moving weights and optimizer state between the live network and a `Checkpoint`.
extension ChandnaNetwork {
    /// The weights in checkpoint form, in layer order.
    public func weights() -> [LayerWeights] {
        layers.map { l in
            LayerWeights(name: l.name, kernel: ParameterArray(shape: l.kernel.shape, data: l.kernel.data),
                         bias: ParameterArray(shape: l.bias.shape, data: l.bias.data))
        }
    }

    /// Loads weights by layer name. A file from a different model is refused, naming the first
    /// layer that is missing or has another shape; `source` names the file in the message.
    public func load(_ stored: [LayerWeights], source: String) throws {
        let byName = Dictionary(stored.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for l in layers {
            guard let w = byName[l.name] else {
                throw CNNSepError("\(source): layer '\(l.name)' is missing: this checkpoint is from a different model")
            }
            for (what, mine, theirs) in [("kernel", l.kernel, w.kernel), ("bias", l.bias, w.bias)] where mine.shape != theirs.shape {
                throw CNNSepError("\(source): layer '\(l.name)' \(what) has shape \(theirs.shape), this model expects \(mine.shape): different model")
            }
        }
        let extra = stored.map(\.name).filter { name in !layers.contains { $0.name == name } }
        if let first = extra.first {
            throw CNNSepError("\(source): layer '\(first)' is not part of this model: different model")
        }
        for l in layers {
            let w = byName[l.name]!
            l.kernel.data = w.kernel.data
            l.bias.data = w.bias.data
        }
    }
}

extension Adadelta {
    /// Accumulators keyed "<layer>/kernel" and "<layer>/bias", as the checkpoint stores them.
    public func slots(for network: ChandnaNetwork) -> [String: AdadeltaSlots] {
        var result: [String: AdadeltaSlots] = [:]
        for (i, (key, p)) in network.namedParameters.enumerated() {
            result[key] = AdadeltaSlots(squaredGradient: ParameterArray(shape: p.shape, data: squaredGradients[i]),
                                        squaredUpdate: ParameterArray(shape: p.shape, data: squaredUpdates[i]))
        }
        return result
    }

    public func load(_ slots: [String: AdadeltaSlots], for network: ChandnaNetwork, source: String) throws {
        for (i, (key, p)) in network.namedParameters.enumerated() {
            guard let s = slots[key], s.squaredGradient.shape == p.shape, s.squaredUpdate.shape == p.shape else {
                throw CNNSepError("\(source): optimizer state for '\(key)' is missing or has the wrong shape")
            }
            squaredGradients[i] = s.squaredGradient.data
            squaredUpdates[i] = s.squaredUpdate.data
        }
    }
}

/// A network restored from a checkpoint, with the config it was trained with.
public struct TrainedModel {
    public let network: ChandnaNetwork
    public let config: Config
    public let checkpoint: Checkpoint

    /// Loads `url`. The model's sizes come from the config stored in the checkpoint; a file without
    /// one (a Keras weights file) uses `fallback`. Weights that do not fit are refused by layer name.
    public static func load(_ url: URL, fallback: Config) throws -> TrainedModel {
        let checkpoint = try Checkpoint.load(url)
        var config = fallback
        if let json = checkpoint.configJSON {
            config = try Config.parse(Data(json.utf8), source: "\(url.path) (stored config)")
        }
        let network = ChandnaNetwork(shape: config.model, seed: config.seed)
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
