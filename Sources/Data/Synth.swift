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
                    throw CNNSepError("\(folder.appendingPathComponent(stranger).path): not a song of this demo dataset; remove \(root.path) or choose another --out")
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

/// The song's musical plan: key, mode, tempo, chord progression.
struct Music {
    let key: Int                 // pitch class of the tonic, 0 = C
    let scale: [Int]             // semitones of the 7 degrees
    let progression: [Int]       // scale degree (0-based) of each bar's chord, looped
    let beat: Double             // seconds per beat
    let sampleRate: Int

    init(rng: inout SeededGenerator, sampleRate: Int) {
        key = rng.nextInt(below: 12)
        let minor = rng.nextInt(below: 2) == 1
        scale = minor ? [0, 2, 3, 5, 7, 8, 10] : [0, 2, 4, 5, 7, 9, 11]
        let progressions = minor ? [[0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 4], [0, 3, 6, 4]]
                                 : [[0, 4, 5, 3], [0, 3, 4, 4], [0, 5, 3, 4], [0, 3, 0, 4]]
        progression = progressions[rng.nextInt(below: progressions.count)]
        beat = 60 / Double(84 + rng.nextInt(below: 57))     // 84–140 BPM
        self.sampleRate = sampleRate
    }

    var bar: Double { 4 * beat }

    /// MIDI note of scale degree `degree` (any integer; 7 is the next octave's tonic) above C of `octave`.
    func midi(_ degree: Int, octave: Int) -> Int {
        let d = ((degree % 7) + 7) % 7
        let o = (degree - d) / 7
        return 12 * (octave + 1 + o) + key + scale[d]
    }

    /// The chord's three degrees (root, third, fifth) in bar `bar`.
    func chord(bar: Int) -> [Int] {
        let root = progression[bar % progression.count]
        return [root, root + 2, root + 4]
    }

    func sample(_ seconds: Double) -> Int { Int((seconds * Double(sampleRate)).rounded()) }
}

func frequency(midi: Double) -> Double { 440 * pow(2, (midi - 69) / 12) }

/// Adds notes and hits into one mono buffer; everything works on raw pointers.
struct Renderer {
    let out: UnsafeMutablePointer<Float>
    let count: Int
    let sampleRate: Int
    static let tableSize = 2048

    init(out: UnsafeMutablePointer<Float>, count: Int, sampleRate: Int) {
        self.out = out
        self.count = count
        self.sampleRate = sampleRate
    }

    /// One period of a waveform with harmonic amplitudes `amplitude(h)` for h = 1… below 0.45·rate/f0, peak 1.
    static func table(frequency f0: Double, sampleRate: Int, limit: Double = 16000, _ amplitude: (Int) -> Double) -> [Float] {
        let size = tableSize
        let harmonics = max(1, Int(min(limit, 0.45 * Double(sampleRate)) / f0))
        var sine = [Double](repeating: 0, count: size)
        for j in 0..<size { sine[j] = sin(2 * Double.pi * Double(j) / Double(size)) }
        var table = [Double](repeating: 0, count: size)
        sine.withUnsafeBufferPointer { s in
            table.withUnsafeMutableBufferPointer { t in
                for h in 1...harmonics {
                    let a = amplitude(h)
                    if a == 0 { continue }
                    // A random-looking but fixed phase per harmonic keeps the peak low.
                    let offset = (h * h * 337) & (size - 1)
                    for j in 0..<size { t[j] += a * s[(h * j + offset) & (size - 1)] }
                }
            }
        }
        let peak = max(table.map { abs($0) }.max() ?? 1, 1e-12)
        return table.map { Float($0 / peak) }
    }

    /// Adds a note: wavetable oscillator with an attack/decay/sustain envelope and a release ramp,
    /// and optional vibrato (rate in Hz, depth in semitones, starting after `vibratoDelay` seconds).
    func note(table: [Float], frequency f0: Double, start: Int, length: Int, amplitude: Float,
              attack: Double, decay: Double, sustain: Float, release: Double,
              vibratoRate: Double = 0, vibratoDepth: Double = 0, vibratoDelay: Double = 0) {
        let begin = max(0, start), end = min(count, start + length)
        guard end > begin else { return }
        let sr = Double(sampleRate)
        let attackSamples = max(1, Int(attack * sr)), releaseSamples = max(1, Int(release * sr))
        let decayFactor = Float(exp(-1 / max(decay * sr, 1)))
        let size = Double(Self.tableSize), mask = Self.tableSize - 1
        let baseIncrement = f0 / sr * size
        let vibratoStep = 2 * Double.pi * vibratoRate / sr
        let delaySamples = Int(vibratoDelay * sr)
        var phase = 0.0
        var excess: Float = 1 - sustain
        table.withUnsafeBufferPointer { t in
            let w = t.baseAddress!
            for i in begin..<end {
                let k = i - start
                var env: Float = k < attackSamples ? Float(k) / Float(attackSamples) : sustain + excess
                if k >= attackSamples { excess *= decayFactor }
                let left = length - k
                if left < releaseSamples { env *= Float(left) / Float(releaseSamples) }
                let index = Int(phase)
                let frac = Float(phase - Double(index))
                let a = w[index & mask], b = w[(index + 1) & mask]
                out[i] += amplitude * env * (a + (b - a) * frac)
                var increment = baseIncrement
                if vibratoDepth > 0 && k > delaySamples {
                    let ramp = min(1, Double(k - delaySamples) / (0.2 * sr))
                    increment *= 1 + 0.0577623 * vibratoDepth * ramp * sin(vibratoStep * Double(k - delaySamples))
                }
                phase += increment
                if phase >= size { phase -= size }
            }
        }
    }

    // MARK: bass

    func bass(_ m: Music, rng: inout SeededGenerator) {
        let tilt = 0.8 + 1.2 * rng.nextDouble()
        let oddBoost = 1 + rng.nextDouble()
        let pattern = rng.nextInt(below: 3)                 // 0: quarter roots, 1: eighth root/fifth/octave, 2: halves
        let staccato = 0.6 + 0.35 * rng.nextDouble()
        let octave = 1 + rng.nextInt(below: 2)              // MIDI 24…47 region
        var tables: [Int: [Float]] = [:]
        let bars = Int(ceil(Double(count) / Double(sampleRate) / m.bar))
        for bar in 0..<bars {
            let root = m.chord(bar: bar)[0]
            let steps: [(Double, Int)]                      // (beat offset, degree offset)
            switch pattern {
            case 0: steps = [(0, 0), (1, 0), (2, 0), (3, 4)]
            case 1: steps = [(0, 0), (0.5, 0), (1, 4), (1.5, 7), (2, 0), (2.5, 0), (3, 4), (3.5, 2)]
            default: steps = [(0, 0), (2, 4)]
            }
            let step = pattern == 1 ? 0.5 : pattern == 0 ? 1.0 : 2.0
            for (offset, degree) in steps {
                var midi = m.midi(root + degree, octave: octave)
                while midi > 47 { midi -= 12 }
                while midi < 28 { midi += 12 }
                let f0 = frequency(midi: Double(midi))
                let table = tables[midi] ?? Self.table(frequency: f0, sampleRate: sampleRate, limit: 4000) { h in
                    pow(Double(h), -tilt) * (h % 2 == 1 ? oddBoost : 1)
                }
                tables[midi] = table
                let start = m.sample(Double(bar) * m.bar + offset * m.beat)
                note(table: table, frequency: f0, start: start, length: m.sample(step * m.beat * staccato),
                     amplitude: 0.8 + 0.2 * rng.nextFloat(), attack: 0.005, decay: 0.3, sustain: 0.5, release: 0.03)
            }
        }
    }

    // MARK: other

    func other(_ m: Music, rng: inout SeededGenerator) {
        let tilt = 1.0 + 1.5 * rng.nextDouble()
        let evenCut = rng.nextDouble()
        let arpeggio = rng.nextInt(below: 2) == 1
        let sixteenths = rng.nextInt(below: 2) == 1
        var tables: [Int: [Float]] = [:]
        func table(_ midi: Int) -> [Float] {
            if let t = tables[midi] { return t }
            let t = Self.table(frequency: frequency(midi: Double(midi)), sampleRate: sampleRate, limit: 9000) { h in
                pow(Double(h), -tilt) * (h % 2 == 0 ? evenCut : 1)
            }
            tables[midi] = t
            return t
        }
        let bars = Int(ceil(Double(count) / Double(sampleRate) / m.bar))
        for bar in 0..<bars {
            let midis = m.chord(bar: bar).map { d -> Int in
                var x = m.midi(d, octave: 4)
                while x > 79 { x -= 12 }
                while x < 55 { x += 12 }
                return x
            }
            let barStart = Double(bar) * m.bar
            if arpeggio {
                let step = sixteenths ? 0.25 : 0.5
                let order = [0, 1, 2, 1]
                for k in 0..<Int(4 / step) {
                    var midi = midis[order[k % order.count]]
                    if k % 8 >= 4 && sixteenths { midi += 12 }
                    note(table: table(midi), frequency: frequency(midi: Double(midi)),
                         start: m.sample(barStart + Double(k) * step * m.beat), length: m.sample(step * m.beat * 0.95),
                         amplitude: 0.6 + 0.2 * rng.nextFloat(), attack: 0.004, decay: 0.15, sustain: 0.3, release: 0.02)
                }
            } else {
                for midi in midis {
                    note(table: table(midi), frequency: frequency(midi: Double(midi)),
                         start: m.sample(barStart), length: m.sample(m.bar * 0.98),
                         amplitude: 0.4, attack: 0.08, decay: 1.0, sustain: 0.7, release: 0.15)
                }
            }
        }
    }

    // MARK: vocals

    func vocals(_ m: Music, rng: inout SeededGenerator) {
        // Formant frequencies, bandwidths and gains of five vowels (a, e, i, o, u).
        let vowels: [[Double]] = [[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010], [570, 840, 2410], [300, 870, 2240]]
        let bandwidths = [80.0, 100, 140], gains = [1.0, 0.6, 0.3]
        let shift = 0.9 + 0.25 * rng.nextDouble()           // vocal tract length
        let rate = 4.5 + 2 * rng.nextDouble(), depth = 0.2 + 0.3 * rng.nextDouble()
        let octave = 4 + rng.nextInt(below: 2) - (rng.nextInt(below: 3) == 0 ? 1 : 0)
        var tables: [Int: [Float]] = [:]
        func table(_ midi: Int, _ vowel: Int) -> [Float] {
            if let t = tables[midi * 8 + vowel] { return t }
            let f0 = frequency(midi: Double(midi))
            let t = Self.table(frequency: f0, sampleRate: sampleRate, limit: 6000) { h in
                let f = Double(h) * f0
                var g = 0.01
                for i in 0..<3 {
                    let x = (f - vowels[vowel][i] * shift) / (bandwidths[i] / 2)
                    g += gains[i] / (1 + x * x)
                }
                return g * pow(Double(h), -0.7)
            }
            tables[midi * 8 + vowel] = t
            return t
        }
        let bars = Int(ceil(Double(count) / Double(sampleRate) / m.bar))
        var degree = 2 + rng.nextInt(below: 3)
        for bar in 0..<bars {
            if bar % 4 == 3 && rng.nextInt(below: 2) == 0 { continue }   // a breath between phrases
            let chord = m.chord(bar: bar)
            var beat = 0.0
            while beat < 4 {
                let length = [0.5, 1, 1, 1.5, 2][rng.nextInt(below: 5)]
                if rng.nextInt(below: 5) == 0 { beat += length; continue }      // a rest
                if beat == 0 || beat == 2 {
                    // Strong beats: move to the nearest chord tone.
                    let tones = chord.flatMap { [$0, $0 + 7, $0 - 7] }
                    degree = tones.min { abs($0 - degree) < abs($1 - degree) }!
                } else {
                    degree += [-2, -1, -1, 1, 1, 2][rng.nextInt(below: 6)]
                }
                degree = min(max(degree, 0), 11)
                var midi = m.midi(degree, octave: octave)
                while midi > 84 { midi -= 12 }
                while midi < 60 { midi += 12 }
                let duration = min(length, 4 - beat)
                note(table: table(midi, rng.nextInt(below: vowels.count)), frequency: frequency(midi: Double(midi)),
                     start: m.sample(Double(bar) * m.bar + beat * m.beat), length: m.sample(duration * m.beat * 0.92),
                     amplitude: 0.7 + 0.3 * rng.nextFloat(), attack: 0.04, decay: 0.6, sustain: 0.8, release: 0.06,
                     vibratoRate: rate, vibratoDepth: depth, vibratoDelay: 0.15)
                beat += length
            }
        }
    }

    // MARK: drums

    func drums(_ m: Music, rng: inout SeededGenerator) {
        var noise = NoiseSource(seed: rng.next())
        let kickHigh = 110 + 80 * rng.nextDouble(), kickLow = 40 + 20 * rng.nextDouble()
        let kickDecay = 0.15 + 0.2 * rng.nextDouble()
        let snareTone = 160 + 80 * rng.nextDouble(), snareDecay = 0.08 + 0.1 * rng.nextDouble()
        let hatDecay = 0.02 + 0.04 * rng.nextDouble()
        let hatSixteenths = rng.nextInt(below: 3) == 0
        let extraKicks = [[], [2.5], [1.5], [2.5, 3.5], [0.75, 2.5]][rng.nextInt(below: 5)]
        let bars = Int(ceil(Double(count) / Double(sampleRate) / m.bar))
        for bar in 0..<bars {
            let barStart = Double(bar) * m.bar
            for beat in [0.0, 2.0] + extraKicks {
                kick(start: m.sample(barStart + beat * m.beat), high: kickHigh, low: kickLow, decay: kickDecay,
                     amplitude: beat == 0 ? 1 : 0.8)
            }
            for beat in [1.0, 3.0] {
                snare(start: m.sample(barStart + beat * m.beat), tone: snareTone, decay: snareDecay, noise: &noise)
            }
            let step = hatSixteenths ? 0.25 : 0.5
            for k in 0..<Int(4 / step) {
                let open = !hatSixteenths && k == 7 && bar % 2 == 1
                hat(start: m.sample(barStart + Double(k) * step * m.beat), decay: open ? hatDecay * 4 : hatDecay,
                    amplitude: k % 2 == 0 ? 1.2 : 0.8, noise: &noise)
            }
        }
    }

    /// The samples of `start..<start+length` that lie inside the buffer (empty when none do).
    func span(_ start: Int, _ length: Int) -> Range<Int> {
        let lo = min(max(0, start), count)
        return lo..<max(lo, min(count, start + length))
    }

    /// A sine whose pitch falls from `high` to `low` Hz, with an exponential decay.
    func kick(start: Int, high: Double, low: Double, decay: Double, amplitude: Float) {
        let sr = Double(sampleRate)
        let length = Int(decay * 5 * sr)
        var phase = 0.0
        var env = amplitude
        let factor = Float(exp(-1 / (decay * sr)))
        let sweep = exp(-1 / (0.03 * sr))
        var excess = high - low
        for i in span(start, length) {
            out[i] += env * Float(sin(phase))
            phase += 2 * Double.pi * (low + excess) / sr
            excess *= sweep
            env *= factor
        }
    }

    /// A tone plus low-passed noise, both decaying.
    func snare(start: Int, tone: Double, decay: Double, noise: inout NoiseSource) {
        let sr = Double(sampleRate)
        let length = Int(decay * 5 * sr)
        let step = 2 * Double.pi * tone / sr
        var env: Float = 0.7, toneEnv: Float = 0.5
        let factor = Float(exp(-1 / (decay * sr))), toneFactor = Float(exp(-1 / (0.04 * sr)))
        var low: Float = 0
        for i in span(start, length) {
            let k = Double(i - start)
            low += 0.5 * (noise.next() - low)
            out[i] += env * low + toneEnv * Float(sin(step * k))
            env *= factor
            toneEnv *= toneFactor
        }
    }

    /// High-passed noise (the difference of successive white samples), short decay.
    func hat(start: Int, decay: Double, amplitude: Float, noise: inout NoiseSource) {
        let sr = Double(sampleRate)
        let length = Int(decay * 5 * sr)
        var env = amplitude
        let factor = Float(exp(-1 / (decay * sr)))
        var previous: Float = 0
        for i in span(start, length) {
            let x = noise.next()
            out[i] += env * 0.5 * (x - previous)
            previous = x
            env *= factor
        }
    }
}

/// White noise in [−1, 1) from xorshift64* (a local state, so noise costs no array access).
struct NoiseSource {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x2545_F491_4F6C_DD1D : seed }
    mutating func next() -> Float {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        let x = state &* 0x2545_F491_4F6C_DD1D
        return Float(x >> 40) * 0x1p-23 - 1
    }
}
