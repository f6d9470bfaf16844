import Autodiff
@testable import Network
import Support
import TestHelpers
import Testing

/// The preallocated engine (what trains and separates) against the tape (the legible reference) on
/// the same network and batch: the loss, the masks and every parameter's gradient.
@Suite struct EngineTests {
    /// The default shape (T = 25, F = 513) and the reduced one the other tests use.
    static let shapes: [(String, ModelShape)] = [("default", ModelShape()), ("small", smallConfig().model)]

    struct Batch {
        let count: Int
        let mixture: [Float]
        let targets: [[Float]]
    }

    /// Non-negative sources and their sum, as real magnitudes are.
    static func batch(_ m: ModelShape, count: Int, seed: UInt64) -> Batch {
        var rng = SeededGenerator(seed: seed)
        let n = count * m.frames * m.bins
        let targets = (0..<4).map { s in (0..<n).map { _ in rng.nextFloat() * Float(s + 1) } }
        let mixture = (0..<n).map { i in targets.reduce(0) { $0 + $1[i] } }
        return Batch(count: count, mixture: mixture, targets: targets)
    }

    /// Decoder outputs away from the kink of |·| at 0, so both paths take the same side of it.
    static func network(_ m: ModelShape, seed: UInt64) -> ChandnaNetwork {
        let network = ChandnaNetwork(shape: m, seed: seed)
        for d in network.decoders { d.verticalDeconvolution.bias.data = [2] }
        return network
    }

    /// Loss, masks and gradients on the tape.
    static func tape(_ network: ChandnaNetwork, _ b: Batch, weights: LossWeights = LossWeights()) -> (loss: Float, masks: [[Float]], grads: [[Float]]) {
        let m = network.shape
        for p in network.parameters { p.zeroGrad() }
        let x = Tensor(b.mixture, shape: [b.count, m.frames, m.bins])
        let masks = softMasks(network(x), epsilon: m.maskEpsilon)
        let magnitudes = x.reshaped([b.count, m.frames, m.bins, 1])
        let targets = b.targets.map { Tensor($0, shape: [b.count, m.frames, m.bins, 1]) }
        let loss = discriminativeLoss(estimates: masks.map { $0 * magnitudes }, targets: targets, weights: weights)
        loss.backward()
        return (loss.scalar, masks.map(\.data), network.parameters.map { $0.grad! })
    }

    /// Loss, masks and gradients on the engine.
    static func engine(_ network: ChandnaNetwork, _ b: Batch, threads: Int,
                       weights: LossWeights = LossWeights()) -> (loss: Float, masks: [[Float]], grads: [[Float]]) {
        let n = b.mixture.count
        let engine = NetworkEngine(network: network, capacity: b.count + 1, threads: threads)   // capacity above the batch
        b.mixture.withUnsafeBufferPointer { engine.input.update(from: $0.baseAddress!, count: n) }
        engine.forward(batch: b.count)
        var masks = [[Float]](repeating: [Float](repeating: 0, count: n), count: 4)
        masks.withUnsafeMutableBufferPointer { ms in
            ms[0].withUnsafeMutableBufferPointer { m0 in ms[1].withUnsafeMutableBufferPointer { m1 in
                ms[2].withUnsafeMutableBufferPointer { m2 in ms[3].withUnsafeMutableBufferPointer { m3 in
                    engine.masks(batch: b.count, into: (m0.baseAddress!, m1.baseAddress!, m2.baseAddress!, m3.baseAddress!))
                } }
            } }
        }
        let loss = b.targets[0].withUnsafeBufferPointer { y0 in b.targets[1].withUnsafeBufferPointer { y1 in
            b.targets[2].withUnsafeBufferPointer { y2 in b.targets[3].withUnsafeBufferPointer { y3 in
                engine.loss(targets: (y0.baseAddress!, y1.baseAddress!, y2.baseAddress!, y3.baseAddress!), batch: b.count,
                            weights: weights, gradients: true)
            } }
        } }
        engine.zeroGradients()
        engine.backward(batch: b.count)
        // The flat gradient holds the parameters one after the other, in `parameters` order.
        let counts = network.parameters.map(\.count)
        let offsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        return (loss, masks, zip(offsets, counts).map { Array(engine.gradients[$0..<($0 + $1)]) })
    }

    /// The last argument is the weight of the "other" term (0 = the paper's loss).
    @Test(arguments: [("default", 1, 0), ("default", 2, 0), ("small", 1, 0), ("small", 2, 0), ("small", 2, 0.8)])
    func engineEqualsTape(shape name: String, threads: Int, otherWeight: Float) {
        let m = Self.shapes.first { $0.0 == name }!.1
        let network = Self.network(m, seed: 31)
        let b = Self.batch(m, count: 3, seed: 32)
        var weights = LossWeights()
        weights.other = otherWeight
        let reference = Self.tape(network, b, weights: weights)
        let result = Self.engine(network, b, threads: threads, weights: weights)
        #expect(Swift.abs(result.loss - reference.loss) <= 1e-5 * Swift.abs(reference.loss), "loss \(result.loss) vs tape \(reference.loss)")
        for s in 0..<4 {
            let worst = zip(result.masks[s], reference.masks[s]).map { Swift.abs($0 - $1) }.max()!
            #expect(worst <= 1e-5, "mask \(s): largest difference \(worst)")
        }
        // Every parameter: the largest difference within 1e-4 of that parameter's largest |gradient|.
        for ((layer, _), (g, r)) in zip(network.namedParameters, zip(result.grads, reference.grads)) {
            let scale = max(r.map { Swift.abs($0) }.max()!, 1e-20)
            let worst = zip(g, r).map { Swift.abs($0 - $1) }.max()!
            #expect(scale > 1e-20, "\(layer): the tape's gradient is zero, so the comparison means nothing")
            #expect(worst <= 1e-4 * scale, "\(layer): largest gradient difference \(worst) of \(scale)")
        }
    }

    /// One and two threads give the same numbers (the same two halves are summed in the same order).
    @Test func threadCountDoesNotChangeTheResult() {
        let m = smallConfig().model
        let network = Self.network(m, seed: 33)
        let b = Self.batch(m, count: 4, seed: 34)
        let one = Self.engine(network, b, threads: 1), two = Self.engine(network, b, threads: 2)
        #expect(one.loss == two.loss)
        #expect(one.grads == two.grads)
    }

    /// With `input_normalization` the network is the same network (same seed, same weights: the layer
    /// draws nothing) run on (x − μ)/σ per bin, computed here by hand; the engine equals the tape.
    @Test(arguments: [1, 2]) func inputNormalizationIsThePlainNetworkOnNormalizedInput(threads: Int) {
        var m = smallConfig().model
        let plain = Self.network(m, seed: 35)
        m.inputNormalization = true
        let normalized = Self.network(m, seed: 35)
        #expect(normalized.parameters.count == plain.parameters.count)
        #expect(zip(normalized.parameters, plain.parameters).allSatisfy { $0.data == $1.data })
        var rng = SeededGenerator(seed: 36)
        let mean = (0..<m.bins).map { _ in rng.nextFloat() * 3 }, std = (0..<m.bins).map { _ in 0.2 + rng.nextFloat() }
        normalized.inputNormalization!.set(mean: mean, std: std)
        #expect(normalized.layers.first?.name == "input_normalization")
        let b = Self.batch(m, count: 3, seed: 37)
        let x = Tensor(b.mixture, shape: [b.count, m.frames, m.bins])
        let byHand = Tensor(b.mixture.indices.map { i in (b.mixture[i] - mean[i % m.bins]) / std[i % m.bins] }, shape: x.shape)
        let expected = withNoGrad { plain(byHand) }, got = withNoGrad { normalized(x) }
        for s in 0..<4 {
            let scale = expected[s].data.map { Swift.abs($0) }.max()!
            let worst = zip(got[s].data, expected[s].data).map { Swift.abs($0 - $1) }.max()!
            #expect(worst <= 1e-5 * scale, "output \(s): \(worst) of \(scale)")
        }
        // The engine against the tape (loss, masks, gradients; the normalisation gets no gradient).
        let reference = Self.tape(normalized, b), result = Self.engine(normalized, b, threads: threads)
        #expect(Swift.abs(result.loss - reference.loss) <= 1e-5 * Swift.abs(reference.loss))
        for (g, r) in zip(result.grads, reference.grads) {
            let scale = max(r.map { Swift.abs($0) }.max()!, 1e-20)
            #expect(zip(g, r).map { Swift.abs($0 - $1) }.max()! <= 1e-4 * scale)
        }
        #expect(normalized.inputNormalization!.kernel.grad == nil)
    }
}
