import Autodiff

/// Adadelta (Zeiler 2012) with a learning rate, as Keras and PyTorch define it (METHOD.md):
///     E[g²] ← ρ E[g²] + (1−ρ) g²
///     Δ     = √(E[Δ²] + ε) / √(E[g²] + ε) · g
///     E[Δ²] ← ρ E[Δ²] + (1−ρ) Δ²
///     w     ← w − lr · Δ
public final class Adadelta {
    /// Variable so that a learning-rate schedule can set it between steps.
    public var learningRate: Float
    public let rho: Float, epsilon: Float
    /// E[g²] and E[Δ²] per parameter, in the order of the parameters passed to `step`.
    public var squaredGradients: [[Float]]
    public var squaredUpdates: [[Float]]

    public init(parameters: [Tensor], learningRate: Float, rho: Float, epsilon: Float) {
        self.learningRate = learningRate
        self.rho = rho
        self.epsilon = epsilon
        squaredGradients = parameters.map { [Float](repeating: 0, count: $0.count) }
        squaredUpdates = squaredGradients
    }

    /// Updates every parameter in place from its accumulated gradient. A parameter without a gradient
    /// is left as it is, accumulators included, as Keras skips variables that have no gradient.
    public func step(_ parameters: [Tensor]) {
        precondition(parameters.count == squaredGradients.count, "Adadelta.step: \(parameters.count) parameters, state for \(squaredGradients.count)")
        for (i, p) in parameters.enumerated() {
            guard let grad = p.grad else { continue }
            precondition(grad.count == p.count, "Adadelta.step: parameter \(i) has \(p.count) values, gradient \(grad.count)")
            grad.withUnsafeBufferPointer { update(i, p, $0.baseAddress!) }
        }
    }

    /// Updates every parameter from one flat gradient that holds them all in `parameters` order
    /// (`NetworkEngine.gradients`).
    public func step(_ parameters: [Tensor], gradients: UnsafePointer<Float>) {
        precondition(parameters.count == squaredGradients.count, "Adadelta.step: \(parameters.count) parameters, state for \(squaredGradients.count)")
        var offset = 0
        for (i, p) in parameters.enumerated() {
            update(i, p, gradients + offset)
            offset += p.count
        }
    }

    private func update(_ i: Int, _ p: Tensor, _ g: UnsafePointer<Float>) {
        precondition(squaredGradients[i].count == p.count, "Adadelta.step: parameter \(i) has \(p.count) values, state \(squaredGradients[i].count)")
        let (lr, rho, eps) = (learningRate, rho, epsilon)
        squaredGradients[i].withUnsafeMutableBufferPointer { eg in
            squaredUpdates[i].withUnsafeMutableBufferPointer { ed in
                p.data.withUnsafeMutableBufferPointer { w in
                    for j in 0..<w.count {
                        let gj = g[j]
                        let egj = rho * eg[j] + (1 - rho) * gj * gj
                        let delta = (ed[j] + eps).squareRoot() / (egj + eps).squareRoot() * gj
                        eg[j] = egj
                        ed[j] = rho * ed[j] + (1 - rho) * delta * delta
                        w[j] -= lr * delta
                    }
                }
            }
        }
    }
}
