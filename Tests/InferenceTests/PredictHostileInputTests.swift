import Audio
import Foundation
import TestHelpers
import Testing

/// Songs a hostile user hands to `cnnsep predict` (the built executable in a child process): each
/// is one line naming the input as typed and what was expected, exit 1, and nothing of the song
/// left behind, no file and no folder (issue 12, the traps left after its first pass).
@Suite struct PredictHostileInputTests {
    /// A 32-bit float WAV written byte by byte, so that it may hold what `AudioFile.write` refuses (inf, NaN).
    static func writeFloatWAV(_ url: URL, rate: Int, samples: [Float]) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var data = Data()
        func append<T: FixedWidthInteger>(_ x: T) { withUnsafeBytes(of: x.littleEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: Array("RIFF".utf8)); append(UInt32(36 + 4 * samples.count))
        data.append(contentsOf: Array("WAVEfmt ".utf8)); append(UInt32(16))
        append(UInt16(3)); append(UInt16(1)); append(UInt32(rate)); append(UInt32(4 * rate)); append(UInt16(4)); append(UInt16(32))
        data.append(contentsOf: Array("data".utf8)); append(UInt32(4 * samples.count))
        for x in samples { append(x.bitPattern) }
        try data.write(to: url)
    }

    /// A valid WAV at 8 Hz: the model's rate is beyond what the converter can reach from it. The
    /// line named no file ("resample: 8 Hz → 44100 Hz is beyond the supported ratio range").
    @Test func aSongAtAnAbsurdRateIsRefusedNamingTheFile() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        try Self.writeFloatWAV(folder.appendingPathComponent("songs/slow.wav"), rate: 8, samples: noise(80, seed: 1))
        let result = try runCNNSep(["predict", "songs/slow.wav", "--checkpoint", "model.h5"], in: folder)
        #expect(result.status == 1 && !result.crashed && result.errorLines.count == 1, "\(result)")
        let line = String(result.errorLines.first ?? "")
        #expect(line.contains("songs/slow.wav") && line.contains("8 Hz") && line.contains("44100 Hz"), "\(line)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("separated").path), "\(allFiles(folder))")
    }

    /// Float samples of 1e30 are finite but overflow the STFT (NaN stems), and inf and NaN are no
    /// audio at all: the line names the input and the sample (it named the output stem for 1e30),
    /// and no stem is written.
    @Test(arguments: [Float(1e30), -.infinity, .nan])
    func samplesThatAreNoAudioAreRefusedNamingTheInput(value: Float) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        var samples = noise(8820, seed: 2).map { $0 * 0.5 }
        samples[5000] = value
        try Self.writeFloatWAV(folder.appendingPathComponent("loud.wav"), rate: 44100, samples: samples)
        let result = try runCNNSep(["predict", "loud.wav", "--checkpoint", "model.h5", "--format", "float"], in: folder)
        #expect(result.status == 1 && !result.crashed && result.errorLines.count == 1, "\(result)")
        let line = String(result.errorLines.first ?? "")
        #expect(line.contains("loud.wav") && line.contains("sample 5000") && !line.contains("separated"), "\(line)")
        #expect(allFiles(folder.appendingPathComponent("separated")).isEmpty, "\(allFiles(folder))")
    }

    /// A song that fails while it is separated leaves no folder (its folder stayed behind, empty),
    /// and the song separated before it in the same call keeps its stems.
    @Test func aFailedSongLeavesNoFolderAndTheSongsBeforeItKeepTheirStems() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        try writeSong(folder.appendingPathComponent("songs/a.wav"), seconds: 0.2, seed: 3)
        var samples = noise(8820, seed: 4).map { $0 * 0.5 }
        samples[8000] = .nan
        try Self.writeFloatWAV(folder.appendingPathComponent("songs/b.wav"), rate: 44100, samples: samples)
        for template in [[], ["--filename", "{track}/deep/{stem}.{ext}"]] {
            let out = "out\(template.count)"
            let result = try runCNNSep(["predict", "songs", "--checkpoint", "model.h5", "--out", out] + template, in: folder)
            #expect(result.status == 1 && !result.crashed && result.standardError.contains("songs/b.wav"), "\(result)")
            let stems = fourStems.map { (template.isEmpty ? "a/" : "a/deep/") + $0 }
            #expect(allFiles(folder.appendingPathComponent(out)) == stems, "\(template)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("\(out)/b").path), "\(template)")
        }
        // The failed song alone: not even --out stays.
        let alone = try runCNNSep(["predict", "songs/b.wav", "--checkpoint", "model.h5", "--out", "fresh"], in: folder)
        #expect(alone.status == 1, "\(alone)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("fresh").path))
    }

    /// Errors name files as the user typed them: a relative path stays relative (it came out absolute).
    @Test func aBadFileIsNamedAsTyped() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        try Data("not audio".utf8).write(to: { try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
            return folder.appendingPathComponent("sub/bad.wav") }())
        try Data("not a checkpoint".utf8).write(to: folder.appendingPathComponent("sub/bad.h5"))
        try writeSong(folder.appendingPathComponent("song.wav"), seconds: 0.2, seed: 5)
        for (arguments, typed) in [(["predict", "sub/bad.wav", "--checkpoint", "model.h5"], "sub/bad.wav"),
                                   (["predict", "song.wav", "--checkpoint", "sub/bad.h5"], "sub/bad.h5"),
                                   (["predict", "song.wav", "--checkpoint", "sub/none.h5"], "sub/none.h5"),
                                   (["eval", "--checkpoint", "sub/bad.h5", "--dataset", "sub"], "sub/bad.h5"),
                                   (["eval", "--checkpoint", "model.h5", "--dataset", "sub"], "sub"),
                                   (["train", "--config", "sub/bad.h5"], "sub/bad.h5")] {
            let result = try runCNNSep(arguments, in: folder)
            #expect(result.status == 1 && !result.crashed && result.errorLines.count == 1, "\(arguments): \(result)")
            let line = String(result.errorLines.first ?? "")
            #expect(line.hasPrefix("Error: \(typed):") && !line.contains(folder.path), "\(arguments): \(line)")
        }
    }
}
