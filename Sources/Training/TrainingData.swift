import Audio
import Autodiff
import Configuration
import Data
import Distributed
import Foundation
import Network
import Support

/// The songs a config trains on, their cached features, the blocks of the schedule and the
/// validation songs (held out of training, loss logged per epoch).
final class TrainingData {
    let config: Config
    let training: [Song]
    let validation: [Song]
    let cache: FeatureCache
    let blocks: [Range<Int>]
    /// Training windows of each training song.
    let windowCounts: [Int]
    /// Only the current block is resident; the next one is prepared in the background.
    let stream: BlockStream
    private var validationBlock: Block?

    /// The job's ranks (one, without mpirun): they share the building of missing cache entries and
    /// the validation songs.
    let ranks: any Communicator

    init(config: Config, showProgress: Bool, ranks: any Communicator = LocalCommunicator()) throws {
        self.config = config
        self.ranks = ranks
        let root = URL(fileURLWithPath: config.datasetRoot)
        guard FileManager.default.fileExists(atPath: root.path) else {
            throw CNNSepError("\(root.path): dataset folder does not exist (key 'dataset.root' of config '\(config.name)'; `cnnsep synth --out \(config.datasetRoot)` makes a demo set)")
        }
        let dataset = try Dataset.open(root)
        let songs = try dataset.songs(split: config.trainSplit)
        let held = Set(config.validationSongs)
        for name in config.validationSongs where !songs.contains(where: { $0.name == name }) {
            throw CNNSepError("config '\(config.name)': key 'dataset.validation_songs': no song named '\(name)' in split \(config.trainSplit) of \(root.path)")
        }
        validation = songs.filter { held.contains($0.name) }
        var train = songs.filter { !held.contains($0.name) }
        if let limit = config.maxSongs { train = Array(train.prefix(limit)) }
        guard !train.isEmpty else {
            throw CNNSepError("\(root.path): no training songs in split '\(config.trainSplit)'")
        }
        training = train
        cache = FeatureCache(folder: config.cacheFolder.map { URL(fileURLWithPath: $0) } ?? FeatureCache.defaultFolder(for: dataset),
                             settings: config.features)
        // Each rank builds every N-th missing entry, then all wait for each other. A rank that cannot
        // see another's entries (a cache folder not shared between hosts) builds them when it needs them.
        let all = train + validation
        try cache.prepare(all.indices.filter { $0 % ranks.size == ranks.rank }.map { all[$0] }, progress: showProgress)
        ranks.barrier()
        // Counted now, so an entry that cannot be read stops here with its reason rather than
        // counting as no windows in the progress and ETA.
        let cache = self.cache, (length, hop) = (config.model.frames, config.windowHop)
        windowCounts = try train.map { windowStarts(frames: try cache.features($0).frames, length: length, hop: hop).count }
        blocks = config.schedule.blocks(songCount: train.count)
        stream = BlockStream(cache: cache, songs: train, blocks: blocks,
                             windowLength: config.model.frames, windowHop: config.windowHop)
    }

    /// Block `index` of the schedule (waiting for the background load if needed).
    func block(at index: Int) throws -> Block { try stream.block(at: index) }

    /// Training windows in block `index`.
    func windows(block index: Int) -> Int {
        blocks[index].reduce(0) { $0 + windowCounts[$1] }
    }

    /// Batches in one epoch of block `index` (for progress and ETA), as `Block.batchOrder` cuts them.
    func batchesPerEpoch(block index: Int) -> Int {
        Block.batchCount(windows: windows(block: index), batchSize: config.batchSize)
    }

    /// Mean loss over all windows of the validation songs, in order, without gradients; nil when none.
    /// With several ranks, rank r takes every N-th song (so it reads only those) and the sums of loss
    /// and windows are added over the ranks: every rank gets the same value, equal to one process's
    /// up to rounding.
    func validationLoss(_ step: TrainingStep) throws -> Double? {
        guard !validation.isEmpty else { return nil }
        if validationBlock == nil {
            let mine = validation.indices.filter { $0 % ranks.size == ranks.rank }.map { validation[$0] }
            validationBlock = Block(range: 0..<mine.count, songs: try mine.map { try cache.features($0) },
                                    windowLength: config.model.frames, windowHop: config.model.frames)
        }
        let block = validationBlock!
        var batch = Batch(capacity: config.batchSize, length: config.model.frames, bins: config.model.bins)
        var sum = 0.0, count = 0
        for start in stride(from: 0, to: block.windows.count, by: config.batchSize) {
            let windows = Array(block.windows[start..<min(start + config.batchSize, block.windows.count)])
            block.fill(&batch, with: windows)
            sum += Double(step.loss(batch)) * Double(windows.count)
            count += windows.count
        }
        var totals = [sum, Double(count)]
        if ranks.size > 1 { ranks.allreduce(&totals, .sum) }
        return totals[1] > 0 ? totals[0] / totals[1] : nil
    }
}
