import Audio
import Foundation
import Testing
import TestHelpers
import Support
@testable import Data
import Audio

@Suite("Data: demo synthesis")
struct DataSynthTests {
    @Test("demo songs written to disk: the mixture is exactly the sum of the sources, nothing clips")
    func mixtureIsSumOfSources() throws {
        let root = try DataFixtures.folder("synth")
        defer { try? FileManager.default.removeItem(at: root) }
        var settings = SynthSettings()
        settings.devSongs = 2
        settings.testSongs = 1
        settings.seconds = 1.5
        settings.seed = 5
        let songs = try DemoSynth.write(to: root, settings: settings, progress: false)
        let dataset = try Dataset.open(root)
        #expect(dataset.layout == .dsd100)
        #expect(try dataset.songs(split: "Dev").map(\.name) == songs.prefix(2).map(\.name))
        #expect(try dataset.songs(split: "Test").map(\.name) == [songs[2].name])
        for song in songs {
            let mixture = try AudioFile.read(song.mixture)
            #expect(mixture.sampleRate == 44100 && mixture.channelCount == 2)
            #expect(mixture.frameCount == 66150)
            let sources = try song.sources.map { try AudioFile.read($0) }
            var worst: Float = 0
            for c in 0..<2 {
                for i in 0..<mixture.frameCount {
                    var sum: Float = 0
                    for s in sources { sum += s.channels[c][i] }
                    worst = max(worst, abs(sum - mixture.channels[c][i]))
                }
            }
            #expect(worst == 0, "\(song.name): mixture differs from the sum of its sources by \(worst)")
            #expect(mixture.peak < 0.5 && mixture.peak > 0.4)
            // Every source is present (not silent).
            for (s, source) in sources.enumerated() { #expect(source.peak > 0.01, "\(song.name): \(Stem.names[s]) is silent") }
        }
    }

    @Test("synthesis is deterministic per seed, and the seed changes the songs")
    func deterministic() {
        var settings = SynthSettings()
        settings.seconds = 0.5
        let a = DemoSynth.render(index: 3, settings: settings)
        let b = DemoSynth.render(index: 3, settings: settings)
        #expect(a.name == b.name && a.sources == b.sources)
        settings.seed = 2
        let c = DemoSynth.render(index: 3, settings: settings)
        #expect(c.sources != a.sources)
        #expect(DemoSynth.songName(index: 3, seed: 1).hasPrefix("004 - "))
    }

    @Test("the four sources occupy different registers: bass low, drums with the most high-frequency energy")
    func separableSpectra() {
        var settings = SynthSettings()
        settings.seconds = 2
        let song = DemoSynth.render(index: 0, settings: settings)
        let stft = STFT()
        var centroid: [Double] = [], high: [Double] = []
        for s in 0..<4 {
            let mono = (0..<song.sources[s][0].count).map { (song.sources[s][0][$0] + song.sources[s][1][$0]) / 2 }
            let magnitude = stft.analyze(mono).magnitude()
            var total = 0.0, weighted = 0.0, above = 0.0
            for (i, m) in magnitude.enumerated() {
                let hz = Double(i % 513) * 44100 / 1024
                let e = Double(m) * Double(m)
                total += e; weighted += e * hz
                if hz > 5000 { above += e }
            }
            centroid.append(weighted / total)
            high.append(above / total)
        }
        #expect(centroid[0] < 300, "bass centroid \(centroid[0]) Hz")
        #expect(centroid[0] < centroid[2] && centroid[0] < centroid[3])
        #expect(high[1] > high[0] && high[1] > high[2] && high[1] > high[3], "high-frequency shares \(high) centroids \(centroid)")
    }
}
