import Audio
import Foundation

/// Magnitudes in dB (0 dB: a full-scale sine's peak bin), at most `maxColumns` columns: when a long
/// stretch has more frames than that, neighbouring frames are merged by their maximum, so short
/// events stay visible.
public struct Spectrogram {
    public var decibels: [Float] = []
    public var columns = 0
    /// Frames merged into each column.
    public let pool: Int
    public let bins: Int
    public let sampleRate: Int
    public let timeRange: ClosedRange<Double>
    public let stretchDescription: String
    public var maxDB: Float { decibels.max() ?? -.infinity }

    public init(_ audio: MonoStretch, stft: STFT, maxColumns: Int) {
        bins = stft.bins
        sampleRate = audio.sampleRate
        let frames = audio.frames(stft)
        timeRange = audio.seconds(ofColumnEdge: frames.lowerBound, stft)...audio.seconds(ofColumnEdge: frames.upperBound, stft)
        stretchDescription = audio.description
        pool = Self.pool(frames: frames.count, maxColumns: maxColumns)
        columns = (frames.count + pool - 1) / pool
        decibels = [Float](repeating: -.infinity, count: columns * bins)
        // A full-scale sine of amplitude 1 peaks at Σw/2 in its bin.
        let reference = stft.window.reduce(0, +) / 2
        let floor: Float = 1e-10
        for blockStart in stride(from: frames.lowerBound, to: frames.upperBound, by: 1024) {
            let block = blockStart..<min(blockStart + 1024, frames.upperBound)
            let magnitude = stft.analyze(audio.samples, frames: block).magnitude()
            for (row, t) in block.enumerated() {
                let column = (t - frames.lowerBound) / pool
                for k in 0..<bins {
                    let db = 20 * log10(max(magnitude[row * bins + k] / reference, floor))
                    decibels[column * bins + k] = max(decibels[column * bins + k], db)
                }
            }
        }
    }

    /// The dB scale a spectrogram is shown on: 80 dB below its loudest bin, rounded up to 10 dB
    /// (0 at the top when nothing sounds).
    public static func displayRange(loudest: Float) -> ClosedRange<Double> {
        let top = loudest.isFinite ? (Double(loudest) / 10).rounded(.up) * 10 : 0
        return (top - 80)...top
    }

    /// Frames per column so that `frames` frames make at most `maxColumns` columns (a picture has
    /// only so many pixels, and cairo's images at most 32767).
    public static func pool(frames: Int, maxColumns: Int) -> Int {
        max(1, (frames + maxColumns - 1) / max(maxColumns, 1))
    }

    /// A frame-major grid of `frames` × `bins` values with every `pool` neighbouring frames merged
    /// into one column by their mean (for masks: a column shows the stretch's average mask).
    public static func meanPooled(_ values: [Float], frames: Int, bins: Int, pool: Int) -> [Float] {
        guard pool > 1 else { return values }
        let columns = (frames + pool - 1) / pool
        var pooled = [Float](repeating: 0, count: columns * bins)
        for column in 0..<columns {
            let members = (column * pool)..<min((column + 1) * pool, frames)
            for t in members {
                for k in 0..<bins { pooled[column * bins + k] += values[t * bins + k] }
            }
            for k in 0..<bins { pooled[column * bins + k] /= Float(members.count) }
        }
        return pooled
    }

    /// The spectrogram as a heatmap on a log-frequency axis (from 50 Hz: a log axis cannot reach 0;
    /// from a hundredth of the top frequency for songs at rates below 10 kHz).
    public func heatmap(title: String, range: ClosedRange<Double>) -> Heatmap {
        Self.heatmap(title: title, values: decibels, columns: columns, bins: bins, sampleRate: sampleRate, timeRange: timeRange,
                     valueRange: range, colormap: .magma, colorBarLabel: "dBFS")
    }

    /// Any frame-major grid over the same bins (a mask, say) on the same axes.
    public static func heatmap(title: String, values: [Float], columns: Int, bins: Int, sampleRate: Int,
                               timeRange: ClosedRange<Double>, valueRange: ClosedRange<Double>,
                               colormap: Colormap, colorBarLabel: String) -> Heatmap {
        let range = frequencyRange(bins: bins, sampleRate: sampleRate)
        return Heatmap(title: title, values: values, columns: columns, rows: bins, valueRange: valueRange,
                       colormap: colormap, colorBarLabel: colorBarLabel, x: Axis("time (s)", range: timeRange),
                       y: Axis("frequency (kHz)", range: range, scale: .log),
                       yShown: min(0.05, range.upperBound / 100)...range.upperBound)
    }

    /// Bin k covers k ± ½ times sampleRate / windowLength, in kHz.
    public static func frequencyRange(bins: Int, sampleRate: Int) -> ClosedRange<Double> {
        let binWidth = Double(sampleRate) / Double(2 * (bins - 1)) / 1000
        return (-0.5 * binWidth)...((Double(bins) - 0.5) * binWidth)
    }
}
