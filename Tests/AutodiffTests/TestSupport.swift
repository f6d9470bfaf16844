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
    referenceConv2d(x.doubles, xs, k.doubles, ks, bias.doubles)
}

func referenceConv2d(_ x: [Double], _ xs: [Int], _ k: [Double], _ ks: [Int], _ bias: [Double]) -> [Double] {
    let (B, H, W, C) = (xs[0], xs[1], xs[2], xs[3])
    let (kh, kw, O) = (ks[0], ks[1], ks[3])
    let (Ho, Wo) = (H - kh + 1, W - kw + 1)
    var out = [Double](repeating: 0, count: B * Ho * Wo * O)
    for b in 0..<B { for i in 0..<Ho { for j in 0..<Wo { for o in 0..<O {
        var s = bias[o]
        for p in 0..<kh { for q in 0..<kw { for c in 0..<C {
            let xi: Int = ((b * H + i + p) * W + j + q) * C + c
            let ki: Int = ((p * kw + q) * C + c) * O + o
            s += x[xi] * k[ki]
        } } }
        let oi: Int = ((b * Ho + i) * Wo + j) * O + o
        out[oi] = s
    } } } }
    return out
}

/// Naive conv2dTranspose in Double (NHWC, kernel (kh, kw, Cout, Cin), valid): scatter each input.
func referenceConv2dTranspose(_ x: [Float], _ xs: [Int], _ k: [Float], _ ks: [Int], _ bias: [Float]) -> [Double] {
    referenceConv2dTranspose(x.doubles, xs, k.doubles, ks, bias.doubles)
}

func referenceConv2dTranspose(_ x: [Double], _ xs: [Int], _ k: [Double], _ ks: [Int], _ bias: [Double]) -> [Double] {
    let (B, H, W, C) = (xs[0], xs[1], xs[2], xs[3])
    let (kh, kw, O) = (ks[0], ks[1], ks[2])
    let (Ho, Wo) = (H + kh - 1, W + kw - 1)
    var out = [Double](repeating: 0, count: B * Ho * Wo * O)
    for r in 0..<(B * Ho * Wo) { for o in 0..<O { out[r * O + o] = bias[o] } }
    for b in 0..<B { for i in 0..<H { for j in 0..<W { for c in 0..<C {
        let xi: Int = ((b * H + i) * W + j) * C + c
        let v = x[xi]
        for p in 0..<kh { for q in 0..<kw { for o in 0..<O {
            let oi: Int = ((b * Ho + i + p) * Wo + j + q) * O + o
            let ki: Int = ((p * kw + q) * O + o) * C + c
            out[oi] += v * k[ki]
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

// MARK: - Double references of the other ops, for finite differences

extension Array where Element == Float {
    var doubles: [Double] { map(Double.init) }
}

/// Naive dense in Double: x (B, in) · w (in, out) + b.
func referenceDense(_ x: [Double], _ w: [Double], _ b: [Double], batch: Int, nIn: Int, nOut: Int) -> [Double] {
    var y = [Double](repeating: 0, count: batch * nOut)
    for r in 0..<batch {
        for o in 0..<nOut {
            var s = b[o]
            for i in 0..<nIn { s += x[r * nIn + i] * w[i * nOut + o] }
            y[r * nOut + o] = s
        }
    }
    return y
}

func dot(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    var s = 0.0
    for i in 0..<a.count { s += a[i] * b[i] }
    return s
}

/// Compares an engine gradient with central differences of a Double function at a random subset of
/// coordinates; returns the largest error relative to max(1, largest |finite difference|).
func finiteDifferenceError(engine grad: [Float]?, at point: [Float], coordinates: Int, rng: inout TestRNG,
                           h: Double = 1e-5, _ f: ([Double]) -> Double) -> Double {
    guard let grad else { return .infinity }
    var base = point.doubles
    let picks = point.count <= coordinates ? Array(0..<point.count) : (0..<coordinates).map { _ in rng.below(point.count) }
    var worst = 0.0, scale = 1.0
    var pairs: [(Double, Double)] = []
    for i in picks {
        let v = base[i]
        base[i] = v + h; let up = f(base)
        base[i] = v - h; let down = f(base)
        base[i] = v
        let fd = (up - down) / (2 * h)
        pairs.append((Double(grad[i]), fd))
        scale = max(scale, Swift.abs(fd))
    }
    for (g, fd) in pairs { worst = max(worst, Swift.abs(g - fd)) }
    return worst / scale
}
