import Foundation
import Testing
import TestHelpers
import Support
@testable import Data
import Audio

@Suite("Data: block stream")
struct DataStreamTests {
    @Test("the stream serves each block's songs in order, wraps over repetitions, and shares overlapping songs")
    func streamsBlocks() throws {
        let names = ["d'Artagnan", "Zoë & co", "alpha", "beta"]
        let root = try DataFixtures.audioDataset(layout: .dsd100, songs: names, seconds: 0.3)
        defer { try? FileManager.default.removeItem(at: root) }
        let dataset = try Dataset.open(root)
        let songs = try dataset.songs(split: "Dev")
        let cache = FeatureCache(folder: FeatureCache.defaultFolder(for: dataset), settings: FeatureSettings())
        let blocks = Schedule(blockSize: 2, blockHop: 1).blocks(songCount: songs.count)
        #expect(blocks == [0..<2, 1..<3, 2..<4])
        let stream = BlockStream(cache: cache, songs: songs, blocks: blocks, windowLength: 25, windowHop: 25)
        var previous: Block?
        for step in 0..<(2 * blocks.count) {
            let block = try stream.block(at: step)
            #expect(block.range == blocks[step % blocks.count])
            #expect(block.songs.map(\.name) == block.range.map { songs[$0].name })
            for (i, features) in block.songs.enumerated() {
                let direct = try cache.features(songs[block.range.lowerBound + i])
                #expect(Array(features.source(2)) == Array(direct.source(2)))
            }
            // 0.3 s → 52 + 3 frames → 3 windows of 25 per song.
            #expect(block.windows.count == 2 * 3)
            if let previous, previous.range.upperBound - 1 == block.range.lowerBound {
                #expect(previous.songs[1].storage === block.songs[0].storage)   // shared song, one mapping
            }
            previous = block
        }
        #expect(cache.buildCount == 4)   // each song computed once
        // Asking out of order works too (the prefetched block is discarded).
        #expect(try stream.block(at: 0).range == 0..<2)
        #expect(try stream.block(at: 2).range == 2..<4)
    }

    @Test("a bad song in a block surfaces as an error from block(at:), naming the song")
    func badSongInBlock() throws {
        let root = try DataFixtures.audioDataset(layout: .musdb18hq, songs: ["fine", "gone bad"], seconds: 0.2)
        defer { try? FileManager.default.removeItem(at: root) }
        let dataset = try Dataset.open(root)
        let songs = try dataset.songs(split: "train")
        try Data("garbage".utf8).write(to: songs[1].sources[1])
        let cache = FeatureCache(folder: root.appendingPathComponent("cache"), settings: FeatureSettings())
        let stream = BlockStream(cache: cache, songs: songs, blocks: [0..<1, 1..<2], windowLength: 25, windowHop: 25)
        #expect(try stream.block(at: 0).range == 0..<1)
        do { _ = try stream.block(at: 1); Issue.record("expected an error") } catch let e as CNNSepError {
            #expect(e.message.hasPrefix("gone bad: ") && e.message.contains("drums.wav"))
        }
    }
}
