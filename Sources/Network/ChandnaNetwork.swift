import Autodiff
import Support

/// The network of Chandna et al. (2017) as the reproduced Keras code builds it: a shared encoder
/// (vertical conv, horizontal conv, dense bottleneck) and one decoder per stem (dense, horizontal
/// deconv, vertical deconv). Layer names are the Keras names METHOD.md lists, so checkpoints interoperate.
///
/// `encoder` and each decoder's `layers` are the one definition of the network: the tape
/// (`callAsFunction`) and the preallocated `NetworkEngine` that trains and separates both run them.
public final class ChandnaNetwork {
    public let shape: ModelShape
    public let verticalConvolution: Conv2D
    public let horizontalConvolution: Conv2D
    public let globalDense: Dense
    /// The per-bin input normalisation, when the shape asks for it (first in `encoder`).
    public let inputNormalization: InputNormalization?
    /// Magnitude windows (T, F) → the code (N).
    public let encoder: [any Layer]
    public let decoders: [Decoder]

    /// One stem's decoder: the code (N) → the stem's unnormalised mask (T, F, 1).
    public final class Decoder {
        public let stem: Stem
        public let singleDense: Dense
        public let horizontalDeconvolution: Conv2DTranspose
        public let verticalDeconvolution: Conv2DTranspose
        public let layers: [any Layer]

        init(stem: Stem, shape m: ModelShape, rng: inout SeededGenerator) {
            self.stem = stem
            let (h2, w2) = m.afterHorizontal
            singleDense = Dense("single_dense_\(stem.rawValue)", inputs: m.dense, units: m.flat, rng: &rng)
            horizontalDeconvolution = Conv2DTranspose("horizontal_deconvolution_\(stem.rawValue)",
                kernelSize: (m.t2, m.f2), inChannels: m.n2, filters: m.n1, rng: &rng)
            verticalDeconvolution = Conv2DTranspose("vertical_deconvolution_\(stem.rawValue)",
                kernelSize: (m.t1, m.f1), inChannels: m.n1, filters: 1, rng: &rng)
            layers = [                                       // per window, default sizes:
                singleDense, ReLU(),                         // (128) → (420)
                Reshape([h2, w2, m.n2]),                     // → (14, 1, 30)
                horizontalDeconvolution,                     // → (25, 1, 50)
                verticalDeconvolution,                       // → (25, 513, 1)
            ]
        }
    }

    /// Glorot-uniform kernels and zero biases drawn from `seed`, layer by layer in table order.
    public init(shape m: ModelShape, seed: UInt64) {
        shape = m
        var rng = SeededGenerator(seed: seed)
        verticalConvolution = Conv2D("vertical_convolution", kernelSize: (m.t1, m.f1), inChannels: 1, filters: m.n1, rng: &rng)
        horizontalConvolution = Conv2D("horizontal_convolution", kernelSize: (m.t2, m.f2), inChannels: m.n1, filters: m.n2, rng: &rng)
        globalDense = Dense("global_dense", inputs: m.flat, units: m.dense, rng: &rng)
        inputNormalization = m.inputNormalization ? InputNormalization(bins: m.bins) : nil   // draws nothing
        encoder = (inputNormalization.map { [$0] } ?? []) + [ // per window, default sizes:
            Reshape([m.frames, m.bins, 1]),                  // (25, 513) → (25, 513, 1)
            verticalConvolution,                             // → (25, 1, 50)
            horizontalConvolution,                           // → (14, 1, 30)
            Reshape([m.flat]),                               // → (420)
            globalDense, ReLU(),                             // → (128)
        ]
        decoders = Stem.allCases.map { Decoder(stem: $0, shape: m, rng: &rng) }
    }

    /// The per-window shape of the network's input: magnitudes (T, F).
    public var inputShape: [Int] { [shape.frames, shape.bins] }

    /// Magnitudes (B, T, F) → the four decoder outputs (B, T, F, 1) before the absolute value.
    public func callAsFunction(_ magnitudes: Tensor) -> [Tensor] {
        let code = encoder.reduce(magnitudes) { x, layer in layer(x) }
        return decoders.map { d in d.layers.reduce(code) { x, layer in layer(x) } }
    }

    /// Every layer with weights, in the order of METHOD.md's table (checkpoint and `info` order): the
    /// encoder's, then the decoders' first weighted layers, their second ones, and so on.
    public var layers: [any WeightedLayer] {
        let perDecoder = decoders.map { $0.layers.compactMap { $0 as? any WeightedLayer } }
        return encoder.compactMap { $0 as? any WeightedLayer }
            + (0..<(perDecoder.first?.count ?? 0)).flatMap { k in perDecoder.map { $0[k] } }
    }

    /// Kernels and biases, in layer order.
    public var parameters: [Tensor] { layers.flatMap(\.parameters) }

    /// ("<layer>/kernel", tensor), ("<layer>/bias", tensor), in the order of `parameters`.
    public var namedParameters: [(String, Tensor)] {
        layers.flatMap { l in l.parameters.map { p in ("\(l.name)/\(p === l.kernel ? "kernel" : "bias")", p) } }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
}

/// Soft masks m_s = |d_s| / (Σ_j |d_j| + ε) (METHOD.md), on the tape, composed from elementwise ops.
/// `outputs` are the decoders' (B, T, F, 1) tensors.
public func softMasks(_ outputs: [Tensor], epsilon: Float) -> [Tensor] {
    let d = outputs.map { abs($0) }
    let total = d.dropFirst().reduce(d[0]) { $0 + $1 } + epsilon
    return d.map { $0 / total }
}
