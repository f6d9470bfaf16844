import CBLAS

// Fully connected layer on cblas_sgemm, Keras layout: weight (in, out).

/// x (B, in) · weight (in, out) + bias (out) -> (B, out).
public func dense(_ x: Tensor, weight: Tensor, bias: Tensor) -> Tensor {
    precondition(x.shape.count == 2 && weight.shape.count == 2 && x.shape[1] == weight.shape[0],
                 "dense: x \(x.shape) must be (B, in) and weight \(weight.shape) must be (in, out) with the same in")
    let (batch, nIn, nOut) = (x.shape[0], x.shape[1], weight.shape[1])
    precondition(bias.shape == [nOut], "dense: bias \(bias.shape) must be [\(nOut)] for weight \(weight.shape)")

    // Forward: every row starts as the bias, then Y += X·W (beta = 1).
    let y = makeStorage(batch * nOut) { yp in
        fillRows(yp, rows: batch, with: bias)
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                sgemm(false, false, m: batch, n: nOut, k: nIn, xp.baseAddress!, lda: nIn, wp.baseAddress!, ldb: nOut,
                      beta: 1, yp, ldc: nOut)
            }
        }
    }

    return Tensor.result(y, shape: [batch, nOut], inputs: [x, weight, bias]) { out in
        out.grad!.withUnsafeBufferPointer { g in
            let gp = g.baseAddress!
            if weight.requiresGrad {                           // dW += Xᵀ·dY   (in, out)
                x.data.withUnsafeBufferPointer { xp in
                    weight.withGrad { dw in
                        sgemm(true, false, m: nIn, n: nOut, k: batch, xp.baseAddress!, lda: nIn, gp, ldb: nOut,
                              beta: 1, dw, ldc: nOut)
                    }
                }
            }
            if bias.requiresGrad {                             // db += Σ_rows dY
                bias.withGrad { db in addRows(gp, rows: batch, cols: nOut, into: db) }
            }
            if x.requiresGrad {                                // dX += dY·Wᵀ   (B, in)
                weight.data.withUnsafeBufferPointer { wp in
                    x.withGrad { dx in
                        sgemm(false, true, m: batch, n: nIn, k: nOut, gp, lda: nOut, wp.baseAddress!, ldb: nOut,
                              beta: 1, dx, ldc: nIn)
                    }
                }
            }
        }
    }
}

/// Copies `row` (a vector of n values) into each of `rows` consecutive rows of dst (rows × n).
func fillRows(_ dst: UnsafeMutablePointer<Float>, rows: Int, with row: Tensor) {
    row.data.withUnsafeBufferPointer { b in
        guard let bp = b.baseAddress else { return }
        if b.count == 1 { dst.update(repeating: bp[0], count: rows); return }   // one channel: a plain fill
        for r in 0..<rows { (dst + r * b.count).update(from: bp, count: b.count) }
    }
}

/// into[c] += Σ_r src[r·cols + c]: column sums of a rows × cols matrix, added (bias gradients).
/// Public so that fused paths outside the tape (the model's preallocated step) share it.
public func addRows(_ src: UnsafePointer<Float>, rows: Int, cols: Int, into: UnsafeMutablePointer<Float>) {
    if cols == 1 {                          // one column (a one-channel bias): eight partial sums, so the loop vectorizes
        var partial = SIMD8<Float>()
        let whole = rows / 8 * 8
        for r in stride(from: 0, to: whole, by: 8) {
            partial += UnsafeRawPointer(src + r).loadUnaligned(as: SIMD8<Float>.self)
        }
        var total = partial.sum()
        for r in whole..<rows { total += src[r] }
        into[0] += total
        return
    }
    for r in 0..<rows {
        let s = src + r * cols
        for c in 0..<cols { into[c] += s[c] }
    }
}
