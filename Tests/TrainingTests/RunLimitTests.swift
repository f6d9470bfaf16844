import Foundation
import Testing
import TestHelpers
import Support
@testable import Training
import Configuration
import Network
import Data

/// Values each in range whose run cannot be held or counted: refused before training, naming the
/// key or the option, never a crash. The crashes run the built `cnnsep` in a child process.
@Suite struct RunLimitTests {
    /// --epochs Int.max overflowed the run's batch count in the progress total (a trap).
    @Test(arguments: ["train", "study"])
    func epochsBeyondTheConfigsRangeAreRefusedNamingTheOption(command: String) throws {
        let (folder, c) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("tiny.json")
        try Data(c.json().utf8).write(to: config)
        let arguments = command == "train" ? ["train", "--config", config.path, "--run-dir", folder.appendingPathComponent("run").path]
                                           : ["study", "--config", config.path, "--out", folder.appendingPathComponent("study").path]
        let result = try runCNNSep(arguments + ["--epochs", "9223372036854775807"], in: folder)
        #expect(!result.crashed && result.status != 0, "\(result)")
        #expect(result.errorLines.first?.contains("--epochs must be from 1 to 1000000") == true, "\(result)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/latest.h5").path))
    }

    /// A batch of a million windows was allocated whatever the data held: 51 GB for the default
    /// model's windows, an abort. Batches are as large as the data makes them: this trains.
    @Test func aBatchSizeOfAMillionTrainsOnTheWindowsThereAre() throws {
        let (folder, tiny) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = Config()                                   // the default model: 25 × 513 windows
        (c.name, c.datasetRoot, c.cacheFolder) = ("million", tiny.datasetRoot, tiny.cacheFolder)
        c.schedule = Schedule(blockSize: 2, blockHop: 2, repetitions: 1, epochsPerBlock: 1)
        c.batchSize = 1_000_000
        let config = folder.appendingPathComponent("million.json")
        try Data(c.json().utf8).write(to: config)
        let result = try runCNNSep(["train", "--config", config.path, "--run-dir", folder.appendingPathComponent("run").path], in: folder)
        #expect(!result.crashed && result.status == 0, "\(result)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/latest.h5").path))
    }

    /// Windows of 10000 frames of a 65536-sample STFT (1.3 GB each, per plane) through a vertical
    /// convolution of 10 one-bin filters (13 GB of activations per window, and as much again for each
    /// decoder): three of them need over 400 GB. Refused before any is allocated (the batch alone aborted the allocation before).
    @Test func batchesLargerThanTheMachinesMemoryAreRefusedNamingTheKey() throws {
        let (folder, tiny) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("wide.json")
        try Data("""
            {"dataset": {"root": "\(tiny.datasetRoot)", "cache": "\(folder.appendingPathComponent("wide-cache").path)"},
             "audio": {"window_length": 65536, "hop": 16384},
             "model": {"frames": 10000, "t1": 1, "f1": 1, "n1": 10, "t2": 1, "f2": 32769, "n2": 1, "dense": 1},
             "schedule": {"block_size": 3, "block_hop": 3, "repetitions": 1, "epochs_per_block": 1, "batch_size": 4, "window_hop": 10000}}
            """.utf8).write(to: file)
        let result = try runCNNSep(["train", "--config", file.path, "--run-dir", folder.appendingPathComponent("run").path], in: folder)
        #expect(!result.crashed && result.status == 1, "\(result)")
        let error = try #require(result.errorLines.last)       // after the feature cache's progress lines
        #expect(error.contains("key 'schedule.batch_size'") && error.contains("of memory"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/latest.h5").path))
    }

    /// A million repetitions of a million epochs is each in range; with more than 9.2 million
    /// batches per pass (a large dataset, batches of one) the run's batch count overflowed.
    @Test func aRunOfMoreBatchesThanCanBeCountedIsRefusedNamingTheKeys() throws {
        var c = Config()
        c.schedule.repetitions = 1_000_000
        c.schedule.epochsPerBlock = 1_000_000
        #expect(try RunLimits.totalBatches(config: c, batchesPerPass: 9_000_000) == 9_000_000 * 1_000_000_000_000)
        let error = #expect(throws: CNNSepError.self) { try RunLimits.totalBatches(config: c, batchesPerPass: 10_000_000) }
        #expect(error?.message.contains("'schedule.repetitions' (1000000)") == true && error?.message.contains("'schedule.epochs_per_block'") == true,
                "\(String(describing: error))")
    }

    /// The dry-run count of the engine's buffers is what the engine allocates: it grows linearly
    /// with the windows, and a batch buffer is 5 planes of windows.
    @Test func engineAndBatchSizesAreCountedWithoutAllocating() throws {
        let network = ChandnaNetwork(shape: Config().model, seed: 1)
        let one = NetworkEngine.bytes(network: network, capacity: 1), two = NetworkEngine.bytes(network: network, capacity: 2)
        let perWindow = two - one
        // At least the input and the four decoders' outputs of a window, 25 × 513 Floats each.
        #expect(perWindow >= 5 * 25 * 513 * 4, "\(perWindow)")
        #expect(NetworkEngine.bytes(network: network, capacity: 1000) == one + 999 * perWindow)
        #expect(Batch.bytes(capacity: 32, length: 25, bins: 513) == 32 * 25 * 513 * 5 * 4)
    }
}

extension RunLogTests {
    /// A checkpoint whose stored log holds a line that is not a JSON object (a damaged or edited
    /// attribute) was resumed, and the line written to log.jsonl, where `plot training` stopped on it.
    @Test func aDamagedLogInTheCheckpointIsAnErrorNamingTheLine() throws {
        let (folder, c) = try quickTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.appendingPathComponent("run")
        let batches = try TrainingData(config: c, showProgress: false).batchesPerEpoch(block: 0)
        #expect(try train(c, in: run, stopAfter: 2 * batches + 1) == .interrupted)
        let checkpointURL = run.appendingPathComponent("latest.h5")
        var checkpoint = try Checkpoint.load(checkpointURL)
        let lines = try #require(checkpoint.log?.split(separator: "\n"))
        checkpoint.log = ([lines[0], "garbage"] + lines.dropFirst()).map { $0 + "\n" }.joined()
        try checkpoint.save(to: checkpointURL)
        let log = try Data(contentsOf: run.appendingPathComponent("log.jsonl"))
        let error = #expect(throws: CNNSepError.self) { try train(c, in: run) }
        #expect(error?.message.hasPrefix("\(checkpointURL.path): the training log it holds: line 2 is not a JSON object") == true,
                "\(String(describing: error))")
        #expect(try Data(contentsOf: run.appendingPathComponent("log.jsonl")) == log)
    }
}
