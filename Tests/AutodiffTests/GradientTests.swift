import Testing
@testable import Autodiff

/// Every op's backward rule against central differences of an independent Double implementation.
///
/// The check: make inputs, run the op, backpropagate a random weighting w of the output
/// (`backward(gradient: w)`), and compare each input's gradient with (L(θ+h) − L(θ−h)) / 2h of
/// L = Σ w ⊙ reference(θ), where the reference is a naive loop in Double. In Double, with h = 1e-5,
/// the difference quotient is exact to about 1e-10, so the error measured is the engine's own: float32
/// sums of at most ~1000 products (the 513-wide layers), whose rounding stays below 1000 · 2⁻²⁴ ≈ 6e-5
/// of the largest gradient. Hence the tolerance 1e-4, relative to max(1, largest |gradient| checked).
@Suite struct GradientTests {
    static let tolerance = 1e-4

    /// Runs the check for every input marked in `grads`; returns the worst relative error per input
    /// (and checks the forward values against the reference on the way).
    @discardableResult
    static func check(_ shapes: [[Int]], grads: [Bool]? = nil, seed: UInt64, coordinates: Int = 16,
                      values: (Int, inout TestRNG) -> [Float] = { n, rng in rng.values(n) },
                      _ op: ([Tensor]) -> Tensor, reference: @escaping ([[Double]]) -> [Double],
                      sourceLocation: SourceLocation = #_sourceLocation) -> [Double] {
        var rng = TestRNG(seed: seed)
        let needs = grads ?? shapes.map { _ in true }
        let inputs = zip(shapes, needs).map { shape, g in
            Tensor(values(shape.reduce(1, *), &rng), shape: shape, requiresGrad: g)
        }
        let out = op(inputs)
        let ref = reference(inputs.map { $0.data.doubles })
        #expect(maxRelativeError(out.data, ref) < 1e-5, "forward differs from the reference", sourceLocation: sourceLocation)
        let w = rng.values(out.count)
        out.backward(gradient: w)
        let wd = w.doubles
        var errors: [Double] = []
        for (n, input) in inputs.enumerated() where needs[n] {
            let error = finiteDifferenceError(engine: input.grad, at: input.data, coordinates: coordinates, rng: &rng) { perturbed in
                var all = inputs.map { $0.data.doubles }
                all[n] = perturbed
                return dot(wd, reference(all))
            }
            #expect(error < tolerance, "input \(n) shape \(input.shape): gradient error \(error)", sourceLocation: sourceLocation)
            errors.append(error)
        }
        return errors
    }

    /// Values bounded away from 0 (for divisors and for relu/abs, whose kinks sit at 0).
    static let awayFromZero: (Int, inout TestRNG) -> [Float] = { n, rng in
        (0..<n).map { _ in let u = rng.uniform(); return (u < 0 ? -0.2 : 0.2) + u }
    }

    @Test("a + b, a - b, a * b, a / b") func binaryOps() {
        let s = [[3, 4], [3, 4]]
        Self.check(s, seed: 1, { $0[0] + $0[1] }) { v in zip(v[0], v[1]).map { $0 + $1 } }
        Self.check(s, seed: 2, { $0[0] - $0[1] }) { v in zip(v[0], v[1]).map { $0 - $1 } }
        Self.check(s, seed: 3, { $0[0] * $0[1] }) { v in zip(v[0], v[1]).map { $0 * $1 } }
        Self.check(s, seed: 4, values: Self.awayFromZero, { $0[0] / $0[1] }) { v in zip(v[0], v[1]).map { $0 / $1 } }
    }

    @Test("the same tensor on both sides: x * x, x - x") func sharedInput() {
        Self.check([[5]], seed: 5, { $0[0] * $0[0] }) { v in v[0].map { $0 * $0 } }
        Self.check([[5]], seed: 6, { $0[0] - $0[0] + $0[0] }) { v in v[0] }
    }

    @Test("tensor with a constant: + c, - c, * c, c * t, -t") func constantOps() {
        let s = [[2, 3, 2]]
        Self.check(s, seed: 7, { $0[0] + 0.5 }) { v in v[0].map { $0 + 0.5 } }
        Self.check(s, seed: 8, { 0.5 + $0[0] - 2 }) { v in v[0].map { $0 - 1.5 } }
        Self.check(s, seed: 9, { $0[0] * 3 }) { v in v[0].map { $0 * 3 } }
        Self.check(s, seed: 10, { -(0.25 * $0[0]) }) { v in v[0].map { -0.25 * $0 } }
    }

    @Test("relu and abs") func kinks() {
        Self.check([[4, 5]], seed: 11, values: Self.awayFromZero, { relu($0[0]) }) { v in v[0].map { max($0, 0) } }
        Self.check([[4, 5]], seed: 12, values: Self.awayFromZero, { abs($0[0]) }) { v in v[0].map { Swift.abs($0) } }
    }

    @Test("abs and relu have derivative 0 at 0") func derivativeAtZero() {
        let x = Tensor([0, 0, 2, -2], shape: [4], requiresGrad: true)
        sum(abs(x)).backward()
        #expect(x.grad == [0, 0, 1, -1])
        x.zeroGrad()
        sum(relu(x)).backward()
        #expect(x.grad == [0, 0, 1, 0])
    }

    @Test("sum and sumOfSquares") func reductions() {
        Self.check([[3, 7]], seed: 13, { sum($0[0]) }) { v in [v[0].reduce(0, +)] }
        Self.check([[3, 7]], seed: 14, { sumOfSquares($0[0]) }) { v in [v[0].reduce(0) { $0 + $1 * $1 }] }
        #expect(sum(Tensor.zeros([2, 2])).shape == [])
    }

    @Test("reshaped keeps row-major order and passes gradients through") func reshape() {
        Self.check([[2, 3, 4]], seed: 15, { $0[0].reshaped([6, 4]) * $0[0].reshaped([6, 4]) }) { v in v[0].map { $0 * $0 } }
        let t = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]).reshaped([3, 2])
        #expect(t.shape == [3, 2] && t.data == [1, 2, 3, 4, 5, 6])
    }

    @Test("dense, small and at the model's shapes (420→128, 128→420, batch 2)",
          arguments: [(3, 5, 4), (2, 420, 128), (2, 128, 420)])
    func denseGradients(batch: Int, nIn: Int, nOut: Int) {
        Self.check([[batch, nIn], [nIn, nOut], [nOut]], seed: 16, { dense($0[0], weight: $0[1], bias: $0[2]) }) { v in
            referenceDense(v[0], v[1], v[2], batch: batch, nIn: nIn, nOut: nOut)
        }
    }

    /// x shape and kernel shape (kh, kw, Cin, Cout) of conv2d; the model's two encoder layers at batch 2.
    static let convCases: [([Int], [Int])] = [
        ([2, 5, 33, 1], [1, 33, 1, 7]),      // 1×W wide kernel, reduced
        ([2, 9, 1, 6], [4, 1, 6, 5]),        // tall kernel over width 1, reduced
        ([2, 6, 5, 3], [3, 2, 3, 4]),        // general 3×2, several channels
        ([1, 5, 9, 2], [1, 4, 2, 3]),        // 1×k not spanning the width
        ([2, 25, 513, 1], [1, 513, 1, 50]),  // vertical_convolution
        ([2, 25, 1, 50], [12, 1, 50, 30]),   // horizontal_convolution
    ]

    @Test("conv2d", arguments: convCases)
    func conv2dGradients(xShape: [Int], kShape: [Int]) {
        Self.check([xShape, kShape, [kShape[3]]], seed: 17, coordinates: 8, { conv2d($0[0], kernel: $0[1], bias: $0[2]) }) { v in
            referenceConv2d(v[0], xShape, v[1], kShape, v[2])
        }
    }

    /// conv2dTranspose undoes the shapes of each conv case: input is the conv's output shape,
    /// kernel (kh, kw, Cout, Cin) is the same 4-tuple; includes the model's two decoder layers at batch 2.
    @Test("conv2dTranspose", arguments: convCases)
    func conv2dTransposeGradients(outShape: [Int], kShape: [Int]) {
        let xShape = [outShape[0], outShape[1] - kShape[0] + 1, outShape[2] - kShape[1] + 1, kShape[3]]
        Self.check([xShape, kShape, [kShape[2]]], seed: 18, coordinates: 8, { conv2dTranspose($0[0], kernel: $0[1], bias: $0[2]) }) { v in
            referenceConv2dTranspose(v[0], xShape, v[1], kShape, v[2])
        }
    }

    @Test("convolution without grads for the input (the model's first layer) leaves x.grad nil")
    func inputWithoutGrad() {
        let errors = Self.check([[2, 4, 7, 1], [1, 7, 1, 3], [3]], grads: [false, true, true], seed: 19,
                                { conv2d($0[0], kernel: $0[1], bias: $0[2]) }) { v in
            referenceConv2d(v[0], [2, 4, 7, 1], v[1], [1, 7, 1, 3], v[2])
        }
        #expect(errors.count == 2)
    }

    @Test("backward from a scalar accumulates into leaves and starts intermediates afresh")
    func accumulation() {
        let a = Tensor([1, 2, 3], shape: [3], requiresGrad: true)
        let loss = sumOfSquares(a * 2)                   // d/da = 8a
        loss.backward()
        #expect(a.grad == [8, 16, 24])
        loss.backward()                                  // a second pass adds, not doubles-then-adds
        #expect(a.grad == [16, 32, 48])
        a.zeroGrad()
        #expect(a.grad == nil)
        #expect(loss.scalar == 56)
    }

    /// The model's graph at reduced size (two sources instead of four): encoder convs, flatten, dense
    /// layers shared by both decoders (fan-out), transposed convs, abs, the soft mask's division and a
    /// loss with differences, constants and sums of squares; every parameter against a Double re-implementation.
    @Test("a model-shaped graph with soft masks and a discriminative loss")
    func modelShapedGraph() {
        let (b, t, f, n1, t2, n2, n) = (2, 6, 9, 4, 3, 3, 5)
        let tr = t - t2 + 1                                   // rows after the horizontal conv
        let decoder: [[Int]] = [[n, tr * n2], [tr * n2], [t2, 1, n1, n2], [n1], [1, f, 1, n1], [1]]
        let shapes: [[Int]] = [[b, t, f, 1], [b, t, f, 1],      // mixture magnitude x, target y0
                               [1, f, 1, n1], [n1], [t2, 1, n1, n2], [n2], [tr * n2, n], [n]] + decoder + decoder
        var grads = shapes.map { _ in true }
        grads[0] = false; grads[1] = false

        func engine(_ v: [Tensor]) -> Tensor {
            let v1 = conv2d(v[0], kernel: v[2], bias: v[3])                       // (b, t, 1, n1)
            let h = conv2d(v1, kernel: v[4], bias: v[5]).reshaped([b, tr * n2])   // (b, tr·n2)
            let g = relu(dense(h, weight: v[6], bias: v[7]))                       // (b, n)
            let d = [8, 14].map { o -> Tensor in
                let s = relu(dense(g, weight: v[o], bias: v[o + 1])).reshaped([b, tr, 1, n2])
                return abs(conv2dTranspose(conv2dTranspose(s, kernel: v[o + 2], bias: v[o + 3]), kernel: v[o + 4], bias: v[o + 5]))
            }                                                                      // each (b, t, f, 1)
            let total = d[0] + d[1] + 1e-8
            let e0 = d[0] / total * v[0], e1 = d[1] / total * v[0]
            return (sumOfSquares(e0 - v[1]) - sumOfSquares(e0 - e1) * 0.01) * 0.5
        }

        func reference(_ v: [[Double]]) -> [Double] {
            let relu: ([Double]) -> [Double] = { $0.map { max($0, 0) } }
            let v1 = referenceConv2d(v[0], shapes[0], v[2], shapes[2], v[3])
            let h = referenceConv2d(v1, [b, t, 1, n1], v[4], shapes[4], v[5])
            let g = relu(referenceDense(h, v[6], v[7], batch: b, nIn: tr * n2, nOut: n))
            let d = [8, 14].map { o -> [Double] in
                let s = relu(referenceDense(g, v[o], v[o + 1], batch: b, nIn: n, nOut: tr * n2))
                let u = referenceConv2dTranspose(s, [b, tr, 1, n2], v[o + 2], shapes[o + 2], v[o + 3])
                return referenceConv2dTranspose(u, [b, t, 1, n1], v[o + 4], shapes[o + 4], v[o + 5]).map { Swift.abs($0) }
            }
            var loss = 0.0
            for i in 0..<d[0].count {
                let total = d[0][i] + d[1][i] + Double(Float(1e-8))
                let e0 = d[0][i] / total * v[0][i], e1 = d[1][i] / total * v[0][i]
                loss += ((e0 - v[1][i]) * (e0 - v[1][i]) - 0.01 * (e0 - e1) * (e0 - e1)) * 0.5
            }
            return [loss]
        }

        let errors = Self.check(shapes, grads: grads, seed: 20, coordinates: 6, engine, reference: reference)
        #expect(errors.count == shapes.count - 2)
    }
}
