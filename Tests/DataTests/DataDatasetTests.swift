import Foundation
import Testing
import TestHelpers
import Support
@testable import Data
import Audio

/// Temporary dataset folders for the data tests.
enum DataFixtures {
    /// A fresh empty folder under the system's temporary folder.
    static func folder(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("cnnsep-data-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Awkward song names, in a scrambled order; sorted by UTF-8 bytes they are `sortedNames`.
    static let names = ["Zed's Band & Co - Ça va", "051 - AM Contra - Heart Peripheral", "Été - Ünïcode Sœurs", "abc - lower case", "001 - A & B's - Tune"]
    static let sortedNames = ["001 - A & B's - Tune", "051 - AM Contra - Heart Peripheral", "Zed's Band & Co - Ça va", "abc - lower case", "Été - Ünïcode Sœurs"]

    /// Where a song's five files go in a layout (mixture first, then sources in `Stem.names` order).
    static func files(root: URL, layout: DatasetLayout, split: String, song: String) -> [URL] {
        switch layout {
        case .dsd100:
            let m = root.appendingPathComponent("Mixtures/\(split)").appendingPathComponent(song)
            let s = root.appendingPathComponent("Sources/\(split)").appendingPathComponent(song)
            return [m.appendingPathComponent("mixture.wav")] + Stem.names.map { s.appendingPathComponent("\($0).wav") }
        case .musdb18hq:
            let f = root.appendingPathComponent(split).appendingPathComponent(song)
            return (["mixture"] + Stem.names).map { f.appendingPathComponent("\($0).wav") }
        }
    }

    /// Empty placeholder files for the given songs (discovery only looks at names).
    static func emptyDataset(layout: DatasetLayout, splits: [String: [String]]) throws -> URL {
        let root = try folder("empty")
        for (split, songs) in splits {
            for song in songs {
                for file in files(root: root, layout: layout, split: split, song: song) {
                    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                    FileManager.default.createFile(atPath: file.path, contents: Data())
                }
            }
        }
        return root
    }
}

@Suite("Data: dataset discovery")
struct DataDatasetTests {
    @Test("DSD100 layout: detected, songs sorted by UTF-8 bytes, either split spelling")
    func dsd100Discovery() throws {
        let root = try DataFixtures.emptyDataset(layout: .dsd100, splits: ["Dev": DataFixtures.names, "Test": ["x - Test Song"]])
        defer { try? FileManager.default.removeItem(at: root) }
        let dataset = try Dataset.open(root)
        #expect(dataset.layout == .dsd100)
        let songs = try dataset.songs(split: "Dev")
        #expect(songs.map(\.name) == DataFixtures.sortedNames)
        #expect(try dataset.songs(split: "train").map(\.name) == DataFixtures.sortedNames)
        #expect(try dataset.songs(split: "test").map(\.name) == ["x - Test Song"])
        let first = songs[0]
        #expect(first.split == "Dev")
        #expect(first.mixture.path.hasSuffix("Mixtures/Dev/001 - A & B's - Tune/mixture.wav"))
        #expect(first.sources.map(\.lastPathComponent) == ["bass.wav", "drums.wav", "other.wav", "vocals.wav"])
        #expect(first.sources[3].path.hasSuffix("Sources/Dev/001 - A & B's - Tune/vocals.wav"))
        #expect(first.files.allSatisfy { FileManager.default.fileExists(atPath: $0.path) })
    }

    @Test("MUSDB18-HQ layout: detected, sorted, hidden folders ignored")
    func musdbDiscovery() throws {
        let root = try DataFixtures.emptyDataset(layout: .musdb18hq, splits: ["train": DataFixtures.names, "test": ["t"]])
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("train/.cache"), withIntermediateDirectories: true)
        let dataset = try Dataset.open(root)
        #expect(dataset.layout == .musdb18hq)
        #expect(try dataset.songs(split: "Dev").map(\.name) == DataFixtures.sortedNames)
        let song = try dataset.songs(split: "test")[0]
        #expect(song.split == "test")
        #expect(song.files.map(\.lastPathComponent) == ["mixture.wav", "bass.wav", "drums.wav", "other.wav", "vocals.wav"])
    }

    @Test("missing root, wrong layout, empty split, unknown split and missing stems are errors that name the place")
    func badDatasets() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/cnnsep-no-such-root")
        #expect(throws: CNNSepError.self) { try Dataset.open(missing) }
        do { _ = try Dataset.open(missing) } catch let e as CNNSepError { #expect(e.message.contains("/nonexistent/cnnsep-no-such-root")) }

        let plain = try DataFixtures.folder("plain")
        defer { try? FileManager.default.removeItem(at: plain) }
        do { _ = try Dataset.open(plain); Issue.record("expected an error") } catch let e as CNNSepError {
            #expect(e.message.contains(plain.path) && e.message.contains("Mixtures"))
        }

        let root = try DataFixtures.emptyDataset(layout: .dsd100, splits: ["Dev": ["Ann's Song & Co", "B"]])
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Mixtures/Test"), withIntermediateDirectories: true)
        let dataset = try Dataset.open(root)
        do { _ = try dataset.songs(split: "Test"); Issue.record("expected an error") } catch let e as CNNSepError {
            #expect(e.message.contains("Mixtures/Test") && e.message.contains("no songs"))
        }
        #expect(throws: CNNSepError.self) { try dataset.songs(split: "validation") }

        try FileManager.default.removeItem(at: root.appendingPathComponent("Sources/Dev/Ann's Song & Co/drums.wav"))
        do { _ = try dataset.songs(split: "Dev"); Issue.record("expected an error") } catch let e as CNNSepError {
            #expect(e.message.hasPrefix("Ann's Song & Co: "))
            #expect(e.message.contains("Sources/Dev/Ann's Song & Co/drums.wav"))
        }
        let scan = try dataset.scan(split: "Dev")
        #expect(scan.songs.map(\.name) == ["B"])
        #expect(scan.problems.count == 1)
    }
}
