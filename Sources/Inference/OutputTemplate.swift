import Foundation
import Support

/// Where `predict` writes each stem of a song, relative to the output folder (`--filename`):
/// a path with fields in braces, `{track}/{stem}.{ext}` by default.
///
/// - `{track}`: the song's name (`Audio.songName(of:)`: the file name without extension, or the
///   folder's name for `mixture.*`), made unique among the songs of one call (`PredictPlan`).
/// - `{trackext}`: the input file's extension (`flac` for `song.flac`).
/// - `{stem}`: `bass`, `drums`, `other`, `vocals`, or `no_vocals` etc. with `--two-stems`.
/// - `{ext}`: the extension of the output format (`wav`, `flac`, `mp3`).
public struct OutputTemplate: Equatable, Sendable {
    public static let defaultPattern = "{track}/{stem}.{ext}"
    public static let fields = ["track", "trackext", "stem", "ext"]

    enum Piece: Equatable, Sendable { case text(String), field(String) }

    public let pattern: String
    let pieces: [Piece]

    /// Parses `pattern`; an unknown field, a lone brace, an empty or absolute pattern is an error
    /// naming the option.
    public init(_ pattern: String) throws {
        func fail(_ why: String) -> CNNSepError { CNNSepError("--filename '\(pattern)': \(why)") }
        guard !pattern.isEmpty else { throw fail("is empty; the default is '\(Self.defaultPattern)'") }
        guard !pattern.hasPrefix("/") else { throw fail("must be relative to --out (it starts with '/')") }
        var pieces: [Piece] = [], text = "", rest = Substring(pattern)
        while let c = rest.first {
            rest = rest.dropFirst()
            if c == "}" { throw fail("'}' without '{'") }
            guard c == "{" else { text.append(c); continue }
            guard let close = rest.firstIndex(of: "}") else { throw fail("'{' without '}'") }
            let name = String(rest[..<close])
            if name.contains("{") { throw fail("'{' without '}'") }
            guard Self.fields.contains(name) else {
                throw fail("unknown field {\(name)} (the fields are " + Self.fields.map { "{\($0)}" }.joined(separator: ", ") + ")")
            }
            if !text.isEmpty { pieces.append(.text(text)); text = "" }
            pieces.append(.field(name))
            rest = rest[rest.index(after: close)...]
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        self.pattern = pattern
        self.pieces = pieces
    }

    /// Whether the pattern contains `{field}`.
    public func uses(_ field: String) -> Bool { pieces.contains(.field(field)) }

    /// The relative path for one stem of one song.
    public func path(track: String, trackExtension: String, stem: String, ext: String) -> String {
        pieces.map { piece in
            switch piece {
            case .text(let text): return text
            case .field("track"): return track
            case .field("trackext"): return trackExtension
            case .field("stem"): return stem
            case .field(_): return ext          // "ext", the only field left
            }
        }.joined()
    }
}
