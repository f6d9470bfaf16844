import Distributed
import Foundation

/// The collectives of a job of `size` ranks checked against closed forms: rank r contributes values
/// that depend on r, so each expected result is a sum, maximum or copy computed here without MPI.
/// Prints `rank R: <check>: ok` or `rank R: <check>: FAILED (<why>)` per check; returns the failures.
struct MPISelfTest {
    let cluster: any Communicator
    var rank: Int { cluster.rank }
    var size: Int { cluster.size }

    func run() -> Int {
        let results: [(String, String?)] = [
            ("allreduce sum Float", allreduceFloat()),
            ("allreduce sum Double", allreduceDouble()),
            ("allreduce sum Int64", allreduceInt64()),
            ("allreduce max/min UInt64", allreduceExtremes()),
            ("broadcast bytes", broadcastBytes()),
            ("broadcast Floats", broadcastFloats()),
            ("gather", gather()),
            ("ranksAgree", ranksAgree()),
            ("anyRequested", anyRequested()),
        ]
        cluster.barrier()
        for (name, failure) in results {
            print("rank \(rank): \(name): " + (failure.map { "FAILED (\($0))" } ?? "ok"))
        }
        return results.filter { $0.1 != nil }.count
    }

    /// Σ over ranks of (i mod 1000 + r/2): halves and small integers, so Float sums are exact.
    func allreduceFloat() -> String? {
        let count = 489_142
        var values = (0..<count).map { Float($0 % 1000) + Float(rank) / 2 }
        cluster.allreduce(&values, .sum)
        let rankSum = Float(size * (size - 1)) / 4
        for i in 0..<count where values[i] != Float(size) * Float(i % 1000) + rankSum {
            return "element \(i) is \(values[i]), expected \(Float(size) * Float(i % 1000) + rankSum)"
        }
        return nil
    }

    func allreduceDouble() -> String? {
        var values = [1e-3 * Double(rank + 1), -Double(rank)]
        cluster.allreduce(&values, .sum)
        let expected = [1e-3 * Double(size * (size + 1) / 2), -Double(size * (size - 1) / 2)]
        return zip(values, expected).allSatisfy { abs($0 - $1) <= 1e-12 } ? nil : "got \(values), expected \(expected)"
    }

    /// Values beyond 2^53, which a Double reduction would round.
    func allreduceInt64() -> String? {
        let big = Int64(1) << 60
        let value = cluster.allreduce(big / 8 + Int64(rank) + 1, .sum)
        let expected = Int64(size) * (big / 8) + Int64(size * (size + 1) / 2)
        return value == expected ? nil : "got \(value), expected \(expected)"
    }

    func allreduceExtremes() -> String? {
        let mine = UInt64.max - UInt64(rank) * 3
        let maximum = cluster.allreduce(mine, .max), minimum = cluster.allreduce(mine, .min)
        let expected = (UInt64.max, UInt64.max - UInt64(size - 1) * 3)
        return (maximum, minimum) == expected ? nil : "got \((maximum, minimum)), expected \(expected)"
    }

    /// Every rank offers a blob of another length; all must end with rank 0's.
    func broadcastBytes() -> String? {
        let mine = Array("blob of rank \(rank)\(String(repeating: "!", count: rank))".utf8)
        let received = cluster.broadcast(mine)
        let expected = Array("blob of rank 0".utf8)
        return received == expected ? nil : "got \(String(decoding: received, as: UTF8.self))"
    }

    func broadcastFloats() -> String? {
        var values = (0..<1000).map { Float($0) + Float(rank) * 1000 }
        cluster.broadcast(&values)
        return values == (0..<1000).map { Float($0) } ? nil : "first values \(values.prefix(3)), expected [0.0, 1.0, 2.0]"
    }

    /// Rank r sends r copies of its tag, so rank 0's blob is empty and the lengths all differ.
    func gather() -> String? {
        func blob(_ r: Int) -> [UInt8] { Array(String(repeating: "<\(r)>", count: r).utf8) }
        let gathered = cluster.gather(blob(rank))
        guard rank == 0 else { return gathered == nil ? nil : "a non-root rank received blobs" }
        let expected = (0..<size).map(blob)
        return gathered == expected ? nil : "got \(gathered.map { $0.map { String(decoding: $0, as: UTF8.self) } } ?? [])"
    }

    /// Identical weights agree; one changed weight on the last rank is seen by every rank.
    func ranksAgree() -> String? {
        var weights = (0..<10_000).map { Float($0).squareRoot() }
        let same = cluster.ranksAgree(on: checksum(weights))
        if rank == size - 1 { weights[1234] = weights[1234].nextUp }
        let drifted = cluster.ranksAgree(on: checksum(weights))
        let expectDrift = size > 1
        return same && drifted != expectDrift ? nil : "identical weights agree: \(same), one drifted weight agrees: \(drifted)"
    }

    /// Only the last rank asks to stop; every rank must see it. Nobody asking means nobody stops.
    func anyRequested() -> String? {
        let none = cluster.anyRequested(false)
        let one = cluster.anyRequested(rank == size - 1)
        return !none && one ? nil : "nobody asked → \(none), last rank asked → \(one)"
    }
}
