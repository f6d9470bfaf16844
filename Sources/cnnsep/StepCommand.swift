import ArgumentParser
import Foundation
import Network
import Support
import Training

struct Step: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Run K Adadelta steps on one batch from HDF5 (from zero accumulators) and write the weights.")

    @OptionGroup var options: BatchOptions

    @Option(help: "Number of steps.")
    var steps: Int = 1

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
    }

    func run() throws {
        let output = try options.outputURL()
        let step = try options.loadStep()
        let batch = try BatchFile.read(URL(fileURLWithPath: options.input), shape: step.config.model)
        guard let targets = batch.targets else {
            throw CNNSepError("\(options.input): has no /target_<source> datasets; a step needs all four targets")
        }
        for k in 0..<steps {
            let loss = step.step(mixture: batch.mixture, targets: targets)
            print("step \(k + 1): loss \(loss)")
        }
        var checkpoint = Checkpoint(layers: step.network.weights(), optimizer: step.optimizer.slots(for: step.network))
        checkpoint.configJSON = step.config.json()
        try checkpoint.save(to: output)
        print("wrote \(options.output)")
    }
}
