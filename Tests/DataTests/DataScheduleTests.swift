import Foundation
import Testing
import TestHelpers
import Support
@testable import Data
import Audio

@Suite("Data: blocks, windows, batches")
struct DataScheduleTests {
    @Test("50 songs give the reproduced Keras code's 9 blocks of 10 with 50 % overlap")
    func seedBlocks() {
        let blocks = Schedule().blocks(songCount: 50)
        #expect(blocks == [0..<10, 5..<15, 10..<20, 15..<25, 20..<30, 25..<35, 30..<40, 35..<45, 40..<50])
        #expect(Schedule().totalEpochs(songCount: 50) == 3 * 9 * 10)
    }

    @Test("song counts that are not a multiple of the hop get one more full block aligned to the end")
    func unevenBlocks() {
        let s = Schedule()
        #expect(s.blocks(songCount: 52) == [0..<10, 5..<15, 10..<20, 15..<25, 20..<30, 25..<35, 30..<40, 35..<45, 40..<50, 42..<52])
        #expect(s.blocks(songCount: 16) == [0..<10, 5..<15, 6..<16])
        #expect(s.blocks(songCount: 15) == [0..<10, 5..<15])
        #expect(s.blocks(songCount: 10) == [0..<10])
        #expect(s.blocks(songCount: 7) == [0..<7])
        #expect(s.blocks(songCount: 0) == [])
        // Every song of any count is in some block, and every block has min(count, blockSize) songs.
        for n in 1...60 {
            let blocks = s.blocks(songCount: n)
            #expect(Set(blocks.flatMap { Array($0) }) == Set(0..<n))
            #expect(blocks.allSatisfy { $0.count == min(n, 10) })
        }
    }

    @Test("window starts cover every frame, tail included, with no window wholly past the end")
    func windowsCoverSong() {
        #expect(windowStarts(frames: 60, length: 25, hop: 25) == [0, 25, 50])
        #expect(windowStarts(frames: 50, length: 25, hop: 25) == [0, 25])
        #expect(windowStarts(frames: 51, length: 25, hop: 25) == [0, 25, 50])
        #expect(windowStarts(frames: 10, length: 25, hop: 25) == [0])
        #expect(windowStarts(frames: 0, length: 25, hop: 25) == [])
        #expect(windowStarts(frames: 60, length: 25, hop: 5) == [0, 5, 10, 15, 20, 25, 30, 35])
        for frames in 1...120 {
            for hop in [1, 3, 5, 25] {
                let starts = windowStarts(frames: frames, length: 25, hop: hop)
                // Independent check: every frame is covered ...
                for t in 0..<frames { #expect(starts.contains { $0 <= t && t < $0 + 25 }) }
                // ... consecutive starts move by hop from 0, and only the last window may reach the end.
                #expect(starts == starts.indices.map { $0 * hop })
                #expect(starts.dropLast().allSatisfy { $0 + 25 < frames })
                if hop == 25 { #expect(starts.count == (frames + 24) / 25) }
            }
        }
    }

    /// A song whose value at (plane p, frame t, bin k) is 1000·song + 100·p + t + k/10 (+1 so none is 0).
    static func song(_ index: Int, frames: Int, bins: Int) -> SongFeatures {
        func plane(_ p: Int) -> [Float] {
            (0..<(frames * bins)).map { i in Float(1000 * index + 100 * p + i / bins) + Float(i % bins) / 10 + 1 }
        }
        return SongFeatures(name: "song \(index)", frames: frames, bins: bins,
                            mixture: plane(0), sources: (1...4).map(plane))
    }

    @Test("a block's windows and batches per epoch: shuffled across songs, partial batch dropped")
    func batchesPerEpoch() {
        let songs = [Self.song(0, frames: 60, bins: 3), Self.song(1, frames: 30, bins: 3), Self.song(2, frames: 100, bins: 3)]
        let block = Block(range: 0..<3, songs: songs, windowLength: 25, windowHop: 25)
        #expect(block.windows.count == 3 + 2 + 4)
        #expect(block.windows.filter { $0.song == 1 } == [WindowRef(song: 1, start: 0), WindowRef(song: 1, start: 25)])
        var rng = SeededGenerator(seed: 7)
        let batches = block.batchOrder(batchSize: 4, using: &rng)
        #expect(batches.count == 2 && batches.allSatisfy { $0.count == 4 })
        #expect(block.batchCount(batchSize: 4) == 2)
        let used = batches.flatMap { $0 }
        #expect(Set(used).count == 8 && Set(used).isSubset(of: Set(block.windows)))
        // Shuffled across songs: the first batch is not simply the first four windows in order.
        #expect(used != Array(block.windows.prefix(8)))
        let kept = block.batchOrder(batchSize: 4, using: &rng, keepPartial: true)
        #expect(kept.map(\.count) == [4, 4, 1])
        #expect(Set(kept.flatMap { $0 }) == Set(block.windows))
        // Fewer windows than a batch: one smaller batch, never an empty epoch.
        let small = block.batchOrder(batchSize: 32, using: &rng)
        #expect(small.count == 1 && small[0].count == 9)
    }

    @Test("the reproduced Keras code's sizes: 10 songs of 3,000 frames, T = 25, batches of 32")
    func seedBatchArithmetic() {
        // 3,000 frames → 120 windows per song, 1,200 per block, 37 batches of 32, 16 windows sit out.
        let songs = (0..<10).map { _ in Self.song(0, frames: 3000, bins: 1) }
        let block = Block(range: 0..<10, songs: songs, windowLength: 25, windowHop: 25)
        #expect(block.windows.count == 1200)
        #expect(block.batchCount(batchSize: 32) == 37)
        let overlapping = Block(range: 0..<10, songs: songs, windowLength: 25, windowHop: 5)
        #expect(overlapping.windows.count == 10 * 596)   // starts 0, 5, …, 2975
    }

    @Test("the batch order is reproduced exactly after saving and restoring the generator state")
    func reproducibleShuffle() {
        let songs = (0..<4).map { Self.song($0, frames: 200, bins: 2) }
        let block = Block(range: 0..<4, songs: songs, windowLength: 25, windowHop: 5)
        var rng = SeededGenerator(seed: 2017)
        let epoch0 = block.batchOrder(batchSize: 32, using: &rng)
        let saved = rng.state                       // what a checkpoint stores at the start of epoch 1
        let epoch1 = block.batchOrder(batchSize: 32, using: &rng)
        let epoch2 = block.batchOrder(batchSize: 32, using: &rng)
        #expect(epoch0 != epoch1 && epoch1 != epoch2)  // anew each epoch
        var resumed = SeededGenerator(state: saved)
        #expect(block.batchOrder(batchSize: 32, using: &resumed) == epoch1)
        #expect(block.batchOrder(batchSize: 32, using: &resumed) == epoch2)
        #expect(resumed == rng)
        // A block built afresh from the same features gives the same order from the same state.
        let again = Block(range: 0..<4, songs: songs, windowLength: 25, windowHop: 5)
        var other = SeededGenerator(state: saved)
        #expect(again.batchOrder(batchSize: 32, using: &other) == epoch1)
    }

    @Test("fill copies each window's frames and zero-pads past the song's end")
    func fillCopiesAndPads() {
        let bins = 3
        let songs = [Self.song(0, frames: 60, bins: bins), Self.song(1, frames: 30, bins: bins)]
        let block = Block(range: 4..<6, songs: songs, windowLength: 25, windowHop: 25)
        var batch = Batch(capacity: 4, length: 25, bins: bins)
        let windows = [WindowRef(song: 1, start: 25), WindowRef(song: 0, start: 50), WindowRef(song: 0, start: 0)]
        block.fill(&batch, with: windows)
        #expect(batch.count == 3)
        for p in 0..<5 {
            let values = p == 0 ? batch.mixture : batch.sources[p - 1]
            for (b, w) in windows.enumerated() {
                let frames = songs[w.song].frames
                for t in 0..<25 {
                    for k in 0..<bins {
                        let f = w.start + t
                        let expected: Float = f < frames ? Float(1000 * w.song + 100 * p + f) + Float(k) / 10 + 1 : 0
                        #expect(values[(b * 25 + t) * bins + k] == expected)
                    }
                }
            }
        }
        // Refilling with fewer windows reuses the same storage (no copy of the batch is alive here).
        let before = batch.mixture.withUnsafeBufferPointer { $0.baseAddress }
        block.fill(&batch, with: [WindowRef(song: 0, start: 25)])
        #expect(batch.count == 1)
        #expect(batch.mixture.withUnsafeBufferPointer { $0.baseAddress } == before)
        #expect(batch.mixture[0] == Float(25) + 1)
    }
}
