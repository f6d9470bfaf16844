import Foundation
import Testing
@testable import Audio
import Support

@Suite struct StemScoringTests {
    /// Writes four stems (bass, drums, other, vocals) into `folder`, in a scrambled creation order.
    func writeStems(_ stems: [[Float]], to folder: URL, rate: Int = 8_000) throws {
        for j in [2, 0, 3, 1] {
            try AudioFile.write(AudioBuffer(sampleRate: rate, channels: [stems[j], stems[j]]),
                                to: folder.appendingPathComponent("\(Stem.names[j]).wav"), format: .float)
        }
    }

    @Test func stemsArePairedByNameAndScoredOnMonoDownmixes() throws {
        let root = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let refs: [[Float]] = (0..<4).map { j in noise(12_000, seed: UInt64(30 + j)) }
        var ests: [[Float]] = []
        for j in 0..<4 {
            let other = refs[(j + 1) % 4]
            ests.append((0..<12_000).map { n in refs[j][n] + 0.1 * other[n] })
        }
        let refFolder = root.appendingPathComponent("ref"), estFolder = root.appendingPathComponent("est")
        try writeStems(refs, to: refFolder)
        try writeStems(ests, to: estFolder)
        let scores = try StemScores(references: refFolder, estimates: estFolder, framewise: 0.5)
        let direct = try Metrics.bssEval(references: refs, estimates: ests)
        for j in 0..<4 { #expect(abs(scores.whole.sdr[j] - direct.sdr[j]) < 1e-9) }
        #expect(scores.framewise?.windows.count == 3)
        #expect(scores.table().split(separator: "\n").count == 5)
        #expect(try JSONSerialization.data(withJSONObject: scores.json()).count > 100)
    }

    @Test func mismatchedOrMissingStemsAreOneLineErrorsNamingTheFile() throws {
        let root = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let refs: [[Float]] = (0..<4).map { j in noise(2_000, seed: UInt64(40 + j)) }
        let refFolder = root.appendingPathComponent("ref"), estFolder = root.appendingPathComponent("est")
        try writeStems(refs, to: refFolder)
        try writeStems(refs, to: estFolder)
        let vocals = estFolder.appendingPathComponent("vocals.wav")

        try AudioFile.write(AudioBuffer(sampleRate: 8_000, mono: Array(refs[3].dropLast())), to: vocals)
        let short = #expect(throws: CNNSepError.self) { _ = try StemScores(references: refFolder, estimates: estFolder) }
        #expect(short?.message.hasPrefix("\(vocals.path): 1999 samples, but ") == true)

        try AudioFile.write(AudioBuffer(sampleRate: 16_000, mono: refs[3]), to: vocals)
        let rate = #expect(throws: CNNSepError.self) { _ = try StemScores(references: refFolder, estimates: estFolder) }
        #expect(rate?.message.hasPrefix("\(vocals.path): 16000 Hz, but ") == true)

        try AudioFile.write(AudioBuffer(sampleRate: 8_000, mono: [Float](repeating: 0, count: 2_000)), to: vocals, format: .float)
        #expect(throws: CNNSepError("\(vocals.path): silent (all zeros); SDR/SIR/SAR are undefined for it")) {
            _ = try StemScores(references: refFolder, estimates: estFolder)
        }

        try FileManager.default.removeItem(at: vocals)
        #expect(throws: CNNSepError("\(vocals.path): no such file")) {
            _ = try StemScores(references: refFolder, estimates: estFolder)
        }
        let nowhere = root.appendingPathComponent("nowhere")
        #expect(throws: CNNSepError("\(nowhere.path): no such folder")) {
            _ = try StemScores(references: refFolder, estimates: nowhere)
        }
    }
}

/// Stems too short for BSS Eval's projection, and framewise windows too short: one line naming the
/// file or the option, at once. The 512-tap projection onto 4 references has 2048 unknowns, so a
/// stem under 1537 samples leaves it underdetermined: scoring fell back to a least-squares solve of a
/// 2048 × 2048 system per stem, taking minutes (a 1-sample song: 160 s) for figures that mean nothing.
extension StemScoringTests {
    @Test func stemsShorterThanTheProjectionNeedsAreRefusedNamingTheFile() throws {
        let root = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(Metrics.minimumLength(sources: 4) == 1537)
        let refFolder = root.appendingPathComponent("ref"), estFolder = root.appendingPathComponent("est")
        try writeStems((0..<4).map { j in noise(1536, seed: UInt64(50 + j)) }, to: refFolder)
        try writeStems((0..<4).map { j in noise(1536, seed: UInt64(60 + j)) }, to: estFolder)
        let started = Date()
        let error = #expect(throws: CNNSepError.self) { _ = try StemScores(references: refFolder, estimates: estFolder) }
        #expect(error?.message.hasPrefix(refFolder.appendingPathComponent("bass.wav").path + ": 1536 samples") == true, "\(String(describing: error))")
        #expect(error?.message.contains("1537") == true)
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test func framewiseWindowsShorterThanTheProjectionNeedsAreRefused() throws {
        let root = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let refFolder = root.appendingPathComponent("ref"), estFolder = root.appendingPathComponent("est")
        try writeStems((0..<4).map { j in noise(3074, seed: UInt64(70 + j)) }, to: refFolder)
        try writeStems((0..<4).map { j in noise(3074, seed: UInt64(80 + j)) }, to: estFolder)
        let started = Date()
        let error = #expect(throws: CNNSepError.self) { _ = try StemScores(references: refFolder, estimates: estFolder, framewise: 0.1) }
        #expect(error?.message.hasPrefix("--framewise 0.1: windows of 800 samples at 8000 Hz") == true, "\(String(describing: error))")
        #expect(Date().timeIntervalSince(started) < 5)
        // Windows of exactly the minimum are scored.
        let scores = try StemScores(references: refFolder, estimates: estFolder, framewise: 1537.0 / 8000)
        #expect(scores.framewise?.windows.count == 2)
    }

    /// A source whose every window is silent has a NaN framewise median: its row stays aligned
    /// (the "%8@" format did not pad on Linux).
    @Test func aTableWithNonFiniteFiguresStaysAligned() throws {
        let root = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        var refs: [[Float]] = (0..<4).map { j in noise(12_100, seed: UInt64(90 + j)) }
        refs[0] = [Float](repeating: 0, count: 12_000) + noise(100, seed: 99)    // sounds only after the last window
        let refFolder = root.appendingPathComponent("ref"), estFolder = root.appendingPathComponent("est")
        try writeStems(refs, to: refFolder)
        try writeStems(refs.map { $0.map { $0 * 0.9 } }, to: estFolder)
        let lines = try StemScores(references: refFolder, estimates: estFolder, framewise: 0.5).table().split(separator: "\n")
        #expect(lines[1].contains("nan"), "\(lines)")
        #expect(Set(lines.map(\.count)).count == 1, "\(lines)")
    }
}
