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
