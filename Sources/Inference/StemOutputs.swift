import Audio
import Foundation
import Support

/// What one written file holds: a stem, or the input without it (`--two-stems`).
public enum StemContent: Equatable, Hashable, Sendable {
    case stem(Stem)
    /// The input minus the stem: the sum of the other three stems ("other" being the input minus
    /// bass, drums and vocals), so that it and the stem add up to the input.
    case without(Stem)

    /// `{stem}` in file names: `vocals`, or `no_vocals` for the input without the vocals.
    public var name: String {
        switch self {
        case .stem(let s): s.rawValue
        case .without(let s): "no_" + s.rawValue
        }
    }

    /// Every name a file written by `predict` can have (folders searched for songs skip them).
    public static let allNames = Set(Stem.allCases.flatMap { [StemContent.stem($0).name, StemContent.without($0).name] })

    /// This content's channels from the four stems of a piece (per source, per channel).
    func channels(of stems: [[[Float]]]) -> [[Float]] {
        switch self {
        case .stem(let s): return stems[s.index]
        case .without(let s):
            let others = Stem.allCases.filter { $0 != s }.map(\.index)
            return stems[others[0]].indices.map { c in
                var sum = stems[others[0]][c]
                sum.withUnsafeMutableBufferPointer { out in
                    for o in others.dropFirst() {
                        stems[o][c].withUnsafeBufferPointer { y in for i in 0..<out.count { out[i] += y[i] } }
                    }
                }
                return sum
            }
        }
    }
}

/// Which files `predict` writes for each song.
public enum StemSelection: Equatable, Sendable {
    /// bass, drums, other, vocals.
    case all
    /// `--stems`: these stems only (in source order), each exactly as in a full separation.
    case only([Stem])
    /// `--two-stems`: the stem and the input without it (`no_<stem>`).
    case pair(Stem)

    public var contents: [StemContent] {
        switch self {
        case .all: Stem.allCases.map { .stem($0) }
        case .only(let stems): stems.map { .stem($0) }
        case .pair(let s): [.stem(s), .without(s)]
        }
    }

    /// From `--stems a,b` and `--two-stems s` (at most one of them); errors name the option and value.
    public static func parse(stems: String?, twoStems: String?) throws -> StemSelection {
        func stem(_ name: Substring, option: String) throws -> Stem {
            guard let s = Stem(fileName: String(name).trimmingCharacters(in: .whitespaces)) else {
                throw CNNSepError("\(option): unknown stem '\(name)' (expected \(Stem.names.joined(separator: ", ")))")
            }
            return s
        }
        switch (stems, twoStems) {
        case (nil, nil): return .all
        case (.some, .some): throw CNNSepError("--stems and --two-stems: give one or the other")
        case (nil, .some(let name)): return .pair(try stem(Substring(name), option: "--two-stems"))
        case (.some(let list), nil):
            let chosen = Set(try list.split(separator: ",", omittingEmptySubsequences: false).map { try stem($0, option: "--stems") })
            return .only(Stem.allCases.filter(chosen.contains))
        }
    }
}

/// A file `separateFile` writes: what it holds and where.
public struct StemOutput: Equatable, Sendable {
    public let content: StemContent
    public let url: URL
    public init(_ content: StemContent, at url: URL) {
        self.content = content
        self.url = url
    }
}

/// How `separateFile` reads and writes a song.
public struct SeparationFileOptions {
    public var format: SampleFormat = .wav16
    /// kbit/s of MP3 outputs.
    public var mp3Bitrate = MP3BitRate.default
    /// The stretch of the input's sample frames to separate (nil: all of it).
    public var frames: Range<Int>? = nil
    /// Show a progress bar for the song, with this label (nil: none).
    public var progress: String? = nil
    /// Asked before each piece is written; true abandons the song (throwing `SeparationStopped`),
    /// leaving none of its files.
    public var shouldStop: () -> Bool = { false }
    public init() {}
}

/// The song was abandoned because `shouldStop` said so (Ctrl-C); nothing of it was written.
public struct SeparationStopped: Error {}

/// The deepest folder that holds every one of `files` (spelled as they are: relative stays relative).
func commonFolder(of files: [URL]) -> URL {
    let folders = files.map { $0.deletingLastPathComponent().relativePath.split(separator: "/", omittingEmptySubsequences: false) }
    guard var common = folders.first else { return URL(fileURLWithPath: ".") }
    for f in folders.dropFirst() {
        common = Array(zip(common, f).prefix { $0 == $1 }.map(\.0))
    }
    let path = common.joined(separator: "/")
    return URL(fileURLWithPath: path.isEmpty ? (files.first?.relativePath.hasPrefix("/") == true ? "/" : ".") : path)
}
