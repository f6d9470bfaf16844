import Foundation
import Plot
import Support
import Testing

@Suite("Plot JSON-lines logs")
struct PlotLogTests {
    func write(_ text: String) throws -> URL {
        let url = try temporaryFolder().appendingPathComponent("log.jsonl")
        try Data(text.utf8).write(to: url)
        return url
    }

    @Test("numeric fields are kept (1 is a number, not a flag), other fields and blank lines skipped")
    func goodLog() throws {
        let url = try write("""
            {"repetition": 1, "block": 1, "epoch": 1, "global_epoch": 1, "loss": 2.5, "note": "x", "flag": true}

            {"repetition": 1, "block": 2, "epoch": 1, "global_epoch": 2, "loss": 1.25, "val_loss": 1.5}
            """)
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        let rows = try JSONLines.read(url, required: ["global_epoch", "loss", "block"])
        #expect(rows.count == 2)
        #expect(rows[0]["repetition"] == 1 && rows[0]["loss"] == 2.5 && rows[0]["val_loss"] == nil)
        #expect(rows[0]["note"] == nil)
        #expect(rows[1]["val_loss"] == 1.5 && rows[1]["block"] == 2)
    }

    @Test("a missing, empty or malformed log is a one-line error naming the file and line")
    func badLogs() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/run/log.jsonl")
        let e1 = #expect(throws: CNNSepError.self) { try JSONLines.read(missing, required: []) }
        #expect(e1?.message.hasPrefix("/nonexistent/run/log.jsonl: no such file") == true)

        let empty = try write("\n  \n")
        let e2 = #expect(throws: CNNSepError.self) { try JSONLines.read(empty, required: []) }
        #expect(e2?.message.contains("empty") == true)

        let garbage = try write("{\"loss\": 1}\n{\"loss\": oops}\n")
        let e3 = #expect(throws: CNNSepError.self) { try JSONLines.read(garbage, required: ["loss"]) }
        #expect(e3?.message.contains("log.jsonl:2: not a JSON object") == true)

        let noLoss = try write("{\"global_epoch\": 1, \"loss\": \"high\"}\n")
        let e4 = #expect(throws: CNNSepError.self) { try JSONLines.read(noLoss, required: ["global_epoch", "loss"]) }
        #expect(e4?.message.contains("log.jsonl:1: key 'loss' is not a number") == true)
        // A number beyond a Double's range is not "missing" either.
        let huge = try write("{\"global_epoch\": 1, \"loss\": 1e400}\n")
        let e5 = #expect(throws: CNNSepError.self) { try JSONLines.read(huge, required: ["global_epoch", "loss"]) }
        #expect(e5?.message.contains("log.jsonl:1: key 'loss' is not a number") == true)
        let absent = try write("{\"global_epoch\": 1}\n")
        let e6 = #expect(throws: CNNSepError.self) { try JSONLines.read(absent, required: ["global_epoch", "loss"]) }
        #expect(e6?.message.contains("log.jsonl:1: missing key 'loss'") == true)

        let array = try write("[1, 2]\n")
        #expect(throws: CNNSepError.self) { try JSONLines.read(array, required: []) }
        for e in [e1, e2, e3, e4] { #expect(e?.message.contains("\n") == false) }
    }
}
