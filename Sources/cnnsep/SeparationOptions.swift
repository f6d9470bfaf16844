import ArgumentParser
import Configuration
import Inference

/// How the model is run over a song (a config's `separation` section), as options of `predict` and
/// `eval`. They override the section of `--config` when one is given, else the checkpoint's own.
struct SeparationOptions: ParsableArguments {
    @Option(help: "Frames between the starts of the network's windows (1...model frames; default: the config's separation.hop, 12).")
    var hop: Int?

    @Option(help: "Weights of overlapping windows' masks: linear or triangular (default: the config's separation.crossfade).")
    var crossfade: String?

    @Option(help: "EM iterations of the multichannel Wiener post-filter on the masked spectra, 0...10 (default: the config's separation.wiener_iterations, 0).")
    var wiener: Int?

    func validate() throws {
        if let hop, hop < 1 { throw ValidationError("--hop must be at least 1 frame, got \(hop)") }
        if let crossfade, SeparationSettings.Crossfade(rawValue: crossfade) == nil {
            throw ValidationError("--crossfade must be linear or triangular, got '\(crossfade)'")
        }
        if let wiener, !(0...10).contains(wiener) { throw ValidationError("--wiener must be from 0 to 10 iterations, got \(wiener)") }
    }

    /// Sets the options given on `separator` (whose settings came from `--config` or the checkpoint).
    func apply(to separator: Separator) throws {
        let frames = separator.config.model.frames
        if let hop {
            guard hop <= frames else { throw ValidationError("--hop must be at most the model's \(frames) frames, got \(hop)") }
            separator.windowHop = hop
        }
        if let crossfade { separator.crossfade = SeparationSettings.Crossfade(rawValue: crossfade)! }
        if let wiener { separator.wienerIterations = wiener }
    }
}
