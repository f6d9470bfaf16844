import Audio
import Configuration
import Foundation
import Network
import Support

/// Expands songs and folders into audio files (folders recursively, sorted by path). In folders,
/// files named like something `predict` writes (`vocals.wav`, `no_vocals.flac`, …), hidden files
/// and whatever lies in `output` (predict's --out, when it is inside a folder searched) are not songs.
public enum SongFinder {
    public static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "aif", "aiff", "mp3", "wave"]

    public static func find(_ arguments: [String], output: URL? = nil) throws -> [URL] {
        var result: [URL] = []
        let fm = FileManager.default
        let outputPrefix = output.map { $0.standardizedFileURL.path + "/" }
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw CNNSepError("\(argument): no such file or folder")
            }
            if !isDirectory.boolValue { result.append(URL(fileURLWithPath: argument)); continue }
            // The folder itself may be a symbolic link, which the enumerator would not enter.
            let folder = URL(fileURLWithPath: argument).resolvingSymlinksInPath().path
            let found = (fm.enumerator(atPath: folder)?.allObjects as? [String] ?? [])
                .filter { path in
                    let url = URL(fileURLWithPath: path)
                    return audioExtensions.contains(url.pathExtension.lowercased())
                        && !StemContent.allNames.contains(url.deletingPathExtension().lastPathComponent.lowercased())
                        && !url.lastPathComponent.hasPrefix(".")
                }
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            result += found.map { URL(fileURLWithPath: argument).appendingPathComponent($0) }
                .filter { url in outputPrefix.map { !url.standardizedFileURL.path.hasPrefix($0) } ?? true }
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
    /// Separates each input into `<out>/<song name>/{bass,drums,other,vocals}.wav` (the default
    /// options), skipping songs whose four stems exist unless `force`.
    public func predict(_ inputs: [URL], out: URL, format: SampleFormat, force: Bool, progress: Bool = false,
                        report: @escaping (PredictOutcome) -> Void = { _ in }) throws -> [PredictOutcome] {
        var options = PredictOptions(out: out)
        options.format = AudioFileFormat(rawValue: format.rawValue)!
        options.force = force
        options.progress = progress
        return try predict(PredictPlan.make(inputs, options: options), options: options, report: report)
    }

    /// Separates the planned songs, `options.jobs` at a time, and returns what happened to each in
    /// the plan's order; `report` hears of each song as it finishes (from one thread at a time).
    ///
    /// Each job has its own network engine (the weights are shared, read-only); a job's separation
    /// runs on max(1, min(2, cores ÷ jobs)) threads (the cores this process may run on: one per rank
    /// when mpirun binds ranks to cores), which changes no result. On Ctrl-C (and after
    /// an error) no new song starts; on Ctrl-C the songs in progress are abandoned within a segment,
    /// leaving none of their files, and fewer outcomes than songs come back. An error is thrown
    /// once the songs in progress have finished; the first in the plan's order wins.
    public func predict(_ songs: [SongPlan], options: PredictOptions,
                        report: @escaping (PredictOutcome) -> Void = { _ in }) throws -> [PredictOutcome] {
        let jobs = max(1, min(options.jobs, songs.count))
        let run = PredictRun(songs: songs, options: options, jobs: jobs, report: report)
        if jobs == 1 {
            run.work(self)
        } else {
            let cores = ResourceUsage.availableCores
            let group = DispatchGroup()
            for j in 0..<jobs {
                let separator = j == 0 ? self : Separator(network: network, config: config)
                separator.windowHop = windowHop
                separator.batchSize = batchSize
                separator.segmentFrames = segmentFrames
                separator.threads = max(1, min(2, cores / jobs))
                group.enter()
                let thread = Thread { run.work(separator); group.leave() }
                thread.stackSize = 8 << 20
                thread.start()
            }
            group.wait()
        }
        return try run.finish()
    }
}

/// The songs of one `predict` call and what became of them, shared by its jobs behind one lock.
private final class PredictRun: @unchecked Sendable {
    let songs: [SongPlan]
    let options: PredictOptions
    let jobs: Int
    let report: (PredictOutcome) -> Void
    private let lock = NSLock()
    private var next = 0
    private var outcomes: [PredictOutcome?]
    private var failures: [(index: Int, error: Error)] = []

    init(songs: [SongPlan], options: PredictOptions, jobs: Int, report: @escaping (PredictOutcome) -> Void) {
        self.songs = songs
        self.options = options
        self.jobs = jobs
        self.report = report
        outcomes = Array(repeating: nil, count: songs.count)
    }

    /// Takes songs until none is left, one has failed, or the user asked to stop.
    func work(_ separator: Separator) {
        while true {
            lock.lock()
            guard next < songs.count, failures.isEmpty, !Interrupt.requested else { lock.unlock(); return }
            let index = next
            next += 1
            lock.unlock()
            let outcome: PredictOutcome
            do {
                outcome = try separate(songs[index], with: separator)
            } catch is SeparationStopped {
                return
            } catch {
                lock.lock(); failures.append((index, error)); lock.unlock()
                return
            }
            lock.lock()
            outcomes[index] = outcome
            report(outcome)
            lock.unlock()
        }
    }

    private func separate(_ song: SongPlan, with separator: Separator) throws -> PredictOutcome {
        if !options.force && song.isDone {
            return .skipped(song: song.track, folder: commonFolder(of: song.outputs.map(\.url)))
        }
        var file = SeparationFileOptions()
        file.format = options.format.sampleFormat
        file.mp3Bitrate = options.mp3Bitrate
        file.frames = song.frames
        // A bar per song with one job; with several, the bars would share one terminal line.
        file.progress = options.progress && jobs == 1 ? song.track : nil
        file.shouldStop = { Interrupt.requested }
        let r = try separator.separateFile(song.input, writing: song.outputs, options: file)
        return .separated(SongSeparationReport(song: song.track, outputs: r.outputs, duration: r.duration,
                                               seconds: r.seconds, clippedSamples: r.clippedSamples))
    }

    /// The outcomes in the songs' order, or the first failure in that order.
    func finish() throws -> [PredictOutcome] {
        if let first = failures.min(by: { $0.index < $1.index }) { throw first.error }
        return outcomes.compactMap { $0 }
    }
}
