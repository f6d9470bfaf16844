// Fully connected layer, Keras layout: weight (in, out). The arithmetic lives in `DenseKernel` on raw
// buffers, so that the tape op below and a preallocated engine run the very same GEMMs.

/// y (rows, out) = x (rows, in) · weight (in, out) + bias (out), on raw buffers.
public struct DenseKernel: Equatable, Sendable {
    public let rows, inputs, outputs: Int

    public init(rows: Int, inputs: Int, outputs: Int) {
        (self.rows, self.inputs, self.outputs) = (rows, inputs, outputs)
    }

    /// Every row of y starts as the bias, then y += x·W (beta = 1).
    public func forward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafeBufferPointer<Float>,
                        y: UnsafeMutablePointer<Float>) {
        fillRows(y, rows: rows, with: bias)
        sgemm(false, false, m: rows, n: outputs, k: inputs, x, lda: inputs, weight, ldb: outputs, beta: 1, y, ldc: outputs)
    }

    /// Adds dW += xᵀ·dY and db += Σ_rows dY (each when given), and writes dX = dY·Wᵀ (adds it with
    /// `accumulate`) when given.
    public func backward(dY: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                         dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?,
                         dX: UnsafeMutablePointer<Float>?, accumulate: Bool) {
        if let dWeight {                                   // (in, out)
            sgemm(true, false, m: inputs, n: outputs, k: rows, x, lda: inputs, dY, ldb: outputs, beta: 1, dWeight, ldc: outputs)
        }
        if let dBias { addRows(dY, rows: rows, cols: outputs, into: dBias) }
        if let dX {                                        // (rows, in)
            sgemm(false, true, m: rows, n: inputs, k: outputs, dY, lda: outputs, weight, ldb: outputs,
                  beta: accumulate ? 1 : 0, dX, ldc: inputs)
        }
    }
}

/// x (B, in) · weight (in, out) + bias (out) -> (B, out), on the tape. No activation.
public func dense(_ x: Tensor, weight: Tensor, bias: Tensor) -> Tensor {
    precondition(x.shape.count == 2 && weight.shape.count == 2 && x.shape[1] == weight.shape[0],
                 "dense: x \(x.shape) must be (B, in) and weight \(weight.shape) must be (in, out) with the same in")
    let kernel = DenseKernel(rows: x.shape[0], inputs: x.shape[1], outputs: weight.shape[1])
    precondition(bias.shape == [kernel.outputs], "dense: bias \(bias.shape) must be [\(kernel.outputs)] for weight \(weight.shape)")

    let y = makeStorage(kernel.rows * kernel.outputs) { yp in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                bias.data.withUnsafeBufferPointer { bp in kernel.forward(x: xp.baseAddress!, weight: wp.baseAddress!, bias: bp, y: yp) }
            }
        }
    }

    return Tensor.result(y, shape: [kernel.rows, kernel.outputs], inputs: [x, weight, bias]) { out in
        out.grad!.withUnsafeBufferPointer { g in
            x.data.withUnsafeBufferPointer { xp in
                weight.data.withUnsafeBufferPointer { wp in
                    withGradients(weight, bias, x) { dw, db, dx in
                        kernel.backward(dY: g.baseAddress!, x: xp.baseAddress!, weight: wp.baseAddress!,
                                        dWeight: dw, dBias: db, dX: dx, accumulate: true)
                    }
                }
            }
        }
    }
}

/// Runs `body` with the gradient storage of each tensor that requires one (nil for the others).
func withGradients(_ a: Tensor, _ b: Tensor, _ c: Tensor,
                   _ body: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void) {
    func with(_ t: Tensor, _ inner: (UnsafeMutablePointer<Float>?) -> Void) {
        if t.requiresGrad && t.count > 0 { t.withGrad { inner($0) } } else { inner(nil) }
    }
    with(a) { pa in with(b) { pb in with(c) { pc in body(pa, pb, pc) } } }
}
