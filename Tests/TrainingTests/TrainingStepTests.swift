import Autodiff
import Foundation
import Network
import Support
import TestHelpers
import Testing
@testable import Training

/// The training step on the tape: masks, the loss against its definition, and the whole loss's
/// gradient against finite differences.
@Suite struct TrainingStepTests {
    @Test func masksSumToOneAndEstimatesSumToMixture() {
        let c = smallConfig()
        let step = TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 3), config: c)
        let (mixture, targets) = step.tensors(randomBatch(c, count: 2, seed: 4))
        let out = withNoGrad { step.forward(mixture: mixture, targets: targets) }
        for i in 0..<mixture.count {
            let m = out.masks.reduce(Float(0)) { $0 + $1.data[i] }
            let e = out.estimates.reduce(Float(0)) { $0 + $1.data[i] }
            #expect(Swift.abs(m - 1) < 1e-5)
            #expect(Swift.abs(e - mixture.data[i]) < 1e-4 * max(1, mixture.data[i]))
        }
    }

    /// The loss written out independently, in Double, from the estimates.
    @Test func lossMatchesItsDefinition() {
        let c = smallConfig()
        let step = TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 5), config: c)
        let (mixture, targets) = step.tensors(randomBatch(c, count: 2, seed: 6))
        let out = withNoGrad { step.forward(mixture: mixture, targets: targets) }
        let e = out.estimates.map { $0.data.map(Double.init) }, y = targets.map { $0.data.map(Double.init) }
        func sqd(_ p: [Double], _ q: [Double]) -> Double { zip(p, q).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        let (B, D, O, V) = (0, 1, 2, 3)
        var expected = sqd(e[B], y[B]) + sqd(e[D], y[D]) + sqd(e[V], y[V])
        expected -= 0.001 * (sqd(e[B], e[D]) + sqd(e[B], e[V]) + sqd(e[V], e[D]) + sqd(e[B], e[O]) + sqd(e[D], e[O]) + sqd(e[V], e[O]))
        expected -= 0.01 * (sqd(e[B], y[O]) + sqd(e[D], y[O]))
        expected -= 0.03 * sqd(e[V], y[O])
        expected /= 2
        #expect(Swift.abs(Double(out.loss.scalar) - expected) <= 1e-5 * Swift.abs(expected))
    }

    /// Gradient of the full loss (network, masks, loss) against central differences, on every layer.
    @Test func fullLossGradientMatchesFiniteDifferences() {
        let c = smallConfig()
        let step = TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 11), config: c)
        // Keep away from the kinks of ReLU and |·| (where the derivative jumps and differences
        // straddling it mean nothing): positive dense biases, decoder outputs well above zero.
        for d in step.network.decoders {
            d.singleDense.bias.data = d.singleDense.bias.data.map { _ in 1 }
            d.verticalDeconvolution.bias.data = [3]
        }
        step.network.globalDense.bias.data = step.network.globalDense.bias.data.map { _ in 1 }
        let (mixture, targets) = step.tensors(randomBatch(c, count: 2, seed: 12))
        step.computeGradients(mixture: mixture, targets: targets)
        var rng = SeededGenerator(seed: 13)
        var checked = 0
        for (name, p) in step.network.namedParameters {
            let grad = try! #require(p.grad, "\(name) has no gradient")
            for _ in 0..<4 {
                let i = rng.nextInt(below: p.count)
                let original = p.data[i]
                let h: Float = 1e-3
                p.data[i] = original + h
                let up = Double(step.loss(mixture: mixture, targets: targets))
                p.data[i] = original - h
                let down = Double(step.loss(mixture: mixture, targets: targets))
                p.data[i] = original
                let numeric = (up - down) / Double(2 * h)
                // Float rounding of a loss of size |L| over 2h bounds the numeric error.
                let tolerance = 2e-2 * Swift.abs(numeric) + 1e-5 * Swift.abs(up) / Double(h) + 1e-4
                #expect(Swift.abs(Double(grad[i]) - numeric) <= tolerance, "\(name)[\(i)]: analytic \(grad[i]), numeric \(numeric)")
                checked += 1
            }
        }
        #expect(checked == 2 * 15 * 4)
    }
}
