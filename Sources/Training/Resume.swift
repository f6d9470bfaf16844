import Configuration
import Foundation
import Network
import Support

/// The rules for resuming a run from its checkpoint: the config and the songs must still describe
/// the run the checkpoint's position belongs to.
enum Resume {
    /// Keys that may change between the run that wrote a checkpoint and the one resuming it: they
    /// say how long to train, how often to save, where things are kept and how a trained model
    /// separates songs, not what is trained.
    /// Any other change (batch size, songs, schedule blocks, window hop, model, audio, seed,
    /// input scale, loss, optimizer) would continue some other run from this one's position.
    static let harmlessKeys: Set<String> = [
        "dataset.cache", "dataset.test_split",
        "schedule.repetitions", "schedule.epochs_per_block", "schedule.checkpoint_every_epochs",
        "separation.hop", "separation.crossfade", "separation.wiener_iterations",   // separation only
    ]

    static let howToContinue = "use --restart to train anew in this run folder, or another --run-dir to keep it"

    /// The harmless changes of `config` since the one a checkpoint stores; throws one line naming
    /// the first other key that changed.
    static func acceptedChanges(storedConfig json: String?, config: Config, source: URL) throws -> [ConfigChange] {
        guard let json else { return [] }
        let stored = try Config.parse(Data(json.utf8), source: "\(source.relativePath) (stored config)")
        // The name only names the run folder (which the resume already found).
        let changes = config.changes(since: stored).filter { $0.key != "name" }
        let refused = changes.filter { !harmlessKeys.contains($0.key) }
        if let first = refused.first {
            let more = refused.count > 1 ? " (and \(refused.dropFirst().map(\.key).joined(separator: ", ")))" : ""
            throw CNNSepError("\(source.relativePath): this run was trained with key '\(first.key)' = \(first.old), the config now says \(first.new)\(more); resuming would continue another run from this one's position: \(howToContinue)")
        }
        return changes
    }

    /// Refuses a checkpoint whose training songs are not the ones the dataset gives now.
    static func checkSongs(_ checkpoint: Checkpoint, now: [String], split: String, source: URL) throws {
        guard let then = checkpoint.trainingSongs, then != now else { return }
        let common = min(then.count, now.count)
        let i = (0..<common).first { then[$0] != now[$0] } ?? common
        func name(_ list: [String]) -> String { i < list.count ? "'\(list[i])'" : "none" }
        throw CNNSepError("\(source.relativePath): this run trained on \(then.count) songs of \(split), the dataset now gives \(now.count) (song \(i + 1) was \(name(then)), is \(name(now))); \(howToContinue)")
    }

    /// A position in epoch ≥ `epochsPerBlock` (a run resumed with fewer epochs per block than it
    /// was in): its block counts as done and training goes on with the next one.
    static func skippingFinishedBlock(_ position: TrainingPosition, epochsPerBlock: Int, blockCount: Int) -> TrainingPosition {
        guard position.epoch >= epochsPerBlock else { return position }
        var next = position
        (next.block, next.epoch, next.batch, next.epochLossSum) = (position.block + 1, 0, 0, 0)
        if next.block >= blockCount { (next.repetition, next.block) = (position.repetition + 1, 0) }
        return next
    }

    /// Refuses a position that lies outside the schedule the data gives now (a checkpoint without
    /// the song list whose dataset changed).
    static func checkPosition(_ position: TrainingPosition, batchesPerEpoch: [Int], source: URL) throws {
        guard position.block < batchesPerEpoch.count else {
            throw CNNSepError("\(source.relativePath): the checkpoint is in block \(position.block + 1), but the dataset now gives \(batchesPerEpoch.count) block\(batchesPerEpoch.count == 1 ? "" : "s"); \(howToContinue)")
        }
        let batches = batchesPerEpoch[position.block]
        guard position.batch == 0 || position.batch < batches else {
            throw CNNSepError("\(source.relativePath): the checkpoint is at batch \(position.batch + 1) of block \(position.block + 1), whose epochs now have \(batches) batches; \(howToContinue)")
        }
    }
}
