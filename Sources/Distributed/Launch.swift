/// How this process was started: the variables a launcher puts in every rank's environment.
/// Only a process that has one of them ever calls MPI; everything else runs as a single process.
public enum Launcher: String, Sendable, CaseIterable {
    /// Open MPI's `mpirun` / `mpiexec`.
    case openMPI = "OMPI_COMM_WORLD_SIZE"
    /// A PMIx launcher (Open MPI's PRRTE, `srun --mpi=pmix`).
    case pmix = "PMIX_RANK"
    /// A PMI-1/PMI-2 launcher (`srun --mpi=pmi2`, MPICH's Hydra).
    case pmi = "PMI_SIZE"

    /// The launcher whose variable is set in `environment`, or nil for a plain single process.
    public static func detect(in environment: [String: String]) -> Launcher? {
        allCases.first { environment[$0.rawValue] != nil }
    }
}
