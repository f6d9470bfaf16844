import Autodiff
import Data
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

/// The arithmetic data-parallel training rests on: each rank's shard of a global batch, its loss
/// divided by the global batch, gives a gradient and a loss that sum over the shards to the batch's.
@Suite struct ShardedStepTests {
    /// Windows `range` of `batch` as a batch of their own.
    static func shard(_ batch: Batch, _ range: Range<Int>) -> Batch {
        var part = Batch(capacity: range.count, length: batch.length, bins: batch.bins)
        part.count = range.count
        let window = batch.length * batch.bins
        let elements = (range.lowerBound * window)..<(range.upperBound * window)
        part.mixture = Array(batch.mixture[elements])
        for s in 0..<4 { part.sources[s] = Array(batch.sources[s][elements]) }
        return part
    }

    /// The flat gradient and loss `step` hands to its reduction (before the update).
    static func reduced(_ step: TrainingStep, _ batch: Batch, globalBatch: Int? = nil) -> [Float] {
        var seen: [Float] = []
        step.step(batch, globalBatch: globalBatch) { seen = Array($0) }
        return seen
    }

    @Test func shardGradientsNormalisedByTheGlobalBatchSumToTheBatchGradient() {
        let c = smallConfig()
        let batch = randomBatch(c, count: 5, seed: 41)
        func fresh() -> TrainingStep { TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 42), config: c) }
        let whole = Self.reduced(fresh(), batch)
        let parts = [0..<2, 2..<5].map { Self.reduced(fresh(), Self.shard(batch, $0), globalBatch: 5) }
        let sum = zip(parts[0], parts[1]).map { $0 + $1 }
        let largest = whole.dropLast().map { Swift.abs($0) }.max()!
        #expect(largest > 0)
        let worst = zip(sum.dropLast(), whole.dropLast()).map { Swift.abs($0 - $1) }.max()!
        #expect(worst <= 1e-5 * largest, "largest gradient difference \(worst) of \(largest)")
        #expect(Swift.abs(sum.last! - whole.last!) <= 1e-5 * Swift.abs(whole.last!), "loss \(sum.last!) vs \(whole.last!)")
    }

    /// Two "ranks" in one process: the first one's reduction runs the second one's step, whose
    /// reduction adds the two buffers and gives both the sum (what an allreduce does). After three
    /// steps both hold the same weights as one process that stepped on the whole batches.
    @Test func twoShardedStepsPerBatchTrainLikeOneStepOnTheBatch() {
        let c = smallConfig()
        func fresh() -> TrainingStep { TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 43), config: c) }
        let one = fresh(), first = fresh(), second = fresh()
        for k in 0..<3 {
            let batch = randomBatch(c, count: 4, seed: 50 + UInt64(k))
            let wholeLoss = one.step(batch)
            let loss = first.step(Self.shard(batch, 0..<1), globalBatch: 4) { a in
                second.step(Self.shard(batch, 1..<4), globalBatch: 4) { b in
                    for i in a.indices { a[i] += b[i] }
                    b.update(from: a)
                }
            }
            #expect(Swift.abs(loss - wholeLoss) <= 1e-5 * Swift.abs(wholeLoss), "step \(k + 1): loss \(loss) vs \(wholeLoss)")
        }
        for ((name, w), (p1, p2)) in zip(one.network.namedParameters, zip(first.network.parameters, second.network.parameters)) {
            #expect(p1.data == p2.data, "\(name): the two ranks' weights differ")
            let scale = w.data.map { Swift.abs($0) }.max()!
            let worst = zip(p1.data, w.data).map { Swift.abs($0 - $1) }.max()!
            #expect(worst <= 1e-5 * scale, "\(name): largest difference \(worst) of \(scale) after 3 steps")
        }
    }
}
