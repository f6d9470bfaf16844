import Audio
import Foundation
import Testing
import TestHelpers
import Support
@testable import Data
import Audio

extension DataFixtures {
    /// Writes a small real dataset: each song's stereo sources are sines and noise of `seconds`,
    /// the mixture their sum, as float WAV. Returns the root.
    static func audioDataset(layout: DatasetLayout, songs: [String], seconds: Double = 1,
                             sampleRate: Int = 44100, split: String? = nil) throws -> URL {
        let root = try folder("audio")
        let split = split ?? layout.splitFolders.train
        var rng = SeededGenerator(seed: 99)
        let n = Int(seconds * Double(sampleRate))
        for song in songs {
            let files = DataFixtures.files(root: root, layout: layout, split: split, song: song)
            var sum = [[Float]](repeating: [Float](repeating: 0, count: n), count: 2)
            var stems: [AudioBuffer] = []
            for s in 0..<4 {
                let f = 80 * Double(s + 1) + 200 * rng.nextDouble()
                let channels: [[Float]] = (0..<2).map { c in
                    (0..<n).map { i in
                        Float(0.1 * sin(2 * Double.pi * f * Double(i) / Double(sampleRate) + Double(c)))
                            + 0.02 * (rng.nextFloat() - 0.5)
                    }
                }
                for c in 0..<2 { for i in 0..<n { sum[c][i] += channels[c][i] } }
                stems.append(AudioBuffer(sampleRate: sampleRate, channels: channels))
            }
            try AudioFile.write(AudioBuffer(sampleRate: sampleRate, channels: sum), to: files[0], format: .float)
            for s in 0..<4 { try AudioFile.write(stems[s], to: files[s + 1], format: .float) }
        }
        return root
    }
}

@Suite("Data: feature cache")
struct DataCacheTests {
    @Test("cached magnitudes equal |STFT| of the mono downmix computed directly")
    func cachedEqualsDirect() throws {
        let root = try DataFixtures.audioDataset(layout: .musdb18hq, songs: ["Ça & l'autre"], seconds: 1)
        defer { try? FileManager.default.removeItem(at: root) }
        let dataset = try Dataset.open(root)
        let song = try dataset.songs(split: "train")[0]
        let cache = FeatureCache(folder: FeatureCache.defaultFolder(for: dataset), settings: FeatureSettings())
        let features = try cache.features(song)
        #expect(features.bins == 513)
        #expect(features.frames == (44100 + 255) / 256 + 3)
        for (p, file) in song.files.enumerated() {
            let audio = try AudioFile.read(file)
            let mono = (0..<audio.frameCount).map { (audio.channels[0][$0] + audio.channels[1][$0]) / 2 }
            let direct = STFT(windowLength: 1024, hop: 256).analyze(mono).magnitude()
            let cached = p == 0 ? features.mixture() : features.source(p - 1)
            #expect(Array(cached) == direct)
            // One frame against a naive DFT (periodic Hann, frame t covers samples t·256−768 ..< t·256+256).
            let t = 40
            for k in [0, 17, 200] {
                var re = 0.0, im = 0.0
                for j in 0..<1024 {
                    let n = t * 256 - 768 + j
                    guard n >= 0 && n < mono.count else { continue }
                    let w = 0.5 - 0.5 * cos(2 * Double.pi * Double(j) / 1024)
                    re += w * Double(mono[n]) * cos(2 * Double.pi * Double(j * k) / 1024)
                    im -= w * Double(mono[n]) * sin(2 * Double.pi * Double(j * k) / 1024)
                }
                let magnitude = (re * re + im * im).squareRoot()
                #expect(abs(Double(cached[t * 513 + k]) - magnitude) <= 1e-3 * max(1, magnitude))
            }
        }
    }

    @Test("a song at another rate is resampled to the feature rate first")
    func resampledSong() throws {
        let root = try DataFixtures.audioDataset(layout: .dsd100, songs: ["low rate"], seconds: 1, sampleRate: 22050)
        defer { try? FileManager.default.removeItem(at: root) }
        let song = try Dataset.open(root).songs(split: "Dev")[0]
        let cache = FeatureCache(folder: root.appendingPathComponent("cache"), settings: FeatureSettings())
        let features = try cache.features(song)
        let mono = try AudioFile.read(song.mixture).mono()
        let resampled = try Resampler.resample(mono, from: 22050, to: 44100)
        #expect(features.frames == STFT().frameCount(samples: resampled.count))
        #expect(Array(features.mixture()) == STFT().analyze(resampled).magnitude())
    }

    @Test("unchanged entries are reused; touching a file or changing the settings recomputes")
    func invalidation() throws {
        let root = try DataFixtures.audioDataset(layout: .dsd100, songs: ["A's song", "B & C"], seconds: 0.5)
        defer { try? FileManager.default.removeItem(at: root) }
        let songs = try Dataset.open(root).songs(split: "Dev")
        let folder = root.appendingPathComponent(".cnnsep-cache")
        let cache = FeatureCache(folder: folder, settings: FeatureSettings())
        try cache.prepare(songs, progress: false)
        #expect(cache.buildCount == 2)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("Dev/A's song.features").path))
        let first = try cache.features(songs[0])
        try cache.prepare(songs, progress: false)
        #expect(cache.buildCount == 2)

        // A new cache object on the same folder reuses the entries too.
        let reopened = FeatureCache(folder: folder, settings: FeatureSettings())
        let again = try reopened.features(songs[0])   // hold the value: its buffers live as long as it does
        #expect(Array(again.mixture()) == Array(first.mixture()))
        #expect(reopened.buildCount == 0)

        // Touch one source of song 1: only song 1 is recomputed.
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: songs[1].sources[2].path)
        #expect(cache.isCurrent(songs[0]) && !cache.isCurrent(songs[1]))
        try cache.prepare(songs, progress: false)
        #expect(cache.buildCount == 3)

        // Other STFT settings: recomputed, with other frames.
        let coarse = FeatureCache(folder: folder, settings: FeatureSettings(sampleRate: 44100, windowLength: 1024, hop: 512))
        let features = try coarse.features(songs[0])
        #expect(coarse.buildCount == 1)
        #expect(features.frames == STFT(windowLength: 1024, hop: 512).frameCount(samples: 22050))
        // The earlier mapping stays valid after its file was replaced.
        #expect(first.frames == STFT().frameCount(samples: 22050) && first.mixture()[first.frames * 513 / 2].isFinite)
        // No temporary files left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("Dev").path)
        #expect(leftovers.sorted() == ["A's song.features", "B & C.features"])
    }

    @Test("bad songs give one-line errors naming the song and the file, and nothing is cached for them")
    func badSongs() throws {
        let root = try DataFixtures.audioDataset(layout: .musdb18hq, songs: ["good", "short vocals", "broken bass"], seconds: 0.5)
        defer { try? FileManager.default.removeItem(at: root) }
        let songs = try Dataset.open(root).songs(split: "train")
        let byName = Dictionary(uniqueKeysWithValues: songs.map { ($0.name, $0) })
        let short = byName["short vocals"]!, broken = byName["broken bass"]!
        try AudioFile.write(AudioBuffer(sampleRate: 44100, channels: [[Float](repeating: 0.1, count: 1000)]), to: short.sources[3], format: .float)
        try Data("not audio at all".utf8).write(to: broken.sources[0])
        let folder = root.appendingPathComponent("cache")
        let cache = FeatureCache(folder: folder, settings: FeatureSettings())

        do { _ = try cache.features(short); Issue.record("expected an error") } catch let e as CNNSepError {
            #expect(e.message.hasPrefix("short vocals: ") && e.message.contains("short vocals/vocals.wav"))
            #expect(e.message.contains("1000 samples") && !e.message.contains("\n"))
        }
        do { _ = try cache.features(broken); Issue.record("expected an error") } catch let e as CNNSepError {
            #expect(e.message.hasPrefix("broken bass: ") && e.message.contains("broken bass/bass.wav"))
        }
        do { try cache.prepare(songs, progress: false); Issue.record("expected an error") } catch let e as CNNSepError {
            #expect(e.message.hasPrefix("broken bass: ") && e.message.contains("1 more"))
        }
        #expect(cache.isCurrent(byName["good"]!))
        #expect(!FileManager.default.fileExists(atPath: cache.entry(for: short).path))
        #expect(!FileManager.default.fileExists(atPath: cache.entry(for: broken).path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("train").path) == ["good.features"])
    }
}

@Suite("Data: feature cache errors")
struct DataCacheErrorTests {
    /// A song whose entry cannot be opened for a reason other than "missing or stale" is reported
    /// with that reason (here: the entry's name is longer than a file name may be), naming the song.
    @Test("an entry that cannot be opened says why, naming the song")
    func unreadableEntrySaysWhy() throws {
        let name = String(repeating: "x", count: 250)         // + ".features" > 255 bytes
        let root = try DataFixtures.audioDataset(layout: .musdb18hq, songs: [name], seconds: 0.1)
        defer { try? FileManager.default.removeItem(at: root) }
        let dataset = try Dataset.open(root)
        let song = try dataset.songs(split: "train")[0]
        let cache = FeatureCache(folder: FeatureCache.defaultFolder(for: dataset), settings: FeatureSettings())
        let message = errorMessage { _ = try cache.features(song) }
        #expect(message?.hasPrefix(name) == true && message?.contains("File name too long") == true, "\(message ?? "no error")")
    }
}
