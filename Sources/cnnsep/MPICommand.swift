import ArgumentParser
import CBLAS
import Distributed
import Foundation
import Support

/// `cnnsep mpi-check`: run under `mpirun -np N`, prints each rank and times the allreduce a
/// data-parallel training step needs (one flat gradient of the default model); `--selftest` checks
/// every collective against values computed from closed forms. Without `mpirun` it is a job of one.
struct MPICheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-check",
        abstract: "Under mpirun: print rank and size, time an allreduce of one gradient (or check the collectives with --selftest).")

    @Flag(help: "Check allreduce, broadcast, gather, checksum agreement and stop agreement; exit non-zero on a mismatch.")
    var selftest = false
    @Option(help: "Floats in the timed allreduce (489,142: the default model's parameters).") var count = 489_142
    @Option(help: "Timed repetitions (the same on every rank).") var repetitions = 200
    @Option(help: "For tests: this rank throws an error while the others wait in an allreduce.") var failRank: Int?
    @Option(help: "For tests: this rank kills itself (SIGKILL) while the others wait in an allreduce.") var killRank: Int?
    @Flag(help: "Allreduce steps until Ctrl-C/SIGTERM reaches any rank, then stop all ranks at the same step.")
    var untilInterrupted = false

    /// The timed buffers' count goes to cblas_saxpy as an Int32; a million repetitions take hours.
    func validate() throws {
        guard (1...Int(Int32.max)).contains(count) else { throw ValidationError("--count must be from 1 to \(Int32.max) Floats, got \(count)") }
        guard (1...1_000_000).contains(repetitions) else { throw ValidationError("--repetitions must be from 1 to 1000000, got \(repetitions)") }
    }

    func run() throws {
        try MachineMemory.require(Double(2 * count * MemoryLayout<Float>.size), for: "--count \(count): the buffers of the allreduce", advice: "time a smaller one")
        if untilInterrupted { Interrupt.install() }  // before any rank announces itself to a test that signals it
        let cluster = Cluster.join()
        let launch = Launcher.detect(in: ProcessInfo.processInfo.environment).map { "launched with \($0.rawValue)" }
            ?? "not launched by mpirun/srun: MPI not initialised"
        print("rank \(cluster.rank) of \(cluster.size) (pid \(getpid()), \(launch))")
        fflush(stdout)  // at once, so that a test watching the output sees every rank start
        cluster.barrier()
        if failRank != nil || killRank != nil {
            try failOnRequest(cluster)
        } else if untilInterrupted {
            stepUntilInterrupted(cluster)
        } else if selftest {
            let failures = MPISelfTest(cluster: cluster).run()
            guard failures == 0 else { throw CNNSepError("mpi-check --selftest: \(failures) check(s) failed") }
        } else {
            benchmark(cluster)
        }
    }

    /// Medians of the slowest rank: every rank times the same calls, then they agree on the maximum.
    /// The baseline is the reduction's arithmetic alone on one rank (y += x over the same buffer).
    func benchmark(_ cluster: any Communicator) {
        var gradient = [Float](repeating: 0, count: count)  // zeros: sums never overflow to inf
        let other = [Float](repeating: 0, count: count)
        func median(_ body: () -> Void) -> Double {
            body()  // warm-up: first touch of the buffers and connection set-up
            var times = [Double]()
            for _ in 0..<repetitions {
                let start = DispatchTime.now().uptimeNanoseconds
                body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
            }
            return cluster.allreduce(times.sorted()[times.count / 2], .max)
        }
        let big = median { cluster.allreduce(&gradient, .sum) }
        let add = median { cblas_saxpy(Int32(count), 1, other, 1, &gradient, 1) }
        var word = [Double](repeating: 1, count: 1)
        let small = median { cluster.allreduce(&word, .sum) }
        let stop = median { _ = cluster.anyRequested(false) }
        var fingerprint: UInt64 = 0
        let hash = median { fingerprint = checksum(gradient) }
        let agree = cluster.ranksAgree(on: fingerprint)
        guard cluster.isRoot else { return }
        let megabytes = Double(count * MemoryLayout<Float>.size) / 1e6
        print("\(cluster.size) rank(s), median of \(repetitions) (slowest rank):")
        print(String(format: "  allreduce sum of %d Floats (%.2f MB): %.3f ms (%.2f GB/s of buffer; %.1f× a local y += x)",
                     count, megabytes, big * 1e3, megabytes / 1e3 / big, big / add))
        print(String(format: "  local y += x of the same buffer (cblas_saxpy): %.3f ms", add * 1e3))
        print(String(format: "  allreduce sum of 1 Double (8 bytes): %.1f µs", small * 1e6))
        print(String(format: "  anyRequested (4-byte allreduce max): %.1f µs", stop * 1e6))
        print(String(format: "  checksum of the %d Floats (local): %.3f ms; ranks agree: ", count, hash * 1e3) + (agree ? "yes" : "no"))
    }

    /// The failure the tests provoke: one rank stops while the others block in a collective that it
    /// never joins. The job must end at once with a non-zero exit, not hang.
    func failOnRequest(_ cluster: any Communicator) throws {
        if cluster.rank == failRank {
            throw CNNSepError("simulated failure (--fail-rank \(cluster.rank))")
        }
        if cluster.rank == killRank {
            kill(getpid(), SIGKILL)
        }
        var gradient = [Float](repeating: 1, count: count)
        cluster.allreduce(&gradient, .sum)
        throw CNNSepError("mpi-check: rank \(cluster.rank) finished an allreduce that a stopped rank never joined")
    }

    /// What distributed training will do with Ctrl-C: poll the local flag once per step, agree across
    /// ranks, and stop everywhere at the same step.
    func stepUntilInterrupted(_ cluster: any Communicator) {
        var gradient = [Float](repeating: 1, count: count)
        var step = 0
        while !cluster.anyRequested(Interrupt.requested) {
            gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 1) }
            cluster.allreduce(&gradient, .sum)
            step += 1
        }
        print("rank \(cluster.rank): stopped after step \(step) (interrupt seen here: \(Interrupt.requested))")
    }
}
