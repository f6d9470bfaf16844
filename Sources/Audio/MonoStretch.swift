import Foundation
import Support

/// The mono downmix of a stretch of a song, with up to `context` samples of the song on each side
/// so that the frames at the stretch's edges are the song's own, not zero-padded ones.
public struct MonoStretch {
    public let url: URL
    public let sampleRate: Int
    /// Samples: context, then the stretch, then context.
    public let samples: [Float]
    /// Where the stretch starts in `samples`, and its length.
    public let offset: Int
    public let count: Int
    /// Start of the stretch in the song, in seconds.
    public let start: Double

    /// A stretch of `duration` seconds (nil: to the end) from `start`, converted to `rate` if given.
    public init(_ url: URL, start: Double, duration: Double?, context: Int = 1024, rate: Int? = nil) throws {
        let info = try AudioFile.info(url)
        let songSeconds = Double(info.frameCount) / Double(info.sampleRate)
        // Checked in seconds first, so that no huge or non-finite value reaches an integer conversion.
        let end = start + (duration ?? 0)
        guard info.frameCount > 0, start.isFinite, start >= 0, (duration ?? 1) > 0, end.isFinite, end <= songSeconds + 0.5 / Double(info.sampleRate),
              start < songSeconds else {
            let asked = duration.map { "\(Self.seconds(start)) s + \(Self.seconds($0)) s" } ?? "from \(Self.seconds(start)) s"
            throw CNNSepError("\(url.relativePath): \(Self.seconds(songSeconds)) s long, shorter than the requested stretch (\(asked))")
        }
        let first = Int((start * Double(info.sampleRate)).rounded())
        let wanted = min(duration.map { Int(($0 * Double(info.sampleRate)).rounded()) } ?? (info.frameCount - first), info.frameCount - first)
        guard wanted > 0 else {
            throw CNNSepError("\(url.relativePath): the requested stretch holds no samples")
        }
        let lower = max(first - context, 0), upper = min(first + wanted + context, info.frameCount)
        var mono = try AudioFile.read(url, frames: lower..<upper).mono()
        var offset = first - lower, count = wanted, sampleRate = info.sampleRate
        if let rate, rate != info.sampleRate {
            do { mono = try Resampler.resample(mono, from: info.sampleRate, to: rate) } catch let error as CNNSepError {
                throw CNNSepError("\(url.relativePath): \(error.message)")
            }
            let ratio = Double(rate) / Double(info.sampleRate)
            offset = Int((Double(offset) * ratio).rounded())
            count = min(Int((Double(count) * ratio).rounded()), mono.count - offset)
            sampleRate = rate
        }
        self.url = url
        self.samples = mono
        self.offset = offset
        self.count = count
        self.sampleRate = sampleRate
        self.start = start
    }

    /// The STFT frames (of `samples` as a whole signal) whose centres lie in the stretch.
    public func frames(_ stft: STFT) -> Range<Int> {
        // Frame t's centre is sample t·H − P + N/2.
        let shift = stft.padding - stft.windowLength / 2
        let first = (offset + shift + stft.hop - 1) / stft.hop
        let last = (offset + count - 1 + shift) / stft.hop
        return first..<max(first, last + 1)
    }

    /// Seconds in the song of the left edge of frame `t`'s column (its centre less half a hop).
    public func seconds(ofColumnEdge t: Int, _ stft: STFT) -> Double {
        let centre = t * stft.hop - stft.padding + stft.windowLength / 2
        return start + (Double(centre - offset) - Double(stft.hop) / 2) / Double(sampleRate)
    }

    /// "12.34–22.34 s": the stretch in the song.
    public var description: String { "\(Self.seconds(start))–\(Self.seconds(start + Double(count) / Double(sampleRate))) s" }

    static func seconds(_ value: Double) -> String { String(format: Swift.abs(value) < 1e7 ? "%.2f" : "%g", value) }
}
