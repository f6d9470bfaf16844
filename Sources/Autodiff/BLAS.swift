import CBLAS
import Foundation

// The raw-buffer primitives every layer kernel is built from: one GEMM call, bias rows, column sums.

/// Sets OpenBLAS's thread count. One thread is the default cnnsep uses: this network's GEMMs are
/// small, two threads were never faster (BENCHMARKS.md), and OpenBLAS threads that spin while
/// waiting slow everything down when the machine has other work.
public func setBLASThreads(_ count: Int) {
    openblas_set_num_threads(Int32(max(1, count)))
}

/// C = op(A)·op(B) + beta·C, row-major, through cblas_sgemm. A is m×k after op, B is k×n after op.
@inline(__always)
public func sgemm(_ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int,
                  _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                  beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0 && n > 0 else { return }
    if let recorder = GEMMRecorder.active { recorder.record(GEMMShape(m, n, k, transA: transA, transB: transB)) }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Copies `row` (n values) into each of `rows` consecutive rows of dst (rows × n).
public func fillRows(_ dst: UnsafeMutablePointer<Float>, rows: Int, with row: UnsafeBufferPointer<Float>) {
    guard let bp = row.baseAddress else { return }
    if row.count == 1 { dst.update(repeating: bp[0], count: rows); return }   // one channel: a plain fill
    for r in 0..<rows { (dst + r * row.count).update(from: bp, count: row.count) }
}

/// into[c] += Σ_r src[r·cols + c]: column sums of a rows × cols matrix, added (bias gradients).
public func addRows(_ src: UnsafePointer<Float>, rows: Int, cols: Int, into: UnsafeMutablePointer<Float>) {
    if cols == 1 {                          // one column (a one-channel bias): eight partial sums, so the loop vectorizes
        var partial = SIMD8<Float>()
        let whole = rows / 8 * 8
        for r in stride(from: 0, to: whole, by: 8) {
            partial += UnsafeRawPointer(src + r).loadUnaligned(as: SIMD8<Float>.self)
        }
        var total = partial.sum()
        for r in whole..<rows { total += src[r] }
        into[0] += total
        return
    }
    for r in 0..<rows {
        let s = src + r * cols
        for c in 0..<cols { into[c] += s[c] }
    }
}

/// dst[i] += src[i].
@inline(__always)
public func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] += src[i] }
}

/// The shape of one `sgemm` call: C (m×n) = op(A) (m×k) · op(B) (k×n).
public struct GEMMShape: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let m, n, k: Int
    public let transA, transB: Bool
    public init(_ m: Int, _ n: Int, _ k: Int, transA: Bool = false, transB: Bool = false) {
        (self.m, self.n, self.k, self.transA, self.transB) = (m, n, k, transA, transB)
    }
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    public var description: String { "\(m)×\(n)×\(k)\(transA ? "ᵀa" : "")\(transB ? "ᵀb" : "")" }
}

/// Lists the GEMMs some work performs (`GEMMRecorder.record { … }`), so that a benchmark can time
/// exactly those raw: the work's GEMM floor, with no shape list written twice.
public final class GEMMRecorder: @unchecked Sendable {
    nonisolated(unsafe) static var active: GEMMRecorder?
    private var shapes: [GEMMShape] = []
    private let lock = NSLock()

    func record(_ shape: GEMMShape) { lock.lock(); shapes.append(shape); lock.unlock() }

    /// The GEMMs `body` calls, in the order they started (not thread-safe against other recordings).
    public static func record(_ body: () -> Void) -> [GEMMShape] {
        let recorder = GEMMRecorder()
        active = recorder
        body()
        active = nil
        return recorder.shapes
    }
}
