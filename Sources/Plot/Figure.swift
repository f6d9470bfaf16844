import Foundation

/// An axis: its label (with the unit in brackets, "time (s)"), its range in data units (nil: from
/// the data) and its scale.
public struct Axis: Sendable {
    public enum Scale: Sendable { case linear, log }
    public var label: String
    public var range: ClosedRange<Double>?
    public var scale: Scale
    public init(_ label: String, range: ClosedRange<Double>? = nil, scale: Scale = .linear) {
        self.label = label; self.range = range; self.scale = scale
    }
}

/// One panel of a figure.
public enum Panel: Sendable {
    case heatmap(Heatmap)
    case lines(LineChart)

    var title: String {
        switch self {
        case .heatmap(let h): return h.title
        case .lines(let l): return l.title
        }
    }
}

/// A picture of panels stacked top to bottom, all with the same plot width so their x axes line up,
/// written as PNG. Sizes are in pixels.
public struct Figure: Sendable {
    public var width: Int
    public var height: Int
    public var title: String
    public var panels: [Panel]
    /// True when all panels show the same x range: only the bottom one labels it.
    public var sharedXAxis: Bool

    public init(width: Int = 900, height: Int = 600, title: String = "", panels: [Panel], sharedXAxis: Bool = false) {
        self.width = width; self.height = height; self.title = title
        self.panels = panels; self.sharedXAxis = sharedXAxis
    }

    /// Draws the figure and writes it as PNG to `url` (atomically: no half file on failure).
    public func writePNG(to url: URL) throws {
        try render().writePNG(to: url)
    }

    // MARK: Layout (pure arithmetic, so tests can find each panel's plot area)

    static let titleSize = 15.0, panelTitleSize = 12.0, tickSize = 10.0, labelSize = 11.0
    static let leftMargin = 70.0, rightMarginLines = 24.0, rightMarginHeatmap = 100.0
    static let figureTitleHeight = 30.0, panelTitleHeight = 20.0, panelGap = 8.0
    static let xTicksHeight = 18.0, xLabelHeight = 18.0, xTickMarksHeight = 6.0, bottomPadding = 6.0

    /// The plot area (inside the axes) of each panel, top to bottom.
    public func plotRects() -> [Rect] {
        guard !panels.isEmpty else { return [] }
        let right = panels.contains { if case .heatmap = $0 { return true } else { return false } }
            ? Self.rightMarginHeatmap : Self.rightMarginLines
        var decorations = title.isEmpty ? Self.panelGap : Self.figureTitleHeight
        for (i, panel) in panels.enumerated() {
            decorations += panel.title.isEmpty ? Self.panelGap : Self.panelTitleHeight
            decorations += showsXLabels(i) ? Self.xTicksHeight + Self.xLabelHeight : Self.xTickMarksHeight
        }
        decorations += Self.bottomPadding
        let plotHeight = max((Double(height) - decorations) / Double(panels.count), 1)
        let plotWidth = max(Double(width) - Self.leftMargin - right, 1)
        var y = title.isEmpty ? Self.panelGap : Self.figureTitleHeight
        var rects: [Rect] = []
        for (i, panel) in panels.enumerated() {
            y += panel.title.isEmpty ? Self.panelGap : Self.panelTitleHeight
            rects.append(Rect(x: Self.leftMargin, y: y.rounded(), width: plotWidth.rounded(), height: plotHeight.rounded(.down)))
            y += plotHeight
            y += showsXLabels(i) ? Self.xTicksHeight + Self.xLabelHeight : Self.xTickMarksHeight
        }
        return rects
    }

    func showsXLabels(_ index: Int) -> Bool { !sharedXAxis || index == panels.count - 1 }

    // MARK: Drawing

    func render() throws -> Canvas {
        let canvas = try Canvas(width: width, height: height)
        if !title.isEmpty {
            canvas.text(title, at: Double(width) / 2, Self.figureTitleHeight / 2 + 2, size: Self.titleSize,
                        bold: true, horizontal: .center, vertical: .middle)
        }
        for (i, (panel, rect)) in zip(panels, plotRects()).enumerated() {
            if !panel.title.isEmpty {
                canvas.text(panel.title, at: rect.x, rect.y - 5, size: Self.panelTitleSize, bold: true)
            }
            let labels = showsXLabels(i)
            switch panel {
            case .heatmap(let heatmap): heatmap.draw(on: canvas, in: rect, xLabels: labels)
            case .lines(let chart): chart.draw(on: canvas, in: rect, xLabels: labels)
            }
        }
        return canvas
    }
}

/// Maps data values on an axis to pixels.
struct AxisMap {
    let range: ClosedRange<Double>
    let scale: Axis.Scale
    let pixels: (Double, Double)   // where range.lowerBound and range.upperBound land

    // Halves and logarithms keep every step finite for any finite range: -1e308...1e308 spans more
    // than the largest Double, 1e-300...1e300 has a ratio past it.
    func callAsFunction(_ value: Double) -> Double {
        let f: Double
        switch scale {
        case .linear: f = (value / 2 - range.lowerBound / 2) / (range.upperBound / 2 - range.lowerBound / 2)
        case .log: f = (log(value) - log(range.lowerBound)) / (log(range.upperBound) - log(range.lowerBound))
        }
        return pixels.0 + f * (pixels.1 - pixels.0)
    }

    /// The value that lands on `pixel` (the inverse of the map).
    func value(atPixel pixel: Double) -> Double {
        let f = (pixel - pixels.0) / (pixels.1 - pixels.0)
        switch scale {
        case .linear: return range.lowerBound + f * (range.upperBound / 2 - range.lowerBound / 2) * 2
        case .log: return exp(log(range.lowerBound) + f * (log(range.upperBound) - log(range.lowerBound)))
        }
    }

    /// The ticks and their labels.
    func ticks(target: Int) -> [(value: Double, label: String)] {
        switch scale {
        case .linear:
            let step = Ticks.linearStep(range, target: target)
            return Ticks.linear(range, target: target).map { ($0, Ticks.label($0, step: step)) }
        case .log:
            return Ticks.log(range).map { ($0, Ticks.compact($0)) }
        }
    }
}

/// Axis lines, ticks and labels shared by all panel kinds.
extension Canvas {
    func drawXAxis(_ map: AxisMap, label: String, in rect: Rect, showLabels: Bool, grid: Bool = false) {
        let target = max(2, Int(rect.width / 90))
        for (value, text) in map.ticks(target: target) {
            let x = map(value).rounded() + 0.5
            if grid { line(from: (x, rect.y), to: (x, rect.maxY), color: .lightGray) }
            line(from: (x, rect.maxY), to: (x, rect.maxY + 4), color: .ink)
            if showLabels {
                self.text(text, at: x, rect.maxY + 5, size: Figure.tickSize, horizontal: .center, vertical: .top)
            }
        }
        if showLabels {
            self.text(label, at: rect.x + rect.width / 2, rect.maxY + Figure.xTicksHeight + 3,
                      size: Figure.labelSize, horizontal: .center, vertical: .top)
        }
    }

    func drawYAxis(_ map: AxisMap, label: String, in rect: Rect, grid: Bool = false) {
        let target = max(2, min(6, Int(rect.height / 28)))
        for (value, text) in map.ticks(target: target) {
            let y = map(value).rounded() + 0.5
            if grid { line(from: (rect.x, y), to: (rect.maxX, y), color: .lightGray) }
            line(from: (rect.x - 4, y), to: (rect.x, y), color: .ink)
            self.text(text, at: rect.x - 6, y, size: Figure.tickSize, horizontal: .right, vertical: .middle)
        }
        self.text(label, at: rect.x - Figure.leftMargin + 4, rect.y + rect.height / 2, size: Figure.labelSize,
                  horizontal: .center, vertical: .top, rotated: true)
    }
}
