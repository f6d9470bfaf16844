import Foundation
import HDF5
import Support

/// A parameter tensor as stored: its shape (Keras layout) and its values in row-major order.
public struct ParameterArray: Equatable {
    public var shape: [Int]
    public var data: [Float]
    public init(shape: [Int], data: [Float]) {
        self.shape = shape
        self.data = data
    }
}

/// One layer's kernel and bias, under its Keras layer name (`vertical_convolution`, …).
public struct LayerWeights: Equatable {
    public var name: String
    public var kernel: ParameterArray
    public var bias: ParameterArray
    public init(name: String, kernel: ParameterArray, bias: ParameterArray) {
        self.name = name
        self.kernel = kernel
        self.bias = bias
    }
}

/// Adadelta's two accumulators for one variable, each of the variable's shape.
public struct AdadeltaSlots: Equatable {
    /// E[g²], the running mean of squared gradients.
    public var squaredGradient: ParameterArray
    /// E[Δ²], the running mean of squared updates.
    public var squaredUpdate: ParameterArray
    public init(squaredGradient: ParameterArray, squaredUpdate: ParameterArray) {
        self.squaredGradient = squaredGradient
        self.squaredUpdate = squaredUpdate
    }
}

/// Where training stands: all counters are 0-based and name the next batch to run.
public struct TrainingPosition: Codable, Equatable {
    public var repetition = 0
    public var block = 0
    public var epoch = 0
    public var batch = 0
    /// Optimizer steps taken so far over the whole run.
    public var step = 0
    /// Sum of the losses of the current epoch's batches so far (so a run resumed mid-epoch logs the
    /// same epoch mean as one that was never interrupted).
    public var epochLossSum: Double = 0
    public init(repetition: Int = 0, block: Int = 0, epoch: Int = 0, batch: Int = 0, step: Int = 0, epochLossSum: Double = 0) {
        self.epochLossSum = epochLossSum
        self.repetition = repetition
        self.block = block
        self.epoch = epoch
        self.batch = batch
        self.step = step
    }
}

/// Everything a checkpoint file holds: the weights and, for a training checkpoint, the optimizer
/// state, the position, the random generator's state, the config and the log position.
///
/// File layout (HDF5; `<layer>` is a Keras layer name of METHOD.md, e.g. `global_dense`):
///
///     /                                   attributes: cnnsep_format_version (int64, 1),
///                                         keras_version ("2.4.0"), backend ("tensorflow")
///                                         (fixed-length byte strings, as Keras writes them),
///                                         config (variable-length UTF-8 JSON, the run's full config;
///                                         absent if none)
///     /model_weights                      attributes: layer_names (array of fixed-length byte
///                                         strings, model order), keras_version, backend
///     /model_weights/<layer>              attribute weight_names = ["<layer>/kernel:0", "<layer>/bias:0"]
///     /model_weights/<layer>/<layer>/kernel:0   float32, Keras shape: Conv2D (kh, kw, in, out),
///                                               Conv2DTranspose (kh, kw, out, in), Dense (in, out)
///     /model_weights/<layer>/<layer>/bias:0     float32, (out,)
///     /optimizer_weights                  attribute optimizer = "adadelta" (absent in a weights-only file)
///     /optimizer_weights/<layer>/<kernel|bias>/accumulated_grad    float32, E[g²], the variable's shape
///     /optimizer_weights/<layer>/<kernel|bias>/accumulated_delta   float32, E[Δ²], the variable's shape
///     /training                           attributes (int64): repetition, block, epoch, batch, step
///                                         (0-based, the next batch to run), log_lines (lines of the
///                                         run's log this checkpoint has seen), log (those lines, a
///                                         UTF-8 string), songs (the training songs' names, a JSON
///                                         list); each part absent if unset
///     /training/rng_state                 uint64 (4,), xoshiro256** state of SeededGenerator
///     /training/epoch_loss_sum            float64 scalar, the summed loss of the current epoch's batches so far
///
/// `load` also accepts a Keras full-model file (same `/model_weights` layout, any float type) and a
/// Keras `save_weights` file (the layer groups at the file's root, `layer_names` on the root).
/// Layer order is `layer_names` when present (layers without weights, such as `flatten`, are
/// skipped), the sorted group names otherwise.
public struct Checkpoint: Equatable {
    /// The layers in model order.
    public var layers: [LayerWeights]
    /// Adadelta state keyed "<layer>/kernel" and "<layer>/bias"; empty for a weights-only file.
    public var optimizer: [String: AdadeltaSlots]
    public var position: TrainingPosition?
    /// SeededGenerator's state: four words.
    public var rngState: [UInt64]?
    /// The run's full config as JSON.
    public var configJSON: String?
    /// How many lines of the run's log this checkpoint has seen (for exact resume).
    public var logLines: Int?
    /// Those lines themselves (log.jsonl as of this checkpoint), so the log can be rebuilt from the
    /// checkpoint when the file is lost, damaged, or from a restart that never saved.
    public var log: String?
    /// The names of the songs the run trains on, in schedule order (a resume checks them).
    public var trainingSongs: [String]?

    /// The layout version this code writes and the newest it reads.
    public static let formatVersion: Int64 = 1
    /// The Keras version whose HDF5 layout the file follows (Keras tools check this attribute).
    static let kerasVersion = "2.4.0"
    static let backend = "tensorflow"

    public init(layers: [LayerWeights], optimizer: [String: AdadeltaSlots] = [:], position: TrainingPosition? = nil,
                rngState: [UInt64]? = nil, configJSON: String? = nil, logLines: Int? = nil, log: String? = nil) {
        self.layers = layers
        self.optimizer = optimizer
        self.position = position
        self.rngState = rngState
        self.configJSON = configJSON
        self.logLines = logLines
        self.log = log
    }

    /// The weights of layer `name`, if present.
    public func layer(_ name: String) -> LayerWeights? { layers.first { $0.name == name } }

    // MARK: Saving

    /// Writes the checkpoint atomically: the whole HDF5 file is built in memory, written to a
    /// temporary file beside `url`, synced and renamed over `url`. On any error (a full disk, a folder that
    /// cannot be written, inconsistent shapes) `url` keeps its previous contents and no temporary
    /// file is left behind. Errors name `url`.
    public func save(to url: URL) throws {
        var temporaryPath: String?
        do {
            try AtomicFile.write(to: url) { temporary in
                temporaryPath = temporary.path
                let file = try HDF5File.create(temporary)
                do {
                    try write(to: file)
                    try file.finishWriting()
                } catch {
                    file.close()
                    throw error
                }
            }
        } catch let error as CNNSepError {
            guard let temporaryPath else { throw error }
            throw CNNSepError(error.message.replacingOccurrences(of: temporaryPath, with: url.path))
        }
    }

    private func write(to file: HDF5File) throws {
        try file.setAttribute("cnnsep_format_version", Self.formatVersion, at: "/")
        try file.setAttribute("keras_version", Self.kerasVersion, at: "/", fixedLength: true)
        try file.setAttribute("backend", Self.backend, at: "/", fixedLength: true)
        if let configJSON {
            try file.setAttribute("config", configJSON, at: "/")
        }

        try file.createGroup("/model_weights")
        for layer in layers {
            let group = "/model_weights/\(layer.name)"
            try file.write(layer.kernel.data, shape: layer.kernel.shape, at: "\(group)/\(layer.name)/kernel:0")
            try file.write(layer.bias.data, shape: layer.bias.shape, at: "\(group)/\(layer.name)/bias:0")
            try file.setAttribute("weight_names", ["\(layer.name)/kernel:0", "\(layer.name)/bias:0"], at: group)
        }
        try file.setAttribute("layer_names", layers.map(\.name), at: "/model_weights")
        try file.setAttribute("keras_version", Self.kerasVersion, at: "/model_weights", fixedLength: true)
        try file.setAttribute("backend", Self.backend, at: "/model_weights", fixedLength: true)

        if !optimizer.isEmpty {
            try file.createGroup("/optimizer_weights")
            try file.setAttribute("optimizer", "adadelta", at: "/optimizer_weights")
            for (key, slots) in optimizer.sorted(by: { $0.key < $1.key }) {
                let group = "/optimizer_weights/\(key)"
                try file.write(slots.squaredGradient.data, shape: slots.squaredGradient.shape, at: "\(group)/accumulated_grad")
                try file.write(slots.squaredUpdate.data, shape: slots.squaredUpdate.shape, at: "\(group)/accumulated_delta")
            }
        }

        if position != nil || rngState != nil || logLines != nil || log != nil || trainingSongs != nil {
            try file.createGroup("/training")
        }
        if let position {
            for (name, value) in Self.positionFields(position) {
                try file.setAttribute(name, Int64(value), at: "/training")
            }
            try file.write([position.epochLossSum], shape: [], at: "/training/epoch_loss_sum")
        }
        if let logLines {
            try file.setAttribute("log_lines", Int64(logLines), at: "/training")
        }
        if let log {
            try file.setAttribute("log", log, at: "/training")
        }
        if let trainingSongs {
            let json = try JSONSerialization.data(withJSONObject: trainingSongs)
            try file.setAttribute("songs", String(decoding: json, as: UTF8.self), at: "/training")
        }
        if let rngState {
            try file.write(rngState, shape: [rngState.count], at: "/training/rng_state")
        }
    }

    private static func positionFields(_ position: TrainingPosition) -> [(String, Int)] {
        [("repetition", position.repetition), ("block", position.block), ("epoch", position.epoch),
         ("batch", position.batch), ("step", position.step)]
    }

    // MARK: Loading

    /// Reads a checkpoint written by `save`, a Keras full-model file or a Keras `save_weights` file.
    /// A missing, truncated or non-HDF5 file, and a file without layer weights, are one-line errors
    /// naming the path. With `shapes` (the model's, keyed "<layer>/kernel" and "<layer>/bias"),
    /// every weight's declared shape is checked before it is read, so a file of another model is
    /// refused by layer name without allocating what it declares.
    public static func load(_ url: URL, expecting shapes: [String: [Int]]? = nil) throws -> Checkpoint {
        let file = try HDF5File.open(url)
        defer { file.close() }
        let path = url.path

        let version = try file.intAttribute("cnnsep_format_version", at: "/")
        if let version, version > formatVersion {
            throw CNNSepError("\(path): written by a newer cnnsep (format version \(version); this one reads up to \(formatVersion))")
        }

        let base = file.isGroup("/model_weights") ? "/model_weights" : "/"
        let layers = try readLayers(file, base: base, path: path, shapes: shapes)
        guard !layers.isEmpty else {
            throw CNNSepError("\(path): no layer weights (expected /model_weights/<layer>/<layer>/kernel:0 or Keras save_weights layer groups)")
        }
        var checkpoint = Checkpoint(layers: layers)
        checkpoint.configJSON = try file.stringAttribute("config", at: "/")

        // /optimizer_weights of a Keras file holds Keras's own optimizer variables: only a cnnsep
        // file's is read.
        if version != nil, file.isGroup("/optimizer_weights") {
            checkpoint.optimizer = try readOptimizer(file, layers: layers, path: path)
        }
        if file.isGroup("/training") {
            try readTraining(file, into: &checkpoint, path: path)
        }
        return checkpoint
    }

    /// The config JSON a checkpoint stores (nil if none), read without reading its weights.
    public static func configJSON(of url: URL) throws -> String? {
        let file = try HDF5File.open(url)
        defer { file.close() }
        return try file.stringAttribute("config", at: "/")
    }

    private static func join(_ group: String, _ name: String) -> String {
        group == "/" ? "/\(name)" : "\(group)/\(name)"
    }

    /// Reads a string-array attribute that Keras may have split into `name0`, `name1`, … when it
    /// exceeded HDF5's 64 KiB attribute limit.
    private static func stringList(_ file: HDF5File, _ name: String, at group: String) throws -> [String]? {
        if let values = try file.stringArrayAttribute(name, at: group) { return values }
        var values: [String] = []
        var chunk = 0
        while let part = try file.stringArrayAttribute("\(name)\(chunk)", at: group) {
            values += part
            chunk += 1
        }
        return chunk == 0 ? nil : values
    }

    private static let reservedGroups: Set<String> = ["model_weights", "optimizer_weights", "training"]

    private static func readLayers(_ file: HDF5File, base: String, path: String, shapes: [String: [Int]]?) throws -> [LayerWeights] {
        let names: [String]
        if let listed = try stringList(file, "layer_names", at: base) {
            names = listed
        } else {
            names = try file.children(of: base).filter {
                file.isGroup(join(base, $0)) && !(base == "/" && reservedGroups.contains($0))
            }
        }
        var layers: [LayerWeights] = []
        for name in names {
            let group = join(base, name)
            guard file.isGroup(group) else {
                throw CNNSepError("\(path): layer_names lists \(name) but there is no group \(group)")
            }
            let weightNames: [String]
            if let listed = try stringList(file, "weight_names", at: group) {
                weightNames = listed
            } else {
                weightNames = ["kernel:0", "bias:0"].map { "\(name)/\($0)" }.filter { file.exists(join(group, $0)) }
            }
            guard !weightNames.isEmpty else { continue }  // a layer without weights (flatten, reshape)
            func find(_ prefix: String) throws -> ParameterArray {
                guard let weight = weightNames.first(where: { $0.split(separator: "/").last?.hasPrefix(prefix) == true }) else {
                    throw CNNSepError("\(path): layer \(name) has no \(prefix) (weights: \(weightNames.joined(separator: ", ")))")
                }
                if let shapes {
                    let variable = prefix == "kernel" ? "kernel" : "bias"
                    guard let expected = shapes["\(name)/\(variable)"] else {
                        throw CNNSepError("\(path): layer '\(name)' is not part of this model: different model")
                    }
                    let declared = try file.shape(at: join(group, weight))
                    guard declared == expected else {
                        throw CNNSepError("\(path): layer '\(name)' \(variable) has shape \(declared), this model expects \(expected): different model")
                    }
                }
                let (shape, data) = try file.readFloats(at: join(group, weight))
                return ParameterArray(shape: shape, data: data)
            }
            layers.append(LayerWeights(name: name, kernel: try find("kernel"), bias: try find("bias")))
        }
        return layers
    }

    private static func readOptimizer(_ file: HDF5File, layers: [LayerWeights], path: String) throws -> [String: AdadeltaSlots] {
        var slots: [String: AdadeltaSlots] = [:]
        for layerName in try file.children(of: "/optimizer_weights") {
            let layerGroup = "/optimizer_weights/\(layerName)"
            guard file.isGroup(layerGroup) else { continue }
            for variable in try file.children(of: layerGroup) {
                let group = "\(layerGroup)/\(variable)"
                guard file.isGroup(group) else { continue }
                let layer = layers.first { $0.name == layerName }
                let weightShape = variable == "kernel" ? layer?.kernel.shape : variable == "bias" ? layer?.bias.shape : nil
                // Shapes first: a slot is read only once it is known to be the weight's size.
                guard let weightShape else { continue }     // state of no weight in the file: not needed
                for slot in ["accumulated_grad", "accumulated_delta"] {
                    let shape = try file.shape(at: "\(group)/\(slot)")
                    guard shape == weightShape else {
                        throw CNNSepError("\(path): \(group)/\(slot) has shape \(shape), expected \(weightShape) like the weight")
                    }
                }
                let grad = try file.readFloats(at: "\(group)/accumulated_grad")
                let delta = try file.readFloats(at: "\(group)/accumulated_delta")
                slots["\(layerName)/\(variable)"] = AdadeltaSlots(
                    squaredGradient: ParameterArray(shape: grad.shape, data: grad.data),
                    squaredUpdate: ParameterArray(shape: delta.shape, data: delta.data))
            }
        }
        return slots
    }

    private static func readTraining(_ file: HDF5File, into checkpoint: inout Checkpoint, path: String) throws {
        func count(_ name: String) throws -> Int? {
            guard let value = try file.intAttribute(name, at: "/training") else { return nil }
            guard value >= 0, value <= Int64(Int32.max) * 1024 else {
                throw CNNSepError("\(path): /training attribute \(name) is \(value), expected a count ≥ 0")
            }
            return Int(value)
        }
        let fields = ["repetition", "block", "epoch", "batch", "step"]
        let values = try fields.map { try count($0) }
        if values.contains(where: { $0 != nil }) {
            if let missing = zip(fields, values).first(where: { $0.1 == nil }) {
                throw CNNSepError("\(path): /training lacks attribute \(missing.0) (a position needs \(fields.joined(separator: ", ")))")
            }
            checkpoint.position = TrainingPosition(repetition: values[0]!, block: values[1]!, epoch: values[2]!,
                                                   batch: values[3]!, step: values[4]!)
            if file.exists("/training/epoch_loss_sum") {
                let sum = try file.readDoubles(at: "/training/epoch_loss_sum")
                guard sum.shape.isEmpty, let value = sum.data.first, value.isFinite else {
                    throw CNNSepError("\(path): /training/epoch_loss_sum must be one finite number")
                }
                checkpoint.position?.epochLossSum = value
            }
        }
        checkpoint.logLines = try count("log_lines")
        checkpoint.log = try file.stringAttribute("log", at: "/training")
        if let json = try file.stringAttribute("songs", at: "/training") {
            guard let songs = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String] else {
                throw CNNSepError("\(path): /training attribute songs is not a JSON list of song names")
            }
            checkpoint.trainingSongs = songs
        }
        if file.exists("/training/rng_state") {
            let state = try file.readUInt64s(at: "/training/rng_state")
            guard state.shape == [4], state.data != [0, 0, 0, 0] else {
                throw CNNSepError("\(path): /training/rng_state has shape \(state.shape), expected 4 words, not all zero")
            }
            checkpoint.rngState = state.data
        }
    }
}
