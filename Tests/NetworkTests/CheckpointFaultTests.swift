import Foundation
import HDF5
@testable import Network
import Configuration
import Support
import Testing
import TestHelpers

/// Writes what `cnnsep step` needs for the reduced model: weights with the config stored, a batch
/// with targets, and the config as a file (for the loss and optimizer settings).
private func stepInputs(in folder: URL) throws -> (weights: URL, batch: URL, config: URL) {
    let c = smallConfig()
    let network = ChandnaNetwork(shape: c.model, seed: 3)
    var checkpoint = Checkpoint(layers: network.weights())
    checkpoint.configJSON = c.json()
    let weights = folder.appendingPathComponent("w.h5")
    try checkpoint.save(to: weights)
    let batch = folder.appendingPathComponent("batch.h5")
    let file = try HDF5File.create(batch)
    let shape = [2, c.model.frames, c.model.bins]
    let count = shape.reduce(1, *)
    try file.write(noise(count, seed: 1).map(abs), shape: shape, at: "/mixture")
    for (s, name) in Stem.names.enumerated() {
        try file.write(noise(count, seed: UInt64(2 + s)).map(abs), shape: shape, at: "/target_\(name)")
    }
    try file.finishWriting()
    let config = folder.appendingPathComponent("small.json")
    try Data(c.json().utf8).write(to: config)
    return (weights, batch, config)
}

/// Weights of the default model with its config stored, and that config as a file, in `folder`.
private func defaultModelInputs(in folder: URL) throws -> (weights: URL, config: URL) {
    var checkpoint = Checkpoint(layers: ChandnaNetwork(shape: Config().model, seed: 1).weights())
    checkpoint.configJSON = Config().json()
    let weights = folder.appendingPathComponent("w.h5")
    try checkpoint.save(to: weights)
    let config = folder.appendingPathComponent("default.json")
    try Data(Config().json().utf8).write(to: config)
    return (weights, config)
}

@Suite("CheckpointFaultTests")
struct CheckpointFaultTests {
    @Test("a checkpoint save that runs out of space exits 1 with one line, keeps the old file and leaves no temporary")
    func fullDiskWhileSaving() throws {
        let folder = try makeScratchFolder("fulldisk")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (weights, batch, config) = try stepInputs(in: folder)
        let output = folder.appendingPathComponent("out.h5")
        let arguments = ["step", "--checkpoint", weights.path, "--input", batch.path, "--output", output.path, "--config", config.path]
        let first = try runCNNSep(arguments, in: folder)
        try #require(first.status == 0 && !first.crashed, "\(first)")
        let old = try Data(contentsOf: output)
        let sizeKB = old.count / 1024
        try #require(sizeKB > 4, "the checkpoint should be several KB, is \(old.count) bytes")

        // The file-size limit makes writes past it fail (EFBIG), at the start, middle and end of the file.
        for limit in [1, sizeKB / 2, sizeKB - 1] {
            let run = try runCNNSep(arguments, in: folder, fileSizeLimitKB: limit)
            #expect(!run.crashed && run.status == 1, "limit \(limit) KB: \(run)")
            #expect(run.errorLines.count == 1, "limit \(limit) KB: \(run)")
            #expect(run.standardError.contains(output.path) && run.standardError.contains("File too large"), "limit \(limit) KB: \(run)")
            #expect(try Data(contentsOf: output) == old, "limit \(limit) KB: the old checkpoint changed")
            let stray = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tmp") }
            #expect(stray.isEmpty, "limit \(limit) KB left \(stray)")
        }
    }

    @Test("forward and step refuse an --output that is their --checkpoint or --input, however it is spelled")
    func outputOverInput() throws {
        let folder = try makeScratchFolder("overwrite")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (weights, batch, config) = try stepInputs(in: folder)
        let before = try Data(contentsOf: weights), batchBefore = try Data(contentsOf: batch)
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("link.h5"), withDestinationURL: weights)
        for command in ["forward", "step"] {
            for output in [weights.path, "./w.h5", folder.appendingPathComponent("link.h5").path, batch.path] {
                let result = try runCNNSep([command, "--checkpoint", "w.h5", "--input", batch.path, "--output", output, "--config", config.path], in: folder)
                #expect(!result.crashed && result.status == 1 && result.errorLines.count == 1, "\(command) --output \(output): \(result)")
                #expect(result.standardError.contains("--output"), "\(command) --output \(output): \(result)")
            }
        }
        #expect(try Data(contentsOf: weights) == before && Data(contentsOf: batch) == batchBefore)
    }
}

/// Files that declare far more data than they hold (scripts/make_declared_shape_fixtures.py): every
/// declared shape is checked against the model, and every size against the file and the machine,
/// before anything is allocated. These aborted on allocation (exit 134), so they run in a child process.
@Suite("DeclaredShapeTests")
struct DeclaredShapeTests {
    let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    func expectOneLineError(_ result: ChildResult, containing parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!result.crashed && result.status == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(result.errorLines.count == 1, "\(result)", sourceLocation: sourceLocation)
        for part in parts { #expect(result.standardError.contains(part), "\(part): \(result)", sourceLocation: sourceLocation) }
    }

    @Test("a checkpoint whose weight or optimizer slot declares a 4 TB shape is refused by name")
    func hugeCheckpointShapes() throws {
        let folder = try makeScratchFolder("declared")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("default.json")
        try Data(Config().json().utf8).write(to: config)
        let kernel = try runCNNSep(["info", "--config", config.path, fixtures.appendingPathComponent("huge-kernel.h5").path], in: folder)
        expectOneLineError(kernel, containing: ["vertical_convolution", "1000000000000", "[1, 513, 1, 50]"])
        let slot = try runCNNSep(["info", "--config", config.path, fixtures.appendingPathComponent("huge-slot.h5").path], in: folder)
        expectOneLineError(slot, containing: ["accumulated_grad", "1000000000000"])
    }

    @Test("forward with a /mixture that declares 10^9 windows is refused before reading it")
    func hugeMixture() throws {
        let folder = try makeScratchFolder("declared")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (weights, config) = try defaultModelInputs(in: folder)
        let result = try runCNNSep(["forward", "--config", config.path, "--checkpoint", weights.path, "--input", fixtures.appendingPathComponent("huge-mixture.h5").path,
                                    "--output", folder.appendingPathComponent("out.h5").path], in: folder)
        expectOneLineError(result, containing: ["/mixture", "1000000000"])
    }

    @Test("a dataset that declares values the file does not hold is refused, not read as zeros")
    func unwrittenData() throws {
        let file = try HDF5File.open(fixtures.appendingPathComponent("unwritten.h5"))
        defer { file.close() }
        #expect(try file.readFloats(at: "/written").data == (0..<8).map(Float.init))
        let message = errorMessage { _ = try file.readFloats(at: "/values") }
        #expect(message?.contains("/values") == true && message?.contains("holds 0 of") == true, "\(message ?? "no error")")
    }
}

@Suite("NonFiniteWeightTests")
struct NonFiniteWeightTests {
    @Test("weights or optimizer state holding NaN or infinity are refused naming the layer, not blamed on a stem later")
    func nonFiniteWeights() throws {
        let c = smallConfig()
        let source = ChandnaNetwork(shape: c.model, seed: 5)
        var layers = source.weights()
        let index = try #require(layers.firstIndex { $0.name == "single_dense_drums" })
        layers[index].kernel.data[3] = .nan
        let network = ChandnaNetwork(shape: c.model, seed: 6)
        let message = errorMessage { try network.load(layers, source: "w.h5") }
        #expect(message == "w.h5: layer 'single_dense_drums' kernel holds a non-finite value (nan at index 3): the checkpoint is damaged or its training diverged",
                "\(message ?? "no error")")

        let optimizer = Adadelta(parameters: source.parameters, learningRate: 0.01, rho: 0.95, epsilon: 1)
        var slots = optimizer.slots(for: source)
        slots["global_dense/bias"]!.squaredUpdate.data[0] = .infinity
        let slotMessage = errorMessage { try optimizer.load(slots, for: source, source: "w.h5") }
        #expect(slotMessage?.contains("'global_dense/bias'") == true && slotMessage?.contains("non-finite") == true, "\(slotMessage ?? "no error")")
    }
}

extension NonFiniteWeightTests {
    /// Adadelta's accumulators are running means of squares: a negative one (a damaged or edited
    /// checkpoint) made the first step's square root NaN, reported as "training diverged; lower
    /// the learning rate", far from its cause.
    @Test("negative optimizer state is refused naming the variable")
    func negativeOptimizerState() throws {
        let c = smallConfig()
        let network = ChandnaNetwork(shape: c.model, seed: 5)
        let optimizer = Adadelta(parameters: network.parameters, learningRate: 0.01, rho: 0.95, epsilon: 1)
        for squaredUpdate in [false, true] {
            var slots = optimizer.slots(for: network)
            if squaredUpdate { slots["global_dense/kernel"]!.squaredUpdate.data[7] = -5 } else { slots["global_dense/kernel"]!.squaredGradient.data[7] = -5 }
            let message = errorMessage { try optimizer.load(slots, for: network, source: "w.h5") }
            #expect(message?.hasPrefix("w.h5: optimizer state E[\(squaredUpdate ? "Δ²" : "g²")] of 'global_dense/kernel'") == true
                    && message?.contains("-5.0 at index 7") == true, "\(message ?? "no error")")
        }
    }
}

/// forward and step on batches they cannot honestly run: non-finite values, magnitudes that overflow
/// float32 in the loss, more windows than the machine can hold with what is made of them. One line,
/// exit 1, nothing written. Before, forward and step wrote NaN masks and a checkpoint of NaN weights
/// (which cnnsep itself then refused to load), and a batch of 100,000 windows was killed by the
/// kernel after two minutes and 21 GB.
@Suite("BatchFileFaultTests")
struct BatchFileFaultTests {
    let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    /// `stepInputs`'s batch with its /mixture replaced by `mixture` (2 windows of the reduced model).
    func inputs(_ folder: URL, mixture: (Int) -> [Float]) throws -> (weights: URL, batch: URL, config: URL) {
        let (weights, batch, config) = try stepInputs(in: folder)
        let c = smallConfig()
        let shape = [2, c.model.frames, c.model.bins]
        let file = try HDF5File.create(batch)
        try file.write(mixture(shape.reduce(1, *)), shape: shape, at: "/mixture")
        for (s, name) in Stem.names.enumerated() {
            try file.write(noise(shape.reduce(1, *), seed: UInt64(2 + s)).map(abs), shape: shape, at: "/target_\(name)")
        }
        try file.finishWriting()
        return (weights, batch, config)
    }

    func run(_ command: String, _ files: (weights: URL, batch: URL, config: URL), in folder: URL) throws -> (ChildResult, URL) {
        let output = folder.appendingPathComponent("\(command)-out.h5")
        let result = try runCNNSep([command, "--checkpoint", files.weights.path, "--input", files.batch.path, "--output", output.path,
                                    "--config", files.config.path], in: folder)
        return (result, output)
    }

    @Test("a /mixture holding NaN or infinity is refused naming the dataset and index", arguments: [Float.nan, .infinity])
    func nonFiniteInput(value: Float) throws {
        let folder = try makeScratchFolder("nonfinite")
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try inputs(folder) { n in (0..<n).map { $0 == 7 ? value : 0.5 } }
        for command in ["forward", "step"] {
            let (result, output) = try run(command, files, in: folder)
            #expect(!result.crashed && result.status == 1 && result.errorLines.count == 1, "\(command): \(result)")
            #expect(result.standardError.contains("/mixture value 7 is \(value)"), "\(command): \(result)")
            #expect(!FileManager.default.fileExists(atPath: output.path), "\(command)")
        }
    }

    @Test("magnitudes whose loss overflows float32 write nothing")
    func overflowingLoss() throws {
        let folder = try makeScratchFolder("overflow")
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try inputs(folder) { n in [Float](repeating: 1e30, count: n) }
        for command in ["forward", "step"] {
            let (result, output) = try run(command, files, in: folder)
            #expect(!result.crashed && result.status == 1, "\(command): \(result)")
            #expect(result.errorLines.last?.contains("not written") == true && result.errorLines.last?.contains("overflow") == true, "\(command): \(result)")
            #expect(!FileManager.default.fileExists(atPath: output.path), "\(command)")
        }
    }

    /// Without --config, forward and step looked for Configs/dsd100.json in the current folder and
    /// failed anywhere else; its settings are the built-in defaults.
    @Test("forward and step without --config run outside the project folder")
    func noConfigsFolderNeeded() throws {
        let folder = try makeScratchFolder("noconfigs")
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try stepInputs(in: folder)
        for command in ["forward", "step"] {
            let output = folder.appendingPathComponent("\(command)-out.h5")
            let result = try runCNNSep([command, "--checkpoint", files.weights.path, "--input", files.batch.path, "--output", output.path], in: folder)
            #expect(!result.crashed && result.status == 0, "\(command): \(result)")
            #expect(FileManager.default.fileExists(atPath: output.path), "\(command)")
        }
    }

    @Test("a compressed /mixture of 200,000 windows is refused before it is read")
    func batchLargerThanTheMachine() throws {
        let folder = try makeScratchFolder("largebatch")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (weights, config) = try defaultModelInputs(in: folder)
        for command in ["forward", "step"] {
            let output = folder.appendingPathComponent("out.h5")
            let result = try runCNNSep([command, "--config", config.path, "--checkpoint", weights.path,
                                        "--input", fixtures.appendingPathComponent("compressed-mixture.h5").path, "--output", output.path], in: folder)
            #expect(!result.crashed && result.status == 1 && result.errorLines.count == 1, "\(command): \(result)")
            #expect(result.standardError.contains("/mixture") && result.standardError.contains("of memory"), "\(command): \(result)")
            #expect(!FileManager.default.fileExists(atPath: output.path))
        }
    }
}
