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

    /// What the batch is read for: its memory is checked for that before its data is read.
    public enum Use {
        /// `writeForward`: masks, estimates and the output file held beside the inputs.
        case forward
        /// Steps of the network's engine on the whole batch.
        case steps(ChandnaNetwork)
    }

    public static func read(_ url: URL, shape m: ModelShape, for use: Use? = nil) throws -> BatchFile {
        let file = try HDF5File.open(url)
        defer { file.close() }
        guard file.exists("/mixture") else { throw CNNSepError("\(url.relativePath): no dataset /mixture (expected (N, \(m.frames), \(m.bins)) float32)") }
        // The declared shape first: the data is read only once it is known to be windows of the model
        // that fit in memory with what `use` makes of them.
        let shape = try file.shape(at: "/mixture")
        guard shape.count == 3, shape[0] > 0, shape[1] == m.frames, shape[2] == m.bins else {
            throw CNNSepError("\(url.relativePath): /mixture has shape \(shape), expected (N, \(m.frames), \(m.bins))")
        }
        if let use { try requireMemory(windows: shape[0], shape: m, use: use, source: url) }
        func finite(_ path: String) throws -> [Float] {
            let values = try file.readFloats(at: path).data
            if let i = values.firstIndex(where: { !$0.isFinite }) {
                throw CNNSepError("\(url.relativePath): \(path) value \(i) is \(values[i]); the network's input and targets must be finite")
            }
            return values
        }
        let data = try finite("/mixture")
        let present = Stem.names.filter { file.exists("/target_\($0)") }
        guard present.isEmpty || present.count == 4 else {
            throw CNNSepError("\(url.relativePath): has targets for \(present.joined(separator: ", ")) only; give all four (/target_bass, /target_drums, /target_other, /target_vocals) or none")
        }
        var targets: [Tensor]? = nil
        if present.count == 4 {
            targets = try Stem.names.map { name in
                let s = try file.shape(at: "/target_\(name)")
                guard s == shape else { throw CNNSepError("\(url.relativePath): /target_\(name) has shape \(s), expected \(shape) like /mixture") }
                return Tensor(try finite("/target_\(name)"), shape: s + [1])
            }
        }
        return BatchFile(mixture: Tensor(data, shape: shape), targets: targets)
    }

    /// Windows `writeForward` runs on the tape at a time: the tape holds about 70 planes of T × F
    /// floats per window (measured: 1.4 GB for 400 windows of the default model), so a large batch
    /// goes through in pieces of bounded memory.
    static let forwardPiece = 32

    /// Refuses a batch of `windows` whose use needs more than this machine's memory: for `forward`,
    /// the inputs (5 planes per window), masks and estimates (8), the output file built in memory and
    /// its image (8 each), and one piece's tape; for steps, the inputs and the engine.
    static func requireMemory(windows n: Int, shape m: ModelShape, use: Use, source: URL) throws {
        let plane = Double(m.frames) * Double(m.bins) * Double(MemoryLayout<Float>.size)
        let (bytes, work): (Double, String)
        switch use {
        case .forward:
            (bytes, work) = (Double(n) * plane * 29 + Double(min(n, forwardPiece)) * plane * 70, "running forward on them and writing the results")
        case .steps(let network):
            (bytes, work) = (Double(n) * plane * 5 + NetworkEngine.bytes(network: network, capacity: n), "a step on them")
        }
        try MachineMemory.require(bytes, for: "\(source.path): /mixture holds \(n) windows; \(work)", advice: "split the batch into smaller files")
    }
}

extension TrainingStep {
    /// Writes masks and estimates (and, with targets, the loss and every layer's gradients in the
    /// Keras layouts) for `batch` to `url`, atomically. Runs on the tape `BatchFile.forwardPiece`
    /// windows at a time (one piece up to that size); the loss and gradients of the pieces are
    /// weighted by their share of the batch, so they add up to the whole batch's. Non-finite masks
    /// or loss (inputs too large for float32) are an error, and nothing is written.
    public func writeForward(_ batch: BatchFile, to url: URL) throws {
        let shape = batch.mixture.shape
        let (n, plane) = (shape[0], shape[1] * shape[2])
        var masks = [[Float]](repeating: [], count: 4), estimates = masks
        var loss = 0.0
        if batch.targets != nil { for p in network.parameters { p.zeroGrad() } }
        for start in stride(from: 0, to: n, by: BatchFile.forwardPiece) {
            let count = min(BatchFile.forwardPiece, n - start)
            let span = (start * plane)..<((start + count) * plane)
            let mixture = n == count ? batch.mixture : Tensor(Array(batch.mixture.data[span]), shape: [count, shape[1], shape[2]])
            let result: (masks: [Tensor], estimates: [Tensor], loss: Tensor)
            if let t = batch.targets {
                let targets = n == count ? t : t.map { Tensor(Array($0.data[span]), shape: [count, shape[1], shape[2], 1]) }
                result = forward(mixture: mixture, targets: targets)
                result.loss.backward(gradient: [Float(count) / Float(n)])
                loss += Double(result.loss.scalar) * Double(count) / Double(n)
            } else {
                // Without targets the loss is not defined; zero targets keep one code path for the masks.
                let zeros = (0..<4).map { _ in Tensor.zeros([count, shape[1], shape[2], 1]) }
                result = withNoGrad { forward(mixture: mixture, targets: zeros) }
            }
            for s in 0..<4 {
                masks[s] += result.masks[s].data
                estimates[s] += result.estimates[s].data
            }
        }
        for (s, name) in Stem.names.enumerated() {
            if let i = masks[s].firstIndex(where: { !$0.isFinite }) {
                throw CNNSepError("\(url.relativePath): not written: mask_\(name) value \(i) is \(masks[s][i]) (the input's magnitudes overflow float32 in the network)")
            }
        }
        guard loss.isFinite else { throw CNNSepError("\(url.relativePath): not written: the loss is \(loss) (the magnitudes overflow float32 in the loss)") }
        try AtomicFile.write(to: url) { temporary in
            let file = try HDF5File.create(temporary)
            defer { file.close() }
            for (s, name) in Stem.names.enumerated() {
                try file.write(masks[s], shape: shape, at: "/mask_\(name)")
                try file.write(estimates[s], shape: shape, at: "/estimate_\(name)")
            }
            if batch.targets != nil {
                try file.write([Float(loss)], shape: [], at: "/loss")
                for l in network.layers {
                    try file.write(l.kernel.grad ?? [Float](repeating: 0, count: l.kernel.count), shape: l.kernel.shape, at: "/grads/\(l.name)/kernel")
                    try file.write(l.bias.grad ?? [Float](repeating: 0, count: l.bias.count), shape: l.bias.shape, at: "/grads/\(l.name)/bias")
                }
            }
            try file.finishWriting()
        }
    }
}
