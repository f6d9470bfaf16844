import Autodiff
import Support


/// The network of Chandna et al. (2017) as seed 003 builds it: a shared encoder (vertical conv,
/// horizontal conv, dense bottleneck) and one decoder per source (dense, horizontal deconv,
/// vertical deconv). Layer names are the Keras names METHOD.md lists, so checkpoints interoperate.
public final class ChandnaNetwork {
    public let shape: ModelShape
    public let verticalConvolution: Conv2D
    public let horizontalConvolution: Conv2D
    public let globalDense: Dense
    public let decoders: [Decoder]

    /// One source's decoder.
    public final class Decoder {
        public let singleDense: Dense
        public let horizontalDeconvolution: Conv2DTranspose
        public let verticalDeconvolution: Conv2DTranspose

        init(source: String, shape m: ModelShape, rng: inout SeededGenerator) {
            singleDense = Dense("single_dense_\(source)", inputs: m.dense, units: m.flat, rng: &rng)
            horizontalDeconvolution = Conv2DTranspose("horizontal_deconvolution_\(source)",
                kernelSize: (m.t2, m.f2), inChannels: m.n2, filters: m.n1, rng: &rng)
            verticalDeconvolution = Conv2DTranspose("vertical_deconvolution_\(source)",
                kernelSize: (m.t1, m.f1), inChannels: m.n1, filters: 1, rng: &rng)
        }
    }

    /// Glorot-uniform kernels and zero biases drawn from `seed`, layer by layer in table order.
    public init(shape m: ModelShape, seed: UInt64) {
        shape = m
        var rng = SeededGenerator(seed: seed)
        verticalConvolution = Conv2D("vertical_convolution", kernelSize: (m.t1, m.f1), inChannels: 1, filters: m.n1, rng: &rng)
        horizontalConvolution = Conv2D("horizontal_convolution", kernelSize: (m.t2, m.f2), inChannels: m.n1, filters: m.n2, rng: &rng)
        globalDense = Dense("global_dense", inputs: m.flat, units: m.dense, rng: &rng)
        decoders = sourceNames.map { Decoder(source: $0, shape: m, rng: &rng) }
    }

    /// Every layer in the order of METHOD.md's table (checkpoint and `info` order).
    public var layers: [any Layer] {
        [verticalConvolution, horizontalConvolution, globalDense]
            + decoders.map(\.singleDense) + decoders.map(\.horizontalDeconvolution) + decoders.map(\.verticalDeconvolution)
    }

    /// Kernels and biases, in layer order.
    public var parameters: [Tensor] { layers.flatMap { [$0.kernel, $0.bias] } }

    /// ("<layer>/kernel", tensor), ("<layer>/bias", tensor), in the order of `parameters`.
    public var namedParameters: [(String, Tensor)] {
        layers.flatMap { [("\($0.name)/kernel", $0.kernel), ("\($0.name)/bias", $0.bias)] }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Magnitudes (B, T, F) → the four decoder outputs (B, T, F, 1) before the absolute value.
    public func callAsFunction(_ magnitudes: Tensor) -> [Tensor] {
        let m = shape
        let b = magnitudes.shape[0]
        let (h2, w2) = m.afterHorizontal
        let x = magnitudes.reshaped([b, m.frames, m.bins, 1])    // (B, T, F, 1)
        let v = verticalConvolution(x)                           // (B, T−t1+1, F−f1+1, N1) = (B, 25, 1, 50)
        let h = horizontalConvolution(v)                         // (B, 14, 1, 30)
        let code = globalDense(h.reshaped([b, m.flat]))          // (B, 128), ReLU
        return decoders.map { d in
            let s = d.singleDense(code)                          // (B, 420), ReLU
                .reshaped([b, h2, w2, m.n2])                     // (B, 14, 1, 30)
            let hd = d.horizontalDeconvolution(s)                // (B, 25, 1, 50)
            return d.verticalDeconvolution(hd)                   // (B, 25, 513, 1)
        }
    }
}

/// Soft masks m_s = |d_s| / (Σ_j |d_j| + ε) and estimates ŷ_s = m_s ⊙ |X| (METHOD.md).
/// `outputs` are the decoders' (B, T, F, 1) tensors, `magnitudes` the mixture (B, T, F).
public func softMasks(_ outputs: [Tensor], epsilon: Float) -> [Tensor] {
    let d = outputs.map { abs($0) }
    let total = d.dropFirst().reduce(d[0]) { $0 + $1 } + epsilon
    return d.map { $0 / total }
}
