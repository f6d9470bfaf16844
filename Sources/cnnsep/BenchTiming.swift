import Autodiff
import Foundation
import Support

/// Wall times of `body`: after `warmup` runs, at least `repetitions` runs and at least `seconds`
/// seconds of them; the median, the fastest and the slowest.
func timings(repetitions: Int, seconds: Double = 0, warmup: Int = 0, _ body: () -> Void) -> (median: Double, min: Double, max: Double) {
    for _ in 0..<warmup { body() }
    var times: [Double] = []
    let start = DispatchTime.now().uptimeNanoseconds
    while times.count < max(repetitions, 1) || Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 < seconds {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
    }
    times.sort()
    return (times[times.count / 2], times.first!, times.last!)
}

/// Median seconds of one raw sgemm of this shape (beta = 1, as the layers accumulate), over ≥ 30
/// runs and ≥ 0.05 s.
func rawGEMMTime(_ g: GEMMShape) -> Double {
    let a = [Float](repeating: 0.5, count: g.m * g.k), b = [Float](repeating: 0.25, count: g.k * g.n)
    var c = [Float](repeating: 0, count: g.m * g.n)
    return a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            c.withUnsafeMutableBufferPointer { cp in
                timings(repetitions: 30, seconds: 0.05, warmup: 3) {
                    sgemm(g.transA, g.transB, m: g.m, n: g.n, k: g.k, ap.baseAddress!, lda: g.transA ? g.m : g.k,
                          bp.baseAddress!, ldb: g.transB ? g.k : g.n, beta: 1, cp.baseAddress!, ldc: g.n)
                }.median
            }
        }
    }
}

/// Peak resident set size of this process, in MB.
func peakRSSMegabytes() -> Double { Double(ResourceUsage.peakResidentBytes) / 1_048_576 }

func writeJSON(_ object: Any, to path: String) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try AtomicFile.write(data, to: URL(fileURLWithPath: path))
    print("wrote \(path)")
}
