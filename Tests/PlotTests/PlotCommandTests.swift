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

/// Songs at odd rates and long stretches draw a picture or give one line naming the file.
extension PlotCommandTests {
    /// Below about 100 Hz the spectrogram's top frequency fell under the axis's fixed 50 Hz start:
    /// an empty range crashed the heatmap.
    @Test(arguments: [1, 8, 100])
    func aSpectrogramOfASongAtAVeryLowRateIsDrawn(rate: Int) throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let song = folder.appendingPathComponent("slow.wav")
        let samples = (0..<4000).map { Float(sin(Double($0) * 0.3)) * 0.5 }
        try AudioFile.write(AudioBuffer(sampleRate: rate, channels: [samples]), to: song)
        let result = try runCNNSep(["plot", "spectrogram", song.path, "--out", "p.png"], in: folder)
        #expect(!result.crashed && result.status == 0, "\(result)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("p.png").path))
    }
}
