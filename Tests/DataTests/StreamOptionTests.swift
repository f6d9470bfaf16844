import Foundation
import Testing
import TestHelpers
import Data

/// `cnnsep dataset stream` takes the schedule's sizes on its command line: they are checked as the
/// config checks them (each at least 1, a block hop within the block, a window hop within the
/// window), naming the option. Each of these reached a precondition before (a crash), so they run
/// in a child process.
@Suite struct StreamOptionTests {
    @Test func badScheduleSizesAreRefusedNamingTheOption() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var synth = SynthSettings()
        synth.devSongs = 2; synth.testSongs = 0; synth.seconds = 0.5; synth.seed = 6
        _ = try DemoSynth.write(to: folder.appendingPathComponent("demo"), settings: synth, progress: false)
        let base = ["dataset", "stream", folder.appendingPathComponent("demo").path, "--cache", folder.appendingPathComponent("cache").path]
        let cases: [([String], String)] = [
            (["--block-size", "0"], "--block-size"), (["--block-hop", "0"], "--block-hop"),
            (["--frames", "0"], "--frames"), (["--window-hop", "0"], "--window-hop"),
            (["--batch-size", "0"], "--batch-size"), (["--epochs", "0"], "--epochs"),
            (["--block-size", "2", "--block-hop", "3"], "--block-hop"), (["--frames", "5", "--window-hop", "6"], "--window-hop"),
        ]
        for (options, named) in cases {
            let result = try runCNNSep(base + options, in: folder)
            #expect(!result.crashed && result.status != 0, "\(options): \(result)")
            #expect(result.errorLines.first?.contains(named) == true, "\(options): \(result)")
        }
        let good = try runCNNSep(base + ["--block-size", "2", "--block-hop", "1", "--frames", "5", "--window-hop", "5", "--batch-size", "4"], in: folder)
        #expect(!good.crashed && good.status == 0, "\(good)")
    }
}
