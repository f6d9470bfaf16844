import Support

/// Failing and agreeing as one job: an error that every rank meets ends the job with one line, from
/// one rank, and the other ranks wait for that end instead of printing it too or going on alone.
/// (The line and the end come from the command line's error exit, `Cluster.abortIfJoined`.)
extension Communicator {
    /// Runs `body` on every rank: work that every rank does alike before the job's real work (reading
    /// the arguments, the model, the songs; planning). When it throws on some rank, the lowest such
    /// rank rethrows its error and the others wait for the job's end: one line (rank 0's when every
    /// rank meets the same problem), not one per rank. One 8-byte allreduce.
    public func together<T>(_ body: () throws -> T) throws -> T {
        let result = Result { try body() }
        guard size > 1 else { return try result.get() }
        var failed = false
        if case .failure = result { failed = true }
        let first = Int(allreduce(Int64(failed ? rank : size), .min))
        if first == size || first == rank { return try result.get() }
        barrier()  // rank `first` never arrives: its abort ends this process
        fail("rank \(first) failed but did not stop the job")
    }

    /// For an error every rank meets at the same point: rank 0 throws it, the others wait for the
    /// job's end instead of printing it too.
    public func failTogether(_ error: Error) throws -> Never {
        if isRoot { throw error }
        barrier()  // rank 0 never arrives: its abort ends this process
        throw error
    }

    /// Throws `CNNSepError(problem("rank 2 differs"))` (naming every rank whose `value` is not rank
    /// 0's) from rank 0, the others waiting for its end, unless all ranks passed the same value:
    /// for checking that the ranks read the same config, dataset or songs. One allreduce when they
    /// agree.
    public func requireAgreement(on value: UInt64, _ problem: (String) -> String) throws {
        guard size > 1, !ranksAgree(on: value) else { return }
        let bytes = withUnsafeBytes(of: value.littleEndian) { Array($0) }
        let all = gather(bytes)?.map { $0.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) } }
        let differing = all.map { values in values.indices.filter { values[$0] != values[0] } } ?? []
        let names = differing.map(String.init).joined(separator: ", ")
        try failTogether(CNNSepError(problem(differing.count == 1 ? "rank \(names) differs" : "ranks \(names) differ")))
    }
}
