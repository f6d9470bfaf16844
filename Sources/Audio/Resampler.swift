import CSampleRate
import Foundation
import Support

/// Sample-rate conversion with libsamplerate's best converter (`SRC_SINC_BEST_QUALITY`: band-limited
/// sinc interpolation, about 97 % of the lower Nyquist band kept, 97 dB stop-band attenuation).
/// Sample n at the input rate and sample m at the output rate are aligned in time (t = n/from = m/to):
/// libsamplerate compensates its filter delay. The output has `round(count · to / from)` samples.
public enum Resampler {
    /// The number of samples `count` samples become.
    public static func outputCount(_ count: Int, from: Int, to: Int) -> Int {
        Int((Double(count) * Double(to) / Double(from)).rounded())
    }

    public static func resample(_ samples: [Float], from: Int, to: Int) throws -> [Float] {
        try resample(AudioBuffer(sampleRate: from, channels: [samples]), to: to).channels[0]
    }

    /// Every channel of `buffer`, converted to `rate`.
    public static func resample(_ buffer: AudioBuffer, to rate: Int) throws -> AudioBuffer {
        let from = buffer.sampleRate, channelCount = buffer.channelCount
        guard from > 0, rate > 0 else {
            throw CNNSepError("resample: rates must be positive (asked \(from) Hz → \(rate) Hz)")
        }
        let ratio = Double(rate) / Double(from)
        guard src_is_valid_ratio(ratio) != 0 else {
            throw CNNSepError("resample: \(from) Hz → \(rate) Hz is beyond libsamplerate's ratio range (1/256...256)")
        }
        if rate == from || buffer.frameCount == 0 || channelCount == 0 {
            return AudioBuffer(sampleRate: rate, channels: buffer.channels.map { rate == from ? $0 : [] })
        }
        try AudioFile.checkFinite(buffer, name: "resample input")
        let frames = buffer.frameCount
        let outFrames = outputCount(frames, from: from, to: rate)
        var input = [Float](repeating: 0, count: frames * channelCount)
        for c in 0..<channelCount {
            buffer.channels[c].withUnsafeBufferPointer { src in
                input.withUnsafeMutableBufferPointer { dst in
                    for n in 0..<frames { dst[n * channelCount + c] = src[n] }
                }
            }
        }
        // Room for libsamplerate's rounding; the result is cut or zero-padded to outFrames.
        let capacity = outFrames + 64
        var output = [Float](repeating: 0, count: capacity * channelCount)
        var generated = 0
        let status: Int32 = input.withUnsafeBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out in
                var data = SRC_DATA()
                data.data_in = inp.baseAddress
                data.data_out = out.baseAddress
                data.input_frames = frames
                data.output_frames = capacity
                data.src_ratio = ratio
                data.end_of_input = 1
                let status = src_simple(&data, Int32(SRC_SINC_BEST_QUALITY), Int32(channelCount))
                generated = Int(data.output_frames_gen)
                return status
            }
        }
        guard status == 0 else {
            throw CNNSepError("resample: libsamplerate failed (\(String(cString: src_strerror(status))))")
        }
        let kept = min(generated, outFrames)
        let channels = (0..<channelCount).map { c -> [Float] in
            var channel = [Float](repeating: 0, count: outFrames)
            for m in 0..<kept { channel[m] = output[m * channelCount + c] }
            return channel
        }
        return AudioBuffer(sampleRate: rate, channels: channels)
    }
}

/// `Resampler` for a long signal given piece by piece (same converter, same alignment): the pieces
/// it returns, concatenated, equal `Resampler.resample` of the whole signal, so a song can be
/// converted without holding it in memory. Give the pieces in order and mark the last one.
public final class StreamingResampler {
    public let from: Int, to: Int, channelCount: Int
    private var state: OpaquePointer?
    private var consumed = 0, produced = 0

    public init(from: Int, to: Int, channelCount: Int) throws {
        guard from > 0, to > 0, channelCount > 0 else {
            throw CNNSepError("resample: rates and channel count must be positive (asked \(from) Hz → \(to) Hz, \(channelCount) channels)")
        }
        guard src_is_valid_ratio(Double(to) / Double(from)) != 0 else {
            throw CNNSepError("resample: \(from) Hz → \(to) Hz is beyond libsamplerate's ratio range (1/256...256)")
        }
        (self.from, self.to, self.channelCount) = (from, to, channelCount)
        var error: Int32 = 0
        state = src_new(Int32(SRC_SINC_BEST_QUALITY), Int32(channelCount), &error)
        guard state != nil else { throw CNNSepError("resample: libsamplerate failed (\(String(cString: src_strerror(error))))") }
    }

    deinit { if let state { src_delete(state) } }

    /// Converts the next piece (one array per channel, all the same length, possibly empty). After the
    /// `last` piece the output is cut or zero-padded to `round(total · to / from)` samples in all.
    public func process(_ channels: [[Float]], last: Bool) throws -> [[Float]] {
        precondition(channels.count == channelCount, "StreamingResampler: \(channels.count) channels, expected \(channelCount)")
        let frames = channels.first?.count ?? 0
        consumed += frames
        if from == to { produced += frames; return channels }
        var input = [Float](repeating: 0, count: frames * channelCount)
        for c in 0..<channelCount { for n in 0..<frames { input[n * channelCount + c] = channels[c][n] } }
        let ratio = Double(to) / Double(from)
        var output: [Float] = []
        var offset = 0
        repeat {
            let capacity = Int(Double(frames - offset) * ratio) + 256
            var piece = [Float](repeating: 0, count: capacity * channelCount)
            var used = 0, generated = 0
            let status: Int32 = input.withUnsafeBufferPointer { inp in
                piece.withUnsafeMutableBufferPointer { out in
                    var data = SRC_DATA()
                    data.data_in = inp.baseAddress.map { $0 + offset * channelCount }
                    data.input_frames = frames - offset
                    data.data_out = out.baseAddress
                    data.output_frames = capacity
                    data.src_ratio = ratio
                    data.end_of_input = last ? 1 : 0
                    let status = src_process(state, &data)
                    (used, generated) = (Int(data.input_frames_used), Int(data.output_frames_gen))
                    return status
                }
            }
            guard status == 0 else { throw CNNSepError("resample: libsamplerate failed (\(String(cString: src_strerror(status))))") }
            output += piece[0..<generated * channelCount]
            offset += used
            // At the end, libsamplerate drains its filter over several calls until it has nothing left.
            if offset >= frames && (!last || generated == 0) { break }
        } while true
        var outFrames = output.count / channelCount
        if last {
            let total = Resampler.outputCount(consumed, from: from, to: to)
            let wanted = max(0, total - produced)
            if outFrames > wanted { output.removeLast((outFrames - wanted) * channelCount) }
            if outFrames < wanted { output += [Float](repeating: 0, count: (wanted - outFrames) * channelCount) }
            outFrames = wanted
        }
        produced += outFrames
        return (0..<channelCount).map { c in (0..<outFrames).map { output[$0 * channelCount + c] } }
    }
}
