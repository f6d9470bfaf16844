import Foundation
import Testing
@testable import Audio
import Support

/// Passband error and aliasing of `Resampler` against scipy's resample_poly (fixture made once by
/// scripts/make_resampler_fixture.py). Measured worst cases over the four pairs (error, spurious,
/// aliasing): libsamplerate's SRC_SINC_BEST_QUALITY, the converter before libsoxr, -134.8, -143.2,
/// -149.4 dB; libsoxr VHQ flat passband (the standard recipe) -161.3, -149.2, -152.4 dB. The limits
/// sit 15 dB above libsamplerate's figures; linear interpolation fails them (checked below), and so
/// do libsoxr's recipes with their default passband roll-off (up to 0.008 dB at 0.9 of Nyquist,
/// about -70 dB error). Figures: BENCHMARKS.md, Audio.
@Suite struct ResamplerQualityTests {
    static let pairs = [(48000, 44100), (44100, 48000), (8000, 44100), (44100, 8000)]

    /// dB, lower is better (ResamplerQuality explains each).
    static let limits = ResamplerQuality(passbandError: -120, passbandDeviation: 0.001, spurious: -120, aliasing: -120)

    static func meets(_ q: ResamplerQuality) -> [String] {
        var failed: [String] = []
        if !(q.passbandError <= limits.passbandError) { failed.append("passband error") }
        if !(q.passbandDeviation <= limits.passbandDeviation) { failed.append("passband deviation") }
        if !(q.spurious <= limits.spurious) { failed.append("spurious") }
        if let a = q.aliasing, !(a <= limits.aliasing!) { failed.append("aliasing") }
        return failed
    }

    @Test(arguments: pairs)
    func resamplerMeetsTheLimits(from: Int, to: Int) throws {
        let fixture = try ResamplerFixture()
        let c = try fixture.case(from: from, to: to)
        let quality = try ResamplerQuality.measure(fixture, c) { try Resampler.resample($0, from: $1, to: $2) }
        print("Resampler \(c): \(quality)")
        #expect(Self.meets(quality).isEmpty, "\(c): \(quality)")
    }

    /// Separation's recipe (HQ) on the conversions separation makes, against the same independent
    /// reference and limits: measured −131 dB error, −133 dB spurious, −135 dB aliasing (BENCHMARKS.md).
    @Test(arguments: [(48000, 44100), (44100, 48000)])
    func separationRecipeMeetsTheLimits(from: Int, to: Int) throws {
        let fixture = try ResamplerFixture()
        let c = try fixture.case(from: from, to: to)
        let quality = try ResamplerQuality.measure(fixture, c) {
            try Resampler.resample(AudioBuffer(sampleRate: $1, channels: [$0]), to: $2, recipe: .separation).channels[0]
        }
        print("separation recipe \(c): \(quality)")
        #expect(Self.meets(quality).isEmpty, "\(c): \(quality)")
    }

    /// A 48 kHz song through separation's round trip (to 44.1 kHz and back) with HQ stays within
    /// −110 dB of the same round trip with VHQ: tones up to 0.9 of 22.05 kHz, noise-free.
    @Test func separationRoundTripIsCloseToVeryHighQuality() throws {
        let frequencies = [40.0, 440, 1_234.5, 5_000, 11_111, 17_000, 19_800]
        let song = (0..<48_000).map { n in
            Float(frequencies.enumerated().reduce(0.0) { $0 + 0.1 * sin(2 * .pi * $1.1 * Double(n) / 48_000 + Double($1.0)) })
        }
        func roundTrip(_ recipe: ResamplerRecipe) throws -> [Float] {
            let down = try Resampler.resample(AudioBuffer(sampleRate: 48_000, channels: [song]), to: 44_100, recipe: recipe)
            return try Resampler.resample(down, to: 48_000, recipe: recipe).channels[0]
        }
        let (high, veryHigh) = (try roundTrip(.separation), try roundTrip(.standard))
        // Away from the ends, where both filters see the signal start and stop.
        let middle = 2_000..<46_000
        let difference = middle.map { Double(high[$0] - veryHigh[$0]) }
        let relative = decibels(rms(difference) / rms(middle.map { Double(veryHigh[$0]) }))
        print("separation round trip, HQ against VHQ: \(relative) dB")
        #expect(relative < -110)
        #expect(relative > -200, "the recipes differ at all (HQ is not VHQ)")
    }

    /// The limits can fail: linear interpolation misses the passband limits on every pair and the
    /// aliasing or spurious (image) limit as well.
    @Test(arguments: pairs)
    func linearInterpolationFailsTheLimits(from: Int, to: Int) throws {
        let fixture = try ResamplerFixture()
        let c = try fixture.case(from: from, to: to)
        let quality = try ResamplerQuality.measure(fixture, c) { linearInterpolation($0, from: $1, to: $2) }
        print("linear interpolation \(c): \(quality)")
        let failed = Self.meets(quality)
        #expect(failed.contains("passband error") && failed.contains("passband deviation"), "\(c): \(quality)")
        #expect(failed.contains(to < from ? "aliasing" : "spurious"), "\(c): \(quality)")
    }

    /// The test builds the signal the script converted: the reference is the ideal conversion
    /// s(m / to) to within float32 rounding.
    @Test(arguments: pairs)
    func referenceIsTheIdealConversionOfTheTestSignal(from: Int, to: Int) throws {
        let fixture = try ResamplerFixture()
        let c = try fixture.case(from: from, to: to)
        let ideal = fixture.signal(c.passband, rate: to)
        #expect(ideal.count == c.reference.count)
        let error = zip(ideal, c.reference).map { $0 - Double($1) }
        #expect(decibels(rms(error) / rms(ideal)) < -140, "\(c)")
    }
}
