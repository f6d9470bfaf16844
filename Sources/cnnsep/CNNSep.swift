import ArgumentParser
import Autodiff

@main
struct CNNSep: ParsableCommand {
    /// The release: checkpoints record the layout version separately (Checkpoint.formatVersion).
    static let version = "0.2.0"

    static let configuration = CommandConfiguration(
        commandName: "cnnsep",
        abstract: "Train the Chandna et al. (2017) CNN and separate songs into bass, drums, other and vocals.",
        version: "cnnsep \(version)",
        subcommands: [
            Demo.self, Synth.self, DatasetCommand.self, Train.self, Info.self,
            Predict.self, Eval.self, Score.self,
            Forward.self, Step.self, Bench.self, PlotCommand.self,
        ])

    static func main() {
        setBLASThreads(1)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
