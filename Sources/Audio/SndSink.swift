import CSndFile
import Foundation
import Support

/// An open libsndfile handle being written, with clipping and counting. 16-bit PCM in WAV and AIFF
/// is converted here (`PCM16Conversion`, libsndfile's own rounding) and handed over as integers;
/// everything else goes as floats (clamped to ±1 unless the file holds floats) for libsndfile to encode.
final class SndSink {
    let name: String
    let channelCount: Int
    let clips: Bool
    /// Whether samples go to libsndfile as 16-bit integers (see `PCM16Conversion`).
    let pcm16: Bool
    private var shorts: [Int16] = []
    private var floats: [Float] = []
    private var file: OpaquePointer?
    private(set) var clipped = 0
    private(set) var framesWritten = 0

    /// `mp3Bitrate`: kbit/s of an MP3 file (constant), ignored for other formats.
    init(path: String, name: String, sampleRate: Int, channelCount: Int, format: Int32,
         mp3Bitrate: Int = MP3BitRate.default) throws {
        self.name = name
        self.channelCount = channelCount
        clips = format & Int32(SF_FORMAT_SUBMASK) != Int32(SF_FORMAT_FLOAT)
        let container = Int(format) & SF_FORMAT_TYPEMASK
        pcm16 = Int(format) & SF_FORMAT_SUBMASK == SF_FORMAT_PCM_16 && (container == SF_FORMAT_WAV || container == SF_FORMAT_AIFF)
        guard sampleRate > 0, channelCount > 0 else {
            throw CNNSepError("\(name): cannot write \(channelCount) channels at \(sampleRate) Hz")
        }
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channelCount)
        info.format = format
        guard sf_format_check(&info) != 0 else {
            throw CNNSepError("\(name): libsndfile cannot write \(SndFormat.describe(format)) with "
                              + "\(channelCount) channels at \(sampleRate) Hz")
        }
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            let reason = String(cString: sf_strerror(nil)).trimmingCharacters(in: .whitespacesAndNewlines)
            throw CNNSepError("\(name): cannot write (\(reason))")
        }
        file = handle
        if clips { sf_command(handle, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE)) }
        if Int(format) & SF_FORMAT_TYPEMASK == SF_FORMAT_MPEG {
            // Both before the first sample (LAME is configured when encoding starts), the level first:
            // setting the mode re-applies the level and fails while none is set.
            var mode = Int32(SF_BITRATE_MODE_CONSTANT)
            var level = MP3BitRate.compressionLevel(kbps: mp3Bitrate, sampleRate: sampleRate)
            guard sf_command(handle, Int32(SFC_SET_COMPRESSION_LEVEL), &level, Int32(MemoryLayout<Double>.size)) == Int32(SF_TRUE),
                  sf_command(handle, Int32(SFC_SET_BITRATE_MODE), &mode, Int32(MemoryLayout<Int32>.size)) == Int32(SF_TRUE) else {
                sf_close(handle); file = nil
                throw CNNSepError("\(name): libsndfile cannot set the MP3 bit rate to \(mp3Bitrate) kbit/s")
            }
        }
    }

    deinit { closeQuietly() }

    /// Appends `buffer` × `scale`, converted `framesPerPass` frames at a time (one pass interleaves,
    /// clips, counts and checks each stretch before any of it is handed to libsndfile). Throws for
    /// NaN/Inf naming the first such sample; stretches before it are already in the file.
    func write(_ buffer: AudioBuffer, scale: Float, framesPerPass: Int = 1 << 16) throws {
        guard let file else { throw CNNSepError("\(name): already closed") }
        let frames = buffer.frameCount
        let pass = min(max(frames, 1), framesPerPass)
        try withBaseAddresses(buffer.channels) { baseAddresses in
            let channels = baseAddresses.map { $0 ?? UnsafePointer(bitPattern: 8)! }  // nil only when empty: never read
            var start = 0
            while start < frames {
                let range = start..<min(start + pass, frames)
                let tally: ConversionTally, written: Int
                if pcm16 {
                    if shorts.count < pass * channelCount { shorts = [Int16](repeating: 0, count: pass * channelCount) }
                    var conversion = PCM16Conversion(scale: scale)
                    shorts.withUnsafeMutableBufferPointer { interleave(channels, frames: range, into: $0.baseAddress!, with: &conversion) }
                    tally = conversion.tally
                    try Self.checkFinite(tally, channels, range, name: name, firstFrame: framesWritten - start)
                    written = Int(sf_writef_short(file, shorts, sf_count_t(range.count)))
                } else {
                    if floats.count < pass * channelCount { floats = [Float](repeating: 0, count: pass * channelCount) }
                    var conversion = FloatConversion(scale: scale, clips: clips)
                    floats.withUnsafeMutableBufferPointer { interleave(channels, frames: range, into: $0.baseAddress!, with: &conversion) }
                    tally = conversion.tally
                    try Self.checkFinite(tally, channels, range, name: name, firstFrame: framesWritten - start)
                    written = Int(sf_writef_float(file, floats, sf_count_t(range.count)))
                }
                guard written == range.count else {
                    let reason = String(cString: sf_strerror(file)).trimmingCharacters(in: .whitespacesAndNewlines)
                    throw CNNSepError("\(name): cannot write (\(reason))")
                }
                clipped += tally.clipped
                framesWritten += range.count
                start = range.upperBound
            }
        }
    }

    /// The error for the first NaN/Inf in `range` when the pass found one; frame n of the buffer is
    /// frame `firstFrame + n` of the file.
    private static func checkFinite(_ tally: ConversionTally, _ channels: [UnsafePointer<Float>], _ range: Range<Int>,
                                    name: String, firstFrame: Int) throws {
        guard !tally.finite else { return }
        for n in range {
            for (c, channel) in channels.enumerated() where !channel[n].isFinite {
                throw CNNSepError("\(name): sample \(firstFrame + n) of channel \(c) is \(channel[n]); audio must be finite")
            }
        }
    }

    func close() throws {
        guard let file else { return }
        self.file = nil
        let status = sf_close(file)
        guard status == 0 else {
            throw CNNSepError("\(name): cannot finish writing (\(String(cString: sf_error_number(status))))")
        }
    }

    func closeQuietly() {
        if let file { sf_close(file) }
        file = nil
    }
}
