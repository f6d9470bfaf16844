import Foundation
import Testing
import TestHelpers
import Data

/// `dataset check --tolerance`: NaN compared false with every difference, so a mixture that is not
/// the sum of its sources passed ("no problems"); a negative one flagged every song. Both are
/// refused naming the option.
@Suite struct CheckOptionTests {
    @Test(arguments: ["nan", "-1", "-inf"])
    func aToleranceThatIsNoDistanceIsRefused(tolerance: String) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var synth = SynthSettings()
        synth.devSongs = 1; synth.testSongs = 1; synth.seconds = 0.1; synth.seed = 9
        _ = try DemoSynth.write(to: folder.appendingPathComponent("demo"), settings: synth, progress: false)
        let result = try runCNNSep(["dataset", "check", folder.appendingPathComponent("demo").path, "--tolerance=\(tolerance)"], in: folder)
        #expect(!result.crashed && result.status != 0 && result.status != 1, "\(result)")
        #expect(result.errorLines.first?.contains("--tolerance") == true, "\(result)")
    }
}
