import Foundation
import Audio
import Support

/// What separating one song file produced.
public struct SongSeparationReport {
    public let song: String
    public let folder: URL
    public let duration: Double          // seconds of audio
    public let seconds: Double           // wall-clock time
    public let clippedSamples: Int
    public var realTimeFactor: Double { seconds > 0 ? duration / seconds : .infinity }
}

extension Separator {
    /// The stem files of a song's output folder, in source order.
    public static func stemURLs(in folder: URL) -> [URL] {
        sourceNames.map { folder.appendingPathComponent("\($0).wav") }
    }

    /// The name a song's output folder gets: the file name without extension, or the parent
    /// folder's name for a file called `mixture.*` (DSD100 and MUSDB18 layouts).
    public static func songName(_ url: URL) -> String {
        let base = url.deletingPathExtension().lastPathComponent
        return base.lowercased() == "mixture" ? url.deletingLastPathComponent().lastPathComponent : base
    }

    /// Separates an audio file into `<folder>/{bass,drums,other,vocals}.wav` at the input's rate,
    /// channel count and length. The four stems add up to the input: whatever the masks leave out
    /// (where all four decoders are silent, and content above the model's band when the input is
    /// resampled) is shared equally among them. The stems are written together and atomically.
    public func separateFile(_ input: URL, into folder: URL, format: SampleFormat = .wav16,
                             progress: Bool = false) throws -> SongSeparationReport {
        let started = Date()
        let info = try AudioFile.info(input)
        guard info.frameCount > 0 else { throw CNNSepError("\(input.path): zero-length audio, nothing to separate") }
        let name = Self.songName(input)
        let modelRate = config.features.sampleRate
        let bar = progress ? Support.Progress("\(name)", total: 100, interval: 5) : nil

        let writers = try Self.stemURLs(in: folder).map {
            try AudioFileWriter($0, sampleRate: info.sampleRate, channelCount: info.channelCount, format: format)
        }
        do {
            var position = 0
            // Stems at the input's rate for samples position..<position+n: correct by the residual, write.
            func deliver(_ stems: [[[Float]]]) throws {
                let n = stems[0][0].count
                guard n > 0 else { return }
                let mixture = try AudioFile.read(input, frames: position..<position + n).channels
                var out = stems
                for c in 0..<info.channelCount {
                    for i in 0..<n {
                        let residual = (mixture[c][i] - (stems[0][c][i] + stems[1][c][i] + stems[2][c][i] + stems[3][c][i])) * 0.25
                        for s in 0..<4 { out[s][c][i] += residual }
                    }
                }
                for s in 0..<4 { try writers[s].write(AudioBuffer(sampleRate: info.sampleRate, channels: out[s])) }
                position += n
            }

            if info.sampleRate == modelRate {
                try separate(length: info.frameCount, channelCount: info.channelCount,
                             read: { try AudioFile.read(input, frames: $0).channels },
                             emit: deliver,
                             progress: { done, total in bar?.advance(by: done * 100 / total - (bar?.done ?? 0)) })
            } else {
                try separateResampled(input, info: info, deliver: deliver, progress: bar)
            }
            precondition(position == info.frameCount, "separateFile: wrote \(position) of \(info.frameCount) samples")
            var clipped = 0
            for w in writers { clipped += try w.commit().clippedSamples }
            bar?.finish()
            return SongSeparationReport(song: name, folder: folder, duration: info.duration,
                                        seconds: Date().timeIntervalSince(started), clippedSamples: clipped)
        } catch {
            for w in writers { w.abandon() }
            throw error
        }
    }

    /// A song at another rate: resampled to the model's rate and back, a segment at a time.
    func separateResampled(_ input: URL, info: AudioInfo, deliver: ([[[Float]]]) throws -> Void, progress: Support.Progress?) throws {
        // Resampling is linear and time-invariant, so converting the whole song in memory keeps
        // this path simple; songs at the model's rate (the common case) stream above.
        let modelRate = config.features.sampleRate
        let original = try AudioFile.read(input)
        let converted = try Resampler.resample(original, to: modelRate)
        let stems = try separate(converted.channels)
        var back = try stems.map { try Resampler.resample(AudioBuffer(sampleRate: modelRate, channels: $0), to: info.sampleRate).channels }
        for s in 0..<4 {
            for c in 0..<info.channelCount {
                let n = back[s][c].count
                if n > info.frameCount { back[s][c].removeLast(n - info.frameCount) }
                if n < info.frameCount { back[s][c] += [Float](repeating: 0, count: info.frameCount - n) }
            }
        }
        progress?.advance(by: 100)
        try deliver(back)
    }
}
