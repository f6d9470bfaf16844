import Foundation
import Testing
@testable import Audio
import Support

/// One sine of a test signal.
struct Tone {
    let frequency, amplitude, phase: Double
}

/// The committed fixture of scripts/make_resampler_fixture.py: per rate pair, a passband multitone
/// and scipy's `resample_poly` of it (a 180 dB Kaiser FIR), and for downward pairs single tones
/// above the target Nyquist frequency.
struct ResamplerFixture {
    struct Case: CustomStringConvertible {
        let from, to: Int
        let passband: [Tone]
        let stopband: [Tone]
        let reference: [Float]
        var description: String { "\(from) → \(to) Hz" }
    }
    let seconds: Double
    let cases: [Case]

    init() throws {
        let folder = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures")
        let data = try Data(contentsOf: folder.appendingPathComponent("resampler_reference.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        seconds = try #require(json["seconds"] as? Double)
        func tones(_ value: Any?) -> [Tone] {
            (value as? [[String: Double]] ?? []).map { Tone(frequency: $0["frequency"]!, amplitude: $0["amplitude"]!, phase: $0["phase"]!) }
        }
        cases = try (try #require(json["cases"] as? [[String: Any]])).map { c in
            let file = folder.appendingPathComponent(try #require(c["reference"] as? String))
            return Case(from: try #require(c["from"] as? Int), to: try #require(c["to"] as? Int),
                        passband: tones(c["passband_tones"]), stopband: tones(c["stopband_tones"]),
                        reference: try AudioFile.read(file).channels[0])
        }
    }

    func `case`(from: Int, to: Int) throws -> Case { try #require(cases.first { $0.from == from && $0.to == to }) }

    /// The script's signal: s(t) = sin⁸(π t / T) · Σ a sin(2π f t + φ) at t = n / rate (float64, then float32).
    func signal(_ tones: [Tone], rate: Int) -> [Double] {
        let count = Int((seconds * Double(rate)).rounded())
        return (0..<count).map { n in
            let t = Double(n) / Double(rate)
            return taper(t) * tones.reduce(0) { $0 + $1.amplitude * sin(2 * .pi * $1.frequency * t + $1.phase) }
        }
    }

    func taper(_ t: Double) -> Double { pow(sin(.pi * t / seconds), 8) }
}

/// What a converter does to the fixture's signals, in dB (lower is better).
struct ResamplerQuality: CustomStringConvertible {
    /// RMS of (ours − resample_poly) over RMS of resample_poly, for the passband multitone.
    var passbandError: Double
    /// Largest |gain| of a passband tone, from a least-squares fit of all tones at their frequencies.
    var passbandDeviation: Double
    /// What the fit leaves (images, aliases, noise) over the signal's RMS.
    var spurious: Double
    /// Downward pairs: the largest output RMS of a tone above the target Nyquist over its input RMS.
    var aliasing: Double?

    var description: String {
        String(format: "passband error %.1f dB, worst tone gain %.4f dB, spurious %.1f dB, aliasing %@",
               passbandError, passbandDeviation, spurious, aliasing.map { String(format: "%.1f dB", $0) } ?? "n/a")
    }

    static func measure(_ fixture: ResamplerFixture, _ c: ResamplerFixture.Case,
                        convert: ([Float], Int, Int) throws -> [Float]) throws -> ResamplerQuality {
        let input = fixture.signal(c.passband, rate: c.from).map { Float($0) }
        let output = try convert(input, c.from, c.to).map(Double.init)
        #expect(output.count == c.reference.count, "\(c): \(output.count) samples, expected \(c.reference.count)")
        let reference = c.reference.map(Double.init)
        let error = zip(output, reference).map { $0 - $1 }
        let fit = fitTones(output, c.passband.map(\.frequency), rate: c.to, taper: fixture.taper)
        let deviation = zip(fit.amplitudes, c.passband).map { Swift.abs(decibels($0 / $1.amplitude)) }.max() ?? 0
        var aliasing: Double?
        for tone in c.stopband {
            let x = fixture.signal([tone], rate: c.from).map { Float($0) }
            let y = try convert(x, c.from, c.to).map(Double.init)
            let level = decibels(rms(y) / rms(x.map(Double.init)))
            aliasing = max(aliasing ?? -.infinity, level)
        }
        return ResamplerQuality(passbandError: decibels(rms(error) / rms(reference)), passbandDeviation: deviation,
                                spurious: decibels(rms(fit.residual) / rms(reference)), aliasing: aliasing)
    }
}

func rms(_ x: [Double]) -> Double { sqrt(x.reduce(0) { $0 + $1 * $1 } / Double(max(1, x.count))) }
func decibels(_ ratio: Double) -> Double { 20 * log10(max(ratio, 1e-300)) }

/// Least-squares fit of y by w(t)·cos and w(t)·sin at each frequency (t = m / rate): the amplitude of
/// each tone and what remains. Solved by Gaussian elimination on the normal equations (double).
func fitTones(_ y: [Double], _ frequencies: [Double], rate: Int, taper: (Double) -> Double) -> (amplitudes: [Double], residual: [Double]) {
    let k = 2 * frequencies.count
    var basis: [[Double]] = []
    for f in frequencies {
        let times = (0..<y.count).map { Double($0) / Double(rate) }
        basis.append(times.map { t in taper(t) * cos(2 * .pi * f * t) })
        basis.append(times.map { t in taper(t) * sin(2 * .pi * f * t) })
    }
    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    var a = (0..<k).map { i in (0..<k).map { j in dot(basis[i], basis[j]) } + [dot(basis[i], y)] }
    for col in 0..<k {
        let pivot = (col..<k).max { Swift.abs(a[$0][col]) < Swift.abs(a[$1][col]) }!
        a.swapAt(col, pivot)
        for row in 0..<k where row != col {
            let factor = a[row][col] / a[col][col]
            for j in col...k { a[row][j] -= factor * a[col][j] }
        }
    }
    let coefficients = (0..<k).map { a[$0][k] / a[$0][$0] }
    var residual = y
    for i in 0..<k { for m in 0..<y.count { residual[m] -= coefficients[i] * basis[i][m] } }
    let amplitudes = stride(from: 0, to: k, by: 2).map { hypot(coefficients[$0], coefficients[$0 + 1]) }
    return (amplitudes, residual)
}

/// A deliberately naive converter: linear interpolation between the two nearest input samples
/// (aligned as the contract says, t = n / from = m / to), no low-pass filter at all.
func linearInterpolation(_ x: [Float], from: Int, to: Int) -> [Float] {
    (0..<Resampler.outputCount(x.count, from: from, to: to)).map { m in
        let position = Double(m) * Double(from) / Double(to)
        let n = Int(position), frac = Float(position - Double(n))
        let a = x[min(n, x.count - 1)], b = n + 1 < x.count ? x[n + 1] : 0
        return a + frac * (b - a)
    }
}
