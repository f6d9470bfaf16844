import ArgumentParser
import Foundation
import Support

/// `cnnsep bench`: benchmarks (run a release build). Each subcommand lives in its own file.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release): a training step, separating a song, and each layer against raw sgemm.",
        subcommands: [BenchAll.self, BenchStep.self, BenchSeparation.self, BenchSeparationRun.self, BenchStepSteps.self, BenchOps.self, BenchResample.self, BenchWiener.self,
                      BenchDistributed.self, BenchDistributedRun.self],
        defaultSubcommand: BenchAll.self)
}

/// `cnnsep bench`: the training step, then the separation of synthesized songs.
struct BenchAll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all", abstract: "bench step, then bench separation (JSON of both with --json).")
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Option(help: "Timed training steps (after warm-up).") var steps = 60
    @Option(help: "Threads of the engine (1 or 2).") var threads = 2

    func run() throws {
        let stepResult = try BenchStep.parse(["--steps", "\(steps)", "--threads", "\(threads)"]).measure()
        print("")
        let separationResult = try BenchSeparation.parse(["--threads", "\(threads)"]).measure()
        if let json {
            try writeJSON(["step": stepResult, "separation": separationResult], to: json)
        }
    }
}
