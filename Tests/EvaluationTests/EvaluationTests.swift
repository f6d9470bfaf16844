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

/// A song whose reference stem is silent (a song without bass): its other stems are scored, and
/// the silent one is left out with the song, the file and the reason, in the scores, the JSON and
/// the table, with or without --framewise.
@Suite struct SilentStemTests {
    @Test func aSilentReferenceIsLeftOutByNameAndTheOtherStemsScored() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var synth = SynthSettings()
        synth.devSongs = 0; synth.testSongs = 1; synth.seconds = 1; synth.seed = 9
        _ = try DemoSynth.write(to: folder, settings: synth, progress: false)
        let song = try #require(try Dataset.open(folder).songs(split: "Test").first)
        let bass = song.sources[Stem.bass.index]
        let length = try AudioFile.info(bass).frameCount
        try AudioFile.write(AudioBuffer(sampleRate: 44100, mono: [Float](repeating: 0, count: length)), to: bass)
        var c = Config()
        c.model = tinySeparator().config.model
        c.features = tinySeparator().config.features
        let separator = Separator(network: ChandnaNetwork(shape: c.model, seed: 1), config: c)

        for framewise in [nil, 0.5] {
            let scores = try Evaluator(separator: separator, framewise: framewise).evaluate(song, oracle: true)
            for method in scores {
                #expect(method.scores["bass"] == nil, "\(method.method), framewise \(String(describing: framewise))")
                let reason = try #require(method.leftOut["bass"], "\(method.method)")
                #expect(reason.contains(bass.path) && reason.contains("silent"), "\(reason)")
                for source in ["drums", "other", "vocals"] {
                    let score = try #require(method.scores[source], "\(method.method) \(source)")
                    #expect(score.sdr.isFinite && score.sir.isFinite && score.sar.isFinite, "\(method.method) \(source): \(score)")
                }
            }
            let json = String(decoding: try JSONEncoder().encode(scores[0]), as: UTF8.self)
            #expect(json.contains("left_out") && json.contains("silent"), "\(json)")
            let table = ScoreSummary(scores).text()
            #expect(table.contains(song.name) && table.contains("left out"), "\(table)")
            let drums = try #require(ScoreSummary(scores).rows.first { $0.method == "model" && $0.source == "drums" && $0.metric == "SDR" })
            #expect(drums.count == 1)
        }
    }
}
