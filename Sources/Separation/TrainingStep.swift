import Autodiff

/// One optimisation step of the network on a batch: forward, masks, loss, backward, Adadelta.
/// Shared by training, `cnnsep step`, `cnnsep forward` and the benchmark.
public final class TrainingStep {
    public let network: ChandnaNetwork
    public let optimizer: Adadelta
    public let config: Config

    public init(network: ChandnaNetwork, config: Config) {
        self.network = network
        self.config = config
        optimizer = Adadelta(parameters: network.parameters, learningRate: config.learningRate,
                             rho: config.rho, epsilon: config.epsilon)
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
        for p in network.parameters { p.zeroGrad() }
        let loss = forward(mixture: mixture, targets: targets).loss
        loss.backward()
        return loss.scalar
    }

    /// One Adadelta step on the batch; returns the loss before the update.
    @discardableResult
    public func step(mixture: Tensor, targets: [Tensor]) -> Float {
        let loss = computeGradients(mixture: mixture, targets: targets)
        optimizer.step(network.parameters)
        return loss
    }

    /// The loss without gradients (validation).
    public func loss(mixture: Tensor, targets: [Tensor]) -> Float {
        withNoGrad { forward(mixture: mixture, targets: targets).loss.scalar }
    }
}
