import Foundation
import Network
import Testing

/// `mpirun -np N cnnsep train` on a tiny model (16-sample STFT, 9 bins, T = 6) and a synthetic
/// dataset, against `cnnsep train` in one process: the runs the issue asks to be equal.
@Suite(.enabled(if: MPIJob.mpirun != nil, "mpirun not found: install openmpi-bin (make deps)"))
struct TrainingJobTests {
    /// A dataset of `songs` synthetic songs of 0.2 s and a config file in a fresh folder; the last
    /// `validation` songs are held out for the validation loss.
    struct Setup {
        let folder: URL
        let config: URL
        func run(_ name: String) -> URL { folder.appendingPathComponent(name) }
    }

    static func setup(_ name: String = #function, songs: Int, validation: Int = 0, schedule: String) throws -> Setup {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cnnsep-mpi-\(name.filter(\.isLetter))-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let data = folder.appendingPathComponent("data")
        let synth = try MPIJob.run(ranks: nil, ["synth", "--out", data.path, "--dev", "\(songs)", "--test", "0", "--seconds", "0.2"])
        #expect(synth.status == 0, "synth: \(synth.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: data.appendingPathComponent("Mixtures/Dev").path).sorted()
        let held = names.suffix(validation).map { "\"\($0)\"" }.joined(separator: ", ")
        let config = folder.appendingPathComponent("tiny.json")
        try Data("""
            { "dataset": { "root": "\(data.path)", "validation_songs": [\(held)] },
              "audio": { "window_length": 16, "hop": 4 }, "input_scale": 0.05,
              "model": { "frames": 6, "t1": 1, "f1": 9, "n1": 3, "t2": 3, "f2": 1, "n2": 2, "dense": 4 },
              "schedule": \(schedule) }
            """.utf8).write(to: config)
        return Setup(folder: folder, config: config)
    }

    static func train(_ setup: Setup, ranks: Int?, runDir: String, timeout: Double = 120,
                      watch: ((String, Int32) -> Bool)? = nil) throws -> MPIJob {
        try MPIJob.run(ranks: ranks, ["train", "--config", setup.config.path, "--run-dir", setup.run(runDir).path],
                       timeout: timeout, watch: watch)
    }

    static func checkpoint(_ setup: Setup, _ runDir: String) throws -> Checkpoint {
        try Checkpoint.load(setup.run(runDir).appendingPathComponent("latest.h5"))
    }

    static func log(_ setup: Setup, _ runDir: String) throws -> String {
        try String(contentsOf: setup.run(runDir).appendingPathComponent("log.jsonl"), encoding: .utf8)
    }

    /// The lines of standard error that report an error (progress lines aside).
    static func errors(_ job: MPIJob) -> [String] {
        job.stderr.split(separator: "\n").map(String.init).filter { $0.contains("error") }
    }

    /// Every weight and both optimizer accumulators, as bits, in layer order.
    static func bits(_ c: Checkpoint) -> [UInt32] {
        c.layers.flatMap { l in
            let slots = ["kernel", "bias"].compactMap { c.optimizer["\(l.name)/\($0)"] }
            return (l.kernel.data + l.bias.data + slots.flatMap { $0.squaredGradient.data + $0.squaredUpdate.data }).map(\.bitPattern)
        }
    }

    /// One block of one song (368 windows of T = 6), one epoch of batches of 121 windows: 3 steps.
    /// 2 ranks compute shards of 60 and 61 windows, 3 ranks 40, 40 and 41. Two more songs are held
    /// out: one validation song for each of ranks 0 and 1 (none for rank 2).
    @Test(arguments: [2, 3])
    func ranksTrainLikeOneProcessWithTheSameGlobalBatch(ranks: Int) throws {
        let s = try Self.setup(songs: 3, validation: 2, schedule: """
            { "block_size": 1, "block_hop": 1, "repetitions": 1, "epochs_per_block": 1, "batch_size": 121, "window_hop": 6 }
            """)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let one = try Self.train(s, ranks: nil, runDir: "one")
        let many = try Self.train(s, ranks: ranks, runDir: "many")
        #expect(one.status == 0 && many.status == 0, "one process: \(one.stderr)\n\(ranks) ranks: \(many.stderr)")
        #expect(!many.stderr.contains("error"), "\(many.stderr)")
        let reference = try Self.checkpoint(s, "one"), result = try Self.checkpoint(s, "many")
        #expect(reference.position?.step == 3 && result.position?.step == 3)
        for (r, m) in zip(reference.layers, result.layers) {
            for (what, a, b) in [("kernel", r.kernel.data, m.kernel.data), ("bias", r.bias.data, m.bias.data)] {
                let scale = a.map { Swift.abs($0) }.max()!, worst = zip(a, b).map { Swift.abs($0 - $1) }.max()!
                #expect(scale > 0 && worst <= 1e-5 * scale, "\(r.name) \(what): largest difference \(worst) of \(scale) after 3 steps")
            }
        }
        // The logged epoch loss is the global batches' (summed shard losses), not one shard's, and
        // the validation loss covers every validation song, whichever rank computed it.
        for key in ["loss", "val_loss"] {
            func value(_ log: String) -> Double? {
                (try? JSONSerialization.jsonObject(with: Data(log.utf8)) as? [String: Any])?[key] as? Double
            }
            let (a, b) = (value(try Self.log(s, "one")), value(try Self.log(s, "many")))
            #expect(a != nil && b != nil && Swift.abs(a! - b!) <= 1e-5 * Swift.abs(a!), "\(key) \(String(describing: a)) vs \(String(describing: b))")
        }
    }

    /// Remixing draws each remixed window's stems and gains from the shuffle generator, which every
    /// rank runs alike: a rank's shard of a remixed batch holds the remixes one process puts at those
    /// positions, so 2 ranks still train like one process (3 songs in one block, half the windows remixed).
    @Test func remixedBatchesTrainLikeOneProcess() throws {
        let s = try Self.setup(songs: 3, schedule: """
            { "block_size": 3, "block_hop": 3, "repetitions": 1, "epochs_per_block": 1, "batch_size": 300, "window_hop": 6,
              "remix": 0.5, "remix_gains": [0.25, 1.25] }
            """)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let one = try Self.train(s, ranks: nil, runDir: "one")
        let many = try Self.train(s, ranks: 2, runDir: "many")
        #expect(one.status == 0 && many.status == 0, "one process: \(one.stderr)\n2 ranks: \(many.stderr)")
        let reference = try Self.checkpoint(s, "one"), result = try Self.checkpoint(s, "many")
        #expect((reference.position?.step ?? 0) >= 3 && result.position?.step == reference.position?.step)
        for (r, m) in zip(reference.layers, result.layers) {
            for (what, a, b) in [("kernel", r.kernel.data, m.kernel.data), ("bias", r.bias.data, m.bias.data)] {
                let scale = a.map { Swift.abs($0) }.max()!, worst = zip(a, b).map { Swift.abs($0 - $1) }.max()!
                #expect(scale > 0 && worst <= 1e-5 * scale, "\(r.name) \(what): largest difference \(worst) of \(scale)")
            }
        }
    }

    /// Three songs in two blocks, 3 epochs each, 2 repetitions: 276 steps of 32 windows. SIGTERM
    /// reaches rank 1 only, after the first epoch; rank 0 saves at the step they agree on. The same
    /// command then finishes the run bit for bit as an uninterrupted 2-rank run did; the interrupted
    /// checkpoint also resumes on 1 and on 3 ranks, and is an ordinary checkpoint.
    @Test func anInterruptedTwoRankRunResumesBitIdenticalToAnUninterruptedOne() throws {
        let s = try Self.setup(songs: 3, schedule: """
            { "block_size": 2, "block_hop": 1, "repetitions": 2, "epochs_per_block": 3, "batch_size": 32, "window_hop": 6 }
            """)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let whole = try Self.train(s, ranks: 2, runDir: "whole")
        #expect(whole.status == 0, "\(whole.stderr)")

        let log = s.run("cut").appendingPathComponent("log.jsonl")
        var signalled = false
        let cut = try Self.train(s, ranks: 2, runDir: "cut") { _, mpirun in
            guard ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("\n"),
                  let rank1 = MPIJob.rankProcess(1, of: mpirun) else { return false }
            kill(rank1, SIGTERM)
            signalled = true
            return true
        }
        #expect(signalled)
        #expect(cut.status == 130, "the interrupted run should stop with 130 (Ctrl-C): \(cut.stderr)")
        let stopped = try Self.checkpoint(s, "cut")
        let total = try #require(try Self.checkpoint(s, "whole").position?.step)
        #expect((stopped.position?.step ?? 0) < total, "the interrupt came after the run ended: nothing was resumed")
        for copy in ["cut-on-1", "cut-on-3"] {
            try FileManager.default.copyItem(at: s.run("cut"), to: s.run(copy))
        }

        let resumed = try Self.train(s, ranks: 2, runDir: "cut")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.log(s, "cut") == (try Self.log(s, "whole")))
        let a = try Self.checkpoint(s, "cut"), b = try Self.checkpoint(s, "whole")
        #expect(a.position == b.position && a.rngState == b.rngState && a.logLines == b.logLines)
        let identical = Self.bits(a) == Self.bits(b)
        #expect(identical, "weights or optimizer state differ after the resume")

        let onOne = try Self.train(s, ranks: nil, runDir: "cut-on-1")
        let onThree = try Self.train(s, ranks: 3, runDir: "cut-on-3")
        for (name, job) in [("cut-on-1", onOne), ("cut-on-3", onThree)] {
            #expect(job.status == 0, "\(name): \(job.stderr)")
            #expect(try Self.checkpoint(s, name).position == b.position, "\(name)")
            #expect(try Self.log(s, name).split(separator: "\n").count == (try Self.log(s, "whole")).split(separator: "\n").count, "\(name)")
        }
        let info = try MPIJob.run(ranks: nil, ["info", s.run("cut").appendingPathComponent("latest.h5").path])
        #expect(info.status == 0 && info.stdout.contains("vertical_convolution"), "info: \(info.stderr)")
    }

    /// mpirun's two-program form gives rank 1 another config: refused before training, not a hang.
    @Test func ranksWithDifferentConfigsAreRefused() throws {
        let s = try Self.setup(songs: 1, schedule: """
            { "block_size": 1, "block_hop": 1, "repetitions": 1, "epochs_per_block": 1, "batch_size": 8, "window_hop": 6 }
            """)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let other = s.folder.appendingPathComponent("other.json")
        try Data(try String(contentsOf: s.config, encoding: .utf8).replacingOccurrences(of: "\"batch_size\": 8", with: "\"batch_size\": 9").utf8).write(to: other)
        let run = s.run("run").path
        let job = try MPIJob.run(ranks: 1, ["train", "--config", s.config.path, "--run-dir", run,
                                            ":", "-np", "1", MPIJob.cnnsep.path, "train", "--config", other.path, "--run-dir", run], timeout: 60)
        #expect(job.status != 0)
        #expect(Self.errors(job) == ["error: rank 0: rank 1 differs from rank 0 in the config or the dataset (song names, windows per block): every host needs the same config and the same songs at dataset.root"],
                "\(job.stderr)")
    }

    @Test func moreRanksThanAGlobalBatchHasWindowsIsRefusedWithOneLine() throws {
        let s = try Self.setup(songs: 1, schedule: """
            { "block_size": 1, "block_hop": 1, "repetitions": 1, "epochs_per_block": 1, "batch_size": 2, "window_hop": 6 }
            """)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let job = try Self.train(s, ranks: 3, runDir: "run")
        #expect(job.status != 0)
        // Progress lines of the feature cache may come first; the error is one line, from rank 0.
        #expect(Self.errors(job) == ["error: rank 0: config 'tiny': 3 ranks for a global batch of 2 windows (key 'schedule.batch_size'): launch at most 2 ranks, or raise schedule.batch_size"],
                "\(job.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.run("run").appendingPathComponent("latest.h5").path))
    }

    /// Rank 1 builds the feature cache of every second song, so a broken second song fails on rank 1
    /// while rank 0 waits for it: the job ends with rank 1's line, and nothing is written.
    @Test func aRankThatMeetsABadSongStopsTheJobWithOneLineNamingIt() throws {
        let s = try Self.setup(songs: 2, schedule: """
            { "block_size": 2, "block_hop": 1, "repetitions": 1, "epochs_per_block": 1, "batch_size": 32, "window_hop": 6 }
            """)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let songs = try FileManager.default.contentsOfDirectory(atPath: s.folder.appendingPathComponent("data/Sources/Dev").path).sorted()
        let broken = s.folder.appendingPathComponent("data/Sources/Dev/\(songs[1])/drums.wav")
        try Data("not audio".utf8).write(to: broken)
        let job = try Self.train(s, ranks: 2, runDir: "run", timeout: 60)
        #expect(job.status != 0)
        let errors = Self.errors(job)
        #expect(errors.count == 1 && errors[0].hasPrefix("error: rank 1: \(songs[1]): ") && errors[0].hasSuffix("drums.wav: not an audio file libsndfile can read (Format not recognised.)"),
                "\(job.stderr)")
        #expect(!FileManager.default.fileExists(atPath: s.run("run").appendingPathComponent("latest.h5").path))
    }

    /// SIGKILL to rank 1 mid-run (a crash): the job ends instead of hanging, and the run folder holds
    /// a whole checkpoint (and its lock file), from which the run resumes. (If rank 0 was killed
    /// while saving, its temporary `.latest.h5.<pid>.<n>.tmp` may remain beside it, for the next run
    /// to remove; latest.h5 is never touched until a save is complete.)
    @Test func aKilledRankEndsTheJobAndLeavesAWholeCheckpoint() throws {
        let s = try Self.setup(songs: 3, schedule: """
            { "block_size": 2, "block_hop": 1, "repetitions": 2, "epochs_per_block": 3, "batch_size": 32, "window_hop": 6 }
            """)
        defer { try? FileManager.default.removeItem(at: s.folder) }
        let log = s.run("run").appendingPathComponent("log.jsonl")
        let job = try Self.train(s, ranks: 2, runDir: "run", timeout: 60) { _, mpirun in
            guard ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("\n"),
                  let rank1 = MPIJob.rankProcess(1, of: mpirun) else { return false }
            kill(rank1, SIGKILL)
            return true
        }
        #expect(job.status != 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: s.run("run").path)
        #expect(files.allSatisfy { ["latest.h5", "log.jsonl", ".lock"].contains($0) || ($0.hasPrefix(".") && $0.hasSuffix(".tmp")) }, "\(files)")
        let stopped = try Self.checkpoint(s, "run")
        #expect(stopped.position != nil && stopped.layers.count == 15)
        let resumed = try Self.train(s, ranks: 2, runDir: "run")
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.checkpoint(s, "run").position?.step == 276)
    }
}
