import Audio
import Foundation
import Support

/// What `predict` was asked to do, besides which songs.
public struct PredictOptions {
    /// The folder the template's paths are relative to (`--out`).
    public var out: URL
    public var template: OutputTemplate
    public var selection: StemSelection = .all
    public var format: AudioFileFormat = .wav16
    public var mp3Bitrate = MP3BitRate.default
    /// `--start` and `--duration`, in seconds (validated by `PredictPlan`).
    public var start: Double? = nil
    public var duration: Double? = nil
    /// Separate again songs whose files all exist.
    public var force = false
    /// Songs separated at once.
    public var jobs = 1
    /// A progress bar per song (with one job; with several, each song's line as it finishes is all).
    public var progress = false

    public init(out: URL, template: OutputTemplate? = nil) {
        self.out = out
        self.template = template ?? (try! OutputTemplate(OutputTemplate.defaultPattern))
    }
}

/// One song of a `predict` call, with everything decided before any work.
public struct SongPlan {
    public let input: URL
    /// `{track}`: the song's name, made unique in the call.
    public let track: String
    public let outputs: [StemOutput]
    /// The input's sample frames to separate (the whole file without --start/--duration).
    public let frames: Range<Int>
    public let info: AudioInfo

    /// All of the song's files exist (it is skipped unless --force).
    public var isDone: Bool { outputs.allSatisfy { FileManager.default.fileExists(atPath: $0.url.path) } }
}

/// Turns inputs and options into `SongPlan`s, refusing, before anything is written, what would go
/// wrong later: unreadable inputs, songs the format cannot hold, a --start past a song's end, two
/// files written to one path, an output that would replace an input.
public enum PredictPlan {
    public static func make(_ inputs: [URL], options: PredictOptions) throws -> [SongPlan] {
        // The same file named twice (a folder and a song in it, say) is separated once.
        var seen = Set<String>()
        let songs = inputs.filter { seen.insert($0.standardizedFileURL.resolvingSymlinksInPath().path).inserted }
        let infos = try songs.map { url in
            let info = try AudioFile.info(url)
            guard info.frameCount > 0 else { throw CNNSepError("\(url.relativePath): contains no audio (0 frames), nothing to separate") }
            if let why = options.format.refusal(sampleRate: info.sampleRate, channelCount: info.channelCount) {
                throw CNNSepError("\(url.relativePath): \(why); choose another --format")
            }
            return info
        }
        let tracks = uniqueTracks(songs)
        let ext = options.format.fileExtension
        var plans: [SongPlan] = []
        var writer: [String: (input: URL, stem: String)] = [:]
        for (i, input) in songs.enumerated() {
            let outputs = try options.selection.contents.map { content in
                let relative = options.template.path(track: tracks[i], trackExtension: input.pathExtension,
                                                     stem: content.name, ext: ext)
                let url = options.out.appendingPathComponent(relative)
                let key = url.standardizedFileURL.path
                guard url.pathExtension.lowercased() == ext else {
                    throw CNNSepError("--filename '\(options.template.pattern)': gives \(url.lastPathComponent), but --format \(options.format.rawValue) writes .\(ext) files (end the template with .{ext})")
                }
                if let other = writer[key] {
                    throw other.input == input
                        ? CNNSepError("\(input.relativePath): its \(other.stem) and \(content.name) would both be written to \(url.relativePath) (put {stem} in --filename)")
                        : CNNSepError("\(other.input.relativePath) and \(input.relativePath) would both be written to \(url.relativePath)"
                                      + (options.template.uses("track") ? " (give them different names, or separate them in two calls with another --out)" : " (put {track} in --filename)"))
                }
                writer[key] = (input, content.name)
                return StemOutput(content, at: url)
            }
            plans.append(SongPlan(input: input, track: tracks[i], outputs: outputs,
                                  frames: try frames(of: input, info: infos[i], options: options), info: infos[i]))
        }
        // An input is known by its path (symbolic links resolved) and by its device and inode (hard links).
        var inputs: [String: URL] = [:]
        for song in songs {
            inputs[song.standardizedFileURL.resolvingSymlinksInPath().path] = song
            if let id = fileIdentity(song) { inputs[id] = song }
        }
        for output in plans.flatMap(\.outputs) {
            let url = output.url
            if let input = inputs[url.standardizedFileURL.resolvingSymlinksInPath().path] ?? fileIdentity(url).flatMap({ inputs[$0] }) {
                throw CNNSepError("\(url.relativePath): would replace the input \(input.relativePath) (choose another --out or --filename)")
            }
        }
        return plans
    }

    /// "device:inode" of an existing file, nil for none.
    static func fileIdentity(_ url: URL) -> String? {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return nil }
        return "\(info.st_dev):\(info.st_ino)"
    }

    /// `{track}` of each song: its name (`songName(of:)`), and where two songs of the call share a
    /// name, the names of as many of their parent folders as it takes to tell them apart (the
    /// fewest that do, the same number for all songs of that name): `album1/01` and `album2/01`.
    /// Songs that no folder tells apart (`a.wav` and `a.flac` in one folder) keep their name; the
    /// outputs' check then refuses them.
    static func uniqueTracks(_ songs: [URL]) -> [String] {
        let names = songs.map { songName(of: $0) }
        var tracks = names
        for name in Set(names) {
            let group = names.indices.filter { names[$0] == name }
            guard group.count > 1 else { continue }
            // The folders above the one that names the song: a mixture.* is named after its own folder.
            let parents = group.map { i -> [String] in
                var folder = songs[i].standardizedFileURL.deletingLastPathComponent()
                if songs[i].deletingPathExtension().lastPathComponent.lowercased() == "mixture" { folder = folder.deletingLastPathComponent() }
                return Array(folder.pathComponents.dropFirst().reversed())   // nearest first, without the root "/"
            }
            let deepest = parents.map(\.count).max() ?? 0
            guard let depth = (1...max(deepest, 1)).first(where: { d in
                Set(parents.map { $0.prefix(d).reversed().joined(separator: "/") }).count == group.count
            }) else { continue }
            for (k, i) in group.enumerated() {
                tracks[i] = (parents[k].prefix(depth).reversed() + [name]).joined(separator: "/")
            }
        }
        return tracks
    }

    /// The sample frames --start and --duration select (seconds; the duration stops at the song's end).
    static func frames(of input: URL, info: AudioInfo, options: PredictOptions) throws -> Range<Int> {
        let rate = Double(info.sampleRate), length = Double(info.frameCount)
        let start = options.start ?? 0
        guard start.isFinite, start >= 0 else { throw CNNSepError("--start must be a finite number of seconds ≥ 0, got \(start)") }
        let first = (start * rate).rounded()
        guard first < length else {
            throw CNNSepError(String(format: "%@: --start %g is at or past the end of the song (%.3f s long)", input.relativePath, start, info.duration))
        }
        var count = length - first
        if let duration = options.duration {
            guard duration.isFinite, duration > 0 else {
                throw CNNSepError("--duration must be a finite number of seconds > 0, got \(duration)")
            }
            count = min(count, (duration * rate).rounded())
            guard count > 0 else {
                throw CNNSepError("--duration \(duration) is shorter than one sample of \(input.relativePath) (\(info.sampleRate) Hz)")
            }
        }
        return Int(first)..<Int(first + count)
    }
}
