import Foundation
import Support
import Testing
@testable import Audio

/// Stretches of a song for pictures: the samples asked for, and one-line errors (never a crash) for
/// stretches the song does not hold, however large the numbers.
@Suite struct MonoStretchTests {
    func song(seconds: Double) throws -> (URL, URL) {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("song.wav")
        try AudioFile.write(testSignal(frames: Int(seconds * 8000), channels: 2, sampleRate: 8000), to: url, format: .float)
        return (folder, url)
    }

    @Test func stretchHoldsTheMonoSamplesAskedFor() throws {
        let (folder, url) = try song(seconds: 2)
        defer { try? FileManager.default.removeItem(at: folder) }
        let stretch = try MonoStretch(url, start: 0.5, duration: 1, context: 100)
        let whole = try AudioFile.read(url).mono()
        #expect(stretch.count == 8000 && stretch.offset == 100)
        #expect(Array(stretch.samples[100..<8100]) == Array(whole[4000..<12000]))
        #expect(stretch.description == "0.50–1.50 s")
    }

    @Test(arguments: [(0.0, 1e300), (1e300, nil), (1.5, 1.0), (-1.0, nil), (Double.nan, nil), (0.0, Double.infinity), (2.0, nil)])
    func stretchesTheSongDoesNotHoldAreOneLineErrors(start: Double, duration: Double?) throws {
        let (folder, url) = try song(seconds: 2)
        defer { try? FileManager.default.removeItem(at: folder) }
        let message = errorMessage { _ = try MonoStretch(url, start: start, duration: duration) }
        #expect(message?.hasPrefix(url.path) == true, "\(String(describing: message))")
        #expect(message?.contains("\n") == false)
    }

    func errorMessage(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }
}
