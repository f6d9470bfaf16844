import Foundation
import Testing
import TestHelpers
import Support
@testable import Training
import Configuration
import Inference
import Network
import Data
import Autodiff

@Suite(.serialized) struct TrainerTests {
    func train(_ c: Config, in run: URL, stopAfter: Int? = nil) throws -> TrainOutcome {
        let trainer = Trainer(config: c, runDirectory: run)
        trainer.showProgress = false
        trainer.stopAfterBatches = stopAfter
        return try trainer.run()
    }

    /// N epochs in one go and the same epochs interrupted (mid-epoch and at an epoch's end) and
    /// resumed give bit-identical weights, optimizer state, position and log — with the paper's method,
    /// and with every lever beyond it on (half of every batch remixed: the remixes of a resumed epoch
    /// are drawn again, not replayed; a falling learning rate; input normalisation, whose statistics
    /// a resumed run takes from the checkpoint).
    @Test(arguments: [false, true]) func resumeIsExact(levers: Bool) throws {
        let (folder, base) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = base
        if levers {
            c.remix.fraction = 0.5
            c.finalLearningRate = c.learningRate / 10
            c.model.inputNormalization = true
        }
        let straight = folder.appendingPathComponent("straight")
        #expect(try train(c, in: straight) == .finished)

        let batchesPerEpoch = try TrainingData(config: c, showProgress: false).batchesPerEpoch(block: 0)
        try #require(batchesPerEpoch >= 3, "the test needs epochs of several batches")
        let resumed = folder.appendingPathComponent("resumed")
        #expect(try train(c, in: resumed, stopAfter: 1) == .interrupted)                     // mid-epoch
        let mid = try Checkpoint.load(resumed.appendingPathComponent("latest.h5"))
        #expect(mid.position?.batch == 1)
        #expect(mid.position?.epochLossSum ?? 0 > 0)
        #expect(try train(c, in: resumed, stopAfter: batchesPerEpoch - 1) == .interrupted)   // at the epoch's end
        #expect(try Checkpoint.load(resumed.appendingPathComponent("latest.h5")).position?.batch == 0)
        #expect(try train(c, in: resumed, stopAfter: 2 * batchesPerEpoch + 1) == .interrupted)
        #expect(try train(c, in: resumed) == .finished)

        let a = try Checkpoint.load(straight.appendingPathComponent("latest.h5"))
        let b = try Checkpoint.load(resumed.appendingPathComponent("latest.h5"))
        #expect(a.layers == b.layers)
        #expect(a.optimizer == b.optimizer)
        #expect(a.position == b.position)
        #expect(a.rngState == b.rngState)
        let logA = try String(contentsOf: straight.appendingPathComponent("log.jsonl"), encoding: .utf8)
        let logB = try String(contentsOf: resumed.appendingPathComponent("log.jsonl"), encoding: .utf8)
        #expect(logA == logB)
        #expect(logA.split(separator: "\n").count == 2 * 2 * 2)   // repetitions × blocks × epochs

        // A finished run says so and changes nothing.
        #expect(try train(c, in: resumed) == .alreadyComplete)
    }

    @Test func trainingLowersTheLoss() throws {
        let (folder, base) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = base
        c.schedule = Schedule(blockSize: 3, blockHop: 3, repetitions: 1, epochsPerBlock: 6)
        c.inputScale = 1                            // the reproduced Keras code's settings: raw magnitudes
        let run = folder.appendingPathComponent("run")
        #expect(try train(c, in: run) == .finished)
        let losses = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            .map { $0["loss"] as! Double }
        #expect(losses.count == 6)
        #expect(losses.last! < 0.95 * losses.first!, "loss per epoch: \(losses)")
    }

    @Test func validationSongsAreHeldOutAndTheirLossLogged() throws {
        let (folder, base) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = base
        let songs = try Dataset.open(URL(fileURLWithPath: c.datasetRoot)).songs(split: "Dev")
        c.validationSongs = [songs[1].name]
        c.schedule = Schedule(blockSize: 2, blockHop: 2, repetitions: 1, epochsPerBlock: 2)
        let data = try TrainingData(config: c, showProgress: false)
        #expect(data.training.map(\.name) == [songs[0].name, songs[2].name])
        #expect(data.validation.map(\.name) == [songs[1].name])
        let run = folder.appendingPathComponent("run")
        #expect(try train(c, in: run) == .finished)
        let lines = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        for line in lines {
            let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let value = try #require(entry["val_loss"] as? Double)
            #expect(value.isFinite && value > 0)
        }
        c.validationSongs = ["no such song"]
        let error = #expect(throws: CNNSepError.self) { try train(c, in: run) }
        #expect(error?.message.contains("'dataset.validation_songs'") == true)
    }

    @Test func checkpointOfAnotherModelIsRefusedByLayer() throws {
        let (folder, c) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.appendingPathComponent("run")
        #expect(try train(c, in: run, stopAfter: 1) == .interrupted)
        var other = c
        other.model.n1 = 4
        // The stored config says so first, naming the key.
        let changed = #expect(throws: CNNSepError.self) { try train(other, in: run) }
        #expect(changed?.message.contains("'model.n1' = 3, the config now says 4") == true)
        // Without a stored config, the weights themselves do, naming the layer.
        let url = run.appendingPathComponent("latest.h5")
        var checkpoint = try Checkpoint.load(url)
        checkpoint.configJSON = nil
        try checkpoint.save(to: url)
        let error = #expect(throws: CNNSepError.self) { try train(other, in: run) }
        #expect(error?.message.contains("vertical_convolution") == true)
        #expect(error?.message.contains("different model") == true)
    }

    @Test func missingDatasetIsAOneLineError() throws {
        var c = Config()
        c.datasetRoot = "/nonexistent/DSD100"
        let error = #expect(throws: CNNSepError.self) { try train(c, in: temporaryFolder()) }
        #expect(error?.message.contains("/nonexistent/DSD100") == true)
        #expect(error?.message.contains("\n") == false)
    }

    @Test func checkpointRoundTripGivesIdenticalOutputs() throws {
        let c = smallConfig()
        let network = ChandnaNetwork(shape: c.model, seed: 77)
        let step = TrainingStep(network: network, config: c)
        let batch = randomBatch(c, count: 3, seed: 78)
        let (mixture, targets) = step.tensors(batch)
        step.step(mixture: mixture, targets: targets)
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var checkpoint = Checkpoint(layers: network.weights(), optimizer: step.optimizer.slots(for: network))
        checkpoint.configJSON = c.json()
        let url = folder.appendingPathComponent("w.h5")
        try checkpoint.save(to: url)
        let restored = try TrainedModel.load(url, fallback: Config())
        #expect(restored.config.model == c.model)
        let again = TrainingStep(network: restored.network, config: c)
        let x = step.loss(mixture: mixture, targets: targets), y = again.loss(mixture: mixture, targets: targets)
        #expect(x == y)
    }

    /// Remixing changes what the network sees: the same run with a quarter of each batch remixed
    /// ends with other weights, and two such runs with the same seed end with the same ones.
    @Test func remixingIsOnAndDeterministic() throws {
        let (folder, base) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = base
        c.schedule = Schedule(blockSize: 3, blockHop: 3, repetitions: 1, epochsPerBlock: 1)
        #expect(try train(c, in: folder.appendingPathComponent("plain")) == .finished)
        c.remix.fraction = 0.25
        #expect(try train(c, in: folder.appendingPathComponent("remix1")) == .finished)
        #expect(try train(c, in: folder.appendingPathComponent("remix2")) == .finished)
        func weights(_ run: String) throws -> [LayerWeights] {
            try Checkpoint.load(folder.appendingPathComponent(run).appendingPathComponent("latest.h5")).layers
        }
        #expect(try weights("remix1") == weights("remix2"))
        #expect(try weights("plain") != weights("remix1"))
    }

    /// Each epoch trains at its scheduled rate (logged), and the paper's constant rate logs nothing.
    @Test func learningRateFallsAsScheduled() throws {
        let (folder, base) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = base
        c.schedule = Schedule(blockSize: 3, blockHop: 3, repetitions: 1, epochsPerBlock: 3)
        c.learningRate = 0.01
        c.finalLearningRate = 0.0001
        let run = folder.appendingPathComponent("run")
        #expect(try train(c, in: run) == .finished)
        let rates = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try #require((try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["learning_rate"] as? Double) }
        #expect(rates.count == 3)
        for (rate, expected) in zip(rates, [0.01, 0.001, 0.0001]) { #expect(Swift.abs(rate - expected) <= 1e-6 * expected, "\(rates)") }
        c.finalLearningRate = nil
        #expect(try train(c, in: folder.appendingPathComponent("constant")) == .finished)
        let line = try String(contentsOf: folder.appendingPathComponent("constant/log.jsonl"), encoding: .utf8)
        #expect(!line.contains("learning_rate"))
    }

    /// The statistics normalise the training songs' input frames to mean 0 and deviation 1 in every
    /// bin (checked by running the trained network's own normalisation layer over all their frames);
    /// a trained checkpoint carries them, and a model loaded from it applies them.
    @Test func inputNormalizationStatisticsNormalizeTheTrainingFrames() throws {
        let (folder, base) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = base
        c.model.inputNormalization = true
        c.schedule = Schedule(blockSize: 3, blockHop: 3, repetitions: 1, epochsPerBlock: 1)
        let run = folder.appendingPathComponent("run")
        #expect(try train(c, in: run) == .finished)
        let model = try TrainedModel.load(run.appendingPathComponent("latest.h5"), fallback: Config())
        let layer = try #require(model.network.inputNormalization)
        let data = try TrainingData(config: c, showProgress: false)
        let bins = c.model.bins
        var frames: [Float] = []
        for song in data.training {
            let f = try data.cache.features(song)
            frames += f.mixture().map { $0 * c.inputScale }
        }
        let x = Tensor(frames, shape: [frames.count / bins, bins])
        let y = withNoGrad { layer(x) }.data
        for k in 0..<bins {
            let values: [Double] = stride(from: k, to: y.count, by: bins).map { Double(y[$0]) }
            let n = Double(values.count)
            let mean: Double = values.reduce(0, +) / n
            let deviations: [Double] = values.map { ($0 - mean) * ($0 - mean) }
            let std: Double = (deviations.reduce(0, +) / n).squareRoot()
            #expect(Swift.abs(mean) < 1e-3 && Swift.abs(std - 1) < 1e-3, "bin \(k): mean \(mean), std \(std)")
        }
        // The model as separation loads it differs from one without the statistics.
        let batch = randomBatch(c, count: 2, seed: 3)
        let plain = ChandnaNetwork(shape: c.model, seed: 1)
        try plain.load(model.checkpoint.layers.filter { $0.name != "input_normalization" } + [LayerWeights(
            name: "input_normalization", kernel: ParameterArray(shape: [bins], data: [Float](repeating: 1, count: bins)),
            bias: ParameterArray(shape: [bins], data: [Float](repeating: 0, count: bins)))], source: "test")
        let mixture = Tensor(batch.mixture, shape: [2, c.model.frames, bins])
        #expect(withNoGrad { model.network(mixture)[0].data } != withNoGrad { plain(mixture)[0].data })
        // A config without the normalisation refuses the checkpoint, naming the layer.
        var other = c
        other.model.inputNormalization = false
        let error = #expect(throws: CNNSepError.self) { try train(other, in: run) }
        #expect(error?.message.contains("input_normalization") == true)
    }
}

/// Faults around the run folder: a second process, stale temporaries.
@Suite(.serialized) struct RunFolderTests {
    @Test func aSecondTrainOnTheSameRunFolderIsRefusedNamingTheHolder() throws {
        let (folder, c) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("tiny.json")
        try Data(c.json().utf8).write(to: config)
        let run = folder.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        // This process holds the run folder's lock, as a running `cnnsep train` does.
        let lock = open(run.appendingPathComponent(".lock").path, O_RDWR | O_CREAT, 0o644)
        defer { close(lock) }
        try #require(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(lock, $0, strlen($0)) }

        let second = try runCNNSep(["train", "--config", config.path, "--run-dir", run.path], in: folder)
        #expect(second.status == 1 && !second.crashed, "\(second)")
        #expect(second.errorLines.count == 1 && second.standardError.contains("pid \(getpid())"), "\(second)")
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("latest.h5").path))
    }

    @Test func staleTemporariesInTheRunFolderAreRemoved() throws {
        let (folder, base) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = base
        c.schedule = Schedule(blockSize: 3, blockHop: 3, repetitions: 1, epochsPerBlock: 1)
        let run = folder.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let stale = run.appendingPathComponent(".latest.h5.\(try exitedProcessID()).12345.tmp")
        try Data(count: 1000).write(to: stale)
        let trainer = Trainer(config: c, runDirectory: run)
        trainer.showProgress = false
        #expect(try trainer.run() == .finished)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
    }
}

/// The run's log and checkpoint are never lost: a restart keeps the old run until the new one has
/// saved, and a log that cannot be read is rebuilt from the checkpoint, never emptied.
@Suite(.serialized) struct RunLogTests {
    func train(_ c: Config, in run: URL, stopAfter: Int? = nil, restart: Bool = false) throws -> TrainOutcome {
        let trainer = Trainer(config: c, runDirectory: run)
        trainer.showProgress = false
        trainer.stopAfterBatches = stopAfter
        trainer.restart = restart
        return try trainer.run()
    }

    @Test func aRestartThatFailsBeforeItsFirstSaveLeavesTheOldRunIntact() throws {
        let (folder, c) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.appendingPathComponent("run")
        #expect(try train(c, in: run) == .finished)
        let log = try Data(contentsOf: run.appendingPathComponent("log.jsonl"))
        let checkpoint = try Data(contentsOf: run.appendingPathComponent("latest.h5"))
        try #require(!log.isEmpty && checkpoint.count > 4096)
        let config = folder.appendingPathComponent("tiny.json")
        try Data(c.json().utf8).write(to: config)

        // The restarted run cannot write its checkpoint (a file-size limit below its size): it stops
        // with an error before its first save, as if it had been killed there.
        let restarted = try runCNNSep(["train", "--config", config.path, "--run-dir", run.path, "--restart"], in: folder,
                                      fileSizeLimitKB: checkpoint.count / 2048)
        #expect(restarted.status == 1 && !restarted.crashed, "\(restarted)")
        #expect(try Data(contentsOf: run.appendingPathComponent("log.jsonl")) == log)
        #expect(try Data(contentsOf: run.appendingPathComponent("latest.h5")) == checkpoint)
    }

    @Test func aLogThatCannotBeReadIsRebuiltFromTheCheckpointNotEmptied() throws {
        let (folder, c) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let straight = folder.appendingPathComponent("straight")
        #expect(try train(c, in: straight) == .finished)
        let expected = try String(contentsOf: straight.appendingPathComponent("log.jsonl"), encoding: .utf8)

        let run = folder.appendingPathComponent("run")
        let batches = try TrainingData(config: c, showProgress: false).batchesPerEpoch(block: 0)
        #expect(try train(c, in: run, stopAfter: 2 * batches + 1) == .interrupted)
        let logURL = run.appendingPathComponent("log.jsonl")
        var damaged = try Data(contentsOf: logURL)
        try #require(damaged.count > 10)
        damaged[5] = 0xFF                           // not UTF-8 any more
        try damaged.write(to: logURL)
        #expect(try train(c, in: run) == .finished)
        #expect(try String(contentsOf: logURL, encoding: .utf8) == expected)

        // A checkpoint from before checkpoints held the log has only the line count: a log that
        // cannot be read is then an error naming it, and stays as it is.
        let old = folder.appendingPathComponent("old")
        #expect(try train(c, in: old, stopAfter: 2 * batches + 1) == .interrupted)
        let checkpointURL = old.appendingPathComponent("latest.h5")
        var checkpoint = try Checkpoint.load(checkpointURL)
        checkpoint.log = nil
        try checkpoint.save(to: checkpointURL)
        try damaged.write(to: old.appendingPathComponent("log.jsonl"))
        let error = #expect(throws: CNNSepError.self) { try train(c, in: old) }
        #expect(error?.message.contains(old.appendingPathComponent("log.jsonl").path) == true)
        #expect(try Data(contentsOf: old.appendingPathComponent("log.jsonl")) == damaged)
    }
}

@Suite struct TrainingDataTests {
    /// Progress and ETA come from batchesPerEpoch: it must count what an epoch of the block runs,
    /// including a block with fewer windows than one batch (which trains on one smaller batch).
    @Test func batchesPerEpochCountsWhatAnEpochRuns() throws {
        let (folder, base) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        for batchSize in [64, 1000, 100_000] {
            var c = base
            c.batchSize = batchSize
            let data = try TrainingData(config: c, showProgress: false)
            for b in data.blocks.indices {
                var rng = SeededGenerator(seed: 1)
                let runs = try data.block(at: b).batchOrder(batchSize: batchSize, using: &rng).count
                #expect(data.batchesPerEpoch(block: b) == runs, "batch size \(batchSize), block \(b)")
                #expect(runs >= 1)
            }
        }
    }
}
