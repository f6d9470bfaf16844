import Audio
import Foundation
import Support
import TestHelpers
import Testing

/// `cnnsep predict`'s options, run as a user runs them: stem subsets, two stems, a stretch of the
/// song, formats, parallel jobs and Ctrl-C (issue 13.4). Stems are compared with a plain run's.
@Suite struct PredictOptionCommandTests {
    /// A folder with the tiny model and `song.wav` (0.3 s stereo float), separated once in full
    /// into `full/song/` as the reference; removed again if that fails (the caller removes it otherwise).
    func setUp(_ name: String = #function, rate: Int = 44_100) throws -> (folder: URL, song: AudioBuffer) {
        let folder = temporaryFolder(name)
        do {
            try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
            let song = try writeSong(folder.appendingPathComponent("song.wav"), seconds: 0.3, rate: rate, seed: 11)
            let full = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--format", "float", "--out", "full"], in: folder)
            try #require(full.status == 0, "\(full)")
            return (folder, song)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    /// --stems writes only the stems named, each exactly the full run's.
    @Test func stemsWritesOnlyThoseStems() throws {
        let (folder, _) = try setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--format", "float", "--stems", "vocals,drums"], in: folder)
        #expect(result.status == 0, "\(result)")
        #expect(allFiles(folder.appendingPathComponent("separated/song")) == ["drums.wav", "vocals.wav"])
        for name in ["drums.wav", "vocals.wav"] {
            #expect(try AudioFile.read(folder.appendingPathComponent("separated/song/\(name)")).channels
                    == AudioFile.read(folder.appendingPathComponent("full/song/\(name)")).channels, "\(name)")
        }
        let bad = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--stems", "vocals,piano"], in: folder)
        #expect(bad.status != 0 && bad.standardError.contains("'piano'"), "\(bad)")
    }

    /// How the model is run over the song: the checkpoint's stored separation settings (hop 3,
    /// linear) unless options say otherwise; --wiener N post-filters (the stems still add up to the
    /// input); out-of-range values are one line naming the option.
    @Test func separationOptionsOverrideTheCheckpointsSettings() throws {
        let (folder, song) = try setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        func vocals(_ extra: [String], out: String) throws -> AudioBuffer {
            let result = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--format", "float", "--out", out] + extra, in: folder)
            try #require(result.status == 0, "\(result)")
            return try AudioFile.read(folder.appendingPathComponent("\(out)/song/vocals.wav"))
        }
        let full = try AudioFile.read(folder.appendingPathComponent("full/song/vocals.wav"))
        #expect(try vocals(["--hop", "3", "--crossfade", "linear"], out: "same").channels == full.channels)
        #expect(try vocals(["--hop", "8"], out: "hop8").channels != full.channels)
        #expect(try vocals(["--wiener", "1"], out: "wiener").channels != full.channels)
        let wiener = try readStems(folder.appendingPathComponent("wiener/song"), fourStems)
        #expect(sumError(wiener, song) < 1e-5, "the post-filtered stems miss the input by \(sumError(wiener, song))")
        for (option, value, named) in [("--wiener", "11", "--wiener"), ("--hop", "0", "--hop"), ("--hop", "9", "--hop"),
                                       ("--crossfade", "cubic", "--crossfade")] {
            let bad = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", option, value, "--out", "bad"], in: folder)
            #expect(bad.status != 0 && !bad.crashed && bad.standardError.contains(named), "\(option) \(value): \(bad)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("bad").path))
        }
    }

    /// --two-stems vocals: vocals (the full run's) and no_vocals, which add up to the input.
    @Test func twoStemsAddUpToTheInput() throws {
        let (folder, song) = try setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--format", "float", "--two-stems", "vocals"], in: folder)
        #expect(result.status == 0, "\(result)")
        let out = folder.appendingPathComponent("separated/song")
        #expect(allFiles(out) == ["no_vocals.wav", "vocals.wav"])
        let pair = try readStems(out, ["vocals.wav", "no_vocals.wav"])
        #expect(sumError(pair, song) < 1e-5, "vocals + no_vocals is off the input by \(sumError(pair, song))")
        let full = try readStems(folder.appendingPathComponent("full/song"), fourStems)
        #expect(pair[0].channels == full[3].channels)
        // no_vocals is the other three stems of the full run.
        #expect(sumError([pair[1]], AudioBuffer(sampleRate: song.sampleRate, channels: (0..<2).map { c in
            (0..<song.frameCount).map { i in full[0].channels[c][i] + full[1].channels[c][i] + full[2].channels[c][i] }
        })) < 1e-6)
    }

    /// --start and --duration separate that stretch: the stems are those of a file holding only it
    /// (at the model's rate and at 48 kHz, which is converted); a duration past the end stops there.
    @Test(arguments: [44_100, 48_000])
    func startAndDurationSeparateThatStretch(rate: Int) throws {
        let (folder, song) = try setUp(rate: rate)
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = Int((0.1 * Double(rate)).rounded()), count = Int((0.15 * Double(rate)).rounded())
        let cut = AudioBuffer(sampleRate: rate, channels: song.channels.map { Array($0[first..<first + count]) })
        try AudioFile.write(cut, to: folder.appendingPathComponent("cut/song.wav"), format: .float)
        let expected = try runCNNSep(["predict", "cut/song.wav", "--checkpoint", "model.h5", "--format", "float", "--out", "expected"], in: folder)
        try #require(expected.status == 0, "\(expected)")
        let result = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--format", "float", "--start", "0.1", "--duration", "0.15"], in: folder)
        #expect(result.status == 0, "\(result)")
        let stems = try readStems(folder.appendingPathComponent("separated/song"), fourStems)
        let reference = try readStems(folder.appendingPathComponent("expected/song"), fourStems)
        for (stem, wanted) in zip(stems, reference) {
            #expect(stem.frameCount == count && stem.sampleRate == rate)
            for c in 0..<2 { #expect(stem.channels[c] == wanted.channels[c]) }
        }
        #expect(sumError(stems, cut) < 1e-5)

        let tail = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--start", "0.2", "--duration", "100", "--out", "tail"], in: folder)
        #expect(tail.status == 0, "\(tail)")
        #expect(try AudioFile.info(folder.appendingPathComponent("tail/song/vocals.wav")).frameCount == song.frameCount - Int((0.2 * Double(rate)).rounded()))
    }

    /// Values that select nothing are refused naming the option and value, before any work.
    @Test func stretchesOutsideTheSongAreRefused() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        try writeSong(folder.appendingPathComponent("song.wav"), seconds: 0.3, seed: 12)
        for (arguments, named) in [(["--start", "0.3"], "--start 0.3"), (["--start", "5"], "--start 5"), (["--start=-1"], "--start"),
                                   (["--start", "nan"], "--start"), (["--duration", "0"], "--duration"), (["--duration", "inf"], "--duration"),
                                   (["--duration", "1e-9"], "--duration")] {
            let result = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5"] + arguments, in: folder)
            #expect(result.status != 0 && !result.crashed && result.errorLines.first?.contains(named) == true, "\(arguments): \(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("separated").path))
    }

    /// flac and flac24 are lossless (the float run's stems to 16 or 24 bits); mp3 is lossy with
    /// the codec's delay: length within two MP3 frames (1,152 samples each) plus LAME's 576-sample
    /// delay, the stem's power within 25 %, and the bit rate asked for (320 kbit/s by default).
    @Test func flacAndMP3StemsAreWrittenAndReadBack() throws {
        let (folder, _) = try setUp()
        defer { try? FileManager.default.removeItem(at: folder) }
        let full = try readStems(folder.appendingPathComponent("full/song"), fourStems)
        for (format, bits) in [("flac", 16), ("flac24", 24)] {
            let result = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--format", format, "--out", format], in: folder)
            #expect(result.status == 0, "\(result)")
            let stems = try readStems(folder.appendingPathComponent("\(format)/song"), fourStems.map { $0.replacingOccurrences(of: ".wav", with: ".flac") })
            #expect(try AudioFile.info(folder.appendingPathComponent("\(format)/song/vocals.flac")).format == "FLAC, \(bits)-bit PCM")
            for (stem, reference) in zip(stems, full) {
                for c in 0..<2 {
                    let worst = zip(stem.channels[c], reference.channels[c]).map { abs($0 - $1) }.max() ?? 1
                    #expect(worst <= 1.0 / Float(1 << (bits - 1)), "\(format): off by \(worst)")
                }
            }
        }
        var sizes: [Int] = []
        for (kbps, option) in [(128, ["--mp3-bitrate", "128"]), (320, [])] {          // 320: the default
            let result = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--format", "mp3", "--out", "mp3-\(kbps)"] + option, in: folder)
            #expect(result.status == 0, "\(result)")
            let url = folder.appendingPathComponent("mp3-\(kbps)/song/vocals.mp3")
            let info = try AudioFile.info(url)
            #expect(info.format == "MPEG, MP3" && info.sampleRate == 44_100 && info.channelCount == 2)
            let back = try AudioFile.read(url)
            #expect(abs(back.frameCount - full[3].frameCount) <= 2 * 1152 + 576, "\(back.frameCount) frames for \(full[3].frameCount)")
            func power(_ x: [Float]) -> Double { x.reduce(0) { $0 + Double($1 * $1) } / Double(x.count) }
            #expect(abs(power(back.channels[0]) / power(full[3].channels[0]) - 1) < 0.25)
            sizes.append(try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int))
        }
        // Constant bit rate: every frame (the info frame too) is 144 · rate / 44,100 bytes, so the
        // files' sizes are in the rates' ratio (AudioTests read the rate in each frame's header).
        #expect(abs(Double(sizes[0]) / Double(sizes[1]) - 128.0 / 320) < 0.02, "sizes \(sizes)")
    }

    /// -j 2 and -j 3 write the same samples as -j 1 (float WAV files differ in bytes anyway:
    /// libsndfile stamps the time into their PEAK chunk).
    @Test func jobsGiveTheSameStemsAsOneJob() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        for k in 0..<4 { try writeSong(folder.appendingPathComponent("songs/\(k).wav"), seconds: 0.25, channels: 1 + k % 2, seed: 20 + UInt64(k)) }
        try writeSong(folder.appendingPathComponent("songs/48k.wav"), seconds: 0.25, rate: 48_000, seed: 30)
        for jobs in ["1", "2", "3"] {
            let result = try runCNNSep(["predict", "songs", "--checkpoint", "model.h5", "-j", jobs, "--out", "j\(jobs)", "--format", "float"], in: folder)
            #expect(result.status == 0, "-j \(jobs): \(result)")
        }
        let files = allFiles(folder.appendingPathComponent("j1"))
        #expect(files.count == 20)
        for jobs in ["2", "3"] {
            #expect(allFiles(folder.appendingPathComponent("j\(jobs)")) == files)
            for file in files {
                #expect(try AudioFile.read(folder.appendingPathComponent("j\(jobs)/\(file)")).channels
                        == AudioFile.read(folder.appendingPathComponent("j1/\(file)")).channels, "-j \(jobs): \(file)")
            }
        }
        let zero = try runCNNSep(["predict", "songs", "--checkpoint", "model.h5", "-j", "0"], in: folder)
        #expect(zero.status != 0 && zero.standardError.contains("--jobs"), "\(zero)")
    }

    /// Ctrl-C during `-j 2`: exit 130; each song has all its stems or none, and no temporary is left.
    @Test func ctrlCWithJobsLeavesNoPartialStems() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        for k in 0..<8 { try writeSong(folder.appendingPathComponent("songs/\(k).wav"), seconds: 2, channels: 1, seed: 40 + UInt64(k)) }
        let out = folder.appendingPathComponent("separated")
        let pid = try startCNNSep(["predict", "songs", "--checkpoint", "model.h5", "-j", "2"], in: folder)
        let started = waitUntil(seconds: 120) { allFiles(out).contains { $0.hasSuffix("vocals.wav") } }
        kill(pid, SIGINT)
        let status = try finish(pid)
        try #require(started, "no song finished")
        let files = allFiles(out)
        #expect(status == 130, "exit status \(status); \(files.count) files")
        #expect(!files.contains { $0.hasSuffix(".tmp") }, "\(files)")
        let songs = Dictionary(grouping: files) { $0.split(separator: "/")[0] }
        #expect(songs.count < 8, "every song was separated before the interrupt")
        for (song, stems) in songs { #expect(stems.map { String($0.split(separator: "/")[1]) } == fourStems, "\(song): \(stems)") }
    }
}
