import Audio
import Configuration
import Data
import Foundation
import Inference
import Network
import Support

// Fixtures shared by the test targets: reduced configs and networks, batches, signals, folders.

/// A reduced instance of the network (window 16 → 9 bins, T = 6) so finite differences stay cheap.
public func smallConfig() -> Config {
    var c = Config()
    c.features = FeatureSettings(sampleRate: 44100, windowLength: 16, hop: 4)
    c.model.frames = 6; c.model.bins = 9
    c.model.t1 = 1; c.model.f1 = 9; c.model.n1 = 3
    c.model.t2 = 3; c.model.f2 = 1; c.model.n2 = 2
    c.model.dense = 4
    c.batchSize = 2
    c.windowHop = 6
    c.separation = SeparationSettings(hop: 1, crossfade: .linear)   // T − 5, as before the setting existed
    return c
}

public func randomBatch(_ c: Config, count: Int, seed: UInt64) -> Batch {
    var rng = SeededGenerator(seed: seed)
    var batch = Batch(capacity: count, length: c.model.frames, bins: c.model.bins)
    batch.count = count
    let n = count * c.model.frames * c.model.bins
    var sources = (0..<4).map { _ in (0..<n).map { _ in rng.nextFloat() } }
    // The mixture is the sum of the sources, as in real data.
    batch.mixture = (0..<n).map { i in sources.reduce(0) { $0 + $1[i] } }
    for s in 0..<4 { batch.sources[s] = sources[s] }
    sources.removeAll()
    return batch
}

/// A reduced network over a 64-sample STFT (33 bins) so whole songs separate quickly in debug.
public func tinySeparator(seed: UInt64 = 21) -> Separator {
    var c = Config()
    c.features = FeatureSettings(sampleRate: 44100, windowLength: 64, hop: 16)
    c.model.frames = 8; c.model.bins = 33
    c.model.t1 = 1; c.model.f1 = 33; c.model.n1 = 4
    c.model.t2 = 3; c.model.f2 = 1; c.model.n2 = 3
    c.model.dense = 6
    c.separation = SeparationSettings(hop: 3, crossfade: .linear)   // T − 5, as before the setting existed
    let network = ChandnaNetwork(shape: c.model, seed: seed)
    // Decoder outputs well away from zero, so the masks are well defined everywhere.
    for d in network.decoders { d.verticalDeconvolution.bias.data = [1] }
    return Separator(network: network, config: c)
}

/// A small demo dataset (songs of `seconds`) and a reduced config that trains on it in a second or
/// two (debug build).
public func tinyTrainingSetup(_ name: String = #function, seconds: Double = 1.0) throws -> (folder: URL, config: Config) {
    let folder = temporaryFolder(name)
    var synth = SynthSettings()
    synth.devSongs = 3; synth.testSongs = 1; synth.seconds = seconds; synth.seed = 5
    _ = try DemoSynth.write(to: folder.appendingPathComponent("demo"), settings: synth, progress: false)
    var c = smallConfig()                      // 16-sample STFT, 9 bins, T = 6
    c.name = "tiny"
    c.datasetRoot = folder.appendingPathComponent("demo").path
    c.cacheFolder = folder.appendingPathComponent("cache").path
    c.schedule = Schedule(blockSize: 2, blockHop: 1, repetitions: 2, epochsPerBlock: 2)
    c.batchSize = 64
    c.windowHop = 6
    c.inputScale = 0.05
    return (folder, c)
}

public func noise(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in rng.nextFloat() * 2 - 1 }
}


/// One demo song of `seconds` in the Test split of a dataset written to `folder` (its stems are
/// `song.sources`, all in one folder).
public func demoTestSong(in folder: URL, seconds: Double = 0.5, seed: UInt64 = 4) throws -> Song {
    var synth = SynthSettings()
    synth.devSongs = 0; synth.testSongs = 1; synth.seconds = seconds; synth.seed = seed
    return try DemoSynth.write(to: folder, settings: synth, progress: false)[0]
}
