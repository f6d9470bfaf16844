import Autodiff
import Configuration
import Data
import Foundation
import Network

/// One optimisation step of the network on a batch: forward, masks, loss, backward, Adadelta.
/// Shared by training, `cnnsep step`, `cnnsep forward` and the benchmarks.
///
/// Steps run on the network's preallocated `NetworkEngine`; `forward` (and `useEngine = false`) runs
/// the same network on the tape, the reference the engine is tested against.
public final class TrainingStep {
    public let network: ChandnaNetwork
    public let optimizer: Adadelta
    public let config: Config

    /// Threads for the engine (the decoders and the loss pass in two halves); 2 by default on a
    /// machine with at least 2 cores. The arithmetic does not depend on it.
    public var threads = min(2, ProcessInfo.processInfo.activeProcessorCount)
    /// Whether `computeGradients`, `step` and `loss` run on the engine (true) or on the tape.
    public var useEngine = true
    private let parameters: [Tensor]
    private var engine: NetworkEngine?

    public init(network: ChandnaNetwork, config: Config) {
        self.network = network
        self.config = config
        parameters = network.parameters
        optimizer = Adadelta(parameters: parameters, learningRate: config.learningRate,
                             rho: config.rho, epsilon: config.epsilon)
    }

    /// The engine, made again only for a larger batch.
    private func engine(batch: Int) -> NetworkEngine {
        if let e = engine, e.capacity >= batch { e.threads = threads; return e }
        let e = NetworkEngine(network: network, capacity: batch, threads: threads)
        engine = e
        return e
    }

    /// Loss (and, with `gradients`, the parameters' grads) of `batch` scaled windows on the engine,
    /// read where they are (no copy), against the scaled `targets`.
    private func run(batch b: Int, gradients: Bool, windows: UnsafePointer<Float>, targets: Four<UnsafePointer<Float>>) -> Float {
        let e = engine(batch: b)
        e.forward(batch: b, windows: windows)
        let loss = e.loss(targets: targets, batch: b, weights: config.loss, gradients: gradients)
        if gradients {
            NetworkEngine.prepareGradients(parameters)
            e.backward(batch: b)
        }
        return loss
    }

    /// The same on tensors as `tensors(_:)` makes them (mixture (B, T, F), targets (B, T, F, 1)).
    private func run(mixture: Tensor, targets: [Tensor], gradients: Bool) -> Float {
        precondition(mixture.shape.count == 3 && Array(mixture.shape.dropFirst()) == network.inputShape
                     && targets.count == 4 && targets.allSatisfy { $0.count == mixture.count },
                     "TrainingStep: mixture \(mixture.shape) must be (B, \(network.inputShape)) with 4 targets of its size")
        return mixture.data.withUnsafeBufferPointer { x in
            withData(targets) { y in run(batch: mixture.shape[0], gradients: gradients, windows: x.baseAddress!, targets: y) }
        }
    }

    // MARK: Batches from the data module (what the trainer calls: no tensors are made)

    /// The batch times the input scale, kept between steps (unused when the scale is 1).
    private var scaled = Batch(capacity: 1, length: 1, bins: 1)

    /// One Adadelta step on the batch; returns the loss before the update.
    @discardableResult
    public func step(_ batch: Batch) -> Float {
        let loss = run(batch, gradients: true)
        optimizer.step(parameters)
        return loss
    }

    /// The loss of the batch without gradients (validation).
    public func loss(_ batch: Batch) -> Float { run(batch, gradients: false) }

    private func run(_ batch: Batch, gradients: Bool) -> Float {
        let s = config.inputScale
        guard s != 1 else { return run(unscaled: batch, gradients: gradients) }
        if scaled.capacity < batch.count || scaled.length != batch.length || scaled.bins != batch.bins {
            scaled = Batch(capacity: batch.count, length: batch.length, bins: batch.bins)
        }
        let n = batch.count * batch.length * batch.bins
        scaled.count = batch.count
        for k in 0..<5 {
            (k == 0 ? batch.mixture : batch.sources[k - 1]).withUnsafeBufferPointer { src in
                func scale(_ dst: inout [Float]) { dst.withUnsafeMutableBufferPointer { d in for i in 0..<n { d[i] = src[i] * s } } }
                if k == 0 { scale(&scaled.mixture) } else { scale(&scaled.sources[k - 1]) }
            }
        }
        return run(unscaled: scaled, gradients: gradients)
    }

    private func run(unscaled batch: Batch, gradients: Bool) -> Float {
        batch.mixture.withUnsafeBufferPointer { x in
            withPointers(batch.sources) { y in run(batch: batch.count, gradients: gradients, windows: x.baseAddress!, targets: y) }
        }
    }

    // MARK: Tensors (the `forward`/`step` commands, tests, the tape)

    /// The batch's tensors as the network sees them: mixture (B, T, F) and targets (B, T, F, 1),
    /// all multiplied by the config's input scale.
    public func tensors(_ batch: Batch) -> (mixture: Tensor, targets: [Tensor]) {
        let s = config.inputScale
        let shape = [batch.count, batch.length, batch.bins]
        let n = shape.reduce(1, *)
        func scaled(_ values: [Float]) -> [Float] {
            s == 1 && values.count == n ? values : values.prefix(n).map { $0 * s }
        }
        let mixture = Tensor(scaled(batch.mixture), shape: shape)
        let targets = batch.sources.map { Tensor(scaled($0), shape: shape + [1]) }
        return (mixture, targets)
    }

    /// Forward pass with loss on the tape; gradients are accumulated into the parameters when recording.
    public func forward(mixture: Tensor, targets: [Tensor]) -> (masks: [Tensor], estimates: [Tensor], loss: Tensor) {
        let m = mixture.shape
        let magnitudes = mixture.reshaped([m[0], m[1], m[2], 1])         // (B, T, F, 1)
        let masks = softMasks(network(mixture), epsilon: config.model.maskEpsilon)
        let estimates = masks.map { $0 * magnitudes }                      // ŷ_s = m_s ⊙ |X|
        let loss = discriminativeLoss(estimates: estimates, targets: targets, weights: config.loss)
        return (masks, estimates, loss)
    }

    /// Gradients of the loss on one batch, left in the parameters' `grad`; returns the loss.
    @discardableResult
    public func computeGradients(mixture: Tensor, targets: [Tensor]) -> Float {
        if useEngine { return run(mixture: mixture, targets: targets, gradients: true) }
        for p in parameters { p.zeroGrad() }
        let loss = forward(mixture: mixture, targets: targets).loss
        loss.backward()
        return loss.scalar
    }

    /// One Adadelta step on the batch; returns the loss before the update.
    @discardableResult
    public func step(mixture: Tensor, targets: [Tensor]) -> Float {
        let loss = computeGradients(mixture: mixture, targets: targets)
        optimizer.step(parameters)
        return loss
    }

    /// The loss without gradients (validation).
    public func loss(mixture: Tensor, targets: [Tensor]) -> Float {
        if useEngine { return run(mixture: mixture, targets: targets, gradients: false) }
        return withNoGrad { forward(mixture: mixture, targets: targets).loss.scalar }
    }
}

/// Base pointers of four arrays for the duration of `body`.
func withPointers<R>(_ a: [[Float]], _ body: (Four<UnsafePointer<Float>>) -> R) -> R {
    a[0].withUnsafeBufferPointer { p0 in
        a[1].withUnsafeBufferPointer { p1 in
            a[2].withUnsafeBufferPointer { p2 in
                a[3].withUnsafeBufferPointer { p3 in
                    body((p0.baseAddress!, p1.baseAddress!, p2.baseAddress!, p3.baseAddress!))
                }
            }
        }
    }
}

/// Base pointers of four tensors' data for the duration of `body` (no array is made).
func withData<R>(_ t: [Tensor], _ body: (Four<UnsafePointer<Float>>) -> R) -> R {
    t[0].data.withUnsafeBufferPointer { p0 in
        t[1].data.withUnsafeBufferPointer { p1 in
            t[2].data.withUnsafeBufferPointer { p2 in
                t[3].data.withUnsafeBufferPointer { p3 in
                    body((p0.baseAddress!, p1.baseAddress!, p2.baseAddress!, p3.baseAddress!))
                }
            }
        }
    }
}
