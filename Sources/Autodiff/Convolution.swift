import CBLAS

// 2-D convolution and transposed convolution, NHWC, stride 1, valid padding, Keras kernel layouts.
//
// Both are one cblas_sgemm plus, where needed, a copy of contiguous runs:
//   conv2d:          patches (B·Ho·Wo, kh·kw·Cin) · kernel (kh·kw·Cin, Cout)      [im2col, then GEMM]
//   conv2dTranspose: x (B·H·W, Cin) · kernelᵀ (Cin, kh·kw·Cout) = columns         [GEMM, then col2im]
// A patch row (b, i, j) holds src[b, i+p, j+q, c] at column (p·kw + q)·C + c, i.e. kh runs of kw·C
// contiguous values. When kh == 1 and (kw == 1 or kw spans the whole width) a patch row is exactly one
// row of the tensor, so the tensor itself is the patch matrix and no copy is made (the model's
// vertical 1×513 layers).

/// conv2d: x (B, H, W, Cin) NHWC, kernel (kh, kw, Cin, Cout) Keras layout, bias (Cout);
/// stride 1, valid -> (B, H-kh+1, W-kw+1, Cout).
/// out[b,i,j,o] = bias[o] + Σ_{p,q,c} x[b,i+p,j+q,c] · kernel[p,q,c,o].
public func conv2d(_ x: Tensor, kernel: Tensor, bias: Tensor) -> Tensor {
    precondition(x.shape.count == 4 && kernel.shape.count == 4,
                 "conv2d: x \(x.shape) must be (B, H, W, Cin) and kernel \(kernel.shape) must be (kh, kw, Cin, Cout)")
    let (batch, h, w, cIn) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (kh, kw, cOut) = (kernel.shape[0], kernel.shape[1], kernel.shape[3])
    precondition(kernel.shape[2] == cIn, "conv2d: kernel \(kernel.shape) expects \(kernel.shape[2]) input channels, x \(x.shape) has \(cIn)")
    precondition(kh >= 1 && kw >= 1 && kh <= h && kw <= w, "conv2d: kernel \(kernel.shape) does not fit inside x \(x.shape) (valid padding)")
    precondition(bias.shape == [cOut], "conv2d: bias \(bias.shape) must be [\(cOut)] for kernel \(kernel.shape)")
    let geometry = PatchGeometry(batch: batch, height: h, width: w, channels: cIn, kh: kh, kw: kw)
    let (rows, depth) = (geometry.rows, geometry.depth)        // GEMM: (rows, depth) · (depth, cOut)

    // The patch matrix: x itself when patches are rows of x, else an im2col copy kept for backward.
    let patches: [Float] = geometry.patchesAreRows ? x.data : geometry.im2col(x.data)
    let y = makeStorage(rows * cOut) { yp in
        fillRows(yp, rows: rows, with: bias)                    // out = bias, then += patches · kernel
        patches.withUnsafeBufferPointer { pp in
            kernel.data.withUnsafeBufferPointer { kp in
                sgemm(false, false, m: rows, n: cOut, k: depth, pp.baseAddress!, lda: depth, kp.baseAddress!, ldb: cOut,
                      beta: 1, yp, ldc: cOut)
            }
        }
    }

    return Tensor.result(y, shape: [batch, geometry.outHeight, geometry.outWidth, cOut], inputs: [x, kernel, bias]) { out in
        out.grad!.withUnsafeBufferPointer { g in
            let gp = g.baseAddress!                             // dOut (rows, cOut)
            if kernel.requiresGrad {                            // dK += patchesᵀ · dOut   (depth, cOut)
                patches.withUnsafeBufferPointer { pp in
                    kernel.withGrad { dk in
                        sgemm(true, false, m: depth, n: cOut, k: rows, pp.baseAddress!, lda: depth, gp, ldb: cOut,
                              beta: 1, dk, ldc: cOut)
                    }
                }
            }
            if bias.requiresGrad {                              // db += Σ_rows dOut
                bias.withGrad { db in addRows(gp, rows: rows, cols: cOut, into: db) }
            }
            if x.requiresGrad {                                 // dPatches = dOut · Kᵀ, scattered back onto dX
                kernel.data.withUnsafeBufferPointer { kp in
                    if geometry.patchesAreRows {
                        x.withGrad { dx in
                            sgemm(false, true, m: rows, n: depth, k: cOut, gp, lda: cOut, kp.baseAddress!, ldb: cOut,
                                  beta: 1, dx, ldc: depth)
                        }
                    } else {
                        let dPatches = makeStorage(rows * depth) { dp in
                            sgemm(false, true, m: rows, n: depth, k: cOut, gp, lda: cOut, kp.baseAddress!, ldb: cOut,
                                  beta: 0, dp, ldc: depth)
                        }
                        x.withGrad { dx in geometry.col2imAdd(dPatches, into: dx) }
                    }
                }
            }
        }
    }
}

/// conv2dTranspose: x (B, H, W, Cin) NHWC, kernel (kh, kw, Cout, Cin) Keras layout, bias (Cout);
/// stride 1, valid -> (B, H+kh-1, W+kw-1, Cout).
/// out[b,i+p,j+q,o] += Σ_c x[b,i,j,c] · kernel[p,q,o,c], plus bias[o]: the adjoint of conv2d with the same kernel.
public func conv2dTranspose(_ x: Tensor, kernel: Tensor, bias: Tensor) -> Tensor {
    precondition(x.shape.count == 4 && kernel.shape.count == 4,
                 "conv2dTranspose: x \(x.shape) must be (B, H, W, Cin) and kernel \(kernel.shape) must be (kh, kw, Cout, Cin)")
    let (batch, h, w, cIn) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (kh, kw, cOut) = (kernel.shape[0], kernel.shape[1], kernel.shape[2])
    precondition(kernel.shape[3] == cIn, "conv2dTranspose: kernel \(kernel.shape) expects \(kernel.shape[3]) input channels, x \(x.shape) has \(cIn)")
    precondition(kh >= 1 && kw >= 1, "conv2dTranspose: kernel \(kernel.shape) must be at least 1×1")
    precondition(bias.shape == [cOut], "conv2dTranspose: bias \(bias.shape) must be [\(cOut)] for kernel \(kernel.shape)")
    // The geometry of the output seen as the input of the matching conv2d: its patch grid is H × W.
    let geometry = PatchGeometry(batch: batch, height: h + kh - 1, width: w + kw - 1, channels: cOut, kh: kh, kw: kw)
    let (rows, depth) = (geometry.rows, geometry.depth)        // GEMM: (rows = B·H·W, Cin) · (Cin, depth)

    let y = makeStorage(batch * geometry.height * geometry.width * cOut) { yp in
        fillRows(yp, rows: batch * geometry.height * geometry.width, with: bias)
        x.data.withUnsafeBufferPointer { xp in
            kernel.data.withUnsafeBufferPointer { kp in
                if geometry.patchesAreRows {                    // columns land on whole output rows: add in place
                    sgemm(false, true, m: rows, n: depth, k: cIn, xp.baseAddress!, lda: cIn, kp.baseAddress!, ldb: cIn,
                          beta: 1, yp, ldc: depth)
                } else {
                    let columns = makeStorage(rows * depth) { cp in
                        sgemm(false, true, m: rows, n: depth, k: cIn, xp.baseAddress!, lda: cIn, kp.baseAddress!, ldb: cIn,
                              beta: 0, cp, ldc: depth)
                    }
                    geometry.col2imAdd(columns, into: yp)
                }
            }
        }
    }

    return Tensor.result(y, shape: [batch, geometry.height, geometry.width, cOut], inputs: [x, kernel, bias]) { out in
        // dColumns = im2col(dOut): (rows, depth); dOut itself when patches are rows.
        let dColumns: [Float] = geometry.patchesAreRows ? out.grad! : geometry.im2col(out.grad!)
        dColumns.withUnsafeBufferPointer { dc in
            let dcp = dc.baseAddress!
            if kernel.requiresGrad {                            // dKᵀ… as (depth, Cin): dK += dColumnsᵀ · X
                x.data.withUnsafeBufferPointer { xp in
                    kernel.withGrad { dk in
                        sgemm(true, false, m: depth, n: cIn, k: rows, dcp, lda: depth, xp.baseAddress!, ldb: cIn,
                              beta: 1, dk, ldc: cIn)
                    }
                }
            }
            if x.requiresGrad {                                 // dX += dColumns · K   (rows, Cin)
                kernel.data.withUnsafeBufferPointer { kp in
                    x.withGrad { dx in
                        sgemm(false, false, m: rows, n: cIn, k: depth, dcp, lda: depth, kp.baseAddress!, ldb: cIn,
                              beta: 1, dx, ldc: cIn)
                    }
                }
            }
        }
        if bias.requiresGrad {                                  // db += Σ over all output positions of dOut
            out.grad!.withUnsafeBufferPointer { g in
                bias.withGrad { db in addRows(g.baseAddress!, rows: g.count / cOut, cols: cOut, into: db) }
            }
        }
    }
}

/// The patches of a kh×kw window sliding (stride 1, valid) over a (batch, height, width, channels) tensor.
struct PatchGeometry {
    let batch, height, width, channels, kh, kw: Int
    var outHeight: Int { height - kh + 1 }
    var outWidth: Int { width - kw + 1 }
    /// Rows of the patch matrix: one per window position.
    var rows: Int { batch * outHeight * outWidth }
    /// Columns of the patch matrix: kh runs of kw·channels values.
    var depth: Int { kh * kw * channels }
    /// True when each patch is one whole row of the tensor (so the tensor is its own patch matrix).
    var patchesAreRows: Bool { kh == 1 && (kw == 1 || kw == width) }

    /// The patch matrix (rows, depth) of `src`, made by copying kh contiguous runs per window.
    func im2col(_ src: [Float]) -> [Float] {
        let run = kw * channels
        return src.withUnsafeBufferPointer { s in
            makeStorage(rows * depth) { dst in
                let sp = s.baseAddress!
                var row = dst
                for b in 0..<batch {
                    for i in 0..<outHeight {
                        for j in 0..<outWidth {
                            for p in 0..<kh {
                                (row + p * run).update(from: sp + ((b * height + i + p) * width + j) * channels, count: run)
                            }
                            row += depth
                        }
                    }
                }
            }
        }
    }

    /// Adds each row of a patch matrix (rows, depth) back onto the window it came from (the adjoint of im2col).
    func col2imAdd(_ columns: [Float], into dst: UnsafeMutablePointer<Float>) {
        let run = kw * channels
        columns.withUnsafeBufferPointer { c in
            var row = c.baseAddress!
            for b in 0..<batch {
                for i in 0..<outHeight {
                    for j in 0..<outWidth {
                        for p in 0..<kh {
                            let d = dst + ((b * height + i + p) * width + j) * channels
                            let s = row + p * run
                            for t in 0..<run { d[t] += s[t] }
                        }
                        row += depth
                    }
                }
            }
        }
    }
}
