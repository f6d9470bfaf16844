import Autodiff
import Foundation
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

    /// Each stored weight's shape, keyed "<layer>/kernel" and "<layer>/bias" (what `Checkpoint.load`
    /// checks a file's declared shapes against), the fixed input normalisation's included.
    public var parameterShapes: [String: [Int]] {
        Dictionary(uniqueKeysWithValues: layers.flatMap { [("\($0.name)/kernel", $0.kernel.shape), ("\($0.name)/bias", $0.bias.shape)] })
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
            for (what, values) in [("kernel", w.kernel.data), ("bias", w.bias.data)] {
                try requireFinite(values, "\(source): layer '\(l.name)' \(what)")
            }
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
            for (name, values) in [("E[g²]", s.squaredGradient.data), ("E[Δ²]", s.squaredUpdate.data)] {
                let what = "\(source): optimizer state \(name) of '\(key)'"
                try requireFinite(values, what)
                // A running mean of squares: a negative one would make the next step's square root NaN.
                if let i = values.firstIndex(where: { $0 < 0 }) {
                    throw CNNSepError("\(what) holds a negative value (\(values[i]) at index \(i)), which a mean of squares cannot: the checkpoint is damaged")
                }
            }
            squaredGradients[i] = s.squaredGradient.data
            squaredUpdates[i] = s.squaredUpdate.data
        }
    }
}

/// Weights from a file must be numbers: a NaN or an infinity would only show up later, as a stem
/// of NaNs or a diverged loss, far from its cause.
private func requireFinite(_ values: [Float], _ what: String) throws {
    if let i = values.firstIndex(where: { !$0.isFinite }) {
        throw CNNSepError("\(what) holds a non-finite value (\(values[i]) at index \(i)): the checkpoint is damaged or its training diverged")
    }
}
