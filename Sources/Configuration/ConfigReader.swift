import Foundation
import Support

/// Walks a JSON object, reporting the dotted key path of anything unknown, mistyped or out of range.
struct ConfigReader {
    let source: String
    private var prefix = ""

    init(source: String) { self.source = source }

    func fail(_ key: String, _ why: String) -> CNNSepError {
        CNNSepError("\(source): key '\(prefix)\(key)': \(why)")
    }

    /// Visits a nested object (or the root when `key` is nil) and rejects keys `body` did not read.
    mutating func object(_ parent: [String: Any], key: String, _ body: (inout ConfigReader, [String: Any]) throws -> Void) throws {
        guard let value = parent[key] else { return }
        guard let nested = value as? [String: Any] else { throw fail(key, "expected an object, got \(Self.describe(value))") }
        try object(nested, path: prefix + key + ".", body)
    }

    mutating func object(_ object: [String: Any], path: String, _ body: (inout ConfigReader, [String: Any]) throws -> Void) throws {
        let saved = prefix
        prefix = path
        defer { prefix = saved }
        let known = Self.schema[path] ?? []
        for key in object.keys.sorted() where !known.contains(key) {
            throw fail(key, "unknown key (expected one of: \(known.sorted().joined(separator: ", ")))")
        }
        try body(&self, object)
    }

    /// The keys each object may hold (what `Config.parse` reads).
    static let schema: [String: Set<String>] = [
        "": ["dataset", "audio", "input_scale", "model", "loss", "optimizer", "schedule", "separation", "seed", "name"],
        "dataset.": ["root", "train_split", "test_split", "validation_songs", "cache", "max_songs"],
        "audio.": ["sample_rate", "window_length", "hop"],
        "model.": ["frames", "t1", "f1", "n1", "t2", "f2", "n2", "dense", "mask_epsilon", "input_normalization"],
        "loss.": ["alpha", "beta", "gamma", "other_weight"],
        "optimizer.": ["learning_rate", "rho", "epsilon", "final_learning_rate"],
        "schedule.": ["block_size", "block_hop", "repetitions", "epochs_per_block", "batch_size", "window_hop", "checkpoint_every_epochs",
                      "remix", "remix_gains"],
        "separation.": separationKeys,
    ]

    func string(_ o: [String: Any], _ key: String, _ set: (String) -> Void) throws {
        guard let value = o[key] else { return }
        guard let s = value as? String, !s.isEmpty else { throw fail(key, "expected a non-empty string, got \(Self.describe(value))") }
        set(s)
    }

    /// `[low, high]`, two numbers in min...max with low ≤ high.
    func floatRange(_ o: [String: Any], _ key: String, min: Double, max: Double, _ set: (ClosedRange<Float>) -> Void) throws {
        guard let value = o[key] else { return }
        guard let a = value as? [Any], a.count == 2, let n = a as? [NSNumber], !n.contains(where: Self.isBool),
              n.allSatisfy({ $0.doubleValue.isFinite }) else {
            throw fail(key, "expected [low, high], two numbers, got \(Self.describe(value))")
        }
        let (lo, hi) = (n[0].doubleValue, n[1].doubleValue)
        guard lo >= min, hi <= max, lo <= hi else { throw fail(key, "expected [low, high] with \(min) ≤ low ≤ high ≤ \(max), got [\(lo), \(hi)]") }
        set(Float(lo)...Float(hi))
    }

    func optionalString(_ o: [String: Any], _ key: String, _ set: (String?) -> Void) throws {
        guard let value = o[key] else { return }
        if value is NSNull { set(nil); return }
        try string(o, key) { set($0) }
    }

    func strings(_ o: [String: Any], _ key: String, _ set: ([String]) -> Void) throws {
        guard let value = o[key] else { return }
        guard let a = value as? [Any], let s = a as? [String] else { throw fail(key, "expected a list of strings, got \(Self.describe(value))") }
        set(s)
    }

    func int(_ o: [String: Any], _ key: String, min: Int, max: Int, _ set: (Int) -> Void) throws {
        guard let value = o[key] else { return }
        guard let n = value as? NSNumber, !Self.isBool(n), n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 9e18 else {
            throw fail(key, "expected an integer, got \(Self.describe(value))")
        }
        let i = n.intValue
        guard i >= min, i <= max else { throw fail(key, "expected an integer in \(min)...\(max), got \(i)") }
        set(i)
    }

    /// A seed: any UInt64, the range `train --seed` takes (JSON numbers up to 2⁶⁴ − 1 arrive exactly).
    func seed(_ o: [String: Any], _ key: String, _ set: (UInt64) -> Void) throws {
        guard let value = o[key] else { return }
        let expected = "expected an integer in 0...\(UInt64.max), got \(Self.describe(value))"
        guard let n = value as? NSNumber, !Self.isBool(n) else { throw fail(key, expected) }
        switch String(cString: n.objCType) {
        case "Q": set(n.uint64Value)
        case "q", "l", "i", "s":
            guard n.int64Value >= 0 else { throw fail(key, expected) }
            set(UInt64(n.int64Value))
        default:
            let d = n.doubleValue
            guard d == d.rounded(), d >= 0, d < 18_446_744_073_709_551_616.0 else { throw fail(key, expected) }
            set(UInt64(d))
        }
    }

    func optionalInt(_ o: [String: Any], _ key: String, min: Int, _ set: (Int?) -> Void) throws {
        guard let value = o[key] else { return }
        if value is NSNull { set(nil); return }
        try int(o, key, min: min, max: Int.max) { set($0) }
    }

    func bool(_ o: [String: Any], _ key: String, _ set: (Bool) -> Void) throws {
        guard let value = o[key] else { return }
        guard let n = value as? NSNumber, Self.isBool(n) else { throw fail(key, "expected true or false, got \(Self.describe(value))") }
        set(n.boolValue)
    }

    func optionalFloat(_ o: [String: Any], _ key: String, min: Double, max: Double, _ set: (Float?) -> Void) throws {
        guard let value = o[key] else { return }
        if value is NSNull { set(nil); return }
        try float(o, key, min: min, max: max) { set($0) }
    }

    func float(_ o: [String: Any], _ key: String, min: Double, max: Double, _ set: (Float) -> Void) throws {
        guard let value = o[key] else { return }
        guard let n = value as? NSNumber, !Self.isBool(n), n.doubleValue.isFinite else {
            throw fail(key, "expected a number, got \(Self.describe(value))")
        }
        let d = n.doubleValue
        guard d >= min, d <= max else { throw fail(key, "expected a number in \(min)...\(max), got \(d)") }
        set(Float(d))
    }

    /// JSON booleans arrive as NSNumber too; their type code is "c" (char).
    static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    static func describe(_ value: Any) -> String {
        switch value {
        case is NSNull: return "null"
        case let n as NSNumber where isBool(n): return n.boolValue ? "true" : "false"
        case let n as NSNumber: return "\(n)"
        case let s as String: return "\"\(s)\""
        case is [Any]: return "a list"
        case is [String: Any]: return "an object"
        default: return "\(value)"
        }
    }
}
