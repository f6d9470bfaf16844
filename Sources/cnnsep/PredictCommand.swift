import ArgumentParser
import Audio
import Configuration
import Distributed
import Foundation
import Inference
import Support

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Separate songs into stems: <out>/<song>/{bass,drums,other,vocals}.wav by default.",
        discussion: """
        Stems have the input's sample rate and channel count and add up to the input. Folders are \
        searched (recursively, in sorted order) for audio files; files named like an output (vocals, \
        no_vocals, …) and files under --out are not songs. A song whose files all exist is skipped unless --force.

        The model: --checkpoint FILE; else, with --config C, C's run (Checkpoints/<C>/latest.h5); else \
        the first found of Models/cnnsep.h5 (in the current folder, then beside the cnnsep binary or up \
        to three folders above it), Checkpoints/dsd100/latest.h5, Checkpoints/demo/latest.h5. A \
        checkpoint carries its own config: no Configs/ folder is needed.

        --filename fields: {track} (the song's name: the file name without extension, or the folder's \
        name for mixture.*; two songs of one call with the same name get their parent folders' names \
        in front, as many as it takes: album1/01 and album2/01), {trackext} (the input's extension), \
        {stem}, {ext} (the format's extension). Two files that would land on one path, or an output \
        that would replace an input, are refused before any work.

        Under mpirun/srun (mpirun -q -np N cnnsep predict ...) the songs are shared out over the N \
        processes (ranks), longest first to the rank with the least audio so far, so that the ranks \
        finish together; each rank writes its own songs' files and prints their lines, prefixed \
        "rank R:", and rank 0 ends with the totals. -j applies per rank.
        """)

    @Argument(help: "Songs (audio files) or folders holding them.")
    var songs: [String]

    @Option(help: "Weights to use (a cnnsep checkpoint, or a Keras weights file with --config for its settings).")
    var checkpoint: String?

    @Option(help: "Config (path or name under Configs/) whose run's checkpoint to use when --checkpoint is not given.")
    var config: String?

    @Option(help: "Output folder.")
    var out: String = "separated"

    @Option(help: "Path of each output file under --out, with fields {track}, {trackext}, {stem}, {ext}.")
    var filename: String = OutputTemplate.defaultPattern

    @Option(help: "Write only these stems (comma-separated: bass, drums, other, vocals).")
    var stems: String?

    @Option(name: .customLong("two-stems"), help: "Write this stem and no_<stem> (the input minus it), e.g. vocals and no_vocals.")
    var twoStems: String?

    @Option(help: "Separate from this many seconds into each song.")
    var start: Double?

    @Option(help: "Separate this many seconds (to the song's end if it comes first).")
    var duration: Double?

    @Option(help: "Output format: \(AudioFileFormat.list) (wav16/wav24/float: WAV; flac: 16-bit, flac24: 24-bit; mp3: constant bit rate).")
    var format: String = "wav16"

    @Option(name: .customLong("mp3-bitrate"), help: "MP3 bit rate in kbit/s (\(MP3BitRate.allowed.map(String.init).joined(separator: ", ")); default \(MP3BitRate.default)).")
    var mp3Bitrate: Int?

    @OptionGroup(title: "How the model is run over a song")
    var separation: SeparationOptions

    @Flag(help: "Separate again even when a song's files all exist.")
    var force = false

    @Flag(name: .shortAndLong, help: "Print nothing but warnings and errors (no progress, no line per song).")
    var quiet = false

    @Option(name: .shortAndLong, help: "Songs separated at once (per rank under mpirun); each uses max(1, min(2, cores ÷ jobs)) threads of the cores the process may use. Results are the same for any value.")
    var jobs: Int = 1

    func validate() throws {
        guard let format = AudioFileFormat(rawValue: format) else {
            throw ValidationError("--format must be \(AudioFileFormat.list), got '\(self.format)'")
        }
        if let mp3Bitrate {
            guard format == .mp3 else { throw ValidationError("--mp3-bitrate applies to --format mp3 only") }
            guard MP3BitRate.allowed.contains(mp3Bitrate) else {
                throw ValidationError("--mp3-bitrate must be one of \(MP3BitRate.allowed.map(String.init).joined(separator: ", ")), got \(mp3Bitrate)")
            }
        }
        if let start, !(start.isFinite && start >= 0) {
            throw ValidationError("--start must be a finite number of seconds ≥ 0, got \(start)")
        }
        try validateSeconds(duration, option: "--duration")
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
        do {
            _ = try OutputTemplate(filename)
            _ = try StemSelection.parse(stems: stems, twoStems: twoStems)
        } catch let error as CNNSepError {
            throw ValidationError(error.message)
        }
    }

    func run() throws {
        // Under mpirun/srun each rank separates its share of the songs; a plain process does them all.
        let ranks = Cluster.join()
        Interrupt.install()
        let started = Date()
        // Every rank reads the model and plans every song; a refusal is one line, from rank 0.
        let (separator, plan, options) = try ranks.together { try prepare(ranks: ranks) }
        // Before any rank writes (the others wait for rank 0 in SongShard's agreement).
        if ranks.isRoot { removeStaleTemporaries(plan) }
        let shard = try SongShard(ranks: ranks, seconds: plan.map { song in
            !options.force && song.isDone ? 0 : Double(song.frames.count) / Double(song.info.sampleRate)
        }, fingerprint: plan.map { "\($0.input.path) \($0.frames) \($0.info.sampleRate) \($0.isDone)" })
        let prefix = shard.prefix
        let mine = shard.mine.map { plan[$0] }
        let outcomes = try separator.predict(mine, options: options) { outcome in
            switch outcome {
            case .skipped(let song, let folder):
                if !quiet { print("\(prefix)\(song): files exist in \(folder.relativePath), skipped (use --force to redo)") }
            case .separated(let r):
                if !quiet {
                    print(prefix + String(format: "%@: %.1f s of audio in %.2f s (%.0f× real time) → %@", r.song, r.duration,
                                          r.seconds, r.realTimeFactor, r.folder.relativePath))
                }
                if r.clippedSamples > 0 {
                    note("warning: \(prefix)\(r.song): \(r.clippedSamples) samples beyond full scale were clipped; use --format float to keep them")
                }
            }
            fflush(stdout)
        }
        // The job's totals on every rank: they all end alike, 0 or 130.
        var totals = [0, 0, 0, Double(mine.count - outcomes.count)]
        for outcome in outcomes {
            switch outcome {
            case .separated(let r): (totals[0], totals[2]) = (totals[0] + 1, totals[2] + r.duration)
            case .skipped: totals[1] += 1
            }
        }
        ranks.allreduce(&totals, .sum)
        let done = Int(totals[0] + totals[1])
        if totals[3] > 0 {
            if ranks.isRoot { note("interrupted: \(done) of \(plan.count) songs done; the same command again does the rest") }
            Cluster.finish()  // every rank stopped cleanly: nothing to abort
            throw ExitCode(130)
        }
        if ranks.size > 1 && ranks.isRoot && !quiet {
            let seconds = Date().timeIntervalSince(started)
            print(String(format: "%d ranks: %d song%@ separated, %d skipped; %.1f s of audio in %.2f s (%.0f× real time)",
                         ranks.size, Int(totals[0]), Int(totals[0]) == 1 ? "" : "s", Int(totals[1]), totals[2], seconds, totals[2] / seconds))
        }
    }

    /// The model, the plan of every song (checked before any work) and the options; rank 0 names the
    /// default model.
    func prepare(ranks: any Communicator) throws -> (Separator, [SongPlan], PredictOptions) {
        let given = try config.map(loadConfig)
        let weights: URL
        if let checkpoint {
            weights = URL(fileURLWithPath: checkpoint)
        } else if let given {
            weights = try TrainedModel.latest(for: given)
        } else {
            let here = FileManager.default.currentDirectoryPath
            guard let found = TrainedModel.findDefault(in: URL(fileURLWithPath: here), executable: Bundle.main.executableURL) else {
                throw CNNSepError(TrainedModel.noModelHint)
            }
            weights = found
            if ranks.isRoot && !quiet { note("model: " + (found.path.hasPrefix(here + "/") ? String(found.path.dropFirst(here.count + 1)) : found.path)) }
        }
        let inputs = try SongFinder.find(songs, output: URL(fileURLWithPath: out))
        guard !inputs.isEmpty else { throw CNNSepError("\(songs.joined(separator: ", ")): no audio files found") }
        var options = PredictOptions(out: URL(fileURLWithPath: out), template: try OutputTemplate(filename))
        options.selection = try StemSelection.parse(stems: stems, twoStems: twoStems)
        options.format = AudioFileFormat(rawValue: format)!
        options.mp3Bitrate = mp3Bitrate ?? MP3BitRate.default
        (options.start, options.duration) = (start, duration)
        options.force = force
        options.jobs = jobs
        // Bars of several ranks (or jobs) would share one terminal line: there, each song's line is the progress.
        options.progress = !quiet && ranks.size == 1
        let plan = try PredictPlan.make(inputs, options: options)
        // A model without a stored config (a Keras weights file) takes its settings from --config or the defaults.
        // How it is run over a song: --config's separation section, else the checkpoint's; then the options.
        let separator = try Separator(checkpoint: weights, fallback: given ?? Config(), separation: given?.separation)
        try separation.apply(to: separator)
        separator.threads = SongShard.threads
        for song in plan { try separator.checkRate(of: song.input, sampleRate: song.info.sampleRate) }
        return (separator, plan, options)
    }

    /// Temporaries of ours that a killed predict left in the folders we are about to write into.
    func removeStaleTemporaries(_ plan: [SongPlan]) {
        for folder in Set(plan.flatMap { $0.outputs.map { $0.url.deletingLastPathComponent().path } }).sorted() {
            let removed = AtomicFile.removeStaleTemporaries(in: URL(fileURLWithPath: folder))
            if !removed.isEmpty && !quiet {
                note("removed \(removed.count) stale temporary file\(removed.count == 1 ? "" : "s") from \(folder)")
            }
        }
    }
}
