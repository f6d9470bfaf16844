import Foundation
import Support

/// Serves the blocks of a schedule one at a time, with only the current block resident and the next
/// one prepared on a background thread while the current one trains.
///
/// `block(at: i)` returns block `i mod blocks.count` (waiting for the prefetch if it is still running)
/// and starts preparing block `(i + 1) mod blocks.count`, so a loop over repetitions × blocks never
/// waits after the first block as long as an epoch takes longer than mapping a block. Preparing means:
/// computing any missing cache entries (`FeatureCache.features`), mapping them and reading one float
/// per page so the pages are resident. Songs shared by consecutive blocks (half of them, with the
/// default 50 % overlap) reuse the current block's mapping.
///
/// Memory: the stream keeps the block it last returned and the one it prefetches, so at most two
/// blocks' songs are mapped at once (15 songs with the defaults); a block's mappings go away when the
/// caller and the stream both let go of it. Callers should drop their previous `Block` before asking
/// for the next. With `loadSignals` (remixing) each block also holds its songs' decoded mono stems,
/// about 0.7 MB per second of audio, in memory (not mapped).
public final class BlockStream: @unchecked Sendable {
    public let cache: FeatureCache
    public let songs: [Song]
    public let blocks: [Range<Int>]
    public let windowLength: Int
    public let windowHop: Int
    /// Whether blocks also hold their songs' mono stems (for remixing; ~0.7 MB per second of audio).
    public let loadSignals: Bool

    private let condition = NSCondition()
    private var current: (index: Int, block: Block)?
    private var pending: (index: Int, result: Result<Block, Error>?)?
    private let queue = DispatchQueue(label: "cnnsep.blockstream", qos: .userInitiated)
    /// Sum of the floats read while touching pages: kept so the reads cannot be optimised away.
    private(set) var touchChecksum: Float = 0

    public init(cache: FeatureCache, songs: [Song], blocks: [Range<Int>], windowLength: Int, windowHop: Int, loadSignals: Bool = false) {
        precondition(blocks.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= songs.count },
                     "BlockStream: a block reaches past the \(songs.count) songs")
        self.cache = cache
        self.songs = songs
        self.blocks = blocks
        self.windowLength = windowLength
        self.windowHop = windowHop
        self.loadSignals = loadSignals
    }

    /// Block `index mod blocks.count`; starts preparing the next one in the background.
    public func block(at index: Int) throws -> Block {
        precondition(!blocks.isEmpty && index >= 0, "BlockStream.block: no blocks, or a negative index")
        let i = index % blocks.count
        condition.lock()
        // Wait for whatever is being prepared (it may be this block, or one we no longer need).
        while let p = pending, p.result == nil { condition.wait() }
        let prefetched = pending
        pending = nil
        let reusable = current?.block
        condition.unlock()

        let block: Block
        if let prefetched, prefetched.index == i, let result = prefetched.result {
            block = try result.get()
        } else {
            block = try load(i, reusing: reusable)
        }

        condition.lock()
        current = (i, block)
        let next = (i + 1) % blocks.count
        if next != i {
            pending = (next, nil)
            queue.async { [self] in
                let result = Result { try self.load(next, reusing: block) }
                condition.lock()
                pending = (next, result)
                condition.broadcast()
                condition.unlock()
            }
        }
        condition.unlock()
        return block
    }

    /// Maps the block's songs (reusing `previous`'s mappings of shared songs) and touches their pages;
    /// with `loadSignals`, also decodes their stems (reusing `previous`'s for shared songs).
    private func load(_ i: Int, reusing previous: Block?) throws -> Block {
        let range = blocks[i]
        var features: [SongFeatures] = []
        var signals: [StemSignals] = []
        for index in range {
            if let previous, previous.range.contains(index), !loadSignals || previous.signals != nil {
                features.append(previous.songs[index - previous.range.lowerBound])
                if loadSignals { signals.append(previous.signals![index - previous.range.lowerBound]) }
            } else {
                let f = try cache.features(songs[index])
                let sum = f.touch()
                condition.lock(); touchChecksum += sum; condition.unlock()
                features.append(f)
                if loadSignals { signals.append(try cache.signals(songs[index], frames: f.frames)) }
            }
        }
        return Block(range: range, songs: features, windowLength: windowLength, windowHop: windowHop,
                     signals: loadSignals ? signals : nil)
    }
}
