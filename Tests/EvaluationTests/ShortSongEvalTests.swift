import Audio
import Foundation
import Testing
import TestHelpers
import Data
import Evaluation
import Support

/// `cnnsep eval` on signals too short for BSS Eval (fewer than `Metrics.minimumLength(sources: 4)`
/// = 1537 samples, whole songs or framewise windows): the projections' least-squares fallback took
/// minutes for figures that mean nothing. Now a short song is left out by name with the reason, and
/// a framewise window too short is refused naming --framewise, in a second, as `score` does.
@Suite struct ShortSongEvalTests {
    /// A MUSDB18-HQ-layout dataset with one test song `name` of `samples` samples of noise per source.
    static func writeDataset(_ root: URL, song name: String, samples: Int) throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent("train"), withIntermediateDirectories: true)
        let folder = root.appendingPathComponent("test/\(name)")
        let sources = (0..<4).map { s in noise(samples, seed: UInt64(10 + s)).map { $0 * 0.2 } }
        for (s, stem) in ["bass", "drums", "other", "vocals"].enumerated() {
            try writeSong(folder.appendingPathComponent("\(stem).wav"), samples: sources[s])
        }
        try writeSong(folder.appendingPathComponent("mixture.wav"), samples: (0..<samples).map { i in sources.reduce(0) { $0 + $1[i] } })
    }

    static func writeSong(_ url: URL, samples: [Float]) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AudioFile.write(AudioBuffer(sampleRate: 44100, mono: samples), to: url, format: .float)
    }

    @Test func aSongTooShortForBSSEvalIsLeftOutByName() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        try Self.writeDataset(folder.appendingPathComponent("data"), song: "blip", samples: 1000)
        let result = try runCNNSep(["eval", "--checkpoint", "model.h5", "--dataset", "data", "--out", "scores"], in: folder)
        #expect(result.status == 0 && !result.crashed, "\(result)")
        let leftOut = result.standardOutput.split(separator: "\n").filter { $0.contains("of blip:") }
        #expect(leftOut.count == 4, "\(result)")
        #expect(leftOut.allSatisfy { $0.contains("1000 samples") && $0.contains("1537") }, "\(result)")
    }

    @Test func framewiseWindowsTooShortForBSSEvalAreRefused() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        try Self.writeDataset(folder.appendingPathComponent("data"), song: "song", samples: 22050)
        let result = try runCNNSep(["eval", "--checkpoint", "model.h5", "--dataset", "data", "--out", "scores", "--framewise", "0.01"], in: folder)
        #expect(result.status == 1 && !result.crashed && result.errorLines.count == 1, "\(result)")
        let line = String(result.errorLines.first ?? "")
        #expect(line.contains("--framewise 0.01") && line.contains("441 samples") && line.contains("1537"), "\(line)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("scores").path))
    }
}

/// `eval` reads songs through the separator's checks: a mixture at a rate the model's cannot be
/// converted from, or with samples of 1e30, is refused naming the file (the rate's line named no
/// file, and 1e30 came out as "bss eval: estimate 0 sample 144 is -nan").
@Suite struct EvalInputTests {
    @Test(arguments: [8, 44100])
    func aMixtureThatIsNoAudioIsRefusedNamingIt(rate: Int) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try ShortSongEvalTests.writeDataset(folder, song: "song", samples: 4000)
        let song = try #require(try Dataset.open(folder).songs(split: "test").first)
        var samples = noise(4000, seed: 1).map { $0 * 0.2 }
        if rate == 44100 { samples[300] = 1e30 }
        try AudioFile.write(AudioBuffer(sampleRate: rate, mono: samples), to: song.mixture, format: .float)
        let message = errorMessage { _ = try Evaluator(separator: tinySeparator()).evaluate(song, oracle: false) }
        let expected = rate == 44100 ? "sample 300" : "sample rate 8 Hz"
        #expect(message?.hasPrefix(song.mixture.path + ": ") == true && message?.contains(expected) == true, "\(String(describing: message))")
    }
}
