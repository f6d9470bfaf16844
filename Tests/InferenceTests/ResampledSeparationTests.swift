import Foundation
import Testing
import Audio
import Support
@testable import Inference
import Configuration
import Network
import TestHelpers

@Suite struct ResampledSeparationTests {
    /// A song at another rate, separated file to file (streamed, converted while read and written),
    /// gives the stems of separating the whole signal at the model's rate in memory, each converted
    /// back with `Resampler.resample` (the separation's recipe): the right stem in the right channel, nothing lost at the seams.
    @Test(arguments: [48000, 8000])
    func streamedStemsEqualTheWholeSignalConvertedBack(rate: Int) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let length = rate * 3 / 4 + 77
        let signal = (0..<2).map { noise(length, seed: UInt64(30 + $0)).map { $0 * 0.5 } }
        let song = folder.appendingPathComponent("song.wav")
        _ = try AudioFile.write(AudioBuffer(sampleRate: rate, channels: signal), to: song, format: .float)
        let separator = tinySeparator()
        _ = try separator.separateFile(song, into: folder.appendingPathComponent("out"), format: .float)
        let stems = try Separator.stemURLs(in: folder.appendingPathComponent("out")).map { try AudioFile.read($0) }

        let modelRate = separator.config.features.sampleRate
        let atModelRate = try Resampler.resample(AudioBuffer(sampleRate: rate, channels: signal), to: modelRate, recipe: .separation)
        let other = Stem.other.index
        let whole = try separator.separate(atModelRate.channels, remainder: other)
        for s in 0..<4 where s != other {
            let expected = try Resampler.resample(AudioBuffer(sampleRate: modelRate, channels: whole[s]), to: rate, recipe: .separation)
            for c in 0..<2 {
                #expect(stems[s].channels[c].count == length)
                let worst = zip(stems[s].channels[c], expected.channels[c]).map { Swift.abs($0 - $1) }.max() ?? 0
                #expect(worst < 1e-5, "\(Stem.names[s]), channel \(c): off by \(worst)")
            }
        }
    }
}
