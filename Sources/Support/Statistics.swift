/// Summary statistics of measurements (scores, timings): the one median in cnnsep.
public enum Statistics {
    /// The median of the values that are not NaN (NaN if there are none): museval's summary over windows.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// Mean and standard deviation of the values that are not NaN (NaN, NaN if none): the population
    /// deviation (divided by n), or with `sample` the sample deviation (divided by n − 1; 0 for one value).
    public static func meanAndDeviation(_ values: [Double], sample: Bool = false) -> (mean: Double, std: Double) {
        let kept = values.filter { !$0.isNaN }
        guard !kept.isEmpty else { return (.nan, .nan) }
        let mean = kept.reduce(0, +) / Double(kept.count)
        let divisor = sample ? kept.count - 1 : kept.count
        guard divisor > 0 else { return (mean, 0) }
        let variance = kept.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(divisor)
        return (mean, variance.squareRoot())
    }
}
