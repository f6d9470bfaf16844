import Foundation
import Testing

/// Real jobs of several ranks: `mpirun -q -np N --oversubscribe cnnsep mpi-check …` with the cnnsep that
/// `swift test` built beside this test bundle. Skipped where Open MPI's `mpirun` is not installed
/// (`make test` installs it).
@Suite(.enabled(if: MPIJob.mpirun != nil, "mpirun not found: install openmpi-bin (make deps)"))
struct MPIJobTests {
    @Test(arguments: [2, 3])
    func everyCollectiveGivesTheClosedFormResultOnEveryRank(ranks: Int) throws {
        let job = try MPIJob.run(ranks: ranks, ["mpi-check", "--selftest"])
        #expect(job.status == 0, "stderr: \(job.stderr)")
        #expect(!job.stdout.contains("FAILED"), "\(job.stdout)")
        let checks = ["allreduce sum Float", "allreduce sum Double", "allreduce sum Int64", "allreduce max/min UInt64",
                      "broadcast bytes", "broadcast Floats", "gather", "ranksAgree", "anyRequested"]
        for rank in 0..<ranks {
            #expect(job.lines.contains { $0.hasPrefix("rank \(rank) of \(ranks) (") }, "\(job.stdout)")
            for check in checks {
                #expect(job.lines.contains("rank \(rank): \(check): ok"), "rank \(rank), \(check): \(job.stdout)")
            }
        }
    }

    /// The other ranks wait in an allreduce the failing rank never joins: only MPI_Abort ends them.
    @Test(arguments: [0, 1])
    func aFailingRankStopsTheJobWithOneLineNamingIt(rank: Int) throws {
        let job = try MPIJob.run(ranks: 2, ["mpi-check", "--fail-rank", "\(rank)"])
        #expect(job.status != 0)
        #expect(job.stderr == "error: rank \(rank): simulated failure (--fail-rank \(rank))\n")
        #expect(!job.stdout.contains("finished an allreduce"))
    }

    @Test func aKilledRankStopsTheJobInsteadOfLeavingTheOthersWaiting() throws {
        let job = try MPIJob.run(ranks: 2, ["mpi-check", "--kill-rank", "1"])
        #expect(job.status != 0)
        #expect(!job.stdout.contains("finished an allreduce"))
    }

    /// SIGTERM reaches rank 1 only; rank 0 stops because the ranks agree once per step, and at the same step.
    @Test func anInterruptOfOneRankStopsEveryRankAtTheSameStep() throws {
        let job = try MPIJob.run(ranks: 2, ["mpi-check", "--until-interrupted", "--count", "1000"], timeout: 30) { stdout in
            let pids = stdout.split(separator: "\n").compactMap { line -> Int32? in
                guard line.hasPrefix("rank 1 of 2 (pid ") else { return nil }
                return Int32(line.dropFirst("rank 1 of 2 (pid ".count).prefix { $0.isNumber })
            }
            guard let pid = pids.first else { return false }
            usleep(200_000)  // let them take some steps
            kill(pid, SIGTERM)
            return true
        }
        #expect(job.status == 0, "stderr: \(job.stderr)")
        let stops = job.lines.filter { $0.contains("stopped after step") }
        #expect(stops.count == 2, "\(job.stdout)")
        let steps = Set(stops.map { $0.split(separator: " ")[4] })
        #expect(steps.count == 1, "\(stops)")
        #expect(job.lines.contains { $0.hasPrefix("rank 0: stopped") && $0.hasSuffix("(interrupt seen here: false)") })
        #expect(job.lines.contains { $0.hasPrefix("rank 1: stopped") && $0.hasSuffix("(interrupt seen here: true)") })
    }

    @Test func withoutMPIRunTheCommandIsAJobOfOne() throws {
        let job = try MPIJob.run(ranks: nil, ["mpi-check", "--selftest"])
        #expect(job.status == 0)
        #expect(job.lines.first?.hasPrefix("rank 0 of 1 (") == true)
        #expect(job.lines.first?.hasSuffix("not launched by mpirun/srun: MPI not initialised)") == true)
        #expect(job.lines.filter { $0.hasSuffix(": ok") }.count == 9)
    }
}
