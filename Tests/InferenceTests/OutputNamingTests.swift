import Audio
import Foundation
@testable import Inference
import Support
import TestHelpers
import Testing

/// Where `predict` writes: the --filename template, unique {track} names, and the checks that
/// refuse a plan before any work.
@Suite struct OutputNamingTests {
    @Test func templatesFillTheirFields() throws {
        let standard = try OutputTemplate(OutputTemplate.defaultPattern)
        #expect(standard.path(track: "album1/01", trackExtension: "flac", stem: "no_vocals", ext: "mp3") == "album1/01/no_vocals.mp3")
        let flat = try OutputTemplate("{track}.{trackext}-{stem}{ext}.x.{ext}")
        #expect(flat.path(track: "t", trackExtension: "wav", stem: "bass", ext: "flac") == "t.wav-bassflac.x.flac")
        let trackless = try OutputTemplate("{stem}.{ext}")
        #expect(flat.uses("track") && !trackless.uses("track"))
    }

    @Test(arguments: [("", "is empty"), ("{track}/{Stem}.{ext}", "unknown field {Stem}"), ("{}", "unknown field {}"),
                      ("{track/{stem}.{ext}", "'{' without '}'"), ("{track}}/{stem}.{ext}", "'}' without '{'"),
                      ("{track", "'{' without '}'"), ("/abs/{stem}.{ext}", "relative")])
    func badTemplatesAreNamed(pattern: String, expected: String) {
        let message = errorMessage { _ = try OutputTemplate(pattern) } ?? "no error"
        #expect(message.hasPrefix("--filename '\(pattern)': ") && message.contains(expected), "\(message)")
    }

    /// Songs of one name get their folders' names in front, as few as tell them apart, the same
    /// number for the whole group; others keep their name.
    @Test func tracksAreMadeUniqueByTheirFolders() {
        func tracks(_ paths: [String]) -> [String] { PredictPlan.uniqueTracks(paths.map { URL(fileURLWithPath: $0) }) }
        #expect(tracks(["/m/album1/01.wav", "/m/album2/01.wav", "/m/album1/02.wav"]) == ["album1/01", "album2/01", "02"])
        #expect(tracks(["/x/cd/01.wav", "/y/cd/01.flac", "/y/dvd/01.wav"]) == ["x/cd/01", "y/cd/01", "y/dvd/01"])
        // mixture.* is named after its folder; the folders above that one tell them apart.
        #expect(tracks(["/d/Dev/Song/mixture.wav", "/d/Test/Song/mixture.wav", "/e/Other/mixture.wav"]) == ["Dev/Song", "Test/Song", "Other"])
        #expect(tracks(["rel/a/s.wav", "rel/b/s.wav"]) == ["a/s", "b/s"])
        // Nothing tells these apart: the names stay, and the plan refuses them (below).
        #expect(tracks(["/m/a.wav", "/m/a.flac"]) == ["a", "a"])
    }

    /// The plan refuses, before anything is written, two files on one path and outputs that are
    /// inputs; the same file named twice is one song.
    @Test func plansRefuseCollisionsAndTakeEachFileOnce() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.wav"), b = folder.appendingPathComponent("sub/b.wav")
        try writeSong(a, seconds: 0.05, seed: 1)
        try writeSong(b, seconds: 0.05, seed: 2)
        var options = PredictOptions(out: folder.appendingPathComponent("out"))
        let twice = try PredictPlan.make([a, folder.appendingPathComponent("./a.wav"), b], options: options)
        #expect(twice.map(\.track) == ["a", "b"])
        #expect(twice[1].outputs.map { $0.url.lastPathComponent } == fourStems)

        options.template = try OutputTemplate("{track}.{ext}")
        let stems = errorMessage { _ = try PredictPlan.make([a], options: options) } ?? ""
        #expect(stems.contains("its bass and drums would both be written") && stems.contains("{stem}"), "\(stems)")
        options.template = try OutputTemplate("{stem}.{ext}")
        let songs = errorMessage { _ = try PredictPlan.make([a, b], options: options) } ?? ""
        #expect(songs.contains(a.path) && songs.contains(b.path) && songs.contains("{track}"), "\(songs)")
        options.template = try OutputTemplate("{track}/{stem}.wav")
        options.format = .flac
        let ext = errorMessage { _ = try PredictPlan.make([a], options: options) } ?? ""
        #expect(ext.contains(".flac") && ext.contains("{ext}"), "\(ext)")

        let high = folder.appendingPathComponent("high.wav")
        try writeSong(high, seconds: 0.05, rate: 96_000, seed: 3)
        var mp3 = PredictOptions(out: folder.appendingPathComponent("out"))
        mp3.format = .mp3
        let format = errorMessage { _ = try PredictPlan.make([a, high], options: mp3) } ?? ""
        #expect(format.hasPrefix(high.path) && format.contains("96000 Hz") && format.contains("another --format"), "\(format)")

        var overwrite = PredictOptions(out: folder.appendingPathComponent("sub/.."), template: try OutputTemplate("{track}.{ext}"))
        overwrite.selection = .only([.vocals])
        let replace = errorMessage { _ = try PredictPlan.make([a], options: overwrite) } ?? ""
        #expect(replace.contains("would replace the input"), "\(replace)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path))
    }

    /// --start and --duration in sample frames: rounded to the nearest frame, the duration cut at
    /// the song's end, values outside the song refused naming them.
    @Test func stretchesBecomeFrameRanges() throws {
        let info = AudioInfo(sampleRate: 48_000, channelCount: 1, frameCount: 48_000, format: "WAV")
        let url = URL(fileURLWithPath: "/m/song.wav")
        func frames(_ start: Double?, _ duration: Double?) throws -> Range<Int> {
            var options = PredictOptions(out: URL(fileURLWithPath: "/out"))
            (options.start, options.duration) = (start, duration)
            return try PredictPlan.frames(of: url, info: info, options: options)
        }
        #expect(try frames(nil, nil) == 0..<48_000)
        #expect(try frames(0.25, 0.5) == 12_000..<36_000)
        #expect(try frames(1.0 / 96_000 + 1e-9, 2.0 / 48_000) == 1..<3)
        #expect(try frames(0.9, 5) == 43_200..<48_000)
        for (start, duration, named) in [(1.0, nil, "--start 1 "), (2e300, nil, "--start"), (-0.5, nil, "--start"), (Double.nan, nil, "--start"),
                                         (0, 0.000_001, "--duration"), (0, -1, "--duration"), (0, .infinity, "--duration")] as [(Double, Double?, String)] {
            let message = errorMessage { _ = try frames(start, duration) } ?? "no error"
            #expect(message.contains(named), "start \(start), duration \(String(describing: duration)): \(message)")
        }
    }

    @Test func stemSelectionsAreParsedAndNamed() throws {
        #expect(try StemSelection.parse(stems: nil, twoStems: nil) == .all)
        #expect(try StemSelection.parse(stems: "Vocals,drums,vocals", twoStems: nil) == .only([.drums, .vocals]))
        #expect(try StemSelection.parse(stems: nil, twoStems: "other").contents.map(\.name) == ["other", "no_other"])
        for (stems, two, named) in [("vocals,", nil, "''"), ("guitar", nil, "'guitar'"), (nil, "all", "--two-stems"), ("bass", "bass", "--stems and --two-stems")] as [(String?, String?, String)] {
            let message = errorMessage { _ = try StemSelection.parse(stems: stems, twoStems: two) } ?? "no error"
            #expect(message.contains(named), "\(message)")
        }
        // Files predict writes are never taken for songs when a folder is searched.
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["song.wav", "no_vocals.wav", "No_Bass.flac", "vocals.mp3"] { try writeSong(folder.appendingPathComponent(name), seconds: 0.01, seed: 3) }
        #expect(try SongFinder.find([folder.path]).map(\.lastPathComponent) == ["song.wav"])
        // Nor is what lies in the output folder, stems written under other names included.
        try writeSong(folder.appendingPathComponent("out/song/song_vocals.wav"), seconds: 0.01, seed: 3)
        #expect(try SongFinder.find([folder.path], output: folder.appendingPathComponent("./out")).map(\.lastPathComponent) == ["song.wav"])
        #expect(try SongFinder.find([folder.path]).count == 2)
    }

    /// A folder named through a symbolic link is searched like the folder itself (it gave "no audio
    /// files found"); the songs keep the path as typed.
    @Test func aFolderReachedThroughASymbolicLinkIsSearched() throws {
        let root = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try writeSong(root.appendingPathComponent("music/album/01.wav"), seconds: 0.01, seed: 3)
        let link = root.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: root.appendingPathComponent("music"))
        #expect(try SongFinder.find([link.path]).map(\.path) == [link.appendingPathComponent("album/01.wav").path])
        #expect(try SongFinder.find([link.path + "/"]).count == 1)
    }

    /// The model found when none is named: Models/cnnsep.h5 here, then beside the executable or
    /// above it, then the dsd100 run's and the demo run's checkpoints.
    @Test func theDefaultModelIsLookedForInOrder() throws {
        let root = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        let here = root.appendingPathComponent("here"), checkout = root.appendingPathComponent("checkout")
        let executable = checkout.appendingPathComponent(".build/x86_64-unknown-linux-gnu/release/cnnsep")
        try FileManager.default.createDirectory(at: here, withIntermediateDirectories: true)
        func place(_ url: URL) throws {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data().write(to: url)
        }
        func found() -> String? {
            TrainedModel.findDefault(in: here, executable: executable)?.path.replacingOccurrences(of: root.path + "/", with: "")
        }
        #expect(found() == nil)
        for (file, expected) in [("here/Checkpoints/demo/latest.h5", "here/Checkpoints/demo/latest.h5"),
                                 ("here/Checkpoints/dsd100/latest.h5", "here/Checkpoints/dsd100/latest.h5"),
                                 ("checkout/Models/cnnsep.h5", "checkout/Models/cnnsep.h5"),
                                 ("checkout/.build/x86_64-unknown-linux-gnu/release/Models/cnnsep.h5", "checkout/.build/x86_64-unknown-linux-gnu/release/Models/cnnsep.h5"),
                                 ("here/Models/cnnsep.h5", "here/Models/cnnsep.h5")] {
            try place(root.appendingPathComponent(file))
            #expect(found() == expected)
        }
    }
}
