import Testing
@testable import Autodiff

@Suite struct ConvolutionTests {
    /// (x shape, kernel kh, kw, Cout): wide 1×W-like, tall 12×1-like, general 3×2, 1×1.
    static let conv2dCases: [([Int], Int, Int, Int)] = [
        ([2, 5, 33, 1], 1, 33, 7),    // the vertical layer at reduced size: kernel spans the width
        ([2, 9, 1, 6], 4, 1, 5),      // the horizontal layer: tall kernel over width 1
        ([2, 6, 5, 3], 3, 2, 4),      // general
        ([3, 4, 3, 2], 1, 1, 3),      // 1×1
        ([1, 5, 9, 2], 1, 4, 3),      // 1×k not spanning the width (copies)
    ]

    @Test("conv2d matches a naive loop", arguments: conv2dCases)
    func conv2dMatchesNaive(xShape: [Int], kh: Int, kw: Int, cOut: Int) {
        var rng = TestRNG(seed: 1)
        let x = rng.tensor(xShape), k = rng.tensor([kh, kw, xShape[3], cOut]), b = rng.tensor([cOut])
        let y = conv2d(x, kernel: k, bias: b)
        #expect(y.shape == [xShape[0], xShape[1] - kh + 1, xShape[2] - kw + 1, cOut])
        let ref = referenceConv2d(x.data, x.shape, k.data, k.shape, b.data)
        #expect(maxRelativeError(y.data, ref) < 1e-5)
    }

    @Test("conv2dTranspose matches a naive loop", arguments: conv2dCases)
    func conv2dTransposeMatchesNaive(xShape: [Int], kh: Int, kw: Int, cOut: Int) {
        var rng = TestRNG(seed: 2)
        // Use the conv case's output as the transposed conv's input, as the model's decoder does.
        let inShape = [xShape[0], xShape[1] - kh + 1, xShape[2] - kw + 1, cOut]
        let x = rng.tensor(inShape), k = rng.tensor([kh, kw, xShape[3], cOut]), b = rng.tensor([xShape[3]])
        let y = conv2dTranspose(x, kernel: k, bias: b)
        #expect(y.shape == xShape)
        let ref = referenceConv2dTranspose(x.data, x.shape, k.data, k.shape, b.data)
        #expect(maxRelativeError(y.data, ref) < 1e-5)
    }

    /// ⟨conv2d(x, K), y⟩ = ⟨x, conv2dTranspose(y, K)⟩ with the same kernel and zero biases. Both sides are
    /// float32 sums of ~10⁴ products accumulated by BLAS, so they agree to float precision: 1e-5 relative.
    @Test("transposed conv is the adjoint of conv", arguments: [
        ([2, 6, 5, 3], [3, 2, 3, 4]), ([2, 5, 33, 1], [1, 33, 1, 7]), ([2, 9, 1, 6], [4, 1, 6, 5]),
        ([1, 25, 513, 1], [1, 513, 1, 50]), ([2, 25, 1, 50], [12, 1, 50, 30]),
    ])
    func adjoint(xShape: [Int], kShape: [Int]) {
        var rng = TestRNG(seed: 3)
        let x = rng.tensor(xShape), k = rng.tensor(kShape)
        let y = rng.tensor([xShape[0], xShape[1] - kShape[0] + 1, xShape[2] - kShape[1] + 1, kShape[3]])
        let forward = conv2d(x, kernel: k, bias: .zeros([kShape[3]]))
        let backward = conv2dTranspose(y, kernel: k, bias: .zeros([kShape[2]]))
        #expect(backward.shape == x.shape)
        let lhs = dot(forward.data.doubles, y.data.doubles), rhs = dot(x.data.doubles, backward.data.doubles)
        let scale = dot(forward.data.map { Double(Swift.abs($0)) }, y.data.map { Double(Swift.abs($0)) })
        #expect(Swift.abs(lhs - rhs) <= 1e-5 * scale, "⟨Ax, y⟩ = \(lhs), ⟨x, Aᵀy⟩ = \(rhs)")
    }

    @Test("a shape mismatch stops with a message naming the op and both shapes")
    func mismatchStops() async {
        await #expect(processExitsWith: .failure) {
            _ = conv2d(Tensor.zeros([1, 4, 4, 2]), kernel: Tensor.zeros([2, 2, 3, 1]), bias: Tensor.zeros([1]))
        }
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([2, 3]) + Tensor.zeros([3, 2])
        }
        await #expect(processExitsWith: .failure) {
            _ = dense(Tensor.zeros([2, 3]), weight: Tensor.zeros([4, 5]), bias: Tensor.zeros([5]))
        }
    }
}
