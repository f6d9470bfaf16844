import ArgumentParser
import Configuration
import Foundation
import Inference
import Network
import Support

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's weights and config without its training state: a model to ship or share.",
        discussion: """
        The file separates, scores and shows with info exactly as the checkpoint does (its config is \
        stored in it), but cannot resume training: the optimizer's accumulators, the training position \
        and the log are left out.
        """)

    @Argument(help: "Checkpoint to read (a cnnsep latest.h5).")
    var checkpoint: String

    @Option(help: "File to write (HDF5).")
    var out: String

    func run() throws {
        let source = URL(fileURLWithPath: checkpoint), target = URL(fileURLWithPath: out)
        if isSameFile(source, target) {
            throw CNNSepError("\(out): --out is the checkpoint being exported, which it would replace; write to another file")
        }
        guard try Checkpoint.configJSON(of: source) != nil else {
            throw CNNSepError("\(checkpoint): holds no config (a Keras weights file?); export needs a cnnsep checkpoint")
        }
        // Loaded as predict and info load it (its config parsed, every layer present, of its shape and
        // finite), so that what is shipped is a model they take.
        let model = try TrainedModel.load(source, fallback: Config())
        try model.checkpoint.weightsOnly.save(to: target)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: target.path)[.size] as? Int) ?? 0
        print(String(format: "wrote %@ (%.2f MB: weights and config, no training state)", out, Double(bytes) / 1e6))
    }
}
