import Autodiff
import Support

/// One step of a network, usable two ways with the same arithmetic: on the tape (`callAsFunction`,
/// the legible reference that records gradients) and on preallocated buffers (`forward`/`backward`,
/// what `NetworkEngine` runs to train and separate). Both call the same Autodiff kernels.
///
/// Shapes here are per window (without the batch): a layer maps an input of `shape` to
/// `outputShape(shape)`. Buffers are NHWC / row-major, window after window.
public protocol Layer: AnyObject {
    /// The Keras layer name ("" for steps without weights, such as ReLU and reshapes).
    var name: String { get }
    /// Trainable tensors in Keras order: kernel, then bias (none for ReLU and reshapes).
    var parameters: [Tensor] { get }
    /// The output's per-window shape for an input of per-window `shape`.
    func outputShape(_ shape: [Int]) -> [Int]
    /// On the tape: (B, input…) → (B, output…).
    func callAsFunction(_ x: Tensor) -> Tensor
    /// Floats the buffer kernels need for `batch` windows of `shape`: `kept` from forward to
    /// backward, `scratch` within one call.
    func workspace(_ shape: [Int], batch: Int) -> (kept: Int, scratch: Int)
    /// io.y = layer(io.x) for `batch` windows.
    func forward(_ io: LayerBuffers, batch: Int)
    /// Adds the parameters' gradients into io.parameterGradients from io.dY, and writes io.dX
    /// (adds it with `accumulate`) when it is given.
    func backward(_ io: LayerBuffers, batch: Int, accumulate: Bool)
    /// True for views (reshapes): output and input share memory, and so do their gradients.
    var isView: Bool { get }
    /// True when `backward` reads io.y (so io.dY must not overwrite it).
    var backwardReadsOutput: Bool { get }
}

extension Layer {
    public var isView: Bool { false }
    public var backwardReadsOutput: Bool { false }
    public func workspace(_ shape: [Int], batch: Int) -> (kept: Int, scratch: Int) { (0, 0) }
}

/// A layer with a Keras kernel and bias (what checkpoints store).
public protocol WeightedLayer: Layer {
    var kernel: Tensor { get }
    var bias: Tensor { get }
}

extension WeightedLayer {
    public var parameters: [Tensor] { [kernel, bias] }
}

/// Where one layer reads and writes in a preallocated engine.
public struct LayerBuffers {
    /// The per-window input shape.
    public let shape: [Int]
    public let x, y: UnsafeMutablePointer<Float>
    /// ∂L/∂y (read by backward) and ∂L/∂x (written; nil when the input needs no gradient).
    public let dY: UnsafeMutablePointer<Float>
    public let dX: UnsafeMutablePointer<Float>?
    public let kept, scratch: UnsafeMutablePointer<Float>?
    /// Where backward adds ∂L/∂kernel, followed at once by ∂L/∂bias: the layer's slice of the engine's
    /// flat gradient (nil for layers without weights).
    public let parameterGradients: UnsafeMutablePointer<Float>?
}

/// Glorot-uniform (Keras' default): U(−l, l) with l = √(6 / (fan_in + fan_out)), where the fans of a
/// convolution kernel multiply the receptive field (kh·kw) into its in and out channels.
func glorotUniform(_ shape: [Int], fanIn: Int, fanOut: Int, rng: inout SeededGenerator) -> Tensor {
    let limit = (6 / Float(fanIn + fanOut)).squareRoot()
    let count = shape.reduce(1, *)
    var values = [Float](repeating: 0, count: count)
    for i in 0..<count { values[i] = (rng.nextFloat() * 2 - 1) * limit }
    return Tensor(values, shape: shape, requiresGrad: true)
}

/// Runs `body` with a weighted layer's kernel and bias values.
private func withWeights<R>(_ l: some WeightedLayer, _ body: (UnsafePointer<Float>, UnsafeBufferPointer<Float>) -> R) -> R {
    l.kernel.data.withUnsafeBufferPointer { k in l.bias.data.withUnsafeBufferPointer { b in body(k.baseAddress!, b) } }
}

/// Runs `body` with a weighted layer's kernel values and where its kernel's and bias's gradients go.
private func withGradients(_ l: some WeightedLayer, _ io: LayerBuffers,
                           _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
    guard let dk = io.parameterGradients else { preconditionFailure("\(l.name): backward without gradient storage") }
    l.kernel.data.withUnsafeBufferPointer { k in body(k.baseAddress!, dk, dk + l.kernel.count) }
}

/// Conv2D, stride 1, valid padding, NHWC, kernel in Keras layout (kh, kw, in, out), no activation.
public final class Conv2D: WeightedLayer {
    public let name: String
    public let kernel: Tensor
    public let bias: Tensor

    public init(_ name: String, kernelSize: (Int, Int), inChannels: Int, filters: Int, rng: inout SeededGenerator) {
        let (kh, kw) = kernelSize
        self.name = name
        kernel = glorotUniform([kh, kw, inChannels, filters], fanIn: kh * kw * inChannels, fanOut: kh * kw * filters, rng: &rng)
        bias = Tensor.zeros([filters], requiresGrad: true)
    }

    /// (H, W, in) → (H−kh+1, W−kw+1, filters)
    public func outputShape(_ s: [Int]) -> [Int] { [s[0] - kernel.shape[0] + 1, s[1] - kernel.shape[1] + 1, kernel.shape[3]] }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv2d(x, kernel: kernel, bias: bias) }

    func op(_ s: [Int], batch: Int) -> Conv2DKernel {
        Conv2DKernel(batch: batch, height: s[0], width: s[1], channels: s[2], kh: kernel.shape[0], kw: kernel.shape[1], filters: kernel.shape[3])
    }

    public func workspace(_ s: [Int], batch: Int) -> (kept: Int, scratch: Int) {
        let k = op(s, batch: batch)
        return (k.patchCount, k.backwardScratchCount)
    }

    public func forward(_ io: LayerBuffers, batch: Int) {
        withWeights(self) { k, b in op(io.shape, batch: batch).forward(x: io.x, kernel: k, bias: b, y: io.y, patches: io.kept) }
    }

    public func backward(_ io: LayerBuffers, batch: Int, accumulate: Bool) {
        withGradients(self, io) { k, dk, db in
            op(io.shape, batch: batch).backward(dY: io.dY, x: io.x, patches: io.kept, kernel: k, dKernel: dk, dBias: db,
                                                dX: io.dX, accumulate: accumulate, scratch: io.scratch)
        }
    }
}

/// Conv2DTranspose, stride 1, valid padding, NHWC, kernel in Keras layout (kh, kw, out, in), no activation.
public final class Conv2DTranspose: WeightedLayer {
    public let name: String
    public let kernel: Tensor
    public let bias: Tensor

    public init(_ name: String, kernelSize: (Int, Int), inChannels: Int, filters: Int, rng: inout SeededGenerator) {
        let (kh, kw) = kernelSize
        self.name = name
        // Keras computes the fans of a transposed kernel from its stored shape (kh, kw, out, in).
        kernel = glorotUniform([kh, kw, filters, inChannels], fanIn: kh * kw * filters, fanOut: kh * kw * inChannels, rng: &rng)
        bias = Tensor.zeros([filters], requiresGrad: true)
    }

    /// (H, W, in) → (H+kh−1, W+kw−1, filters)
    public func outputShape(_ s: [Int]) -> [Int] { [s[0] + kernel.shape[0] - 1, s[1] + kernel.shape[1] - 1, kernel.shape[2]] }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv2dTranspose(x, kernel: kernel, bias: bias) }

    func op(_ s: [Int], batch: Int) -> Conv2DTransposeKernel {
        Conv2DTransposeKernel(batch: batch, height: s[0], width: s[1], channels: s[2], kh: kernel.shape[0], kw: kernel.shape[1], filters: kernel.shape[2])
    }

    public func workspace(_ s: [Int], batch: Int) -> (kept: Int, scratch: Int) { (0, op(s, batch: batch).scratchCount) }

    public func forward(_ io: LayerBuffers, batch: Int) {
        withWeights(self) { k, b in op(io.shape, batch: batch).forward(x: io.x, kernel: k, bias: b, y: io.y, scratch: io.scratch) }
    }

    public func backward(_ io: LayerBuffers, batch: Int, accumulate: Bool) {
        withGradients(self, io) { k, dk, db in
            op(io.shape, batch: batch).backward(dY: io.dY, x: io.x, kernel: k, dKernel: dk, dBias: db,
                                                dX: io.dX, accumulate: accumulate, scratch: io.scratch)
        }
    }
}

/// Dense (fully connected), kernel (in, out), no activation: follow it with `ReLU` for one.
public final class Dense: WeightedLayer {
    public let name: String
    public let kernel: Tensor
    public let bias: Tensor

    public init(_ name: String, inputs: Int, units: Int, rng: inout SeededGenerator) {
        self.name = name
        kernel = glorotUniform([inputs, units], fanIn: inputs, fanOut: units, rng: &rng)
        bias = Tensor.zeros([units], requiresGrad: true)
    }

    /// (in) → (units)
    public func outputShape(_ s: [Int]) -> [Int] { [kernel.shape[1]] }

    public func callAsFunction(_ x: Tensor) -> Tensor { dense(x, weight: kernel, bias: bias) }

    func op(batch: Int) -> DenseKernel { DenseKernel(rows: batch, inputs: kernel.shape[0], outputs: kernel.shape[1]) }

    public func forward(_ io: LayerBuffers, batch: Int) {
        withWeights(self) { k, b in op(batch: batch).forward(x: io.x, weight: k, bias: b, y: io.y) }
    }

    public func backward(_ io: LayerBuffers, batch: Int, accumulate: Bool) {
        withGradients(self, io) { k, dk, db in
            op(batch: batch).backward(dY: io.dY, x: io.x, weight: k, dWeight: dk, dBias: db, dX: io.dX, accumulate: accumulate)
        }
    }
}

/// max(x, 0), elementwise.
public final class ReLU: Layer {
    public let name = ""
    public let parameters: [Tensor] = []
    public init() {}
    public var backwardReadsOutput: Bool { true }
    public func outputShape(_ s: [Int]) -> [Int] { s }
    public func callAsFunction(_ x: Tensor) -> Tensor { relu(x) }
    public func forward(_ io: LayerBuffers, batch: Int) { ReLUKernel.forward(io.x, io.y, count: batch * io.shape.reduce(1, *)) }
    public func backward(_ io: LayerBuffers, batch: Int, accumulate: Bool) {
        guard let dX = io.dX else { return }
        ReLUKernel.backward(dY: io.dY, y: io.y, dX: dX, count: batch * io.shape.reduce(1, *), accumulate: accumulate)
    }
}

/// The same values seen with another per-window shape (flatten, or back to a grid): no copy.
public final class Reshape: Layer {
    public let name = ""
    public let parameters: [Tensor] = []
    public let shape: [Int]
    public init(_ shape: [Int]) { self.shape = shape }
    public var isView: Bool { true }
    public func outputShape(_ s: [Int]) -> [Int] {
        precondition(s.reduce(1, *) == shape.reduce(1, *), "Reshape: \(s) cannot become \(shape)")
        return shape
    }
    public func callAsFunction(_ x: Tensor) -> Tensor { x.reshaped([x.shape[0]] + shape) }
    public func forward(_ io: LayerBuffers, batch: Int) {}
    public func backward(_ io: LayerBuffers, batch: Int, accumulate: Bool) {}
}

/// A fixed affine map per frequency bin, y[…, k] = x[…, k]·kernel[k] + bias[k] over windows of
/// (T, F): with kernel = 1/σ_k and bias = −μ_k/σ_k, the training set's per-bin input normalisation
/// (config `model.input_normalization`; not in the paper). Its values are set from the training data
/// before training and stored in checkpoints like a layer's weights, but never trained: `parameters`
/// is empty, so the optimizer does not see them. Identity (kernel 1, bias 0) until set.
public final class InputNormalization: WeightedLayer {
    public let name = "input_normalization"
    public let kernel: Tensor
    public let bias: Tensor
    public var parameters: [Tensor] { [] }

    public init(bins: Int) {
        kernel = Tensor([Float](repeating: 1, count: bins), shape: [bins])
        bias = Tensor.zeros([bins])
    }

    /// Sets the map to (x − mean)/std per bin.
    public func set(mean: [Float], std: [Float]) {
        precondition(mean.count == kernel.count && std.count == kernel.count && std.allSatisfy { $0 > 0 },
                     "InputNormalization.set: \(kernel.count) means and positive deviations expected")
        kernel.data = std.map { 1 / $0 }
        bias.data = zip(mean, std).map { -$0 / $1 }
    }

    public func outputShape(_ s: [Int]) -> [Int] { s }

    /// y = x·kernel + bias per bin, over `rows` rows of F bins.
    static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int,
                        kernel: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>) {
        let f = kernel.count
        for r in 0..<rows {
            let (xr, yr) = (x + r * f, y + r * f)
            for k in 0..<f { yr[k] = xr[k] * kernel[k] + bias[k] }
        }
    }

    /// dX += dY·kernel per bin.
    static func backward(_ dY: UnsafePointer<Float>, _ dX: UnsafeMutablePointer<Float>, rows: Int, kernel: UnsafeBufferPointer<Float>) {
        let f = kernel.count
        for r in 0..<rows {
            let (g, d) = (dY + r * f, dX + r * f)
            for k in 0..<f { d[k] += g[k] * kernel[k] }
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let f = kernel.count, rows = x.count / f
        precondition(x.shape.last == f, "InputNormalization: input \(x.shape) does not end in \(f) bins")
        var y = [Float](repeating: 0, count: x.count)
        x.data.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
            kernel.data.withUnsafeBufferPointer { k in bias.data.withUnsafeBufferPointer { b in
                Self.forward(px.baseAddress!, py.baseAddress!, rows: rows, kernel: k, bias: b)
            } }
        } }
        return Tensor.result(y, shape: x.shape, inputs: [x]) { [kernel] out in
            guard x.requiresGrad else { return }
            out.grad!.withUnsafeBufferPointer { g in kernel.data.withUnsafeBufferPointer { k in
                x.withGrad { dx in Self.backward(g.baseAddress!, dx, rows: rows, kernel: k) }
            } }
        }
    }

    public func forward(_ io: LayerBuffers, batch: Int) {
        let rows = batch * io.shape.reduce(1, *) / kernel.count
        kernel.data.withUnsafeBufferPointer { k in bias.data.withUnsafeBufferPointer { b in
            Self.forward(io.x, io.y, rows: rows, kernel: k, bias: b)
        } }
    }

    public func backward(_ io: LayerBuffers, batch: Int, accumulate: Bool) {
        guard let dX = io.dX else { return }          // the network's input needs no gradient
        let rows = batch * io.shape.reduce(1, *) / kernel.count
        if !accumulate { dX.update(repeating: 0, count: rows * kernel.count) }
        kernel.data.withUnsafeBufferPointer { k in Self.backward(io.dY, dX, rows: rows, kernel: k) }
    }
}
