// Fused soft masks + four-source discriminative loss: one pass over the decoders' outputs gives the
// loss and its gradient with respect to every output, instead of ~40 elementwise ops on the tape
// (abs, sums, divisions, products, 13 differences and squared sums, each allocating a tensor and
// walked again backward).
//
// Per element i, with o_s the decoder outputs, x the mixture magnitude, y_s the targets:
//   d_s = |o_s|,  t = Σ_s d_s + ε,  m_s = d_s / t,  e_s = m_s · x
//   L  = scale · Σ_i [ Σ_{s∈{0,1,3}} (e_s − y_s)²  −  α Σ_{pairs s<j} (e_s − e_j)²
//                      −  β ((e_0 − y_2)² + (e_1 − y_2)²)  −  γ (e_3 − y_2)² ]
// (sources 0..3 = bass, drums, other, vocals; "other" is never compared with its own target).
// Gradient: ∂L/∂e_s as written out in `softMaskLossKernel`; ∂L/∂m_s = ∂L/∂e_s · x;
// ∂L/∂d_k = (∂L/∂m_k − Σ_s ∂L/∂m_s · m_s) / t; ∂L/∂o_k = ∂L/∂d_k · sign(o_k) (0 at 0, as `abs`).

/// Loss and (optionally) its gradient over `count` elements, raw pointers. Returns Σ of the loss
/// terms times `scale`, accumulated in Double (per 1024-element chunk in Float). When `gradients` is
/// non-nil, writes ∂L/∂o_s · `gradientScale` into `gradients[s]` (which may alias `outputs[s]`:
/// each element is read before it is written).
public func softMaskLossKernel(outputs o: [UnsafePointer<Float>], magnitudes x: UnsafePointer<Float>,
                               targets y: [UnsafePointer<Float>], count: Int,
                               epsilon: Float, alpha: Float, beta: Float, gamma: Float, scale: Float,
                               gradients: [UnsafeMutablePointer<Float>]?, gradientScale: Float = 1) -> Double {
    precondition(o.count == 4 && y.count == 4 && (gradients?.count ?? 4) == 4, "softMaskLossKernel: needs 4 outputs, 4 targets, 4 gradients")
    return softMaskLossKernel(outputs: (o[0], o[1], o[2], o[3]), magnitudes: x, targets: (y[0], y[1], y[2], y[3]), count: count,
                              epsilon: epsilon, alpha: alpha, beta: beta, gamma: gamma, scale: scale,
                              gradients: gradients.map { ($0[0], $0[1], $0[2], $0[3]) }, gradientScale: gradientScale)
}

public typealias Four<P> = (P, P, P, P)

/// The same with the four pointers of each kind as tuples (no array, so nothing is allocated).
public func softMaskLossKernel(outputs o: Four<UnsafePointer<Float>>, magnitudes x: UnsafePointer<Float>,
                               targets y: Four<UnsafePointer<Float>>, count: Int,
                               epsilon: Float, alpha: Float, beta: Float, gamma: Float, scale: Float,
                               gradients: Four<UnsafeMutablePointer<Float>>?, gradientScale: Float = 1) -> Double {
    let (o0, o1, o2, o3) = o
    let (y0, y1, y2, y3) = y
    var total = 0.0
    // Whole groups of 8 in SIMD (a Float reduction does not auto-vectorize), the tail in scalar code.
    let whole = count / 8 * 8
    if whole > 0 {
        total += softMaskLossSIMD(o, x, y, whole, epsilon, alpha, beta, gamma, scale * gradientScale, gradients)
    }
    var start = whole
    let chunk = 1024
    while start < count {
        let end = min(start + chunk, count)
        var partial: Float = 0
        if let g = gradients {
            let (g0, g1, g2, g3) = g
            let twoS = 2 * scale * gradientScale
            for i in start..<end {
                let (a0, a1, a2, a3) = (Swift.abs(o0[i]), Swift.abs(o1[i]), Swift.abs(o2[i]), Swift.abs(o3[i]))
                let inv = 1 / (a0 + a1 + a2 + a3 + epsilon)
                let (m0, m1, m2, m3) = (a0 * inv, a1 * inv, a2 * inv, a3 * inv)
                let xi = x[i]
                let (e0, e1, e2, e3) = (m0 * xi, m1 * xi, m2 * xi, m3 * xi)
                let (r0, r1, r3) = (e0 - y0[i], e1 - y1[i], e3 - y3[i])
                let (q0, q1, q3) = (e0 - y2[i], e1 - y2[i], e3 - y2[i])
                let (p01, p03, p31, p02, p12, p32) = (e0 - e1, e0 - e3, e3 - e1, e0 - e2, e1 - e2, e3 - e2)
                partial += r0 * r0 + r1 * r1 + r3 * r3
                    - alpha * (p01 * p01 + p03 * p03 + p31 * p31 + p02 * p02 + p12 * p12 + p32 * p32)
                    - beta * (q0 * q0 + q1 * q1) - gamma * q3 * q3
                // ∂/∂e_s of the bracket, halved (the 2 is in twoS).
                let sumE = e0 + e1 + e2 + e3
                let de0 = r0 - alpha * (4 * e0 - sumE) - beta * q0
                let de1 = r1 - alpha * (4 * e1 - sumE) - beta * q1
                let de2 = -alpha * (4 * e2 - sumE)
                let de3 = r3 - alpha * (4 * e3 - sumE) - gamma * q3
                let k = twoS * xi                                   // ∂L/∂m_s = 2·scale·x·de_s
                let (dm0, dm1, dm2, dm3) = (k * de0, k * de1, k * de2, k * de3)
                let mean = dm0 * m0 + dm1 * m1 + dm2 * m2 + dm3 * m3
                let (s0, s1, s2, s3) = (sign(o0[i]), sign(o1[i]), sign(o2[i]), sign(o3[i]))
                g0[i] = (dm0 - mean) * inv * s0
                g1[i] = (dm1 - mean) * inv * s1
                g2[i] = (dm2 - mean) * inv * s2
                g3[i] = (dm3 - mean) * inv * s3
            }
        } else {
            for i in start..<end {
                let (a0, a1, a2, a3) = (Swift.abs(o0[i]), Swift.abs(o1[i]), Swift.abs(o2[i]), Swift.abs(o3[i]))
                let inv = 1 / (a0 + a1 + a2 + a3 + epsilon)
                let xi = x[i] * inv
                let (e0, e1, e2, e3) = (a0 * xi, a1 * xi, a2 * xi, a3 * xi)
                let (r0, r1, r3) = (e0 - y0[i], e1 - y1[i], e3 - y3[i])
                let (q0, q1, q3) = (e0 - y2[i], e1 - y2[i], e3 - y2[i])
                let (p01, p03, p31, p02, p12, p32) = (e0 - e1, e0 - e3, e3 - e1, e0 - e2, e1 - e2, e3 - e2)
                partial += r0 * r0 + r1 * r1 + r3 * r3
                    - alpha * (p01 * p01 + p03 * p03 + p31 * p31 + p02 * p02 + p12 * p12 + p32 * p32)
                    - beta * (q0 * q0 + q1 * q1) - gamma * q3 * q3
            }
        }
        total += Double(partial)
        start = end
    }
    return total * Double(scale)
}

typealias V = SIMD8<Float>

@inline(__always) private func load(_ p: UnsafePointer<Float>, _ i: Int) -> V { UnsafeRawPointer(p + i).loadUnaligned(as: V.self) }
@inline(__always) private func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) { UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self) }
@inline(__always) private func absV(_ v: V) -> V { v.replacing(with: -v, where: v .< 0) }
@inline(__always) private func signV(_ v: V) -> V {
    V(repeating: 0).replacing(with: 1, where: v .> 0).replacing(with: -1, where: v .< 0)
}

/// The kernel over elements 0..<count (a multiple of 8), eight at a time; same formulas as the scalar
/// loop. Returns the unscaled sum (the caller's `total` is multiplied by `scale` at the end).
private func softMaskLossSIMD(_ o: Four<UnsafePointer<Float>>, _ x: UnsafePointer<Float>, _ y: Four<UnsafePointer<Float>>, _ count: Int,
                              _ epsilon: Float, _ alpha: Float, _ beta: Float, _ gamma: Float, _ gradScale: Float,
                              _ gradients: Four<UnsafeMutablePointer<Float>>?) -> Double {
    var total = 0.0
    var partial = V()
    let twoS = 2 * gradScale
    var i = 0
    while i < count {
        let (r0o, r1o, r2o, r3o) = (load(o.0, i), load(o.1, i), load(o.2, i), load(o.3, i))
        let (a0, a1, a2, a3) = (absV(r0o), absV(r1o), absV(r2o), absV(r3o))
        let inv = 1 / (a0 + a1 + a2 + a3 + epsilon)
        let (m0, m1, m2, m3) = (a0 * inv, a1 * inv, a2 * inv, a3 * inv)
        let xi = load(x, i)
        let (e0, e1, e2, e3) = (m0 * xi, m1 * xi, m2 * xi, m3 * xi)
        let yo = load(y.2, i)
        let (r0, r1, r3) = (e0 - load(y.0, i), e1 - load(y.1, i), e3 - load(y.3, i))
        let (q0, q1, q3) = (e0 - yo, e1 - yo, e3 - yo)
        let (p01, p03, p31, p02, p12, p32) = (e0 - e1, e0 - e3, e3 - e1, e0 - e2, e1 - e2, e3 - e2)
        var fit: V = r0 * r0
        fit += r1 * r1
        fit += r3 * r3
        var apart: V = p01 * p01
        apart += p03 * p03
        apart += p31 * p31
        apart += p02 * p02
        apart += p12 * p12
        apart += p32 * p32
        var away: V = q0 * q0
        away += q1 * q1
        partial += fit
        partial -= alpha * apart
        partial -= beta * away
        partial -= gamma * (q3 * q3)
        if let g = gradients {
            let sumE: V = (e0 + e1) + (e2 + e3)
            let c0: V = 4 * e0 - sumE, c1: V = 4 * e1 - sumE, c2: V = 4 * e2 - sumE, c3: V = 4 * e3 - sumE
            let de0: V = r0 - alpha * c0 - beta * q0
            let de1: V = r1 - alpha * c1 - beta * q1
            let de2: V = -alpha * c2
            let de3: V = r3 - alpha * c3 - gamma * q3
            let k: V = twoS * xi
            let (dm0, dm1, dm2, dm3) = (k * de0, k * de1, k * de2, k * de3)
            var mean: V = dm0 * m0
            mean += dm1 * m1
            mean += dm2 * m2
            mean += dm3 * m3
            store((dm0 - mean) * inv * signV(r0o), g.0, i)
            store((dm1 - mean) * inv * signV(r1o), g.1, i)
            store((dm2 - mean) * inv * signV(r2o), g.2, i)
            store((dm3 - mean) * inv * signV(r3o), g.3, i)
        }
        i += 8
        if i % 1024 == 0 { total += Double(partial.sum()); partial = V() }
    }
    return total + Double(partial.sum())
}

@inline(__always)
private func sign(_ v: Float) -> Float { v > 0 ? 1 : (v < 0 ? -1 : 0) }

/// The soft masks m_s = |o_s| / (Σ_j |o_j| + ε) of four outputs, written to `masks[s]` (raw pointers).
public func softMaskKernel(outputs o: [UnsafePointer<Float>], count: Int, epsilon: Float, masks: [UnsafeMutablePointer<Float>]) {
    precondition(o.count == 4 && masks.count == 4, "softMaskKernel: needs 4 outputs and 4 masks")
    let (o0, o1, o2, o3) = (o[0], o[1], o[2], o[3])
    let (m0, m1, m2, m3) = (masks[0], masks[1], masks[2], masks[3])
    for i in 0..<count {
        let (a0, a1, a2, a3) = (Swift.abs(o0[i]), Swift.abs(o1[i]), Swift.abs(o2[i]), Swift.abs(o3[i]))
        let inv = 1 / (a0 + a1 + a2 + a3 + epsilon)
        m0[i] = a0 * inv; m1[i] = a1 * inv; m2[i] = a2 * inv; m3[i] = a3 * inv
    }
}

/// The fused op on the tape: soft masks of the four `outputs`, estimates `masks ⊙ magnitudes`, and the
/// discriminative loss against `targets` times `scale` (a scalar, shape []). All eight tensors have the
/// same element count. Gradients flow to `outputs` only (magnitudes and targets are data).
/// Equal to `softMasks` + products + `discriminativeLoss` composed from the elementwise ops (tested).
public func softMaskDiscriminativeLoss(outputs: [Tensor], magnitudes: Tensor, targets: [Tensor],
                                       epsilon: Float, alpha: Float, beta: Float, gamma: Float, scale: Float) -> Tensor {
    precondition(outputs.count == 4 && targets.count == 4, "softMaskDiscriminativeLoss: expected 4 outputs and 4 targets, got \(outputs.count) and \(targets.count)")
    let n = magnitudes.count
    precondition((outputs + targets).allSatisfy { $0.count == n },
                 "softMaskDiscriminativeLoss: outputs \(outputs.map(\.shape)) and targets \(targets.map(\.shape)) must each have the \(n) elements of magnitudes \(magnitudes.shape)")
    let recording = GradMode.isEnabled && outputs.contains { $0.requiresGrad }
    // While recording, the forward pass also leaves ∂L/∂o_s (for an upstream gradient of 1) in `local`;
    // the backward rule scales it by the upstream gradient.
    var local: [[Float]] = recording ? outputs.map { o in makeGrad(o.count) } : []
    let loss = withPointers(outputs.map(\.data)) { op in
        withPointers(targets.map(\.data)) { yp in
            magnitudes.data.withUnsafeBufferPointer { xp in
                withMutablePointers(&local) { gp in
                    softMaskLossKernel(outputs: op, magnitudes: xp.baseAddress!, targets: yp, count: n,
                                       epsilon: epsilon, alpha: alpha, beta: beta, gamma: gamma, scale: scale,
                                       gradients: recording ? gp : nil)
                }
            }
        }
    }
    return Tensor.result([Float(loss)], shape: [], inputs: outputs) { out in
        let g = out.grad![0]
        for (s, o) in outputs.enumerated() where o.requiresGrad {
            local[s].withUnsafeBufferPointer { l in
                o.withGrad { d in for i in 0..<l.count { d[i] += g * l[i] } }
            }
        }
    }
}

/// Runs `body` with base pointers of several arrays (none empty).
func withPointers<R>(_ arrays: [[Float]], _ body: ([UnsafePointer<Float>]) -> R) -> R {
    func go(_ i: Int, _ acc: [UnsafePointer<Float>]) -> R {
        if i == arrays.count { return body(acc) }
        return arrays[i].withUnsafeBufferPointer { go(i + 1, acc + [$0.baseAddress!]) }
    }
    return go(0, [])
}

func withMutablePointers<R>(_ arrays: inout [[Float]], _ body: ([UnsafeMutablePointer<Float>]) -> R) -> R {
    if arrays.isEmpty { return body([]) }
    return arrays.withUnsafeMutableBufferPointer { outer in
        func go(_ i: Int, _ acc: [UnsafeMutablePointer<Float>]) -> R {
            if i == outer.count { return body(acc) }
            return outer[i].withUnsafeMutableBufferPointer { go(i + 1, acc + [$0.baseAddress!]) }
        }
        return go(0, [])
    }
}
