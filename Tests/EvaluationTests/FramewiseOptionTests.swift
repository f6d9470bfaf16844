import Foundation
import Testing
import TestHelpers
import Data

/// `--framewise SECONDS` of `score` and `eval`: a value that is not a finite positive number is
/// refused naming the option; a finite window longer than the song scores the whole song. Run in a
/// child process (these crashed: Int(Double) of an infinite or huge sample count).
@Suite struct FramewiseOptionTests {
    @Test func nonFiniteOrNonPositiveWindowsAreRefusedAndHugeOnesScoreTheWholeSong() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let stems = try demoTestSong(in: folder).sources[0].deletingLastPathComponent().path

        for bad in ["inf", "-inf", "nan", "0", "-1"] {
            for command in [["score", stems, stems], ["eval", "--config", "demo"]] {
                let result = try runCNNSep(command + ["--framewise=\(bad)"], in: folder)
                #expect(!result.crashed && result.status != 0, "\(command[0]) --framewise \(bad): \(result)")
                #expect(result.errorLines.first?.contains("--framewise") == true, "\(command[0]) --framewise \(bad): \(result)")
            }
        }
        let huge = try runCNNSep(["score", stems, stems, "--framewise", "1e300"], in: folder)
        #expect(!huge.crashed && huge.status == 0, "\(huge)")
        let whole = try runCNNSep(["score", stems, stems], in: folder)
        // With no window as long as the song, the framewise medians are the whole-song figures.
        let rows = huge.standardOutput.split(separator: "\n").dropFirst()
        let wholeRows = whole.standardOutput.split(separator: "\n").dropFirst()
        #expect(rows.count == 4 && wholeRows.count == 4)
        for (row, wholeRow) in zip(rows, wholeRows) {
            let cells = row.split(separator: " ")
            #expect(cells.count == 7 && Array(cells[1...3]) == Array(wholeRow.split(separator: " ")[1...3]) && Array(cells[4...6]) == Array(cells[1...3]), "\(row)")
        }
    }
}
