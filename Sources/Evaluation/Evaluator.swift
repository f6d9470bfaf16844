import Audio
import Configuration
import Data
import Foundation
import Inference
import Support

/// SDR, SIR and SAR of one estimate (dB).
public struct StemScore: Codable, Equatable {
    public var sdr: Double, sir: Double, sar: Double
}

/// One song's scores for one method ("model", "oracle" = ideal ratio masks, "mixture" = the
/// mixture as every estimate), per source name.
public struct SongScores: Codable {
    public let song: String
    public let method: String
    public let scores: [String: StemScore]
    /// Sources not scored, with why (a silent reference, say: its SDR/SIR/SAR are undefined).
    public var leftOut: [String: String] = [:]

    enum CodingKeys: String, CodingKey {
        case song, method, scores
        case leftOut = "left_out"
    }
}

/// Scores separations of a split against its references, with the context a user needs: the
/// ideal-ratio-mask upper bound and the mixture-as-estimate baseline on the same songs.
public struct Evaluator {
    public let separator: Separator
    /// Framewise BSS Eval with this window and hop in seconds (the median over frames is
    /// reported, as museval does); nil: over the whole song.
    public var framewise: Double? = nil

    public init(separator: Separator, framewise: Double? = nil) {
        self.separator = separator
        self.framewise = framewise
    }

    /// Mono mixture and mono references at the model's rate.
    func load(_ song: Song) throws -> (mixture: [Float], references: [[Float]]) {
        let rate = separator.config.features.sampleRate
        func mono(_ url: URL) throws -> [Float] {
            let buffer = try AudioFile.read(url)
            guard buffer.frameCount > 0 else { throw CNNSepError("\(url.relativePath): zero-length audio") }
            try Separator.checkLevel(buffer.channels, of: url, from: 0)
            try separator.checkRate(of: url, sampleRate: buffer.sampleRate)
            return buffer.sampleRate == rate ? buffer.mono() : try Resampler.resample(buffer.mono(), from: buffer.sampleRate, to: rate)
        }
        let mixture = try mono(song.mixture)
        let references = try song.sources.map(mono)
        for (url, r) in zip(song.sources, references) where r.count != mixture.count {
            throw CNNSepError("\(url.relativePath): \(r.count) samples, the mixture has \(mixture.count)")
        }
        return (mixture, references)
    }

    /// The song's scores for the model and, with `oracle`, the ideal ratio masks and the mixture.
    public func evaluate(_ song: Song, oracle: Bool) throws -> [SongScores] {
        try evaluate(song, model: true, baselines: oracle)
    }

    /// The song's scores for the ideal ratio masks and the mixture only (they do not depend on the model).
    public func baselines(_ song: Song) throws -> [SongScores] {
        try evaluate(song, model: false, baselines: true)
    }

    private func evaluate(_ song: Song, model: Bool, baselines: Bool) throws -> [SongScores] {
        let (mixture, references) = try load(song)
        var methods: [(String, [[Float]])] = []
        if model {
            // The model's stems exactly as `predict` makes them ("other" = mixture − the other three).
            methods.append(("model", try separator.separate([mixture], remainder: Stem.other.index).map { $0[0] }))
        }
        if baselines {
            methods.append(("oracle", idealRatioMaskEstimates(mixture: mixture, references: references)))
            methods.append(("mixture", [[Float]](repeating: mixture, count: 4)))
        }
        return try methods.map { name, estimates in
            try score(references: references, estimates: estimates, song: song, method: name)
        }
    }

    /// Masks from the true sources' magnitudes, m_s = |S_s| / Σ_j |S_j|, on the mixture's STFT,
    /// resynthesised like the model's estimates.
    func idealRatioMaskEstimates(mixture: [Float], references: [[Float]]) -> [[Float]] {
        let stft = separator.stft
        let x = stft.analyze(mixture)
        let magnitudes = references.map { stft.analyze($0).magnitude() }
        return (0..<4).map { s in
            var masked = x
            for i in 0..<x.real.count {
                let total = magnitudes.reduce(Float(0)) { $0 + $1[i] }
                let m = total > 0 ? magnitudes[s][i] / total : 0.25
                masked.real[i] *= m
                masked.imag[i] *= m
            }
            return stft.synthesize(masked, length: mixture.count)
        }
    }

    /// Scores what is defined and says what is not: a source whose reference is silent (a song
    /// without bass) is left out, and the others are scored against the references that have
    /// signal (a silent reference adds nothing to the projections, so their figures are the ones
    /// it would give). A silent estimate is left out too; over the whole song its reference still
    /// counts as interference for the others, framewise (where mir_eval gives NaN to every window
    /// that has a silent estimate) it is set aside. A framewise source without a single window where
    /// every scored stem has signal is left out as well.
    func score(references: [[Float]], estimates: [[Float]], song: Song, method: String) throws -> SongScores {
        var leftOut: [String: String] = [:]
        for (s, name) in Stem.names.enumerated() {
            if Metrics.isSilent(references[s]) {
                leftOut[name] = "reference \(song.sources[s].relativePath) is silent (all zeros): SDR/SIR/SAR are undefined for it"
            } else if Metrics.isSilent(estimates[s]) {
                leftOut[name] = "the \(method) estimate is silent (all zeros): SDR/SIR/SAR are undefined for it"
            }
        }
        let rate = separator.config.features.sampleRate
        // A song too short for the projections onto the sources scored is left out whole (their
        // least-squares fallback took minutes for figures that mean nothing).
        func tooShort(_ sources: Int) -> SongScores? {
            let length = references[0].count
            guard length < Metrics.minimumLength(sources: sources) else { return nil }
            for name in Stem.names where leftOut[name] == nil {
                leftOut[name] = "the song is too short to score: " + Metrics.tooShort(length, rate: rate, sources: sources)
            }
            return SongScores(song: song.name, method: method, scores: [:], leftOut: leftOut)
        }
        var result: [String: StemScore] = [:]
        if let seconds = framewise {
            let kept = Stem.names.indices.filter { leftOut[Stem.names[$0]] == nil }
            guard !kept.isEmpty else { return SongScores(song: song.name, method: method, scores: [:], leftOut: leftOut) }
            if let short = tooShort(kept.count) { return short }
            let frames = try Metrics.bssEvalFramewise(references: kept.map { references[$0] }, estimates: kept.map { estimates[$0] },
                                                      sampleRate: rate, window: seconds, hop: seconds)
            for (k, s) in kept.enumerated() {
                let median = Statistics.median
                let score = StemScore(sdr: median(frames.map { $0.sdr[k] }), sir: median(frames.map { $0.sir[k] }),
                                      sar: median(frames.map { $0.sar[k] }))
                if score.sdr.isNaN {
                    leftOut[Stem.names[s]] = "no \(seconds) s window in which every scored stem has signal"
                } else {
                    result[Stem.names[s]] = score
                }
            }
        } else {
            let kept = Stem.names.indices.filter { !Metrics.isSilent(references[$0]) }
            guard !kept.isEmpty else { return SongScores(song: song.name, method: method, scores: [:], leftOut: leftOut) }
            if let short = tooShort(kept.count) { return short }
            let r = try Metrics.bssEval(references: kept.map { references[$0] }, estimates: kept.map { estimates[$0] },
                                        allowingSilentEstimates: true)
            for (k, s) in kept.enumerated() where leftOut[Stem.names[s]] == nil {
                result[Stem.names[s]] = StemScore(sdr: r.sdr[k], sir: r.sir[k], sar: r.sar[k])
            }
        }
        return SongScores(song: song.name, method: method, scores: result, leftOut: leftOut)
    }
}

/// What `eval --json` writes: every song's scores, the summary rows and the model's oracle share per
/// source (absent without `--oracle`).
public struct EvaluationReport: Codable {
    public let scores: [SongScores]
    public let summary: [ScoreSummary.Row]
    public let oracleShare: [String: Double]?

    public init(_ scores: [SongScores]) {
        let summary = ScoreSummary(scores)
        self.scores = scores
        self.summary = summary.rows
        let shares = summary.oracleShares()
        oracleShare = shares.isEmpty ? nil : shares
    }

    enum CodingKeys: String, CodingKey { case scores, summary, oracleShare = "oracle_share" }
}

/// Median and mean ± standard deviation per method, source and metric.
public struct ScoreSummary {
    public struct Row: Codable { public let method: String; public let source: String; public let metric: String
        public let median: Double; public let mean: Double; public let std: Double; public let count: Int }
    public let rows: [Row]
    /// Sources a song's scores leave out, with why, in song order.
    public let leftOut: [(song: String, method: String, source: String, reason: String)]

    public init(_ scores: [SongScores]) {
        leftOut = scores.flatMap { s in
            Stem.names.compactMap { source in s.leftOut[source].map { (s.song, s.method, source, $0) } }
        }
        var rows: [Row] = []
        let methods = scores.map(\.method).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for method in methods {
            for source in Stem.names {
                for metric in ["SDR", "SIR", "SAR"] {
                    let values = scores.filter { $0.method == method }.compactMap { $0.scores[source] }
                        .map { metric == "SDR" ? $0.sdr : metric == "SIR" ? $0.sir : $0.sar }.filter(\.isFinite)
                    let (mean, std) = Statistics.meanAndDeviation(values)
                    rows.append(Row(method: method, source: source, metric: metric, median: Statistics.median(values),
                                    mean: mean, std: std, count: values.count))
                }
            }
        }
        self.rows = rows
    }

    /// The model's share of the oracle's gain per source, on mean SDR:
    /// `(model − mixture) / (oracle − mixture)`, where "mixture" is the mixture-as-estimate baseline.
    /// That baseline is the "mixture/4": BSS Eval's SDR does not change when an estimate is
    /// scaled, so the mixture and a quarter of it score the same. 0 = no better than handing back the
    /// mixture, 1 = as good as the ideal ratio masks. Empty without the oracle and mixture rows.
    public func oracleShares(of method: String = "model") -> [String: Double] {
        func mean(_ m: String, _ source: String) -> Double? {
            rows.first { $0.method == m && $0.source == source && $0.metric == "SDR" }?.mean
        }
        var shares: [String: Double] = [:]
        for source in Stem.names {
            guard let model = mean(method, source), let oracle = mean("oracle", source), let mixture = mean("mixture", source)
            else { continue }
            shares[source] = (model - mixture) / (oracle - mixture)
        }
        return shares
    }

    /// The line `text()` ends with when the oracle and mixture rows are there.
    public func oracleShareLine() -> String? {
        let shares = oracleShares()
        guard !shares.isEmpty else { return nil }
        return "share of the oracle's gain, (model − mixture) / (oracle − mixture) on mean SDR: "
            + Stem.names.compactMap { s in shares[s].map { String(format: "%@ %.1f %%", s, 100 * $0) } }.joined(separator: ", ")
    }

    /// The SDR/SIR/SAR table a person reads: one line per method and source, then the oracle share.
    public func text() -> String {
        var lines = ["method   source   SDR median (mean ± std)     SIR median (mean ± std)     SAR median (mean ± std)"]
        var current = ""
        for r in rows where r.metric == "SDR" {
            let others = rows.filter { $0.method == r.method && $0.source == r.source }
            func cell(_ x: Row) -> String { String(format: "%6.2f (%6.2f ± %5.2f)", x.median, x.mean, x.std) }
            let method = r.method == current ? "" : r.method
            current = r.method
            lines.append(method.padding(toLength: 9, withPad: " ", startingAt: 0) + r.source.padding(toLength: 9, withPad: " ", startingAt: 0)
                + others.map(cell).joined(separator: "     "))
        }
        if let share = oracleShareLine() { lines.append(share) }
        if !leftOut.isEmpty {
            lines.append("left out (not in the figures above):")
            lines += leftOut.map { "  \($0.method) \($0.source) of \($0.song): \($0.reason)" }
        }
        return lines.joined(separator: "\n")
    }

    /// CSV of every song's scores: song, method, source, sdr, sir, sar.
    public static func csv(_ scores: [SongScores]) -> String {
        var lines = ["song,method,source,sdr,sir,sar"]
        for s in scores {
            for source in Stem.names {
                guard let v = s.scores[source] else { continue }
                let song = "\"" + s.song.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                lines.append("\(song),\(s.method),\(source),\(v.sdr),\(v.sir),\(v.sar)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
