import Foundation
import Testing
import TestHelpers
import Data

/// `cnnsep score` with a `--json` it cannot write: refused before any scoring (which takes a
/// minute for a long song), one line naming the path. It used to score, print the table, and only
/// then fail.
@Suite struct ScoreCommandTests {
    @Test func aJSONPathThatIsAFolderIsRefusedBeforeScoring() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let stems = try demoTestSong(in: folder).sources[0].deletingLastPathComponent().path
        let result = try runCNNSep(["score", stems, stems, "--json", folder.path], in: folder)
        #expect(!result.crashed && result.status == 1, "\(result)")
        #expect(result.errorLines.count == 1 && result.standardError.contains(folder.path), "\(result)")
        #expect(result.standardOutput.isEmpty, "\(result)")
    }
}
