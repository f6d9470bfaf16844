import Audio
import Foundation
@testable import Inference
import Support
import TestHelpers
import Testing

/// `Separator.predict` with options: the complement stems, skipping with templates, and what an
/// interrupt leaves.
@Suite struct PredictRunTests {
    /// Each stem and the input without it add up to the input, for every stem ("other" too) and
    /// for a song converted from 48 kHz; the stem is the full separation's.
    @Test(arguments: [44_100, 48_000])
    func eachStemAndItsComplementAddUpToTheInput(rate: Int) throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let song = folder.appendingPathComponent("song.wav")
        let input = try writeSong(song, seconds: 0.1, rate: rate, seed: 5)
        let separator = tinySeparator()
        _ = try separator.separateFile(song, into: folder.appendingPathComponent("full"), format: .float)
        let full = try readStems(folder.appendingPathComponent("full"), fourStems)
        for stem in Stem.allCases {
            var options = SeparationFileOptions()
            options.format = .float
            let outputs = [StemOutput(.stem(stem), at: folder.appendingPathComponent("\(stem)/a.wav")),
                           StemOutput(.without(stem), at: folder.appendingPathComponent("\(stem)/b.wav"))]
            let report = try separator.separateFile(song, writing: outputs, options: options)
            #expect(report.outputs == outputs.map(\.url) && report.folder.lastPathComponent == stem.rawValue)
            let pair = try readStems(folder.appendingPathComponent(stem.rawValue), ["a.wav", "b.wav"])
            #expect(pair[0].channels == full[stem.index].channels, "\(stem)")
            #expect(sumError(pair, input) < 1e-5, "\(stem): off by \(sumError(pair, input))")
        }
    }

    /// With a template, a song is skipped only when every file it would write exists.
    @Test func aSongIsSkippedOnlyWhenAllItsFilesExist() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let song = folder.appendingPathComponent("in/song.flac")
        try writeSong(song, seconds: 0.05, seed: 6)
        var options = PredictOptions(out: folder.appendingPathComponent("out"), template: try OutputTemplate("{stem}/{track}-{trackext}.{ext}"))
        options.selection = .pair(.drums)
        let plan = try PredictPlan.make([song], options: options)
        #expect(plan[0].outputs.map { $0.url.path } == ["drums", "no_drums"].map { folder.appendingPathComponent("out/\($0)/song-flac.wav").path })
        let separator = tinySeparator()
        guard case .separated = try separator.predict(plan, options: options)[0] else { Issue.record("first run should separate"); return }
        guard case .skipped(let track, let where_) = try separator.predict(plan, options: options)[0] else { Issue.record("all exist: skip"); return }
        #expect(track == "song" && where_.path == folder.appendingPathComponent("out").path)
        try FileManager.default.removeItem(at: plan[0].outputs[1].url)
        guard case .separated = try separator.predict(plan, options: options)[0] else { Issue.record("one missing: separate"); return }
        #expect(plan[0].isDone)
    }

    /// An interrupt abandons the song being separated: none of its files, no temporary, and no
    /// outcome for it (the command then exits 130).
    @Test func anInterruptLeavesNoFilesOfTheSongInProgress() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let song = folder.appendingPathComponent("song.wav")
        try writeSong(song, seconds: 0.1, seed: 7)
        let separator = tinySeparator()
        separator.segmentFrames = 64                  // several pieces, so the stop comes between two
        var asked = 0
        var options = SeparationFileOptions()
        options.shouldStop = { asked += 1; return asked == 2 }
        let out = folder.appendingPathComponent("out")
        #expect(throws: SeparationStopped.self) {
            try separator.separateFile(song, writing: Stem.allCases.map { StemOutput(.stem($0), at: out.appendingPathComponent("\($0).wav")) }, options: options)
        }
        #expect(asked == 2)
        #expect(allFiles(out).isEmpty, "\(allFiles(out))")
    }
}
