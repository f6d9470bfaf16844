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
    /// Windows of this rank's validation songs (every N-th of them), cut like `validationLoss` cuts them.
    let validationWindows: Int
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
            throw CNNSepError("\(root.relativePath): dataset folder does not exist (key 'dataset.root' of config '\(config.name)'; `cnnsep synth --out \(config.datasetRoot)` makes a demo set)")
        }
        let dataset = try Dataset.open(root)
        let songs = try dataset.songs(split: config.trainSplit)
        let held = Set(config.validationSongs)
        for name in config.validationSongs where !songs.contains(where: { $0.name == name }) {
            throw CNNSepError("config '\(config.name)': key 'dataset.validation_songs': no song named '\(name)' in split \(config.trainSplit) of \(root.relativePath)")
        }
        validation = songs.filter { held.contains($0.name) }
        var train = songs.filter { !held.contains($0.name) }
        if let limit = config.maxSongs { train = Array(train.prefix(limit)) }
        guard !train.isEmpty else {
            throw CNNSepError("\(root.relativePath): no training songs in split '\(config.trainSplit)'")
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
        validationWindows = try Self.share(of: validation, ranks: ranks).reduce(0) {
            $0 + windowStarts(frames: try cache.features($1).frames, length: length, hop: length).count
        }
        blocks = config.schedule.blocks(songCount: train.count)
        stream = BlockStream(cache: cache, songs: train, blocks: blocks,
                             windowLength: config.model.frames, windowHop: config.windowHop,
                             loadSignals: config.remix.isEnabled)
        stft = STFT(windowLength: config.features.windowLength, hop: config.features.hop)
    }

    /// The features' STFT (remixes are transformed with it).
    let stft: STFT

    /// Fills the batch with `windows` of `block` — with remixing on, the last
    /// `remix.count(inBatchOf:)` of them replaced by remixes drawn from a generator seeded by the
    /// epoch's `remixSeed` and the batch's index, so a resumed epoch draws the same remixes for
    /// batch `index` without replaying the batches before it.
    /// `part` (default: all) of the batch: a rank's shard of the global batch takes the same remixes
    /// it would hold in one process.
    func fill(_ batch: inout Batch, from block: Block, windows: [WindowRef], remixSeed: UInt64, index: Int, part: Range<Int>? = nil) {
        let part = part ?? windows.indices
        let remix = config.remix
        guard remix.isEnabled else { return block.fill(&batch, with: windows[part]) }
        let count = remix.count(inBatchOf: windows.count), real = windows.count - count
        var rng = SeededGenerator(seed: remixSeed ^ UInt64(index))
        let remixes = block.remixes(count, gains: remix.gains, using: &rng)     // all drawn, so every rank's draws agree
        let mine = part.clamped(to: 0..<real), theirs = part.clamped(to: real..<windows.count)
        block.fill(&batch, with: Array(windows[mine]), remixes: Array(remixes[(theirs.lowerBound - real)..<(theirs.upperBound - real)]), stft: stft)
    }

    /// Block `index` of the schedule (waiting for the background load if needed).
    func block(at index: Int) throws -> Block { try stream.block(at: index) }

    /// Training windows in block `index`.
    func windows(block index: Int) -> Int {
        blocks[index].reduce(0) { $0 + windowCounts[$1] }
    }

    /// Mean and standard deviation per bin of the network's input (magnitudes × `input_scale`) over
    /// every frame of the training songs (not the validation songs), summed in Double in song order,
    /// for `model.input_normalization`. A deviation below 1/1000 of the bins' mean deviation is raised
    /// to it, so that no bin of a song is amplified more than 1000× the typical bin (a bin silent in
    /// the training songs would otherwise blow up any sound a test song has there).
    func inputStatistics() throws -> (mean: [Float], std: [Float]) {
        let bins = config.model.bins, scale = Double(config.inputScale)
        var sum = [Double](repeating: 0, count: bins), squares = sum
        var frames = 0
        for song in training {
            let features = try cache.features(song)
            let x = features.mixture()
            for t in 0..<features.frames {
                for k in 0..<bins {
                    let v = Double(x[t * bins + k]) * scale
                    sum[k] += v
                    squares[k] += v * v
                }
            }
            frames += features.frames
        }
        let n = Double(max(frames, 1))
        let mean = sum.map { $0 / n }
        let std = zip(squares, mean).map { max($0 / n - $1 * $1, 0).squareRoot() }
        let floor = max(std.reduce(0, +) / Double(bins) * 1e-3, 1e-30)
        return (mean.map { Float($0) }, std.map { Float(max($0, floor)) })
    }

    /// Rank r's validation songs: every N-th, from the r-th.
    static func share(of songs: [Song], ranks: any Communicator) -> [Song] {
        songs.indices.filter { $0 % ranks.size == ranks.rank }.map { songs[$0] }
    }

    /// The most windows of a training batch (`Block.largestBatch`) and of a validation batch on this rank.
    var largestBatches: (training: Int, validation: Int) {
        (Block.largestBatch(windows: blocks.indices.map { windows(block: $0) }, batchSize: config.batchSize),
         min(validationWindows, config.batchSize))
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
            let mine = Self.share(of: validation, ranks: ranks)
            validationBlock = Block(range: 0..<mine.count, songs: try mine.map { try cache.features($0) },
                                    windowLength: config.model.frames, windowHop: config.model.frames)
        }
        let block = validationBlock!
        var batch = Batch(capacity: max(min(config.batchSize, block.windows.count), 1), length: config.model.frames, bins: config.model.bins)
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
