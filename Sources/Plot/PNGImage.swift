import CCairo
import Foundation
import Support

/// A PNG file read back through cairo: its size and its pixels, to check a written picture.
public struct PNGImage: Sendable {
    public let width: Int
    public let height: Int
    /// Row-major from the top-left, 0xRRGGBB (alpha dropped).
    public let pixels: [UInt32]

    public init(contentsOf url: URL) throws {
        let surface = cairo_image_surface_create_from_png(url.path)
        defer { cairo_surface_destroy(surface) }
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw CNNSepError("\(url.relativePath): cannot read PNG (\(String(cString: cairo_status_to_string(status))))")
        }
        cairo_surface_flush(surface)
        width = Int(cairo_image_surface_get_width(surface))
        height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface)) / 4
        let data = UnsafeMutableRawPointer(cairo_image_surface_get_data(surface)!)
            .bindMemory(to: UInt32.self, capacity: stride * height)
        var pixels = [UInt32](repeating: 0, count: width * height)
        for row in 0..<height {
            for column in 0..<width { pixels[row * width + column] = data[row * stride + column] & 0xFF_FFFF }
        }
        self.pixels = pixels
    }

    public func pixel(x: Int, y: Int) -> UInt32 { pixels[y * width + x] }

    /// The pixels inside `rect` (shrunk by `inset` on each side), row by row.
    public func pixels(in rect: Rect, inset: Int = 0) -> [UInt32] {
        let x0 = Int(rect.x.rounded(.up)) + inset, x1 = Int(rect.maxX.rounded(.down)) - inset
        let y0 = Int(rect.y.rounded(.up)) + inset, y1 = Int(rect.maxY.rounded(.down)) - inset
        guard x0 < x1, y0 < y1 else { return [] }
        return (y0..<y1).flatMap { y in (x0..<x1).map { x in pixel(x: x, y: y) } }
    }

    /// Lightness of 0xRRGGBB in 0...1 (Rec. 709 luma of the stored values).
    public static func luma(_ pixel: UInt32) -> Double {
        let r = Double(pixel >> 16 & 0xFF), g = Double(pixel >> 8 & 0xFF), b = Double(pixel & 0xFF)
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255
    }
}
