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
}
