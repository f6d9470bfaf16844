import Foundation
import Testing
import TestHelpers
import Configuration

/// Bad values given to the `cnnsep` command line or in a config: one line naming the value, exit 1,
/// never a crash. Each runs the built executable in a child process.
@Suite struct BadInputTests {
    @Test func anOddSTFTWindowInTheConfigIsAnErrorNotACrash() throws {
        let (folder, base) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = base
        c.features.windowLength = 17          // odd: 9 bins, as the reduced model expects
        let file = folder.appendingPathComponent("odd.json")
        try Data(c.json().utf8).write(to: file)
        let result = try runCNNSep(["train", "--config", file.path, "--run-dir", folder.appendingPathComponent("run").path], in: folder)
        #expect(!result.crashed && result.status == 1, "\(result)")
        #expect(result.errorLines.count == 1 && result.standardError.contains("audio.window_length"), "\(result)")
    }
}

extension BadInputTests {
    /// Every model key is in range, but together they make 10^14 parameters: refused before
    /// allocating (it aborted, exit 134).
    @Test func aModelTooLargeToAllocateIsRefusedByTheConfig() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("huge.json")
        try Data(#"{"audio": {"window_length": 65536}, "model": {"frames": 10000, "t1": 10000, "f1": 32769, "n1": 100000, "t2": 1, "f2": 1}, "schedule": {"window_hop": 25}}"#.utf8).write(to: file)
        let result = try runCNNSep(["info", "--config", file.path], in: folder)
        #expect(!result.crashed && result.status == 1, "\(result)")
        #expect(result.errorLines.count == 1 && result.standardError.contains("parameters"), "\(result)")
    }
}

extension BadInputTests {
    /// `mpi-check`'s buffer and repetition counts: a count of 10^11 Floats aborted allocating 400 GB,
    /// one past Int32 trapped in the saxpy baseline's count, and 10^12 repetitions never ended.
    @Test(arguments: [["--count", "100000000000"], ["--count", "2147483648"], ["--repetitions", "1000000000000"]])
    func mpiCheckCountsBeyondTheirRangeAreRefusedNamingTheOption(options: [String]) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try runCNNSep(["mpi-check"] + options, in: folder)
        #expect(!result.crashed && result.status != 0, "\(result)")
        #expect(result.errorLines.first?.contains(options[0]) == true, "\(result)")
    }
}
