import Foundation
import HDF5
import Support

/// Reading checkpoints (cnnsep's own, and Keras full-model and `save_weights` files).
extension Checkpoint {
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

    static func join(_ group: String, _ name: String) -> String {
        group == "/" ? "/\(name)" : "\(group)/\(name)"
    }

    /// Reads a string-array attribute that Keras may have split into `name0`, `name1`, … when it
    /// exceeded HDF5's 64 KiB attribute limit.
    static func stringList(_ file: HDF5File, _ name: String, at group: String) throws -> [String]? {
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

    static func readLayers(_ file: HDF5File, base: String, path: String, shapes: [String: [Int]]?) throws -> [LayerWeights] {
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

    static func readOptimizer(_ file: HDF5File, layers: [LayerWeights], path: String) throws -> [String: AdadeltaSlots] {
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

    static func readTraining(_ file: HDF5File, into checkpoint: inout Checkpoint, path: String) throws {
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
