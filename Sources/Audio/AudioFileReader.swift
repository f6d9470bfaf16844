import CSndFile
import Foundation
import Support

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
