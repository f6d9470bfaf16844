// Elementwise ops: same-shape tensor pairs, tensor with a Float constant, relu and abs.
// Each op: forward loop, then its backward rule right beside it (adding into the inputs' grads).

/// Stops with a message naming the op and both shapes unless they are equal.
@inline(__always)
func checkSameShape(_ op: String, _ a: Tensor, _ b: Tensor) {
    precondition(a.shape == b.shape, "\(op): shapes differ: \(a.shape) and \(b.shape) (elementwise ops need equal shapes)")
}

/// out[i] = f(a[i], b[i]) over two same-shape tensors.
@inline(__always)
func zipMap(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> [Float] {
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            makeStorage(pa.count) { o in for i in 0..<pa.count { o[i] = f(pa[i], pb[i]) } }
        }
    }
}

/// out[i] = f(a[i]).
@inline(__always)
func map(_ a: Tensor, _ f: (Float) -> Float) -> [Float] {
    a.data.withUnsafeBufferPointer { pa in
        makeStorage(pa.count) { o in for i in 0..<pa.count { o[i] = f(pa[i]) } }
    }
}

/// grad[i] += g[i] · f(i): the common shape of every elementwise backward rule.
@inline(__always)
func addGrad(_ t: Tensor, _ out: Tensor, _ f: (Int) -> Float) {
    guard t.requiresGrad else { return }
    out.grad!.withUnsafeBufferPointer { g in
        t.withGrad { d in for i in 0..<g.count { d[i] += g[i] * f(i) } }
    }
}

/// grad += g (the local derivative is 1).
@inline(__always)
func addGradUnit(_ t: Tensor, _ out: Tensor) {
    guard t.requiresGrad else { return }
    t.accumulateGrad(out.grad!)
}

public func + (a: Tensor, b: Tensor) -> Tensor {
    checkSameShape("+", a, b)
    return Tensor.result(zipMap(a, b, +), shape: a.shape, inputs: [a, b]) { out in
        addGradUnit(a, out)                                   // d(a+b)/da = 1
        addGradUnit(b, out)                                   // d(a+b)/db = 1
    }
}

public func - (a: Tensor, b: Tensor) -> Tensor {
    checkSameShape("-", a, b)
    return Tensor.result(zipMap(a, b, -), shape: a.shape, inputs: [a, b]) { out in
        addGradUnit(a, out)                                   // d(a-b)/da = 1
        addGrad(b, out) { _ in -1 }                           // d(a-b)/db = -1
    }
}

public func * (a: Tensor, b: Tensor) -> Tensor {
    checkSameShape("*", a, b)
    return Tensor.result(zipMap(a, b, *), shape: a.shape, inputs: [a, b]) { out in
        b.data.withUnsafeBufferPointer { pb in addGrad(a, out) { pb[$0] } }   // d(ab)/da = b
        a.data.withUnsafeBufferPointer { pa in addGrad(b, out) { pa[$0] } }   // d(ab)/db = a
    }
}

public func / (a: Tensor, b: Tensor) -> Tensor {
    checkSameShape("/", a, b)
    return Tensor.result(zipMap(a, b, /), shape: a.shape, inputs: [a, b]) { out in
        b.data.withUnsafeBufferPointer { pb in
            addGrad(a, out) { 1 / pb[$0] }                    // d(a/b)/da = 1/b
            out.data.withUnsafeBufferPointer { po in
                addGrad(b, out) { -po[$0] / pb[$0] }          // d(a/b)/db = -a/b² = -(a/b)/b
            }
        }
    }
}

public func + (a: Tensor, c: Float) -> Tensor {
    Tensor.result(map(a) { $0 + c }, shape: a.shape, inputs: [a]) { out in
        addGradUnit(a, out)                                   // d(a+c)/da = 1
    }
}

public func + (c: Float, a: Tensor) -> Tensor { a + c }

public func - (a: Tensor, c: Float) -> Tensor { a + (-c) }

public func * (a: Tensor, c: Float) -> Tensor {
    Tensor.result(map(a) { $0 * c }, shape: a.shape, inputs: [a]) { out in
        addGrad(a, out) { _ in c }                            // d(ca)/da = c
    }
}

public func * (c: Float, a: Tensor) -> Tensor { a * c }

public prefix func - (a: Tensor) -> Tensor { a * -1 }

/// ReLU on raw buffers, shared by the tape op and preallocated engines.
public enum ReLUKernel {
    /// y = max(x, 0) (y may be x).
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] = max(x[i], 0) }
    }

    /// dX = dY where the output y > 0, else 0 (added with `accumulate`); dX may be dY.
    public static func backward(dY: UnsafePointer<Float>, y: UnsafePointer<Float>, dX: UnsafeMutablePointer<Float>,
                                count: Int, accumulate: Bool) {
        if accumulate {
            for i in 0..<count where y[i] > 0 { dX[i] += dY[i] }
        } else {
            for i in 0..<count { dX[i] = y[i] > 0 ? dY[i] : 0 }
        }
    }
}

/// max(x, 0); the derivative is 1 where x > 0, else 0.
public func relu(_ x: Tensor) -> Tensor {
    let y = x.data.withUnsafeBufferPointer { px in
        makeStorage(px.count) { ReLUKernel.forward(px.baseAddress!, $0, count: px.count) }
    }
    return Tensor.result(y, shape: x.shape, inputs: [x]) { out in
        guard x.requiresGrad else { return }
        out.grad!.withUnsafeBufferPointer { g in
            out.data.withUnsafeBufferPointer { py in
                x.withGrad { dx in ReLUKernel.backward(dY: g.baseAddress!, y: py.baseAddress!, dX: dx, count: g.count, accumulate: true) }
            }
        }
    }
}

/// |x|; the derivative is sign(x), taken as 0 at 0.
public func abs(_ x: Tensor) -> Tensor {
    Tensor.result(map(x) { Swift.abs($0) }, shape: x.shape, inputs: [x]) { out in
        x.data.withUnsafeBufferPointer { px in
            addGrad(x, out) { px[$0] > 0 ? 1 : (px[$0] < 0 ? -1 : 0) }
        }
    }
}
