import CMPI
import Foundation
import Support

/// MPI_COMM_WORLD of a job started by `mpirun`/`srun`. Created once per process by `Cluster.join`
/// (MPI can be initialised only once). MPI errors are returned, not fatal inside the library, so that
/// every failure ends the same way: one line naming the rank, then MPI_Abort of the whole job.
/// Collectives may be called from any thread, one at a time (MPI_THREAD_SERIALIZED).
final class MPICommunicator: Communicator, @unchecked Sendable {
    let rank: Int
    let size: Int

    /// MPI_Init_thread; call only when a launcher started this process.
    init() {
        var provided: Int32 = 0
        let status = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided)
        guard status == MPI_SUCCESS else {
            // Nothing else can be done before MPI is up: the launcher sees the exit and stops the job.
            FileHandle.standardError.write(Data("error: MPI_Init_thread failed with code \(status)\n".utf8))
            exit(1)
        }
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(cnnsep_MPI_COMM_WORLD(), &rank)
        MPI_Comm_size(cnnsep_MPI_COMM_WORLD(), &size)
        self.rank = Int(rank)
        self.size = Int(size)
        MPI_Comm_set_errhandler(cnnsep_MPI_COMM_WORLD(), cnnsep_MPI_ERRORS_RETURN())
        if provided < Int32(MPI_THREAD_SERIALIZED) {
            fail("MPI provides thread level \(provided), cnnsep needs MPI_THREAD_SERIALIZED")
        }
    }

    func barrier() {
        check(MPI_Barrier(cnnsep_MPI_COMM_WORLD()), "MPI_Barrier")
    }

    func allreduce<T: ReducibleScalar>(_ values: UnsafeMutableBufferPointer<T>, _ reduction: Reduction) {
        guard let base = values.baseAddress else { return }
        let type = Self.datatype(T.kind), op = Self.operation(reduction)
        for (start, count) in Self.chunks(values.count) {
            check(MPI_Allreduce(cnnsep_MPI_IN_PLACE(), base + start, count, type, op, cnnsep_MPI_COMM_WORLD()),
                  "MPI_Allreduce of \(values.count) values")
        }
    }

    func broadcastRaw(_ bytes: UnsafeMutableRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        for (start, count) in Self.chunks(bytes.count) {
            check(MPI_Bcast(base + start, count, cnnsep_MPI_BYTE(), 0, cnnsep_MPI_COMM_WORLD()),
                  "MPI_Bcast of \(bytes.count) bytes")
        }
    }

    func gather(_ bytes: [UInt8]) -> [[UInt8]]? {
        guard bytes.count <= Int(Int32.max) else { fail("gather: blob of \(bytes.count) bytes exceeds MPI's 2 GiB count") }
        // The lengths first, so that rank 0 can place each blob; then the blobs in one MPI_Gatherv.
        var length = Int64(bytes.count)
        var lengths = [Int64](repeating: 0, count: rank == 0 ? size : 0)
        check(MPI_Gather(&length, 1, cnnsep_MPI_INT64_T(), &lengths, 1, cnnsep_MPI_INT64_T(), 0, cnnsep_MPI_COMM_WORLD()),
              "MPI_Gather of blob lengths")
        var counts = [Int32](), displacements = [Int32](), total = 0
        if rank == 0 {
            for length in lengths {
                guard total + Int(length) <= Int(Int32.max) else { fail("gather: \(total + Int(length)) bytes in all exceed MPI's 2 GiB count") }
                counts.append(Int32(length))
                displacements.append(Int32(total))
                total += Int(length)
            }
        }
        var received = [UInt8](repeating: 0, count: total)
        bytes.withUnsafeBytes { send in
            received.withUnsafeMutableBytes { receive in
                check(MPI_Gatherv(send.baseAddress, Int32(bytes.count), cnnsep_MPI_BYTE(),
                                  receive.baseAddress, counts, displacements, cnnsep_MPI_BYTE(), 0, cnnsep_MPI_COMM_WORLD()),
                      "MPI_Gatherv of \(bytes.count) bytes")
            }
        }
        guard rank == 0 else { return nil }
        return zip(displacements, counts).map { Array(received[Int($0)..<Int($0 + $1)]) }
    }

    func fail(_ message: String) -> Never { abort(message, exitCode: 1) }

    /// The one way a rank stops the job: its line, then MPI_Abort (the launcher kills the other ranks
    /// and exits with `exitCode`).
    func abort(_ message: String, exitCode: Int32) -> Never {
        AtomicFile.removePending()
        FileHandle.standardError.write(Data("error: rank \(rank): \(message)\n".utf8))
        MPI_Abort(cnnsep_MPI_COMM_WORLD(), exitCode)
        _exit(exitCode)  // MPI_Abort does not return; this is for the type checker and for a broken MPI.
    }

    /// Ends MPI; no collective may follow.
    func finalize() {
        check(MPI_Finalize(), "MPI_Finalize")
    }

    private func check(_ status: Int32, _ call: @autoclosure () -> String) {
        guard status != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(status, &text, &length)
        fail("\(call()) failed: \(String(cString: text))")
    }

    /// MPI counts are Int32: longer buffers go in pieces.
    private static func chunks(_ count: Int) -> [(start: Int, count: Int32)] {
        stride(from: 0, to: count, by: Int(Int32.max)).map { ($0, Int32(min(Int(Int32.max), count - $0))) }
    }

    private static func datatype(_ kind: ScalarKind) -> MPI_Datatype {
        switch kind {
        case .float: cnnsep_MPI_FLOAT()
        case .double: cnnsep_MPI_DOUBLE()
        case .int32: cnnsep_MPI_INT()
        case .int64: cnnsep_MPI_INT64_T()
        case .uint64: cnnsep_MPI_UINT64_T()
        }
    }

    private static func operation(_ reduction: Reduction) -> MPI_Op {
        switch reduction {
        case .sum: cnnsep_MPI_SUM()
        case .max: cnnsep_MPI_MAX()
        case .min: cnnsep_MPI_MIN()
        }
    }
}
