import Foundation
import Support

// The drum stem of the synthetic tones (`cnnsep synth` without --realistic): kick, snare and hat
// voices and the noise they use, on the same Renderer as the pitched stems (ToneSynth.swift).

extension Renderer {
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
