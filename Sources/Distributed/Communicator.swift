/// The ranks of one job and the collectives training, separation and evaluation need. Every rank must
/// make the same calls in the same order with the same counts (as MPI requires); rank 0 is the root.
/// A process not launched by `mpirun`/`srun` gets `LocalCommunicator`, which never calls MPI.
public protocol Communicator: AnyObject, Sendable {
    var rank: Int { get }
    var size: Int { get }
    /// Returns once every rank has called it.
    func barrier()
    /// Replaces `values` on every rank by their element-wise reduction over all ranks.
    func allreduce<T: ReducibleScalar>(_ values: UnsafeMutableBufferPointer<T>, _ reduction: Reduction)
    /// Copies rank 0's bytes into every rank's `bytes`; all ranks pass the same length.
    func broadcastRaw(_ bytes: UnsafeMutableRawBufferPointer)
    /// Rank 0 gets every rank's blob in rank order (lengths may differ); the other ranks get nil.
    func gather(_ bytes: [UInt8]) -> [[UInt8]]?
    /// Prints `error: rank R: <message>` and stops every rank of the job with a non-zero exit.
    func fail(_ message: String) -> Never
}

/// The element types the collectives carry.
public protocol ReducibleScalar: Comparable, Sendable { static var kind: ScalarKind { get } }
public enum ScalarKind: Sendable { case float, double, int32, int64, uint64 }
extension Float: ReducibleScalar { public static var kind: ScalarKind { .float } }
extension Double: ReducibleScalar { public static var kind: ScalarKind { .double } }
extension Int32: ReducibleScalar { public static var kind: ScalarKind { .int32 } }
extension Int64: ReducibleScalar { public static var kind: ScalarKind { .int64 } }
extension UInt64: ReducibleScalar { public static var kind: ScalarKind { .uint64 } }

public enum Reduction: Sendable { case sum, max, min }

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    public func allreduce<T: ReducibleScalar>(_ values: inout [T], _ reduction: Reduction) {
        values.withUnsafeMutableBufferPointer { allreduce($0, reduction) }
    }

    public func allreduce<T: ReducibleScalar>(_ value: T, _ reduction: Reduction) -> T {
        var values = [value]
        allreduce(&values, reduction)
        return values[0]
    }

    /// True on every rank when `flag` is true on any rank: one 4-byte allreduce, cheap enough to call
    /// once per training step so that all ranks stop (e.g. on Ctrl-C) at the same step.
    public func anyRequested(_ flag: Bool) -> Bool {
        allreduce(Int32(flag ? 1 : 0), .max) != 0
    }

    /// True on every rank when every rank passed the same checksum (one allreduce-max of the value and
    /// its complement, which gives the maximum and the minimum at once): detects ranks whose weights
    /// have drifted apart.
    public func ranksAgree(on checksum: UInt64) -> Bool {
        var extremes = [checksum, ~checksum]
        allreduce(&extremes, .max)
        return extremes[0] == ~extremes[1]
    }

    /// Every rank's `values` become rank 0's. A rank whose count differs from rank 0's stops the job.
    public func broadcast<T: ReducibleScalar>(_ values: UnsafeMutableBufferPointer<T>) {
        let rootCount = broadcast(Int64(values.count))
        if rootCount != values.count {
            fail("broadcast: this rank has \(values.count) values, rank 0 has \(rootCount)")
        }
        broadcastRaw(UnsafeMutableRawBufferPointer(values))
    }

    public func broadcast<T: ReducibleScalar>(_ values: inout [T]) {
        values.withUnsafeMutableBufferPointer { broadcast($0) }
    }

    /// Rank 0's blob, on every rank (the other ranks' arguments are ignored; lengths may differ).
    public func broadcast(_ bytes: [UInt8]) -> [UInt8] {
        let count = Int(broadcast(Int64(bytes.count)))
        var result = isRoot ? bytes : [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { broadcastRaw($0) }
        return result
    }

    /// Rank 0's value, on every rank.
    public func broadcast(_ value: Int64) -> Int64 {
        var copy = value
        withUnsafeMutableBytes(of: &copy) { broadcastRaw($0) }
        return copy
    }
}
