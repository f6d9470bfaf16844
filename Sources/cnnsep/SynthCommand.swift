import ArgumentParser
import Data
import Foundation
import Support

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a built-in demo dataset (DSD100 layout, 44.1 kHz stereo 16-bit WAV).",
        discussion: """
        By default songs of synthetic tones: bass, drums, other (chords or arpeggios) and vocals (a \
        melody with vibrato and formants). With --realistic, composed songs played with real sampled \
        instruments (libfluidsynth and a General MIDI SoundFont): GM basses, drum kits with fills, \
        keys, guitars, strings and pads, and a sung-like lead, in sections where stems rest at times. \
        Key, tempo, instruments and levels vary by seed. The mixture is exactly the sum of the four \
        sources as stored (16-bit integers), and nothing clips. The same options give the same files.
        """)

    @Flag(help: "Real sampled instruments instead of synthetic tones.")
    var realistic = false

    @Option(help: "General MIDI SoundFont for --realistic.")
    var soundfont: String = RealisticSynth.defaultSoundFont

    @Option(help: "Output folder (gets Mixtures/ and Sources/); default Data/demo, or Data/demo-realistic with --realistic.")
    var out: String?

    @Option(help: "Songs in the Dev split.")
    var dev: Int = 16

    @Option(help: "Songs in the Test split.")
    var test: Int = 4

    @Option(help: "Length of each song in seconds.")
    var seconds: Double = 20

    @Option(help: "Seed: every song's music follows from it.")
    var seed: UInt64 = 1

    /// Songs a demo dataset may have: ten thousand of 20 s fill about 170 GB.
    static let maxSongs = 10_000

    func validate() throws {
        // Each bounded before the sum, so the sum cannot overflow.
        guard (0...Self.maxSongs).contains(dev), (0...Self.maxSongs).contains(test), (1...Self.maxSongs).contains(dev + test) else {
            throw ValidationError("--dev and --test must be ≥ 0, not both 0, and at most \(Self.maxSongs) songs together (DSD100 has 100), got \(dev) and \(test)")
        }
        guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600], got \(seconds)") }
    }

    func run() throws {
        var settings = SynthSettings()
        settings.devSongs = dev
        settings.testSongs = test
        settings.seconds = seconds
        settings.seed = seed
        let start = Date()
        let root = URL(fileURLWithPath: out ?? (realistic ? "Data/demo-realistic" : "Data/demo"))
        let songs = realistic ? try RealisticSynth.write(to: root, settings: settings, soundFont: soundfont, progress: true)
                              : try DemoSynth.write(to: root, settings: settings, progress: true)
        let elapsed = Date().timeIntervalSince(start)
        print("wrote \(songs.count) songs (\(dev) Dev, \(test) Test, \(seconds) s each) to \(root.path) in \(String(format: "%.1f", elapsed)) s")
    }
}
