import Foundation
import Support

/// A table read from a JSON-lines file (one JSON object per line, as logs are written): each row
/// keeps the object's numeric fields; other fields and unknown keys are ignored.
public enum JSONLines {
    /// The largest count `read` accepts: every whole number up to it is exact in a Double.
    public static let largestCount = 9_007_199_254_740_992.0    // 2^53

    /// Reads `url`; every row must have each key of `required` as a number, and each key of `counts`
    /// it has as a whole number from 0 to `largestCount` (epochs, blocks: what a chart labels and
    /// groups by). Blank lines are skipped. Throws a one-line error naming the file (and line, and
    /// key) for a missing or empty file, a line that is not a JSON object, or a missing or bad key.
    public static func read(_ url: URL, required: [String], counts: [String] = []) throws -> [[String: Double]] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "cannot read" : "no such file"
            throw CNNSepError("\(url.relativePath): \(reason); expected a JSON-lines log (one JSON object per line)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CNNSepError("\(url.relativePath): not UTF-8 text; expected one JSON object per line")
        }
        var rows: [[String: Double]] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let place = "\(url.path):\(index + 1)"
            guard let fields = try? JSONDecoder().decode(NumericFields.self, from: Data(trimmed.utf8)) else {
                throw CNNSepError("\(place): not a JSON object; expected one JSON object per line")
            }
            let row = fields.values
            for key in required where row[key] == nil {
                throw CNNSepError(fields.others.contains(key) ? "\(place): key '\(key)' is not a number (or one beyond ±1.8e308)"
                                                              : "\(place): missing key '\(key)' (a number)")
            }
            for key in counts {
                guard let value = row[key], !(value >= 0 && value <= largestCount && value.rounded() == value) else { continue }
                throw CNNSepError("\(place): key '\(key)' is \(value); expected a whole number from 0 to \(Int(largestCount))")
            }
            rows.append(row)
        }
        guard !rows.isEmpty else {
            throw CNNSepError("\(url.relativePath): empty; expected one JSON object per line")
        }
        return rows
    }
}

/// The numeric fields of one JSON object (true, false, strings, arrays and objects are left out,
/// their keys kept in `others`, as are numbers a Double cannot hold).
private struct NumericFields: Decodable {
    var values: [String: Double] = [:]
    var others: Set<String> = []

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if let number = try? container.decode(Double.self, forKey: key) { values[key.stringValue] = number } else { others.insert(key.stringValue) }
        }
    }
}
