import Audio
import Foundation
import Network
import Support
import TestHelpers
import Testing

/// `cnnsep predict` as a user runs it (the built executable in a child process): output names that
/// stay unique, temporaries that do not outlive a killed run, quiet runs, and a checkpoint that
/// needs no Configs/ folder (issue 12.10 and 12.13, issue 13.4–13.6).
@Suite struct PredictCommandTests {
    /// Album folders full of `01.wav`: both songs get their stems, each the split of its own input
    /// (the second used to be "skipped", or overwrote the first with --force).
    @Test func twoSongsWithOneNameInOneCallGetOneSetOfStemsEach() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        let first = try writeSong(folder.appendingPathComponent("album1/01.wav"), seconds: 0.3, seed: 1)
        let second = try writeSong(folder.appendingPathComponent("album2/01.wav"), seconds: 0.3, seed: 2)
        for force in [[], ["--force"]] {
            let result = try runCNNSep(["predict", "album1", "album2", "--checkpoint", "model.h5", "--format", "float"] + force, in: folder)
            #expect(result.status == 0 && !result.crashed, "\(result)")
            #expect(!result.standardOutput.contains("skipped"), "\(result)")
            for (album, input) in [("album1", first), ("album2", second)] {
                let stems = try readStems(folder.appendingPathComponent("separated/\(album)/01"), fourStems)
                #expect(sumError(stems, input) < 1e-5, "\(album): stems are not the split of its own 01.wav")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("separated/01").path))
    }

    /// `a.wav` and `a.flac` in one folder: no folder tells them apart, so nothing is written and one
    /// line names both (the second used to be skipped). A template without {track} likewise.
    @Test func namesNothingCanTellApartAreRefusedBeforeAnyWork() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        try writeSong(folder.appendingPathComponent("songs/a.wav"), seconds: 0.2, seed: 1)
        try AudioFile.write(AudioFile.read(folder.appendingPathComponent("songs/a.wav")), to: folder.appendingPathComponent("songs/a.flac"))
        try writeSong(folder.appendingPathComponent("songs/b.wav"), seconds: 0.2, seed: 2)
        for extra in [[], ["--filename", "{stem}.{ext}", "songs/b.wav"]] {
            let inputs = extra.isEmpty ? ["songs"] : ["songs/a.wav"]
            let result = try runCNNSep(["predict"] + inputs + ["--checkpoint", "model.h5"] + extra, in: folder)
            #expect(result.status == 1 && !result.crashed && result.errorLines.count == 1, "\(result)")
            let line = String(result.errorLines.first ?? "")
            let named = extra.isEmpty ? ["songs/a.flac", "songs/a.wav"] : ["songs/a.wav", "songs/b.wav"]
            #expect(named.allSatisfy(line.contains) && line.contains("would both be written"), "\(line)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("separated").path), "\(extra)")
        }
    }

    /// A predict killed while writing leaves its hidden temporaries; the next predict into that folder
    /// removes them (and only ours of dead processes: a live writer's stays).
    @Test func temporariesOfAKilledPredictAreRemovedByTheNextOne() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        try writeSong(folder.appendingPathComponent("song.wav"), seconds: 20, channels: 1, seed: 3)
        let out = folder.appendingPathComponent("separated/song")
        let pid = try startCNNSep(["predict", "song.wav", "--checkpoint", "model.h5"], in: folder)
        let writing = waitUntil(seconds: 60) { allFiles(out).filter { $0.hasSuffix(".tmp") }.count == 4 }   // one per stem
        kill(pid, SIGKILL)
        _ = try finish(pid)
        try #require(writing, "predict did not start its four stems")
        #expect(allFiles(out).filter { $0.hasSuffix(".tmp") }.count == 4, "\(allFiles(out))")
        let live = ".other.wav.\(getpid()).7.tmp"          // this test process is alive
        try Data("x".utf8).write(to: out.appendingPathComponent(live))

        try writeSong(folder.appendingPathComponent("song.wav"), seconds: 0.2, channels: 1, seed: 3)
        let result = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5"], in: folder)
        #expect(result.status == 0, "\(result)")
        #expect(allFiles(out) == [live] + fourStems, "\(allFiles(out))")
    }

    /// --quiet: nothing on either stream when all goes well; an error is still its one line.
    @Test func quietPrintsOnlyErrors() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        try writeSong(folder.appendingPathComponent("song.wav"), seconds: 0.2, seed: 4)
        let loud = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--out", "loud"], in: folder)
        #expect(loud.status == 0 && loud.standardOutput.contains("song:"), "\(loud)")
        for flag in ["--quiet", "-q"] {
            let quiet = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", flag, "--force"], in: folder)
            #expect(quiet.status == 0 && quiet.standardOutput.isEmpty && quiet.standardError.isEmpty, "\(quiet)")
        }
        #expect(allFiles(folder.appendingPathComponent("separated")) == fourStems.map { "song/" + $0 })
        let failed = try runCNNSep(["predict", "missing.wav", "--checkpoint", "model.h5", "-q"], in: folder)
        #expect(failed.status == 1 && failed.errorLines.count == 1 && failed.standardError.contains("missing.wav"), "\(failed)")
    }

    /// A checkpoint holds its config: predict, info and eval work in a folder with no Configs/.
    @Test func aCheckpointWorksInAFolderWithoutConfigs() throws {
        let (data, trained) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: data) }
        let empty = data.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let model = data.appendingPathComponent("run/latest.h5")
        try Checkpoint(layers: ChandnaNetwork(shape: trained.model, seed: 5).weights(), configJSON: trained.json()).save(to: model)
        try writeSong(empty.appendingPathComponent("song.wav"), seconds: 0.2, seed: 5)

        let predict = try runCNNSep(["predict", "song.wav", "--checkpoint", model.path], in: empty)
        #expect(predict.status == 0, "\(predict)")
        #expect(allFiles(empty.appendingPathComponent("separated/song")) == fourStems)
        let info = try runCNNSep(["info", model.path], in: empty)
        #expect(info.status == 0 && info.standardOutput.contains("config 'tiny'"), "\(info)")
        // The stored config names the dataset by its absolute path: eval finds it from here.
        let eval = try runCNNSep(["eval", "--checkpoint", model.path, "--songs", "1"], in: empty)
        #expect(eval.status == 0 && eval.standardOutput.contains("1 songs of Test"), "\(eval)")
    }

    /// `eval --checkpoint`: the dataset root is --dataset, else --config's, else the stored one;
    /// a stored root that is not there says to pass --dataset.
    @Test func evalTakesTheDatasetFromTheOptionsBeforeTheCheckpoint() throws {
        let (data, trained) = try tinyTrainingSetup()
        defer { try? FileManager.default.removeItem(at: data) }
        var moved = trained
        moved.datasetRoot = "Data/gone"
        let model = data.appendingPathComponent("model.h5")
        try Checkpoint(layers: ChandnaNetwork(shape: trained.model, seed: 6).weights(), configJSON: moved.json()).save(to: model)

        let missing = try runCNNSep(["eval", "--checkpoint", "model.h5", "--songs", "1"], in: data)
        #expect(missing.status == 1 && missing.errorLines.count == 1, "\(missing)")
        #expect(missing.standardError.contains("Data/gone") && missing.standardError.contains("--dataset"), "\(missing)")
        let dataset = try runCNNSep(["eval", "--checkpoint", "model.h5", "--songs", "1", "--dataset", trained.datasetRoot], in: data)
        #expect(dataset.status == 0, "\(dataset)")
        try Data(trained.json().utf8).write(to: data.appendingPathComponent("mine.json"))
        let config = try runCNNSep(["eval", "--checkpoint", "model.h5", "--songs", "1", "--config", "mine.json"], in: data)
        #expect(config.status == 0 && config.standardOutput.contains("per-song scores: ") && config.standardOutput.contains("mine/eval/Test"), "\(config)")
    }

    /// No checkpoint, no config, nothing found: one line pointing at `cnnsep demo`. The binary runs
    /// from a copy in a bare folder: the build's own finds the checkout's shipped Models/cnnsep.h5.
    @Test func predictWithoutAModelPointsAtTheDemo() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bare = folder.appendingPathComponent("bin/cnnsep")
        try FileManager.default.createDirectory(at: bare.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: try #require(cnnsepExecutable), to: bare)
        let work = folder.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try writeSong(work.appendingPathComponent("song.wav"), seconds: 0.2, seed: 7)
        // A child spawned meanwhile by a test running in parallel may briefly hold the copy's write
        // descriptor (ETXTBSY, "Text file busy", exit 126): wait for it to close.
        var result = try runCNNSep(["predict", "song.wav"], in: work, executable: bare)
        for _ in 0..<50 where result.status == 126 && result.standardError.contains("Text file busy") {
            usleep(100_000)
            result = try runCNNSep(["predict", "song.wav"], in: work, executable: bare)
        }
        #expect(result.status == 1 && !result.crashed && result.errorLines.count == 1, "\(result)")
        #expect(result.standardError.contains("no trained model") && result.standardError.contains("`cnnsep demo`"), "\(result)")
        #expect(!result.standardError.contains("dsd100"), "\(result)")
    }

    /// Models/cnnsep.h5 in the current folder is the model when none is named, before a run's checkpoint.
    @Test func aModelInModelsIsUsedWhenNoneIsNamed() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("Models/cnnsep.h5"))
        try Data("not a checkpoint".utf8).write(to: { () -> URL in
            let run = folder.appendingPathComponent("Checkpoints/demo")
            try? FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            return run.appendingPathComponent("latest.h5")
        }())
        try writeSong(folder.appendingPathComponent("song.wav"), seconds: 0.2, seed: 8)
        let result = try runCNNSep(["predict", "song.wav"], in: folder)
        #expect(result.status == 0 && result.standardError.contains("Models/cnnsep.h5"), "\(result)")
        #expect(allFiles(folder.appendingPathComponent("separated/song")) == fourStems)
    }

    /// An output path that is an input is refused (the song would be replaced by its vocals).
    @Test func anOutputThatWouldReplaceAnInputIsRefused() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        let song = folder.appendingPathComponent("song.wav")
        try writeSong(song, seconds: 0.2, seed: 9)
        let before = try Data(contentsOf: song)
        let result = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--out", ".", "--filename", "{track}.{ext}",
                                    "--stems", "vocals", "--format", "float"], in: folder)
        #expect(result.status == 1 && result.errorLines.count == 1 && result.standardError.contains("would replace the input"), "\(result)")
        #expect(try Data(contentsOf: song) == before)
    }

    /// Template mistakes are named: an unknown field, a lone brace, an extension the format does not write.
    @Test func templateMistakesAreNamed() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeTinyCheckpoint(to: folder.appendingPathComponent("model.h5"))
        try writeSong(folder.appendingPathComponent("song.wav"), seconds: 0.2, seed: 10)
        for (template, expected, format) in [("{track}/{stm}.{ext}", "{stm}", "wav16"), ("{track}/{stem.{ext}", "'{' without '}'", "wav16"),
                                             ("{track}/{stem}.wav", ".mp3", "mp3"), ("/tmp/{stem}.{ext}", "relative", "wav16")] {
            let result = try runCNNSep(["predict", "song.wav", "--checkpoint", "model.h5", "--filename", template, "--format", format], in: folder)
            #expect(result.status != 0 && !result.crashed && result.standardError.contains(expected), "\(template): \(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("separated").path))
    }
}
