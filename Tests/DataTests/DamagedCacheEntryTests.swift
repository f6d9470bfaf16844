import Foundation
import Testing
import TestHelpers
import Data
import Audio

/// A cache entry whose header was damaged (a flipped bit, a hand edit) is rebuilt like any stale
/// entry. Two damages crashed `dataset cache`, `train` and `eval` alike: a header length of 2^63 or
/// more (its Int conversion trapped), and a frame count whose size 5 × frames × bins × 4 overflowed.
@Suite struct DamagedCacheEntryTests {
    enum Damage: String, CaseIterable { case headerLength, frameCount }

    @Test(arguments: Damage.allCases)
    func aDamagedHeaderIsRebuiltNotACrash(damage: Damage) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var synth = SynthSettings()
        synth.devSongs = 1; synth.testSongs = 0; synth.seconds = 0.2; synth.seed = 8
        let song = try #require(try DemoSynth.write(to: folder.appendingPathComponent("demo"), settings: synth, progress: false).first)
        let cacheFolder = folder.appendingPathComponent("cache")
        let command = ["dataset", "cache", folder.appendingPathComponent("demo").path, "--cache", cacheFolder.path]
        let first = try runCNNSep(command, in: folder)
        #expect(first.status == 0, "\(first)")

        let entry = FeatureCache(folder: cacheFolder, settings: FeatureSettings()).entry(for: song)
        var bytes = [UInt8](try Data(contentsOf: entry))
        let length = Int(bytes[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        switch damage {
        case .headerLength:
            for i in 8..<16 { bytes[i] = 0xFF }
        case .frameCount:
            // Same header with frames = 2^62, its length updated (the data offset stays on its page).
            let header = String(decoding: bytes[16..<(16 + length)], as: UTF8.self)
            let edited = try #require(header.replacingOccurrences(of: #""frames":\d+"#, with: #""frames":4611686018427387904"#,
                                                                  options: .regularExpression).data(using: .utf8))
            #expect(edited.count != length && edited.count < 4000)
            let newLength = withUnsafeBytes(of: UInt64(edited.count).littleEndian) { Array($0) }
            bytes = Array(bytes[0..<8]) + newLength + Array(edited) + Array(bytes[(16 + edited.count)...])
        }
        try Data(bytes).write(to: entry)
        let second = try runCNNSep(command, in: folder)
        #expect(!second.crashed && second.status == 0, "\(second)")
        #expect(second.standardOutput.contains("(1 computed"), "\(second)")
    }
}
