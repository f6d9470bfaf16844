import ArgumentParser
import Foundation
import Support
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the network as a config describes; running the same command again resumes.",
        discussion: """
        Checkpoints go to the run folder (default Checkpoints/<config name>/): latest.h5 after every epoch \
        (schedule.checkpoint_every_epochs) and on Ctrl-C, with log.jsonl beside it (one line per epoch).
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

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
    }

    func run() throws {
        var c = try loadConfig(config)
        if let epochs { c.schedule.epochsPerBlock = epochs }
        if let seed { c.seed = seed }
        let trainer = Trainer(config: c, runDirectory: URL(fileURLWithPath: runDir ?? "Checkpoints/\(c.name)"))
        trainer.restart = restart
        Interrupt.install()
        if try trainer.run() == .interrupted { throw ExitCode(130) }
    }
}
