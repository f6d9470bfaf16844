import Foundation
import Testing
import TestHelpers
import Support
@testable import Training
import Configuration
import Network
import Data

/// Resuming with another config or another dataset: a change that makes the checkpoint's position
/// meaningless is refused with one line naming the key; a harmless one is accepted and said so;
/// nothing crashes. The resumes run the built `cnnsep` in a child process (a crash must not take
/// the test runner down).
@Suite(.serialized) struct ResumeTests {
    /// A run of the tiny setup (3 songs, 2 blocks of 2, 2 repetitions × 2 epochs) stopped in block 2,
    /// mid-epoch.
    func stoppedInBlock2(_ c: Config, in folder: URL) throws -> URL {
        let run = folder.appendingPathComponent("stopped")
        let trainer = Trainer(config: c, runDirectory: run)
        trainer.showProgress = false
        let batches = try TrainingData(config: c, showProgress: false).batchesPerEpoch(block: 0)
        trainer.stopAfterBatches = c.schedule.epochsPerBlock * batches + 3
        #expect(try trainer.run() == .interrupted)
        let position = try #require(try Checkpoint.load(run.appendingPathComponent("latest.h5")).position)
        try #require(position.block == 1 && position.batch == 3, "\(position)")
        return run
    }

    /// Copies the stopped run and resumes the copy with `config` in a child process.
    func resume(_ stopped: URL, with config: Config, _ extra: [String] = [], in folder: URL) throws -> (ChildResult, URL) {
        let run = folder.appendingPathComponent("run-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.copyItem(at: stopped, to: run)
        let file = folder.appendingPathComponent("config-\(UInt32.random(in: 0...UInt32.max)).json")
        try Data(config.json().utf8).write(to: file)
        return (try runCNNSep(["train", "--config", file.path, "--run-dir", run.path] + extra, in: folder), run)
    }

    func expectRefused(_ result: ChildResult, naming key: String, run: URL, stopped: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(!result.crashed && result.status == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(result.errorLines.count == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(result.standardError.contains(key) && result.standardError.contains("--restart"), "\(result)", sourceLocation: sourceLocation)
        let checkpoint = "latest.h5"
        #expect(try Data(contentsOf: run.appendingPathComponent(checkpoint)) == Data(contentsOf: stopped.appendingPathComponent(checkpoint)),
                sourceLocation: sourceLocation)
    }

    @Test func changesThatMakeThePositionMeaninglessAreRefusedByKey() throws {
        let (folder, c) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let stopped = try stoppedInBlock2(c, in: folder)

        var bigger = c
        bigger.batchSize = 2048                      // fewer batches than the position's next batch
        let (batch, run1) = try resume(stopped, with: bigger, in: folder)
        try expectRefused(batch, naming: "schedule.batch_size", run: run1, stopped: stopped)

        var fewer = c
        fewer.maxSongs = 2                           // one block only: block 2 no longer exists
        let (songs, run2) = try resume(stopped, with: fewer, in: folder)
        try expectRefused(songs, naming: "dataset.max_songs", run: run2, stopped: stopped)

        let (seed, run3) = try resume(stopped, with: c, ["--seed", "7"], in: folder)
        try expectRefused(seed, naming: "seed", run: run3, stopped: stopped)

        var window = c
        window.windowHop = 3
        let (hop, run4) = try resume(stopped, with: window, in: folder)
        try expectRefused(hop, naming: "schedule.window_hop", run: run4, stopped: stopped)
    }

    @Test func harmlessChangesAreAcceptedAndSaidSo() throws {
        let (folder, c) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let stopped = try stoppedInBlock2(c, in: folder)
        var longer = c
        longer.schedule.repetitions = 3
        longer.checkpointEveryEpochs = 2
        longer.separation = SeparationSettings(hop: 2, crossfade: .triangular, wienerIterations: 1)
        let (result, run) = try resume(stopped, with: longer, in: folder)
        #expect(!result.crashed && result.status == 0, "\(result)")
        #expect(result.standardError.contains("schedule.repetitions") && result.standardError.contains("schedule.checkpoint_every_epochs"), "\(result)")
        #expect(result.standardError.contains("separation.hop") && result.standardError.contains("separation.crossfade"), "\(result)")
        let position = try #require(try Checkpoint.load(run.appendingPathComponent("latest.h5")).position)
        #expect(position.repetition == 3)
        let lines = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3 * 2 * 2)            // repetitions × blocks × epochs
    }

    @Test func fewerEpochsThanThePositionFinishesTheBlockInsteadOfCrashing() throws {
        let (folder, base) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = base
        c.schedule.epochsPerBlock = 3
        let run = folder.appendingPathComponent("run")
        let trainer = Trainer(config: c, runDirectory: run)
        trainer.showProgress = false
        let batches = try TrainingData(config: c, showProgress: false).batchesPerEpoch(block: 0)
        trainer.stopAfterBatches = 2 * batches + 3    // in epoch 3 of block 1
        #expect(try trainer.run() == .interrupted)
        let file = folder.appendingPathComponent("tiny.json")
        try Data(c.json().utf8).write(to: file)

        let result = try runCNNSep(["train", "--config", file.path, "--run-dir", run.path, "--epochs", "1"], in: folder)
        #expect(!result.crashed && result.status == 0, "\(result)")
        #expect(result.standardError.contains("epoch 3"), "\(result)")
        let position = try #require(try Checkpoint.load(run.appendingPathComponent("latest.h5")).position)
        #expect(position.repetition == 2)
        // Block 1's two whole epochs, then one epoch of each remaining block: numbered 1, 2, 3, …
        let epochs = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }.map { $0["global_epoch"] as! Int }
        #expect(epochs == [1, 2, 3, 4, 5])
    }

    @Test func aDatasetThatLostSongsSinceTheCheckpointIsRefusedNotACrash() throws {
        let (folder, c) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let stopped = try stoppedInBlock2(c, in: folder)
        let songs = try Dataset.open(URL(fileURLWithPath: c.datasetRoot)).songs(split: "Dev")
        for folder in Set(songs.last!.files.map { $0.deletingLastPathComponent() }) { try FileManager.default.removeItem(at: folder) }
        let (result, run) = try resume(stopped, with: c, in: folder)
        try expectRefused(result, naming: "trained on 3 songs of Dev, the dataset now gives 2", run: run, stopped: stopped)

        // A checkpoint from before checkpoints held the song list: its position is checked against
        // the blocks the dataset gives now.
        let old = folder.appendingPathComponent("old")
        try FileManager.default.copyItem(at: stopped, to: old)
        var checkpoint = try Checkpoint.load(old.appendingPathComponent("latest.h5"))
        checkpoint.trainingSongs = nil
        try checkpoint.save(to: old.appendingPathComponent("latest.h5"))
        let (unlisted, run2) = try resume(old, with: c, in: folder)
        try expectRefused(unlisted, naming: "block 2", run: run2, stopped: old)
    }
}

extension ResumeTests {
    /// A position in a block the schedule does not have, in an epoch past the epochs per block (a
    /// damaged or hand-edited checkpoint): the block was taken as finished and the run went on with
    /// the next repetition, silently skipping the rest of this one. It is refused naming the block.
    @Test func aPositionInABlockTheScheduleDoesNotHaveIsRefusedEvenPastItsEpochs() throws {
        let (folder, c) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let stopped = try stoppedInBlock2(c, in: folder)
        var checkpoint = try Checkpoint.load(stopped.appendingPathComponent("latest.h5"))
        checkpoint.position?.block = 9
        checkpoint.position?.epoch = 5
        try checkpoint.save(to: stopped.appendingPathComponent("latest.h5"))
        let (result, run) = try resume(stopped, with: c, in: folder)
        try expectRefused(result, naming: "block 10", run: run, stopped: stopped)
    }
}
