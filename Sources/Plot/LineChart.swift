import CCairo
import Foundation

/// One line of a chart: points (x[i], y[i]) joined in order; non-finite y values break the line.
public struct Series: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    /// nil: the chart's palette, by position.
    public var color: Color?
    public init(_ name: String, x: [Double], y: [Double], color: Color? = nil) {
        precondition(x.count == y.count, "Series \(name): \(x.count) x values for \(y.count) y values")
        self.name = name; self.x = x; self.y = y; self.color = color
    }
}

/// A vertical line across the plot at `x`, with a short label at its top.
public struct Marker: Sendable {
    public enum Style: Sendable {
        /// A thin dashed grey line (e.g. a block boundary).
        case thin
        /// A bold dark line (e.g. a repetition boundary).
        case bold
    }
    public var x: Double
    public var label: String
    public var style: Style
    public init(x: Double, label: String = "", style: Style = .thin) {
        self.x = x; self.label = label; self.style = style
    }

    /// A marker wherever `groups` changes between consecutive points, halfway between their x values,
    /// labelled with `label(new group)`: e.g. x = epochs, groups = the block each epoch trained on.
    public static func boundaries(x: [Double], groups: [Double], style: Style,
                                  label: (Double) -> String) -> [Marker] {
        precondition(x.count == groups.count, "Marker.boundaries: \(x.count) x values for \(groups.count) groups")
        return zip(zip(x, groups), zip(x, groups).dropFirst()).compactMap { previous, next in
            previous.1 == next.1 ? nil : Marker(x: (previous.0 + next.0) / 2, label: label(next.1), style: style)
        }
    }
}

/// Several series on shared axes, a legend, and vertical marker lines.
public struct LineChart: Sendable {
    public var title: String
    public var series: [Series]
    public var markers: [Marker]
    public var x: Axis
    public var y: Axis

    /// Colours told apart by most readers, also in grey.
    public static let palette: [Color] = [
        Color(hex: 0x1F5FA8), Color(hex: 0xE0701A), Color(hex: 0x2E9A45), Color(hex: 0xC0303A),
        Color(hex: 0x7A4FB0), Color(hex: 0x6B6B6B),
    ]

    public init(title: String = "", series: [Series], markers: [Marker] = [], x: Axis, y: Axis) {
        self.title = title; self.series = series; self.markers = markers; self.x = x; self.y = y
    }

    /// The data ranges drawn: the axis's own, else the data's (with a margin on y).
    func ranges() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        let xs = series.flatMap { s in zip(s.x, s.y).filter { $0.1.isFinite && $0.0.isFinite }.map(\.0) }
        var ys = series.flatMap { s in zip(s.x, s.y).filter { $0.1.isFinite && $0.0.isFinite }.map(\.1) }
        if y.scale == .log { ys = ys.filter { $0 > 0 } }
        let xRange = x.range ?? widen(xs.min() ?? 0, xs.max() ?? 1, scale: .linear, margin: 0)
        let yRange = y.range ?? widen(ys.min() ?? (y.scale == .log ? 0.1 : 0), ys.max() ?? 1, scale: y.scale, margin: 0.05)
        return (xRange, yRange)
    }

    /// `lo...hi` with a margin, kept finite (and positive on a log scale) however extreme the data:
    /// a log axis from 1e-300 to 1e300 widened by ratios reached 0 and infinity.
    private func widen(_ lo: Double, _ hi: Double, scale: Axis.Scale, margin: Double) -> ClosedRange<Double> {
        let largest = Double.greatestFiniteMagnitude
        switch scale {
        case .linear:
            let pad = hi > lo ? (hi / 2 - lo / 2) * 2 * margin : Swift.max(abs(lo) * 0.1, 1)
            return Swift.max(lo - pad, -largest)...Swift.min(hi + pad, largest)
        case .log:
            // In decades, where the margin is a share of the span.
            let (a, b) = (log10(lo), log10(hi))
            let pad = b > a ? (b - a) * margin : log10(2.0)
            return Swift.max(pow(10, a - pad), .leastNonzeroMagnitude)...Swift.min(pow(10, b + pad), largest)
        }
    }

    func draw(on canvas: Canvas, in rect: Rect, xLabels: Bool) {
        let (xRange, yRange) = ranges()
        let mx = AxisMap(range: xRange, scale: x.scale, pixels: (rect.x, rect.maxX))
        let my = AxisMap(range: yRange, scale: y.scale, pixels: (rect.maxY, rect.y))
        canvas.drawYAxis(my, label: y.label, in: rect, grid: true)
        canvas.drawXAxis(mx, label: x.label, in: rect, showLabels: xLabels)

        let cr = canvas.cr
        cairo_save(cr)
        cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
        cairo_clip(cr)
        drawMarkers(on: canvas, in: rect, map: mx)
        for (i, s) in series.enumerated() {
            let color = s.color ?? Self.palette[i % Self.palette.count]
            canvas.setColor(color)
            cairo_set_line_width(cr, 1.8)
            cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
            var drawing = false
            var count = 0
            for (px, py) in zip(s.x, s.y) {
                guard px.isFinite, py.isFinite, y.scale == .linear || py > 0 else { drawing = false; continue }
                if drawing { cairo_line_to(cr, mx(px), my(py)) } else { cairo_move_to(cr, mx(px), my(py)) }
                drawing = true
                count += 1
            }
            cairo_stroke(cr)
            // Few points: show each one, so a single epoch is still visible.
            if count <= 60 {
                for (px, py) in zip(s.x, s.y) where px.isFinite && py.isFinite && (y.scale == .linear || py > 0) {
                    cairo_arc(cr, mx(px), my(py), 2.5, 0, 2 * Double.pi)
                    cairo_fill(cr)
                }
            }
        }
        cairo_restore(cr)
        canvas.frame(rect)
        drawLegend(on: canvas, in: rect)
    }

    /// Bold markers' labels on the first row, thin ones' on the second; a label that would overlap
    /// the previous one on its row is left out (the line still shows).
    private func drawMarkers(on canvas: Canvas, in rect: Rect, map: AxisMap) {
        var rowEnd = [Marker.Style.bold: -Double.infinity, .thin: -Double.infinity]
        for style in [Marker.Style.thin, .bold] {
            for marker in markers where marker.style == style {
                let x = map(marker.x).rounded() + 0.5
                switch style {
                case .thin: canvas.line(from: (x, rect.y), to: (x, rect.maxY), color: .gray, width: 1, dash: [3, 3])
                case .bold: canvas.line(from: (x, rect.y), to: (x, rect.maxY), color: .ink, width: 2)
                }
            }
        }
        for marker in markers where !marker.label.isEmpty {
            let x = map(marker.x).rounded() + 0.5
            let size = Figure.tickSize - 1
            let width = canvas.textWidth(marker.label, size: size, bold: marker.style == .bold)
            let row = marker.style == .bold ? 0.0 : 1.0
            guard x + 3 > rowEnd[marker.style]! + 4, x + 3 + width < rect.maxX else { continue }
            canvas.fill(Rect(x: x + 2, y: rect.y + 2 + row * 13, width: width + 2, height: 12), color: .white, alpha: 0.8)
            canvas.text(marker.label, at: x + 3, rect.y + 3 + row * 13, size: size, color: .ink,
                        bold: marker.style == .bold, vertical: .top)
            rowEnd[marker.style] = x + 3 + width
        }
    }

    private func drawLegend(on canvas: Canvas, in rect: Rect) {
        let named = series.enumerated().filter { !$0.element.name.isEmpty }
        guard !named.isEmpty else { return }
        let size = Figure.tickSize, lineHeight = 15.0, sample = 22.0
        let textWidth = named.map { canvas.textWidth($0.element.name, size: size) }.max() ?? 0
        let box = Rect(x: rect.maxX - textWidth - sample - 22, y: rect.y + 30,
                       width: textWidth + sample + 14, height: Double(named.count) * lineHeight + 8)
        canvas.fill(box, color: .white, alpha: 0.9)
        canvas.frame(box, color: .gray)
        for (row, (i, s)) in named.enumerated() {
            let y = box.y + 4 + (Double(row) + 0.5) * lineHeight
            canvas.line(from: (box.x + 6, y), to: (box.x + 6 + sample - 4, y),
                        color: s.color ?? Self.palette[i % Self.palette.count], width: 2.5)
            canvas.text(s.name, at: box.x + 6 + sample, y, size: size, vertical: .middle)
        }
    }
}
