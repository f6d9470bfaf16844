import ArgumentParser
import Autodiff

@main
struct CNNSep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnnsep",
        abstract: "Train the Chandna et al. (2017) CNN and separate songs into bass, drums, other and vocals.",
        subcommands: [
            Demo.self, Synth.self, DatasetCommand.self, Train.self, Info.self,
            Predict.self, Eval.self, Score.self, Study.self,
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
