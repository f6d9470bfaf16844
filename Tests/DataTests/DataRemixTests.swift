import Foundation
import Testing
import TestHelpers
import Support
@testable import Data
import Audio

@Suite("Data: remixing")
struct DataRemixTests {
    static let length = 25

    /// Five songs of 0.4 s (float WAV, each mixture the exact sum of its stems) as one block with
    /// their stem signals, and each song's mono stems read here, independently of the cache.
    static func setUp(hop: Int = 256) throws -> (root: URL, block: Block, stems: [[[Float]]], stft: STFT) {
        let settings = FeatureSettings(sampleRate: 44100, windowLength: 1024, hop: hop)
        let root = try DataFixtures.audioDataset(layout: .dsd100, songs: ["a", "b", "c", "d", "e"], seconds: 0.4)
        let songs = try Dataset.open(root).songs(split: "Dev")
        let cache = FeatureCache(folder: root.appendingPathComponent("cache"), settings: settings)
        let stream = BlockStream(cache: cache, songs: songs, blocks: [0..<5], windowLength: length, windowHop: length, loadSignals: true)
        let block = try stream.block(at: 0)
        let stems = try songs.map { song in try song.sources.map { try AudioFile.read($0).mono() } }
        return (root, block, stems, STFT(windowLength: 1024, hop: hop))
    }

    static func window(_ values: [Float], _ b: Int, bins: Int) -> ArraySlice<Float> {
        values[(b * length * bins)..<((b + 1) * length * bins)]
    }

    static func worst(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
    }

    /// Hop 300: the STFT's 724 leading zeros are not a whole number of hops, so the segment needs a lead.
    @Test("a remix's mixture is |STFT| of the sum of its gained stems shifted to their starts; its targets are the gained cached magnitudes",
          arguments: [256, 300])
    func remixIsTheSpectrumOfTheSummedStems(hop: Int) throws {
        let (root, block, stems, stft) = try Self.setUp(hop: hop)
        defer { try? FileManager.default.removeItem(at: root) }
        let bins = block.bins, frames = block.songs[0].frames      // 0.4 s, hop 256: 69 + 3 = 72 frames
        // Starts at the song's first frame (the STFT's leading zeros), in the middle, and near the end
        // (most of the window past the song's last frame).
        let remixes = [RemixWindow(songs: [3, 0, 4, 1], starts: [0, 17, frames - 3, 40], gains: [0.5, 1.25, 0.8, 1]),
                       RemixWindow(songs: [1, 2, 0, 3], starts: [frames - 25, 2, 33, frames - 10], gains: [1, 0.3, 1.1, 0.6])]
        var batch = Batch(capacity: 3, length: Self.length, bins: bins)
        block.fill(&batch, with: [WindowRef(song: 2, start: 25)], remixes: remixes, stft: stft)
        #expect(batch.count == 3)
        // The real window is as `fill(_:with:)` writes it.
        var plain = Batch(capacity: 1, length: Self.length, bins: bins)
        block.fill(&plain, with: [WindowRef(song: 2, start: 25)])
        #expect(Self.window(batch.mixture, 0, bins: bins) == Self.window(plain.mixture, 0, bins: bins))
        for (r, remix) in remixes.enumerated() {
            // A signal in which every stem is delayed so that its frame `start` lands on frame t0.
            let t0 = remix.starts.max()! + 4
            let delays = remix.starts.map { (t0 - $0) * hop }
            var y = [Float](repeating: 0, count: zip(0..<4, delays).map { stems[remix.songs[$0]][$0].count + $1 }.max()!)
            for s in 0..<4 {
                let x = stems[remix.songs[s]][s]
                for n in 0..<x.count { y[n + delays[s]] += remix.gains[s] * x[n] }
            }
            let expected = stft.analyze(y, frames: t0..<(t0 + Self.length)).magnitude()
            let got = Self.window(batch.mixture, 1 + r, bins: bins)
            let largest = expected.max()!
            #expect(largest > 1)
            #expect(Self.worst(got, expected[...]) <= 1e-5 * largest, "remix \(r): mixture differs by \(Self.worst(got, expected[...]))")
            for s in 0..<4 {
                let song = block.songs[remix.songs[s]], start = remix.starts[s]
                let cached = Array(song.source(s))
                let target = (0..<(Self.length * bins)).map { i -> Float in
                    let t = start + i / bins
                    return t < song.frames ? remix.gains[s] * cached[t * bins + i % bins] : 0
                }
                #expect(Self.window(batch.sources[s], 1 + r, bins: bins) == target[...], "remix \(r), stem \(s)")
            }
        }
    }

    @Test("a song's own stems at one start with gain 1 remix to its own mixture")
    func ownStemsGiveTheOwnMixture() throws {
        let (root, block, _, stft) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: root) }
        let bins = block.bins
        var batch = Batch(capacity: 1, length: Self.length, bins: bins)
        block.fill(&batch, with: [], remixes: [RemixWindow(songs: [1, 1, 1, 1], starts: [30, 30, 30, 30], gains: [1, 1, 1, 1])], stft: stft)
        var plain = Batch(capacity: 1, length: Self.length, bins: bins)
        block.fill(&plain, with: [WindowRef(song: 1, start: 30)])
        let largest = plain.mixture.max()!
        #expect(Self.worst(batch.mixture[...], plain.mixture[...]) <= 1e-4 * largest)
        for s in 0..<4 { #expect(batch.sources[s] == plain.sources[s]) }
    }

    @Test("remixes take four different songs, starts that leave a full window, gains in range; the same generator state gives the same remixes")
    func drawsAreInRangeAndDeterministic() throws {
        let (root, block, _, _) = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: root) }
        var rng = SeededGenerator(seed: 8)
        let remixes = block.remixes(200, gains: 0.25...1.25, using: &rng)
        let frames = block.songs[0].frames
        for r in remixes {
            #expect(Set(r.songs).count == 4)
            #expect(r.starts.allSatisfy { $0 >= 0 && $0 <= frames - Self.length })
            #expect(r.gains.allSatisfy { $0 >= 0.25 && $0 <= 1.25 })
        }
        // Every song serves every stem, starts reach both ends, gains spread over the range.
        for s in 0..<4 { #expect(Set(remixes.map { $0.songs[s] }) == Set(0..<5)) }
        let starts = remixes.flatMap(\.starts), gains = remixes.flatMap(\.gains)
        #expect(starts.min()! <= 2 && starts.max()! >= frames - Self.length - 2)
        #expect(gains.min()! < 0.3 && gains.max()! > 1.2)
        var again = SeededGenerator(seed: 8)
        #expect(block.remixes(200, gains: 0.25...1.25, using: &again) == remixes)
        #expect(RemixSettings(fraction: 0.25).count(inBatchOf: 32) == 8)
        #expect(RemixSettings(fraction: 1).count(inBatchOf: 7) == 7)
        #expect(RemixSettings().count(inBatchOf: 32) == 0 && !RemixSettings().isEnabled)
    }
}
