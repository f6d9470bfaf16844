import Foundation

/// Ctrl-C handling: the first SIGINT/SIGTERM/SIGUSR1 sets a flag that long loops poll (so they can
/// checkpoint and stop cleanly); a second one removes pending temporary files and exits at once.
/// SIGUSR1 is there for MPI jobs: `mpirun` passes it on to every rank at once, while it sends its
/// own SIGTERM only a second after a Ctrl-C and SIGKILL a second after that.
public enum Interrupt {
    nonisolated(unsafe) private static var flag: sig_atomic_t = 0

    /// True once the user asked to stop.
    public static var requested: Bool { flag != 0 }

    /// Installs the handlers; call once at the start of a long command.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            if Interrupt.flag != 0 {
                AtomicFile.removePending()
                _exit(128 + signal)
            }
            Interrupt.flag = 1
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        signal(SIGUSR1, handler)
    }

    /// For tests: simulate or clear a request.
    public static func set(_ value: Bool) { flag = value ? 1 : 0 }
}
