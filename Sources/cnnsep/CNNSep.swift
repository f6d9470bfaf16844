import ArgumentParser
import Autodiff
import Distributed

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
            Predict.self, Eval.self, Score.self, Study.self,
            Export.self, Forward.self, Step.self, Bench.self, PlotCommand.self, MPICheck.self,
        ])

    static func main() {
        setBLASThreads(1)
        do {
            var command = try parseAsRoot()
            try command.run()
            Cluster.finish()  // MPI_Finalize, if the command joined an MPI job
        } catch {
            // In an MPI job: one line naming the rank, then the whole job stops. Otherwise nothing.
            Cluster.abortIfJoined(message(for: error), exitCode: exitCode(for: error).rawValue)
            exit(withError: error)
        }
    }
}
