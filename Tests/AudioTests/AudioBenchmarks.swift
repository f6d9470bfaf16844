import Foundation
import Testing
@testable import Audio
import Support

/// Throughput figures for BENCHMARKS.md; skipped unless CNNSEP_BENCH=1. Run in a release build:
///     CNNSEP_BENCH=1 swift test -c release --filter AudioBenchmarks
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CNNSEP_BENCH"] == "1"))
struct AudioBenchmarks {
    func seconds(repeating count: Int, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<count {
            let start = Date()
            body()
            best = min(best, Date().timeIntervalSince(start))
        }
        return best
    }

    @Test func stftThroughput() {
        let stft = STFT()
        let rate = 44_100, length = 60 * rate
        let x = noise(length, seed: 1)
        var spectrum = Spectrum(frames: 0, bins: stft.bins)
        let analyze = seconds(repeating: 5) { spectrum = stft.analyze(x) }
        var y: [Float] = []
        let synthesize = seconds(repeating: 5) { y = stft.synthesize(spectrum, length: length) }
        let stretch = seconds(repeating: 5) {
            for start in stride(from: 0, to: spectrum.frames - 25, by: 25) {
                _ = stft.analyze(x, frames: start..<(start + 25))
            }
        }
        let magnitude = seconds(repeating: 5) { _ = spectrum.magnitude() }
        let frames = Double(spectrum.frames)
        print(String(format: "STFT 1024/256 of 60 s at 44.1 kHz (%d frames): analyze %.3f s (%.0f frames/s, %.0fx real time), "
                     + "synthesize %.3f s (%.0f frames/s, %.0fx), analyze in 25-frame stretches %.3f s, magnitude %.3f s; "
                     + "round-trip error %.2g",
                     spectrum.frames, analyze, frames / analyze, 60 / analyze, synthesize, frames / synthesize,
                     60 / synthesize, stretch, magnitude, maxAbsDifference(x, y)))
    }

    @Test func resamplerThroughput() {
        let x = noise(60 * 48_000, seed: 2)
        var y: [Float] = []
        let time = seconds(repeating: 2) { y = try! Resampler.resample(x, from: 48_000, to: 44_100) }
        print("Resample 60 s mono 48 kHz -> 44.1 kHz (\(Resampler.identity)): "
              + String(format: "%.3f s (%.0fx real time), %d samples", time, 60 / time, y.count))
    }
}
