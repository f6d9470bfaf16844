import CCairo
import Foundation
import Support

/// A rectangle in pixels, y growing downwards (cairo's convention).
public struct Rect: Equatable, Sendable {
    public var x: Double, y: Double, width: Double, height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
}

/// Where a text's anchor point sits on the text.
enum HorizontalAnchor { case left, center, right }
enum VerticalAnchor { case top, middle, bottom }

/// One cairo image surface and its drawing context, with the few drawing helpers the panels use.
final class Canvas {
    let width: Int, height: Int
    let surface: OpaquePointer
    let cr: OpaquePointer

    init(width: Int, height: Int) throws {
        guard (1...16384).contains(width), (1...16384).contains(height) else {
            throw CNNSepError("figure size \(width)x\(height): expected 1 to 16384 pixels each way")
        }
        self.width = width
        self.height = height
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
        cr = cairo_create(surface)
        let status = cairo_status(cr)
        guard status == CAIRO_STATUS_SUCCESS else {
            cairo_destroy(cr); cairo_surface_destroy(surface)
            throw CNNSepError("figure \(width)x\(height): cairo cannot draw (\(String(cString: cairo_status_to_string(status))))")
        }
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL)
        setColor(.white)
        cairo_paint(cr)
    }

    deinit {
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    /// Writes the picture as PNG to `url`, atomically: a temporary file beside it, renamed into place.
    func writePNG(to url: URL) throws {
        cairo_surface_flush(surface)
        try AtomicFile.write(to: url) { temporary in
            let status = cairo_surface_write_to_png(surface, temporary.path)
            guard status == CAIRO_STATUS_SUCCESS else {
                throw CNNSepError("\(url.relativePath): cannot write PNG (\(String(cString: cairo_status_to_string(status))))")
            }
        }
    }

    // MARK: Colours and lines

    func setColor(_ color: Color, alpha: Double = 1) {
        cairo_set_source_rgba(cr, color.red, color.green, color.blue, alpha)
    }

    func line(from a: (Double, Double), to b: (Double, Double), color: Color, width: Double = 1, dash: [Double] = []) {
        cairo_save(cr)
        setColor(color)
        cairo_set_line_width(cr, width)
        dash.withUnsafeBufferPointer { cairo_set_dash(cr, $0.baseAddress, Int32($0.count), 0) }
        cairo_move_to(cr, a.0, a.1)
        cairo_line_to(cr, b.0, b.1)
        cairo_stroke(cr)
        cairo_restore(cr)
    }

    func fill(_ rect: Rect, color: Color, alpha: Double = 1) {
        setColor(color, alpha: alpha)
        cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
        cairo_fill(cr)
    }

    /// A one-pixel frame drawn on pixel centres so it stays crisp.
    func frame(_ rect: Rect, color: Color = .ink, width: Double = 1) {
        setColor(color)
        cairo_set_line_width(cr, width)
        cairo_rectangle(cr, rect.x.rounded() + 0.5, rect.y.rounded() + 0.5,
                        rect.width.rounded() - 1, rect.height.rounded() - 1)
        cairo_stroke(cr)
    }

    // MARK: Text (cairo's toy text API, "sans-serif")

    func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
        setFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        return extents.x_advance
    }

    /// Draws `text` so that the point (x, y) sits at the given anchor of its box; `rotated` turns it
    /// a quarter turn anticlockwise (for vertical axis labels), anchors then read along the text.
    func text(_ text: String, at x: Double, _ y: Double, size: Double, color: Color = .ink, bold: Bool = false,
              horizontal: HorizontalAnchor = .left, vertical: VerticalAnchor = .bottom, rotated: Bool = false) {
        guard !text.isEmpty else { return }
        cairo_save(cr)
        setFont(size: size, bold: bold)
        setColor(color)
        var font = cairo_font_extents_t()
        cairo_font_extents(cr, &font)
        let width = textWidth(text, size: size, bold: bold)
        cairo_translate(cr, x, y)
        if rotated { cairo_rotate(cr, -Double.pi / 2) }
        let dx: Double = horizontal == .left ? 0 : horizontal == .center ? -width / 2 : -width
        // Place by the font's ascent and descent, not the glyphs', so labels line up whatever their letters.
        let dy: Double = vertical == .top ? font.ascent : vertical == .middle ? (font.ascent - font.descent) / 2 : -font.descent
        cairo_move_to(cr, dx, dy)
        cairo_show_text(cr, text)
        cairo_restore(cr)
    }

    private func setFont(size: Double, bold: Bool) {
        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, size)
    }
}
