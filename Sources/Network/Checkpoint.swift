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

    /// The same model for separating only: the weights and the config, without the optimizer state,
    /// the training position, the generator state and the log (a file about a third the size).
    public var weightsOnly: Checkpoint { Checkpoint(layers: layers, configJSON: configJSON) }

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
            throw CNNSepError(error.message.replacingOccurrences(of: temporaryPath, with: url.relativePath))
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

    static func positionFields(_ position: TrainingPosition) -> [(String, Int)] {
        [("repetition", position.repetition), ("block", position.block), ("epoch", position.epoch),
         ("batch", position.batch), ("step", position.step)]
    }
}
