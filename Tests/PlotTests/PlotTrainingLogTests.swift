import Foundation
import Plot
import Support
import TestHelpers
import Testing

/// `cnnsep plot training` on hand-edited or foreign logs. The counters (repetition, block,
/// global_epoch) are whole numbers in every log `train` writes: anything else is one line naming
/// the file, the line and the key, exit 1 and no picture (two blocks numbered 1 and 1e20 crashed in
/// the marker labels' integer conversion; 1e300 as the only row's repetition drew a picture).
/// Losses are drawn whatever their size: 1e-300 next to 1e300, or 5e-324 alone, crashed the log
/// axis (its widened range reached 0 or infinity).
@Suite struct PlotTrainingLogTests {
    static let row = #"{"block":1,"epoch":1,"global_epoch":1,"loss":5,"repetition":1,"step":3}"#

    func plot(_ lines: [String]) throws -> (result: ChildResult, folder: URL, picture: URL) {
        let folder = try temporaryFolder()
        let run = folder.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: run.appendingPathComponent("log.jsonl"))
        let picture = folder.appendingPathComponent("p.png")
        return (try runCNNSep(["plot", "training", run.path, "--out", picture.path], in: folder), folder, picture)
    }

    @Test(arguments: [
        (#"{"block":1,"global_epoch":1,"loss":5,"repetition":1e300}"#, "repetition"),
        (#"{"block":1e20,"global_epoch":2,"loss":5,"repetition":1}"#, "block"),
        (#"{"block":-1,"global_epoch":2,"loss":5,"repetition":1}"#, "block"),
        (#"{"block":1,"global_epoch":1.5,"loss":5,"repetition":1}"#, "global_epoch"),
        (#"{"block":1,"global_epoch":1e300,"loss":5,"repetition":1}"#, "global_epoch"),
    ])
    func aCounterThatIsNoWholeNumberIsAnErrorNamingTheLineAndKey(line: String, key: String) throws {
        let (result, folder, picture) = try plot([Self.row, line])
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(!result.crashed && result.status == 1, "\(result)")
        #expect(result.errorLines.count == 1, "\(result)")
        #expect(result.standardError.contains("log.jsonl:2: key '\(key)'"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: picture.path))
    }

    @Test(arguments: [["1e-300", "1e300"], ["5e-324", "1"], ["5e-324"], ["1e308", "-1e308"], ["1e39"]])
    func extremeLossesAreDrawn(losses: [String]) throws {
        let lines = losses.enumerated().map { i, loss in
            #"{"block":1,"global_epoch":\#(i + 1),"loss":\#(loss),"repetition":1}"#
        }
        let (result, folder, picture) = try plot(lines)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(!result.crashed && result.status == 0, "\(result)")
        #expect(FileManager.default.fileExists(atPath: picture.path))
    }
}

@Suite("Plot tick labels stay short at any magnitude")
struct PlotTickLabelTests {
    @Test("huge and tiny values get scientific labels with just enough digits")
    func scientificLabels() {
        // A loss of 1e39 labelled 40 digits wide ran off the picture's left edge.
        #expect(Ticks.label(2e38, step: 2e38) == "2e+38")
        #expect(Ticks.label(0, step: 2e38) == "0")
        #expect(Ticks.label(3e-30, step: 1e-30) == "3e-30")
        #expect(Ticks.label(12_345_678, step: 1_000_000) == "1.2e+07")
        // Ordinary ranges keep their plain labels.
        #expect(Ticks.label(270, step: 50) == "270")
        #expect(Ticks.label(1_000_000, step: 200_000) == "1000000")
        #expect(Ticks.label(0.25, step: 0.05) == "0.25")
    }

    @Test("a log axis over hundreds of decades has a handful of ticks, all positive and finite")
    func manyDecades() {
        let ticks = Ticks.log(1e-300...1e300)
        #expect((3...12).contains(ticks.count), "\(ticks)")
        #expect(ticks.allSatisfy { $0 > 0 && $0.isFinite && (1e-300...1e300).contains($0) })
        #expect(Ticks.log(0.001...100) == [0.001, 0.01, 0.1, 1, 10, 100])
    }
}

@Suite("Line charts over extreme ranges")
struct ExtremeRangeChartTests {
    /// Rows of the plot area where the series' colour shows.
    func seriesRows(_ y: [Double], scale: Axis.Scale) throws -> (rows: [Int], height: Double) {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let chart = LineChart(series: [Series("loss", x: y.indices.map(Double.init), y: y)],
                              x: Axis("epoch", range: -0.5...Double(y.count) - 0.5), y: Axis("loss", scale: scale))
        let figure = Figure(width: 400, height: 300, panels: [.lines(chart)])
        let url = folder.appendingPathComponent("chart.png")
        try figure.writePNG(to: url)
        let image = try PNGImage(contentsOf: url)
        let rect = figure.plotRects()[0]
        let blue = LineChart.palette[0]
        let target = (Int(blue.red * 255), Int(blue.green * 255), Int(blue.blue * 255))
        func isBlue(_ p: UInt32) -> Bool {
            abs(Int(p >> 16 & 0xFF) - target.0) <= 3 && abs(Int(p >> 8 & 0xFF) - target.1) <= 3 && abs(Int(p & 0xFF) - target.2) <= 3
        }
        let rows = (Int(rect.y) + 2..<Int(rect.maxY) - 2).filter { y in
            (Int(rect.x) + 2..<Int(rect.maxX) - 2).contains { isBlue(image.pixel(x: $0, y: y)) }
        }
        return (rows.map { $0 - Int(rect.y) }, rect.height)
    }

    @Test("a loss from 1e-300 to 1e300 on a log axis spans the plot from bottom to top")
    func logAxisOverSixHundredDecades() throws {
        // The ratio of the range's ends overflowed: every point landed on the bottom edge.
        let (rows, height) = try seriesRows([1e-300, 1e300], scale: .log)
        #expect(rows.contains { Double($0) < height * 0.25 } && rows.contains { Double($0) > height * 0.75 }, "\(rows)")
    }

    @Test("a loss from -1e308 to 1e308 on a linear axis spans the plot from bottom to top")
    func linearAxisWiderThanTheLargestDouble() throws {
        let (rows, height) = try seriesRows([1e308, -1e308], scale: .linear)
        #expect(rows.contains { Double($0) < height * 0.25 } && rows.contains { Double($0) > height * 0.75 }, "\(rows)")
    }
}
