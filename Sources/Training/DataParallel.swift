import Configuration
import Data
import Distributed
import Foundation
import Network
import Support

/// Synchronous data-parallel training over the ranks of a job (`mpirun -np N cnnsep train`); with
/// one rank (a process not started by `mpirun`/`srun`) every call below is the single-process
/// behaviour and no MPI function is called.
///
/// Every rank runs the same schedule from the same generator, so all ranks cut the same global
/// batches (`schedule.batch_size` windows, whatever N). Rank r computes the gradient of windows
/// ⌊r·B/N⌋ ..< ⌊(r+1)·B/N⌋ of each batch of B windows: shards differ by at most one window when N
/// does not divide B (32 windows on 3 ranks: 10, 11, 11). Each shard's loss is divided by B, so the
/// shards' gradients sum to the batch's; one allreduce of the flat gradient (with the loss after it)
/// gives every rank that sum, and every rank takes the same Adadelta step from it: the weights stay
/// bit-identical on all ranks, which `checkRanksAgree` verifies once per epoch.
///
/// Only rank 0 reads or writes the run folder: it decides where training starts (`shareStart`) and
/// alone writes the checkpoint and the log, so a distributed checkpoint is an ordinary one.
public final class DataParallel {
    public let ranks: any Communicator
    /// This rank's shard of the current batch: made for the first shard and again only for a larger
    /// one, so its size follows the batches the data gives, never `schedule.batch_size` alone (a
    /// batch size of a million allocated 51 GB for three songs).
    private var shard = Batch(capacity: 1, length: 1, bins: 1)
    /// The windows' frames and bins.
    private let windowShape: (frames: Int, bins: Int)
    /// Seconds spent in the gradient allreduce so far, waiting for the other ranks included
    /// (`bench distributed` reports it).
    public private(set) var reductionSeconds = 0.0

    var isRoot: Bool { ranks.isRoot }

    public init(ranks: any Communicator, config: Config) {
        self.ranks = ranks
        windowShape = (config.model.frames, config.model.bins)
    }

    /// The most windows a rank's shard of a global batch of `count` holds.
    func largestShard(of count: Int) -> Int { (count + ranks.size - 1) / ranks.size }

    /// The windows of a global batch of `count` that this rank computes.
    func shard(of count: Int) -> Range<Int> {
        let (r, n) = (ranks.rank, ranks.size)
        return (r * count / n)..<((r + 1) * count / n)
    }

    /// Refuses a job with more ranks than some global batch has windows (a rank would have none):
    /// batches hold `schedule.batch_size` windows, or all of a block's when it has fewer than that
    /// (`blockWindows`: the windows of each block).
    func checkEveryRankHasWindows(blockWindows: [Int], config: Config) throws {
        let n = ranks.size, b = config.batchSize
        if b < n {
            try failTogether(CNNSepError("config '\(config.name)': \(n) ranks for a global batch of \(b) window\(b == 1 ? "" : "s") (key 'schedule.batch_size'): launch at most \(b) ranks, or raise schedule.batch_size"))
        }
        if let i = blockWindows.indices.first(where: { blockWindows[$0] > 0 && blockWindows[$0] < n }) {
            let w = blockWindows[i]
            try failTogether(CNNSepError("config '\(config.name)': block \(i + 1) has only \(w) window\(w == 1 ? "" : "s"), fewer than the \(n) ranks, so its one batch cannot give every rank a window: launch at most \(w) ranks, or put more or longer songs in a block"))
        }
    }

    /// One synchronous step on the global batch `windows` of `block` (no remixing).
    public func step(_ step: TrainingStep, block: Block, windows: [WindowRef]) -> Float {
        self.step(step, batch: windows.count) { shard, part in block.fill(&shard, with: windows[part]) }
    }

    /// One synchronous step on a global batch of `count` windows: `fill` writes this rank's shard
    /// (the batch's windows in the range it is given), then the allreduce, then Adadelta. Returns the
    /// global batch's loss (the same on every rank).
    public func step(_ step: TrainingStep, batch count: Int, fill: (inout Batch, Range<Int>) -> Void) -> Float {
        let part = shard(of: count)
        if part.count > shard.capacity || shard.length != windowShape.frames || shard.bins != windowShape.bins {
            shard = Batch(capacity: max(part.count, 1), length: windowShape.frames, bins: windowShape.bins)
        }
        fill(&shard, part)
        return step.step(shard, globalBatch: count) { buffer in
            guard ranks.size > 1 else { return }
            let start = DispatchTime.now().uptimeNanoseconds
            ranks.allreduce(buffer, .sum)
            reductionSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        }
    }

    /// True on every rank when `local` is true on any (Ctrl-C/SIGTERM reached some rank): all ranks
    /// stop at the same step. One 4-byte allreduce.
    public func anyRequested(_ local: Bool) -> Bool { ranks.anyRequested(local) }

    /// Waits until every rank is here: ranks that stop wait for rank 0 to finish its checkpoint, so
    /// that no rank's exit can end the job while rank 0 is still writing.
    func waitForAll() { ranks.barrier() }

    /// Throws, with one line from rank 0, when the ranks' weights or optimizer state differ (they
    /// should be bit-identical: every rank applies the same reduced gradient). `when` says where.
    func checkRanksAgree(_ step: TrainingStep, when: String) throws {
        try requireAgreement(on: Self.fingerprint(step)) {
            "the ranks' weights differ \(when) (checksum of weights and optimizer state: \($0) from rank 0); stopped before logging or saving, so the run folder holds the last good checkpoint"
        }
    }

    /// Throws, with one line from rank 0, when some rank read another config (its name and cache
    /// folder aside) or another dataset (song names, windows per block) than rank 0: such ranks
    /// would cut other batches, or call the collectives in another order and hang.
    func checkSameRun(config: Config, songs: [String], blockWindows: [Int]) throws {
        var settings = config
        (settings.name, settings.cacheFolder) = ("", nil)
        let text = ([settings.json()] + songs + [blockWindows.map(String.init).joined(separator: " ")]).joined(separator: "\n")
        try requireAgreement(on: checksum(bytes: Array(text.utf8))) {
            "\($0) from rank 0 in the config or the dataset (song names, windows per block): every host needs the same config and the same songs at dataset.root"
        }
    }

    /// Throws `problem("rank 2 differs")` from rank 0, the others waiting for its abort, unless all
    /// ranks passed the same value (`Communicator.requireAgreement`).
    private func requireAgreement(on value: UInt64, _ problem: (String) -> String) throws {
        try ranks.requireAgreement(on: value, problem)
    }

    /// FNV-1a over every weight and both Adadelta accumulators, in parameter order.
    static func fingerprint(_ step: TrainingStep) -> UInt64 {
        var hash = checksum([])
        for p in step.network.parameters { hash = checksum(p.data, continuing: hash) }
        for values in step.optimizer.squaredGradients + step.optimizer.squaredUpdates { hash = checksum(values, continuing: hash) }
        return hash
    }

    /// For an error every rank meets at the same point: rank 0 throws it (its line ends the job, see
    /// `Cluster.abortIfJoined`) and the other ranks wait for that instead of printing it too.
    func failTogether(_ error: CNNSepError) throws -> Never {
        try ranks.failTogether(error)
    }

    /// Rank 0's weights, optimizer state, generator and position on every rank (rank 0 has set them
    /// from its checkpoint, or left them fresh): the other ranks never read the run folder.
    func shareStart(_ step: TrainingStep, rng: inout SeededGenerator, position: inout TrainingPosition) {
        guard ranks.size > 1 else { return }
        let parameters = step.network.parameters
        var values = parameters.flatMap(\.data) + step.optimizer.squaredGradients.joined() + step.optimizer.squaredUpdates.joined()
        ranks.broadcast(&values)
        var offset = 0
        func take(_ count: Int) -> [Float] {
            defer { offset += count }
            return Array(values[offset..<(offset + count)])
        }
        for p in parameters { p.data = take(p.count) }
        step.optimizer.squaredGradients = parameters.map { take($0.count) }
        step.optimizer.squaredUpdates = parameters.map { take($0.count) }

        let p = position
        var words = rng.state + [p.repetition, p.block, p.epoch, p.batch, p.step].map { UInt64(bitPattern: Int64($0)) }
            + [p.epochLossSum.bitPattern]
        ranks.broadcast(&words)
        rng = SeededGenerator(state: Array(words[0..<4]))
        let n = words[4..<9].map { Int(Int64(bitPattern: $0)) }
        position = TrainingPosition(repetition: n[0], block: n[1], epoch: n[2], batch: n[3], step: n[4],
                                    epochLossSum: Double(bitPattern: words[9]))
    }
}
