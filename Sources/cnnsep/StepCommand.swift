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
        let batch = try BatchFile.read(URL(fileURLWithPath: options.input), shape: step.config.model, for: .steps(step.network))
        guard let targets = batch.targets else {
            throw CNNSepError("\(options.input): has no /target_<source> datasets; a step needs all four targets")
        }
        for k in 0..<steps {
            let loss = step.step(mixture: batch.mixture, targets: targets)
            print("step \(k + 1): loss \(loss)")
            // Weights after a non-finite loss are NaN: a checkpoint of them could not be loaded again.
            guard loss.isFinite else {
                throw CNNSepError("\(options.output): not written: the loss of step \(k + 1) is \(loss) (the magnitudes overflow float32 in the loss)")
            }
        }
        if let p = step.network.parameters.first(where: { $0.data.contains { !$0.isFinite } }) {
            throw CNNSepError("\(options.output): not written: the steps made weights of shape \(p.shape) non-finite")
        }
        var checkpoint = Checkpoint(layers: step.network.weights(), optimizer: step.optimizer.slots(for: step.network))
        checkpoint.configJSON = step.config.json()
        try checkpoint.save(to: output)
        print("wrote \(options.output)")
    }
}
