import CSndFile
import Foundation
import Support

/// Reading and writing audio files with libsndfile.
///
/// Reads WAV (8/16/24/32-bit PCM, 32/64-bit float), FLAC, OGG Vorbis, AIFF, and MP3 (libsndfile ≥ 1.1
/// built with mpg123, as Debian 12's is); any channel count and rate; samples come back as floats with
/// full scale ±1. Every problem with a file is a one-line `CNNSepError` naming the file.
///
/// Writes atomically (a temporary file beside the destination, then a rename), 16-bit PCM by default.
/// The container follows the destination's extension: `.wav` (or none), `.flac`, `.aif`/`.aiff`,
/// `.ogg` (Vorbis; the sample format is ignored), `.mp3` (the sample format is ignored; constant
/// bit rate, 320 kbit/s unless `AudioFileWriter` is told otherwise). `AudioFileFormat` names the
/// combinations `predict` offers.
public enum AudioFile {
    /// The header of `url`: rate, channels, length and format. Does not decode the samples.
    public static func info(_ url: URL) throws -> AudioInfo {
        try AudioFileReader(url, allowEmpty: true).info
    }

    /// All samples of `url`, or only `frames` (a range of sample frames within the file), found with
    /// a seek so that a stretch of a long file costs only its own length.
    /// Throws for a missing, unreadable, truncated or empty file, a range outside the file, or NaN/Inf samples.
    public static func read(_ url: URL, frames: Range<Int>? = nil) throws -> AudioBuffer {
        let reader = try AudioFileReader(url)
        let range = frames ?? 0..<reader.info.frameCount
        guard range.lowerBound >= 0, range.upperBound <= reader.info.frameCount else {
            throw CNNSepError("\(url.relativePath): frames \(range.lowerBound)..<\(range.upperBound) requested, "
                              + "but the file has \(reader.info.frameCount) frames")
        }
        try reader.seek(to: range.lowerBound)
        let buffer = try reader.read(frames: range.count)
        guard buffer.frameCount == range.count else {
            throw CNNSepError("\(url.relativePath): truncated (header promises \(reader.info.frameCount) frames, "
                              + "only \(range.lowerBound + buffer.frameCount) could be decoded)")
        }
        return buffer
    }

    /// Writes `buffer` to `url` atomically. Samples beyond ±1 are clipped and counted in the report
    /// (`.float` stores them unchanged); with `rescale`, a buffer whose peak exceeds 1 is instead
    /// multiplied by 1/peak and the report gives that factor. Throws, writing nothing, for an empty
    /// buffer, NaN/Inf samples, an unknown extension or an impossible format.
    @discardableResult
    public static func write(_ buffer: AudioBuffer, to url: URL, format: SampleFormat = .wav16,
                             rescale: Bool = false) throws -> WriteReport {
        guard buffer.channelCount > 0, buffer.frameCount > 0 else {
            throw CNNSepError("\(url.path): nothing to write (the audio has no samples)")
        }
        try checkFinite(buffer, name: url.path)
        let peak = buffer.peak
        let scale: Float = rescale && peak > 1 ? 1 / peak : 1
        let fileFormat = try SndFormat.forWriting(url, format: format)
        return try AtomicFile.write(to: url) { temporary in
            let sink = try SndSink(path: temporary.path, name: url.path, sampleRate: buffer.sampleRate,
                                   channelCount: buffer.channelCount, format: fileFormat)
            do {
                try sink.write(buffer, scale: scale)
                try sink.close()
            } catch {
                sink.closeQuietly()
                throw error
            }
            return WriteReport(clippedSamples: sink.clipped, scale: scale)
        }
    }

    static func checkFinite(_ buffer: AudioBuffer, name: String, frameOffset: Int = 0) throws {
        for (c, channel) in buffer.channels.enumerated() {
            if let n = channel.firstIndex(where: { !$0.isFinite }) {
                throw CNNSepError("\(name): sample \(frameOffset + n) of channel \(c) is \(channel[n]); "
                                  + "audio must be finite")
            }
        }
    }
}

/// Sequential reading of a long file in pieces.
public final class AudioFileReader {
    public let url: URL
    public let info: AudioInfo
    /// The next frame `read` returns.
    public private(set) var position = 0
    private var file: OpaquePointer?

    /// Opens `url` and reads its header. Throws for a missing, unreadable, non-audio or empty file.
    public convenience init(_ url: URL) throws { try self.init(url, allowEmpty: false) }

    init(_ url: URL, allowEmpty: Bool) throws {
        self.url = url
        let path = url.path, name = url.relativePath
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CNNSepError("\(name): no such file")
        }
        guard !isDirectory.boolValue else { throw CNNSepError("\(name): is a folder, not an audio file") }
        // Opening a FIFO (or a device) blocks until a writer appears: refuse anything but a regular file.
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFREG {
            throw CNNSepError("\(name): not a regular file (a FIFO, socket or device), expected an audio file")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw CNNSepError("\(name): not readable (permission denied)")
        }
        var sfInfo = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &sfInfo) else {
            let reason = String(cString: sf_strerror(nil)).trimmingCharacters(in: .whitespacesAndNewlines)
            throw CNNSepError("\(name): not an audio file libsndfile can read (\(reason))")
        }
        file = handle
        info = AudioInfo(sampleRate: Int(sfInfo.samplerate), channelCount: Int(sfInfo.channels),
                         frameCount: Int(sfInfo.frames), format: SndFormat.describe(sfInfo.format))
        if Self.logSaysTruncated(handle) {
            sf_close(handle); file = nil
            throw CNNSepError("\(name): truncated (the file is shorter than its header says)")
        }
        // libsndfile reports SF_COUNT_MAX when it cannot tell a stream's length.
        guard info.frameCount >= 0, info.frameCount < 1 << 40 else {
            sf_close(handle); file = nil
            throw CNNSepError("\(name): length unknown (the file is damaged or truncated)")
        }
        guard info.sampleRate > 0, info.channelCount > 0 else {
            sf_close(handle); file = nil
            throw CNNSepError("\(name): header gives \(info.sampleRate) Hz and \(info.channelCount) channels")
        }
        if !allowEmpty && info.frameCount == 0 {
            sf_close(handle); file = nil
            throw CNNSepError("\(name): contains no audio (0 frames)")
        }
    }

    deinit { if let file { sf_close(file) } }

    /// Moves to `frame` (0...frameCount) without decoding what lies before it.
    public func seek(to frame: Int) throws {
        guard let file else { throw CNNSepError("\(url.relativePath): reader is closed") }
        guard frame >= 0, frame <= info.frameCount else {
            throw CNNSepError("\(url.relativePath): cannot seek to frame \(frame) of \(info.frameCount)")
        }
        if frame == position { return }
        guard sf_seek(file, sf_count_t(frame), SEEK_SET) == sf_count_t(frame) else {
            throw CNNSepError("\(url.relativePath): cannot seek to frame \(frame) (\(Self.error(file)))")
        }
        position = frame
    }

    /// The next `frames` frames (fewer at the end of the file; an empty buffer once it is exhausted).
    /// Throws if the file ends before its header says or holds NaN/Inf samples.
    public func read(frames: Int) throws -> AudioBuffer {
        precondition(frames >= 0, "AudioFileReader.read: negative frame count")
        guard let file else { throw CNNSepError("\(url.relativePath): reader is closed") }
        let wanted = min(frames, info.frameCount - position)
        let channelCount = info.channelCount
        var channels = [[Float]](repeating: [Float](repeating: 0, count: max(wanted, 0)), count: channelCount)
        guard wanted > 0 else {
            return AudioBuffer(sampleRate: info.sampleRate, channels: channels.map { _ in [] })
        }
        let chunk = min(wanted, 1 << 16)
        var interleaved = [Float](repeating: 0, count: chunk * channelCount)
        var done = 0
        while done < wanted {
            let count = min(chunk, wanted - done)
            let got = Int(interleaved.withUnsafeMutableBufferPointer {
                sf_readf_float(file, $0.baseAddress, sf_count_t(count))
            })
            interleaved.withUnsafeBufferPointer { src in
                for c in 0..<channelCount {
                    channels[c].withUnsafeMutableBufferPointer { dst in
                        for i in 0..<got { dst[done + i] = src[i * channelCount + c] }
                    }
                }
            }
            done += got
            if got < count {
                let detail = sf_error(file) != 0 ? ", \(Self.error(file))" : ""
                throw CNNSepError("\(url.relativePath): truncated or damaged (decoding stopped at frame "
                                  + "\(position + done) of \(info.frameCount)\(detail))")
            }
        }
        let buffer = AudioBuffer(sampleRate: info.sampleRate, channels: channels)
        try AudioFile.checkFinite(buffer, name: url.relativePath, frameOffset: position)
        position += done
        return buffer
    }

    private static func error(_ file: OpaquePointer) -> String {
        String(cString: sf_strerror(file)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// libsndfile opens a WAV/AIFF whose data chunk runs past the end of the file and quietly
    /// shortens it; its log is the only place that says so.
    private static func logSaysTruncated(_ file: OpaquePointer) -> Bool {
        var log = [CChar](repeating: 0, count: 4096)
        _ = sf_command(file, Int32(SFC_GET_LOG_INFO), &log, Int32(log.count))
        let lines = String(cString: log).lowercased().split(separator: "\n")
        // WAV: "data : 176400 (should be 88178)"; AIFF: "*** Chunk size 176408 > file length 88227".
        return lines.contains { line in
            (line.hasPrefix("data") && line.contains("should be")) || line.contains("> file length")
                || line.contains("not equal to frame count")
        }
    }
}

/// Writes a long file piece by piece into a temporary file beside the destination; `commit` renames
/// it into place, `abandon` (or dropping the writer without committing) deletes it. Samples beyond
/// ±1 are clipped and counted (except for `.float`); there is no rescale (the peak is not known in
/// advance). Samples are checked for NaN/Inf before anything of a piece is written.
public final class AudioFileWriter {
    public let url: URL
    public let sampleRate: Int
    public let channelCount: Int
    private let temporary: URL
    private var sink: SndSink?
    private var finished = false

    /// `mp3Bitrate`: kbit/s when `url` is an `.mp3` (constant bit rate).
    public init(_ url: URL, sampleRate: Int, channelCount: Int, format: SampleFormat,
                mp3Bitrate: Int = MP3BitRate.default) throws {
        self.url = url
        self.sampleRate = sampleRate
        self.channelCount = channelCount
        let fileFormat = try SndFormat.forWriting(url, format: format)
        temporary = try AtomicFile.temporaryURL(for: url)
        do {
            sink = try SndSink(path: temporary.path, name: url.path, sampleRate: sampleRate,
                               channelCount: channelCount, format: fileFormat, mp3Bitrate: mp3Bitrate)
        } catch {
            AtomicFile.abandon(temporary)
            throw error
        }
    }

    deinit { if !finished { abandon() } }

    /// Appends `buffer` (same rate and channel count as the writer).
    public func write(_ buffer: AudioBuffer) throws {
        guard let sink, !finished else { throw CNNSepError("\(url.path): writer already finished") }
        guard buffer.channelCount == channelCount, buffer.sampleRate == sampleRate else {
            throw CNNSepError("\(url.path): writer expects \(channelCount) channels at \(sampleRate) Hz, "
                              + "got \(buffer.channelCount) at \(buffer.sampleRate) Hz")
        }
        try AudioFile.checkFinite(buffer, name: url.path, frameOffset: sink.framesWritten)
        try sink.write(buffer, scale: 1)
    }

    /// Finishes the file and renames it into place. Throws (and deletes the temporary file) if nothing
    /// was written or the file cannot be completed.
    @discardableResult
    public func commit() throws -> WriteReport {
        guard let sink, !finished else { throw CNNSepError("\(url.path): writer already finished") }
        guard sink.framesWritten > 0 else {
            abandon()
            throw CNNSepError("\(url.path): nothing to write (the audio has no samples)")
        }
        do {
            try sink.close()
            try AtomicFile.commit(temporary, to: url)
        } catch {
            abandon()
            throw error
        }
        finished = true
        self.sink = nil
        return WriteReport(clippedSamples: sink.clipped, scale: 1)
    }

    /// Deletes the temporary file; the destination is left as it was.
    public func abandon() {
        sink?.closeQuietly()
        sink = nil
        AtomicFile.abandon(temporary)
        finished = true
    }
}

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
