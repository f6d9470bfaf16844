import Audio
import Foundation
import Inference
import Network
import Support
import TestHelpers
import Testing

/// `cnnsep plot masks` on long stretches and odd rates: a picture, or one line naming the song.
/// (Here rather than in PlotTests, which does not link the network.)
@Suite struct PlotMasksCommandTests {
    /// The tiny separator's model as a checkpoint file in `folder`.
    func tinyCheckpoint(in folder: URL) throws -> URL {
        let separator = tinySeparator()
        let checkpoint = folder.appendingPathComponent("tiny.h5")
        var config = separator.config
        config.windowHop = config.model.frames      // a valid config (the default hop is longer than its 8 frames)
        var stored = Checkpoint(layers: separator.network.weights())
        stored.configJSON = config.json()
        try stored.save(to: checkpoint)
        return checkpoint
    }

    /// A mask image had one column per frame: a stretch over about 190 s was wider than cairo's
    /// 32767-pixel limit and crashed. Columns are pooled now, as the spectrogram's are.
    @Test func masksOfAStretchLongerThanCairosWidestImageAreDrawn() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = try tinyCheckpoint(in: folder)      // hop 16: 33000 frames in 12 s
        let song = folder.appendingPathComponent("long.wav")
        try AudioFile.write(AudioBuffer(sampleRate: 44100, channels: [noise(12 * 44100, seed: 3).map { $0 * 0.1 }]), to: song)
        let result = try runCNNSep(["plot", "masks", "--checkpoint", checkpoint.path, song.path, "--duration", "12", "--out", "m.png"], in: folder)
        #expect(!result.crashed && result.status == 0, "\(result)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("m.png").path))
    }

    /// A rate the resampler cannot convert from names the song.
    @Test func aSongTheModelsRateCannotBeReachedFromNamesTheFile() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let checkpoint = try tinyCheckpoint(in: folder)
        let song = folder.appendingPathComponent("slow.wav")
        try AudioFile.write(AudioBuffer(sampleRate: 8, channels: [[Float](repeating: 0.1, count: 100)]), to: song)
        let result = try runCNNSep(["plot", "masks", "--checkpoint", checkpoint.path, song.path, "--out", "m.png"], in: folder)
        #expect(!result.crashed && result.status == 1, "\(result)")
        #expect(result.errorLines.count == 1 && result.standardError.contains(song.path), "\(result)")
    }
}
