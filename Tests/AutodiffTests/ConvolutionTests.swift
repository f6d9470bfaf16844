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
}
