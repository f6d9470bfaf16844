import Foundation

/// A key whose value differs between two configs, with both values as the config file spells them.
public struct ConfigChange: Equatable, CustomStringConvertible {
    /// Dotted, as in the file: `schedule.batch_size`.
    public let key: String
    public let old: String
    public let new: String

    public var description: String { "\(key) \(old) → \(new)" }
}

extension Config {
    /// The keys whose values differ from `earlier`'s, sorted by key ("null" stands for an absent
    /// optional value).
    public func changes(since earlier: Config) -> [ConfigChange] {
        let now = flattened(), then = earlier.flattened()
        return Set(now.keys).union(then.keys).sorted().compactMap { key in
            let old = then[key] ?? "null", new = now[key] ?? "null"
            return old == new ? nil : ConfigChange(key: key, old: old, new: new)
        }
    }

    /// Every key of the file format with its value as text (numbers as the Float or Int they hold).
    func flattened() -> [String: String] {
        let object = try! JSONSerialization.jsonObject(with: Data(json().utf8)) as! [String: Any]
        var result: [String: String] = [:]
        func visit(_ value: Any, _ key: String) {
            switch value {
            case let nested as [String: Any]:
                for (name, inner) in nested { visit(inner, key.isEmpty ? name : "\(key).\(name)") }
            case let n as NSNumber where !ConfigReader.isBool(n) && n.doubleValue != n.doubleValue.rounded():
                result[key] = "\(Float(n.doubleValue))"
            case let s as String:
                result[key] = "\"\(s)\""
            case let list as [Any]:
                result[key] = String(decoding: try! JSONSerialization.data(withJSONObject: list), as: UTF8.self)
            default:
                result[key] = "\(value)"
            }
        }
        visit(object, "")
        return result
    }
}
