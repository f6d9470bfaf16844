import Foundation
import Testing
import TestHelpers
import Audio
import Support
@testable import Inference
import Configuration
import Network

@Suite struct PredictTests {
    /// Stems are full length at the input's rate and channels, and add up to the input.
    @Test(arguments: [(44100, 1), (44100, 2), (48000, 1), (48000, 2)])
    func stemsSumToTheInput(rate: Int, channels: Int) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let length = rate / 5 + 123                  // 0.2 s and a ragged tail
        let signal = (0..<channels).map { noise(length, seed: UInt64(10 + $0)).map { $0 * 0.5 } }
        let song = folder.appendingPathComponent("song.wav")
        _ = try AudioFile.write(AudioBuffer(sampleRate: rate, channels: signal), to: song, format: .float)
        let separator = tinySeparator()
        let report = try separator.separateFile(song, into: folder.appendingPathComponent("out/song"), format: .float)
        #expect(report.song == "song")
        let stems = try Separator.stemURLs(in: folder.appendingPathComponent("out/song")).map { try AudioFile.read($0) }
        let peak = signal.flatMap { $0 }.map { Swift.abs($0) }.max()!
        for stem in stems {
            #expect(stem.sampleRate == rate)
            #expect(stem.channels.count == channels)
            #expect(stem.frameCount == length)
        }
        for c in 0..<channels {
            var worst: Float = 0
            for i in 0..<length {
                let sum = stems.reduce(Float(0)) { $0 + $1.channels[c][i] }
                worst = max(worst, Swift.abs(sum - signal[c][i]))
            }
            #expect(worst <= 1e-4 * peak, "\(rate) Hz, channel \(c): off by \(worst)")
        }
        // Not a trivial split: the stems differ from one another.
        #expect(stems[0].channels[0] != stems[3].channels[0])
    }

    @Test func existingStemsAreSkippedUnlessForced() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let song = folder.appendingPathComponent("songs/a b's song.wav")
        try FileManager.default.createDirectory(at: song.deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = try AudioFile.write(AudioBuffer(sampleRate: 44100, channels: [noise(4000, seed: 1)]), to: song)
        let inputs = try SongFinder.find([folder.appendingPathComponent("songs").path])
        #expect(inputs.map(\.lastPathComponent) == ["a b's song.wav"])
        let out = folder.appendingPathComponent("out")
        let separator = tinySeparator()
        let first = try separator.predict(inputs, out: out, format: .wav16, force: false)
        guard case .separated = first[0] else { Issue.record("first run should separate"); return }
        let stem = out.appendingPathComponent("a b's song/vocals.wav")
        let written = try FileManager.default.attributesOfItem(atPath: stem.path)[.modificationDate] as! Date
        let second = try separator.predict(inputs, out: out, format: .wav16, force: false)
        guard case .skipped = second[0] else { Issue.record("second run should skip"); return }
        Thread.sleep(forTimeInterval: 0.01)
        let third = try separator.predict(inputs, out: out, format: .wav16, force: true)
        guard case .separated = third[0] else { Issue.record("--force should separate again"); return }
        let rewritten = try FileManager.default.attributesOfItem(atPath: stem.path)[.modificationDate] as! Date
        #expect(rewritten > written)
    }

    @Test func badInputLeavesNoStems() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let notAudio = folder.appendingPathComponent("notes.wav")
        try Data("not audio at all".utf8).write(to: notAudio)
        let out = folder.appendingPathComponent("out/notes")
        #expect(throws: CNNSepError.self) { try tinySeparator().separateFile(notAudio, into: out) }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
    }

    @Test func songShorterThanOneWindowIsPadded() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let song = folder.appendingPathComponent("short.wav")
        _ = try AudioFile.write(AudioBuffer(sampleRate: 44100, channels: [noise(40, seed: 3)]), to: song, format: .float)
        _ = try tinySeparator().separateFile(song, into: folder.appendingPathComponent("out"), format: .float)
        #expect(try AudioFile.read(folder.appendingPathComponent("out/bass.wav")).frameCount == 40)
    }
}
