import ArgumentParser
import Foundation
import Configuration
import Data
import Evaluation
import Inference
import Training
import Support

struct Study: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Train a config with several seeds on a dataset's training split, score each on its test split, and tabulate.",
        discussion: """
        For each seed: trains into <out>/seed-<seed>/ (resuming, or skipping a finished run, like train),
        then scores the model on the test split (<out>/seed-<seed>/eval.json). The ideal ratio masks and the
        mixture do not depend on the model and are scored once (<out>/baselines.json). Prints per source the
        model's mean SDR over the songs as mean ± standard deviation across seeds, the baselines, and the
        oracle share (model − mixture) / (oracle − mixture); writes <out>/study.json and <out>/study.md.
        Running it again reuses every finished step.
        """)

    @Option(help: "Config: a path, or a name under Configs/.")
    var config: String

    @Option(help: "Dataset root (overrides dataset.root).")
    var dataset: String?

    @Option(help: "Seeds, comma-separated (each overrides the config's seed).")
    var seeds: String = "1,2,3"

    @Option(help: "Study folder. Default: Studies/<config name>.")
    var out: String?

    @Option(help: "Score only the first N songs of the test split.")
    var songs: Int?

    @Option(help: "Epochs per block (overrides schedule.epochs_per_block), for quick runs.")
    var epochs: Int?

    @Flag(help: "Train every seed anew and score again.")
    var restart = false

    func parsedSeeds() throws -> [UInt64] {
        let parts = seeds.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let values = parts.compactMap { UInt64($0) }
        guard !parts.isEmpty, values.count == parts.count, Set(values).count == values.count else {
            throw ValidationError("--seeds must be distinct non-negative integers separated by commas, got '\(seeds)'")
        }
        return values
    }

    func validate() throws {
        _ = try parsedSeeds()
        if let songs, songs < 1 { throw ValidationError("--songs must be at least 1, got \(songs)") }
        try Train.validateEpochs(epochs)
    }

    func run() throws {
        var base = try loadConfig(config)
        if let dataset { base.datasetRoot = dataset }
        if let epochs { base.schedule.epochsPerBlock = epochs }
        let seeds = try parsedSeeds()
        let folder = URL(fileURLWithPath: out ?? "Studies/\(base.name)")
        let root = URL(fileURLWithPath: base.datasetRoot)
        guard FileManager.default.fileExists(atPath: root.path) else {
            throw CNNSepError("\(root.relativePath): dataset folder does not exist (--dataset or key 'dataset.root' of config '\(base.name)')")
        }
        var list = try Dataset.open(root).songs(split: base.testSplit)
        if let songs { list = Array(list.prefix(songs)) }
        guard !list.isEmpty else { throw CNNSepError("\(root.relativePath): split '\(base.testSplit)' has no songs") }
        Interrupt.install()

        var models: [[SongScores]] = []
        for seed in seeds {
            var c = base
            c.seed = seed
            c.name = "\(base.name)-seed\(seed)"
            let run = folder.appendingPathComponent("seed-\(seed)")
            note("seed \(seed): training into \(run.path)")
            let trainer = Trainer(config: c, runDirectory: run)
            trainer.restart = restart
            let outcome = try trainer.run()
            if outcome == .interrupted { throw ExitCode(130) }
            let checkpoint = run.appendingPathComponent("latest.h5")
            let evalFile = run.appendingPathComponent("eval.json")
            models.append(try reuse(evalFile, songs: list, unless: restart || outcome == .finished) {
                let evaluator = Evaluator(separator: try Separator(checkpoint: checkpoint, fallback: c, separation: c.separation))
                return try score(list, "seed \(seed)") { try evaluator.evaluate($0, oracle: false) }
            })
        }
        let baselines = try reuse(folder.appendingPathComponent("baselines.json"), songs: list, unless: restart) {
            let evaluator = Evaluator(separator: try Separator(checkpoint: folder.appendingPathComponent("seed-\(seeds[0])/latest.h5"), fallback: base, separation: base.separation))
            return try score(list, "baselines") { try evaluator.baselines($0) }
        }
        let summary = StudySummary(config: base.name, dataset: root.path, split: base.testSplit, seeds: seeds,
                                   models: models, baselines: baselines)
        try AtomicFile.write(try Self.encoder.encode(summary), to: folder.appendingPathComponent("study.json"))
        try AtomicFile.write(Data(summary.markdown().utf8), to: folder.appendingPathComponent("study.md"))
        print(summary.text())
        print("tables: \(folder.path)/study.md, \(folder.path)/study.json")
    }

    /// The scores stored in `file` when they cover exactly `songs` (and `unless` is false); otherwise
    /// `make`'s, stored there.
    func reuse(_ file: URL, songs: [Song], unless: Bool, _ make: () throws -> [SongScores]) throws -> [SongScores] {
        if !unless, let data = try? Data(contentsOf: file), let stored = try? Self.decoder.decode(EvaluationReport.self, from: data),
           Set(stored.scores.map(\.song)) == Set(songs.map(\.name)) {
            return stored.scores
        }
        let scores = try make()
        try AtomicFile.write(try Self.encoder.encode(EvaluationReport(scores)), to: file)
        return scores
    }

    func score(_ songs: [Song], _ label: String, _ body: (Song) throws -> [SongScores]) throws -> [SongScores] {
        let progress = Support.Progress("eval \(label)", total: songs.count, interval: 5)
        var all: [SongScores] = []
        for song in songs {
            if Interrupt.requested { throw ExitCode(130) }
            all += try body(song)
            progress.advance(detail: song.name)
        }
        progress.finish()
        return all
    }

    static let encoder = SongScores.encoder
    static let decoder = SongScores.decoder
}
