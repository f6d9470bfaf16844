import Autodiff
import Configuration
import Data
import Distributed
import Foundation
import Network
import Support

/// How a `train` invocation ended.
public enum TrainOutcome: Equatable {
    case finished, interrupted, alreadyComplete
}

/// Runs the blocked schedule of METHOD.md (repetitions × blocks × epochs × shuffled batches),
/// writing `latest.h5` and `log.jsonl` in the run folder; a later run resumes where it stopped,
/// bit for bit (the generator's state at the start of the epoch and the batch index are saved).
public final class Trainer {
    public let config: Config
    public let runDirectory: URL
    public var restart = false
    public var showProgress = true
    /// Test hook: behave as if Ctrl-C arrived after this many batches of this invocation.
    public var stopAfterBatches: Int? = nil
    /// The job's ranks: data-parallel training under `mpirun`/`srun` (`Cluster.join()`); one rank,
    /// without MPI, by default.
    public var ranks: any Communicator = LocalCommunicator()

    public var checkpointURL: URL { runDirectory.appendingPathComponent("latest.h5") }
    public var logURL: URL { runDirectory.appendingPathComponent("log.jsonl") }

    public init(config: Config, runDirectory: URL) {
        self.config = config
        self.runDirectory = runDirectory
    }

    /// The generator that shuffles batches; independent of the one that initialises weights.
    static func shuffleSeed(_ seed: UInt64) -> UInt64 { seed ^ 0x5EED_0F_BA7C_4E5 }

    public func run() throws -> TrainOutcome {
        // The run folder is rank 0's alone (the only process in a single-process run): it locks it,
        // reads the checkpoint and writes; the other ranks get their start from it (shareStart).
        let parallel = DataParallel(ranks: ranks, config: config)
        // One process per run folder: a second one would write every epoch twice.
        let lock = parallel.isRoot ? try FolderLock(runDirectory, hint: "wait for it to finish, or train in another --run-dir") : nil
        defer { lock?.release() }
        // Only we write here now: temporaries of ours whose process is gone are stale.
        let stale = parallel.isRoot ? AtomicFile.removeStaleTemporaries(in: runDirectory) : []
        if !stale.isEmpty { note("Removed \(stale.count) stale temporary file\(stale.count == 1 ? "" : "s") from \(runDirectory.path)") }
        // A checkpoint is resumed only by the run it belongs to (same config, bar harmless keys).
        let network = ChandnaNetwork(shape: config.model, seed: config.seed)
        var resumed: Checkpoint?
        if parallel.isRoot, !restart, FileManager.default.fileExists(atPath: checkpointURL.path) {
            let accepted = try Resume.acceptedChanges(storedConfig: try Checkpoint.configJSON(of: checkpointURL), config: config, source: checkpointURL)
            if !accepted.isEmpty {
                note("Resuming with config changes that do not alter the run so far: \(accepted.map(\.description).joined(separator: ", "))")
            }
            resumed = try Checkpoint.load(checkpointURL, expecting: network.parameterShapes)
        }
        let data = try TrainingData(config: config, showProgress: showProgress && parallel.isRoot, ranks: ranks)
        let step = TrainingStep(network: network, config: config)
        var rng = SeededGenerator(seed: Self.shuffleSeed(config.seed))
        var position = TrainingPosition()
        var log = RunLog(newRunAt: logURL)
        let s = config.schedule
        let blocks = data.blocks
        let batchesPerEpoch = blocks.indices.map { data.batchesPerEpoch(block: $0) }
        let blockWindows = blocks.indices.map { data.windows(block: $0) }
        try parallel.checkSameRun(config: config, songs: (data.training + data.validation).map(\.name), blockWindows: blockWindows)
        try parallel.checkEveryRankHasWindows(blockWindows: blockWindows, config: config)
        let totalBatches = try RunLimits.totalBatches(config: config, batchesPerPass: batchesPerEpoch.reduce(0, +))
        // Every rank checks its own machine; all stop together if any cannot hold its batches.
        let largest = data.largestBatches, shard = parallel.largestShard(of: largest.training)
        let needed = RunLimits.batchBytes(config: config, network: network, trainingShard: shard, validationBatch: largest.validation)
        if parallel.anyRequested(needed > MachineMemory.bytes) {
            try parallel.failTogether(RunLimits.memoryRefusal(config: config, windows: max(shard, largest.validation), needed: needed)
                ?? CNNSepError("config '\(config.name)': key 'schedule.batch_size': another rank's machine cannot hold its batches"))
        }

        if let checkpoint = resumed {
            try Resume.checkSongs(checkpoint, now: data.training.map(\.name), split: config.trainSplit, source: checkpointURL)
            let stored = checkpoint.position ?? TrainingPosition()
            // The stored position first: one in a block the schedule lacks is not "that block is done".
            if stored.repetition < s.repetitions {
                try Resume.checkPosition(stored, batchesPerEpoch: batchesPerEpoch, source: checkpointURL)
            }
            position = Resume.skippingFinishedBlock(stored, epochsPerBlock: s.epochsPerBlock, blockCount: blocks.count)
            try step.network.load(checkpoint.layers, source: checkpointURL.relativePath)
            try step.optimizer.load(checkpoint.optimizer, for: step.network, source: checkpointURL.relativePath)
            if let state = checkpoint.rngState { rng = SeededGenerator(state: state) }
            log = try RunLog(resuming: logURL, from: checkpoint, source: checkpointURL)
            note("Resuming from \(checkpointURL.path) at repetition \(stored.repetition + 1), block \(stored.block + 1), epoch \(stored.epoch + 1), batch \(stored.batch + 1)")
            if position != stored {
                note("Epoch \(stored.epoch + 1) of block \(stored.block + 1) is past the \(s.epochsPerBlock) epoch\(s.epochsPerBlock == 1 ? "" : "s") per block asked for now: that block counts as done.")
            }
        } else if let normalization = step.network.inputNormalization {   // a resumed run loads it with the weights
            let (mean, std) = try data.inputStatistics()
            normalization.set(mean: mean, std: std)
        }
        parallel.shareStart(step, rng: &rng, position: &position)
        if position.repetition >= s.repetitions {
            note("Training is already complete (\(s.repetitions) repetitions of \(blocks.count) blocks); use --restart to train again.")
            return .alreadyComplete
        }

        let doneBatches = position.repetition * s.epochsPerBlock * batchesPerEpoch.reduce(0, +)
            + batchesPerEpoch[..<position.block].reduce(0, +) * s.epochsPerBlock
            + position.epoch * batchesPerEpoch[position.block] + position.batch
        let progress = showProgress && parallel.isRoot ? Progress("train", total: totalBatches) : nil
        progress?.advance(by: doneBatches)

        var batchesThisRun = 0
        let started = Date()

        func save(_ position: TrainingPosition, rngState: [UInt64]) throws {
            guard parallel.isRoot else { return }
            var checkpoint = Checkpoint(layers: step.network.weights(), optimizer: step.optimizer.slots(for: step.network))
            checkpoint.position = position
            checkpoint.rngState = rngState
            checkpoint.configJSON = config.json()
            checkpoint.logLines = log.lines.count
            checkpoint.log = log.text
            checkpoint.trainingSongs = data.training.map(\.name)
            try checkpoint.save(to: checkpointURL)
            try log.checkpointSaved()
        }

        for repetition in position.repetition..<s.repetitions {
            for blockIndex in (repetition == position.repetition ? position.block : 0)..<blocks.count {
                let block = try data.block(at: blockIndex)
                let firstEpoch = (repetition == position.repetition && blockIndex == position.block) ? position.epoch : 0
                for epoch in firstEpoch..<s.epochsPerBlock {
                    // The schedule's epoch (from the position, so a resumed run sets the same rate).
                    let scheduleEpoch = (repetition * blocks.count + blockIndex) * s.epochsPerBlock + epoch
                    step.optimizer.learningRate = config.learningRate(epoch: scheduleEpoch, of: s.repetitions * blocks.count * s.epochsPerBlock)
                    let epochStart = rng.state
                    let order = block.batchOrder(batchSize: config.batchSize, using: &rng)
                    let remixSeed = config.remix.isEnabled ? rng.next() : 0    // drawn only when remixing: the paper's runs are unchanged
                    let resuming = repetition == position.repetition && blockIndex == position.block && epoch == position.epoch
                    var lossSum = resuming ? position.epochLossSum : 0
                    let firstBatch = resuming ? position.batch : 0
                    for b in firstBatch..<order.count {
                        let loss = parallel.step(step, batch: order[b].count) { shard, part in
                            data.fill(&shard, from: block, windows: order[b], remixSeed: remixSeed, index: b, part: part)
                        }
                        guard loss.isFinite else {
                            try parallel.failTogether(CNNSepError("training diverged: the loss became \(loss) at repetition \(repetition + 1), block \(blockIndex + 1), epoch \(epoch + 1), batch \(b + 1); lower optimizer.learning_rate or input_scale"))
                        }
                        lossSum += Double(loss)
                        position.step += 1
                        batchesThisRun += 1
                        let rate = Double(batchesThisRun * config.batchSize) / max(Date().timeIntervalSince(started), 1e-9)
                        progress?.advance(detail: String(format: "rep %d/%d block %d/%d epoch %d/%d loss %.4g %.0f win/s",
                            repetition + 1, s.repetitions, blockIndex + 1, blocks.count, epoch + 1, s.epochsPerBlock, loss, rate))
                        let stopping = parallel.anyRequested(Interrupt.requested || (stopAfterBatches.map { batchesThisRun >= $0 } ?? false))
                        if stopping && b + 1 < order.count {
                            var here = position
                            (here.repetition, here.block, here.epoch, here.batch, here.epochLossSum) = (repetition, blockIndex, epoch, b + 1, lossSum)
                            try save(here, rngState: epochStart)
                            parallel.waitForAll()
                            progress?.finish("interrupted")
                            note("Interrupted: checkpoint saved to \(checkpointURL.path); run the same command to resume.")
                            return .interrupted
                        }
                    }
                    // End of epoch: check that the ranks agree, log, then checkpoint (which records the
                    // log lines it has seen). Epochs are numbered by the log's lines (one per epoch),
                    // so a resume with another number of epochs per block keeps the numbers consecutive.
                    try parallel.checkRanksAgree(step, when: "after epoch \(epoch + 1) of block \(blockIndex + 1), repetition \(repetition + 1)")
                    let globalEpoch = log.lines.count + 1
                    var entry: [String: Any] = [
                        "repetition": repetition + 1, "block": blockIndex + 1, "epoch": epoch + 1,
                        "global_epoch": globalEpoch, "step": position.step,
                        "loss": order.isEmpty ? 0 : lossSum / Double(order.count),
                    ]
                    if let validation = try data.validationLoss(step) { entry["val_loss"] = validation }
                    if config.finalLearningRate != nil { entry["learning_rate"] = Double(step.optimizer.learningRate) }
                    if parallel.isRoot { try log.append(entry) }

                    var next = position
                    (next.repetition, next.block, next.epoch, next.batch, next.epochLossSum) = (repetition, blockIndex, epoch + 1, 0, 0)
                    if next.epoch == s.epochsPerBlock { (next.block, next.epoch) = (blockIndex + 1, 0) }
                    if next.block == blocks.count { (next.repetition, next.block) = (repetition + 1, 0) }
                    let last = next.repetition == s.repetitions
                    let stopping = parallel.anyRequested(Interrupt.requested || (stopAfterBatches.map { batchesThisRun >= $0 } ?? false))
                    if last || stopping || globalEpoch % config.checkpointEveryEpochs == 0 {
                        try save(next, rngState: rng.state)
                    }
                    if stopping && !last {
                        parallel.waitForAll()
                        progress?.finish("interrupted")
                        note("Interrupted: checkpoint saved to \(checkpointURL.path); run the same command to resume.")
                        return .interrupted
                    }
                    position = next
                }
            }
        }
        progress?.finish("done")
        note("Training complete: \(checkpointURL.path)")
        return .finished
    }

    private func note(_ line: String) {
        if showProgress && ranks.isRoot { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
