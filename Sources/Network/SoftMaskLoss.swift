// The soft masks and the discriminative loss fused into one pass over the decoders' outputs: the loss
// and its gradient with respect to every output, instead of ~40 elementwise tape ops each allocating a
// tensor (`discriminativeLoss` in Loss.swift is that composition, kept as the legible reference).
//
// Per element i, with o_s the decoder outputs, x the mixture magnitude, y_s the targets:
//   d_s = |o_s|,  t = Σ_s d_s + ε,  m_s = d_s / t,  e_s = m_s · x
//   L  = scale · Σ_i [ Σ_{s∈{0,1,3}} (e_s − y_s)²  +  ω (e_2 − y_2)²  −  α Σ_{pairs s<j} (e_s − e_j)²
//                      −  β ((e_0 − y_2)² + (e_1 − y_2)²)  −  γ (e_3 − y_2)² ]
// (sources 0..3 = bass, drums, other, vocals; with ω = `other` = 0, the paper's loss, "other" is never
// compared with its own target).
// Gradient: ∂L/∂e_s written out in `groups`; ∂L/∂m_s = ∂L/∂e_s · x;
// ∂L/∂d_k = (∂L/∂m_k − Σ_s ∂L/∂m_s · m_s) / t; ∂L/∂o_k = ∂L/∂d_k · sign(o_k) (0 at 0, as `abs`).

/// The weights of the loss's terms (METHOD.md, "Loss"), and `other`, the weight of a term the paper
/// does not have: the "other" estimate against its own target (0 = the paper's loss).
public struct LossWeights: Equatable, Sendable {
    public var alpha: Float = 0.001
    public var beta: Float = 0.01
    public var gamma: Float = 0.03
    public var other: Float = 0
    public init() {}
    public init(alpha: Float, beta: Float, gamma: Float, other: Float = 0) {
        (self.alpha, self.beta, self.gamma, self.other) = (alpha, beta, gamma, other)
    }
}

public typealias Four<P> = (P, P, P, P)

typealias V = SIMD8<Float>

/// Loss and (optionally) its gradient over `count` elements of raw buffers, eight at a time in SIMD
/// (a Float reduction does not auto-vectorize); a last partial group is copied into padded lanes
/// (outputs 1, so the masks stay finite; x = y = 0, so it adds exactly nothing) and run through the
/// same code. Returns the sum of the terms times `scale`, accumulated in Double (per 1024 elements in
/// Float). With `gradients`, writes ∂L/∂o_s into `gradients[s]`, which may alias `outputs[s]` (each
/// element is read before it is written).
public func softMaskLossKernel(outputs o: Four<UnsafePointer<Float>>, magnitudes x: UnsafePointer<Float>,
                               targets y: Four<UnsafePointer<Float>>, count: Int, epsilon: Float,
                               weights w: LossWeights, scale: Float,
                               gradients: Four<UnsafeMutablePointer<Float>>?) -> Double {
    let whole = count / 8 * 8
    var total = groups(o, x, y, whole, epsilon, w, 2 * scale, gradients)
    let tail = count - whole
    if tail > 0 {
        // Nine padded rows of 8 lanes: four outputs, x, four targets; gradients overwrite the outputs' rows.
        total += withUnsafeTemporaryAllocation(of: Float.self, capacity: 72) { buffer in
            let p = buffer.baseAddress!
            func row(_ r: Int, _ src: UnsafePointer<Float>, pad: Float) -> UnsafePointer<Float> {
                (p + 8 * r).update(repeating: pad, count: 8)
                (p + 8 * r).update(from: src + whole, count: tail)
                return UnsafePointer(p + 8 * r)
            }
            let lanes = (row(0, o.0, pad: 1), row(1, o.1, pad: 1), row(2, o.2, pad: 1), row(3, o.3, pad: 1))
            let targets = (row(5, y.0, pad: 0), row(6, y.1, pad: 0), row(7, y.2, pad: 0), row(8, y.3, pad: 0))
            let sum = groups(lanes, row(4, x, pad: 0), targets, 8, epsilon, w, 2 * scale,
                             gradients == nil ? nil : (p, p + 8, p + 16, p + 24))
            if let g = gradients {
                (g.0 + whole).update(from: p, count: tail); (g.1 + whole).update(from: p + 8, count: tail)
                (g.2 + whole).update(from: p + 16, count: tail); (g.3 + whole).update(from: p + 24, count: tail)
            }
            return sum
        }
    }
    return total * Double(scale)
}

/// The kernel over elements 0..<count (a multiple of 8); returns the unscaled sum.
private func groups(_ o: Four<UnsafePointer<Float>>, _ x: UnsafePointer<Float>, _ y: Four<UnsafePointer<Float>>, _ count: Int,
                    _ epsilon: Float, _ w: LossWeights, _ twoScale: Float, _ gradients: Four<UnsafeMutablePointer<Float>>?) -> Double {
    var total = 0.0
    var partial = V()
    var i = 0
    while i < count {
        let (o0, o1, o2, o3) = (load(o.0, i), load(o.1, i), load(o.2, i), load(o.3, i))
        let (a0, a1, a2, a3) = (absV(o0), absV(o1), absV(o2), absV(o3))
        let inv = 1 / (a0 + a1 + a2 + a3 + epsilon)
        let (m0, m1, m2, m3) = (a0 * inv, a1 * inv, a2 * inv, a3 * inv)
        let xi = load(x, i)
        let (e0, e1, e2, e3) = (m0 * xi, m1 * xi, m2 * xi, m3 * xi)
        let yo = load(y.2, i)
        let (r0, r1, r2, r3) = (e0 - load(y.0, i), e1 - load(y.1, i), e2 - yo, e3 - load(y.3, i))
        let (q0, q1, q3) = (e0 - yo, e1 - yo, e3 - yo)
        let (p01, p03, p31, p02, p12, p32) = (e0 - e1, e0 - e3, e3 - e1, e0 - e2, e1 - e2, e3 - e2)
        var fit: V = r0 * r0
        fit += r1 * r1
        fit += r3 * r3
        fit += w.other * (r2 * r2)
        var apart: V = p01 * p01
        apart += p03 * p03
        apart += p31 * p31
        apart += p02 * p02
        apart += p12 * p12
        apart += p32 * p32
        var away: V = q0 * q0
        away += q1 * q1
        partial += fit
        partial -= w.alpha * apart
        partial -= w.beta * away
        partial -= w.gamma * (q3 * q3)
        if let g = gradients {
            // ∂/∂e_s of the bracket, halved (the 2 is in twoScale).
            let sumE: V = (e0 + e1) + (e2 + e3)
            let de0: V = r0 - w.alpha * (4 * e0 - sumE) - w.beta * q0
            let de1: V = r1 - w.alpha * (4 * e1 - sumE) - w.beta * q1
            let de2: V = w.other * r2 - w.alpha * (4 * e2 - sumE)
            let de3: V = r3 - w.alpha * (4 * e3 - sumE) - w.gamma * q3
            let k: V = twoScale * xi                             // ∂L/∂m_s = 2·scale·x·de_s
            let (dm0, dm1, dm2, dm3) = (k * de0, k * de1, k * de2, k * de3)
            var mean: V = dm0 * m0
            mean += dm1 * m1
            mean += dm2 * m2
            mean += dm3 * m3
            store((dm0 - mean) * inv * signV(o0), g.0, i)
            store((dm1 - mean) * inv * signV(o1), g.1, i)
            store((dm2 - mean) * inv * signV(o2), g.2, i)
            store((dm3 - mean) * inv * signV(o3), g.3, i)
        }
        i += 8
        if i % 1024 == 0 { total += Double(partial.sum()); partial = V() }
    }
    return total + Double(partial.sum())
}

@inline(__always) private func load(_ p: UnsafePointer<Float>, _ i: Int) -> V { UnsafeRawPointer(p + i).loadUnaligned(as: V.self) }
@inline(__always) private func load(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> V { UnsafeRawPointer(p + i).loadUnaligned(as: V.self) }
@inline(__always) private func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
}
@inline(__always) private func absV(_ v: V) -> V { v.replacing(with: -v, where: v .< 0) }
/// |v| by clearing the sign bits: one vector AND (`absV`'s masked select compiles to a branch per lane).
@inline(__always) private func magnitude(_ v: V) -> V {
    unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: V.self)
}
@inline(__always) private func signV(_ v: V) -> V {
    V(repeating: 0).replacing(with: 1, where: v .> 0).replacing(with: -1, where: v .< 0)
}

/// The soft masks m_s = |o_s| / (Σ_j |o_j| + ε) of four outputs, written to `masks[s]` (raw buffers).
public func softMaskKernel(outputs o: Four<UnsafePointer<Float>>, count: Int, epsilon: Float,
                           masks: Four<UnsafeMutablePointer<Float>>) {
    weightedSoftMasks(outputs: o, count: count, epsilon: epsilon, weight: 1, into: (masks.0, masks.1, masks.2, masks.3), add: false)
}

/// `weight` · m_s, m_s = |o_s| / (Σ_j |o_j| + ε), for `count` elements, stored into `masks[s]` (or,
/// with `add`, added to it) for each s whose pointer is given: one pass that both makes a window's
/// masks and blends them into a song's (the separator's crossfade). Eight elements at a time.
public func weightedSoftMasks(outputs o: Four<UnsafePointer<Float>>, count: Int, epsilon: Float, weight: Float,
                              into masks: Four<UnsafeMutablePointer<Float>?>, add: Bool) {
    @inline(__always) func put(_ a: V, _ scale: V, _ m: UnsafeMutablePointer<Float>?, _ i: Int) {
        guard let m else { return }
        store(add ? load(m, i) + a * scale : a * scale, m, i)
    }
    @inline(__always) func put(_ a: Float, _ scale: Float, _ m: UnsafeMutablePointer<Float>?, _ i: Int) {
        guard let m else { return }
        m[i] = add ? m[i] + a * scale : a * scale
    }
    let whole = count / 8 * 8
    var i = 0
    while i < whole {
        let (a0, a1, a2, a3) = (magnitude(load(o.0, i)), magnitude(load(o.1, i)), magnitude(load(o.2, i)), magnitude(load(o.3, i)))
        let scale = weight * (1 / (a0 + a1 + a2 + a3 + epsilon))
        put(a0, scale, masks.0, i); put(a1, scale, masks.1, i); put(a2, scale, masks.2, i); put(a3, scale, masks.3, i)
        i += 8
    }
    while i < count {
        let (a0, a1, a2, a3) = (Swift.abs(o.0[i]), Swift.abs(o.1[i]), Swift.abs(o.2[i]), Swift.abs(o.3[i]))
        let scale = weight * (1 / (a0 + a1 + a2 + a3 + epsilon))
        put(a0, scale, masks.0, i); put(a1, scale, masks.1, i); put(a2, scale, masks.2, i); put(a3, scale, masks.3, i)
        i += 1
    }
}
