import Audio
import Foundation
import Support

/// What `cnnsep synth` makes: how many songs, how long, from which seed.
public struct SynthSettings: Equatable, Sendable {
    public var devSongs = 16
    public var testSongs = 4
    public var seconds = 20.0
    public var seed: UInt64 = 1
    public var sampleRate = 44100

    public init() {}
}

/// One rendered demo song: its folder name and its four stereo sources as 16-bit integer sample
/// values (stored as Float, e.g. 1234.0), in `Stem.names` order; the mixture is their exact sum.
public struct SynthSong: Sendable {
    public let name: String
    public let sampleRate: Int
    /// `sources[s][channel][n]`: integers in −16000…16000.
    public let sources: [[[Float]]]

    /// The mixture: the sum of the sources, sample by sample (exact: the values are small integers).
    public func mixture() -> [[Float]] {
        (0..<2).map { c in
            var sum = sources[0][c]
            for s in 1..<sources.count {
                sum.withUnsafeMutableBufferPointer { out in
                    sources[s][c].withUnsafeBufferPointer { src in
                        for i in 0..<out.count { out[i] += src[i] }
                    }
                }
            }
            return sum
        }
    }
}

/// The built-in demo dataset: deterministic synthetic songs with four clearly different sources.
///
/// - bass: low harmonic notes (MIDI 28–47) on the chord roots and fifths of a 4-bar progression;
/// - drums: kick (pitch sweep), snare (tone plus filtered noise) and hi-hat (high-passed noise) hits;
/// - other: chords held as pads or played as arpeggios in the middle register (MIDI 55–79);
/// - vocals: a melody (MIDI 60–84) with vibrato and vowel formants on its harmonics, with rests.
///
/// Key, mode, tempo, progression, patterns, timbres, pans and levels all come from the seed.
/// Samples are quantised to 16 bits *per source* and the mixture is the integer sum of the sources,
/// written as 16-bit WAV: read back, the mixture equals the sum of the four sources exactly (to the
/// last bit, 0 LSB), and nothing clips (the mixture peaks at 16000/32768 ≈ −6.2 dBFS, which also keeps
/// the integers exact whether a libsndfile scales floats by 32767 or 32768 on writing; Debian 12's
/// libsndfile 1.2.0 with clipping on, as `AudioFile.write` sets it, scales by 32768).
public enum DemoSynth {
    /// Peak of the mixture (and of every source) in 16-bit steps.
    static let peakSteps: Float = 16000

    /// The song folder name of song `index` (0-based over Dev then Test), DSD100 style:
    /// `"003 - Nyquist's Ghost - Amber Harbor"`. Artists include `&`, apostrophes and accents on purpose.
    public static func songName(index: Int, seed: UInt64) -> String {
        songName(index: index, seed: seed, artists: ["Demo Artist", "The Sine Waves", "Formant & Friends", "Nyquist's Ghost",
                                                     "Café Oscillator", "Hann & Hamming", "Señor Sawtooth", "Bloc Party Of Four",
                                                     "Ensemble Überton", "Phase Vocoders"])
    }

    static func songName(index: Int, seed: UInt64, artists: [String]) -> String {
        var rng = generator(index: index, seed: seed, stream: 1)
        let adjectives = ["Amber", "Quiet", "Electric", "Hollow", "Golden", "Paper", "Velvet", "Distant", "Crystal", "Late"]
        let nouns = ["Harbor", "Engines", "Summer", "Lanterns", "Circuit", "Rivers", "Signal", "Garden", "Echoes", "Avenue"]
        let artist = artists[rng.nextInt(below: artists.count)]
        let title = adjectives[rng.nextInt(below: adjectives.count)] + " " + nouns[rng.nextInt(below: nouns.count)]
        return String(format: "%03d", index + 1) + " - \(artist) - \(title)"
    }

    /// Writes the dataset under `root` in the DSD100 layout, songs in parallel on all cores.
    /// Refuses a root whose splits already hold songs this run would not write (an older dataset).
    @discardableResult
    public static func write(to root: URL, settings: SynthSettings, progress: Bool) throws -> [Song] {
        try write(to: root, settings: settings, progress: progress, name: { songName(index: $0, seed: settings.seed) },
                  render: { render(index: $0, settings: settings) })
    }

    /// The dataset writer shared by every synthesizer: `render(i)` makes song `i` (0-based over Dev
    /// then Test), whose files go under `name(i)`.
    static func write(to root: URL, settings: SynthSettings, progress: Bool, name: (Int) -> String,
                      render: @Sendable (Int) throws -> SynthSong) throws -> [Song] {
        precondition(settings.seconds > 0 && settings.devSongs >= 0 && settings.testSongs >= 0)
        let total = settings.devSongs + settings.testSongs
        let splits = (0..<total).map { $0 < settings.devSongs ? "Dev" : "Test" }
        let names = (0..<total).map(name)
        let songs = (0..<total).map { i in
            let m = root.appendingPathComponent("Mixtures/\(splits[i])").appendingPathComponent(names[i])
            let s = root.appendingPathComponent("Sources/\(splits[i])").appendingPathComponent(names[i])
            return Song(name: names[i], split: splits[i], mixture: m.appendingPathComponent("mixture.wav"),
                        sources: Stem.names.map { s.appendingPathComponent("\($0).wav") })
        }
        for tree in ["Mixtures", "Sources"] {
            for split in ["Dev", "Test"] {
                let folder = root.appendingPathComponent("\(tree)/\(split)")
                let existing = Dataset.subfolders(folder)
                let ours = Set(songs.filter { $0.split == split }.map(\.name))
                if let stranger = Dataset.sorted(existing).first(where: { !ours.contains($0) }) {
                    throw CNNSepError("\(folder.appendingPathComponent(stranger).path): not a song of this demo dataset; remove \(root.relativePath) or choose another --out")
                }
            }
        }
        let bar = progress ? Support.Progress("synth", total: total, interval: 5) : nil
        let errors = ErrorList()
        DispatchQueue.concurrentPerform(iterations: total) { i in
            do {
                let song = try render(i)
                let mixture = song.mixture()
                // Integer k is passed as k/32768, which 16-bit WAV stores as k (and reads back as k/32768).
                let scale = 1 / Float(32768)
                func buffer(_ channels: [[Float]]) -> AudioBuffer {
                    AudioBuffer(sampleRate: song.sampleRate, channels: channels.map { c in c.map { $0 * scale } })
                }
                try AudioFile.write(buffer(mixture), to: songs[i].mixture, format: .wav16)
                for s in 0..<Stem.names.count {
                    try AudioFile.write(buffer(song.sources[s]), to: songs[i].sources[s], format: .wav16)
                }
            } catch {
                errors.add(i, "\(songs[i].name): \(error)")
            }
            bar?.advance()
        }
        bar?.finish()
        if let first = errors.sorted.first { throw CNNSepError(first) }
        return songs
    }

    static func generator(index: Int, seed: UInt64, stream: UInt64) -> SeededGenerator {
        SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03 &+ stream)
    }

    // MARK: - Rendering

    /// Renders song `index` (0-based over Dev then Test): depends only on the index and the settings.
    public static func render(index: Int, settings: SynthSettings) -> SynthSong {
        var rng = generator(index: index, seed: settings.seed, stream: 2)
        let sr = settings.sampleRate
        let n = max(1, Int((settings.seconds * Double(sr)).rounded()))
        let music = Music(rng: &rng, sampleRate: sr)

        var mono: [[Float]] = []
        for s in 0..<4 {
            var out = [Float](repeating: 0, count: n)
            var local = generator(index: index, seed: settings.seed, stream: 10 + UInt64(s))
            out.withUnsafeMutableBufferPointer { buffer in
                let renderer = Renderer(out: buffer.baseAddress!, count: n, sampleRate: sr)
                switch s {
                case 0: renderer.bass(music, rng: &local)
                case 1: renderer.drums(music, rng: &local)
                case 2: renderer.other(music, rng: &local)
                default: renderer.vocals(music, rng: &local)
                }
            }
            mono.append(out)
        }
        // Levels: every source to unit RMS, then a random gain in dB; pans; then one scale for the song.
        let gainsDB: [(Double, Double)] = [(-3, 1), (-3, 1), (-6, -1), (-1, 3)]
        let pans: [Double] = [0, rng.nextDouble() * 0.2 - 0.1, rng.nextDouble() * 1.2 - 0.6, rng.nextDouble() * 0.2 - 0.1]
        var stereo: [[[Float]]] = []
        for s in 0..<4 {
            let rms = mono[s].withUnsafeBufferPointer { b -> Double in
                var sum = 0.0
                for x in b { sum += Double(x) * Double(x) }
                return (sum / Double(n)).squareRoot()
            }
            let (lo, hi) = gainsDB[s]
            let gain = pow(10, (lo + (hi - lo) * rng.nextDouble()) / 20) / max(rms, 1e-9)
            let theta = Double.pi / 4 * (1 + pans[s])
            stereo.append([Float(gain * cos(theta)), Float(gain * sin(theta))].map { g in mono[s].map { $0 * g } })
        }
        return SynthSong(name: songName(index: index, seed: settings.seed), sampleRate: sr, sources: integerSources(stereo))
    }

    /// One scale for the song so that the mixture and every source peak at `peakSteps`, then each
    /// source rounded to integers: `stereo[s][channel][n]`, all channels of one length.
    static func integerSources(_ stereo: [[[Float]]]) -> [[[Float]]] {
        let n = stereo[0][0].count
        var peak: Float = 0
        for c in 0..<2 {
            var sum = [Float](repeating: 0, count: n)
            for s in 0..<4 {
                sum.withUnsafeMutableBufferPointer { out in
                    stereo[s][c].withUnsafeBufferPointer { src in
                        for i in 0..<n { out[i] += src[i]; peak = max(peak, abs(src[i])) }
                    }
                }
            }
            for x in sum { peak = max(peak, abs(x)) }
        }
        // Rounding each source may add up to 4 × 0.5 steps to the mixture: leave room for it.
        let scale = (peakSteps - 2) / max(peak, 1e-12)
        return stereo.map { channels in channels.map { c in c.map { ($0 * scale).rounded() } } }
    }
}

/// Collects errors from parallel work, reported in index order.
final class ErrorList: @unchecked Sendable {
    private var items: [(Int, String)] = []
    private let lock = NSLock()
    func add(_ index: Int, _ message: String) { lock.lock(); items.append((index, message)); lock.unlock() }
    var sorted: [String] { lock.lock(); defer { lock.unlock() }; return items.sorted { $0.0 < $1.0 }.map(\.1) }
}
