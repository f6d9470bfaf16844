import Foundation

/// The process's place in a job. `join()` decides once: MPI when a launcher started the process
/// (`Launcher.detect`), otherwise a `LocalCommunicator` that never calls MPI. `finish()` on normal
/// exit and `abortIfJoined` on an error end the job the same way on every command.
public enum Cluster {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var joined: (any Communicator)?
    nonisolated(unsafe) private static var finished = false

    /// The communicator of this process; the first call initialises MPI if (and only if) a launcher
    /// variable is set in `environment`.
    public static func join(environment: [String: String] = ProcessInfo.processInfo.environment) -> any Communicator {
        lock.lock(); defer { lock.unlock() }
        precondition(!finished, "Cluster.join after Cluster.finish")
        if let joined { return joined }
        let communicator: any Communicator = Launcher.detect(in: environment) == nil ? LocalCommunicator() : MPICommunicator()
        joined = communicator
        return communicator
    }

    /// Ends MPI (MPI_Finalize) if `join` started it; nothing otherwise. Call once, on normal exit.
    public static func finish() {
        lock.lock(); defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        (joined as? MPICommunicator)?.finalize()
    }

    /// For the command line's error exit: in an MPI job, prints `error: rank R: <message>` and aborts
    /// every rank with `exitCode` (a rank that just exits would leave the others waiting in a
    /// collective until the launcher notices). Exit code 0 (a deliberate clean stop) finishes instead.
    /// Returns without doing anything when no MPI job was joined.
    public static func abortIfJoined(_ message: String, exitCode: Int32) {
        lock.lock()
        let mpi = finished ? nil : joined as? MPICommunicator
        lock.unlock()
        guard let mpi else { return }
        guard exitCode != 0 else { return finish() }
        mpi.abort(message.isEmpty ? "stopped with exit code \(exitCode)" : message, exitCode: exitCode)
    }
}
