import Foundation
import Testing
import TestHelpers

/// `cnnsep synth` with song counts no dataset needs: refused naming the option, nothing written.
/// A trillion Dev songs aborted (an array of a trillion names), and --dev Int.max with --test 1
/// overflowed their sum in the check itself.
@Suite struct SynthOptionTests {
    @Test(arguments: [["--dev", "1000000000000"], ["--test", "10001"], ["--dev", "9223372036854775807", "--test", "1"],
                      ["--dev", "6000", "--test", "6000"]])
    func songCountsBeyondTenThousandAreRefused(options: [String]) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("demo")
        let result = try runCNNSep(["synth", "--out", out.path, "--seconds", "0.01"] + options, in: folder)
        #expect(!result.crashed && result.status != 0, "\(result)")
        #expect(result.errorLines.first?.contains("--dev and --test") == true, "\(result)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
