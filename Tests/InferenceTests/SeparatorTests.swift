import Foundation
import Testing
import TestHelpers
import Audio
import Autodiff
import Support
@testable import Inference
import Configuration
import Network

@Suite struct SeparatorTests {
    @Test func windowsCoverEveryFrameAndTheTail() {
        let s = tinySeparator()        // T = 8, window hop 3
        for frames in [1, 7, 8, 9, 20, 101] {
            let starts = s.windowStarts(frames: frames)
            #expect(starts.first == 0)
            #expect(starts.last! + 8 >= frames, "last window must reach frame \(frames - 1)")
            #expect(starts.dropLast().last.map { $0 + 8 < frames } ?? true, "no needless window")
        }
        // Overlap 5: weights rise over 5 steps of 1/6, stay at 1, and fall again.
        let expected: [Float] = [1, 2, 3, 4, 5, 6, 7, 8].map { i in min(1, Float(i) / 6, Float(9 - i) / 6) }
        #expect(zip((0..<8).map(s.crossfadeWeight), expected).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
    }

    @Test func stemsSumToTheMixture() throws {
        let s = tinySeparator()
        let stereo = [noise(5000, seed: 1), noise(5000, seed: 2)]
        let stems = try s.separate(stereo)
        let peak = stereo.flatMap { $0 }.map { Swift.abs($0) }.max()!
        for c in 0..<2 {
            #expect(stems.allSatisfy { $0[c].count == 5000 })
            var worst: Float = 0
            for i in 0..<5000 {
                let sum = stems[0][c][i] + stems[1][c][i] + stems[2][c][i] + stems[3][c][i]
                worst = max(worst, Swift.abs(sum - stereo[c][i]))
            }
            #expect(worst <= 1e-4 * peak, "channel \(c): stems miss the mixture by \(worst)")
        }
        // The masks do something: no stem is the mixture scaled by a constant 1/4.
        #expect(zip(stems[0][0], stereo[0]).contains { Swift.abs($0 - $1 / 4) > 1e-3 })
    }

    /// "Other" as the input minus the other three equals "other" from its own mask (the masks sum to
    /// one and the STFT is linear), and the four then sum to the input exactly.
    @Test func otherAsRemainderMatchesItsMask() throws {
        let s = tinySeparator()
        let signal = [noise(4000, seed: 7), noise(4000, seed: 8)]
        var withMask = [[[Float]]](repeating: [[], []], count: 4), asRest = withMask
        for (remainder, target) in [(nil as Int?, 0), (2, 1)] {
            var stems = [[[Float]]](repeating: [[], []], count: 4)
            try s.separate(length: 4000, channelCount: 2, read: { r in signal.map { Array($0[r]) } },
                           emit: { p in for i in 0..<4 { for c in 0..<2 { stems[i][c] += p[i][c] } } }, remainder: remainder)
            if target == 0 { withMask = stems } else { asRest = stems }
        }
        for c in 0..<2 {
            #expect(asRest[0][c] == withMask[0][c] && asRest[3][c] == withMask[3][c])
            let worst = zip(asRest[2][c], withMask[2][c]).map { Swift.abs($0 - $1) }.max()!
            #expect(worst < 1e-5, "other differs by \(worst)")
            let sumError = (0..<4000).map { i in Swift.abs((0..<4).reduce(Float(0)) { $0 + asRest[$1][c][i] } - signal[c][i]) }.max()!
            #expect(sumError < 1e-6)
        }
    }

    @Test func segmentSizeDoesNotChangeTheResult() throws {
        let signal = [noise(3000, seed: 3)]
        let whole = tinySeparator()
        whole.segmentFrames = 100_000
        let pieces = tinySeparator()
        pieces.segmentFrames = 7
        pieces.batchSize = 5
        let a = try whole.separate(signal), b = try pieces.separate(signal)
        for s in 0..<4 {
            let diff = zip(a[s][0], b[s][0]).map { Swift.abs($0 - $1) }.max()!
            #expect(diff < 1e-5, "source \(s) differs by \(diff) between segmentations")
        }
    }

    /// The blended mask of a frame is the crossfade-weighted mean of the masks of the windows over it,
    /// computed here window by window, independently of the streaming code, for both crossfades
    /// (weights written out here: the trapezoid, and scipy's triang(8) from scripts/triang_reference.py).
    @Test(arguments: [(3, SeparationSettings.Crossfade.linear), (3, .triangular), (5, .triangular), (1, .linear), (8, .triangular), (4, .linear)])
    func maskBlendingMatchesWindowByWindow(hop: Int, crossfade: SeparationSettings.Crossfade) throws {
        let s = tinySeparator()
        s.windowHop = hop
        s.crossfade = crossfade
        s.batchSize = 3
        let frames = 20, bins = 33, t = 8
        let triang8 = [0.125, 0.375, 0.625, 0.875, 0.875, 0.625, 0.375, 0.125]
        func weight(_ i: Int) -> Double {
            switch crossfade {
            case .linear:
                let ramp = Double(t - hop + 1)
                return min(1.0, Double(i + 1) / ramp, Double(t - i) / ramp)
            case .triangular: return triang8[i]
            }
        }
        let magnitudes = noise(frames * bins, seed: 4).map { Swift.abs($0) }
        let blended = try s.masks(magnitudes: magnitudes, frames: frames)
        var sum = [[Double]](repeating: [Double](repeating: 0, count: frames * bins), count: 4)
        var weights = [Double](repeating: 0, count: frames)
        for start in stride(from: 0, to: frames, by: hop) {
            var window = [Float](repeating: 0, count: t * bins)
            for i in 0..<t where start + i < frames { for k in 0..<bins { window[i * bins + k] = magnitudes[(start + i) * bins + k] } }
            let m = withNoGrad { softMasks(s.network(Tensor(window, shape: [1, t, bins])), epsilon: 1e-8) }
            for i in 0..<t where start + i < frames {
                weights[start + i] += weight(i)
                for src in 0..<4 { for k in 0..<bins { sum[src][(start + i) * bins + k] += weight(i) * Double(m[src].data[i * bins + k]) } }
            }
            if start + t >= frames { break }
        }
        var worst = 0.0
        for src in 0..<4 {
            for f in 0..<frames { for k in 0..<bins {
                worst = max(worst, Swift.abs(Double(blended[src][f * bins + k]) - sum[src][f * bins + k] / weights[f]))
            } }
        }
        #expect(worst < 1e-5, "hop \(hop), \(crossfade): off by \(worst)")
    }
}
