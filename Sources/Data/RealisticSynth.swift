import Foundation
import Support

/// The realistic built-in dataset: songs composed from the seed (`SongPlan`, `Composer`) and played
/// with real sampled instruments through libfluidsynth and a General MIDI SoundFont, each stem alone.
/// Layout, 16-bit integer stems and the exact-sum mixture are those of `DemoSynth`.
public enum RealisticSynth {
    public static let defaultSoundFont = FluidRenderer.defaultSoundFont

    /// `"007 - Channel Ten - Velvet Rivers"`: other artists than the synthetic set's, so `DemoSynth.write`
    /// refuses to mix the two kinds in one folder.
    public static func songName(index: Int, seed: UInt64) -> String {
        DemoSynth.songName(index: index, seed: seed, artists: [
            "Channel Ten", "The General MIDIs", "Fluid & Sons", "SoundFont Society", "Velocity Layer",
            "Pitch Bend Collective", "Café Reverb", "Señora Sustain", "Øresund Chorus", "Program Change"])
    }

    /// Writes the dataset under `root` in the DSD100 layout (see `DemoSynth.write`).
    @discardableResult
    public static func write(to root: URL, settings: SynthSettings, soundFont: String = defaultSoundFont,
                             progress: Bool) throws -> [Song] {
        try FluidRenderer.prepare(soundFont: soundFont)      // a missing SoundFont fails before any file is written
        return try DemoSynth.write(to: root, settings: settings, progress: progress,
                                   name: { songName(index: $0, seed: settings.seed) },
                                   render: { try render(index: $0, settings: settings, soundFont: soundFont) })
    }

    /// The plan and the four parts (bass, drums, other, vocals) of song `index`.
    static func compose(index: Int, settings: SynthSettings) -> (plan: SongPlan, parts: [[MIDIEvent]]) {
        var rng = DemoSynth.generator(index: index, seed: settings.seed, stream: 3)
        let plan = SongPlan(rng: &rng, seconds: settings.seconds, sampleRate: settings.sampleRate)
        return (plan, Composer.compose(plan, rng: &rng))
    }

    /// Loudness of each stem relative to the others, in dB (a range the seed picks from).
    static let levels: [(Double, Double)] = [(-4, 0), (-3, 1), (-6, -1), (-2, 2)]

    /// Renders song `index` (0-based over Dev then Test): depends only on the index, the settings
    /// and the SoundFont.
    public static func render(index: Int, settings: SynthSettings, soundFont: String = defaultSoundFont) throws -> SynthSong {
        let (_, parts) = compose(index: index, settings: settings)
        var rng = DemoSynth.generator(index: index, seed: settings.seed, stream: 4)
        let frames = max(1, Int((settings.seconds * Double(settings.sampleRate)).rounded()))
        var stereo: [[[Float]]] = []
        for (s, part) in parts.enumerated() {
            var audio = try FluidRenderer.render(part, frames: frames, sampleRate: settings.sampleRate, soundFont: soundFont)
            for c in audio.indices { removeDC(&audio[c], sampleRate: settings.sampleRate) }
            let (lo, hi) = levels[s]
            let gain = Float(pow(10, (lo + (hi - lo) * rng.nextDouble()) / 20) / max(playingRMS(audio), 1e-9))
            stereo.append(audio.map { c in c.map { $0 * gain } })
        }
        return SynthSong(name: songName(index: index, seed: settings.seed), sampleRate: settings.sampleRate,
                         sources: DemoSynth.integerSources(stereo))
    }

    /// A one-pole high-pass at 10 Hz: some SoundFont presets (FluidR3's Warm Pad) carry a DC offset
    /// large enough to dominate a stem's spectrum (measured: mean 0.022 at an RMS of 0.03).
    static func removeDC(_ x: inout [Float], sampleRate: Int) {
        let r = 1 - 2 * Double.pi * 10 / Double(sampleRate)
        var previousIn = 0.0, previousOut = 0.0
        x.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count {
                let input = Double(p[i])
                previousOut = input - previousIn + r * previousOut
                previousIn = input
                p[i] = Float(previousOut)
            }
        }
    }

    /// RMS over the tenth-of-a-second blocks where the stem plays (within 50 dB of its loudest block),
    /// so a stem that rests half the song is not turned up for it.
    static func playingRMS(_ channels: [[Float]]) -> Double {
        let n = channels[0].count, block = 4410
        var energies: [Double] = []
        for start in stride(from: 0, to: n, by: block) {
            var sum = 0.0
            for c in channels {
                c.withUnsafeBufferPointer { p in
                    for i in start..<min(n, start + block) { sum += Double(p[i]) * Double(p[i]) }
                }
            }
            energies.append(sum / Double(min(block, n - start) * channels.count))
        }
        let floor = (energies.max() ?? 0) * 1e-5
        let playing = energies.filter { $0 > floor }
        return playing.isEmpty ? 0 : (playing.reduce(0, +) / Double(playing.count)).squareRoot()
    }
}
