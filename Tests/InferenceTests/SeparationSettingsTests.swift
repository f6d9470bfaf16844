import Foundation
import Testing
import TestHelpers
import Audio
import Support
@testable import Inference
import Configuration
import Network

@Suite struct SeparationSettingsTests {
    /// scipy.signal.windows.triang(8) and triang(25), printed by scripts/triang_reference.py.
    static let triang8: [Float] = [0.125, 0.375, 0.625, 0.875, 0.875, 0.625, 0.375, 0.125]
    static let triang25: [Float] = [0.07692307692307693, 0.15384615384615385, 0.23076923076923078, 0.3076923076923077,
                                    0.38461538461538464, 0.46153846153846156, 0.5384615384615384, 0.6153846153846154,
                                    0.6923076923076923, 0.7692307692307693, 0.8461538461538461, 0.9230769230769231, 1.0,
                                    0.9230769230769231, 0.8461538461538461, 0.7692307692307693, 0.6923076923076923,
                                    0.6153846153846154, 0.5384615384615384, 0.46153846153846156, 0.38461538461538464,
                                    0.3076923076923077, 0.23076923076923078, 0.15384615384615385, 0.07692307692307693]

    @Test func triangularWeightsAreScipysTriang() {
        let tiny = tinySeparator()
        tiny.crossfade = .triangular
        #expect(zip((0..<8).map(tiny.crossfadeWeight), Self.triang8).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
        var c = Config()
        c.separation = SeparationSettings(hop: 12, crossfade: .triangular)
        let full = Separator(network: ChandnaNetwork(shape: c.model, seed: 1), config: c)
        #expect(zip((0..<25).map(full.crossfadeWeight), Self.triang25).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
    }

    /// The config's hop and crossfade are what the separator uses. A separator made from a
    /// checkpoint runs the settings stored in it (a checkpoint is self-sufficient), unless the
    /// command names others (`--config`'s section, or options), which override them.
    @Test func theSeparatorRunsTheStoredSettingsUnlessOthersAreGiven() throws {
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var stored = smallConfig()
        stored.separation = SeparationSettings(hop: 4, crossfade: .linear, wienerIterations: 1)
        let network = ChandnaNetwork(shape: stored.model, seed: 3)
        var checkpoint = Checkpoint(layers: network.weights())
        checkpoint.configJSON = stored.json()
        let url = folder.appendingPathComponent("w.h5")
        try checkpoint.save(to: url)
        var given = Config()
        given.separation = SeparationSettings(hop: 2, crossfade: .triangular)
        let plain = try Separator(checkpoint: url, fallback: given)
        #expect(plain.windowHop == 4 && plain.crossfade == .linear && plain.wienerIterations == 1)
        let separator = try Separator(checkpoint: url, fallback: given, separation: given.separation)
        #expect(separator.windowHop == 2 && separator.crossfade == .triangular && separator.wienerIterations == 0)
        #expect(separator.config.model == stored.model)
        given.separation.hop = 7                       // more than the checkpoint's 6 frames: taken as 6
        #expect(try Separator(checkpoint: url, fallback: given, separation: given.separation).windowHop == 6)
    }

    /// One separator reused over songs of different lengths and channel counts (its workers keep
    /// their buffers) gives exactly the stems of a fresh separator for each song.
    @Test func reusedBuffersGiveTheStemsOfAFreshSeparator() throws {
        let reused = tinySeparator()
        reused.segmentFrames = 40
        reused.threads = 2
        for (length, channels, seed) in [(3000, 2, 1), (777, 1, 2), (5000, 3, 3), (100, 2, 4), (2500, 1, 5)] as [(Int, Int, UInt64)] {
            let signal = (0..<channels).map { noise(length, seed: seed * 10 + UInt64($0)) }
            let fresh = tinySeparator()
            fresh.segmentFrames = 40
            fresh.threads = 2
            let a = try reused.separate(signal, remainder: 2), b = try fresh.separate(signal, remainder: 2)
            #expect(a == b, "\(length) samples, \(channels) channels")
            #expect(a.allSatisfy { $0.count == channels && $0.allSatisfy { $0.count == length } })
        }
    }

    /// Segments are independent, so how many workers share them changes nothing, bit for bit.
    @Test func workerCountDoesNotChangeTheStems() throws {
        let signal = [noise(4000, seed: 41), noise(4000, seed: 42)]
        var results: [[[[Float]]]] = []
        for threads in [1, 2, 3] {
            let s = tinySeparator()
            s.segmentFrames = 30
            s.threads = threads
            results.append(try s.separate(signal, remainder: 2))
        }
        #expect(results[0] == results[1] && results[0] == results[2])
    }
}

@Suite struct SegmentScheduleTests {
    /// Workers finishing segments out of order (random delays): every segment is emitted once, in
    /// order; an error in one emit stops the emits after it and releases every waiting worker.
    @Test(arguments: [nil, 5] as [Int?])
    func segmentsAreEmittedInOrderAndAnErrorStopsEveryone(failAt: Int?) {
        let count = 40
        let schedule = SegmentSchedule(count: count, buffers: 5)
        let lock = NSLock()
        var emitted: [Int] = []
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            var rng = SeededGenerator(seed: UInt64(worker + 1))
            while let stems = schedule.takeBuffer() {
                guard let (k, _) = schedule.nextSegment(read: { $0 }) else { schedule.returnBuffer(stems); break }
                usleep(UInt32(rng.nextFloat() * 3000))
                schedule.finish(k, [[[Float(k)]]]) { index, ready in
                    if index == failAt { throw CNNSepError("emit \(index) failed") }
                    lock.lock(); emitted.append(index); lock.unlock()
                    #expect(ready[0][0][0] == Float(index))
                }
            }
        }
        #expect(emitted == Array(0..<(failAt ?? count)))
        #expect((schedule.failure != nil) == (failAt != nil))
    }
}
