/// Summary statistics of measurements (scores, timings): the one median in cnnsep.
public enum Statistics {
    /// The median of the values that are not NaN (NaN if there are none): museval's summary over windows.
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else { return .nan }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// Mean and population standard deviation of the values that are not NaN (NaN, NaN if none).
    public static func meanAndDeviation(_ values: [Double]) -> (mean: Double, std: Double) {
        let kept = values.filter { !$0.isNaN }
        guard !kept.isEmpty else { return (.nan, .nan) }
        let mean = kept.reduce(0, +) / Double(kept.count)
        let variance = kept.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(kept.count)
        return (mean, variance.squareRoot())
    }
}
