import Audio
import Foundation
import Support

// The synthetic tones of `cnnsep synth` (without --realistic): keys, wavetables and the four stems' voices.

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
}
