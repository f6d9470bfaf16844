import Audio
import Foundation
import Testing
import TestHelpers

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
