import ArgumentParser
import Distributed
import Foundation
import Support
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the network as a config describes; running the same command again resumes.",
        discussion: """
        Checkpoints go to the run folder (default Checkpoints/<config name>/): latest.h5 after every epoch \
        (schedule.checkpoint_every_epochs) and on Ctrl-C, with log.jsonl beside it (one line per epoch). \
        Under mpirun/srun each rank computes its share of every batch (data-parallel); rank 0 writes the run folder.
        """)

    @Option(help: "Config: a path, or a name under Configs/ (dsd100, dsd100-original, demo).")
    var config: String = "dsd100"

    @Option(help: "Epochs per block (overrides schedule.epochs_per_block).")
    var epochs: Int?

    @Option(help: "Random seed for initialisation and shuffling (overrides seed).")
    var seed: UInt64?

    @Option(help: "Run folder for checkpoints and the log. Default: Checkpoints/<config name>.")
    var runDir: String?

    @Flag(help: "Start fresh, ignoring (and replacing) the run folder's checkpoint and log.")
    var restart = false

    /// The range of schedule.epochs_per_block, which --epochs overrides (the config's own limit).
    static let epochRange = 1...1_000_000

    func validate() throws {
        try Self.validateEpochs(epochs)
    }

    /// --epochs of train and study: Int.max epochs overflowed the run's batch count (a crash).
    static func validateEpochs(_ epochs: Int?) throws {
        if let epochs, !epochRange.contains(epochs) {
            throw ValidationError("--epochs must be from \(epochRange.lowerBound) to \(epochRange.upperBound) (as schedule.epochs_per_block), got \(epochs)")
        }
    }

    func run() throws {
        var c = try loadConfig(config)
        if let epochs { c.schedule.epochsPerBlock = epochs }
        if let seed { c.seed = seed }
        let trainer = Trainer(config: c, runDirectory: URL(fileURLWithPath: runDir ?? "Checkpoints/\(c.name)"))
        trainer.restart = restart
        trainer.ranks = Cluster.join()  // data-parallel under mpirun/srun; a job of one otherwise
        Interrupt.install()
        if try trainer.run() == .interrupted {
            Cluster.finish()  // every rank stops cleanly after rank 0 saved: nothing to abort
            throw ExitCode(130)
        }
    }
}
