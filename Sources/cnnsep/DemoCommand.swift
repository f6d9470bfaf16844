import ArgumentParser
import Data
import Evaluation
import Foundation
import Inference
import Support
import Training

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The whole job on built-in data: synthesize the demo set if missing, train, separate a test song, score.",
        discussion: """
        Uses Configs/demo.json. The demo set is `cnnsep synth --realistic`: composed songs played with \
        sampled instruments (libfluidsynth and the fluid-soundfont-gm SoundFont). Running it again \
        resumes training (or skips it when complete) and re-scores. The table compares the model with \
        the mixture-as-estimate baseline and the \
        ideal-ratio-mask upper bound on the demo's Test songs.
        """)

    @Option(help: "Config to run (path or name under Configs/).")
    var config: String = "demo"

    @Flag(help: "Retrain from scratch.")
    var restart = false

    func run() throws {
        let c = try loadConfig(config)
        let root = URL(fileURLWithPath: c.datasetRoot)
        if !FileManager.default.fileExists(atPath: root.appendingPathComponent("Mixtures").path) {
            note("1/4 synthesizing the demo dataset (sampled instruments) into \(root.path)")
            _ = try RealisticSynth.write(to: root, settings: SynthSettings(), progress: true)
        } else {
            note("1/4 demo dataset found in \(root.path)")
        }

        note("2/4 training (config \(c.name); Ctrl-C stops with a checkpoint, run again to resume)")
        let trainer = Trainer(config: c, runDirectory: URL(fileURLWithPath: "Checkpoints/\(c.name)"))
        trainer.restart = restart
        Interrupt.install()
        if try trainer.run() == .interrupted { throw ExitCode(130) }

        let weights = trainer.checkpointURL
        let separator = try Separator(checkpoint: weights, fallback: c, separation: c.separation)
        let test = try Dataset.open(root).songs(split: c.testSplit)
        guard let first = test.first else { throw CNNSepError("\(root.relativePath): no songs in split \(c.testSplit)") }
        note("3/4 separating \(first.name) into separated/\(first.name)/")
        _ = try separator.predict([first.mixture], out: URL(fileURLWithPath: "separated"), format: .wav16, force: true, progress: true)

        note("4/4 scoring the \(test.count) Test songs (model, ideal ratio masks, mixture as estimate)")
        let evaluator = Evaluator(separator: separator)
        var scores: [SongScores] = []
        for song in test { scores += try evaluator.evaluate(song, oracle: true) }
        print("SDR/SIR/SAR in dB on the \(test.count) demo Test songs (checkpoint \(weights.path)):")
        print(ScoreSummary(scores).text())
        let summary = ScoreSummary(scores).rows.filter { $0.metric == "SDR" }
        let beats = Stem.names.filter { s in
            let model = summary.first { $0.method == "model" && $0.source == s }!.median
            let mixture = summary.first { $0.method == "mixture" && $0.source == s }!.median
            return model > mixture
        }
        print("The model beats the mixture-as-estimate baseline on \(beats.count) of 4 sources (median SDR)\(beats.count < 4 ? ": " + beats.joined(separator: ", ") : ".")")
        print("Stems of \(first.name): separated/\(first.name)/{bass,drums,other,vocals}.wav")
    }
}
