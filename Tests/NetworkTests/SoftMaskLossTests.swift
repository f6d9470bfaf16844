import Autodiff
@testable import Network
import Support
import Testing

/// The fused soft-mask + discriminative-loss kernel against (1) the same loss composed from the tape's
/// ops (`softMasks`, products, `discriminativeLoss`) and (2) central differences of a Double version.
@Suite struct SoftMaskLossTests {
    static let epsilon: Float = 1e-8
    /// The paper's weights, and the same with the "other" term (not in the paper) switched on.
    static let weightSets = [LossWeights(), LossWeights(alpha: 0.001, beta: 0.01, gamma: 0.03, other: 0.7)]

    /// The loss in Double, straight from the definition.
    static func reference(_ o: [[Double]], _ x: [Double], _ y: [[Double]], scale: Double, epsilon: Double = Double(epsilon),
                          weights: LossWeights = LossWeights()) -> Double {
        let (alpha, beta, gamma, other) = (Double(weights.alpha), Double(weights.beta), Double(weights.gamma), Double(weights.other))
        var l = 0.0
        for i in 0..<x.count {
            let d = o.map { Swift.abs($0[i]) }
            let t = d.reduce(0, +) + epsilon
            let e = d.map { $0 / t * x[i] }
            func q(_ a: Double, _ b: Double) -> Double { (a - b) * (a - b) }
            l += q(e[0], y[0][i]) + q(e[1], y[1][i]) + q(e[3], y[3][i]) + other * q(e[2], y[2][i])
            l -= alpha * (q(e[0], e[1]) + q(e[0], e[3]) + q(e[3], e[1]) + q(e[0], e[2]) + q(e[1], e[2]) + q(e[3], e[2]))
            l -= beta * (q(e[0], y[2][i]) + q(e[1], y[2][i])) + gamma * q(e[3], y[2][i])
        }
        return l * scale
    }

    /// Outputs of both signs, bounded away from 0 (the kink of |·|), magnitudes and targets ≥ 0.
    static func inputs(_ n: Int, seed: UInt64) -> (o: [[Float]], x: [Float], y: [[Float]]) {
        var rng = SeededGenerator(seed: seed)
        func u() -> Float { rng.nextFloat() * 2 - 1 }
        let o = (0..<4).map { _ in (0..<n).map { _ in let v = u(); return (v < 0 ? -0.3 : 0.3) + v } }
        let x = (0..<n).map { _ in 2 * Swift.abs(u()) }
        let y = (0..<4).map { _ in (0..<n).map { _ in Swift.abs(u()) } }
        return (o, x, y)
    }

    /// The kernel's loss and ∂L/∂o_s.
    static func kernel(_ o: [[Float]], _ x: [Float], _ y: [[Float]], scale: Float, epsilon: Float = epsilon,
                       weights: LossWeights = LossWeights()) -> (Double, [[Float]]) {
        var g = o.map { [Float](repeating: 0, count: $0.count) }
        let loss = o[0].withUnsafeBufferPointer { o0 in o[1].withUnsafeBufferPointer { o1 in
            o[2].withUnsafeBufferPointer { o2 in o[3].withUnsafeBufferPointer { o3 in
                y[0].withUnsafeBufferPointer { y0 in y[1].withUnsafeBufferPointer { y1 in
                    y[2].withUnsafeBufferPointer { y2 in y[3].withUnsafeBufferPointer { y3 in
                        x.withUnsafeBufferPointer { xp in
                            g.withUnsafeMutableBufferPointer { gs in
                                gs[0].withUnsafeMutableBufferPointer { g0 in gs[1].withUnsafeMutableBufferPointer { g1 in
                                    gs[2].withUnsafeMutableBufferPointer { g2 in gs[3].withUnsafeMutableBufferPointer { g3 in
                                        softMaskLossKernel(outputs: (o0.baseAddress!, o1.baseAddress!, o2.baseAddress!, o3.baseAddress!),
                                                           magnitudes: xp.baseAddress!,
                                                           targets: (y0.baseAddress!, y1.baseAddress!, y2.baseAddress!, y3.baseAddress!),
                                                           count: x.count, epsilon: epsilon, weights: weights, scale: scale,
                                                           gradients: (g0.baseAddress!, g1.baseAddress!, g2.baseAddress!, g3.baseAddress!))
                                    } }
                                } }
                            }
                        }
                    } }
                } }
            } }
        } }
        return (loss, g)
    }

    /// 2003 elements: more than one 1024-element chunk, and a tail of 3 past the last group of 8.
    @Test(arguments: weightSets) func valueAndGradientEqualTheComposition(weights: LossWeights) {
        let n = 2003
        let (o, x, y) = Self.inputs(n, seed: 21)
        let scale: Float = 0.5
        let (loss, grads) = Self.kernel(o, x, y, scale: scale, weights: weights)
        // The tape's composition, with the batch of 2 giving the same 1/2 scale.
        let outputs = o.map { Tensor($0 + [Float](repeating: 0.5, count: n), shape: [2, n, 1, 1], requiresGrad: true) }
        let magnitudes = Tensor(x + [Float](repeating: 0, count: n), shape: [2, n, 1, 1])
        let targets = y.map { Tensor($0 + [Float](repeating: 0, count: n), shape: [2, n, 1, 1]) }
        let estimates = softMasks(outputs, epsilon: Self.epsilon).map { $0 * magnitudes }
        let plain = discriminativeLoss(estimates: estimates, targets: targets, weights: weights)
        plain.backward()
        #expect(Swift.abs(Float(loss) - plain.scalar) <= 1e-5 * Swift.abs(plain.scalar))
        var worst: Float = 0, largest: Float = 0
        for s in 0..<4 {
            for i in 0..<n {
                worst = max(worst, Swift.abs(grads[s][i] - outputs[s].grad![i]))
                largest = max(largest, Swift.abs(outputs[s].grad![i]))
            }
        }
        #expect(largest > 0)
        #expect(worst <= 1e-5 * max(1, largest), "largest gradient difference \(worst) of \(largest)")
    }

    @Test(arguments: weightSets) func gradientMatchesFiniteDifferences(weights: LossWeights) {
        let n = 53
        let (o, x, y) = Self.inputs(n, seed: 22)
        let (loss, grads) = Self.kernel(o, x, y, scale: 1, weights: weights)
        let od = o.map { $0.map(Double.init) }, xd = x.map(Double.init), yd = y.map { $0.map(Double.init) }
        func reference(_ o: [[Double]]) -> Double { Self.reference(o, xd, yd, scale: 1, weights: weights) }
        #expect(Swift.abs(loss - reference(od)) <= 1e-5 * max(1, Swift.abs(loss)))
        let h = 1e-5
        for s in 0..<4 {
            var worst = 0.0, largest = 1.0
            for i in 0..<n {
                var up = od, down = od
                up[s][i] += h; down[s][i] -= h
                let fd = (reference(up) - reference(down)) / (2 * h)
                worst = max(worst, Swift.abs(Double(grads[s][i]) - fd))
                largest = max(largest, Swift.abs(fd))
            }
            #expect(worst / largest < 1e-4, "output \(s): gradient error \(worst / largest)")
        }
    }

    /// The padded tail adds nothing even with ε = 0 (padding that made 0/0 would give NaN).
    @Test func tailAddsNothingWithZeroEpsilon() {
        let (o, x, y) = Self.inputs(13, seed: 26)
        let (loss, grads) = Self.kernel(o, x, y, scale: 1, epsilon: 0)
        let reference = Self.reference(o.map { $0.map(Double.init) }, x.map(Double.init), y.map { $0.map(Double.init) }, scale: 1, epsilon: 0)
        #expect(loss.isFinite && grads.allSatisfy { $0.allSatisfy(\.isFinite) })
        #expect(Swift.abs(loss - reference) <= 1e-5 * max(1, Swift.abs(reference)))
    }

    @Test func softMaskKernelMatchesTheOps() {
        let (o, _, _) = Self.inputs(100, seed: 25)
        let expected = withNoGrad { softMasks(o.map { Tensor($0, shape: [100]) }, epsilon: Self.epsilon) }
        var m = [[Float]](repeating: [Float](repeating: 0, count: 100), count: 4)
        o[0].withUnsafeBufferPointer { o0 in o[1].withUnsafeBufferPointer { o1 in o[2].withUnsafeBufferPointer { o2 in o[3].withUnsafeBufferPointer { o3 in
            m.withUnsafeMutableBufferPointer { ms in
                ms[0].withUnsafeMutableBufferPointer { m0 in ms[1].withUnsafeMutableBufferPointer { m1 in
                    ms[2].withUnsafeMutableBufferPointer { m2 in ms[3].withUnsafeMutableBufferPointer { m3 in
                        softMaskKernel(outputs: (o0.baseAddress!, o1.baseAddress!, o2.baseAddress!, o3.baseAddress!), count: 100,
                                       epsilon: Self.epsilon, masks: (m0.baseAddress!, m1.baseAddress!, m2.baseAddress!, m3.baseAddress!))
                    } }
                } }
            }
        } } } }
        for s in 0..<4 { for i in 0..<100 { #expect(Swift.abs(m[s][i] - expected[s].data[i]) <= 1e-6) } }
    }

    /// The "other" term adds ω·Σ(e_other − y_other)²·scale to the paper's loss, and only the other
    /// estimate's own error: computed here from the masks the kernel makes.
    @Test func otherTermAddsTheOtherEstimatesOwnError() {
        let n = 77
        let (o, x, y) = Self.inputs(n, seed: 27)
        let paper = LossWeights(), with = LossWeights(alpha: paper.alpha, beta: paper.beta, gamma: paper.gamma, other: 2.5)
        let (base, _) = Self.kernel(o, x, y, scale: 0.25, weights: paper)
        let (more, _) = Self.kernel(o, x, y, scale: 0.25, weights: with)
        var error = 0.0
        for i in 0..<n {
            let d = o.map { Double(Swift.abs($0[i])) }
            let e = d[2] / (d.reduce(0, +) + Double(Self.epsilon)) * Double(x[i])
            error += (e - Double(y[2][i])) * (e - Double(y[2][i]))
        }
        #expect(error > 1)
        #expect(Swift.abs((more - base) - 2.5 * 0.25 * error) <= 1e-5 * error)
    }
}
