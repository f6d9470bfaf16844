// 2-D convolution and transposed convolution, NHWC, stride 1, valid padding, Keras kernel layouts.
//
// Both are one cblas_sgemm plus, where needed, a copy of contiguous runs:
//   conv2d:          patches (B·Ho·Wo, kh·kw·Cin) · kernel (kh·kw·Cin, Cout)      [im2col, then GEMM]
//   conv2dTranspose: x (B·H·W, Cin) · kernelᵀ (Cin, kh·kw·Cout) = columns         [GEMM, then col2im]
// A patch row (b, i, j) holds src[b, i+p, j+q, c] at column (p·kw + q)·C + c, i.e. kh runs of kw·C
// contiguous values. When kh == 1 and (kw == 1 or kw spans the whole width) a patch row is exactly one
// row of the tensor, so the tensor itself is the patch matrix and no copy is made (the model's
// vertical 1×513 layers).
//
// The arithmetic lives in `Conv2DKernel` and `Conv2DTransposeKernel` on raw buffers; the tape ops
// below and preallocated engines call the same kernels.

/// conv2d on raw buffers: x (B, H, W, Cin), kernel (kh, kw, Cin, Cout), bias (Cout) → y (B, Ho, Wo, Cout).
public struct Conv2DKernel: Equatable, Sendable {
    public let geometry: PatchGeometry
    public let filters: Int

    public init(batch: Int, height: Int, width: Int, channels: Int, kh: Int, kw: Int, filters: Int) {
        geometry = PatchGeometry(batch: batch, height: height, width: width, channels: channels, kh: kh, kw: kw)
        self.filters = filters
    }

    /// Floats of the patch matrix that `forward` writes and `backward` reads (0: x is its own).
    public var patchCount: Int { geometry.patchesAreRows ? 0 : geometry.rows * geometry.depth }
    /// Floats of scratch `backward` needs for ∂L/∂patches (0: it writes into dX directly).
    public var backwardScratchCount: Int { patchCount }

    /// y = patches(x) · kernel + bias; the patches go to `patches` (ignored when x is its own).
    public func forward(x: UnsafePointer<Float>, kernel: UnsafePointer<Float>, bias: UnsafeBufferPointer<Float>,
                        y: UnsafeMutablePointer<Float>, patches: UnsafeMutablePointer<Float>?) {
        let g = geometry
        let p = patchMatrix(x: x, patches: patches, fill: true)
        fillRows(y, rows: g.rows, with: bias)
        sgemm(false, false, m: g.rows, n: filters, k: g.depth, p, lda: g.depth, kernel, ldb: filters, beta: 1, y, ldc: filters)
    }

    /// Adds dK += patchesᵀ·dY and db += Σ dY (when given); writes dX (adds it with `accumulate`) when
    /// given. `patches` are the ones `forward` left; `scratch` holds `backwardScratchCount` floats.
    public func backward(dY: UnsafePointer<Float>, x: UnsafePointer<Float>, patches: UnsafeMutablePointer<Float>?,
                         kernel: UnsafePointer<Float>, dKernel: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
                         dX: UnsafeMutablePointer<Float>?, accumulate: Bool, scratch: UnsafeMutablePointer<Float>?) {
        let g = geometry
        if let dKernel {                                   // (depth, Cout)
            let p = patchMatrix(x: x, patches: patches, fill: false)
            sgemm(true, false, m: g.depth, n: filters, k: g.rows, p, lda: g.depth, dY, ldb: filters, beta: 1, dKernel, ldc: filters)
        }
        if let dBias { addRows(dY, rows: g.rows, cols: filters, into: dBias) }
        guard let dX else { return }
        if g.patchesAreRows {                              // ∂L/∂patches is ∂L/∂x itself
            sgemm(false, true, m: g.rows, n: g.depth, k: filters, dY, lda: filters, kernel, ldb: filters,
                  beta: accumulate ? 1 : 0, dX, ldc: g.depth)
        } else {
            let dPatches = scratch!
            sgemm(false, true, m: g.rows, n: g.depth, k: filters, dY, lda: filters, kernel, ldb: filters, beta: 0, dPatches, ldc: g.depth)
            if !accumulate { dX.update(repeating: 0, count: g.inputCount) }
            g.col2imAdd(dPatches, into: dX)
        }
    }

    private func patchMatrix(x: UnsafePointer<Float>, patches: UnsafeMutablePointer<Float>?, fill: Bool) -> UnsafePointer<Float> {
        if geometry.patchesAreRows { return x }
        if fill { geometry.im2col(x, into: patches!) }
        return UnsafePointer(patches!)
    }
}

/// conv2dTranspose on raw buffers: x (B, H, W, Cin), kernel (kh, kw, Cout, Cin), bias (Cout)
/// → y (B, H+kh−1, W+kw−1, Cout), the adjoint of conv2d with the same kernel.
public struct Conv2DTransposeKernel: Equatable, Sendable {
    /// The output seen as the input of the matching conv2d: its patch grid is the input's H × W.
    public let geometry: PatchGeometry
    public let inChannels: Int

    public init(batch: Int, height: Int, width: Int, channels: Int, kh: Int, kw: Int, filters: Int) {
        geometry = PatchGeometry(batch: batch, height: height + kh - 1, width: width + kw - 1, channels: filters, kh: kh, kw: kw)
        inChannels = channels
    }

    /// Floats of scratch for the columns (forward) or ∂L/∂columns (backward); 0 when they land on
    /// whole output rows.
    public var scratchCount: Int { geometry.patchesAreRows ? 0 : geometry.rows * geometry.depth }

    /// y = bias, then col2im(x · kernelᵀ).
    public func forward(x: UnsafePointer<Float>, kernel: UnsafePointer<Float>, bias: UnsafeBufferPointer<Float>,
                        y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>?) {
        let g = geometry
        fillRows(y, rows: g.inputCount / g.channels, with: bias)
        if g.patchesAreRows {                              // columns land on whole output rows: add in place
            sgemm(false, true, m: g.rows, n: g.depth, k: inChannels, x, lda: inChannels, kernel, ldb: inChannels, beta: 1, y, ldc: g.depth)
        } else {
            let columns = scratch!
            sgemm(false, true, m: g.rows, n: g.depth, k: inChannels, x, lda: inChannels, kernel, ldb: inChannels, beta: 0, columns, ldc: g.depth)
            g.col2imAdd(columns, into: y)
        }
    }

    /// Adds dK += dColumnsᵀ·x and db += Σ dY (when given), writes dX = dColumns·K (adds it with
    /// `accumulate`) when given, where dColumns = im2col(dY) (in `scratch` unless dY is its own).
    public func backward(dY: UnsafePointer<Float>, x: UnsafePointer<Float>, kernel: UnsafePointer<Float>,
                         dKernel: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
                         dX: UnsafeMutablePointer<Float>?, accumulate: Bool, scratch: UnsafeMutablePointer<Float>?) {
        let g = geometry
        if let dBias { addRows(dY, rows: g.inputCount / g.channels, cols: g.channels, into: dBias) }
        guard dKernel != nil || dX != nil else { return }
        let dColumns: UnsafePointer<Float>
        if g.patchesAreRows { dColumns = dY } else { g.im2col(dY, into: scratch!); dColumns = UnsafePointer(scratch!) }
        if let dKernel {                                   // (depth, Cin)
            sgemm(true, false, m: g.depth, n: inChannels, k: g.rows, dColumns, lda: g.depth, x, ldb: inChannels, beta: 1, dKernel, ldc: inChannels)
        }
        if let dX {                                        // (rows, Cin)
            sgemm(false, false, m: g.rows, n: inChannels, k: g.depth, dColumns, lda: g.depth, kernel, ldb: inChannels,
                  beta: accumulate ? 1 : 0, dX, ldc: inChannels)
        }
    }
}

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
    let op = Conv2DKernel(batch: batch, height: h, width: w, channels: cIn, kh: kh, kw: kw, filters: cOut)
    let g = op.geometry

    var patches = [Float](repeating: 0, count: op.patchCount)      // kept for backward
    let y = makeStorage(g.rows * cOut) { yp in
        x.data.withUnsafeBufferPointer { xp in
            kernel.data.withUnsafeBufferPointer { kp in
                bias.data.withUnsafeBufferPointer { bp in
                    patches.withUnsafeMutableBufferPointer { pp in
                        op.forward(x: xp.baseAddress!, kernel: kp.baseAddress!, bias: bp, y: yp, patches: pp.baseAddress)
                    }
                }
            }
        }
    }

    return Tensor.result(y, shape: [batch, g.outHeight, g.outWidth, cOut], inputs: [x, kernel, bias]) { out in
        var scratch = [Float](repeating: 0, count: x.requiresGrad ? op.backwardScratchCount : 0)
        out.grad!.withUnsafeBufferPointer { gp in
            x.data.withUnsafeBufferPointer { xp in
                kernel.data.withUnsafeBufferPointer { kp in
                    patches.withUnsafeMutableBufferPointer { pp in
                        scratch.withUnsafeMutableBufferPointer { sp in
                            withGradients(kernel, bias, x) { dk, db, dx in
                                op.backward(dY: gp.baseAddress!, x: xp.baseAddress!, patches: pp.baseAddress, kernel: kp.baseAddress!,
                                            dKernel: dk, dBias: db, dX: dx, accumulate: true, scratch: sp.baseAddress)
                            }
                        }
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
    let op = Conv2DTransposeKernel(batch: batch, height: h, width: w, channels: cIn, kh: kh, kw: kw, filters: cOut)
    let g = op.geometry

    let y = makeStorage(g.inputCount) { yp in
        var scratch = [Float](repeating: 0, count: op.scratchCount)
        x.data.withUnsafeBufferPointer { xp in
            kernel.data.withUnsafeBufferPointer { kp in
                bias.data.withUnsafeBufferPointer { bp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        op.forward(x: xp.baseAddress!, kernel: kp.baseAddress!, bias: bp, y: yp, scratch: sp.baseAddress)
                    }
                }
            }
        }
    }

    return Tensor.result(y, shape: [batch, g.height, g.width, cOut], inputs: [x, kernel, bias]) { out in
        var scratch = [Float](repeating: 0, count: op.scratchCount)
        out.grad!.withUnsafeBufferPointer { gp in
            x.data.withUnsafeBufferPointer { xp in
                kernel.data.withUnsafeBufferPointer { kp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        withGradients(kernel, bias, x) { dk, db, dx in
                            op.backward(dY: gp.baseAddress!, x: xp.baseAddress!, kernel: kp.baseAddress!,
                                        dKernel: dk, dBias: db, dX: dx, accumulate: true, scratch: sp.baseAddress)
                        }
                    }
                }
            }
        }
    }
}

/// The patches of a kh×kw window sliding (stride 1, valid) over a (batch, height, width, channels) tensor.
public struct PatchGeometry: Equatable, Sendable {
    public let batch, height, width, channels, kh, kw: Int
    public var outHeight: Int { height - kh + 1 }
    public var outWidth: Int { width - kw + 1 }
    /// Elements of the tensor the patches are cut from.
    public var inputCount: Int { batch * height * width * channels }
    /// Rows of the patch matrix: one per window position.
    public var rows: Int { batch * outHeight * outWidth }
    /// Columns of the patch matrix: kh runs of kw·channels values.
    public var depth: Int { kh * kw * channels }
    /// True when each patch is one whole row of the tensor (so the tensor is its own patch matrix).
    public var patchesAreRows: Bool { kh == 1 && (kw == 1 || kw == width) }

    /// Writes the patch matrix (rows, depth) of `src` into `dst`. When the window spans the whole
    /// width, its kh runs are adjacent in memory and are copied as one.
    func im2col(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        let run = kw * channels
        let (runs, length) = kw == width ? (1, depth) : (kh, run)
        var row = dst
        for b in 0..<batch {
            for i in 0..<outHeight {
                for j in 0..<outWidth {
                    for p in 0..<runs {
                        (row + p * run).update(from: src + ((b * height + i + p) * width + j) * channels, count: length)
                    }
                    row += depth
                }
            }
        }
    }

    /// Adds each row of a patch matrix (rows, depth) back onto the window it came from (the adjoint of im2col).
    func col2imAdd(_ columns: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>) {
        let run = kw * channels
        let (runs, length) = kw == width ? (1, depth) : (kh, run)
        var row = columns
        for b in 0..<batch {
            for i in 0..<outHeight {
                for j in 0..<outWidth {
                    for p in 0..<runs {
                        addInPlace(dst + ((b * height + i + p) * width + j) * channels, row + p * run, count: length)
                    }
                    row += depth
                }
            }
        }
    }
}
