import ArgumentParser
import Audio
import Foundation
import Inference
import Support

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Separate songs into four stems: <out>/<song>/{bass,drums,other,vocals}.wav.",
        discussion: """
        Stems have the input's sample rate, channel count and length, and add up to the input. \
        Folders are searched (recursively, in sorted order) for audio files; files named like a stem \
        (bass, drums, other, vocals) are not songs. A song whose four stems exist is skipped unless --force.
        """)

    @Argument(help: "Songs (audio files) or folders holding them.")
    var songs: [String]

    @Option(help: "Weights to use. Default: the newest checkpoint of the config's run (Checkpoints/<config>/latest.h5).")
    var checkpoint: String?

    @Option(help: "Config whose run's checkpoint to use when --checkpoint is not given (path or name under Configs/). Default: dsd100.")
    var config: String?

    @Option(help: "Output folder.")
    var out: String = "separated"

    @Option(help: "Sample format of the stems: wav16, wav24 or float.")
    var format: String = "wav16"

    @Flag(help: "Separate again even when the four stems exist.")
    var force = false

    func validate() throws {
        guard SampleFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be wav16, wav24 or float, got '\(format)'")
        }
    }

    func run() throws {
        let fallback = try loadConfig(config)
        let weights = try checkpoint.map { URL(fileURLWithPath: $0) } ?? TrainedModel.latest(for: fallback)
        let separator = try Separator(checkpoint: weights, fallback: fallback)
        let inputs = try SongFinder.find(songs)
        guard !inputs.isEmpty else { throw CNNSepError("\(songs.joined(separator: ", ")): no audio files found") }
        Interrupt.install()
        let outcomes = try separator.predict(inputs, out: URL(fileURLWithPath: out), format: SampleFormat(rawValue: format)!,
                                             force: force, progress: true) { outcome in
            switch outcome {
            case .skipped(let song, let folder):
                print("\(song): stems exist in \(folder.path), skipped (use --force to redo)")
            case .separated(let r):
                print(String(format: "%@: %.1f s of audio in %.2f s (%.0f× real time) → %@", r.song, r.duration,
                             r.seconds, r.realTimeFactor, r.folder.path))
                if r.clippedSamples > 0 {
                    note("warning: \(r.song): \(r.clippedSamples) samples beyond full scale were clipped; use --format float to keep them")
                }
            }
        }
        if outcomes.count < inputs.count { throw ExitCode(130) }
    }
}
