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
            throw CNNSepError("\(url.relativePath): nothing to write (the audio has no samples)")
        }
        let peak = rescale ? buffer.peak : 0
        let scale: Float = peak > 1 ? 1 / peak : 1
        let fileFormat = try SndFormat.forWriting(url, format: format)
        return try AtomicFile.write(to: url) { temporary in
            let sink = try SndSink(path: temporary.path, name: url.relativePath, sampleRate: buffer.sampleRate,
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
        try checkSamples(buffer.channels, name: name, frameOffset: frameOffset, expected: "audio must be finite")
    }

    /// Refuses the first sample that is not finite or whose magnitude exceeds `limit`, naming
    /// `name`, the frame (counted from `frameOffset`) and the channel, followed by `expected`.
    public static func checkSamples(_ channels: [[Float]], name: String, frameOffset: Int = 0,
                                    limit: Float = .greatestFiniteMagnitude, expected: String) throws {
        for (c, channel) in channels.enumerated() {
            let bad = channel.withUnsafeBufferPointer { x -> Int? in
                for i in 0..<x.count where !(x[i].isFinite && abs(x[i]) <= limit) { return i }
                return nil
            }
            if let bad {
                throw CNNSepError("\(name): sample \(frameOffset + bad) of channel \(c) is \(channel[bad]); \(expected)")
            }
        }
    }
}
