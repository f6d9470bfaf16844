import Autodiff
import Configuration
import Data
import Foundation
import HDF5
import Network
import Support

/// A batch given as arrays in HDF5, for holding cnnsep against another framework:
/// `/mixture` (N, T, F) float32, the network's input exactly as given (no scaling), and optionally
/// `/target_<source>` of the same shape for all four sources.
public struct BatchFile {
    public let mixture: Tensor            // (N, T, F)
    public let targets: [Tensor]?         // four (N, T, F, 1), source order

    public static func read(_ url: URL, shape m: ModelShape) throws -> BatchFile {
        let file = try HDF5File.open(url)
        defer { file.close() }
        guard file.exists("/mixture") else { throw CNNSepError("\(url.path): no dataset /mixture (expected (N, \(m.frames), \(m.bins)) float32)") }
        // The declared shape first: the data is read only once it is known to be windows of the model.
        let shape = try file.shape(at: "/mixture")
        guard shape.count == 3, shape[0] > 0, shape[1] == m.frames, shape[2] == m.bins else {
            throw CNNSepError("\(url.path): /mixture has shape \(shape), expected (N, \(m.frames), \(m.bins))")
        }
        let (_, data) = try file.readFloats(at: "/mixture")
        let present = Stem.names.filter { file.exists("/target_\($0)") }
        guard present.isEmpty || present.count == 4 else {
            throw CNNSepError("\(url.path): has targets for \(present.joined(separator: ", ")) only; give all four (/target_bass, /target_drums, /target_other, /target_vocals) or none")
        }
        var targets: [Tensor]? = nil
        if present.count == 4 {
            targets = try Stem.names.map { name in
                let s = try file.shape(at: "/target_\(name)")
                guard s == shape else { throw CNNSepError("\(url.path): /target_\(name) has shape \(s), expected \(shape) like /mixture") }
                return Tensor(try file.readFloats(at: "/target_\(name)").data, shape: s + [1])
            }
        }
        return BatchFile(mixture: Tensor(data, shape: shape), targets: targets)
    }
}

extension TrainingStep {
    /// Writes masks and estimates (and, with targets, the loss and every layer's gradients in the
    /// Keras layouts) for `batch` to `url`, atomically.
    public func writeForward(_ batch: BatchFile, to url: URL) throws {
        let shape = batch.mixture.shape
        let out: (masks: [Tensor], estimates: [Tensor], loss: Float?)
        if let t = batch.targets {
            for p in network.parameters { p.zeroGrad() }
            let result = forward(mixture: batch.mixture, targets: t)
            result.loss.backward()
            out = (result.masks, result.estimates, result.loss.scalar)
        } else {
            // Without targets the loss is not defined; zero targets keep one code path for the masks.
            let zeros = (0..<4).map { _ in Tensor.zeros(shape + [1]) }
            let result = withNoGrad { forward(mixture: batch.mixture, targets: zeros) }
            out = (result.masks, result.estimates, nil)
        }
        try AtomicFile.write(to: url) { temporary in
            let file = try HDF5File.create(temporary)
            defer { file.close() }
            for (s, name) in Stem.names.enumerated() {
                try file.write(out.masks[s].data, shape: shape, at: "/mask_\(name)")
                try file.write(out.estimates[s].data, shape: shape, at: "/estimate_\(name)")
            }
            if let loss = out.loss {
                try file.write([loss], shape: [], at: "/loss")
                for l in network.layers {
                    try file.write(l.kernel.grad ?? [Float](repeating: 0, count: l.kernel.count), shape: l.kernel.shape, at: "/grads/\(l.name)/kernel")
                    try file.write(l.bias.grad ?? [Float](repeating: 0, count: l.bias.count), shape: l.bias.shape, at: "/grads/\(l.name)/bias")
                }
            }
            try file.finishWriting()
        }
    }
}
