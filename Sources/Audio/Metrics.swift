import Foundation
import Support

/// SDR, SIR and SAR of one evaluation; index j is reference source j.
public struct BSSEvalResult: Equatable, Sendable {
    public let sdr: [Double]
    public let sir: [Double]
    public let sar: [Double]
    /// `permutation[j]` is the estimate scored against reference j (the identity unless the
    /// permutation search was asked for).
    public let permutation: [Int]

    public init(sdr: [Double], sir: [Double], sar: [Double], permutation: [Int]) {
        self.sdr = sdr
        self.sir = sir
        self.sar = sar
        self.permutation = permutation
    }
}

/// Separation quality measures.
///
/// `bssEval` is BSS Eval v3 (Vincent, Gribonval, Févotte 2006) exactly as
/// `mir_eval.separation.bss_eval_sources` computes it: estimate ŝ_j is projected, by least squares,
/// onto the delayed copies (delays 0..<512, the "distortion filter") of reference s_j alone, giving
/// s_target = P_j ŝ_j, and of all references, giving P ŝ_j. Then with e_interf = P ŝ_j − s_target and
/// e_artif = ŝ_j − P ŝ_j (signals zero-padded by 511 samples):
///
///     SDR = 10 log10 ‖s_target‖² / ‖e_interf + e_artif‖²
///     SIR = 10 log10 ‖s_target‖² / ‖e_interf‖²
///     SAR = 10 log10 ‖s_target + e_interf‖² / ‖e_artif‖²
///
/// Inner products of delayed signals come from FFT correlations (FFTW, double precision); the normal
/// equations are solved by Cholesky (LAPACK dpotrf/dpotrs from OpenBLAS, double), factored once per
/// call and reused for every estimate; min-norm least squares (dgelsd) if the Gram matrix is singular,
/// as mir_eval falls back to lstsq. The permutation search is off by default (cnnsep's stems are named).
public enum Metrics {
    /// The distortion filter length of BSS Eval v3 (mir_eval, museval).
    public static let filterLength = 512

    /// The fewest samples for which the projection onto `sources` references is determined: its
    /// sources × `filterLength` delayed copies, zero-padded to length + `filterLength` − 1, are
    /// linearly independent only from (sources − 1) · `filterLength` + 1 samples on (1537 for four
    /// sources). Shorter signals take the least-squares fallback on a singular system: minutes of
    /// work for figures that mean nothing.
    public static func minimumLength(sources: Int) -> Int {
        max(sources - 1, 0) * filterLength + 1
    }

    /// Refuses `--framewise` windows of `seconds` at `sampleRate` shorter than `minimumLength(sources:)`
    /// (shown as the signal's `length` when that is shorter: the one window is the whole signal).
    public static func checkFramewiseWindow(_ seconds: Double, sampleRate: Int, sources: Int, length: Int? = nil) throws {
        let minimum = minimumLength(sources: sources), samples = (seconds * Double(sampleRate)).rounded()
        guard samples >= Double(minimum) else {
            let shown = Int(min(max(samples, 0), Double(length ?? Int.max)))
            throw CNNSepError("--framewise \(seconds): windows of \(shown) samples at \(sampleRate) Hz; BSS Eval's \(filterLength)-tap "
                              + "projection onto \(sources) sources needs at least \(minimum) per window (\(describe(minimum, sampleRate)))")
        }
    }

    /// Why a signal of `length` samples cannot be scored: "1000 samples at 44100 Hz; BSS Eval's …".
    public static func tooShort(_ length: Int, rate: Int, sources: Int) -> String {
        let minimum = minimumLength(sources: sources)
        return "\(length) samples at \(rate) Hz; BSS Eval's \(filterLength)-tap projection onto \(sources) sources needs at least \(minimum) (\(describe(minimum, rate)))"
    }

    /// "0.0349 s at 44100 Hz": a sample count as time.
    public static func describe(_ samples: Int, _ rate: Int) -> String {
        String(format: "%.3g s at %d Hz", Double(samples) / Double(max(rate, 1)), rate)
    }

    /// SDR/SIR/SAR per source. References and estimates: the same number of sources, each the same
    /// length, finite, and not silent (all zeros), as mir_eval requires.
    /// With `computePermutation`, estimates are matched to references by the permutation with the best
    /// mean SIR (first best in lexicographic order, as mir_eval).
    /// With `allowingSilentEstimates`, a silent estimate is scored too (its figures are meaningless,
    /// but its reference still counts as interference for the others).
    public static func bssEval(references: [[Float]], estimates: [[Float]],
                               computePermutation: Bool = false, allowingSilentEstimates: Bool = false) throws -> BSSEvalResult {
        try validate(references: references, estimates: estimates, allowSilentEstimates: allowingSilentEstimates)
        return try BSSProjector(references: references, filterLength: filterLength)
            .evaluate(estimates: estimates, computePermutation: computePermutation)
    }

    /// `bssEval` over windows of `window` seconds every `hop` seconds, as
    /// `mir_eval.separation.bss_eval_sources_framewise` (each window scored on its own). Window k covers
    /// samples k·hop ..< k·hop + window, for k < ⌊(L − window + hop)/hop⌋; a window in which any
    /// reference or estimate is silent gets NaN. Fewer than two windows: one result for the whole signal.
    /// museval's SDR for a track is the median over windows of 1 s with hop 1 s (see `median`).
    public static func bssEvalFramewise(references: [[Float]], estimates: [[Float]], sampleRate: Int,
                                        window: Double, hop: Double,
                                        computePermutation: Bool = false) throws -> [BSSEvalResult] {
        try validate(references: references, estimates: estimates, allowSilentReferences: true, allowSilentEstimates: true)
        // Sample counts in Double first: Int() of an infinite or huge count traps.
        let windowLength = (window * Double(sampleRate)).rounded(), hopLength = (hop * Double(sampleRate)).rounded()
        guard windowLength.isFinite, hopLength.isFinite, windowLength >= 1, hopLength >= 1 else {
            throw CNNSepError("bss eval: window \(window) s and hop \(hop) s must each be a finite number of at least one sample at \(sampleRate) Hz")
        }
        let length = references[0].count
        // A window or hop longer than the signal leaves fewer than two windows.
        let windowSamples = Int(min(windowLength, Double(length + 1))), hopSamples = Int(min(hopLength, Double(length + 1)))
        let windows = (length - windowSamples + hopSamples) / hopSamples
        if windows < 2 {
            return [try bssEval(references: references, estimates: estimates, computePermutation: computePermutation)]
        }
        // Shorter windows take the projections' singular fallback: minutes for meaningless figures.
        try checkFramewiseWindow(window, sampleRate: sampleRate, sources: references.count)
        let count = references.count
        return try (0..<windows).map { k in
            let span = (k * hopSamples)..<min(k * hopSamples + windowSamples, length)
            let refs = references.map { Array($0[span]) }, ests = estimates.map { Array($0[span]) }
            if refs.contains(where: isSilent) || ests.contains(where: isSilent) {
                let nan = [Double](repeating: .nan, count: count)
                return BSSEvalResult(sdr: nan, sir: nan, sar: nan, permutation: Array(0..<count))
            }
            return try BSSProjector(references: refs, filterLength: filterLength)
                .evaluate(estimates: ests, computePermutation: computePermutation)
        }
    }

    /// Scale-invariant SDR (Le Roux, Wisdom, Erdogan, Hershey 2019), no mean removal:
    /// α = ⟨ŝ, s⟩/‖s‖², SI-SDR = 10 log10 ‖α s‖² / ‖ŝ − α s‖². +∞ for a perfect (scaled) estimate,
    /// NaN for a silent reference; lengths must match.
    public static func siSDR(reference: [Float], estimate: [Float]) -> Double {
        precondition(reference.count == estimate.count, "siSDR: reference and estimate lengths differ")
        var rr = 0.0, re = 0.0
        for i in 0..<reference.count {
            rr += Double(reference[i]) * Double(reference[i])
            re += Double(reference[i]) * Double(estimate[i])
        }
        guard rr > 0 else { return .nan }
        let alpha = re / rr
        var target = 0.0, noise = 0.0
        for i in 0..<reference.count {
            let t = alpha * Double(reference[i])
            let e = Double(estimate[i]) - t
            target += t * t
            noise += e * e
        }
        return noise == 0 ? .infinity : 10 * log10(target / noise)
    }

    /// All zeros: SDR/SIR/SAR are undefined for such a reference or estimate.
    public static func isSilent(_ x: [Float]) -> Bool { x.allSatisfy { $0 == 0 } }

    static func validate(references: [[Float]], estimates: [[Float]],
                         allowSilentReferences: Bool = false, allowSilentEstimates: Bool = false) throws {
        guard !references.isEmpty else { throw CNNSepError("bss eval: no reference sources") }
        guard references.count == estimates.count else {
            throw CNNSepError("bss eval: \(references.count) references but \(estimates.count) estimates")
        }
        let length = references[0].count
        guard length > 0 else { throw CNNSepError("bss eval: reference 0 has no samples") }
        for (kind, signals, allowSilent) in [("reference", references, allowSilentReferences), ("estimate", estimates, allowSilentEstimates)] {
            for (j, x) in signals.enumerated() {
                guard x.count == length else {
                    throw CNNSepError("bss eval: \(kind) \(j) has \(x.count) samples, reference 0 has \(length)")
                }
                if let n = x.firstIndex(where: { !$0.isFinite }) {
                    throw CNNSepError("bss eval: \(kind) \(j) sample \(n) is \(x[n])")
                }
                if !allowSilent && isSilent(x) {
                    throw CNNSepError("bss eval: \(kind) \(j) is silent (all zeros); SDR/SIR/SAR are undefined for it")
                }
            }
        }
    }
}
