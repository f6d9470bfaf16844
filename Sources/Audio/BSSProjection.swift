import CBLAS
import CFFTW
import Foundation
import Support

// The projections behind BSS Eval v3 (Metrics.bssEval): least-squares filters of the references, by
// FFT correlation and a Cholesky-factored Gram matrix, in double precision as mir_eval computes them.

/// Everything about the references that all estimates share: their spectra at the padded FFT size,
/// and the factored Gram matrices of their delayed copies (all sources together, and each alone).
final class BSSProjector {
    let sourceCount: Int
    let length: Int
    let filterLength: Int
    let fft: DoubleFFT
    /// FFT of each reference, zero-padded to fft.size: interleaved complex, fft.bins values.
    private let spectra: [[Double]]
    private let all: GramSolver
    private let single: [GramSolver]

    init(references: [[Float]], filterLength flen: Int) throws {
        sourceCount = references.count
        length = references[0].count
        filterLength = flen
        // Any size ≥ length + flen − 1 gives exact linear correlations; mir_eval takes the next power
        // of two, we take the next 2^a·3^b·5^c (up to a third smaller, same values up to rounding).
        let fft = DoubleFFT(size: Self.fftSize(atLeast: length + flen - 1))
        let size = fft.size
        self.fft = fft
        let spectra = references.map { fft.forward($0.map(Double.init)) }
        self.spectra = spectra
        // Correlations c_ij[k] = Σ_n s_i[n + k] s_j[n] for lags |k| < flen.
        // G[i·flen + a, j·flen + b] = c_ij[b − a]; G is symmetric (G_ji = G_ijᵀ).
        let n = sourceCount * flen
        var gram = [Double](repeating: 0, count: n * n)
        var blocks: [[Double]] = []
        for i in 0..<sourceCount {
            for j in i..<sourceCount {
                let c = fft.inverse(Self.multiplyConjugate(spectra[i], spectra[j]))
                // lags[flen − 1 + k] = c_ij[k] for k in −(flen − 1) ... flen − 1.
                let lags = (0..<(2 * flen - 1)).map { c[($0 - (flen - 1) + size) % size] }
                var block = [Double](repeating: 0, count: flen * flen)
                lags.withUnsafeBufferPointer { v in
                    block.withUnsafeMutableBufferPointer { g in
                        for a in 0..<flen {
                            // Row a: c_ij[b − a] for b = 0 ..< flen.
                            (g.baseAddress! + a * flen).update(from: v.baseAddress! + (flen - 1 - a), count: flen)
                        }
                    }
                }
                block.withUnsafeBufferPointer { g in
                    gram.withUnsafeMutableBufferPointer { G in
                        for a in 0..<flen {
                            for b in 0..<flen {
                                let value = g[a * flen + b]
                                G[(i * flen + a) * n + j * flen + b] = value
                                G[(j * flen + b) * n + i * flen + a] = value
                            }
                        }
                    }
                }
                if i == j { blocks.append(block) }
            }
        }
        all = try GramSolver(gram, order: n)
        single = try blocks.map { try GramSolver($0, order: flen) }
    }

    func evaluate(estimates: [[Float]], computePermutation: Bool) throws -> BSSEvalResult {
        let count = sourceCount
        var sdr = [[Double]](repeating: [Double](repeating: 0, count: count), count: count)
        var sir = sdr, sar = sdr
        for (j, estimate) in estimates.enumerated() {
            let targets = computePermutation ? Array(0..<count) : [j]
            let scores = try decompose(estimate.map(Double.init), targets: targets)
            for (t, score) in zip(targets, scores) {
                (sdr[j][t], sir[j][t], sar[j][t]) = score
            }
        }
        var permutation = Array(0..<count)
        if computePermutation {
            var best = -Double.infinity
            for candidate in Self.permutations(count) {
                let mean = (0..<count).reduce(0.0) { $0 + sir[candidate[$1]][$1] } / Double(count)
                if mean > best { best = mean; permutation = candidate }
            }
        }
        return BSSEvalResult(sdr: (0..<count).map { sdr[permutation[$0]][$0] },
                             sir: (0..<count).map { sir[permutation[$0]][$0] },
                             sar: (0..<count).map { sar[permutation[$0]][$0] },
                             permutation: permutation)
    }

    /// (SDR, SIR, SAR) of `estimate` against each reference in `targets`.
    private func decompose(_ estimate: [Double], targets: [Int]) throws -> [(Double, Double, Double)] {
        let flen = filterLength, size = fft.size
        let estimateSpectrum = fft.forward(estimate)
        // D[i·flen + a] = Σ_n s_i[n − a] ŝ[n].
        var d = [Double](repeating: 0, count: sourceCount * flen)
        for i in 0..<sourceCount {
            let c = fft.inverse(Self.multiplyConjugate(spectra[i], estimateSpectrum))
            for a in 0..<flen { d[i * flen + a] = c[(size - a) % size] }
        }
        let padded = length + flen - 1
        let projectionAll = project(filters: try all.solve(d), sources: Array(0..<sourceCount), count: padded)
        let (allEnergy, artifacts) = Self.energies(projectionAll, estimate, count: padded)
        return try targets.map { t in
            let target = project(filters: try single[t].solve(Array(d[(t * flen)..<((t + 1) * flen)])),
                                 sources: [t], count: padded)
            let (targetEnergy, distortion) = Self.energies(target, estimate, count: padded)
            let (_, interference) = Self.energies(target, projectionAll, count: padded)
            return (Self.decibels(targetEnergy, distortion), Self.decibels(targetEnergy, interference),
                    Self.decibels(allEnergy, artifacts))
        }
    }

    /// Σ_i filters[i·flen ..< (i+1)·flen] ∗ s_{sources[i]}, first `count` samples (by FFT).
    private func project(filters: [Double], sources: [Int], count: Int) -> [Double] {
        let flen = filterLength
        var sum = [Double](repeating: 0, count: 2 * fft.bins)
        for (k, source) in sources.enumerated() {
            let h = fft.forward(Array(filters[(k * flen)..<((k + 1) * flen)]))
            h.withUnsafeBufferPointer { h in
                spectra[source].withUnsafeBufferPointer { s in
                    sum.withUnsafeMutableBufferPointer { sum in
                        for b in 0..<fft.bins {
                            let (hr, hi, sr, si) = (h[2 * b], h[2 * b + 1], s[2 * b], s[2 * b + 1])
                            sum[2 * b] += hr * sr - hi * si
                            sum[2 * b + 1] += hr * si + hi * sr
                        }
                    }
                }
            }
        }
        return Array(fft.inverse(sum)[0..<count])
    }

    private static func multiplyConjugate(_ x: [Double], _ y: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { out in
                    for b in 0..<(x.count / 2) {
                        let (xr, xi, yr, yi) = (x[2 * b], x[2 * b + 1], y[2 * b], y[2 * b + 1])
                        out[2 * b] = xr * yr + xi * yi
                        out[2 * b + 1] = xi * yr - xr * yi
                    }
                }
            }
        }
        return out
    }

    /// Σ x² and Σ (x − y)² over the first `count` values (missing values are 0).
    private static func energies(_ x: [Double], _ y: [Double], count: Int) -> (Double, Double) {
        var xx = 0.0, dd = 0.0
        x.withUnsafeBufferPointer { x in
            y.withUnsafeBufferPointer { y in
                for n in 0..<count {
                    let a = n < x.count ? x[n] : 0, b = n < y.count ? y[n] : 0
                    xx += a * a
                    dd += (a - b) * (a - b)
                }
            }
        }
        return (xx, dd)
    }

    /// The smallest even 2^a·3^b·5^c ≥ n (FFTW is fast on such sizes).
    static func fftSize(atLeast n: Int) -> Int {
        var best = 2
        while best < n { best *= 2 }
        var p5 = 1
        while p5 < best {
            var p35 = p5
            while p35 < best {
                var size = p35 * 2
                while size < n { size *= 2 }
                best = min(best, size)
                p35 *= 3
            }
            p5 *= 5
        }
        return best
    }

    static func decibels(_ numerator: Double, _ denominator: Double) -> Double {
        denominator == 0 ? .infinity : 10 * log10(numerator / denominator)
    }

    /// All permutations of 0..<n in lexicographic order (itertools.permutations' order).
    static func permutations(_ n: Int) -> [[Int]] {
        guard n > 0 else { return [[]] }
        var result: [[Int]] = []
        func extend(_ prefix: [Int], _ rest: [Int]) {
            if rest.isEmpty { result.append(prefix); return }
            for (k, x) in rest.enumerated() {
                var remaining = rest
                remaining.remove(at: k)
                extend(prefix + [x], remaining)
            }
        }
        extend([], Array(0..<n))
        return result
    }
}

/// Solves G x = d for a symmetric positive (semi)definite Gram matrix G, factored once.
/// Cholesky (dpotrf/dpotrs); if G is not numerically positive definite, min-norm least squares (dgelsd).
final class GramSolver {
    let order: Int
    private var factor: [Double]
    private let cholesky: Bool

    init(_ matrix: [Double], order n: Int) throws {
        order = n
        var a = matrix
        var size = Int32(n), info: Int32 = 0
        var uplo = CChar(UInt8(ascii: "L"))
        dpotrf_(&uplo, &size, &a, &size, &info, 1)
        if info == 0 {
            factor = a
            cholesky = true
        } else {
            factor = matrix
            cholesky = false
        }
    }

    func solve(_ rhs: [Double]) throws -> [Double] {
        precondition(rhs.count == order)
        var b = rhs
        var n = Int32(order), one: Int32 = 1, info: Int32 = 0
        if cholesky {
            var uplo = CChar(UInt8(ascii: "L"))
            dpotrs_(&uplo, &n, &one, &factor, &n, &b, &n, &info, 1)
            guard info == 0 else { throw CNNSepError("bss eval: LAPACK dpotrs failed (info \(info))") }
            return b
        }
        // Least squares with singular values below machine precision × largest treated as zero.
        var a = factor
        var singular = [Double](repeating: 0, count: order)
        var rcond = -1.0, rank: Int32 = 0, lwork: Int32 = -1
        var workSize = 0.0, iworkSize: Int32 = 0
        dgelsd_(&n, &n, &one, &a, &n, &b, &n, &singular, &rcond, &rank, &workSize, &lwork, &iworkSize, &info)
        lwork = Int32(workSize)
        var work = [Double](repeating: 0, count: max(Int(lwork), 1))
        var iwork = [Int32](repeating: 0, count: max(Int(iworkSize), 1))
        dgelsd_(&n, &n, &one, &a, &n, &b, &n, &singular, &rcond, &rank, &work, &lwork, &iwork, &info)
        guard info == 0 else { throw CNNSepError("bss eval: LAPACK dgelsd failed (info \(info))") }
        return b
    }
}

/// Double-precision real FFT of one size with FFTW (plans made under `FFTWPlanner.lock`).
/// forward: real → interleaved complex (bins = size/2 + 1), unnormalized;
/// inverse: interleaved complex → real, divided by size (so inverse(forward(x)) = x).
final class DoubleFFT {
    let size: Int
    let bins: Int
    private let real: UnsafeMutablePointer<Double>
    private let complex: UnsafeMutablePointer<fftw_complex>
    private let forwardPlan: OpaquePointer
    private let inversePlan: OpaquePointer

    init(size: Int) {
        self.size = size
        bins = size / 2 + 1
        real = fftw_alloc_real(size)!
        complex = fftw_alloc_complex(bins)!
        FFTWPlanner.lock.lock()
        forwardPlan = fftw_plan_dft_r2c_1d(Int32(size), real, complex, UInt32(FFTW_ESTIMATE))!
        inversePlan = fftw_plan_dft_c2r_1d(Int32(size), complex, real, UInt32(FFTW_ESTIMATE))!
        FFTWPlanner.lock.unlock()
    }

    deinit {
        FFTWPlanner.lock.lock()
        fftw_destroy_plan(forwardPlan)
        fftw_destroy_plan(inversePlan)
        FFTWPlanner.lock.unlock()
        fftw_free(real)
        fftw_free(complex)
    }

    /// `x` zero-padded to `size`.
    func forward(_ x: [Double]) -> [Double] {
        precondition(x.count <= size)
        x.withUnsafeBufferPointer { src in
            real.update(from: src.baseAddress!, count: x.count)
        }
        (real + x.count).initialize(repeating: 0, count: size - x.count)
        fftw_execute(forwardPlan)
        let values = UnsafeMutableRawPointer(complex).assumingMemoryBound(to: Double.self)
        return Array(UnsafeBufferPointer(start: values, count: 2 * bins))
    }

    func inverse(_ spectrum: [Double]) -> [Double] {
        precondition(spectrum.count == 2 * bins)
        let values = UnsafeMutableRawPointer(complex).assumingMemoryBound(to: Double.self)
        spectrum.withUnsafeBufferPointer { values.update(from: $0.baseAddress!, count: 2 * bins) }
        fftw_execute(inversePlan)
        let scale = 1 / Double(size)
        var out = Array(UnsafeBufferPointer(start: real, count: size))
        out.withUnsafeMutableBufferPointer { for i in 0..<$0.count { $0[i] *= scale } }
        return out
    }
}
