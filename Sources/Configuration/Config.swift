import Audio
import Data
import Foundation
import Network
import Support

/// Everything a run needs, read from a JSON file (Configs/*.json) and validated: unknown keys,
/// wrong types and out-of-range values are errors that name the key.
/// The defaults are the settings of the reproduced Keras code (METHOD.md); `Configs/dsd100.json` spells them all out.
public struct Config: Equatable {
    /// The run's name: the config file's name without extension (run folder `Checkpoints/<name>/`).
    public var name = "dsd100"

    // dataset
    public var datasetRoot = "Data/DSD100"
    public var trainSplit = "Dev"
    public var testSplit = "Test"
    /// Songs (by folder name, from the training split) held out of training; their loss is logged per epoch.
    public var validationSongs: [String] = []
    /// Feature cache folder; nil: the data module's default beside the dataset.
    public var cacheFolder: String? = nil
    /// Use only the first N songs of the training split (nil: all).
    public var maxSongs: Int? = nil

    // signal
    public var features = FeatureSettings()
    /// Magnitudes (inputs and targets) are multiplied by this before the network sees them.
    /// 1 = raw magnitudes (the reproduced Keras code); the original code used 0.3/√1024.
    public var inputScale: Float = 1

    // network
    public var model = ModelShape()

    // loss
    public var loss = LossWeights()

    // Adadelta
    public var learningRate: Float = 0.01
    public var rho: Float = 0.95
    public var epsilon: Float = 1.0
    /// With a value, the learning rate falls geometrically from `learningRate` at the first epoch to
    /// this at the last (`learningRate(epoch:of:)`); nil: constant (the paper).
    public var finalLearningRate: Float? = nil

    // schedule
    public var schedule = Schedule()
    public var batchSize = 32
    /// Frames between the starts of consecutive training windows (T: non-overlapping, as the reproduced Keras code).
    public var windowHop = 25
    /// Write `latest.h5` every this many epochs (and always at the end and on Ctrl-C).
    public var checkpointEveryEpochs = 1
    /// Augmentation by remixing stems of different songs of the block (off: the paper).
    public var remix = RemixSettings()

    /// How the separator runs the network over a song (windows, crossfade); training ignores it.
    public var separation = SeparationSettings()

    public var seed: UInt64 = 2017

    public init() {}
}

// MARK: - Reading

extension Config {
    /// Finds a config as users type it: a path, or a name under `Configs/` with or without `.json`.
    public static func locate(_ argument: String) throws -> URL {
        let fm = FileManager.default
        let candidates = [argument, "Configs/\(argument)", "Configs/\(argument).json", "\(argument).json"]
        for candidate in candidates where fm.fileExists(atPath: candidate) {
            return URL(fileURLWithPath: candidate)
        }
        throw CNNSepError("\(argument): no such config (looked for \(candidates.dropFirst().joined(separator: ", ")))")
    }

    /// Reads and validates a config file.
    public static func load(_ url: URL) throws -> Config {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CNNSepError("\(url.relativePath): cannot read config (\(error.localizedDescription))")
        }
        var config = try parse(data, source: url.relativePath)
        config.name = url.deletingPathExtension().lastPathComponent
        return config
    }

    /// Parses config JSON; `source` names the file in errors.
    public static func parse(_ data: Data, source: String) throws -> Config {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw CNNSepError("\(source): not valid JSON (\(Self.jsonReason(error)))")
        }
        guard let root = object as? [String: Any] else {
            throw CNNSepError("\(source): expected a JSON object at the top level")
        }
        var reader = ConfigReader(source: source)
        var c = Config()
        try reader.object(root, path: "") { r, o in
            try r.object(o, key: "dataset") { r, d in
                try r.string(d, "root") { c.datasetRoot = $0 }
                try r.string(d, "train_split") { c.trainSplit = $0 }
                try r.string(d, "test_split") { c.testSplit = $0 }
                try r.strings(d, "validation_songs") { c.validationSongs = $0 }
                try r.optionalString(d, "cache") { c.cacheFolder = $0 }
                try r.optionalInt(d, "max_songs", min: 1) { c.maxSongs = $0 }
            }
            try r.object(o, key: "audio") { r, a in
                try r.int(a, "sample_rate", min: 1000, max: 384_000) { c.features.sampleRate = $0 }
                try r.int(a, "window_length", min: 16, max: 65536) { c.features.windowLength = $0 }
                try r.int(a, "hop", min: 1, max: 65536) { c.features.hop = $0 }
            }
            try r.float(o, "input_scale", min: 1e-12, max: 1e12) { c.inputScale = $0 }
            try r.object(o, key: "model") { r, m in
                try r.int(m, "frames", min: 1, max: 10_000) { c.model.frames = $0 }
                try r.int(m, "t1", min: 1, max: 10_000) { c.model.t1 = $0 }
                try r.int(m, "f1", min: 1, max: 100_000) { c.model.f1 = $0 }
                try r.int(m, "n1", min: 1, max: 100_000) { c.model.n1 = $0 }
                try r.int(m, "t2", min: 1, max: 10_000) { c.model.t2 = $0 }
                try r.int(m, "f2", min: 1, max: 100_000) { c.model.f2 = $0 }
                try r.int(m, "n2", min: 1, max: 100_000) { c.model.n2 = $0 }
                try r.int(m, "dense", min: 1, max: 100_000) { c.model.dense = $0 }
                try r.float(m, "mask_epsilon", min: 0, max: 1) { c.model.maskEpsilon = $0 }
                try r.bool(m, "input_normalization") { c.model.inputNormalization = $0 }
            }
            try r.object(o, key: "loss") { r, l in
                try r.float(l, "alpha", min: 0, max: 1e6) { c.loss.alpha = $0 }
                try r.float(l, "beta", min: 0, max: 1e6) { c.loss.beta = $0 }
                try r.float(l, "gamma", min: 0, max: 1e6) { c.loss.gamma = $0 }
                try r.float(l, "other_weight", min: 0, max: 1e6) { c.loss.other = $0 }
            }
            try r.object(o, key: "optimizer") { r, a in
                try r.float(a, "learning_rate", min: 1e-12, max: 1e6) { c.learningRate = $0 }
                try r.float(a, "rho", min: 0, max: 0.999_999_9) { c.rho = $0 }
                try r.float(a, "epsilon", min: 1e-20, max: 1e6) { c.epsilon = $0 }
                try r.optionalFloat(a, "final_learning_rate", min: 1e-12, max: 1e6) { c.finalLearningRate = $0 }
            }
            try r.object(o, key: "schedule") { r, s in
                try r.int(s, "block_size", min: 1, max: 1_000_000) { c.schedule.blockSize = $0 }
                try r.int(s, "block_hop", min: 1, max: 1_000_000) { c.schedule.blockHop = $0 }
                try r.int(s, "repetitions", min: 1, max: 1_000_000) { c.schedule.repetitions = $0 }
                try r.int(s, "epochs_per_block", min: 1, max: 1_000_000) { c.schedule.epochsPerBlock = $0 }
                try r.int(s, "batch_size", min: 1, max: 1_000_000) { c.batchSize = $0 }
                try r.int(s, "window_hop", min: 1, max: 10_000) { c.windowHop = $0 }
                try r.int(s, "checkpoint_every_epochs", min: 1, max: 1_000_000) { c.checkpointEveryEpochs = $0 }
                try r.float(s, "remix", min: 0, max: 1) { c.remix.fraction = $0 }
                try r.floatRange(s, "remix_gains", min: 0, max: 100) { c.remix.gains = $0 }
            }
            try r.object(o, key: "separation") { r, s in try r.separation(s, into: &c.separation) }
            try r.seed(o, "seed") { c.seed = $0 }
            try r.string(o, "name") { c.name = $0 }   // informational; the file name wins on load
        }
        c.model.bins = c.features.windowLength / 2 + 1
        // Unless given, the separation hop is the default or, for a model of fewer frames, T.
        if (root["separation"] as? [String: Any])?["hop"] == nil { c.separation.hop = min(c.separation.hop, c.model.frames) }
        try c.validate(source: source)
        return c
    }

    /// The learning rate of global epoch `epoch` (0-based) of a run of `total` epochs: `learningRate`
    /// throughout without `finalLearningRate`; with it, lr·(final/lr)^(epoch/(total−1)), from lr at
    /// the first epoch to final at the last (lr for a run of one epoch).
    public func learningRate(epoch: Int, of total: Int) -> Float {
        guard let final = finalLearningRate, total > 1 else { return learningRate }
        let lr = Double(learningRate)
        return Float(lr * pow(Double(final) / lr, Double(epoch) / Double(total - 1)))
    }

    /// The largest model a config may ask for: 100 million parameters take 1.6 GB with their
    /// gradients and optimizer state, 200 times the default model.
    static let maxParameters = 100e6

    /// Cross-key checks that single values cannot express.
    func validate(source: String) throws {
        let m = model
        func fail(_ key: String, _ why: String) -> CNNSepError { CNNSepError("\(source): key '\(key)': \(why)") }
        // The STFT's own requirements (STFT.init): an even window, a hop of 1...window samples.
        if features.windowLength % 2 != 0 { throw fail("audio.window_length", "must be even (the STFT of an N-sample window has N/2 + 1 bins), got \(features.windowLength)") }
        if features.hop > features.windowLength { throw fail("audio.hop", "must not exceed audio.window_length (\(features.windowLength)), got \(features.hop)") }
        if m.f1 > m.bins { throw fail("model.f1", "must be at most the \(m.bins) frequency bins of a \(features.windowLength)-sample window, got \(m.f1)") }
        if m.t1 > m.frames { throw fail("model.t1", "must be at most model.frames (\(m.frames)), got \(m.t1)") }
        if m.t2 > m.afterVertical.0 { throw fail("model.t2", "must be at most \(m.afterVertical.0) (frames left after the vertical convolution), got \(m.t2)") }
        if m.f2 > m.afterVertical.1 { throw fail("model.f2", "must be at most \(m.afterVertical.1) (bins left after the vertical convolution), got \(m.f2)") }
        // Each key may be in range while together they make a network too large to allocate.
        if m.parameterCount > Self.maxParameters {
            throw fail("model", String(format: "these sizes make %.3g parameters; at most %.0f million are allowed (the default model has 489,142)", m.parameterCount, Self.maxParameters / 1e6))
        }
        if windowHop > m.frames { throw fail("schedule.window_hop", "must be at most model.frames (\(m.frames)) so no frame is skipped, got \(windowHop)") }
        if separation.hop > m.frames { throw fail("separation.hop", "must be at most model.frames (\(m.frames)) so no frame is skipped, got \(separation.hop)") }
        if schedule.blockHop > schedule.blockSize { throw fail("schedule.block_hop", "must be at most schedule.block_size (\(schedule.blockSize)) so no song is skipped, got \(schedule.blockHop)") }
    }

    /// The config as JSON in the file format (stored in checkpoints, so a checkpoint says how it was made).
    public func json() -> String {
        var d: [String: Any] = [
            "dataset": ["root": datasetRoot, "train_split": trainSplit, "test_split": testSplit,
                        "validation_songs": validationSongs] as [String: Any],
            "audio": ["sample_rate": features.sampleRate, "window_length": features.windowLength, "hop": features.hop],
            "input_scale": Double(inputScale),
            "model": ["frames": model.frames, "t1": model.t1, "f1": model.f1, "n1": model.n1, "t2": model.t2,
                      "f2": model.f2, "n2": model.n2, "dense": model.dense, "mask_epsilon": Double(model.maskEpsilon),
                      "input_normalization": model.inputNormalization] as [String: Any],
            "loss": ["alpha": Double(loss.alpha), "beta": Double(loss.beta), "gamma": Double(loss.gamma),
                     "other_weight": Double(loss.other)],
            "optimizer": ["learning_rate": Double(learningRate), "rho": Double(rho), "epsilon": Double(epsilon)]
                .merging(finalLearningRate.map { ["final_learning_rate": Double($0)] } ?? [:]) { a, _ in a },
            "schedule": ["block_size": schedule.blockSize, "block_hop": schedule.blockHop, "repetitions": schedule.repetitions,
                         "epochs_per_block": schedule.epochsPerBlock, "batch_size": batchSize, "window_hop": windowHop,
                         "checkpoint_every_epochs": checkpointEveryEpochs,
                         "remix": Double(remix.fraction), "remix_gains": [Double(remix.gains.lowerBound), Double(remix.gains.upperBound)]] as [String: Any],
            "separation": separation.json,
            "seed": seed,
            "name": name,
        ]
        if var dataset = d["dataset"] as? [String: Any] {
            if let cacheFolder { dataset["cache"] = cacheFolder }
            if let maxSongs { dataset["max_songs"] = maxSongs }
            d["dataset"] = dataset
        }
        let data = try! JSONSerialization.data(withJSONObject: d, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static func jsonReason(_ error: Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}
