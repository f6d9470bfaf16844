import CSndFile
import Foundation
import Support

/// An open libsndfile handle being written, with clipping and counting.
final class SndSink {
    let name: String
    let channelCount: Int
    let clips: Bool
    private var file: OpaquePointer?
    private(set) var clipped = 0
    private(set) var framesWritten = 0

    /// `mp3Bitrate`: kbit/s of an MP3 file (constant), ignored for other formats.
    init(path: String, name: String, sampleRate: Int, channelCount: Int, format: Int32,
         mp3Bitrate: Int = MP3BitRate.default) throws {
        self.name = name
        self.channelCount = channelCount
        clips = format & Int32(SF_FORMAT_SUBMASK) != Int32(SF_FORMAT_FLOAT)
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

    func write(_ buffer: AudioBuffer, scale: Float) throws {
        guard let file else { throw CNNSepError("\(name): already closed") }
        let frames = buffer.frameCount
        let chunk = min(max(frames, 1), 1 << 16)
        var interleaved = [Float](repeating: 0, count: chunk * channelCount)
        var start = 0
        while start < frames {
            let count = min(chunk, frames - start)
            var clippedHere = 0
            interleaved.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channelCount {
                    buffer.channels[c].withUnsafeBufferPointer { src in
                        for i in 0..<count {
                            var x = src[start + i] * scale
                            if clips && abs(x) > 1 { clippedHere += 1; x = x > 0 ? 1 : -1 }
                            dst[i * channelCount + c] = x
                        }
                    }
                }
            }
            clipped += clippedHere
            let written = Int(interleaved.withUnsafeBufferPointer {
                sf_writef_float(file, $0.baseAddress, sf_count_t(count))
            })
            guard written == count else {
                let reason = String(cString: sf_strerror(file)).trimmingCharacters(in: .whitespacesAndNewlines)
                throw CNNSepError("\(name): cannot write (\(reason))")
            }
            start += count
            framesWritten += count
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
