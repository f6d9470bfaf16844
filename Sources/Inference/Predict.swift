import Audio
import Configuration
import Foundation
import Network
import Support

/// Expands songs and folders into audio files (folders recursively, sorted by path).
public enum SongFinder {
    public static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "aif", "aiff", "mp3", "wave"]

    public static func find(_ arguments: [String]) throws -> [URL] {
        var result: [URL] = []
        let fm = FileManager.default
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw CNNSepError("\(argument): no such file or folder")
            }
            if !isDirectory.boolValue { result.append(URL(fileURLWithPath: argument)); continue }
            let found = (fm.enumerator(atPath: argument)?.allObjects as? [String] ?? [])
                .filter { path in
                    let url = URL(fileURLWithPath: path)
                    return audioExtensions.contains(url.pathExtension.lowercased())
                        && !Stem.names.contains(url.deletingPathExtension().lastPathComponent.lowercased())
                        && !url.lastPathComponent.hasPrefix(".")
                }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            result += found.map { URL(fileURLWithPath: argument).appendingPathComponent($0) }
        }
        return result
    }
}

/// What `predict` did with one song.
public enum PredictOutcome {
    case separated(SongSeparationReport)
    case skipped(song: String, folder: URL)
}

extension Separator {
    /// Separates each input into `<out>/<song name>/`, skipping songs whose four stems exist unless
    /// `force`. Stops early (returning fewer outcomes) when the user interrupts.
    public func predict(_ inputs: [URL], out: URL, format: SampleFormat, force: Bool, progress: Bool = false,
                        report: (PredictOutcome) -> Void = { _ in }) throws -> [PredictOutcome] {
        var outcomes: [PredictOutcome] = []
        for input in inputs {
            if Interrupt.requested { break }
            let name = Self.songName(input)
            let folder = out.appendingPathComponent(name)
            let outcome: PredictOutcome
            if !force, Self.stemURLs(in: folder).allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) {
                outcome = .skipped(song: name, folder: folder)
            } else {
                outcome = .separated(try separateFile(input, into: folder, format: format, progress: progress))
            }
            report(outcome)
            outcomes.append(outcome)
        }
        return outcomes
    }
}
