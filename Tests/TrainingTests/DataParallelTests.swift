import Configuration
import Distributed
import Foundation
import Network
import Support
import TestHelpers
import Testing
@testable import Training

/// Rank `rank` of a job of `size` whose other ranks are simulated: in agreement checks they hold
/// `peerChecksum` (the collectives combine it with this rank's values as MPI would), or this rank's
/// own value when it is nil; they never fail.
final class SimulatedRanks: Communicator, @unchecked Sendable {
    let rank: Int, size: Int
    var peerChecksum: UInt64?
    init(rank: Int, size: Int) { (self.rank, self.size) = (rank, size) }
    func barrier() {}
    func allreduce<T: ReducibleScalar>(_ values: UnsafeMutableBufferPointer<T>, _ reduction: Reduction) {
        // ranksAgree's [checksum, ~checksum] under max: the other ranks contribute [peer, ~peer].
        guard reduction == .max, T.self == UInt64.self, values.count == 2, let peerChecksum else { return }
        let peer = [peerChecksum, ~peerChecksum] as! [T]
        for i in 0..<2 { values[i] = Swift.max(values[i], peer[i]) }
    }
    func broadcastRaw(_ bytes: UnsafeMutableRawBufferPointer) {}
    func gather(_ bytes: [UInt8]) -> [[UInt8]]? {
        guard rank == 0 else { return nil }
        let peer = peerChecksum.map { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } } ?? bytes
        return [bytes] + Array(repeating: peer, count: size - 1)
    }
    func fail(_ message: String) -> Never { fatalError(message) }
}

@Suite struct DataParallelTests {
    /// Every window of a global batch goes to exactly one rank, in order, and shard sizes differ by
    /// at most one: checked for every batch of 1…40 windows on 1…7 ranks.
    @Test func shardsPartitionTheBatchAsEquallyAsPossible() {
        let c = smallConfig()
        for size in 1...7 {
            let shards = (0..<size).map { DataParallel(ranks: SimulatedRanks(rank: $0, size: size), config: c) }
            for count in size...40 {
                let ranges = shards.map { $0.shard(of: count) }
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == count)
                #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "\(count) on \(size): \(ranges)")
                let sizes = ranges.map(\.count)
                #expect(sizes.max()! - sizes.min()! <= 1, "\(count) on \(size): \(sizes)")
            }
        }
    }

    @Test func ranksThatAgreePassAndADriftedRankIsNamedByRankZero() throws {
        let c = smallConfig()
        let step = TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 7), config: c)
        let ranks = SimulatedRanks(rank: 0, size: 3)
        let parallel = DataParallel(ranks: ranks, config: c)
        ranks.peerChecksum = DataParallel.fingerprint(step)
        try parallel.checkRanksAgree(step, when: "after epoch 1")

        // One weight one ulp away on the other ranks.
        step.network.globalDense.kernel.data[5] = step.network.globalDense.kernel.data[5].nextUp
        let message = errorMessage { try parallel.checkRanksAgree(step, when: "after epoch 2") }
        #expect(message == "the ranks' weights differ after epoch 2 (checksum of weights and optimizer state: ranks 1, 2 differ from rank 0); stopped before logging or saving, so the run folder holds the last good checkpoint")
    }

    @Test func aRankThatReadAnotherConfigOrDatasetIsNamed() throws {
        let c = smallConfig()
        let ranks = SimulatedRanks(rank: 0, size: 2)
        let parallel = DataParallel(ranks: ranks, config: c)
        try parallel.checkSameRun(config: c, songs: ["a", "b"], blockWindows: [10])
        ranks.peerChecksum = 42
        #expect(errorMessage { try parallel.checkSameRun(config: c, songs: ["a", "b"], blockWindows: [10]) }
                == "rank 1 differs from rank 0 in the config or the dataset (song names, windows per block): every host needs the same config and the same songs at dataset.root")
    }

    /// The optimizer state is part of the fingerprint: ranks whose weights agree but whose
    /// accumulators do not would part at the next step.
    @Test func theFingerprintCoversTheOptimizerState() {
        let c = smallConfig()
        let step = TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 8), config: c)
        let before = DataParallel.fingerprint(step)
        step.optimizer.squaredUpdates[3][0] = 1e-30
        #expect(DataParallel.fingerprint(step) != before)
    }

    @Test func aGlobalBatchSmallerThanTheRanksIsRefused() {
        var c = smallConfig()
        c.name = "tiny"
        c.batchSize = 4
        let parallel = DataParallel(ranks: SimulatedRanks(rank: 0, size: 5), config: c)
        #expect(errorMessage { try parallel.checkEveryRankHasWindows(blockWindows: [100], config: c) }
                == "config 'tiny': 5 ranks for a global batch of 4 windows (key 'schedule.batch_size'): launch at most 4 ranks, or raise schedule.batch_size")
        c.batchSize = 8
        let fine = DataParallel(ranks: SimulatedRanks(rank: 0, size: 5), config: c)
        #expect(errorMessage { try fine.checkEveryRankHasWindows(blockWindows: [100, 0, 5], config: c) } == nil)
        #expect(errorMessage { try fine.checkEveryRankHasWindows(blockWindows: [100, 3], config: c) }
                == "config 'tiny': block 2 has only 3 windows, fewer than the 5 ranks, so its one batch cannot give every rank a window: launch at most 3 ranks, or put more or longer songs in a block")
    }
}
