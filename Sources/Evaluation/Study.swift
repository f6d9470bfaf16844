import Foundation
import Support

/// One config trained with several seeds and scored on the same songs (`cnnsep study`): per source,
/// the model's mean SDR over the songs for each seed, its mean and spread across seeds, the seed-free
/// oracle and mixture baselines, and the oracle share (`ScoreSummary.oracleShares`) per seed.
public struct StudySummary: Codable {
    /// Mean, sample standard deviation (n − 1; 0 for one seed) and the per-seed values.
    public struct Spread: Codable, Equatable {
        public let mean: Double
        public let std: Double
        public let perSeed: [Double]

        public init(_ values: [Double]) {
            perSeed = values
            (mean, std) = Statistics.meanAndDeviation(values, sample: true)
        }

        enum CodingKeys: String, CodingKey { case mean, std, perSeed = "per_seed" }
    }

    public struct Source: Codable {
        public let source: String
        /// The model's mean SDR over the songs (dB), one value per seed.
        public let modelSDR: Spread
        public let oracleSDR: Double
        public let mixtureSDR: Double
        /// (model − mixture) / (oracle − mixture) on mean SDR, one value per seed.
        public let oracleShare: Spread

        enum CodingKeys: String, CodingKey {
            case source, modelSDR = "model_sdr", oracleSDR = "oracle_sdr", mixtureSDR = "mixture_sdr", oracleShare = "oracle_share"
        }
    }

    public let config: String
    public let dataset: String
    public let split: String
    public let songs: Int
    public let seeds: [UInt64]
    public let sources: [Source]

    /// `models[i]`: the model's scores on the songs for `seeds[i]`; `baselines`: the oracle's and the
    /// mixture's on the same songs.
    public init(config: String, dataset: String, split: String, seeds: [UInt64], models: [[SongScores]], baselines: [SongScores]) {
        precondition(models.count == seeds.count, "StudySummary: one set of scores per seed")
        self.config = config
        self.dataset = dataset
        self.split = split
        self.seeds = seeds
        songs = Set(baselines.map(\.song)).count
        let summaries = models.map { ScoreSummary($0 + baselines) }
        func mean(_ summary: ScoreSummary, _ method: String, _ source: String) -> Double {
            summary.rows.first { $0.method == method && $0.source == source && $0.metric == "SDR" }?.mean ?? .nan
        }
        let base = ScoreSummary(baselines)
        sources = Stem.names.map { source in
            Source(source: source, modelSDR: Spread(summaries.map { mean($0, "model", source) }),
                   oracleSDR: mean(base, "oracle", source), mixtureSDR: mean(base, "mixture", source),
                   oracleShare: Spread(summaries.map { $0.oracleShares()[source] ?? .nan }))
        }
    }

    /// The table a person reads.
    public func text() -> String {
        var lines = ["\(config): \(seeds.count) seeds (\(seeds.map(String.init).joined(separator: ", "))), \(songs) song\(songs == 1 ? "" : "s") of \(split) in \(dataset)",
                     "mean SDR over the songs (dB); ± = standard deviation across seeds; share = (model − mixture) / (oracle − mixture)",
                     "source   model SDR         oracle SDR  mixture SDR  oracle share"]
        for s in sources {
            lines.append(s.source.padding(toLength: 9, withPad: " ", startingAt: 0)
                + String(format: "%6.2f ± %5.2f     %6.2f      %6.2f      %5.1f %% ± %4.1f", s.modelSDR.mean, s.modelSDR.std,
                         s.oracleSDR, s.mixtureSDR, 100 * s.oracleShare.mean, 100 * s.oracleShare.std))
        }
        return lines.joined(separator: "\n")
    }

    /// The same as a Markdown table (for BENCHMARKS.md or QUALITY.md), per-seed values included.
    public func markdown() -> String {
        var lines = ["`\(config)`, seeds \(seeds.map(String.init).joined(separator: ", ")); \(songs) song\(songs == 1 ? "" : "s") of \(split) in `\(dataset)`; mean SDR over the songs (dB), ± = standard deviation across seeds.",
                     "",
                     "| source | model SDR | per seed | oracle SDR | mixture SDR | oracle share | per seed |",
                     "|---|---:|---|---:|---:|---:|---|"]
        for s in sources {
            let seedSDR = s.modelSDR.perSeed.map { String(format: "%.2f", $0) }.joined(separator: ", ")
            let seedShare = s.oracleShare.perSeed.map { String(format: "%.1f %%", 100 * $0) }.joined(separator: ", ")
            lines.append("| \(s.source) | " + String(format: "%.2f ± %.2f", s.modelSDR.mean, s.modelSDR.std) + " | \(seedSDR) | "
                + String(format: "%.2f | %.2f | %.1f %% ± %.1f", s.oracleSDR, s.mixtureSDR, 100 * s.oracleShare.mean, 100 * s.oracleShare.std)
                + " | \(seedShare) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
