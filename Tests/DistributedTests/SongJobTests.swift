import Audio
import Data
import Foundation
import Support
import TestHelpers
import Testing

/// `mpirun -np N cnnsep predict` and `eval` with the tiny model (64-sample STFT): the songs are
/// shared out over the ranks, and the files and the summary are the ones a single process writes.
@Suite(.enabled(if: MPIJob.mpirun != nil, "mpirun not found: install openmpi-bin (make deps)"))
struct SongJobTests {
    /// The tiny model and songs a, b, c, d of 0.4, 0.3, 0.25 and 0.15 s (b at 48 kHz, c mono) in
    /// `songs/`. Dealt longest first to the rank with the least audio so far: a → rank 0, b → 1,
    /// c → 1 (0.3 < 0.4), d → 0 (0.4 < 0.55).
    static func setUp(_ name: String = #function, lengths: [(String, Double)] = [("a", 0.4), ("b", 0.3), ("c", 0.25), ("d", 0.15)]) throws -> URL {
        let folder = temporaryFolder(name)
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        for (k, (song, seconds)) in lengths.enumerated() {
            try writeSong(folder.appendingPathComponent("songs/\(song).wav"), seconds: seconds, rate: song == "b" ? 48_000 : 44_100,
                          channels: song == "c" ? 1 : 2, seed: 50 + UInt64(k))
        }
        return folder
    }

    static func predict(_ folder: URL, ranks: Int?, out: String, timeout: Double = 60,
                        watch: ((String, Int32) -> Bool)? = nil) throws -> MPIJob {
        try MPIJob.run(ranks: ranks, ["predict", folder.appendingPathComponent("songs").path, "--checkpoint",
                                      folder.appendingPathComponent("model.h5").path, "--format", "float",
                                      "--out", folder.appendingPathComponent(out).path], timeout: timeout, watch: watch)
    }

    /// The lines of standard error that report an error ("error: …", or "Error: …" from outside an
    /// MPI job), progress lines aside.
    static func errors(_ job: MPIJob) -> [String] {
        job.stderr.split(separator: "\n").map(String.init).filter { $0.lowercased().contains("error") }
    }

    /// Every file under `folder`, relative, sorted.
    static func files(_ folder: URL) -> [String] {
        ((FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String]) ?? []).filter { name in
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path, isDirectory: &isFolder) && !isFolder.boolValue
        }.sorted()
    }

    /// Same file names and the same samples (float WAV bytes differ anyway: libsndfile stamps the
    /// time into their PEAK chunk).
    static func expectSameStems(_ a: URL, _ b: URL, count: Int) throws {
        let names = files(a)
        #expect(names.count == count && files(b) == names, "\(names) vs \(files(b))")
        for name in names {
            #expect(try AudioFile.read(a.appendingPathComponent(name)).channels == AudioFile.read(b.appendingPathComponent(name)).channels, "\(name)")
        }
    }

    @Test func twoRanksWriteTheStemsOneProcessWrites() throws {
        let folder = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = try Self.predict(folder, ranks: nil, out: "one")
        let two = try Self.predict(folder, ranks: 2, out: "two")
        #expect(one.status == 0 && two.status == 0, "one process: \(one.stderr)\n2 ranks: \(two.stderr)")
        try Self.expectSameStems(folder.appendingPathComponent("one"), folder.appendingPathComponent("two"), count: 16)
        // Each song's line comes from the rank it was dealt to; rank 0 ends with the totals.
        for (song, rank) in [("a", 0), ("b", 1), ("c", 1), ("d", 0)] {
            let lines = two.lines.filter { $0.contains(" \(song): ") }
            #expect(lines.count == 1 && lines[0].hasPrefix("rank \(rank): \(song): ") && lines[0].contains(" s of audio in "), "\(two.stdout)")
        }
        #expect(two.lines.count == 5 && two.lines.last?.hasPrefix("2 ranks: 4 songs separated, 0 skipped; 1.1 s of audio in ") == true, "\(two.stdout)")
        #expect(two.stderr.isEmpty, "\(two.stderr)")
        // Once more: every song is skipped, and nothing is written.
        let again = try Self.predict(folder, ranks: 2, out: "two")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.lines.filter { $0.hasSuffix("skipped (use --force to redo)") }.count == 4, "\(again.stdout)")
        #expect(again.lines.last?.hasPrefix("2 ranks: 0 songs separated, 4 skipped; 0.0 s of audio") == true, "\(again.stdout)")
    }

    /// Two songs on three ranks: rank 2 has nothing to do, and the job still ends normally.
    @Test func threeRanksShareTwoSongs() throws {
        let folder = try Self.setUp(lengths: [("a", 0.3), ("d", 0.2)])
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = try Self.predict(folder, ranks: nil, out: "one")
        let three = try Self.predict(folder, ranks: 3, out: "three")
        #expect(one.status == 0 && three.status == 0, "one process: \(one.stderr)\n3 ranks: \(three.stderr)")
        try Self.expectSameStems(folder.appendingPathComponent("one"), folder.appendingPathComponent("three"), count: 8)
        #expect(three.lines.contains { $0.hasPrefix("rank 0: a: ") } && three.lines.contains { $0.hasPrefix("rank 1: d: ") }, "\(three.stdout)")
        #expect(!three.stdout.contains("rank 2:"), "\(three.stdout)")
        #expect(three.lines.last?.hasPrefix("3 ranks: 2 songs separated, 0 skipped; 0.5 s of audio in ") == true, "\(three.stdout)")
    }

    /// Song b (rank 1's first) holds a NaN that only reading its samples finds: rank 1 ends the job
    /// with one line naming the file and the cause, instead of a hang; b has no stems, and every
    /// other song has all four or none (rank 0 is stopped wherever it was).
    @Test func aRankThatMeetsABadSongEndsTheJobWithOneLineNamingIt() throws {
        let folder = try Self.setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bad = folder.appendingPathComponent("songs/b.wav")
        try Self.poison(bad, frame: 1000)
        let job = try Self.predict(folder, ranks: 2, out: "out")
        #expect(job.status != 0)
        #expect(Self.errors(job) == ["error: rank 1: \(bad.path): sample 1000 of channel 0 is nan; audio must be finite"], "\(job.stderr)")
        let written = Self.files(folder.appendingPathComponent("out")).filter { !$0.hasSuffix(".tmp") }
        let songs = Dictionary(grouping: written) { $0.split(separator: "/")[0] }
        #expect(songs["b"] == nil, "\(written)")
        for (song, stems) in songs { #expect(stems.count == 4, "\(song): \(stems)") }
    }

    /// SIGTERM to rank 1 alone once it has separated a song: it abandons the song it is on (no
    /// stems, no temporaries of it), rank 0 finishes its own, and the job ends with 130 and rank 0's
    /// count of the songs done; the same command then does the rest.
    @Test func anInterruptedRankStopsCleanlyAndTheSameCommandDoesTheRest() throws {
        let folder = try Self.setUp(lengths: (0..<8).map { ("s\($0)", 1.0) })
        defer { try? FileManager.default.removeItem(at: folder) }
        var signalled = false
        let job = try Self.predict(folder, ranks: 2, out: "out", timeout: 120) { stdout, mpirun in
            guard stdout.contains("rank 1: "), let rank1 = MPIJob.rankProcess(1, of: mpirun) else { return false }
            kill(rank1, SIGTERM)
            signalled = true
            return true
        }
        #expect(signalled)
        #expect(job.status == 130, "\(job.stderr)")
        let done = job.lines.filter { $0.contains(" s of audio in ") }.count
        #expect(job.stderr.contains("interrupted: \(done) of 8 songs done; the same command again does the rest"), "\(job.stderr)")
        #expect(Self.errors(job).isEmpty, "\(job.stderr)")
        let written = Self.files(folder.appendingPathComponent("out"))
        #expect(written.count == 4 * done && done < 8, "\(done) songs reported: \(written)")
        let rest = try Self.predict(folder, ranks: 2, out: "out", timeout: 120)
        #expect(rest.status == 0, "\(rest.stderr)")
        #expect(rest.lines.last?.hasPrefix("2 ranks: \(8 - done) songs separated, \(done) skipped;") == true, "\(rest.stdout)")
        #expect(Self.files(folder.appendingPathComponent("out")).count == 32)
    }

    /// SIGUSR1 to every rank, as `kill -USR1 <mpirun>` does at once (and mpirun's SIGTERM a second
    /// after a Ctrl-C): every rank abandons the song it is on, and the job ends with 130, leaving
    /// whole songs only and no temporaries. (The ranks are signalled directly: an mpirun started by
    /// the test runner inherits its blocked signals and would not pass SIGUSR1 on.)
    @Test func sigusr1ToEveryRankStopsThemAll() throws {
        let folder = try Self.setUp(lengths: (0..<8).map { ("s\($0)", 1.0) })
        defer { try? FileManager.default.removeItem(at: folder) }
        var signalled = false
        let job = try Self.predict(folder, ranks: 2, out: "out", timeout: 120) { stdout, mpirun in
            guard stdout.contains(" s of audio in "), let rank0 = MPIJob.rankProcess(0, of: mpirun),
                  let rank1 = MPIJob.rankProcess(1, of: mpirun) else { return false }
            kill(rank0, SIGUSR1)
            kill(rank1, SIGUSR1)
            signalled = true
            return true
        }
        #expect(signalled)
        #expect(job.status == 130, "\(job.stderr)")
        let done = job.lines.filter { $0.contains(" s of audio in ") }.count
        // One count, from rank 0, of the songs every rank did.
        #expect(job.stderr.components(separatedBy: "interrupted:").count == 2 && job.stderr.contains("interrupted: \(done) of 8 songs done"), "\(job.stderr)")
        #expect(job.lines.allSatisfy { $0.hasPrefix("rank 0: s") || $0.hasPrefix("rank 1: s") }, "\(job.stdout)")
        #expect(Self.errors(job).isEmpty, "\(job.stderr)")
        let written = Self.files(folder.appendingPathComponent("out"))
        #expect(written.count == 4 * done && done < 6, "\(done) songs reported: \(written)")
    }

    /// What every rank checks before any work is refused with one line: rank 0's when all ranks
    /// meet the problem (two songs on one path), the lowest failing rank's when only some do
    /// (mpirun's two-program form gives rank 1 a folder that is not there), and rank 0's naming the
    /// rank that found other songs than it did.
    @Test func refusalsBeforeAnyWorkAreOneLine() throws {
        let folder = try Self.setUp(lengths: [("a", 0.1), ("b", 0.1)])
        defer { try? FileManager.default.removeItem(at: folder) }
        let songs = folder.appendingPathComponent("songs"), model = folder.appendingPathComponent("model.h5").path
        let out = folder.appendingPathComponent("out")
        func predict(_ rank1: [String]?, _ arguments: [String]) throws -> MPIJob {
            let command = ["predict", "--checkpoint", model, "--out", out.path] + arguments
            guard let rank1 else { return try MPIJob.run(ranks: 2, command, timeout: 60) }
            return try MPIJob.run(ranks: 1, command + [":", "-np", "1", MPIJob.cnnsep.path, "predict", "--checkpoint", model, "--out", out.path] + rank1, timeout: 60)
        }
        let collision = try predict(nil, [songs.path, "--filename", "{stem}.{ext}"])
        #expect(collision.status != 0)
        #expect(Self.errors(collision) == ["error: rank 0: \(songs.path)/a.wav and \(songs.path)/b.wav would both be written to \(out.path)/bass.wav (put {track} in --filename)"],
                "\(collision.stderr)")
        let missing = try predict([folder.appendingPathComponent("nowhere").path], [songs.path])
        #expect(missing.status != 0)
        #expect(Self.errors(missing) == ["error: rank 1: \(folder.appendingPathComponent("nowhere").path): no such file or folder"], "\(missing.stderr)")
        let other = try predict([songs.appendingPathComponent("a.wav").path], [songs.path])
        #expect(other.status != 0)
        #expect(Self.errors(other) == ["error: rank 0: rank 1 differs from rank 0 in the songs found, their lengths or whether their outputs exist: every host needs the same songs and folders at the same paths"],
                "\(other.stderr)")
        #expect(Self.files(out).isEmpty, "\(Self.files(out))")
    }

    /// Writes NaN over channel 0 of `frame` in a float WAV file (AudioFile.write refuses to).
    static func poison(_ url: URL, frame: Int) throws {
        var bytes = [UInt8](try Data(contentsOf: url))
        let channels = try AudioFile.info(url).channelCount
        var offset = 12  // after "RIFF", its size and "WAVE": chunks of id, size (little-endian), body
        while offset + 8 <= bytes.count, String(decoding: bytes[offset..<offset + 4], as: UTF8.self) != "data" {
            offset += 8 + bytes[offset + 4..<offset + 8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        }
        let sample = offset + 8 + frame * channels * 4
        try #require(sample + 4 <= bytes.count, "no data chunk in \(url.path)")
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { for (i, b) in $0.enumerated() { bytes[sample + i] = b } }
        try Data(bytes).write(to: url)
    }

    // MARK: eval

    /// The tiny model and `songs` demo songs of 0.3 s in Test (equal lengths: dealt round the ranks).
    static func evalSetUp(_ name: String = #function, songs: Int) throws -> URL {
        let folder = temporaryFolder(name)
        var synth = SynthSettings()
        (synth.devSongs, synth.testSongs, synth.seconds, synth.seed) = (0, songs, 0.3, 9)
        try DemoSynth.write(to: folder.appendingPathComponent("data"), settings: synth, progress: false)
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"), datasetRoot: folder.appendingPathComponent("data").path)
        return folder
    }

    static func eval(_ folder: URL, ranks: Int?, out: String, songs: Int) throws -> MPIJob {
        try MPIJob.run(ranks: ranks, ["eval", "--checkpoint", folder.appendingPathComponent("model.h5").path, "--oracle",
                                      "--songs", "\(songs)", "--out", folder.appendingPathComponent(out).path,
                                      "--json", folder.appendingPathComponent("\(out).json").path], timeout: 60)
    }

    /// 3 songs on 2 ranks, and 2 songs on 3 ranks (one idle): the same summary, scores.csv, --json
    /// and per-song files as one process, byte for byte.
    @Test(arguments: [(ranks: 2, songs: 3), (ranks: 3, songs: 2)])
    func evalOnSeveralRanksGivesTheSingleProcessSummary(ranks: Int, songs: Int) throws {
        let folder = try Self.evalSetUp(songs: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        let one = try Self.eval(folder, ranks: nil, out: "one", songs: songs)
        let many = try Self.eval(folder, ranks: ranks, out: "many", songs: songs)
        #expect(one.status == 0 && many.status == 0, "one process: \(one.stderr)\n\(ranks) ranks: \(many.stderr)")
        #expect(one.lines.first == "\(songs) songs of Test, checkpoint \(folder.appendingPathComponent("model.h5").path)")
        #expect(one.lines.contains { $0.hasPrefix("share of the oracle's gain") })
        #expect(many.lines.dropLast() == one.lines.dropLast(), "one process:\n\(one.stdout)\n\(ranks) ranks:\n\(many.stdout)")
        #expect(many.lines.last == "per-song scores: \(folder.appendingPathComponent("many").path)/")
        let names = Self.files(folder.appendingPathComponent("one"))
        #expect(names.count == songs + 1 && names.contains("scores.csv") && Self.files(folder.appendingPathComponent("many")) == names)
        for name in names {
            #expect(try Data(contentsOf: folder.appendingPathComponent("one/\(name)")) == Data(contentsOf: folder.appendingPathComponent("many/\(name)")), "\(name)")
        }
        #expect(try Data(contentsOf: folder.appendingPathComponent("one.json")) == Data(contentsOf: folder.appendingPathComponent("many.json")))
    }

    /// The second song (rank 1's) has a bass stem shorter than its mixture: rank 1's one line names
    /// the file and the lengths, and no summary is written.
    @Test func evalEndsWithTheFailingRanksLine() throws {
        let folder = try Self.evalSetUp(songs: 3)
        defer { try? FileManager.default.removeItem(at: folder) }
        let second = try Dataset.open(folder.appendingPathComponent("data")).songs(split: "Test")[1]
        let bass = try AudioFile.read(second.sources[0])
        try AudioFile.write(AudioBuffer(sampleRate: bass.sampleRate, channels: bass.channels.map { Array($0.prefix(1000)) }), to: second.sources[0])
        let job = try Self.eval(folder, ranks: 2, out: "out", songs: 3)
        #expect(job.status != 0)
        #expect(Self.errors(job) == ["error: rank 1: \(second.sources[0].path): 1000 samples, the mixture has \(bass.frameCount)"], "\(job.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/scores.csv").path))
    }
}
