import Foundation
import Support

/// The audio files of one song a user points at: a file, or a folder of stems (a separation's output,
/// a MUSDB18-HQ song) with its mixture if there is one, or a DSD100 song folder whose mixture and stems
/// live in the dataset's two parallel trees. In order: mixture (if any), then the stems in stem order.
public enum SongFiles {
    static let stems = Stem.names

    public static func find(_ input: URL) throws -> [(String, URL)] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input.path, isDirectory: &isFolder) else {
            throw CNNSepError("\(input.relativePath): no such file or folder")
        }
        guard isFolder.boolValue else { return [(input.deletingPathExtension().lastPathComponent, input)] }
        func wav(_ folder: URL, _ name: String) -> URL? {
            let url = folder.appendingPathComponent("\(name).wav")
            return FileManager.default.fileExists(atPath: url.path) ? url : nil
        }
        // DSD100 keeps the mixture and the stems of one song in two parallel trees.
        let song = input.standardizedFileURL
        let split = song.deletingLastPathComponent(), half = split.deletingLastPathComponent()
        let root = half.deletingLastPathComponent()
        func counterpart(_ other: String) -> URL? {
            guard ["Sources", "Mixtures"].contains(half.lastPathComponent) else { return nil }
            return root.appendingPathComponent(other).appendingPathComponent(split.lastPathComponent)
                .appendingPathComponent(song.lastPathComponent)
        }
        let mixture = wav(input, "mixture") ?? counterpart("Mixtures").flatMap { wav($0, "mixture") }
        var stemFolder = input
        if stems.allSatisfy({ wav(input, $0) == nil }), let other = counterpart("Sources") { stemFolder = other }
        let found = stems.compactMap { name in wav(stemFolder, name).map { (name, $0) } }
        if !found.isEmpty && found.count < stems.count {
            let missing = stems.filter { wav(stemFolder, $0) == nil }.map { "\($0).wav" }
            throw CNNSepError("\(stemFolder.relativePath): missing \(missing.joined(separator: ", ")); expected bass, drums, other and vocals .wav")
        }
        let all = (mixture.map { [("mixture", $0)] } ?? []) + found
        guard !all.isEmpty else {
            throw CNNSepError("\(input.relativePath): no mixture.wav or bass/drums/other/vocals.wav in this folder")
        }
        return all
    }

    /// "Song/mixture.wav" for a mixture file (whose own name says little), the file or folder name otherwise.
    public static func displayName(_ input: URL) -> String {
        let url = input.standardizedFileURL
        return url.deletingPathExtension().lastPathComponent == "mixture"
            ? "\(url.deletingLastPathComponent().lastPathComponent)/\(url.lastPathComponent)" : url.lastPathComponent
    }
}
