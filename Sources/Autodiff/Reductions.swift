// Reductions to a scalar (shape []). Sums accumulate in Double so that long sums stay accurate.

/// Σ x[i], shape [].
public func sum(_ x: Tensor) -> Tensor {
    let total: Double = x.data.withUnsafeBufferPointer { p in
        var s = 0.0
        for v in p { s += Double(v) }
        return s
    }
    return Tensor.result([Float(total)], shape: [], inputs: [x]) { out in
        guard x.requiresGrad else { return }
        let g = out.grad![0]
        x.withGrad { d in for i in 0..<x.count { d[i] += g } }      // dΣx/dx = 1
    }
}

/// Σ x[i]², shape [].
public func sumOfSquares(_ x: Tensor) -> Tensor {
    let total: Double = x.data.withUnsafeBufferPointer { p in
        var s = 0.0
        for v in p { s += Double(v) * Double(v) }
        return s
    }
    return Tensor.result([Float(total)], shape: [], inputs: [x]) { out in
        guard x.requiresGrad else { return }
        let g = out.grad![0]
        x.data.withUnsafeBufferPointer { px in
            x.withGrad { d in for i in 0..<px.count { d[i] += 2 * g * px[i] } }   // d(Σx²)/dx = 2x
        }
    }
}
