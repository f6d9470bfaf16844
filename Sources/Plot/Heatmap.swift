import CCairo
import Foundation

/// A grid of values drawn as colours, with a colour bar: a spectrogram, a mask.
///
/// `values` is column-major, `columns × rows`, index = column · rows + row, row 0 at the bottom:
/// a spectrogram's frame-major layout (index = frame · bins + bin) as it is.
public struct Heatmap: Sendable {
    public var title: String
    public var values: [Float]
    public var columns: Int
    public var rows: Int
    /// Values at or below the lower bound get the map's low end, at or above the upper its high end.
    public var valueRange: ClosedRange<Double>
    public var colormap: Colormap
    /// The colour bar's label with its unit, "magnitude (dB)".
    public var colorBarLabel: String
    /// The extents the grid covers, in data units (the left edge of column 0 to the right edge of
    /// the last; the bottom of row 0 to the top of the last); nil ranges mean 0...columns, 0...rows.
    public var x: Axis
    /// The rows' axis; with a log scale, `yShown` is the part drawn (its lower end must be > 0).
    public var y: Axis
    public var yShown: ClosedRange<Double>?

    public init(title: String = "", values: [Float], columns: Int, rows: Int, valueRange: ClosedRange<Double>,
                colormap: Colormap = .magma, colorBarLabel: String, x: Axis, y: Axis, yShown: ClosedRange<Double>? = nil) {
        precondition(columns > 0 && rows > 0 && values.count == columns * rows,
                     "Heatmap: \(values.count) values for \(columns) columns × \(rows) rows")
        precondition(valueRange.upperBound > valueRange.lowerBound, "Heatmap: empty value range")
        self.title = title; self.values = values; self.columns = columns; self.rows = rows
        self.valueRange = valueRange; self.colormap = colormap; self.colorBarLabel = colorBarLabel
        self.x = x; self.y = y; self.yShown = yShown
    }

    func draw(on canvas: Canvas, in rect: Rect, xLabels: Bool) {
        let lo = valueRange.lowerBound, span = valueRange.upperBound - valueRange.lowerBound
        let xRange = x.range ?? 0...Double(columns), yRange = y.range ?? 0...Double(rows)
        let shown = y.scale == .log ? (yShown ?? yRange) : yRange
        let yMap = AxisMap(range: shown, scale: y.scale, pixels: (rect.maxY, rect.y))
        let image: ImageSurface
        if y.scale == .linear {
            image = ImageSurface(width: columns, height: rows) { column, row in
                colormap.pixel(at: (Double(values[column * rows + (rows - 1 - row)]) - lo) / span)
            }
        } else {
            // One image row per pixel row; each shows the largest value of the grid rows it covers
            // (many at the top of a log axis, a fraction of one at the bottom).
            let height = max(1, Int(rect.height.rounded()))
            let rowsPerUnit = Double(rows) / (yRange.upperBound - yRange.lowerBound)
            let spans: [Range<Int>] = (0..<height).map { p in
                let top = yMap.value(atPixel: rect.y + Double(p)), bottom = yMap.value(atPixel: rect.y + Double(p + 1))
                let first = Int(((bottom - yRange.lowerBound) * rowsPerUnit).rounded(.down))
                let last = Int(((top - yRange.lowerBound) * rowsPerUnit).rounded(.down))
                let a = min(max(first, 0), rows - 1), b = min(max(last, 0), rows - 1)
                return a..<(max(a, b) + 1)
            }
            image = ImageSurface(width: columns, height: height) { column, row in
                var top = -Float.infinity
                for r in spans[row] { top = max(top, values[column * rows + r]) }
                return colormap.pixel(at: (Double(top) - lo) / span)
            }
        }
        canvas.drawImage(image, in: rect)
        canvas.frame(rect)
        canvas.drawXAxis(AxisMap(range: xRange, scale: .linear, pixels: (rect.x, rect.maxX)),
                         label: x.label, in: rect, showLabels: xLabels)
        canvas.drawYAxis(yMap, label: y.label, in: rect)
        drawColorBar(on: canvas, beside: rect)
    }

    private func drawColorBar(on canvas: Canvas, beside plot: Rect) {
        let bar = Rect(x: plot.maxX + 12, y: plot.y, width: 14, height: plot.height)
        let levels = 256
        let image = ImageSurface(width: 1, height: levels) { _, row in
            colormap.pixel(at: (Double(levels - 1 - row) + 0.5) / Double(levels))
        }
        canvas.drawImage(image, in: bar)
        canvas.frame(bar)
        let map = AxisMap(range: valueRange, scale: .linear, pixels: (bar.maxY, bar.y))
        for (value, text) in map.ticks(target: max(3, min(5, Int(bar.height / 25)))) {
            let y = map(value).rounded() + 0.5
            canvas.line(from: (bar.maxX, y), to: (bar.maxX + 3, y), color: .ink)
            canvas.text(text, at: bar.maxX + 5, y, size: Figure.tickSize, vertical: .middle)
        }
        canvas.text(colorBarLabel, at: plot.maxX + Figure.rightMarginHeatmap - 16, bar.y + bar.height / 2,
                    size: Figure.labelSize, horizontal: .center, vertical: .top, rotated: true)
    }
}

/// A cairo RGB24 image filled pixel by pixel; row 0 is the top.
final class ImageSurface {
    let surface: OpaquePointer
    let width: Int, height: Int

    init(width: Int, height: Int, pixel: (_ column: Int, _ row: Int) -> UInt32) {
        self.width = width; self.height = height
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
        precondition(cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, "ImageSurface: cannot allocate \(width)x\(height)")
        cairo_surface_flush(surface)
        let stride = Int(cairo_image_surface_get_stride(surface)) / 4
        let data = UnsafeMutableRawPointer(cairo_image_surface_get_data(surface)!)
            .bindMemory(to: UInt32.self, capacity: stride * height)
        for row in 0..<height {
            for column in 0..<width { data[row * stride + column] = pixel(column, row) }
        }
        cairo_surface_mark_dirty(surface)
    }

    deinit { cairo_surface_destroy(surface) }
}

extension Canvas {
    /// Scales `image` to fill `rect`: an area-averaging filter when it shrinks (a long spectrogram
    /// into a few hundred pixels), sharp cell edges when it grows (a mask of a few frames).
    func drawImage(_ image: ImageSurface, in rect: Rect) {
        cairo_save(cr)
        cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
        cairo_clip(cr)
        cairo_translate(cr, rect.x, rect.y)
        let sx = rect.width / Double(image.width), sy = rect.height / Double(image.height)
        cairo_scale(cr, sx, sy)
        cairo_set_source_surface(cr, image.surface, 0, 0)
        let pattern = cairo_get_source(cr)
        cairo_pattern_set_extend(pattern, CAIRO_EXTEND_PAD)
        cairo_pattern_set_filter(pattern, sx >= 1 && sy >= 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD)
        cairo_paint(cr)
        cairo_restore(cr)
    }
}
