import CSoxr
import Foundation
import Support

/// Sample-rate conversion with libsoxr (the resampler of sox, ffmpeg's soxr option and librosa's
/// default) at `ResamplerRecipe.standard`. Sample n at the input rate and sample m at the output
/// rate are aligned in time (t = n/from = m/to): the recipe is linear phase and libsoxr drops its
/// filter delay. The output has `round(count · to / from)` samples. Passband error and aliasing
/// against scipy's resample_poly: Tests/AudioTests/ResamplerQualityTests.swift; speed: BENCHMARKS.md.
public enum Resampler {
    /// Names the converter and its setting; `FeatureCache` keys resampled songs' entries by it, so
    /// features made by another converter are rebuilt.
    public static var identity: String { "\(String(cString: soxr_version())) \(ResamplerRecipe.standard)" }

    /// The number of samples `count` samples become.
    public static func outputCount(_ count: Int, from: Int, to: Int) -> Int {
        Int((Double(count) * Double(to) / Double(from)).rounded())
    }

    /// The input rates that can be converted to `rate`: libsoxr's ratios, 1/256...256.
    public static func convertibleRates(to rate: Int) -> ClosedRange<Int> {
        (rate + 255) / 256...rate * 256
    }

    public static func resample(_ samples: [Float], from: Int, to: Int) throws -> [Float] {
        try resample(AudioBuffer(sampleRate: from, channels: [samples]), to: to).channels[0]
    }

    /// Every channel of `buffer`, converted to `rate`.
    public static func resample(_ buffer: AudioBuffer, to rate: Int) throws -> AudioBuffer {
        try resample(buffer, to: rate, recipe: .standard)
    }

    /// The same with another recipe (benchmarks compare them).
    public static func resample(_ buffer: AudioBuffer, to rate: Int, recipe: ResamplerRecipe) throws -> AudioBuffer {
        try StreamingResampler.check(from: buffer.sampleRate, to: rate, channelCount: max(1, buffer.channelCount))
        if rate == buffer.sampleRate || buffer.frameCount == 0 || buffer.channelCount == 0 {
            return AudioBuffer(sampleRate: rate, channels: buffer.channels.map { rate == buffer.sampleRate ? $0 : [] })
        }
        try AudioFile.checkFinite(buffer, name: "resample input")
        let converter = try StreamingResampler(from: buffer.sampleRate, to: rate, channelCount: buffer.channelCount, recipe: recipe)
        return AudioBuffer(sampleRate: rate, channels: try converter.process(buffer.channels, last: true))
    }
}

/// A libsoxr quality recipe (`soxr_quality_spec`): precision, passband shape and phase response.
public struct ResamplerRecipe: Sendable, Equatable, CustomStringConvertible {
    public enum Precision: String, Sendable {
        case high = "SOXR_HQ"           // 20-bit, about 120 dB
        case veryHigh = "SOXR_VHQ"      // 28-bit, about 170 dB (below float32's own rounding)
    }
    public enum Phase: String, Sendable {
        case linear, intermediate, minimum
    }
    public var precision: Precision
    /// `SOXR_ROLLOFF_NONE`: flat up to the passband end (0.91 of the lower Nyquist frequency). Without it
    /// libsoxr lets the passband droop by up to 0.01 dB towards that end (0.007 dB at 0.9, measured).
    public var flatPassband: Bool
    /// Only linear phase keeps t = n/from = m/to for every frequency.
    public var phase: Phase

    public init(precision: Precision, flatPassband: Bool = true, phase: Phase = .linear) {
        (self.precision, self.flatPassband, self.phase) = (precision, flatPassband, phase)
    }

    /// What `Resampler` uses, chosen by measurement (BENCHMARKS.md, Audio).
    public static let standard = ResamplerRecipe(precision: .veryHigh)
    /// Separation's own conversions (a song to the model's rate, three stems back; "other" is the
    /// remainder at the song's rate, so the stems add up to the input whatever the converter): about
    /// −130 dB from scipy's resample_poly, far below any separation's error, and 1.4–2.8× faster
    /// (ResamplerQualityTests, BENCHMARKS.md Separation).
    public static let separation = ResamplerRecipe(precision: .high)

    public var description: String {
        "\(precision.rawValue) \(phase) phase\(flatPassband ? " flat passband" : "")"
    }

    var spec: soxr_quality_spec_t {
        let precisionBits = precision == .high ? SOXR_HQ : SOXR_VHQ
        let phaseBits = phase == .linear ? SOXR_LINEAR_PHASE : phase == .intermediate ? SOXR_INTERMEDIATE_PHASE : SOXR_MINIMUM_PHASE
        return soxr_quality_spec(UInt(precisionBits | phaseBits), flatPassband ? UInt(SOXR_ROLLOFF_NONE) : 0)
    }
}

/// `Resampler` for a long signal given piece by piece (same converter, same alignment): the pieces
/// it returns, concatenated, equal `Resampler.resample` of the whole signal, so a song can be
/// converted without holding it in memory. Give the pieces in order and mark the last one.
public final class StreamingResampler {
    public let from: Int, to: Int, channelCount: Int
    private let soxr: soxr_t?
    /// Output frames per soxr_process call: libsoxr then takes a matching amount of input per call,
    /// so its buffers stay small and in cache whatever the piece size (a whole song at once was
    /// slower, BENCHMARKS.md).
    private static let capacity = 16384
    private let scratch: UnsafeMutablePointer<Float>
    private var consumed = 0, produced = 0

    static func check(from: Int, to: Int, channelCount: Int) throws {
        guard from > 0, to > 0, channelCount > 0 else {
            throw CNNSepError("resample: rates and channel count must be positive (asked \(from) Hz → \(to) Hz, \(channelCount) channels)")
        }
        guard Resampler.convertibleRates(to: to).contains(from) else {
            throw CNNSepError("resample: \(from) Hz → \(to) Hz is beyond the supported ratio range (1/256...256)")
        }
    }

    public init(from: Int, to: Int, channelCount: Int, recipe: ResamplerRecipe = .standard) throws {
        try Self.check(from: from, to: to, channelCount: channelCount)
        (self.from, self.to, self.channelCount) = (from, to, channelCount)
        scratch = .allocate(capacity: from == to ? 0 : Self.capacity * channelCount)
        if from == to { soxr = nil; return }
        var io = soxr_io_spec(SOXR_FLOAT32_S, SOXR_FLOAT32_S)     // one buffer per channel, no interleaving
        var quality = recipe.spec
        var runtime = soxr_runtime_spec(1)                         // callers run channels/stems on the cores
        var error: soxr_error_t?
        soxr = soxr_create(Double(from), Double(to), UInt32(channelCount), &error, &io, &quality, &runtime)
        if let error { scratch.deallocate(); throw CNNSepError("resample: libsoxr failed (\(String(cString: error)))") }
    }

    deinit {
        if let soxr { soxr_delete(soxr) }
        scratch.deallocate()
    }

    /// Converts the next piece (one array per channel, all the same length, possibly empty). After the
    /// `last` piece the output is cut or zero-padded to `round(total · to / from)` samples in all.
    public func process(_ channels: [[Float]], last: Bool) throws -> [[Float]] {
        precondition(channels.count == channelCount, "StreamingResampler: \(channels.count) channels, expected \(channelCount)")
        let frames = channels.first?.count ?? 0
        precondition(channels.allSatisfy { $0.count == frames }, "StreamingResampler: channels of different lengths")
        consumed += frames
        guard let soxr else { produced += frames; return channels }
        let wanted = last ? max(0, Resampler.outputCount(consumed, from: from, to: to) - produced) : nil
        let capacity = Self.capacity, scratch = scratch
        var output = [[Float]](repeating: [], count: channelCount)
        for c in 0..<channelCount { output[c].reserveCapacity(Resampler.outputCount(frames, from: from, to: to) + (last ? capacity : 16)) }
        let outPointers: [UnsafeMutableRawPointer?] = (0..<channelCount).map { UnsafeMutableRawPointer(scratch + $0 * capacity) }
        /// One soxr_process call from `input` (nil: end of input), collecting what it gives.
        func run(_ input: [UnsafePointer<Float>?]?, offset: Int, length: Int) throws -> (used: Int, given: Int) {
            var used = 0, given = 0
            let error: soxr_error_t? = outPointers.withUnsafeBufferPointer { out in
                guard let input else { return soxr_process(soxr, nil, 0, nil, UnsafeMutableRawPointer(mutating: out.baseAddress), capacity, &given) }
                let shifted: [UnsafeRawPointer?] = input.map { $0.map { UnsafeRawPointer($0 + offset) } }
                return shifted.withUnsafeBufferPointer { inp in
                    soxr_process(soxr, UnsafeRawPointer(inp.baseAddress), length, &used, UnsafeMutableRawPointer(mutating: out.baseAddress), capacity, &given)
                }
            }
            if let error { throw CNNSepError("resample: libsoxr failed (\(String(cString: error)))") }
            for c in 0..<channelCount { output[c].append(contentsOf: UnsafeBufferPointer(start: scratch + c * capacity, count: given)) }
            return (used, given)
        }
        if frames > 0 {
            try withBaseAddresses(channels) { input in
                var offset = 0
                while offset < frames {
                    let step = try run(input, offset: offset, length: frames - offset)
                    guard step.used > 0 || step.given > 0 else { throw CNNSepError("resample: libsoxr took no input and gave no output") }
                    offset += step.used
                }
            }
        }
        if last { while try run(nil, offset: 0, length: 0).given > 0 {} }
        var outFrames = output[0].count
        if let wanted {
            for c in 0..<channelCount {
                if outFrames > wanted { output[c].removeLast(outFrames - wanted) }
                if outFrames < wanted { output[c] += [Float](repeating: 0, count: wanted - outFrames) }
            }
            outFrames = wanted
        }
        produced += outFrames
        return output
    }
}

/// Calls `body` with the base address of every array, all valid at once.
func withBaseAddresses<R>(_ arrays: [[Float]], _ body: ([UnsafePointer<Float>?]) throws -> R) throws -> R {
    func step(_ i: Int, _ pointers: [UnsafePointer<Float>?]) throws -> R {
        if i == arrays.count { return try body(pointers) }
        return try arrays[i].withUnsafeBufferPointer { try step(i + 1, pointers + [$0.baseAddress]) }
    }
    return try step(0, [])
}
