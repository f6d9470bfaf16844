import ArgumentParser
import Audio
import Foundation
import Separation
import Support

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Separate songs into four stems: <out>/<song>/{bass,drums,other,vocals}.wav.",
        discussion: """
        Stems have the input's sample rate, channel count and length, and add up to the input.
        Folders are searched (recursively, in sorted order) for audio files; files named like a stem
        (bass, drums, other, vocals) are not songs. A song whose four stems exist is skipped unless --force.
        """)

    @Argument(help: "Songs (audio files) or folders holding them.")
    var songs: [String]

    @Option(help: "Weights to use. Default: the newest checkpoint of the config's run (Checkpoints/<config>/latest.h5).")
    var checkpoint: String?

    @Option(help: "Config whose run's checkpoint to use when --checkpoint is not given (path or name under Configs/). Default: dsd100.")
    var config: String?

    @Option(help: "Output folder.")
    var out: String = "separated"

    @Option(help: "Sample format of the stems: wav16, wav24 or float.")
    var format: String = "wav16"

    @Flag(help: "Separate again even when the four stems exist.")
    var force = false

    func validate() throws {
        guard SampleFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be wav16, wav24 or float, got '\(format)'")
        }
    }

    func run() throws {
        let fallback = try loadConfig(config)
        let weights = try checkpoint.map { URL(fileURLWithPath: $0) } ?? TrainedModel.latest(for: fallback)
        let separator = try Separator(checkpoint: weights, fallback: fallback)
        let inputs = try SongFinder.find(songs)
        guard !inputs.isEmpty else { throw CNNSepError("\(songs.joined(separator: ", ")): no audio files found") }
        Interrupt.install()
        for input in inputs {
            if Interrupt.requested { throw ExitCode(130) }
            let folder = URL(fileURLWithPath: out).appendingPathComponent(Separator.songName(input))
            let stems = Separator.stemURLs(in: folder)
            if !force, stems.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) {
                print("\(Separator.songName(input)): stems exist in \(folder.path), skipped (use --force to redo)")
                continue
            }
            let report = try separator.separateFile(input, into: folder, format: SampleFormat(rawValue: format)!, progress: true)
            print(String(format: "%@: %.1f s of audio in %.2f s (%.0f× real time) → %@", report.song, report.duration,
                         report.seconds, report.realTimeFactor, folder.path))
            if report.clippedSamples > 0 {
                note("warning: \(report.song): \(report.clippedSamples) samples beyond full scale were clipped; use --format float to keep them")
            }
        }
    }
}

/// Expands songs and folders into audio files (folders recursively, sorted by path).
enum SongFinder {
    static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "aif", "aiff", "mp3", "wave"]

    static func find(_ arguments: [String]) throws -> [URL] {
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
                        && !sourceNames.contains(url.deletingPathExtension().lastPathComponent.lowercased())
                        && !url.lastPathComponent.hasPrefix(".")
                }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            result += found.map { URL(fileURLWithPath: argument).appendingPathComponent($0) }
        }
        return result
    }
}
