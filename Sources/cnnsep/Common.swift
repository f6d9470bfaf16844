import ArgumentParser
import Configuration
import Foundation
import Support

/// Reads `--config` as users type it (a path or a name under Configs/); `dsd100` when absent.
func loadConfig(_ argument: String?) throws -> Config {
    try Config.load(Config.locate(argument ?? "dsd100"))
}

/// Checks an option that holds a duration: a finite number of seconds above zero.
func validateSeconds(_ value: Double?, option: String) throws {
    if let value, !(value.isFinite && value > 0) {
        throw ValidationError("\(option) must be a finite positive number of seconds, got \(value)")
    }
}

/// Prints to standard error (progress and notes go there; results go to standard output).
func note(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Formats rows as a left-aligned text table with a header rule.
func table(_ rows: [[String]], rightAligned: Set<Int> = []) -> String {
    guard let header = rows.first else { return "" }
    let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
    func line(_ row: [String]) -> String {
        row.enumerated().map { c, cell in
            let pad = String(repeating: " ", count: widths[c] - cell.count)
            return rightAligned.contains(c) ? pad + cell : cell + pad
        }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
    return ([line(header), rule] + rows.dropFirst().map(line)).joined(separator: "\n")
}
