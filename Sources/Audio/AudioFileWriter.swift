import CSndFile
import Foundation
import Support

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
            sink = try SndSink(path: temporary.path, name: url.relativePath, sampleRate: sampleRate,
                               channelCount: channelCount, format: fileFormat, mp3Bitrate: mp3Bitrate)
        } catch {
            AtomicFile.abandon(temporary)
            throw error
        }
    }

    deinit { if !finished { abandon() } }

    /// Appends `buffer` (same rate and channel count as the writer).
    public func write(_ buffer: AudioBuffer) throws {
        guard let sink, !finished else { throw CNNSepError("\(url.relativePath): writer already finished") }
        guard buffer.channelCount == channelCount, buffer.sampleRate == sampleRate else {
            throw CNNSepError("\(url.relativePath): writer expects \(channelCount) channels at \(sampleRate) Hz, "
                              + "got \(buffer.channelCount) at \(buffer.sampleRate) Hz")
        }
        // In one pass, so that a piece with NaN/Inf is refused before any of it is written.
        try sink.write(buffer, scale: 1, framesPerPass: buffer.frameCount)
    }

    /// Finishes the file and renames it into place. Throws (and deletes the temporary file) if nothing
    /// was written or the file cannot be completed.
    @discardableResult
    public func commit() throws -> WriteReport {
        guard let sink, !finished else { throw CNNSepError("\(url.relativePath): writer already finished") }
        guard sink.framesWritten > 0 else {
            abandon()
            throw CNNSepError("\(url.relativePath): nothing to write (the audio has no samples)")
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
