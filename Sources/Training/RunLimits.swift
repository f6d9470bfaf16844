import Configuration
import Data
import Foundation
import Network
import Support

/// What a config asks of a run as a whole, checked before training allocates or counts it: each
/// key may be in its range while together they ask for more memory than the machine has, or more
/// batches than can be counted. Errors name the keys.
enum RunLimits {
    /// The bytes one rank holds for its batches: the training shard and the validation batch (mixture
    /// and four sources each), their input-scaled copy, and the engine sized for the larger.
    static func batchBytes(config: Config, network: ChandnaNetwork, trainingShard: Int, validationBatch: Int) -> Double {
        let (frames, bins) = (config.model.frames, config.model.bins)
        let engineWindows = max(trainingShard, validationBatch, 1)
        var bytes = Batch.bytes(capacity: trainingShard, length: frames, bins: bins)
            + Batch.bytes(capacity: validationBatch, length: frames, bins: bins)
            + NetworkEngine.bytes(network: network, capacity: engineWindows)
        if config.inputScale != 1 { bytes += Batch.bytes(capacity: engineWindows, length: frames, bins: bins) }
        return bytes
    }

    /// The refusal when `needed` bytes exceed this machine's memory, naming the batch size.
    static func memoryRefusal(config: Config, windows: Int, needed: Double) -> CNNSepError? {
        MachineMemory.refusal(needed, for: "config '\(config.name)': key 'schedule.batch_size' = \(config.batchSize): batches of up to \(windows) windows of \(config.model.frames) × \(config.model.bins) and the network's buffers for them",
                              advice: "lower schedule.batch_size (or model.frames, audio.window_length)")
    }

    /// The run's batches over all repetitions (`batchesPerPass`: one epoch of every block), refused
    /// when past what an Int counts: nothing could train that long, and the count would trap.
    static func totalBatches(config: Config, batchesPerPass: Int) throws -> Int {
        let s = config.schedule
        let (epochs, o1) = s.repetitions.multipliedReportingOverflow(by: s.epochsPerBlock)
        let (total, o2) = epochs.multipliedReportingOverflow(by: batchesPerPass)
        guard !o1, !o2 else {
            throw CNNSepError("config '\(config.name)': keys 'schedule.repetitions' (\(s.repetitions)) and 'schedule.epochs_per_block' (\(s.epochsPerBlock)) with \(batchesPerPass) batches per pass over the blocks make more batches than can be counted (over 9.2e18); no run could finish them")
        }
        return total
    }
}
