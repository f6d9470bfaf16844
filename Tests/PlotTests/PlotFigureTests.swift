import Foundation
import Plot
import Support
import Testing

/// A fresh folder for one test's files.
func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cnnsep-plot-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A spectrogram-like heatmap: `columns` frames of `rows` bins, in dB from -80 to 0.
func heatmap(_ title: String, columns: Int = 40, rows: Int = 30, value: (Int, Int) -> Float) -> Heatmap {
    var values = [Float](repeating: 0, count: columns * rows)
    for c in 0..<columns { for r in 0..<rows { values[c * rows + r] = value(c, r) } }
    return Heatmap(title: title, values: values, columns: columns, rows: rows, valueRange: -80...0,
                   colorBarLabel: "magnitude (dB)", x: Axis("time (s)", range: 0...2), y: Axis("frequency (kHz)", range: 0...22.05))
}

@Suite("Plot figures")
struct PlotFigureTests {
    @Test("the PNG has the requested width and height")
    func pngSize() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("size.png")
        let figure = Figure(width: 321, height: 207, title: "size", panels: [.heatmap(heatmap("a") { c, r in Float(c + r) - 80 })])
        try figure.writePNG(to: url)
        let image = try PNGImage(contentsOf: url)
        #expect(image.width == 321)
        #expect(image.height == 207)
    }

    @Test("a silent stem's panel is uniformly dark, a sounding one is not")
    func silentPanelIsDark() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("stems.png")
        let silent = heatmap("silent") { _, _ in -120 }
        let sounding = heatmap("sounding") { c, r in -80 + 80 * Float((sin(Double(c) / 3) * cos(Double(r) / 4) + 1) / 2) }
        let figure = Figure(width: 600, height: 400, panels: [.heatmap(silent), .heatmap(sounding)], sharedXAxis: true)
        try figure.writePNG(to: url)
        let image = try PNGImage(contentsOf: url)
        let rects = figure.plotRects()
        let dark = image.pixels(in: rects[0], inset: 2)
        let bright = image.pixels(in: rects[1], inset: 2)
        #expect(!dark.isEmpty && !bright.isEmpty)
        #expect(Set(dark).count == 1)
        #expect(dark.map(PNGImage.luma).max()! < 0.05)
        #expect(Set(bright).count > 20)
        #expect(bright.map(PNGImage.luma).max()! > 0.6)
    }

    @Test("row 0 of a heatmap is drawn at the bottom (low frequencies low)")
    func rowZeroAtBottom() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("rows.png")
        let lowOnly = heatmap("low rows loud", rows: 10) { _, r in r < 5 ? 0 : -80 }
        let figure = Figure(width: 400, height: 300, panels: [.heatmap(lowOnly)])
        try figure.writePNG(to: url)
        let image = try PNGImage(contentsOf: url)
        let rect = figure.plotRects()[0]
        let x = Int(rect.x + rect.width / 2)
        let top = image.pixel(x: x, y: Int(rect.y + rect.height * 0.25))
        let bottom = image.pixel(x: x, y: Int(rect.y + rect.height * 0.75))
        #expect(PNGImage.luma(top) < 0.05)
        #expect(PNGImage.luma(bottom) > 0.8)
    }

    @Test("a line chart with a series differs from one without, and the series has its colour")
    func seriesChangesPixels() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let x = (1...30).map(Double.init)
        let loss = Series("loss", x: x, y: x.map { 1 / $0 })
        let axes = (Axis("epoch", range: 0...31), Axis("loss", range: 0...1.1))
        let empty = Figure(width: 500, height: 300, panels: [.lines(LineChart(series: [], x: axes.0, y: axes.1))])
        let full = Figure(width: 500, height: 300, panels: [.lines(LineChart(series: [loss], x: axes.0, y: axes.1))])
        let a = folder.appendingPathComponent("empty.png"), b = folder.appendingPathComponent("full.png")
        try empty.writePNG(to: a)
        try full.writePNG(to: b)
        let without = try PNGImage(contentsOf: a), with = try PNGImage(contentsOf: b)
        let rect = full.plotRects()[0]
        let changed = zip(without.pixels(in: rect, inset: 1), with.pixels(in: rect, inset: 1)).filter { $0 != $1 }.count
        #expect(changed > 200)
        let blue = LineChart.palette[0]
        let target = UInt32(blue.red * 255) << 16 | UInt32(blue.green * 255) << 8 | UInt32(blue.blue * 255)
        #expect(with.pixels(in: rect).contains { abs(Int($0 >> 16) - Int(target >> 16)) <= 2 && abs(Int($0 & 0xFF) - Int(target & 0xFF)) <= 2 })
        #expect(!without.pixels(in: rect).contains(target))
    }

    @Test("a bold marker draws a dark vertical line at its x")
    func boldMarker() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("marker.png")
        let chart = LineChart(series: [], markers: [Marker(x: 5, label: "rep 2", style: .bold)],
                              x: Axis("epoch", range: 0...10), y: Axis("loss", range: 0...1))
        let figure = Figure(width: 400, height: 300, panels: [.lines(chart)])
        try figure.writePNG(to: url)
        let image = try PNGImage(contentsOf: url)
        let rect = figure.plotRects()[0]
        let x = Int(rect.x + rect.width / 2)
        let column = (Int(rect.y + rect.height * 0.3)..<Int(rect.maxY - 3)).map { image.pixel(x: x, y: $0) }
        #expect(column.allSatisfy { PNGImage.luma($0) < 0.3 })
        let aside = (Int(rect.y + rect.height * 0.3)..<Int(rect.maxY - 3)).map { image.pixel(x: x + 20, y: $0) }
        #expect(aside.contains { PNGImage.luma($0) > 0.9 })
    }

    @Test("an unwritable output path throws a one-line error and leaves no file")
    func unwritablePath() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let blocker = folder.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: blocker)
        let url = blocker.appendingPathComponent("sub/out.png")
        let figure = Figure(width: 100, height: 80, panels: [.heatmap(heatmap("a") { _, _ in 0 })])
        let error = #expect(throws: CNNSepError.self) { try figure.writePNG(to: url) }
        #expect(error?.message.contains("\n") == false)
        #expect(!FileManager.default.fileExists(atPath: url.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["a-file"])

        // A destination that is a folder: the temporary file is written, the rename fails, nothing is left.
        let target = folder.appendingPathComponent("taken.png")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        #expect(throws: CNNSepError.self) { try figure.writePNG(to: target) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["a-file", "taken.png"])
    }

    @Test("a figure of impossible size is an error, not a crash")
    func badSize() {
        #expect(throws: CNNSepError.self) {
            try Figure(width: 0, height: 10, panels: []).writePNG(to: URL(fileURLWithPath: "/tmp/never.png"))
        }
    }
}
