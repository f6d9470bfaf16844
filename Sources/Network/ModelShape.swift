import Support

/// The network's sizes (METHOD.md): input (T, F); vertical conv t1×f1 with N1 filters, horizontal
/// conv t2×f2 with N2 filters, a dense bottleneck of N units.
public struct ModelShape: Equatable, Codable {
    public var frames = 25          // T
    public var bins = 513           // F = window_length/2 + 1
    public var t1 = 1, f1 = 513, n1 = 50
    public var t2 = 12, f2 = 1, n2 = 30
    public var dense = 128          // N
    /// ε of the soft mask m_s = d_s / (Σ d_j + ε).
    public var maskEpsilon: Float = 1e-8
    /// Whether the network starts with a fixed per-bin normalisation of its input (`InputNormalization`;
    /// not in the paper).
    public var inputNormalization = false

    public init() {}

    /// (height, width) after the vertical convolution and after the horizontal one.
    public var afterVertical: (Int, Int) { (frames - t1 + 1, bins - f1 + 1) }
    public var afterHorizontal: (Int, Int) { (afterVertical.0 - t2 + 1, afterVertical.1 - f2 + 1) }
    /// Length of the flattened code the dense layers see (14·1·30 = 420 by default).
    public var flat: Int { afterHorizontal.0 * afterHorizontal.1 * n2 }

    /// Weights and biases of the network of these sizes (METHOD.md's table: 489,142 by default),
    /// counted without building it, so a config can refuse a model too large to allocate. In
    /// Double: absurd sizes would overflow Int.
    public var parameterCount: Double {
        let (t1, f1, n1, t2, f2, n2) = (Double(t1), Double(f1), Double(n1), Double(t2), Double(f2), Double(n2))
        let (flat, dense) = (Double(flat), Double(dense))
        let encoder = (t1 * f1 * n1 + n1) + (t2 * f2 * n1 * n2 + n2) + (flat * dense + dense)
        let decoder = (dense * flat + flat) + (t2 * f2 * n2 * n1 + n1) + (t1 * f1 * n1 + 1)
        return encoder + Double(Stem.names.count) * decoder
    }
}
