@testable import Autodiff

/// A tiny local generator (splitmix64) so these tests depend on Autodiff only.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-23 - 1 }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func values(_ n: Int) -> [Float] { (0..<n).map { _ in uniform() } }
    mutating func tensor(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(values(shape.reduce(1, *)), shape: shape, requiresGrad: requiresGrad)
    }
}

/// Naive conv2d in Double, straight from the definition (NHWC, kernel (kh, kw, Cin, Cout), valid).
func referenceConv2d(_ x: [Float], _ xs: [Int], _ k: [Float], _ ks: [Int], _ bias: [Float]) -> [Double] {
    let (B, H, W, C) = (xs[0], xs[1], xs[2], xs[3])
    let (kh, kw, O) = (ks[0], ks[1], ks[3])
    let (Ho, Wo) = (H - kh + 1, W - kw + 1)
    var out = [Double](repeating: 0, count: B * Ho * Wo * O)
    for b in 0..<B { for i in 0..<Ho { for j in 0..<Wo { for o in 0..<O {
        var s = Double(bias[o])
        for p in 0..<kh { for q in 0..<kw { for c in 0..<C {
            let xi: Int = ((b * H + i + p) * W + j + q) * C + c
            let ki: Int = ((p * kw + q) * C + c) * O + o
            s += Double(x[xi]) * Double(k[ki])
        } } }
        let oi: Int = ((b * Ho + i) * Wo + j) * O + o
        out[oi] = s
    } } } }
    return out
}

/// Naive conv2dTranspose in Double (NHWC, kernel (kh, kw, Cout, Cin), valid): scatter each input.
func referenceConv2dTranspose(_ x: [Float], _ xs: [Int], _ k: [Float], _ ks: [Int], _ bias: [Float]) -> [Double] {
    let (B, H, W, C) = (xs[0], xs[1], xs[2], xs[3])
    let (kh, kw, O) = (ks[0], ks[1], ks[2])
    let (Ho, Wo) = (H + kh - 1, W + kw - 1)
    var out = [Double](repeating: 0, count: B * Ho * Wo * O)
    for r in 0..<(B * Ho * Wo) { for o in 0..<O { out[r * O + o] = Double(bias[o]) } }
    for b in 0..<B { for i in 0..<H { for j in 0..<W { for c in 0..<C {
        let xi: Int = ((b * H + i) * W + j) * C + c
        let v = Double(x[xi])
        for p in 0..<kh { for q in 0..<kw { for o in 0..<O {
            let oi: Int = ((b * Ho + i + p) * Wo + j + q) * O + o
            let ki: Int = ((p * kw + q) * O + o) * C + c
            out[oi] += v * Double(k[ki])
        } } }
    } } } }
    return out
}

/// Largest |a - b| relative to the largest |b| (at least 1).
func maxRelativeError(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var worst = 0.0, scale = 1.0
    for i in 0..<a.count { worst = max(worst, Swift.abs(Double(a[i]) - b[i])); scale = max(scale, Swift.abs(b[i])) }
    return worst / scale
}
