import Foundation

/// Seed 003's training schedule (METHOD.md, "Training schedule"): blocks of `blockSize` songs whose
/// starts move by `blockHop`; the pass over all blocks is repeated `repetitions` times; each block is
/// trained for `epochsPerBlock` epochs.
public struct Schedule: Codable, Equatable, Sendable {
    public var blockSize = 10
    public var blockHop = 5
    public var repetitions = 3
    public var epochsPerBlock = 10

    public init() {}

    public init(blockSize: Int, blockHop: Int, repetitions: Int = 3, epochsPerBlock: Int = 10) {
        self.blockSize = blockSize
        self.blockHop = blockHop
        self.repetitions = repetitions
        self.epochsPerBlock = epochsPerBlock
    }

    /// The blocks of one repetition, as ranges of song indices (songs in sorted name order).
    ///
    /// Blocks start at 0, `blockHop`, 2·`blockHop`, … while a whole block fits: 50 songs with the
    /// defaults give the seed's 9 blocks 0..<10, 5..<15, …, 40..<50. When the songs do not end exactly
    /// at a block's end, one more block of full size is added, aligned to the end
    /// (`songCount-blockSize ..< songCount`), so every song is trained and every block holds
    /// `blockSize` songs (52 songs: the 9 blocks above and then 42..<52). With at most `blockSize`
    /// songs there is one block of all of them. No songs, no blocks.
    public func blocks(songCount: Int) -> [Range<Int>] {
        precondition(blockSize > 0 && blockHop > 0, "Schedule: blockSize and blockHop must be positive")
        guard songCount > 0 else { return [] }
        guard songCount > blockSize else { return [0..<songCount] }
        var blocks: [Range<Int>] = []
        var start = 0
        while start + blockSize <= songCount {
            blocks.append(start..<(start + blockSize))
            start += blockHop
        }
        if let last = blocks.last, last.upperBound < songCount {
            blocks.append((songCount - blockSize)..<songCount)
        }
        return blocks
    }

    /// Epochs of the whole run: repetitions × blocks × epochs per block.
    public func totalEpochs(songCount: Int) -> Int {
        repetitions * blocks(songCount: songCount).count * epochsPerBlock
    }
}

/// One training window: the song's index within its block and its first frame.
public struct WindowRef: Equatable, Hashable, Codable, Sendable {
    public let song: Int
    public let start: Int

    public init(song: Int, start: Int) {
        self.song = song
        self.start = start
    }
}
