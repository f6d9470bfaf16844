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
        // In halves: a finite range may span more than the largest Double.
        let halfSpan = range.upperBound / 2 - range.lowerBound / 2
        guard halfSpan > 0, halfSpan.isFinite, target > 0 else { return nil }
        let raw = halfSpan / Double(target) * 2
        let exponent = Int(log10(raw).rounded(.down))
        let fraction = raw / pow(10, Double(exponent))
        let mantissa: Double = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        return (mantissa, exponent)
    }

    /// Ticks for a log axis over a positive, finite `range`: every power of ten over a few decades,
    /// every 2nd, 5th, 10th, … over many (1e-300...1e300 gets seven, not six hundred overlapping ones).
    public static func log(_ range: ClosedRange<Double>) -> [Double] {
        precondition(range.lowerBound > 0 && range.upperBound.isFinite, "Ticks.log: range must be positive and finite")
        let lowDecade = Int(log10(range.lowerBound).rounded(.down))
        let highDecade = Int(log10(range.upperBound).rounded(.up))
        let decades = highDecade - lowDecade
        let multiples: [Double] = decades <= 2 ? [1, 2, 5] : [1]
        let every = decades <= 10 ? 1 : Int(linearStep(0...Double(decades), target: 6))
        var ticks: [Double] = []
        for decade in lowDecade...highDecade where decade % every == 0 {
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

    /// The label of `value` on an axis whose ticks are `step` apart: just enough decimals, or from
    /// 10^7 up and 10^-6 down, just enough significant digits in scientific notation (a loss of
    /// 1e39 in plain digits is 40 characters wide).
    public static func label(_ value: Double, step: Double) -> String {
        guard step > 0, step.isFinite, value.isFinite else { return compact(value) }
        let magnitude = max(abs(value), step)
        let text: String
        if magnitude >= 1e7 || step < 1e-6 {
            let digits = Int(log10(magnitude).rounded(.down)) - Int((log10(step) + 1e-9).rounded(.down)) + 1
            text = String(format: "%.\(min(max(digits, 1), 17))g", value)
        } else {
            let decimals = max(0, Int((-log10(step) - 1e-9).rounded(.up)))
            text = String(format: "%.\(decimals)f", value)
        }
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }

    /// A short label for a value on a log axis: 0.001, 0.02, 5, 1000, 1e+06.
    public static func compact(_ value: Double) -> String {
        String(format: "%g", value)
    }
}
