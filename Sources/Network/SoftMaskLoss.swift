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
// Gradient: ∂L/∂e_s written out in `lossGroup`; ∂L/∂m_s = ∂L/∂e_s · x;
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
/// (a Float reduction does not auto-vectorize); a last partial group is padded so that it adds
/// exactly nothing. Returns the sum of the terms times `scale`, accumulated in Double (per 1024
/// elements in Float). With `gradients`, writes ∂L/∂o_s into `gradients[s]`, which may alias
/// `outputs[s]` (each element is read before it is written).
public func softMaskLossKernel(outputs o: Four<UnsafePointer<Float>>, magnitudes x: UnsafePointer<Float>,
                               targets y: Four<UnsafePointer<Float>>, count: Int, epsilon: Float,
                               weights w: LossWeights, scale: Float,
                               gradients: Four<UnsafeMutablePointer<Float>>?) -> Double {
    var total = 0.0
    var partial = V()
    var i = 0
    while i + 8 <= count {
        let d = lossGroup(Group(o, x, y, at: i), epsilon, w, 2 * scale, gradients: gradients != nil, into: &partial)
        if let g = gradients { store(d, g, i) }
        i += 8
        if i % 1024 == 0 { total += Double(partial.sum()); partial = V() }
    }
    if i < count {                                          // the tail, padded: o = 1 (finite masks), x = y = 0
        let d = lossGroup(Group(o, x, y, at: i, valid: count - i), epsilon, w, 2 * scale, gradients: gradients != nil, into: &partial)
        if let g = gradients { store(d, g, i, valid: count - i) }
    }
    return (total + Double(partial.sum())) * Double(scale)
}

/// Eight elements of each input, loaded (or padded past `valid`).
private struct Group {
    var o: Four<V>, x: V, y: Four<V>
    init(_ o: Four<UnsafePointer<Float>>, _ x: UnsafePointer<Float>, _ y: Four<UnsafePointer<Float>>, at i: Int, valid: Int = 8) {
        self.o = (load(o.0, i, valid, pad: 1), load(o.1, i, valid, pad: 1), load(o.2, i, valid, pad: 1), load(o.3, i, valid, pad: 1))
        self.x = load(x, i, valid, pad: 0)
        self.y = (load(y.0, i, valid, pad: 0), load(y.1, i, valid, pad: 0), load(y.2, i, valid, pad: 0), load(y.3, i, valid, pad: 0))
    }
}

/// Adds the bracket of the loss for eight elements to `partial`; returns ∂L/∂o_s for each source when
/// `gradients` (zeros otherwise).
@inline(__always)
private func lossGroup(_ g: Group, _ epsilon: Float, _ w: LossWeights, _ twoScale: Float, gradients: Bool,
                       into partial: inout V) -> Four<V> {
    let (a0, a1, a2, a3) = (absV(g.o.0), absV(g.o.1), absV(g.o.2), absV(g.o.3))
    let inv = 1 / (a0 + a1 + a2 + a3 + epsilon)
    let (m0, m1, m2, m3) = (a0 * inv, a1 * inv, a2 * inv, a3 * inv)
    let (e0, e1, e2, e3) = (m0 * g.x, m1 * g.x, m2 * g.x, m3 * g.x)
    let yo = g.y.2
    let (r0, r1, r2, r3) = (e0 - g.y.0, e1 - g.y.1, e2 - yo, e3 - g.y.3)
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
    guard gradients else { return (V(), V(), V(), V()) }
    // ∂/∂e_s of the bracket, halved (the 2 is in twoScale).
    let sumE: V = (e0 + e1) + (e2 + e3)
    let de0: V = r0 - w.alpha * (4 * e0 - sumE) - w.beta * q0
    let de1: V = r1 - w.alpha * (4 * e1 - sumE) - w.beta * q1
    let de2: V = w.other * r2 - w.alpha * (4 * e2 - sumE)
    let de3: V = r3 - w.alpha * (4 * e3 - sumE) - w.gamma * q3
    let k: V = twoScale * g.x                            // ∂L/∂m_s = 2·scale·x·de_s
    let (dm0, dm1, dm2, dm3) = (k * de0, k * de1, k * de2, k * de3)
    var mean: V = dm0 * m0
    mean += dm1 * m1
    mean += dm2 * m2
    mean += dm3 * m3
    return ((dm0 - mean) * inv * signV(g.o.0), (dm1 - mean) * inv * signV(g.o.1),
            (dm2 - mean) * inv * signV(g.o.2), (dm3 - mean) * inv * signV(g.o.3))
}

@inline(__always) private func load(_ p: UnsafePointer<Float>, _ i: Int, _ valid: Int, pad: Float) -> V {
    if valid == 8 { return UnsafeRawPointer(p + i).loadUnaligned(as: V.self) }
    var v = V(repeating: pad)
    for lane in 0..<valid { v[lane] = p[i + lane] }
    return v
}

@inline(__always) private func store(_ v: Four<V>, _ g: Four<UnsafeMutablePointer<Float>>, _ i: Int, valid: Int = 8) {
    func one(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        if valid == 8 { UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self); return }
        for lane in 0..<valid { p[i + lane] = v[lane] }
    }
    one(v.0, g.0); one(v.1, g.1); one(v.2, g.2); one(v.3, g.3)
}

@inline(__always) private func absV(_ v: V) -> V { v.replacing(with: -v, where: v .< 0) }
@inline(__always) private func signV(_ v: V) -> V {
    V(repeating: 0).replacing(with: 1, where: v .> 0).replacing(with: -1, where: v .< 0)
}

/// The soft masks m_s = |o_s| / (Σ_j |o_j| + ε) of four outputs, written to `masks[s]` (raw buffers).
public func softMaskKernel(outputs o: Four<UnsafePointer<Float>>, count: Int, epsilon: Float,
                           masks: Four<UnsafeMutablePointer<Float>>) {
    for i in 0..<count {
        let (a0, a1, a2, a3) = (Swift.abs(o.0[i]), Swift.abs(o.1[i]), Swift.abs(o.2[i]), Swift.abs(o.3[i]))
        let inv = 1 / (a0 + a1 + a2 + a3 + epsilon)
        masks.0[i] = a0 * inv; masks.1[i] = a1 * inv; masks.2[i] = a2 * inv; masks.3[i] = a3 * inv
    }
}
