import Foundation
import Support

/// One song of a dataset: its mixture and its four stems (in `Stem.names` order).
public struct Song: Equatable, Hashable, Sendable {
    /// The song's folder name, e.g. `051 - AM Contra - Heart Peripheral`.
    public let name: String
    /// The split's folder name as the layout spells it (`Dev`/`Test` for DSD100, `train`/`test` for MUSDB18-HQ).
    public let split: String
    public let mixture: URL
    /// bass, drums, other, vocals.
    public let sources: [URL]

    public init(name: String, split: String, mixture: URL, sources: [URL]) {
        precondition(sources.count == Stem.names.count, "Song: expected \(Stem.names.count) sources")
        self.name = name
        self.split = split
        self.mixture = mixture
        self.sources = sources
    }

    /// The mixture followed by the four sources: the five files a song is made of.
    public var files: [URL] { [mixture] + sources }
}

/// The two folder layouts cnnsep reads.
public enum DatasetLayout: String, Sendable {
    /// `<root>/Mixtures/{Dev,Test}/<song>/mixture.wav`, `<root>/Sources/{Dev,Test}/<song>/{bass,drums,other,vocals}.wav`.
    case dsd100
    /// `<root>/{train,test}/<song>/{mixture,bass,drums,other,vocals}.wav`.
    case musdb18hq

    /// The two splits as this layout spells its folders: (training, test).
    public var splitFolders: (train: String, test: String) {
        switch self {
        case .dsd100: return ("Dev", "Test")
        case .musdb18hq: return ("train", "test")
        }
    }
}

/// What a split holds: the complete songs, and one line per problem found while listing it
/// (a stem missing, a song folder in one tree but not the other).
public struct SplitScan: Sendable {
    public let split: String
    public let songs: [Song]
    public let problems: [String]
}

/// A dataset on disk in one of the two layouts. Songs are listed in sorted order, never in
/// directory-listing order: names compared byte by byte as UTF-8 (so `Zed` < `abc` < `Été`), which is
/// what `sort` does under `LC_ALL=C` and what Python's `sorted()` of the names gives for these names.
public struct Dataset: Sendable {
    public let root: URL
    public let layout: DatasetLayout

    public init(root: URL, layout: DatasetLayout) {
        self.root = root
        self.layout = layout
    }

    /// Opens a dataset root, detecting the layout: `Mixtures/` and `Sources/` make DSD100;
    /// `train/` or `test/` make MUSDB18-HQ.
    public static func open(_ root: URL) throws -> Dataset {
        let typed = root.relativePath           // errors name the root as given
        let root = root.standardizedFileURL
        guard isFolder(root) else {
            throw CNNSepError("\(typed): no such dataset folder (expected a DSD100 root with Mixtures/ and Sources/, or a MUSDB18-HQ root with train/ and test/)")
        }
        if isFolder(root.appendingPathComponent("Mixtures")) && isFolder(root.appendingPathComponent("Sources")) {
            return Dataset(root: root, layout: .dsd100)
        }
        if isFolder(root.appendingPathComponent("train")) || isFolder(root.appendingPathComponent("test")) {
            return Dataset(root: root, layout: .musdb18hq)
        }
        throw CNNSepError("\(typed): not a dataset (expected Mixtures/ and Sources/ for DSD100, or train/ and test/ for MUSDB18-HQ)")
    }

    /// The split's folder name in this layout. Either spelling is accepted for either layout,
    /// case-insensitively: `Dev`/`train` is the training split, `Test`/`test` the test split.
    public func splitFolder(_ split: String) throws -> String {
        switch split.lowercased() {
        case "dev", "train": return layout.splitFolders.train
        case "test": return layout.splitFolders.test
        default: throw CNNSepError("\(split): unknown split (expected Dev or Test for DSD100, train or test for MUSDB18-HQ; either spelling works for both)")
        }
    }

    /// The complete songs of a split, sorted by name (UTF-8 byte order). Throws on a missing or
    /// empty split and on the first incomplete song (naming the song and the missing file).
    public func songs(split: String) throws -> [Song] {
        let scan = try self.scan(split: split)
        if let first = scan.problems.first { throw CNNSepError(first) }
        if scan.songs.isEmpty {
            throw CNNSepError("\(splitRoots(try splitFolder(split)).mixtures.relativePath): split '\(scan.split)' holds no songs")
        }
        return scan.songs
    }

    /// Lists a split without stopping at the first problem (for `dataset check`). Throws only when the
    /// split's folder is missing.
    public func scan(split: String) throws -> SplitScan {
        let folder = try splitFolder(split)
        let roots = splitRoots(folder)
        guard Self.isFolder(roots.mixtures) else {
            throw CNNSepError("\(roots.mixtures.relativePath): split folder missing (dataset \(root.relativePath), layout \(layout.rawValue))")
        }
        var names = Set(Self.subfolders(roots.mixtures))
        if roots.sources != roots.mixtures {
            if Self.isFolder(roots.sources) {
                names.formUnion(Self.subfolders(roots.sources))
            }
        }
        var songs: [Song] = []
        var problems: [String] = []
        for name in Self.sorted(Array(names)) {
            let mixture = roots.mixtures.appendingPathComponent(name).appendingPathComponent("mixture.wav")
            let sources = Stem.names.map { roots.sources.appendingPathComponent(name).appendingPathComponent("\($0).wav") }
            let missing = ([mixture] + sources).filter { !FileManager.default.fileExists(atPath: $0.path) }
            if missing.isEmpty {
                songs.append(Song(name: name, split: folder, mixture: mixture, sources: sources))
            } else {
                for file in missing { problems.append("\(name): \(file.path): file missing") }
            }
        }
        return SplitScan(split: folder, songs: songs, problems: problems)
    }

    /// Where a split's mixtures and sources live.
    func splitRoots(_ folder: String) -> (mixtures: URL, sources: URL) {
        switch layout {
        case .dsd100:
            return (root.appendingPathComponent("Mixtures").appendingPathComponent(folder),
                    root.appendingPathComponent("Sources").appendingPathComponent(folder))
        case .musdb18hq:
            let f = root.appendingPathComponent(folder)
            return (f, f)
        }
    }

    /// Sorts names by their UTF-8 bytes (the documented song order).
    public static func sorted(_ names: [String]) -> [String] {
        names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    static func isFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Visible subfolders (names not starting with "."), in no particular order.
    static func subfolders(_ url: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { !$0.hasPrefix(".") && isFolder(url.appendingPathComponent($0)) }
    }
}
