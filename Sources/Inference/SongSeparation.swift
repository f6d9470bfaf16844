import Audio
import Configuration
import Foundation
import Network
import Support

/// What separating one song file produced.
public struct SongSeparationReport {
    public let song: String
    /// The files written, in the order asked for.
    public let outputs: [URL]
    public let duration: Double          // seconds of audio (of the stretch separated)
    public let seconds: Double           // wall-clock time
    public let clippedSamples: Int
    public var realTimeFactor: Double { seconds > 0 ? duration / seconds : .infinity }
    /// The deepest folder holding all the outputs.
    public var folder: URL { commonFolder(of: outputs) }
}

extension Separator {
    /// The stem files of a song's output folder, in source order.
    public static func stemURLs(in folder: URL) -> [URL] {
        Stem.names.map { folder.appendingPathComponent("\($0).wav") }
    }

    /// The name a song's output folder gets: the file name without extension, or the parent
    /// folder's name for a file called `mixture.*` (DSD100 and MUSDB18 layouts).
    public static func songName(_ url: URL) -> String { Audio.songName(of: url) }

    /// Separates an audio file into `<folder>/{bass,drums,other,vocals}.wav` (see the other form).
    public func separateFile(_ input: URL, into folder: URL, format: SampleFormat = .wav16,
                             progress: Bool = false) throws -> SongSeparationReport {
        var options = SeparationFileOptions()
        options.format = format
        options.progress = progress ? Self.songName(input) : nil
        return try separateFile(input, writing: Stem.allCases.map { StemOutput(.stem($0), at: folder.appendingPathComponent("\($0).wav")) },
                                options: options)
    }

    /// Separates an audio file (or the stretch `options.frames` of it) at the input's rate and
    /// channel count, writing `outputs`. Bass, drums and vocals come from their masks; "other" is
    /// the input minus those three (METHOD.md: it is whatever the other three leave), so the four
    /// stems add up to the input, including content above the model's band when the input is
    /// resampled; `no_<stem>` is the sum of the other three. The files are written together and
    /// atomically: on any error, or when `options.shouldStop()`, none of them is left.
    public func separateFile(_ input: URL, writing outputs: [StemOutput],
                             options: SeparationFileOptions) throws -> SongSeparationReport {
        let started = Date()
        let info = try AudioFile.info(input)
        guard info.frameCount > 0 else { throw CNNSepError("\(input.relativePath): zero-length audio, nothing to separate") }
        try checkRate(of: input, sampleRate: info.sampleRate)
        let frames = options.frames ?? 0..<info.frameCount
        guard frames.lowerBound >= 0, frames.upperBound <= info.frameCount, !frames.isEmpty else {
            throw CNNSepError("\(input.relativePath): frames \(frames.lowerBound)..<\(frames.upperBound) asked for, the file has \(info.frameCount)")
        }
        let name = Self.songName(input)
        let modelRate = config.features.sampleRate
        let bar = options.progress.map { Support.Progress($0, total: 100, interval: 5) }

        let (writers, createdFolders) = try Self.openWriters(outputs, info: info, options: options)
        do {
            var position = 0
            let other = Stem.other.index
            func write(_ stems: [[[Float]]]) throws {
                if options.shouldStop() { throw SeparationStopped() }
                // The files side by side: handing a segment back is the one step the separator
                // does in song order, so its cost bounds the whole when it rivals the rest (48 kHz).
                try Self.sideBySide(writers.count) { i in
                    try writers[i].write(AudioBuffer(sampleRate: info.sampleRate, channels: outputs[i].content.channels(of: stems)))
                }
                position += stems[0][0].count
            }
            if info.sampleRate == modelRate {
                let first = frames.lowerBound
                try separate(length: frames.count, channelCount: info.channelCount,
                             read: { range in
                                 let channels = try AudioFile.read(input, frames: first + range.lowerBound..<first + range.upperBound).channels
                                 try Self.checkLevel(channels, of: input, from: first + range.lowerBound)
                                 return channels
                             },
                             emit: write, remainder: other,
                             progress: { done, total in bar?.advance(by: done * 100 / total - (bar?.done ?? 0)) })
            } else {
                // Stems converted back to the input's rate: "other" is recomputed there from the input.
                let mixture = try AudioFileReader(input)
                try mixture.seek(to: frames.lowerBound)
                try separateResampled(input, info: info, frames: frames, deliver: { stems in
                    var out = stems
                    let x = try mixture.read(frames: stems[0][0].count).channels
                    for c in 0..<info.channelCount {
                        out[other][c] = x[c]
                        for s in 0..<4 where s != other {
                            stems[s][c].withUnsafeBufferPointer { y in
                                out[other][c].withUnsafeMutableBufferPointer { o in for i in 0..<o.count { o[i] -= y[i] } }
                            }
                        }
                    }
                    try write(out)
                }, progress: bar)
            }
            precondition(position == frames.count, "separateFile: wrote \(position) of \(frames.count) samples")
            var clipped = 0
            for w in writers { clipped += try w.commit().clippedSamples }
            bar?.finish()
            return SongSeparationReport(song: name, outputs: outputs.map(\.url),
                                        duration: Double(frames.count) / Double(info.sampleRate),
                                        seconds: Date().timeIntervalSince(started), clippedSamples: clipped)
        } catch {
            for w in writers { w.abandon() }
            Self.removeEmpty(createdFolders)
            throw error
        }
    }

    /// A song (its sample frames `frames`) at another rate: converted to the model's rate while it
    /// is read, separated, and each stem converted back as it comes out, so memory stays bounded
    /// here too. "other" is delivered with empty channels: the caller makes it at the input's rate
    /// (input minus the other three).
    func separateResampled(_ input: URL, info: AudioInfo, frames: Range<Int>, deliver: ([[[Float]]]) throws -> Void,
                           progress: Support.Progress?) throws {
        let modelRate = config.features.sampleRate
        let length = Resampler.outputCount(frames.count, from: info.sampleRate, to: modelRate)
        let reader = try AudioFileReader(input)
        try reader.seek(to: frames.lowerBound)
        let channels = info.channelCount
        // One mono converter per channel (and per stem) so that they can share the cores evenly.
        let up = try (0..<channels).map { _ in try StreamingResampler(from: info.sampleRate, to: modelRate, channelCount: 1, recipe: .separation) }
        let other = Stem.other.index
        let converted = (0..<4).filter { $0 != other }
        let down = try (0..<converted.count * channels).map { _ in
            try StreamingResampler(from: modelRate, to: info.sampleRate, channelCount: 1, recipe: .separation)
        }
        // Converted input kept from `start` on: the separator asks for ranges that only move forward.
        var kept = [[Float]](repeating: [], count: info.channelCount)
        var start = 0, ended = false
        func read(_ range: Range<Int>) throws -> [[Float]] {
            let drop = min(max(0, range.lowerBound - start), kept[0].count)
            if drop > 0 { for c in kept.indices { kept[c].removeFirst(drop) }; start += drop }
            while start + kept[0].count < range.upperBound && !ended {
                let piece = try reader.read(frames: min(1 << 16, frames.upperBound - reader.position))
                try Self.checkLevel(piece.channels, of: input, from: reader.position - piece.frameCount)
                ended = reader.position >= frames.upperBound || piece.frameCount == 0
                let converted = try Self.process(up, piece.frameCount == 0 ? kept.map { _ in [] } : piece.channels, last: ended)
                for c in kept.indices { kept[c] += converted[c] }
            }
            return kept.map { channel in
                let lo = range.lowerBound - start
                let available = channel[max(0, lo)..<min(channel.count, lo + range.count)]
                return Array(available) + [Float](repeating: 0, count: range.count - available.count)
            }
        }
        var separated = 0
        try separate(length: length, channelCount: info.channelCount, read: read, emit: { stems in
            separated += stems[0][0].count
            let last = separated == length
            let results = try Self.process(down, converted.flatMap { stems[$0] }, last: last)
            var back = [[[Float]]](repeating: [[Float]](repeating: [], count: channels), count: 4)
            for (i, s) in converted.enumerated() { back[s] = Array(results[(i * channels)..<((i + 1) * channels)]) }
            try deliver(back)
        }, remainder: other,
           progress: { done, total in progress?.advance(by: done * 100 / total - (progress?.done ?? 0)) })
    }

    /// `signals[i]` through the mono converter `converters[i]`, all side by side on the cores.
    static func process(_ converters: [StreamingResampler], _ signals: [[Float]], last: Bool) throws -> [[Float]] {
        var results = [[Float]](repeating: [], count: signals.count)
        let lock = NSLock()
        try sideBySide(signals.count) { i in
            let result = try converters[i].process([signals[i]], last: last)[0]
            lock.lock(); results[i] = result; lock.unlock()
        }
        return results
    }

    /// `body(i)` for i in 0..<n on the cores at once; rethrows the first error.
    static func sideBySide(_ n: Int, _ body: (Int) throws -> Void) throws {
        var failure: Error?
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: n) { i in
            do { try body(i) } catch { lock.lock(); failure = failure ?? error; lock.unlock() }
        }
        if let failure { throw failure }
    }
}
