import Foundation
import Testing
import TestHelpers
import Data

/// `cnnsep dataset stream` takes the schedule's sizes on its command line: they are checked as the
/// config checks them (each from 1 to the config's limit, a block hop within the block, a window
/// hop within the window), naming the option. Each of these reached a precondition or an
/// allocation the machine could not hold before (a crash), so they run in a child process.
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
            (["--frames", "10001"], "--frames"), (["--batch-size", "1000001"], "--batch-size"), (["--epochs", "1000001"], "--epochs"),
            (["--block-size", "1000001"], "--block-size"),
        ]
        for (options, named) in cases {
            let result = try runCNNSep(base + options, in: folder)
            #expect(!result.crashed && result.status != 0, "\(options): \(result)")
            #expect(result.errorLines.first?.contains(named) == true, "\(options): \(result)")
        }
        let good = try runCNNSep(base + ["--block-size", "2", "--block-hop", "1", "--frames", "5", "--window-hop", "5", "--batch-size", "4"], in: folder)
        #expect(!good.crashed && good.status == 0, "\(good)")
        // Batches as large as the data makes them: a million windows of 25 or of 10000 frames were
        // allocated as asked (51 GB and 20 TB) and aborted.
        for sizes in [["--batch-size", "1000000"], ["--frames", "10000", "--window-hop", "10000", "--batch-size", "1000000"]] {
            let large = try runCNNSep(base + sizes, in: folder)
            #expect(!large.crashed && large.status == 0, "\(sizes): \(large)")
        }
    }
}
