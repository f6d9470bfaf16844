import Audio
import Foundation
import Testing
import Support
@testable import Data

@Suite("Data: realistic synthesis (fluidsynth)")
struct DataRealisticSynthTests {
    static func settings(dev: Int = 2, test: Int = 1, seconds: Double = 3, seed: UInt64 = 7) -> SynthSettings {
        var s = SynthSettings()
        s.devSongs = dev
        s.testSongs = test
        s.seconds = seconds
        s.seed = seed
        return s
    }

    /// Every file of a dataset folder, by path relative to the root, with its bytes.
    static func contents(_ root: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
        for case let url as URL in walker where url.pathExtension == "wav" {
            files[String(url.path.dropFirst(root.path.count))] = try Data(contentsOf: url)
        }
        return files
    }

    @Test("the same seed writes byte-identical files, a song does not depend on its neighbours, another seed differs")
    func deterministic() throws {
        let a = try DataFixtures.folder("real-a"), b = try DataFixtures.folder("real-b"), c = try DataFixtures.folder("real-c")
        defer { for f in [a, b, c] { try? FileManager.default.removeItem(at: f) } }
        try RealisticSynth.write(to: a, settings: Self.settings(), progress: false)
        try RealisticSynth.write(to: b, settings: Self.settings(dev: 3), progress: false)
        try RealisticSynth.write(to: c, settings: Self.settings(seed: 8), progress: false)
        let first = try Self.contents(a), second = try Self.contents(b), other = try Self.contents(c)
        #expect(first.count == 15)
        // Dev songs 1–2 are the same songs in both runs (Test song 3 of `a` is Dev song 3 of `b`).
        let shared = first.keys.filter { $0.contains("/Dev/") }
        #expect(shared.count == 10)
        for key in shared { #expect(first[key] == second[key], "\(key) differs between two runs with the same seed") }
        #expect(Set(other.keys).isDisjoint(with: first.keys), "another seed gives other song names")
        #expect(Set(first.values).isDisjoint(with: other.values), "another seed gives other audio")
    }

    @Test("written songs: 16-bit stereo 44.1 kHz, the mixture is exactly the integer sum of the four stems, no clipping")
    func mixtureIsSum() throws {
        let root = try DataFixtures.folder("real-sum")
        defer { try? FileManager.default.removeItem(at: root) }
        let songs = try RealisticSynth.write(to: root, settings: Self.settings(dev: 1, test: 1), progress: false)
        #expect(try Dataset.open(root).layout == .dsd100)
        #expect(try Dataset.open(root).songs(split: "Test").map(\.name) == [songs[1].name])
        for song in songs {
            let mixture = try AudioFile.read(song.mixture)
            let stems = try song.sources.map { try AudioFile.read($0) }
            for file in [mixture] + stems {
                #expect(file.sampleRate == 44100 && file.channelCount == 2 && file.frameCount == 3 * 44100)
            }
            var worst: Float = 0, fractional: Float = 0, peak: Float = 0
            for c in 0..<2 {
                for i in 0..<mixture.frameCount {
                    var sum: Float = 0
                    for s in stems {
                        let k = s.channels[c][i] * 32768
                        fractional = max(fractional, abs(k - k.rounded()))
                        sum += k
                    }
                    worst = max(worst, abs(sum - mixture.channels[c][i] * 32768))
                    peak = max(peak, abs(mixture.channels[c][i]))
                }
            }
            #expect(fractional == 0, "stems hold 16-bit integers")
            #expect(worst == 0, "\(song.name): mixture differs from the sum of its stems by \(worst) LSB")
            #expect(peak > 0.4 && peak < 0.5, "mixture peak \(peak)")
            #expect(stems.contains { $0.channels[0] != $0.channels[1] }, "\(song.name): no stem is stereo")
        }
    }

    /// RMS of samples `range` of a stem, both channels, in 16-bit steps.
    static func rms(_ stem: [[Float]], _ range: Range<Int>) -> Double {
        var sum = 0.0
        for c in stem { for i in range { sum += Double(c[i]) * Double(c[i]) } }
        return (sum / Double(2 * max(1, range.count))).squareRoot()
    }

    @Test("every stem is audible, stems rest where the arrangement says, and some songs have such rests")
    func audibleAndSparse() throws {
        let settings = Self.settings(seconds: 12, seed: 1)
        var silentBars = 0
        for index in 0..<4 {
            let song = try RealisticSynth.render(index: index, settings: settings)
            let plan = RealisticSynth.compose(index: index, settings: settings).plan
            let frames = song.sources[0][0].count
            for s in 0..<4 {
                let whole = Self.rms(song.sources[s], 0..<frames)
                #expect(whole > 100, "song \(index): \(Stem.names[s]) RMS \(whole) steps (−50 dBFS is 104)")
                // A bar after a resting bar is silent but for a faint tail (release, reverb); its last
                // 60 ms are left out: the next bar's first note may come early (humanised timing).
                for bar in 1..<plan.bars where !plan.active[s][bar] && !plan.active[s][bar - 1] {
                    let end = min(frames, plan.timeline.sample(Double(4 * bar + 4)) - 60 * 441 / 10)
                    let range = plan.timeline.sample(Double(4 * bar))..<max(end, plan.timeline.sample(Double(4 * bar)))
                    guard !range.isEmpty else { continue }
                    let rest = Self.rms(song.sources[s], range)
                    #expect(rest < whole * 0.01, "song \(index) bar \(bar): \(Stem.names[s]) should rest, RMS \(rest) of \(whole)")
                    silentBars += 1
                }
            }
        }
        #expect(silentBars >= 3, "only \(silentBars) resting bars in 4 songs")
    }

    @Test("the stems sound like their roles: bass lowest, drums with the most energy above 5 kHz")
    func spectra() throws {
        let song = try RealisticSynth.render(index: 0, settings: Self.settings(seconds: 8, seed: 3))
        let stft = STFT()
        var centroid: [Double] = [], high: [Double] = []
        for s in 0..<4 {
            let mono = zip(song.sources[s][0], song.sources[s][1]).map { ($0 + $1) / 2 }
            var total = 0.0, weighted = 0.0, above = 0.0
            for (i, m) in stft.analyze(mono).magnitude().enumerated() {
                let hz = Double(i % 513) * 44100 / 1024, e = Double(m) * Double(m)
                total += e; weighted += e * hz
                if hz > 5000 { above += e }
            }
            centroid.append(weighted / total)
            high.append(above / total)
        }
        #expect(centroid[0] < 400 && centroid[0] < centroid[2] && centroid[0] < centroid[3], "centroids \(centroid)")
        #expect(high[1] > high[0] && high[1] > high[2] && high[1] > high[3], "shares above 5 kHz \(high)")
    }

    @Test("a missing SoundFont is a one-line error naming the path and the package; nothing is written")
    func missingSoundFont() throws {
        let root = try DataFixtures.folder("real-missing")
        defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent("nowhere/FluidR3_GM.sf2").path
        #expect {
            try RealisticSynth.write(to: root, settings: Self.settings(), soundFont: path, progress: false)
        } throws: { error in
            let message = (error as? CNNSepError)?.message ?? ""
            return message.contains(path) && message.contains("fluid-soundfont-gm") && !message.contains("\n")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).isEmpty)
        // A file that is not a SoundFont.
        let bogus = root.appendingPathComponent("bogus.sf2")
        try Data("not a soundfont".utf8).write(to: bogus)
        #expect(throws: CNNSepError("\(bogus.path): not a SoundFont 2 file (no RIFF sfbk header)")) {
            try RealisticSynth.write(to: root, settings: Self.settings(), soundFont: bogus.path, progress: false)
        }
    }

    @Test("close voicings: each chord tone at the key nearest the centre, checked against a search over all keys")
    func nearestKeys() {
        for pc in 0..<12 {
            for target in 30..<90 {
                let best = (0..<128).filter { $0 % 12 == pc }.min { abs($0 - target) < abs($1 - target) }!
                #expect(nearest(pc, to: target) == best, "pitch class \(pc) near \(target)")
            }
        }
        #expect(voicing([0, 4, 7], center: 64) == [60, 64, 67])
        #expect(voicing([7, 11, 2], center: 64) == [59, 62, 67])
    }
}
