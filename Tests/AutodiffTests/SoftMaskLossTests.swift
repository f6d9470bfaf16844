import Testing
@testable import Autodiff

/// The fused soft-mask + discriminative-loss op against (1) the same loss composed from the tape's
/// elementwise ops (abs, +, /, *, -, sumOfSquares) and (2) central differences of a Double version.
@Suite struct SoftMaskLossTests {
    static let (alpha, beta, gamma, epsilon): (Float, Float, Float, Float) = (0.001, 0.01, 0.03, 1e-8)

    /// The composition the model used before fusing (softMasks, estimates, discriminativeLoss).
    static func composed(_ o: [Tensor], _ x: Tensor, _ y: [Tensor], scale: Float) -> Tensor {
        let d = o.map { abs($0) }
        let total = d[0] + d[1] + d[2] + d[3] + epsilon
        let e = d.map { $0 / total * x }
        func sqd(_ p: Tensor, _ q: Tensor) -> Tensor { sumOfSquares(p - q) }
        let fit = sqd(e[0], y[0]) + sqd(e[1], y[1]) + sqd(e[3], y[3])
        let apart = sqd(e[0], e[1]) + sqd(e[0], e[3]) + sqd(e[3], e[1]) + sqd(e[0], e[2]) + sqd(e[1], e[2]) + sqd(e[3], e[2])
        let total2 = fit + apart * (-alpha) + (sqd(e[0], y[2]) + sqd(e[1], y[2])) * (-beta) + sqd(e[3], y[2]) * (-gamma)
        return total2 * scale
    }

    /// The loss in Double, straight from the definition.
    static func reference(_ o: [[Double]], _ x: [Double], _ y: [[Double]], scale: Double) -> Double {
        var l = 0.0
        for i in 0..<x.count {
            let d = o.map { Swift.abs($0[i]) }
            let t = d.reduce(0, +) + Double(epsilon)
            let e = d.map { $0 / t * x[i] }
            func q(_ a: Double, _ b: Double) -> Double { (a - b) * (a - b) }
            l += q(e[0], y[0][i]) + q(e[1], y[1][i]) + q(e[3], y[3][i])
            l -= Double(alpha) * (q(e[0], e[1]) + q(e[0], e[3]) + q(e[3], e[1]) + q(e[0], e[2]) + q(e[1], e[2]) + q(e[3], e[2]))
            l -= Double(beta) * (q(e[0], y[2][i]) + q(e[1], y[2][i])) + Double(gamma) * q(e[3], y[2][i])
        }
        return l * scale
    }

    /// Outputs of both signs, bounded away from 0 (the kink of |·|), magnitudes and targets ≥ 0.
    static func inputs(_ n: Int, seed: UInt64) -> (o: [Tensor], x: Tensor, y: [Tensor]) {
        var rng = TestRNG(seed: seed)
        let o = (0..<4).map { _ in
            Tensor((0..<n).map { _ in let u = rng.uniform(); return (u < 0 ? -0.3 : 0.3) + u }, shape: [n], requiresGrad: true)
        }
        let x = Tensor((0..<n).map { _ in 2 * Swift.abs(rng.uniform()) }, shape: [n])
        let y = (0..<4).map { _ in Tensor((0..<n).map { _ in Swift.abs(rng.uniform()) }, shape: [n]) }
        return (o, x, y)
    }

    @Test func valueAndGradientEqualTheComposition() {
        let n = 2000                                   // more than one 1024-element chunk
        let (o, x, y) = Self.inputs(n, seed: 21)
        let scale: Float = 0.5
        let fused = softMaskDiscriminativeLoss(outputs: o, magnitudes: x, targets: y, epsilon: Self.epsilon,
                                               alpha: Self.alpha, beta: Self.beta, gamma: Self.gamma, scale: scale)
        fused.backward(gradient: [3])                  // an upstream gradient other than 1
        let fusedGrads = o.map { $0.grad! }
        for t in o { t.zeroGrad() }
        let plain = Self.composed(o, x, y, scale: scale)
        plain.backward(gradient: [3])
        #expect(Swift.abs(fused.scalar - plain.scalar) <= 1e-5 * Swift.abs(plain.scalar))
        var worst: Float = 0, largest: Float = 0
        for s in 0..<4 {
            for i in 0..<n {
                worst = max(worst, Swift.abs(fusedGrads[s][i] - o[s].grad![i]))
                largest = max(largest, Swift.abs(o[s].grad![i]))
            }
        }
        #expect(largest > 0)
        #expect(worst <= 1e-5 * max(1, largest), "largest gradient difference \(worst) of \(largest)")
    }

    @Test func gradientMatchesFiniteDifferences() {
        let n = 50
        let (o, x, y) = Self.inputs(n, seed: 22)
        let loss = softMaskDiscriminativeLoss(outputs: o, magnitudes: x, targets: y, epsilon: Self.epsilon,
                                              alpha: Self.alpha, beta: Self.beta, gamma: Self.gamma, scale: 1)
        let xd = x.data.doubles, yd = y.map { $0.data.doubles }
        let od = o.map { $0.data.doubles }
        #expect(Swift.abs(Double(loss.scalar) - Self.reference(od, xd, yd, scale: 1)) <= 1e-5 * max(1, Swift.abs(Double(loss.scalar))))
        loss.backward()
        var rng = TestRNG(seed: 23)
        for s in 0..<4 {
            let error = finiteDifferenceError(engine: o[s].grad, at: o[s].data, coordinates: 20, rng: &rng) { p in
                var all = od
                all[s] = p
                return Self.reference(all, xd, yd, scale: 1)
            }
            #expect(error < 1e-4, "output \(s): gradient error \(error)")
        }
    }

    @Test func noGradModeRecordsNothingAndGivesTheSameValue() {
        let (o, x, y) = Self.inputs(300, seed: 24)
        let a = softMaskDiscriminativeLoss(outputs: o, magnitudes: x, targets: y, epsilon: Self.epsilon,
                                           alpha: Self.alpha, beta: Self.beta, gamma: Self.gamma, scale: 1)
        let b = withNoGrad {
            softMaskDiscriminativeLoss(outputs: o, magnitudes: x, targets: y, epsilon: Self.epsilon,
                                       alpha: Self.alpha, beta: Self.beta, gamma: Self.gamma, scale: 1)
        }
        #expect(a.requiresGrad && !b.requiresGrad)
        #expect(Swift.abs(a.scalar - b.scalar) <= 1e-5 * Swift.abs(a.scalar))
    }

    @Test func softMaskKernelMatchesTheOps() {
        let (o, _, _) = Self.inputs(100, seed: 25)
        let expected = withNoGrad { () -> [Tensor] in
            let d = o.map { abs($0) }
            let total = d[0] + d[1] + d[2] + d[3] + Self.epsilon
            return d.map { $0 / total }
        }
        var masks = [[Float]](repeating: [Float](repeating: 0, count: 100), count: 4)
        withPointers(o.map(\.data)) { op in
            withMutablePointers(&masks) { mp in softMaskKernel(outputs: op, count: 100, epsilon: Self.epsilon, masks: mp) }
        }
        for s in 0..<4 { for i in 0..<100 { #expect(Swift.abs(masks[s][i] - expected[s].data[i]) <= 1e-6) } }
    }
}
