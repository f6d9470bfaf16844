import ArgumentParser
import Configuration
import Data
import Distributed
import Foundation
import Network
import Support
import Training

/// `cnnsep bench distributed`: data-parallel training throughput on this machine and a model of it
/// on a cluster. Runs children (`bench distributed-run`), alternating, `--repetitions` times each:
/// one process with 2 engine threads, one with 1, and `mpirun -np 2` (each rank bound to one core,
/// 1 thread) on the same global batches; then single-thread steps at the per-rank batches a larger
/// job would have, for the model.
struct BenchDistributed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed",
        abstract: "Windows/s of 1 process × 2 threads vs mpirun -np 2 × 1 thread, the gradient allreduce, and a scaling model.")

    @Option(help: "Timed steps per run (after 10 warm-up steps).") var steps = 100
    @Option(help: "Runs of each kind, alternating.") var repetitions = 3
    @Option(help: "Global batch (windows per step).") var batch = 32
    @Option(help: "More options for mpirun, e.g. \"--bind-to none\" (by default mpirun binds each of 2 ranks to a core).")
    var mpirunOptions = ""
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() throws {
        guard steps > 0, repetitions > 0, batch >= 2 else { throw CNNSepError("bench distributed: --steps and --repetitions must be positive, --batch at least 2") }
        guard Launcher.detect(in: ProcessInfo.processInfo.environment) == nil else {
            throw CNNSepError("bench distributed: run it without mpirun; it starts mpirun itself")
        }
        guard let mpirun = Self.mpirun else { throw CNNSepError("bench distributed: mpirun not found on PATH (install openmpi-bin: make deps)") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cnnsep-bench-distributed-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        print("bench distributed: global batch \(batch), \(steps) steps per run, \(repetitions) runs of each\(mpirunOptions.isEmpty ? "" : ", mpirun \(mpirunOptions)"); load \(ResourceUsage.loadAverage) at the start")

        let kinds: [(name: String, ranks: Int?, threads: Int)] = [("1 process × 2 threads", nil, 2), ("1 process × 1 thread", nil, 1), ("mpirun -np 2 × 1 thread", 2, 1)]
        var runs: [String: [[String: Double]]] = [:]
        for r in 0..<repetitions {
            for kind in kinds {
                let result = try child(mpirun: mpirun, ranks: kind.ranks, ["--batch", "\(batch)", "--threads", "\(kind.threads)"], folder: folder)
                runs[kind.name, default: []].append(result)
                print(String(format: "  run %d, %@: %.0f windows/s (step median %.2f ms", r + 1, kind.name, result["windowsPerSecond"]!, result["stepMedian"]! * 1e3)
                      + (kind.ranks == nil ? ")" : String(format: ", of which allreduce %.3f ms; back-to-back allreduce of %.2f MB %.3f ms, 4-byte allreduce %.1f µs)",
                                                          result["reductionMedian"]! * 1e3, result["gradientBytes"]! / 1e6, result["allreduceMedian"]! * 1e3, result["flagMedian"]! * 1e6)))
            }
        }
        func median(_ kind: String, _ key: String) -> Double {
            let values = runs[kind]!.map { $0[key]! }.sorted()
            return values[values.count / 2]
        }
        let best = max(median(kinds[0].name, "windowsPerSecond"), median(kinds[1].name, "windowsPerSecond"))
        let two = median(kinds[2].name, "windowsPerSecond")
        print(String(format: "medians: %@ %.0f, %@ %.0f, %@ %.0f windows/s: 2 ranks = %.2f× the best single process (target ≥ 0.9)",
                     kinds[0].name, median(kinds[0].name, "windowsPerSecond"), kinds[1].name, median(kinds[1].name, "windowsPerSecond"),
                     kinds[2].name, two, two / best))

        // Single-thread steps at the per-rank batches of larger jobs (the model's compute term): the
        // fastest median of the repetitions, as another process's burst only ever slows a run down.
        var compute: [Int: Double] = [:]
        for _ in 0..<repetitions {
            for b in [1, 2, 4, 8, 16, 32] {
                let t = try child(mpirun: mpirun, ranks: nil, ["--batch", "\(b)", "--threads", "1"], folder: folder)["stepMedian"]!
                compute[b] = min(compute[b] ?? .infinity, t)
            }
        }
        print("single-thread step (forward, backward, Adadelta) by windows per rank: "
              + compute.keys.sorted().map { String(format: "%d: %.2f ms", $0, compute[$0]! * 1e3) }.joined(separator: ", "))
        // The model's terms on this machine (shared memory: the measured allreduce instead of a link).
        if batch % 2 == 0, let half = compute[batch / 2] {
            let predicted = half + median(kinds[2].name, "allreduceMedian") + median(kinds[2].name, "flagMedian")
            print(String(format: "model check, 2 ranks here: %.2f ms (1 thread, %d windows) + %.3f ms (allreduce) = %.2f ms per step predicted, %.2f ms measured",
                         half * 1e3, batch / 2, median(kinds[2].name, "allreduceMedian") * 1e3, predicted * 1e3, median(kinds[2].name, "stepMedian") * 1e3))
        }
        let bytes = median(kinds[2].name, "gradientBytes")
        let model = ScalingModel(computeSeconds: compute, gradientBytes: bytes)
        print(model.table(globalBatch: batch))
        print("load \(ResourceUsage.loadAverage) at the end")
        if let json {
            try writeJSON(["runs": runs, "computeByBatch": Dictionary(uniqueKeysWithValues: compute.map { ("\($0.key)", $0.value) }),
                           "twoRanksOverBestSingle": two / best, "model": model.rows(globalBatch: batch)], to: json)
        }
    }

    static let mpirun: URL? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    /// Runs `bench distributed-run` alone or under `mpirun -np ranks`; returns its JSON.
    func child(mpirun: URL, ranks: Int?, _ arguments: [String], folder: URL) throws -> [String: Double] {
        let out = folder.appendingPathComponent("result.json")
        try? FileManager.default.removeItem(at: out)
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let childArguments = ["bench", "distributed-run", "--steps", "\(steps)", "--json", out.path] + arguments
        let process = Process()
        if let ranks {
            process.executableURL = mpirun
            process.arguments = ["-q", "-np", "\(ranks)"] + mpirunOptions.split(separator: " ").map(String.init) + [me.path] + childArguments
            var environment = ProcessInfo.processInfo.environment
            if getuid() == 0 {  // mpirun refuses root unless told twice
                environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
                environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
            }
            process.environment = environment
        } else {
            process.executableURL = me
            process.arguments = childArguments
        }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CNNSepError("bench distributed: child \(childArguments.joined(separator: " ")) on \(ranks ?? 1) rank(s) exited with \(process.terminationStatus)")
        }
        guard let result = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Double] else {
            throw CNNSepError("\(out.relativePath): not a JSON object of numbers")
        }
        return result
    }
}

/// `cnnsep bench distributed-run` (alone or under mpirun): timed data-parallel steps of the default
/// model on synthetic windows, through the same `DataParallel.step` as training (shard copy, engine,
/// allreduce, Adadelta) plus the per-step stop agreement; then back-to-back allreduces of the
/// gradient buffer and of the 4-byte flag. Rank 0 writes the JSON.
struct BenchDistributedRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed-run", abstract: "One timed run of bench distributed (started by it).", shouldDisplay: false)

    @Option var batch = 32
    @Option var steps = 100
    @Option var threads = 1
    @Option var json: String

    func run() throws {
        let ranks = Cluster.join()
        let config = Config()
        let m = config.model
        let step = TrainingStep(network: ChandnaNetwork(shape: m, seed: 1), config: config)
        step.threads = threads
        let parallel = DataParallel(ranks: ranks, config: config)
        var rng = SeededGenerator(seed: 2)
        // Four songs of 400 frames of random magnitudes, windows every 5 frames (80 per song).
        let songs = (0..<4).map { i -> SongFeatures in
            let n = 400 * m.bins
            let sources = (0..<4).map { _ in (0..<n).map { _ in rng.nextFloat() } }
            let mixture = (0..<n).map { j in sources.reduce(0) { $0 + $1[j] } }
            return SongFeatures(name: "song \(i)", frames: 400, bins: m.bins, mixture: mixture, sources: sources)
        }
        let block = Block(range: 0..<songs.count, songs: songs, windowLength: m.frames, windowHop: 5)
        let order = block.batchOrder(batchSize: batch, using: &rng)
        func oneStep(_ k: Int) {
            _ = parallel.step(step, block: block, windows: order[k % order.count])
            _ = parallel.anyRequested(false)
        }
        for k in 0..<10 { oneStep(k) }
        ranks.barrier()
        var times: [Double] = [], reductions: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        for k in 0..<steps {
            let t0 = DispatchTime.now().uptimeNanoseconds, r0 = parallel.reductionSeconds
            oneStep(k)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
            reductions.append(parallel.reductionSeconds - r0)
        }
        let elapsed = ranks.allreduce(Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9, .max)

        // The exchange alone: the flat gradient with the loss after it, and the stop flag.
        var gradient = [Float](repeating: 0, count: step.network.parameterCount + 1)
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func timed(_ body: () -> Void) -> Double {
            body()
            return median((0..<200).map { _ in
                let t0 = DispatchTime.now().uptimeNanoseconds
                body()
                return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            })
        }
        ranks.barrier()
        let allreduce = ranks.allreduce(timed { ranks.allreduce(&gradient, .sum) }, .max)
        let flag = ranks.allreduce(timed { _ = ranks.anyRequested(false) }, .max)
        let result: [String: Double] = [
            "ranks": Double(ranks.size), "threads": Double(threads), "batch": Double(batch),
            "windowsPerSecond": Double(steps * batch) / elapsed,
            "stepMedian": ranks.allreduce(median(times), .max),
            "reductionMedian": ranks.allreduce(median(reductions), .max),
            "allreduceMedian": allreduce, "flagMedian": flag,
            "gradientBytes": Double(gradient.count * MemoryLayout<Float>.size),
        ]
        if ranks.isRoot { try writeJSON(result, to: json) }
    }
}

/// Time per synchronous data-parallel step on N ranks of one core each, one rank per node:
///     T(N, b) = T_compute(b) + T_ring(N) + T_flag(N)
///     T_ring(N) = 2(N−1)/N · S/B + 2(N−1)·α      (ring allreduce of the S-byte gradient)
///     T_flag(N) = ⌈log₂ N⌉ · α                    (the 4-byte stop agreement, recursive doubling)
/// where b = windows per rank, T_compute(b) = the measured single-thread step at b windows (forward,
/// backward and the Adadelta update every rank repeats), B = link bandwidth, α = per-message latency.
/// The allreduce starts after the whole backward pass (no overlap), as cnnsep does it.
struct ScalingModel {
    let computeSeconds: [Int: Double]
    let gradientBytes: Double

    struct Link { let name: String; let bytesPerSecond: Double; let latency: Double }
    static let links = [
        Link(name: "10 Gbit/s Ethernet (α = 25 µs)", bytesPerSecond: 10e9 / 8, latency: 25e-6),
        Link(name: "100 Gbit/s InfiniBand (α = 2 µs)", bytesPerSecond: 100e9 / 8, latency: 2e-6),
    ]

    func ring(_ n: Int, _ link: Link) -> Double {
        guard n > 1 else { return 0 }
        let f = Double(n - 1)
        return 2 * f / Double(n) * gradientBytes / link.bytesPerSecond + 2 * f * link.latency
    }

    func flag(_ n: Int, _ link: Link) -> Double { n > 1 ? ceil(log2(Double(n))) * link.latency : 0 }

    /// Rows: strong scaling of the global batch over N = 2, 8, 32 (where it still gives every rank
    /// a window), weak scaling at 32 windows per rank for N = 8, 32, 128.
    func rows(globalBatch: Int) -> [[String: Any]] {
        var rows: [[String: Any]] = []
        let single = computeSeconds[32] ?? computeSeconds.values.max()!
        for link in Self.links {
            let cases = [2, 8, 32].filter { globalBatch % $0 == 0 && computeSeconds[globalBatch / $0] != nil }.map { ($0, globalBatch / $0, "strong") }
                + [8, 32, 128].map { ($0, 32, "weak") }
            for (n, b, kind) in cases {
                let compute = computeSeconds[b]!, ring = ring(n, link), flag = flag(n, link)
                let step = compute + ring + flag
                rows.append(["link": link.name, "ranks": n, "windowsPerRank": b, "scaling": kind,
                             "computeMs": compute * 1e3, "allreduceMs": ring * 1e3, "flagMs": flag * 1e3, "stepMs": step * 1e3,
                             "windowsPerSecond": Double(n * b) / step, "speedup": Double(n * b) / step / (32 / single),
                             "communicationShare": (ring + flag) / step])
            }
        }
        return rows
    }

    func table(globalBatch: Int) -> String {
        var lines = [String(format: "model (S = %.2f MB; speed-up against one rank × 1 thread at 32 windows):", gradientBytes / 1e6),
                     "link | ranks | windows/rank | compute ms | allreduce ms | flag ms | step ms | windows/s | speed-up | communication"]
        for r in rows(globalBatch: globalBatch) {
            lines.append(String(format: "%@ | %d (%@) | %d | %.2f | %.3f | %.3f | %.2f | %.0f | %.1f× | %.0f %%",
                                r["link"] as! String, r["ranks"] as! Int, r["scaling"] as! String, r["windowsPerRank"] as! Int,
                                r["computeMs"] as! Double, r["allreduceMs"] as! Double, r["flagMs"] as! Double, r["stepMs"] as! Double,
                                r["windowsPerSecond"] as! Double, r["speedup"] as! Double, 100 * (r["communicationShare"] as! Double)))
        }
        return lines.joined(separator: "\n")
    }
}
