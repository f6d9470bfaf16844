/// Items of different costs (songs of different lengths) dealt to the ranks of a job so that the
/// ranks finish together: costliest first, each to the rank with the least cost so far (ties: the
/// lowest rank), items of equal cost in index order. This is Graham's LPT rule: no rank ends up more
/// than one item's cost above the least loaded one, and the slowest rank's total is at most 4/3 of
/// the best possible split's.
///
/// The plan is arithmetic on the costs alone, in a fixed order, so every rank that computes it from
/// the same costs gets the same plan without any communication (the ranks check that they saw the
/// same costs). A rank may get no item (more ranks than items): it simply has nothing to do.
public struct ShardPlan: Equatable, Sendable {
    /// The indices of the items each rank takes, in the order they were dealt (costliest first).
    public let items: [[Int]]
    /// Each rank's summed cost.
    public let totals: [Double]

    /// `costs`: finite and ≥ 0 (seconds of audio, say); `ranks` ≥ 1.
    public init(costs: [Double], ranks: Int) {
        precondition(ranks >= 1, "ShardPlan: \(ranks) ranks")
        precondition(costs.allSatisfy { $0.isFinite && $0 >= 0 }, "ShardPlan: costs must be finite and ≥ 0")
        let order = costs.indices.sorted { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : $0 < $1 }
        var items = [[Int]](repeating: [], count: ranks)
        var totals = [Double](repeating: 0, count: ranks)
        for item in order {
            var least = 0
            for r in 1..<ranks where totals[r] < totals[least] { least = r }
            items[least].append(item)
            totals[least] += costs[item]
        }
        self.items = items
        self.totals = totals
    }

    /// The rank that takes item `item`.
    public func rank(of item: Int) -> Int? {
        items.firstIndex { $0.contains(item) }
    }
}
