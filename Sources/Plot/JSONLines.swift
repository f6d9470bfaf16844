import Foundation
import Support

/// A table read from a JSON-lines file (one JSON object per line, as logs are written): each row
/// keeps the object's numeric fields; other fields and unknown keys are ignored.
public enum JSONLines {
    /// Reads `url`; every row must have each key of `required` as a number. Blank lines are skipped.
    /// Throws a one-line error naming the file (and line) for a missing or empty file, a line that is
    /// not a JSON object, or a missing or non-numeric required key.
    public static func read(_ url: URL, required: [String]) throws -> [[String: Double]] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "cannot read" : "no such file"
            throw CNNSepError("\(url.path): \(reason); expected a JSON-lines log (one JSON object per line)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CNNSepError("\(url.path): not UTF-8 text; expected one JSON object per line")
        }
        var rows: [[String: Double]] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let place = "\(url.path):\(index + 1)"
            guard let row = try? JSONDecoder().decode(NumericFields.self, from: Data(trimmed.utf8)).values else {
                throw CNNSepError("\(place): not a JSON object; expected one JSON object per line")
            }
            for key in required where row[key] == nil {
                throw CNNSepError("\(place): missing key '\(key)' (a number)")
            }
            rows.append(row)
        }
        guard !rows.isEmpty else {
            throw CNNSepError("\(url.path): empty; expected one JSON object per line")
        }
        return rows
    }
}

/// The numeric fields of one JSON object (true, false, strings, arrays and objects are left out).
private struct NumericFields: Decodable {
    var values: [String: Double] = [:]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if let number = try? container.decode(Double.self, forKey: key) { values[key.stringValue] = number }
        }
    }
}
