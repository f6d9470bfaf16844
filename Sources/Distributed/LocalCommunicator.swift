import Foundation
import Support

/// A job of one: every collective is the identity and no MPI function is ever called, so a process
/// not launched by `mpirun`/`srun` behaves exactly as it would without this module.
public final class LocalCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func barrier() {}
    public func allreduce<T: ReducibleScalar>(_ values: UnsafeMutableBufferPointer<T>, _ reduction: Reduction) {}
    public func broadcastRaw(_ bytes: UnsafeMutableRawBufferPointer) {}
    public func gather(_ bytes: [UInt8]) -> [[UInt8]]? { [bytes] }

    public func fail(_ message: String) -> Never {
        AtomicFile.removePending()
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        exit(1)
    }
}
