import Audio
import Configuration
import Foundation
import Network
import Support

// Files for the command-line tests of predict and eval, in one process or under mpirun.

/// A checkpoint of the tiny separator's network (64-sample STFT, T = 8) with its config stored in
/// it, as `cnnsep train` writes one; returns that config.
@discardableResult
public func writeTinyCheckpoint(to url: URL, datasetRoot: String = "Data/nowhere") throws -> Config {
    let separator = tinySeparator()
    var c = separator.config
    c.name = "tiny"
    c.windowHop = c.model.frames          // a training setting; a stored config must be valid
    c.datasetRoot = datasetRoot
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Checkpoint(layers: separator.network.weights(), configJSON: c.json()).save(to: url)
    return c
}

/// A song of seeded noise (a different song for each seed), written as 32-bit float (24-bit in
/// formats without float) so that the tests compare stems with the exact input.
@discardableResult
public func writeSong(_ url: URL, seconds: Double, rate: Int = 44_100, channels: Int = 2, seed: UInt64) throws -> AudioBuffer {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    let length = Int(seconds * Double(rate))
    let buffer = AudioBuffer(sampleRate: rate, channels: (0..<channels).map { c in noise(length, seed: seed * 10 + UInt64(c)).map { $0 * 0.5 } })
    try AudioFile.write(buffer, to: url, format: url.pathExtension.lowercased() == "wav" ? .float : .wav24)
    return buffer
}
