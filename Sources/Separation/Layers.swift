import Autodiff
import Support

/// A layer's trainable arrays, as Keras names them: `kernel` and `bias`.
public protocol Layer: AnyObject {
    var name: String { get }
    var kernel: Tensor { get }
    var bias: Tensor { get }
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

/// Conv2D, stride 1, valid padding, NHWC, kernel in Keras layout (kh, kw, in, out), no activation.
public final class Conv2D: Layer {
    public let name: String
    public let kernel: Tensor
    public let bias: Tensor

    public init(_ name: String, kernelSize: (Int, Int), inChannels: Int, filters: Int, rng: inout SeededGenerator) {
        let (kh, kw) = kernelSize
        self.name = name
        kernel = glorotUniform([kh, kw, inChannels, filters], fanIn: kh * kw * inChannels, fanOut: kh * kw * filters, rng: &rng)
        bias = Tensor.zeros([filters], requiresGrad: true)
    }

    /// (B, H, W, in) → (B, H−kh+1, W−kw+1, filters)
    public func callAsFunction(_ x: Tensor) -> Tensor { conv2d(x, kernel: kernel, bias: bias) }
}

/// Conv2DTranspose, stride 1, valid padding, NHWC, kernel in Keras layout (kh, kw, out, in), no activation.
public final class Conv2DTranspose: Layer {
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

    /// (B, H, W, in) → (B, H+kh−1, W+kw−1, filters)
    public func callAsFunction(_ x: Tensor) -> Tensor { conv2dTranspose(x, kernel: kernel, bias: bias) }
}

/// Dense with ReLU, kernel (in, out).
public final class Dense: Layer {
    public let name: String
    public let kernel: Tensor
    public let bias: Tensor

    public init(_ name: String, inputs: Int, units: Int, rng: inout SeededGenerator) {
        self.name = name
        kernel = glorotUniform([inputs, units], fanIn: inputs, fanOut: units, rng: &rng)
        bias = Tensor.zeros([units], requiresGrad: true)
    }

    /// (B, in) → (B, units), ReLU
    public func callAsFunction(_ x: Tensor) -> Tensor { relu(dense(x, weight: kernel, bias: bias)) }
}
