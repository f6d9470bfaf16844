import Audio
import Foundation
import Support
import TestHelpers
import Testing

/// `cnnsep plot` on stretches a song does not hold: one line naming the file, exit 1, no picture —
/// `--duration 1e300` and `--start 1e300` crashed (integer conversion of the sample count) before.
@Suite struct PlotCommandTests {
    @Test(arguments: [["--duration", "1e300"], ["--start", "1e300"], ["--start", "5", "--duration", "10"]])
    func stretchesBeyondTheSongAreOneLineErrors(options: [String]) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let song = folder.appendingPathComponent("song.wav")
        try AudioFile.write(AudioBuffer(sampleRate: 8000, channels: [[Float](repeating: 0.1, count: 16000)]), to: song)
        let result = try runCNNSep(["plot", "spectrogram", song.path, "--out", "p.png"] + options, in: folder)
        #expect(!result.crashed && result.status == 1, "\(result)")
        #expect(result.errorLines.count == 1 && result.standardError.contains(song.path), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("p.png").path))
    }
}
