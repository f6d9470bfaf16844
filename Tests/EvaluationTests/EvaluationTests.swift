import Foundation
import Testing
import TestHelpers
import Audio
import Support
@testable import Evaluation
@testable import Inference
import Configuration
import Data
import Network

@Suite struct EvaluationTests {
    /// On demo songs, the ideal ratio masks (the upper bound) score far above the mixture used as
    /// every estimate (the baseline), for every source.
    @Test func oracleBeatsTheMixtureBaseline() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var synth = SynthSettings()
        synth.devSongs = 0; synth.testSongs = 1; synth.seconds = 3; synth.seed = 9
        _ = try DemoSynth.write(to: folder, settings: synth, progress: false)
        let song = try #require(try Dataset.open(folder).songs(split: "Test").first)
        var c = Config()
        c.model = tinySeparator().config.model
        c.features = tinySeparator().config.features
        // The model here is untrained; the oracle and baseline rows are what this test is about.
        let evaluator = Evaluator(separator: Separator(network: ChandnaNetwork(shape: c.model, seed: 1), config: c))
        let scores = try evaluator.evaluate(song, oracle: true)
        #expect(scores.map(\.method) == ["model", "oracle", "mixture"])
        let oracle = scores[1].scores, mixture = scores[2].scores
        for source in Stem.names {
            let o = try #require(oracle[source]), m = try #require(mixture[source])
            #expect(o.sdr > m.sdr + 3, "\(source): oracle SDR \(o.sdr) vs mixture \(m.sdr)")
        }
        let summary = ScoreSummary(scores)
        #expect(summary.rows.count == 3 * 4 * 3)
        #expect(summary.text().contains("oracle"))
        let csv = ScoreSummary.csv(scores).split(separator: "\n")
        #expect(csv.count == 1 + 3 * 4)
    }
}
