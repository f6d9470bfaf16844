import Distributed
import Support
import Testing

/// How `predict` and `eval` deal songs to the ranks of a job: longest first, to the rank with the
/// least audio so far (ties: the lowest rank).
@Suite struct ShardPlanTests {
    /// Worked by hand: items by cost 5 (1), 5 (3), 3 (0), 2 (2), 1 (4); 1 → rank 0; 3 → rank 1;
    /// 0 → rank 0 (5 = 5: the lower rank); 2 → rank 1 (5 < 8); 4 → rank 1 (7 < 8).
    @Test func longestFirstToTheLeastLoadedRankLowestOnTies() {
        let plan = ShardPlan(costs: [3, 5, 2, 5, 1], ranks: 2)
        #expect(plan.items == [[1, 0], [3, 2, 4]])
        #expect(plan.totals == [8, 8])
        #expect(plan.rank(of: 4) == 1 && plan.rank(of: 0) == 0)
    }

    /// Equal lengths go round the ranks in index order; extra ranks get nothing, and that is fine.
    @Test func moreRanksThanItemsLeavesRanksIdle() {
        let plan = ShardPlan(costs: [2, 2], ranks: 3)
        #expect(plan.items == [[0], [1], []])
        #expect(plan.totals == [2, 2, 0])
        #expect(ShardPlan(costs: [], ranks: 2).items == [[], []])
        #expect(ShardPlan(costs: [1, 4, 2], ranks: 1).items == [[1, 2, 0]])
    }

    /// Random costs on 1 to 9 ranks: every item exactly once; the plan depends on the costs alone
    /// (made twice, the same); no rank is more than the largest item above the least loaded one; and
    /// the slowest rank's total is within Graham's 4/3 of the best split, found by trying every
    /// assignment of up to 7 items to up to 3 ranks.
    @Test func everyItemOnceBalancedAndDeterministic() {
        var rng = SeededGenerator(seed: 11)
        for trial in 0..<300 {
            let ranks = 1 + trial % 9
            let costs = (0..<Int(rng.next() % 12)).map { _ in Double(rng.next() % 1000) / 10 }
            let plan = ShardPlan(costs: costs, ranks: ranks)
            #expect(plan == ShardPlan(costs: costs, ranks: ranks))
            #expect(plan.items.count == ranks && plan.items.flatMap { $0 }.sorted() == Array(costs.indices), "\(costs) on \(ranks)")
            for (r, items) in plan.items.enumerated() {
                #expect(Swift.abs(items.reduce(0) { $0 + costs[$1] } - plan.totals[r]) < 1e-9)
                #expect(zip(items, items.dropFirst()).allSatisfy { costs[$0] >= costs[$1] }, "rank \(r) was not dealt longest first")
            }
            #expect(plan.totals.max()! - plan.totals.min()! <= (costs.max() ?? 0), "\(costs) on \(ranks): \(plan.totals)")
            if ranks <= 3 && costs.count <= 7 {
                let best = Self.bestMakespan(costs, ranks: ranks)
                #expect(plan.totals.max()! <= best * 4 / 3 + 1e-9, "\(costs) on \(ranks): \(plan.totals.max()!) vs best \(best)")
            }
        }
    }

    /// The least possible largest total over all ranks^n assignments.
    static func bestMakespan(_ costs: [Double], ranks: Int) -> Double {
        var best = Double.infinity
        var assignment = [Int](repeating: 0, count: costs.count)
        while true {
            var totals = [Double](repeating: 0, count: ranks)
            for (i, r) in assignment.enumerated() { totals[r] += costs[i] }
            best = min(best, totals.max()!)
            var k = 0
            while k < assignment.count && assignment[k] == ranks - 1 { assignment[k] = 0; k += 1 }
            if k == assignment.count { return best }
            assignment[k] += 1
        }
    }
}
