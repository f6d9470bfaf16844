import Foundation
import Testing
import Audio
import Support

/// The committed fixture written by scripts/make_wiener_fixture.py (norbert 0.2.1, double precision).
struct WienerReference: Decodable {
    struct Planes: Decodable {
        let real: [Double]
        let imag: [Double]
    }
    struct Case: Decodable {
        let name: String
        let channels, sources, frames, bins: Int
        /// [channel][frame][bin]
        let mixture: Planes
        /// [source][channel][frame][bin]
        let estimates: Planes
        /// Iterations ("1", "2") → filtered estimates, laid out as `estimates`.
        let filtered: [String: Planes]

        var mixtureSpectra: [Spectrum] { spectra(mixture, count: channels) }
        var initialEstimates: [[Spectrum]] { grouped(spectra(estimates, count: sources * channels)) }
        func reference(iterations: Int) -> [[Spectrum]] {
            grouped(spectra(filtered["\(iterations)"]!, count: sources * channels))
        }
        private func spectra(_ planes: Planes, count: Int) -> [Spectrum] {
            let size = frames * bins
            return (0..<count).map { i in
                Spectrum(frames: frames, bins: bins, real: planes.real[i * size..<(i + 1) * size].map(Float.init),
                         imag: planes.imag[i * size..<(i + 1) * size].map(Float.init))
            }
        }
        private func grouped(_ flat: [Spectrum]) -> [[Spectrum]] {
            (0..<sources).map { j in Array(flat[j * channels..<(j + 1) * channels]) }
        }
    }
    let eps: Double
    let cases: [Case]

    static func load() throws -> WienerReference {
        let url = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures/wiener_reference.json")
        return try JSONDecoder().decode(WienerReference.self, from: Data(contentsOf: url))
    }

    static func named(_ name: String) throws -> Case {
        try #require(try load().cases.first { $0.name == name }, "no case \(name) in wiener_reference.json")
    }
}

/// Largest |a − b| over every bin of every source and channel, and the largest |b| (the scale).
private func largestDifference(_ a: [[Spectrum]], _ b: [[Spectrum]]) -> (difference: Float, scale: Float) {
    var difference: Float = 0, scale: Float = 0
    for (sa, sb) in zip(a.joined(), b.joined()) {
        for i in sa.real.indices {
            let dr = sa.real[i] - sb.real[i], di = sa.imag[i] - sb.imag[i]
            // A NaN would vanish in max(): count it as an infinite difference.
            difference = dr.isFinite && di.isFinite ? max(difference, (dr * dr + di * di).squareRoot()) : .infinity
            scale = max(scale, (sb.real[i] * sb.real[i] + sb.imag[i] * sb.imag[i]).squareRoot())
        }
    }
    return (difference, scale)
}

@Suite struct WienerFilterTests {
    @Test func zeroIterationsLeaveTheEstimatesUntouched() throws {
        let fixture = try WienerReference.named("stereo")
        var estimates = fixture.initialEstimates
        WienerFilter(iterations: 0).refine(&estimates, mixture: fixture.mixtureSpectra)
        #expect(estimates == fixture.initialEstimates)
    }

    @Test(arguments: ["stereo", "stereo_quiet", "mono", "three_channels", "stereo_silent_source"], [(1, 1), (2, 1), (2, 2)])
    func matchesNorbert(caseName: String, iterationsAndThreads: (Int, Int)) throws {
        let (iterations, threads) = iterationsAndThreads
        let fixture = try WienerReference.named(caseName)
        var estimates = fixture.initialEstimates
        WienerFilter(iterations: iterations, threads: threads).refine(&estimates, mixture: fixture.mixtureSpectra)
        let (difference, scale) = largestDifference(estimates, fixture.reference(iterations: iterations))
        // float32 data, double-precision reference: within a few float ulps of the largest value (seen: ≤ 5e-8).
        #expect(difference <= 1e-6 * scale, "\(caseName), \(iterations) iterations: off by \(difference) of \(scale)")
        // The filter changed something (so the comparison is not identity against identity).
        let moved = largestDifference(fixture.initialEstimates, fixture.reference(iterations: iterations))
        #expect(moved.difference > 1e-2 * moved.scale)
    }

    @Test func matchesNorbertOnFramesTakenFromALongerMixture() throws {
        let fixture = try WienerReference.named("stereo")
        // Pad the mixture with two frames before and three after; only frames 2..<2+F are the estimates'.
        let padded = fixture.mixtureSpectra.map { m in
            Spectrum(frames: m.frames + 5, bins: m.bins,
                     real: [Float](repeating: 7, count: 2 * m.bins) + m.real + [Float](repeating: -3, count: 3 * m.bins),
                     imag: [Float](repeating: 1, count: 2 * m.bins) + m.imag + [Float](repeating: 900, count: 3 * m.bins))
        }
        var estimates = fixture.initialEstimates
        WienerFilter(iterations: 2).refine(&estimates, mixture: padded, mixtureFrames: 2..<(2 + fixture.frames))
        let (difference, scale) = largestDifference(estimates, fixture.reference(iterations: 2))
        #expect(difference <= 2e-6 * scale)
    }

    @Test func filteredSourcesAddUpToTheMixture() throws {
        // Four sources, each with its own panning and level per bin, 40 frames × 33 bins: powers far
        // above ρ (≈ 55 dB under the loudest bin) except in a few quiet bins.
        var rng = SeededGenerator(seed: 14)
        let frames = 40, bins = 33, sources = 4
        var mixture = [Spectrum](repeating: Spectrum(frames: frames, bins: bins), count: 2)
        var estimates = [[Spectrum]](repeating: mixture, count: sources)
        for j in 0..<sources {
            let pan = rng.nextFloat()
            for i in 0..<frames * bins {
                let level = 100 * rng.nextFloat() * rng.nextFloat(), re = level * (rng.nextFloat() - 0.5), im = level * (rng.nextFloat() - 0.5)
                for (c, gain) in [pan, 1 - pan].enumerated() {
                    estimates[j][c].real[i] = gain * re; estimates[j][c].imag[i] = gain * im
                    mixture[c].real[i] += gain * re; mixture[c].imag[i] += gain * im
                }
            }
        }
        WienerFilter(iterations: 2).refine(&estimates, mixture: mixture)
        // Σ_j y_j = x − ρ C⁻¹x: the deficit lies where some direction of the model covariance is not far
        // above ρ, i.e. in the quiet bins. Overall it is about −62 dB here; in the bins within 10 dB of
        // the loudest, about 0.1 % of the bin's magnitude.
        var deficit = 0.0, energy = 0.0, errors: [(energy: Double, relative: Double)] = []
        for c in 0..<2 {
            for i in 0..<frames * bins {
                let sr = estimates.reduce(0.0) { $0 + Double($1[c].real[i]) }, si = estimates.reduce(0.0) { $0 + Double($1[c].imag[i]) }
                let xr = Double(mixture[c].real[i]), xi = Double(mixture[c].imag[i])
                let d = (sr - xr) * (sr - xr) + (si - xi) * (si - xi), e = xr * xr + xi * xi
                deficit += d; energy += e
                errors.append((e, (d / max(e, .leastNormalMagnitude)).squareRoot()))
            }
        }
        #expect(deficit / energy < 1e-5, "the sources add up to the mixture only to \(10 * log10(deficit / energy)) dB")
        let peak = errors.map(\.energy).max()!
        let worstLoud = errors.filter { $0.energy > 0.1 * peak }.map(\.relative).max()!
        #expect(worstLoud < 1e-2, "a bin within 10 dB of the loudest is off by \(worstLoud) of its magnitude")
    }

    @Test func monoIsARealMaskOnTheMixture() throws {
        // With one channel the filter is a soft mask: every estimate is a real gain in [0, 1] times the
        // mixture, and the gains add up to at most 1.
        let fixture = try WienerReference.named("mono")
        var estimates = fixture.initialEstimates
        let mixture = fixture.mixtureSpectra[0]
        WienerFilter(iterations: 1).refine(&estimates, mixture: fixture.mixtureSpectra)
        for i in mixture.real.indices {
            let power = mixture.real[i] * mixture.real[i] + mixture.imag[i] * mixture.imag[i]
            var total: Float = 0
            for source in estimates {
                let y = source[0]
                let gain = (y.real[i] * mixture.real[i] + y.imag[i] * mixture.imag[i]) / power
                let quadrature = (y.imag[i] * mixture.real[i] - y.real[i] * mixture.imag[i]) / power
                #expect(abs(quadrature) < 1e-6 && gain >= 0 && gain <= 1)
                total += gain
            }
            #expect(total <= 1 + 1e-6 && total > 0.99)
        }
    }

    @Test func silentSourcesAndFramesStaySilentAndFinite() throws {
        let fixture = try WienerReference.named("stereo_silent_source")
        var estimates = fixture.initialEstimates
        WienerFilter(iterations: 2).refine(&estimates, mixture: fixture.mixtureSpectra)
        for (j, source) in estimates.enumerated() {
            for s in source {
                #expect(s.real.allSatisfy(\.isFinite) && s.imag.allSatisfy(\.isFinite))
                if j == 2 { #expect(s.real.allSatisfy { $0 == 0 } && s.imag.allSatisfy { $0 == 0 }) }
                let silentFrame = (fixture.frames / 2 * fixture.bins)..<((fixture.frames / 2 + 1) * fixture.bins)
                #expect(s.real[silentFrame].allSatisfy { $0 == 0 } && s.imag[silentFrame].allSatisfy { $0 == 0 })
            }
        }
        // Everything silent: zeros, not NaN.
        var silent = [[Spectrum]](repeating: [Spectrum](repeating: Spectrum(frames: 3, bins: 4), count: 2), count: 4)
        WienerFilter(iterations: 2).refine(&silent, mixture: [Spectrum](repeating: Spectrum(frames: 3, bins: 4), count: 2))
        #expect(silent.joined().allSatisfy { $0.real.allSatisfy { $0 == 0 } && $0.imag.allSatisfy { $0 == 0 } })
    }
}
