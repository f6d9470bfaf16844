import Foundation
import Testing
import TestHelpers
import Audio
@testable import Inference

/// `separation.wiener_iterations` (predict/eval `--wiener N`): the separator's post-filter against
/// the filter applied by hand to a song of one segment.
@Suite struct WienerSeparationTests {
    static let length = 3000   // 184 frames of the tiny separator's STFT: one segment

    /// The separator's stems equal: each channel's STFT, the separator's masks of the mono
    /// magnitudes times each channel's spectrum for all four sources, `WienerFilter` on those
    /// against the mixture, the inverse STFT of each.
    @Test(arguments: [1, 2]) func thePostFilterIsTheWienerFilterOfTheMaskedSpectra(iterations: Int) throws {
        let separator = tinySeparator()
        separator.wienerIterations = iterations
        let stereo = [noise(Self.length, seed: 11), noise(Self.length, seed: 12).map { $0 * 0.3 }]
        let stems = try separator.separate(stereo)

        let spectra = stereo.map { separator.stft.analyze($0) }
        let frames = spectra[0].frames, bins = spectra[0].bins
        let mono = (0..<frames * bins).map { i -> Float in
            let re = (spectra[0].real[i] + spectra[1].real[i]) / 2, im = (spectra[0].imag[i] + spectra[1].imag[i]) / 2
            return (re * re + im * im).squareRoot()
        }
        let masks = try separator.masks(magnitudes: mono, frames: frames)
        var estimates = masks.map { m in
            spectra.map { x in
                Spectrum(frames: frames, bins: bins, real: zip(x.real, m).map { $0 * $1 }, imag: zip(x.imag, m).map { $0 * $1 })
            }
        }
        let unfiltered = estimates
        WienerFilter(iterations: iterations).refine(&estimates, mixture: spectra)
        let peak = stereo.flatMap { $0 }.map { Swift.abs($0) }.max()!
        for s in 0..<4 {
            for c in 0..<2 {
                let expected = separator.stft.synthesize(estimates[s][c], length: Self.length)
                let plain = separator.stft.synthesize(unfiltered[s][c], length: Self.length)
                let error = zip(stems[s][c], expected).map { Swift.abs($0 - $1) }.max()!
                let change = zip(plain, expected).map { Swift.abs($0 - $1) }.max()!
                #expect(error <= 1e-4 * peak, "source \(s) channel \(c): \(error) from the filter by hand")
                #expect(change > 100 * max(error, 1e-7), "source \(s) channel \(c): the filter changes the stem (\(change))")
            }
        }
    }

    /// With "other" as the remainder (what predict writes), the four stems still add up to the input.
    @Test func stemsStillAddUpToTheInput() throws {
        let separator = tinySeparator()
        separator.wienerIterations = 1
        let stereo = [noise(Self.length, seed: 13), noise(Self.length, seed: 14)]
        let stems = try separator.separate(stereo, remainder: 2)
        for c in 0..<2 {
            let worst = (0..<Self.length).map { i in Swift.abs((0..<4).reduce(Float(0)) { $0 + stems[$1][c][i] } - stereo[c][i]) }.max()!
            #expect(worst < 1e-6, "channel \(c) misses the input by \(worst)")
        }
    }

    /// A config's wiener_iterations reaches the separator, and 0 leaves the separation as it was.
    @Test func theConfigSetsTheIterationsAndZeroIsNoFilter() throws {
        var config = tinySeparator().config
        config.separation.wienerIterations = 2
        #expect(Separator(network: tinySeparator().network, config: config).wienerIterations == 2)
        let signal = [noise(Self.length, seed: 15)]
        let plain = tinySeparator(), zero = tinySeparator()
        zero.wienerIterations = 0
        #expect(try plain.separate(signal) == (try zero.separate(signal)))
    }
}
