import Testing
@testable import Autodiff

@Suite struct TrainingSmokeTests {
    /// A two-layer network (4 → 16 relu → 2) learns a fixed teacher network's outputs on 64 inputs
    /// by plain gradient descent. The teacher is of the same form, so a loss near 0 is reachable;
    /// the initial mean squared error is about 1, and 600 steps must bring it below 0.02.
    @Test("a two-layer network trained by gradient descent fits a fixed problem")
    func twoLayerNetworkLearns() {
        var rng = TestRNG(seed: 5)
        let x = rng.tensor([64, 4])
        let teacher = [rng.tensor([4, 16]), rng.tensor([16]), rng.tensor([16, 2]), rng.tensor([2])]
        let target = withNoGrad { dense(relu(dense(x, weight: teacher[0], bias: teacher[1])), weight: teacher[2], bias: teacher[3]) }
        let params = [Tensor(rng.values(64).map { $0 * 0.5 }, shape: [4, 16], requiresGrad: true), .zeros([16], requiresGrad: true),
                      Tensor(rng.values(32).map { $0 * 0.25 }, shape: [16, 2], requiresGrad: true), .zeros([2], requiresGrad: true)]
        func loss() -> Tensor {
            let hidden = relu(dense(x, weight: params[0], bias: params[1]))     // (64, 16)
            let y = dense(hidden, weight: params[2], bias: params[3])           // (64, 2)
            return sumOfSquares(y - target) * (1 / Float(target.count))          // mean squared error
        }
        let initial = loss().scalar
        var final = initial
        for _ in 0..<600 {
            let l = loss()
            final = l.scalar
            for p in params { p.zeroGrad() }
            l.backward()
            for p in params {
                let g = p.grad!
                for i in 0..<p.count { p.data[i] -= 0.1 * g[i] }
            }
        }
        #expect(initial > 0.2)
        #expect(final < 0.02, "loss went from \(initial) to \(final)")
    }
}
