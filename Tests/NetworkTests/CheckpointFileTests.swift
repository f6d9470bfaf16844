import Foundation
@testable import Network
import HDF5
import Configuration
import Support
import Testing
import TestHelpers

/// Random values from a fixed seed, so a failing test fails the same way every time.
private func randomArray(_ shape: [Int], _ generator: inout SeededGenerator) -> ParameterArray {
    let count = shape.reduce(1, *)
    var data = [Float](repeating: 0, count: count)
    for index in 0..<count { data[index] = generator.nextFloat() * 2 - 1 }
    return ParameterArray(shape: shape, data: data)
}

/// The METHOD.md table for the default config, written out here independently of the model code.
private let defaultLayerShapes: [(String, [Int], [Int])] = {
    let sources = ["bass", "drums", "other", "vocals"]
    var table: [(String, [Int], [Int])] = [
        ("vertical_convolution", [1, 513, 1, 50], [50]),
        ("horizontal_convolution", [12, 1, 50, 30], [30]),
        ("global_dense", [420, 128], [128]),
    ]
    table += sources.map { ("single_dense_\($0)", [128, 420], [420]) }
    table += sources.map { ("horizontal_deconvolution_\($0)", [12, 1, 50, 30], [50]) }
    table += sources.map { ("vertical_deconvolution_\($0)", [1, 513, 1, 50], [1]) }
    return table
}()

private func zeroCheckpoint(_ table: [(String, [Int], [Int])]) -> Checkpoint {
    Checkpoint(layers: table.map { name, kernel, bias in
        LayerWeights(name: name,
                     kernel: ParameterArray(shape: kernel, data: [Float](repeating: 0, count: kernel.reduce(1, *))),
                     bias: ParameterArray(shape: bias, data: [Float](repeating: 0, count: bias.reduce(1, *))))
    })
}

/// A training checkpoint with odd shapes, every optional part filled in.
private func sampleCheckpoint(seed: UInt64) -> Checkpoint {
    var generator = SeededGenerator(seed: seed)
    let shapes: [(String, [Int], [Int])] = [
        ("vertical_convolution", [1, 513, 1, 50], [50]),
        ("horizontal_convolution", [3, 1, 5, 2], [2]),
        ("global_dense", [7, 3], [3]),
        ("single_dense_vocals", [3, 1], [1]),
    ]
    var checkpoint = Checkpoint(layers: shapes.map { name, kernel, bias in
        LayerWeights(name: name, kernel: randomArray(kernel, &generator), bias: randomArray(bias, &generator))
    })
    for layer in checkpoint.layers {
        for (variable, shape) in [("kernel", layer.kernel.shape), ("bias", layer.bias.shape)] {
            checkpoint.optimizer["\(layer.name)/\(variable)"] = AdadeltaSlots(
                squaredGradient: randomArray(shape, &generator), squaredUpdate: randomArray(shape, &generator))
        }
    }
    checkpoint.position = TrainingPosition(repetition: 2, block: 8, epoch: 9, batch: 17, step: 12_345)
    checkpoint.rngState = [generator.next(), generator.next(), UInt64.max, 1]
    checkpoint.configJSON = #"{"name": "dsd100", "loss": {"alpha": 0.001, "beta": 0.01}, "note": "ρ = 0.95 – ünïcode"}"#
    checkpoint.logLines = 321
    checkpoint.trainingSongs = ["001 - A", "002 - \"B\", ünïcode", "003 - C\nD"]
    // A long log (about 200 KB: far past HDF5's 64 KiB limit for data kept in an object header).
    checkpoint.log = (1...2000).map { #"{"epoch":\#($0),"loss":0.125,"note":"ünïcode"}"# + "\n" }.joined()
    return checkpoint
}

/// Files in `folder` other than `keep` (temporary files a failed save might leave).
private func strayFiles(in folder: URL, keeping keep: Set<String>) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !keep.contains($0) }
}

private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private func runProcess(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

private let h5pyAvailable: Bool = (try? runProcess(["python3", "-c", "import h5py"]).status) == 0

@Suite("CheckpointFileTests")
struct CheckpointFileTests {
    @Test("a training checkpoint with odd shapes, optimizer slots, position, rng state and config round trips exactly")
    func roundTrip() throws {
        let folder = try makeScratchFolder("ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("latest.h5")
        let original = sampleCheckpoint(seed: 7)
        try original.save(to: url)
        let loaded = try Checkpoint.load(url)
        #expect(loaded.layers.map(\.name) == original.layers.map(\.name))
        #expect(loaded.layers == original.layers)
        #expect(loaded.optimizer == original.optimizer)
        #expect(loaded.position == original.position)
        #expect(loaded.rngState == original.rngState)
        #expect(loaded.configJSON == original.configJSON)
        #expect(loaded.logLines == original.logLines)
        #expect(loaded.log == original.log)
        #expect(loaded.trainingSongs == original.trainingSongs)
        #expect(loaded == original)

        // Saving again over the file replaces it.
        let second = sampleCheckpoint(seed: 8)
        try second.save(to: url)
        #expect(try Checkpoint.load(url) == second)
        #expect(try strayFiles(in: folder, keeping: ["latest.h5"]).isEmpty)
    }

    @Test("the file has the Keras-2 layout and attributes the README documents")
    func layout() throws {
        let folder = try makeScratchFolder("ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("c.h5")
        let checkpoint = sampleCheckpoint(seed: 3)
        try checkpoint.save(to: url)
        let file = try HDF5File.open(url)
        defer { file.close() }
        #expect(try file.stringArrayAttribute("layer_names", at: "/model_weights") == checkpoint.layers.map(\.name))
        #expect(try file.stringArrayAttribute("weight_names", at: "/model_weights/global_dense")
                == ["global_dense/kernel:0", "global_dense/bias:0"])
        let kernel = try file.readFloats(at: "/model_weights/vertical_convolution/vertical_convolution/kernel:0")
        #expect(kernel.shape == [1, 513, 1, 50])
        #expect(kernel.data == checkpoint.layers[0].kernel.data)
        #expect(try file.readFloats(at: "/model_weights/global_dense/global_dense/bias:0").shape == [3])
        #expect(try file.stringAttribute("keras_version", at: "/") != nil)
        #expect(try file.stringAttribute("backend", at: "/") == "tensorflow")
        #expect(try file.intAttribute("cnnsep_format_version", at: "/") == 1)
        #expect(try file.stringAttribute("config", at: "/") == checkpoint.configJSON)
        let grad = try file.readFloats(at: "/optimizer_weights/global_dense/kernel/accumulated_grad")
        #expect(grad.data == checkpoint.optimizer["global_dense/kernel"]?.squaredGradient.data)
        let delta = try file.readFloats(at: "/optimizer_weights/global_dense/bias/accumulated_delta")
        #expect(delta.data == checkpoint.optimizer["global_dense/bias"]?.squaredUpdate.data)
        #expect(try file.intAttribute("epoch", at: "/training") == 9)
        #expect(try file.intAttribute("step", at: "/training") == 12_345)
        #expect(try file.intAttribute("log_lines", at: "/training") == 321)
        #expect(try file.readUInt64s(at: "/training/rng_state").data == checkpoint.rngState)
    }

    @Test("a weights-only checkpoint loads with no optimizer state, position, rng state or config")
    func weightsOnly() throws {
        let folder = try makeScratchFolder("ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("w.h5")
        var checkpoint = sampleCheckpoint(seed: 11)
        checkpoint = Checkpoint(layers: checkpoint.layers)
        try checkpoint.save(to: url)
        let loaded = try Checkpoint.load(url)
        #expect(loaded == checkpoint)
        #expect(loaded.optimizer.isEmpty && loaded.position == nil && loaded.rngState == nil)
        #expect(loaded.configJSON == nil && loaded.logLines == nil)
        let file = try HDF5File.open(url)
        defer { file.close() }
        #expect(!file.exists("/optimizer_weights") && !file.exists("/training"))
    }

    @Test("a Keras save_weights file (layer groups at the root, float64, weightless layers) loads in layer_names order")
    func kerasRootLayout() throws {
        let folder = try makeScratchFolder("ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("keras.h5")
        let file = try HDF5File.create(url)
        // Deliberately not sorted, with a weightless layer as Keras lists them.
        let order = ["zeta_dense", "flatten", "alpha_conv"]
        let kernels: [String: ([Int], [Double])] = [
            "zeta_dense": ([2, 3], [0.1, 0.2, 0.3, 0.4, 0.5, 1.0 / 3.0]),
            "alpha_conv": ([1, 2, 1, 1], [-1.5, 2.25]),
        ]
        try file.setAttribute("layer_names", order, at: "/")
        try file.setAttribute("keras_version", "2.4.0", at: "/", fixedLength: true)
        try file.setAttribute("backend", "tensorflow", at: "/", fixedLength: true)
        try file.createGroup("/flatten")
        try file.setAttribute("weight_names", [String](), at: "/flatten")
        for (name, (shape, values)) in kernels {
            let bias = [Double](repeating: 0.5, count: shape.last!)
            try file.write(values, shape: shape, at: "/\(name)/\(name)/kernel:0")
            try file.write(bias, shape: [bias.count], at: "/\(name)/\(name)/bias:0")
            try file.setAttribute("weight_names", ["\(name)/kernel:0", "\(name)/bias:0"], at: "/\(name)")
        }
        try file.finishWriting()

        let loaded = try Checkpoint.load(url)
        #expect(loaded.layers.map(\.name) == ["zeta_dense", "alpha_conv"])
        #expect(loaded.layers[0].kernel == ParameterArray(shape: [2, 3], data: kernels["zeta_dense"]!.1.map { Float($0) }))
        #expect(loaded.layers[1].bias == ParameterArray(shape: [1], data: [0.5]))
        #expect(loaded.optimizer.isEmpty && loaded.position == nil && loaded.configJSON == nil)

        // Without layer_names, the layer groups are taken in sorted order.
        let bare = folder.appendingPathComponent("bare.h5")
        let other = try HDF5File.create(bare)
        for name in ["b_layer", "a_layer"] {
            try other.write([Float](repeating: 1, count: 4), shape: [2, 2], at: "/\(name)/\(name)/kernel:0")
            try other.write([Float](repeating: 0, count: 2), shape: [2], at: "/\(name)/\(name)/bias:0")
        }
        try other.finishWriting()
        #expect(try Checkpoint.load(bare).layers.map(\.name) == ["a_layer", "b_layer"])
    }

    @Test("a truncated checkpoint, a text file, a missing file and a file without weights are one-line errors naming the path")
    func badFiles() throws {
        let folder = try makeScratchFolder("ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let whole = folder.appendingPathComponent("whole.h5")
        try sampleCheckpoint(seed: 5).save(to: whole)
        let bytes = try Data(contentsOf: whole)
        let truncated = folder.appendingPathComponent("truncated.h5")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        let text = folder.appendingPathComponent("config.h5")
        try Data(#"{"not": "hdf5"}"#.utf8).write(to: text)
        let missing = folder.appendingPathComponent("nowhere.h5")
        let empty = folder.appendingPathComponent("empty.h5")
        try HDF5File.create(empty).finishWriting()

        let cases: [(URL, String)] = [
            (truncated, "\(truncated.path): not an HDF5 file (truncated or another format)"),
            (text, "\(text.path): not an HDF5 file (truncated or another format)"),
            (missing, "\(missing.path): no such file"),
            (empty, "\(empty.path): no layer weights (expected /model_weights/<layer>/<layer>/kernel:0 or Keras save_weights layer groups)"),
        ]
        for (url, expected) in cases {
            let message = errorMessage { _ = try Checkpoint.load(url) }
            #expect(message == expected)
            #expect(message?.contains("\n") == false)
        }
    }

    @Test("a save that fails mid-file leaves the previous checkpoint byte-identical and no temporary file")
    func failedSaveKeepsPrevious() throws {
        let folder = try makeScratchFolder("ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("latest.h5")
        try sampleCheckpoint(seed: 1).save(to: url)
        let before = try Data(contentsOf: url)

        // The first layers are written to the temporary file before the bad one fails.
        var broken = sampleCheckpoint(seed: 2)
        broken.layers[2].kernel.data.removeLast()
        let message = errorMessage { try broken.save(to: url) }
        #expect(message == "\(url.path): /model_weights/global_dense/global_dense/kernel:0: shape [7, 3] holds 21 values, got 20")
        #expect(try Data(contentsOf: url) == before)
        #expect(try strayFiles(in: folder, keeping: ["latest.h5"]).isEmpty)
        #expect(try Checkpoint.load(url) == sampleCheckpoint(seed: 1))
    }

    @Test("a save whose folder is a file fails with one line and leaves the folder's neighbours alone")
    func saveUnderAFile() throws {
        let folder = try makeScratchFolder("ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let blocker = folder.appendingPathComponent("run")
        try Data("a file, not a folder".utf8).write(to: blocker)
        let url = blocker.appendingPathComponent("latest.h5")
        let message = errorMessage { try sampleCheckpoint(seed: 1).save(to: url) }
        #expect(message == "\(blocker.path): exists and is not a folder")
        #expect(try Data(contentsOf: blocker) == Data("a file, not a folder".utf8))
        #expect(try strayFiles(in: folder, keeping: ["run"]).isEmpty)
    }

    @Test("a save into a read-only folder fails and leaves the previous checkpoint byte-identical",
          .enabled(if: geteuid() != 0, "root ignores folder permissions"))
    func saveIntoReadOnlyFolder() throws {
        let folder = try makeScratchFolder("ckpt")
        defer {
            chmod(folder.path, 0o755)
            try? FileManager.default.removeItem(at: folder)
        }
        let url = folder.appendingPathComponent("latest.h5")
        try sampleCheckpoint(seed: 1).save(to: url)
        let before = try Data(contentsOf: url)
        chmod(folder.path, 0o555)
        let message = errorMessage { try sampleCheckpoint(seed: 2).save(to: url) }
        chmod(folder.path, 0o755)
        #expect(message?.hasPrefix(url.path + ": ") == true)
        #expect(try Data(contentsOf: url) == before)
        #expect(try strayFiles(in: folder, keeping: ["latest.h5"]).isEmpty)
    }

    @Test("an incomplete position, a bad rng state and a newer format are refused with the reason")
    func inconsistentTrainingState() throws {
        let folder = try makeScratchFolder("ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("c.h5")
        try sampleCheckpoint(seed: 4).save(to: url)
        do {
            let file = try HDF5File.open(url, writable: true)
            defer { file.close() }
            try file.write([UInt64](repeating: 0, count: 4), shape: [4], at: "/training/rng_state")
        }
        #expect(errorMessage { _ = try Checkpoint.load(url) }
                == "\(url.path): /training/rng_state has shape [4], expected 4 words, not all zero")
        do {
            let file = try HDF5File.open(url, writable: true)
            defer { file.close() }
            try file.setAttribute("cnnsep_format_version", Int64(2), at: "/")
        }
        #expect(errorMessage { _ = try Checkpoint.load(url) }
                == "\(url.path): written by a newer cnnsep (format version 2; this one reads up to 1)")

        var partial = sampleCheckpoint(seed: 4)
        partial.position = nil
        try partial.save(to: url)
        do {
            let file = try HDF5File.open(url, writable: true)
            defer { file.close() }
            try file.setAttribute("epoch", Int64(3), at: "/training")
        }
        #expect(errorMessage { _ = try Checkpoint.load(url) }
                == "\(url.path): /training lacks attribute repetition (a position needs repetition, block, epoch, batch, step)")
    }

    @Test("h5py reads a default-shaped checkpoint with the Keras names and shapes (scripts/check_checkpoint_h5py.py)",
          .enabled(if: h5pyAvailable, "python3 with h5py is not installed (pip install h5py)"))
    func h5pyReadsCheckpoint() throws {
        let folder = try makeScratchFolder("ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = repositoryRoot.appendingPathComponent("scripts/check_checkpoint_h5py.py").path
        let good = folder.appendingPathComponent("default.h5")
        try zeroCheckpoint(defaultLayerShapes).save(to: good)
        let accepted = try runProcess(["python3", script, good.path])
        #expect(accepted.status == 0, "\(accepted.output)")
        #expect(accepted.output.contains("vertical_deconvolution_vocals/kernel:0 (1, 513, 1, 50) float32"))
        #expect(accepted.output.contains("parameters: 489,142"))

        // The script must be able to fail: one decoder's bias has the wrong size.
        var table = defaultLayerShapes
        table[table.count - 1].2 = [50]
        let bad = folder.appendingPathComponent("wrong.h5")
        try zeroCheckpoint(table).save(to: bad)
        let refused = try runProcess(["python3", script, bad.path])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("vertical_deconvolution_vocals: bias has shape (50,), expected (1,)"))
    }

    @Test("a weights file written by h5py the way Keras save_weights writes it loads",
          .enabled(if: h5pyAvailable, "python3 with h5py is not installed (pip install h5py)"))
    func loadsH5pyWrittenKerasFile() throws {
        let folder = try makeScratchFolder("ckpt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("keras.h5")
        let python = """
        import h5py, numpy as np, sys
        with h5py.File(sys.argv[1], "w") as f:
            names = ["input_1", "global_dense", "vertical_convolution"]
            f.attrs["layer_names"] = np.array([n.encode("utf8") for n in names])
            f.attrs["backend"] = b"tensorflow"
            f.attrs["keras_version"] = "2.4.0"
            f.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S1")
            g = f.create_group("global_dense")
            g.attrs["weight_names"] = np.array([b"global_dense/kernel:0", b"global_dense/bias:0"])
            g["global_dense/kernel:0"] = np.arange(6, dtype=np.float64).reshape(2, 3) / 4
            g["global_dense/bias:0"] = np.array([1, 2, 3], dtype=np.float32)
            v = f.create_group("vertical_convolution")
            v.attrs["weight_names"] = [b"vertical_convolution/kernel:0", b"vertical_convolution/bias:0"]
            v["vertical_convolution/kernel:0"] = np.full((1, 4, 1, 2), -0.5, dtype=np.float32)
            v["vertical_convolution/bias:0"] = np.zeros(2, dtype=np.float32)
        """
        let written = try runProcess(["python3", "-c", python, url.path])
        try #require(written.status == 0, "\(written.output)")
        let loaded = try Checkpoint.load(url)
        #expect(loaded.layers.map(\.name) == ["global_dense", "vertical_convolution"])
        #expect(loaded.layers[0].kernel == ParameterArray(shape: [2, 3], data: [0, 0.25, 0.5, 0.75, 1, 1.25]))
        #expect(loaded.layers[0].bias.data == [1, 2, 3])
        #expect(loaded.layers[1].kernel.shape == [1, 4, 1, 2])
    }
}
