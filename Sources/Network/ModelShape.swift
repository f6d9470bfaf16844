
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
}
