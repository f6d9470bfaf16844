import Foundation

/// Tick positions a reader can add up in their head: multiples of 1, 2 or 5 times a power of ten
/// on a linear axis; powers of ten (and 2 and 5 times them over short ranges) on a log axis.
public enum Ticks {
    /// Ticks inside `range`, about `target` of them, at multiples of a "nice" step.
    public static func linear(_ range: ClosedRange<Double>, target: Int = 5) -> [Double] {
        guard let (mantissa, exponent) = niceStep(range, target: target) else { return [range.lowerBound] }
        let step = mantissa * pow(10, Double(exponent))
        // Tolerance for ends that are themselves multiples of the step (0.7 / 0.1 = 6.999…).
        let first = (range.lowerBound / step - 1e-9).rounded(.up)
        let last = (range.upperBound / step + 1e-9).rounded(.down)
        guard first <= last else { return [] }
        // k · mantissa, an integer, times or divided by an exact power of ten: the correctly rounded
        // decimal (1.4, never 1.4000000000000001), never an accumulated sum.
        let scale = pow(10, Double(abs(exponent)))
        return stride(from: first, through: last, by: 1).map { k in
            exponent < 0 ? k * mantissa / scale : k * mantissa * scale
        }
    }

    /// The nice step for `linear`: 1, 2 or 5 times a power of ten, near span / target.
    public static func linearStep(_ range: ClosedRange<Double>, target: Int = 5) -> Double {
        guard let (mantissa, exponent) = niceStep(range, target: target) else { return 0 }
        return mantissa * pow(10, Double(exponent))
    }

    /// The step as mantissa (1, 2, 5 or 10) and power of ten.
    private static func niceStep(_ range: ClosedRange<Double>, target: Int) -> (Double, Int)? {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite, target > 0 else { return nil }
        let raw = span / Double(target)
        let exponent = Int(log10(raw).rounded(.down))
        let fraction = raw / pow(10, Double(exponent))
        let mantissa: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        return (mantissa, exponent)
    }

    /// Ticks for a log axis over a positive `range`.
    public static func log(_ range: ClosedRange<Double>) -> [Double] {
        precondition(range.lowerBound > 0, "Ticks.log: range must be positive")
        let lowDecade = Int(log10(range.lowerBound).rounded(.down))
        let highDecade = Int(log10(range.upperBound).rounded(.up))
        let decades = highDecade - lowDecade
        let multiples: [Double] = decades <= 2 ? [1, 2, 5] : [1]
        var ticks: [Double] = []
        for decade in lowDecade...highDecade {
            for m in multiples {
                let value = m * pow(10, Double(decade))
                if value >= range.lowerBound * (1 - 1e-9) && value <= range.upperBound * (1 + 1e-9) {
                    ticks.append(value)
                }
            }
        }
        // Less than about one decade: a linear set reads better (and there are enough of them).
        return ticks.count >= 3 ? ticks : linear(range, target: 4).filter { $0 > 0 }
    }

    /// The label of `value` on an axis whose ticks are `step` apart: just enough decimals.
    public static func label(_ value: Double, step: Double) -> String {
        guard step > 0, step.isFinite else { return compact(value) }
        let decimals = max(0, Int((-log10(step) - 1e-9).rounded(.up)))
        let text = String(format: "%.\(decimals)f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }

    /// A short label for a value on a log axis: 0.001, 0.02, 5, 1000, 1e+06.
    public static func compact(_ value: Double) -> String {
        String(format: "%g", value)
    }
}
