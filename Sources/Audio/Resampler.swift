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
