import Testing
@testable import Autodiff

@Suite struct TapeTests {
    @Test("no-grad mode records no tape and leaves grads nil")
    func noGrad() {
        var rng = TestRNG(seed: 4)
        let w = rng.tensor([3, 2], requiresGrad: true), b = rng.tensor([2], requiresGrad: true)
        let x = rng.tensor([4, 3])
        let y = withNoGrad { sumOfSquares(relu(dense(x, weight: w, bias: b)) * 2) }
        #expect(!y.requiresGrad && y.inputs.isEmpty && !y.hasBackwardRule)
        #expect(w.grad == nil && b.grad == nil)
        // Outside the block, recording is back on and gives the same value.
        let z = sumOfSquares(relu(dense(x, weight: w, bias: b)) * 2)
        #expect(z.requiresGrad && z.inputs.count == 1 && z.hasBackwardRule)
        #expect(z.scalar == y.scalar)
        z.backward()
        #expect(w.grad != nil && b.grad != nil && x.grad == nil)
    }

    @Test("no-grad mode is scoped to the task that set it")
    func noGradIsPerTask() async {
        let w = Tensor([1, 2], shape: [2], requiresGrad: true)
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { withNoGrad { (w * 2).requiresGrad } }
            group.addTask { (w * 2).requiresGrad }
            var results: [Bool] = []
            for await r in group { results.append(r) }
            #expect(results.sorted { !$0 && $1 } == [false, true])
        }
    }

    @Test("results of ops on tensors without grads record nothing")
    func constantsRecordNothing() {
        let a = Tensor([1, 2], shape: [2]), b = Tensor([3, 4], shape: [2])
        let c = a * b + 1
        #expect(!c.requiresGrad && c.inputs.isEmpty)
        #expect(c.data == [4, 9])
    }

    @Test("the topological order visits each shared node once, inputs first")
    func topologicalOrder() {
        let a = Tensor([1, 2], shape: [2], requiresGrad: true)
        let b = a * a, c = b + a, d = sum(c * b)
        let order = d.topologicalOrder()
        #expect(order.count == 5)                            // a, b, c, c*b, d
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { (ObjectIdentifier($1), $0) })
        for node in order { for input in node.inputs { #expect(position[ObjectIdentifier(input)]! < position[ObjectIdentifier(node)]!) } }
        d.backward()                                         // d = Σ (a² + a)·a² = Σ a⁴ + a³ → 4a³ + 3a²
        #expect(a.grad == [7, 44])
    }
}
