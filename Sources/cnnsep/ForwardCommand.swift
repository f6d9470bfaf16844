import ArgumentParser
import Configuration
import Foundation
import Inference
import Support
import Training

/// Options shared by `forward` and `step`: a checkpoint, a batch in HDF5, an output file.
struct BatchOptions: ParsableArguments {
    @Option(help: "Weights (.h5, cnnsep checkpoint or Keras weights file).")
    var checkpoint: String

    @Option(help: "HDF5 with /mixture (N, 25, 513) float32 and optionally /target_<source> of the same shape.")
    var input: String

    @Option(help: "HDF5 file to write.")
    var output: String

    @Option(help: "Config for the loss and optimizer settings (path or name under Configs/). Default: dsd100's, built in.")
    var config: String?

    /// --output, refused when it is the --checkpoint or the --input: writing it would replace what
    /// was read.
    func outputURL() throws -> URL {
        let url = URL(fileURLWithPath: output)
        for (option, path) in [("--checkpoint", checkpoint), ("--input", input)] where isSameFile(url, URL(fileURLWithPath: path)) {
            throw CNNSepError("\(output): --output is the file given as \(option), which it would replace; write to another file")
        }
        return url
    }

    /// The model restored from the checkpoint, with the loss and optimizer settings of --config.
    func loadStep() throws -> TrainingStep {
        // dsd100's settings are the built-in defaults: no Configs/ folder needed (as for info).
        let settings = try config.map(loadConfig) ?? Config()
        let model = try TrainedModel.load(URL(fileURLWithPath: checkpoint), fallback: settings)
        var c = settings
        c.model = model.config.model
        return TrainingStep(network: model.network, config: c)
    }
}

struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run the network on a batch from HDF5; write masks, estimates and, with targets, the loss and gradients.")

    @OptionGroup var options: BatchOptions

    func run() throws {
        let output = try options.outputURL()
        let step = try options.loadStep()
        let batch = try BatchFile.read(URL(fileURLWithPath: options.input), shape: step.config.model, for: .forward)
        try step.writeForward(batch, to: output)
        print("wrote \(options.output)")
    }
}
