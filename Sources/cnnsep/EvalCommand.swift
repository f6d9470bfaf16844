import ArgumentParser
import Audio
import Configuration
import Data
import Distributed
import Evaluation
import Foundation
import Inference
import Support

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Separate a split's songs and score each stem with SDR/SIR/SAR against the references (mono).",
        discussion: """
        Writes one JSON file per song and scores.csv to --out (default Checkpoints/<config>/eval/<split>/), \
        and prints the median and mean ± std per source. --oracle adds, on the same songs, the ideal ratio \
        masks (upper bound) and the mixture as every estimate (baseline), and the model's share of the \
        oracle's gain per source, (model − mixture) / (oracle − mixture) on mean SDR: 0 % = no better than \
        the mixture (or mixture/4: SDR ignores an estimate's scale), 100 % = the ideal ratio masks. \
        --json writes {"scores": [per song and method], "summary": [rows], "oracle_share": {source: share}}.

        The model's settings always come from the checkpoint (its stored config). The dataset (root and \
        test split) and the run's name come from --config when given, else from the checkpoint's stored \
        config; --dataset overrides the root either way. Without --checkpoint, the checkpoint is the \
        newest of --config's run (default dsd100).

        Under mpirun/srun (mpirun -q -np N cnnsep eval ...) the songs are shared out over the N processes \
        (ranks), longest first to the rank with the least audio so far; each rank writes its songs' JSON \
        files, and rank 0 writes scores.csv and --json and prints the summary, the same as one process.
        """)

    @Option(help: "Config (path or name under Configs/): the dataset and, without --checkpoint, the run (default dsd100). With --checkpoint, overrides the checkpoint's stored config for the dataset.")
    var config: String?

    @Option(help: "Weights. Default: the newest checkpoint of the config's run.")
    var checkpoint: String?

    @Option(help: "Dataset root (DSD100 or MUSDB18-HQ layout). Default: the config's dataset.root.")
    var dataset: String?

    @Option(help: "Split to evaluate. Default: the config's test split.")
    var split: String?

    @Option(help: "Evaluate only the first N songs of the split.")
    var songs: Int?

    @Option(help: "Framewise BSS Eval with windows and hops of this many seconds (median over frames), as museval does with 1.")
    var framewise: Double?

    @OptionGroup(title: "How the model is run over a song")
    var separation: SeparationOptions

    @Flag(help: "Also score ideal ratio masks (upper bound) and the mixture as estimate (baseline).")
    var oracle = false

    @Option(help: "Write every score, the summary and (with --oracle) the oracle share to this JSON file as well.")
    var json: String?

    @Option(help: "Folder for per-song JSON and scores.csv.")
    var out: String?

    func validate() throws {
        if let songs, songs < 1 { throw ValidationError("--songs must be at least 1, got \(songs)") }
        try validateSeconds(framewise, option: "--framewise")
    }

    func run() throws {
        // Under mpirun/srun each rank scores its share of the songs and rank 0 summarises them all.
        let ranks = Cluster.join()
        Interrupt.install()
        // Every rank reads the model and lists the songs; a refusal is one line, from rank 0.
        let (separator, weights, folder, split, list, seconds) = try ranks.together { try prepare() }
        let shard = try SongShard(ranks: ranks, seconds: seconds, fingerprint: zip(list, seconds).map { "\($0.mixture.path) \($1)" })
        let evaluator = Evaluator(separator: separator, framewise: framewise)
        let progress = Support.Progress(ranks.size > 1 ? "eval rank \(ranks.rank)" : "eval", total: shard.mine.count, interval: 5)
        var mine: [(index: Int, scores: [SongScores])] = []
        for index in shard.mine {
            if Interrupt.requested { break }
            let song = list[index]
            let scores = try evaluator.evaluate(song, oracle: oracle)
            try AtomicFile.write(try SongScores.encoder.encode(scores), to: folder.appendingPathComponent("\(song.name).json"))
            mine.append((index, scores))
            let model = scores[0].scores
            progress.advance(detail: "\(song.name): SDR " + Stem.names.map { name in
                model[name].map { String(format: "%@ %.2f", name, $0.sdr) } ?? "\(name) left out" }.joined(separator: ", "))
        }
        if ranks.anyRequested(mine.count < shard.mine.count) {
            Cluster.finish()  // every rank stopped cleanly: nothing to abort
            throw ExitCode(130)
        }
        progress.finish()
        // Rank 0 puts every rank's songs back in the split's order: the summary one process prints.
        guard let parts = ranks.gather(try ScoreTransfer.encode(mine)) else { return }
        let all = try ScoreTransfer.decode(parts, count: list.count)
        try AtomicFile.write(Data(ScoreSummary.csv(all).utf8), to: folder.appendingPathComponent("scores.csv"))
        if let json { try AtomicFile.write(try SongScores.encoder.encode(EvaluationReport(all)), to: URL(fileURLWithPath: json)) }
        print("\(list.count) songs of \(split), checkpoint \(weights.path)\(framewise.map { ", framewise \($0) s (median over frames)" } ?? "")")
        print(ScoreSummary(all).text())
        print("per-song scores: \(folder.path)/")
    }

    /// The model (as a separator), its file, the folder for the scores, the split, its songs and
    /// their lengths in seconds.
    func prepare() throws -> (Separator, URL, URL, String, [Song], [Double]) {
        // A checkpoint is self-sufficient: Configs/ is read only for --config or to find the run.
        let given = try config.map(loadConfig)
        let weights = try checkpoint.map { URL(fileURLWithPath: $0) } ?? TrainedModel.latest(for: given ?? loadConfig(nil))
        let model = try TrainedModel.load(weights, fallback: given ?? Config())
        // How it is run over a song: --config's separation section, else the checkpoint's; then the options.
        var run = model.config
        if let given { run.separation = given.separation }
        let separator = Separator(network: model.network, config: run)
        try separation.apply(to: separator)
        separator.threads = SongShard.threads
        // Before any song is separated: windows too short for BSS Eval are refused as `score` does.
        if let framewise { try Metrics.checkFramewiseWindow(framewise, sampleRate: run.features.sampleRate, sources: Stem.names.count) }
        var c = given ?? model.config
        if let dataset { c.datasetRoot = dataset }
        let split = self.split ?? c.testSplit
        let dataset: Dataset
        do {
            dataset = try Dataset.open(URL(fileURLWithPath: c.datasetRoot))
        } catch let error as CNNSepError where self.dataset == nil {
            let source = given != nil ? "--config" : "the checkpoint's config"
            throw CNNSepError("\(error.message); the dataset root comes from \(source): pass --dataset ROOT")
        }
        var list = try dataset.songs(split: split)
        if let songs { list = Array(list.prefix(songs)) }
        guard !list.isEmpty else { throw CNNSepError("\(c.datasetRoot): split '\(split)' has no songs") }
        let seconds = try list.map { song in
            let info = try AudioFile.info(song.mixture)
            return Double(info.frameCount) / Double(info.sampleRate)
        }
        return (separator, weights, URL(fileURLWithPath: out ?? "Checkpoints/\(c.name)/eval/\(split)"), split, list, seconds)
    }
}
