import Autodiff
import Foundation

/// One optimisation step of the network on a batch: forward, masks, loss, backward, Adadelta.
/// Shared by training, `cnnsep step`, `cnnsep forward` and the benchmark.
public final class TrainingStep {
    public let network: ChandnaNetwork
    public let optimizer: Adadelta
    public let config: Config

    /// Threads for the fused path (the four decoders and the loss pass split in two); 2 by default on
    /// a machine with at least 2 cores.
    public var threads = min(2, ProcessInfo.processInfo.activeProcessorCount)
    /// Whether `computeGradients`, `step` and `loss` take the fused, preallocated path (when the model's
    /// shape allows it; see `ChandnaNetwork.fusedPathSupports`) rather than the tape. Same values up to
    /// float rounding; the tape stays for `forward` (masks and estimates) and other shapes.
    public var useFusedPath = true
    private let parameters: [Tensor]
    private var engine: NetworkEngine?

    public init(network: ChandnaNetwork, config: Config) {
        self.network = network
        self.config = config
        parameters = network.parameters
        optimizer = Adadelta(parameters: parameters, learningRate: config.learningRate,
                             rho: config.rho, epsilon: config.epsilon)
    }

    /// The engine for a batch of `count` windows, when the fused path applies to these tensors.
    private func fusedEngine(mixture: Tensor, targets: [Tensor]) -> NetworkEngine? {
        let m = config.model
        guard useFusedPath, ChandnaNetwork.fusedPathSupports(m), mixture.shape.count == 3,
              mixture.shape[1] == m.frames, mixture.shape[2] == m.bins, mixture.shape[0] > 0,
              targets.count == 4, targets.allSatisfy({ $0.count == mixture.count }) else { return nil }
        let b = mixture.shape[0]
        if let e = engine, e.capacity >= b { e.threads = threads; return e }
        let e = NetworkEngine(shape: m, capacity: b, threads: threads)
        engine = e
        return e
    }

    /// Loss (and, with `gradients`, the parameters' grads) on the fused path.
    private func fused(_ e: NetworkEngine, mixture: Tensor, targets: [Tensor], gradients: Bool) -> Float {
        let b = mixture.shape[0]
        return mixture.data.withUnsafeBufferPointer { xp in
            let x = xp.baseAddress!
            e.forward(network, x: x, batch: b)
            let loss = withTargetPointers(targets) { y in
                e.loss(x: x, targets: y, batch: b, config: config, gradients: gradients)
            }
            if gradients {
                NetworkEngine.prepareGradients(parameters)
                e.backward(network, x: x, batch: b)
            }
            return loss
        }
    }

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

    /// Forward pass with loss; gradients are accumulated into the parameters when recording.
    public func forward(mixture: Tensor, targets: [Tensor]) -> (masks: [Tensor], estimates: [Tensor], loss: Tensor) {
        let m = mixture.shape
        let magnitudes = mixture.reshaped([m[0], m[1], m[2], 1])         // (B, T, F, 1)
        let masks = softMasks(network(mixture), epsilon: config.model.maskEpsilon)
        let estimates = masks.map { $0 * magnitudes }                      // ŷ_s = m_s ⊙ |X|
        let loss = discriminativeLoss(estimates: estimates, targets: targets,
                                      alpha: config.alpha, beta: config.beta, gamma: config.gamma)
        return (masks, estimates, loss)
    }

    /// Gradients of the loss on one batch, left in the parameters' `grad`; returns the loss.
    @discardableResult
    public func computeGradients(mixture: Tensor, targets: [Tensor]) -> Float {
        if let e = fusedEngine(mixture: mixture, targets: targets) {
            return fused(e, mixture: mixture, targets: targets, gradients: true)
        }
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
        if let e = fusedEngine(mixture: mixture, targets: targets) {
            return fused(e, mixture: mixture, targets: targets, gradients: false)
        }
        return withNoGrad { forward(mixture: mixture, targets: targets).loss.scalar }
    }
}

/// Base pointers of the four targets' data, for the duration of `body`.
private func withTargetPointers<R>(_ t: [Tensor], _ body: (Four<UnsafePointer<Float>>) -> R) -> R {
    t[0].data.withUnsafeBufferPointer { a in
        t[1].data.withUnsafeBufferPointer { b in
            t[2].data.withUnsafeBufferPointer { c in
                t[3].data.withUnsafeBufferPointer { d in
                    body((a.baseAddress!, b.baseAddress!, c.baseAddress!, d.baseAddress!))
                }
            }
        }
    }
}
