import Audio
import Foundation
import Support

/// What `separateFile` refuses in a song before it can spoil the stems, and the folders it makes
/// for them, taken away again when the song fails.
extension Separator {
    /// The largest sample magnitude separation takes (full scale is ±1). The STFT squares
    /// magnitudes of up to |x| · window length in Float: noise peaking at 1e18 gave NaN stems, at
    /// 1e17 finite ones (window 1024, both trained models measured). 1e10 leaves a margin of 10^5
    /// to the network's gains for windows up to 65536, and takes float files written at an integer
    /// scale (±2^31).
    public static let largestInputSample: Float = 1e10

    /// Refuses a song whose rate cannot be converted to the model's, naming the rates that can.
    public func checkRate(of input: URL, sampleRate: Int) throws {
        let modelRate = config.features.sampleRate
        let rates = Resampler.convertibleRates(to: modelRate)
        guard rates.contains(sampleRate) else {
            throw CNNSepError("\(input.relativePath): sample rate \(sampleRate) Hz; the model runs at \(modelRate) Hz, "
                              + "and songs of \(rates.lowerBound) to \(rates.upperBound) Hz can be converted to it")
        }
    }

    /// Refuses samples of `input` (`channels` from frame `first` on) that are not finite or lie
    /// beyond `largestInputSample`: no audio at any sensible scale, and NaN stems if separated.
    public static func checkLevel(_ channels: [[Float]], of input: URL, from first: Int) throws {
        try AudioFile.checkSamples(channels, name: input.relativePath, frameOffset: first, limit: largestInputSample,
                                   expected: "separation takes finite samples within ±\(largestInputSample) (full scale is ±1)")
    }

    /// Folders are made and taken away under one lock, so that a failed song's removal cannot take
    /// a folder another song of the process has just made (jobs share `--out`).
    private static let folders = NSLock()

    /// A writer for each output (temporary files beside them), and the folders it had to make
    /// (deepest first), for `removeEmpty` if the song fails.
    static func openWriters(_ outputs: [StemOutput], info: AudioInfo,
                            options: SeparationFileOptions) throws -> ([AudioFileWriter], [URL]) {
        folders.lock()
        defer { folders.unlock() }
        var created: [URL] = []
        for output in outputs {
            var folder = output.url.deletingLastPathComponent()
            while !FileManager.default.fileExists(atPath: folder.path) && !created.contains(where: { $0.path == folder.path }) {
                created.append(folder)
                folder = folder.deletingLastPathComponent()
            }
        }
        created.sort { $0.pathComponents.count > $1.pathComponents.count }
        var writers: [AudioFileWriter] = []
        do {
            for output in outputs {
                writers.append(try AudioFileWriter(output.url, sampleRate: info.sampleRate, channelCount: info.channelCount,
                                                   format: options.format, mp3Bitrate: options.mp3Bitrate))
            }
        } catch {
            for w in writers { w.abandon() }
            removeEmptyLocked(created)
            throw error
        }
        return (writers, created)
    }

    /// Removes those of `created` (deepest first) that are empty; a folder something was put in stays.
    static func removeEmpty(_ created: [URL]) {
        folders.lock()
        defer { folders.unlock() }
        removeEmptyLocked(created)
    }

    private static func removeEmptyLocked(_ created: [URL]) {
        for folder in created { rmdir(folder.path) }
    }
}
