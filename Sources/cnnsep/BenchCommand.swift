import ArgumentParser
import Autodiff
import CBLAS
import Audio
import Foundation
import Separation
import Support

/// `cnnsep bench`: a group of benchmarks (run a release build). `bench ops` times the network's layers
/// against raw cblas_sgemm; sibling subcommands (`bench step`, `bench separation`) slot in beside it.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release): a training step, separating a song, and each layer against raw sgemm.",
        subcommands: [BenchAll.self, BenchStep.self, BenchSeparation.self, BenchSeparationRun.self, BenchStepSteps.self, BenchOps.self, BenchResample.self],
        defaultSubcommand: BenchAll.self)
}

/// Times forward and backward of the model's convolutions and dense layers at its real shapes, and the
/// raw cblas_sgemm calls of the same sizes (M, N, K and transposes) in the same run.
struct BenchOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Median time and GFLOP/s of each layer (forward, backward) at batch 32 versus raw sgemm of the same sizes.")

    @Option(help: "Batch size.") var batch = 32
    @Option(help: "Minimum repetitions per measurement (more are run until --seconds have passed).") var repetitions = 50
    @Option(help: "Seconds to spend at least on each measurement.") var seconds = 0.3
    @Option(help: "OpenBLAS threads.") var threads: Int32 = 1

    func run() throws {
        guard batch > 0, repetitions > 0, threads > 0 else { throw CNNSepError("bench ops: --batch, --repetitions and --threads must be positive") }
        openblas_set_num_threads(threads)
        print("bench ops: batch \(batch), \(threads) OpenBLAS thread(s), median of ≥ \(repetitions) repetitions")
        print("| layer | pass | GEMMs (M×N×K) | time (ms) | GFLOP/s | raw sgemm (ms) | raw GFLOP/s | time / raw |")
        print("|---|---|---|---:|---:|---:|---:|---:|")
        for layer in layers(batch: batch) {
            var rng = SeededGenerator(seed: 7)
            let inputs = layer.shapes.enumerated().map { n, shape in
                Tensor((0..<shape.reduce(1, *)).map { _ in rng.nextFloat() - 0.5 }, shape: shape,
                       requiresGrad: n > 0 || layer.inputNeedsGrad)
            }
            let forwardTime = median { _ = layer.op(inputs) }
            let y = layer.op(inputs)
            let gradient = (0..<y.count).map { _ in rng.nextFloat() - 0.5 }
            let backwardTime = median { y.backward(gradient: gradient) }
            report(layer.name, "forward", layer.forward, forwardTime)
            report(layer.name, "backward", layer.backward, backwardTime)
        }
    }

    /// One layer: its op, input shapes (x, weight, bias), and the GEMMs it performs in each pass.
    struct Layer {
        let name: String
        let shapes: [[Int]]
        let inputNeedsGrad: Bool
        let op: ([Tensor]) -> Tensor
        let forward: [Gemm]
        let backward: [Gemm]
    }

    /// A GEMM as the op calls it: C (m×n) += op(A) (m×k) · op(B) (k×n).
    struct Gemm: CustomStringConvertible {
        let m, n, k: Int
        var transA = false, transB = false
        var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
        var description: String { "\(m)×\(n)×\(k)\(transA ? "ᵀa" : "")\(transB ? "ᵀb" : "")" }
    }

    /// The model's layers (METHOD.md table) at batch b, T = 25, F = 513.
    func layers(batch b: Int) -> [Layer] {
        let conv: ([Tensor]) -> Tensor = { conv2d($0[0], kernel: $0[1], bias: $0[2]) }
        let deconv: ([Tensor]) -> Tensor = { conv2dTranspose($0[0], kernel: $0[1], bias: $0[2]) }
        let fc: ([Tensor]) -> Tensor = { dense($0[0], weight: $0[1], bias: $0[2]) }
        return [
            // Input magnitudes need no gradient, so backward is dK only (and db).
            Layer(name: "vertical_convolution (1,513,1,50)", shapes: [[b, 25, 513, 1], [1, 513, 1, 50], [50]], inputNeedsGrad: false, op: conv,
                  forward: [Gemm(m: b * 25, n: 50, k: 513)],
                  backward: [Gemm(m: 513, n: 50, k: b * 25, transA: true)]),
            Layer(name: "horizontal_convolution (12,1,50,30)", shapes: [[b, 25, 1, 50], [12, 1, 50, 30], [30]], inputNeedsGrad: true, op: conv,
                  forward: [Gemm(m: b * 14, n: 30, k: 600)],
                  backward: [Gemm(m: 600, n: 30, k: b * 14, transA: true), Gemm(m: b * 14, n: 600, k: 30, transB: true)]),
            Layer(name: "horizontal_deconvolution (12,1,50,30)", shapes: [[b, 14, 1, 30], [12, 1, 50, 30], [50]], inputNeedsGrad: true, op: deconv,
                  forward: [Gemm(m: b * 14, n: 600, k: 30, transB: true)],
                  backward: [Gemm(m: 600, n: 30, k: b * 14, transA: true), Gemm(m: b * 14, n: 30, k: 600)]),
            Layer(name: "vertical_deconvolution (1,513,1,50)", shapes: [[b, 25, 1, 50], [1, 513, 1, 50], [1]], inputNeedsGrad: true, op: deconv,
                  forward: [Gemm(m: b * 25, n: 513, k: 50, transB: true)],
                  backward: [Gemm(m: 513, n: 50, k: b * 25, transA: true), Gemm(m: b * 25, n: 50, k: 513)]),
            Layer(name: "global_dense (420,128)", shapes: [[b, 420], [420, 128], [128]], inputNeedsGrad: true, op: fc,
                  forward: [Gemm(m: b, n: 128, k: 420)],
                  backward: [Gemm(m: 420, n: 128, k: b, transA: true), Gemm(m: b, n: 420, k: 128, transB: true)]),
            Layer(name: "single_dense (128,420)", shapes: [[b, 128], [128, 420], [420]], inputNeedsGrad: true, op: fc,
                  forward: [Gemm(m: b, n: 420, k: 128)],
                  backward: [Gemm(m: 128, n: 420, k: b, transA: true), Gemm(m: b, n: 128, k: 420, transB: true)]),
        ]
    }

    func report(_ name: String, _ pass: String, _ gemms: [Gemm], _ time: Double) {
        let raw = gemms.map(rawTime).reduce(0, +)
        let flops = gemms.map(\.flops).reduce(0, +)
        func ms(_ t: Double) -> String { String(format: "%.3f", t * 1e3) }
        func gflops(_ t: Double) -> String { String(format: "%.1f", flops / t / 1e9) }
        print("| \(name) | \(pass) | \(gemms.map(\.description).joined(separator: " + ")) | \(ms(time)) | \(gflops(time)) | \(ms(raw)) | \(gflops(raw)) | \(String(format: "%.2f", time / raw)) |")
    }

    /// Median seconds of one raw cblas_sgemm of this size (beta = 1, as the ops accumulate).
    func rawTime(_ g: Gemm) -> Double {
        let a = [Float](repeating: 0.5, count: g.m * g.k), b = [Float](repeating: 0.25, count: g.k * g.n)
        var c = [Float](repeating: 0, count: g.m * g.n)
        return a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    median {
                        cblas_sgemm(CblasRowMajor, g.transA ? CblasTrans : CblasNoTrans, g.transB ? CblasTrans : CblasNoTrans,
                                    Int32(g.m), Int32(g.n), Int32(g.k), 1,
                                    ap.baseAddress, Int32(g.transA ? g.m : g.k), bp.baseAddress, Int32(g.transB ? g.k : g.n),
                                    1, cp.baseAddress, Int32(g.n))
                    }
                }
            }
        }
    }

    /// Median wall time of `body` over at least `repetitions` runs and `seconds` seconds, after a warm-up.
    func median(_ body: () -> Void) -> Double {
        for _ in 0..<3 { body() }
        var times: [Double] = []
        let start = DispatchTime.now().uptimeNanoseconds
        while times.count < repetitions || Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 < seconds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
        }
        times.sort()
        return times[times.count / 2]
    }
}

// MARK: - bench (all), bench step, bench separation

/// `cnnsep bench`: the training step, then the separation of synthesized songs.
struct BenchAll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all", abstract: "bench step, then bench separation (JSON of both with --json).")
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Option(help: "Timed training steps (after warm-up).") var steps = 60
    @Option(help: "Threads of the fused path (1 or 2).") var threads = 2

    func run() throws {
        let stepResult = try BenchStep.parse(["--steps", "\(steps)", "--threads", "\(threads)"]).measure()
        print("")
        let separationResult = try BenchSeparation.parse(["--threads", "\(threads)"]).measure()
        if let json {
            try writeJSON(["step": stepResult, "separation": separationResult], to: json)
        }
    }
}

/// A training step (TrainingStep.step: forward, masks, loss, backward, Adadelta) on synthetic data,
/// beside raw cblas_sgemm on the step's own GEMM shapes timed in the same run.
struct BenchStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Median/min/max ms of a training step at batch 32, T=25, F=513, its GEMM floor, allocations and peak RSS.")

    @Option(help: "Batch size.") var batch = 32
    @Option(help: "Timed steps (after warm-up).") var steps = 60
    @Option(help: "Warm-up steps.") var warmup = 10
    @Option(help: "Threads of the fused path (1 or 2).") var threads = 2
    @Option(help: "Timed steps of the tape (unfused) path, for comparison (0 to skip).") var tapeSteps = 8
    @Option(help: "Write the results as JSON to this file.") var json: String?
    @Option(help: "Count heap allocations per step by running steps in a child under valgrind (if installed; one thread, since valgrind serializes threads). Slow: several minutes.") var valgrind = false
    @Option(help: "Also count the tape path's allocations under valgrind (slow).") var valgrindTape = false

    func run() throws {
        let result = try measure()
        if let json { try writeJSON(result, to: json) }
    }

    /// Heap allocations per steady-state step, exact: valgrind's "total heap usage" (malloc, calloc,
    /// realloc, new — every Swift object too) of a child that runs 3 warm-up steps and then 2 or 12
    /// steps, on one thread; the difference over 10 steps. nil without valgrind.
    func valgrindAllocationsPerStep(tape: Bool) -> (allocations: Double, bytes: Double)? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/valgrind") else { return nil }
        func usage(_ n: Int) -> (Double, Double)? {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/valgrind")
            process.arguments = ["--tool=memcheck", "--undef-value-errors=no", "--leak-check=no",
                                 URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
                                 "bench", "step-steps", "--steps", "\(n)", "--threads", "1", "--tape", "\(tape)"]
            let pipe = Pipe()
            process.standardError = pipe
            process.standardOutput = FileHandle.nullDevice
            guard (try? process.run()) != nil else { return nil }
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            // "total heap usage: 12,345 allocs, 12,000 frees, 6,789,000 bytes allocated"
            guard let line = text.split(separator: "\n").first(where: { $0.contains("total heap usage") }) else { return nil }
            let digits = line.replacingOccurrences(of: ",", with: "").split(separator: " ").compactMap { Double($0) }
            guard digits.count >= 3 else { return nil }
            return (digits[digits.count - 3], digits[digits.count - 1])
        }
        guard let few = usage(2), let many = usage(12) else { return nil }
        return ((many.0 - few.0) / 10, (many.1 - few.1) / 10)
    }

    func measure() throws -> [String: Any] {
        guard batch > 0, steps > 0, warmup >= 0, threads >= 1 else { throw CNNSepError("bench step: --batch, --steps, --threads must be positive") }
        setBLASThreads(1)
        let config = Config()
        let m = config.model
        let network = ChandnaNetwork(shape: m, seed: 1)
        let step = TrainingStep(network: network, config: config)
        step.threads = threads
        let (mixture, targets) = syntheticBatch(m, batch: batch, seed: 2)
        print("bench step: batch \(batch), T = \(m.frames), F = \(m.bins), \(threads) thread(s), 1 OpenBLAS thread, load \(loadAverage())")

        // The fused path against the tape on the same weights and batch (before any update).
        step.useFusedPath = false
        step.computeGradients(mixture: mixture, targets: targets)
        let tapeGrads = network.parameters.map { $0.grad! }
        let tapeLoss = step.loss(mixture: mixture, targets: targets)
        step.useFusedPath = true
        let fusedLoss = step.computeGradients(mixture: mixture, targets: targets)
        var worst = 0.0
        for (p, g) in zip(network.parameters, tapeGrads) {
            let f = p.grad!
            let scale = max(g.map { Double(Swift.abs($0)) }.max() ?? 0, 1e-30)
            for i in 0..<g.count { worst = max(worst, Double(Swift.abs(f[i] - g[i])) / scale) }
        }
        print(String(format: "fused vs tape: loss %.6g vs %.6g, largest gradient difference %.2e of each parameter's largest |gradient|", fusedLoss, tapeLoss, worst))

        // Tape path timing (the code before this work), for comparison.
        var tapeMedian = 0.0
        if tapeSteps > 0 {
            step.useFusedPath = false
            step.step(mixture: mixture, targets: targets)
            tapeMedian = timings(tapeSteps) { step.step(mixture: mixture, targets: targets) }.median
            step.useFusedPath = true
        }

        // Fused path: warm-up, then counted and timed steps.
        for _ in 0..<warmup { step.step(mixture: mixture, targets: targets) }
        let before = AllocationCounter.snapshot()
        let t = timings(steps) { step.step(mixture: mixture, targets: targets) }
        let after = AllocationCounter.snapshot()
        let heap = valgrind ? valgrindAllocationsPerStep(tape: false) : nil
        let tapeHeap = valgrindTape ? valgrindAllocationsPerStep(tape: true) : nil

        // The step's GEMMs, raw, in the same run.
        let gemms = ChandnaNetwork.trainingStepGEMMs(shape: m, batch: batch)
        var rawByShape: [String: Double] = [:]
        for g in gemms where rawByShape[g.description] == nil { rawByShape[g.description] = rawGEMMTime(g) }
        let floor = gemms.map { rawByShape[$0.description]! }.reduce(0, +)
        let flops = gemms.map(\.flops).reduce(0, +)

        // The network's forward pass over the windows of a 4-minute song (1614 windows of T = 25), batches of 64.
        let forward4 = forwardTime(network: network, windows: 1614, batch: 64)

        let perStep = after.minus(before, steps: steps)
        let result: [String: Any] = [
            "name": "cnnsep (Swift, fused step, \(threads) thread\(threads > 1 ? "s" : ""))",
            "batch": batch, "frames": m.frames, "bins": m.bins,
            "step_ms_median": t.median * 1e3, "step_ms_min": t.min * 1e3, "step_ms_max": t.max * 1e3,
            "windows_per_second": Double(batch) / t.median,
            "gflop_per_step": flops / 1e9, "gflops": flops / t.median / 1e9,
            "forward_4min_seconds": forward4,
            "gemm_floor_ms": floor * 1e3, "step_over_gemm_floor": t.median / floor,
            "gemm_floor_gflops": flops / floor / 1e9,
            "tape_step_ms_median": tapeMedian * 1e3,
            "heap_allocations_per_step": heap.map { $0.allocations } ?? -1, "heap_bytes_allocated_per_step": heap.map { $0.bytes } ?? -1,
            "tape_heap_allocations_per_step": tapeHeap.map { $0.allocations } ?? -1,
            "rss_bytes_growth_per_step": perStep.bytes,
            "minor_page_faults_per_step": perStep.faults,
            "gradient_difference_vs_tape": worst,
            "peak_rss_mb": peakRSSMegabytes(), "threads": threads, "load_average": loadAverage(),
        ]
        print("| measure | value |")
        print("|---|---:|")
        print(String(format: "| step, median (min–max) over %d | %.2f ms (%.2f–%.2f) |", steps, t.median * 1e3, t.min * 1e3, t.max * 1e3))
        print(String(format: "| windows/s | %.0f |", Double(batch) / t.median))
        print(String(format: "| GFLOP per step / achieved GFLOP/s | %.3f / %.1f |", flops / 1e9, flops / t.median / 1e9))
        print(String(format: "| GEMM floor (%d raw sgemm calls) / its GFLOP/s | %.2f ms / %.1f |", gemms.count, floor * 1e3, flops / floor / 1e9))
        print(String(format: "| step / GEMM floor | %.2f |", t.median / floor))
        if tapeSteps > 0 { print(String(format: "| tape (unfused) step, median of %d | %.2f ms |", tapeSteps, tapeMedian * 1e3)) }
        print(String(format: "| forward over 1614 windows (4-min song), batches of 64 | %.3f s |", forward4))
        if let heap { print(String(format: "| heap allocations per step (valgrind, 1 thread; every malloc/calloc/realloc) | %.1f (%.0f bytes) |", heap.allocations, heap.bytes)) }
        if let tapeHeap { print(String(format: "| heap allocations per tape step (valgrind) | %.1f (%.0f bytes) |", tapeHeap.allocations, tapeHeap.bytes)) }
        print(String(format: "| resident set growth per step | %.0f bytes |", perStep.bytes))
        print(String(format: "| minor page faults per step | %.2f |", perStep.faults))
        print(String(format: "| peak RSS | %.0f MB |", peakRSSMegabytes()))
        return result
    }

    /// Synthetic batch: four non-negative sources (uniform noise with per-window gains) and their sum.
    func syntheticBatch(_ m: ModelShape, batch: Int, seed: UInt64) -> (Tensor, [Tensor]) {
        var rng = SeededGenerator(seed: seed)
        let n = batch * m.frames * m.bins
        var sources = [[Float]](repeating: [Float](repeating: 0, count: n), count: 4)
        for s in 0..<4 { for i in 0..<n { sources[s][i] = rng.nextFloat() * Float(s + 1) * 0.1 } }
        var mixture = [Float](repeating: 0, count: n)
        for s in 0..<4 { for i in 0..<n { mixture[i] += sources[s][i] } }
        return (Tensor(mixture, shape: [batch, m.frames, m.bins]), sources.map { Tensor($0, shape: [batch, m.frames, m.bins, 1]) })
    }

    func forwardTime(network: ChandnaNetwork, windows: Int, batch: Int) -> Double {
        let m = network.shape
        let engine = NetworkEngine(shape: m, capacity: batch, threads: threads)
        var rng = SeededGenerator(seed: 3)
        let input = (0..<batch * m.frames * m.bins).map { _ in rng.nextFloat() }
        let masks = (0..<4).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: batch * m.frames * m.bins) }
        defer { masks.forEach { $0.deallocate() } }
        func once() {
            input.withUnsafeBufferPointer { x in
                var done = 0
                while done < windows {
                    let b = min(batch, windows - done)
                    engine.forward(network, x: x.baseAddress!, batch: b)
                    engine.masks(batch: b, into: masks)
                    done += b
                }
            }
        }
        once()
        return timings(3) { once() }.median
    }
}

/// Median, min and max seconds of `count` runs of `body`.
func timings(_ count: Int, _ body: () -> Void) -> (median: Double, min: Double, max: Double) {
    var times: [Double] = []
    times.reserveCapacity(count)
    for _ in 0..<count {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
    }
    times.sort()
    return (times[times.count / 2], times.first!, times.last!)
}

/// Median seconds of one raw cblas_sgemm of this shape (beta = 1), over ≥ 30 runs and ≥ 0.05 s.
func rawGEMMTime(_ g: GEMMShape) -> Double {
    let a = [Float](repeating: 0.5, count: g.m * g.k), b = [Float](repeating: 0.25, count: g.k * g.n)
    var c = [Float](repeating: 0, count: g.m * g.n)
    return a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            c.withUnsafeMutableBufferPointer { cp in
                func call() {
                    cblas_sgemm(CblasRowMajor, g.transA ? CblasTrans : CblasNoTrans, g.transB ? CblasTrans : CblasNoTrans,
                                Int32(g.m), Int32(g.n), Int32(g.k), 1,
                                ap.baseAddress, Int32(g.transA ? g.m : g.k), bp.baseAddress, Int32(g.transB ? g.k : g.n),
                                1, cp.baseAddress, Int32(g.n))
                }
                for _ in 0..<3 { call() }
                var times: [Double] = []
                let start = DispatchTime.now().uptimeNanoseconds
                while times.count < 30 || Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9 < 0.05 {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    call()
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
                }
                times.sort()
                return times[times.count / 2]
            }
        }
    }
}

/// Peak resident set size of this process (getrusage ru_maxrss, kB on Linux), in MB.
func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// The 1-minute load average (/proc/loadavg), as text.
func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}

func writeJSON(_ object: Any, to path: String) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    try AtomicFile.write(data, to: URL(fileURLWithPath: path))
    print("wrote \(path)")
}

/// What a run of steps costs in fresh memory: the growth of the resident set (/proc/self/statm) and
/// the minor page faults (`getrusage`), both 0 when every buffer is reused. The count of heap
/// allocations per step comes from valgrind (see `BenchStep.valgrindAllocationsPerStep`).
enum AllocationCounter {
    struct Snapshot {
        let bytes: Int, faults: Int
        func minus(_ o: Snapshot, steps: Int) -> (bytes: Double, faults: Double) {
            (Double(bytes - o.bytes) / Double(steps), Double(faults - o.faults) / Double(steps))
        }
    }

    static func snapshot() -> Snapshot {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Snapshot(bytes: currentRSSBytes(), faults: usage.ru_minflt)
    }
}

/// Runs steps only (the child that `bench step` runs under valgrind to count heap allocations).
struct BenchStepSteps: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "step-steps", abstract: "Run warm-up and N training steps (for valgrind).", shouldDisplay: false)
    @Option var steps = 1
    @Option var threads = 2
    @Option var tape = false

    func run() throws {
        setBLASThreads(1)
        let config = Config()
        let step = TrainingStep(network: ChandnaNetwork(shape: config.model, seed: 1), config: config)
        step.threads = threads
        step.useFusedPath = !tape
        let (mixture, targets) = BenchStep().syntheticBatch(config.model, batch: 32, seed: 2)
        for _ in 0..<(3 + steps) { step.step(mixture: mixture, targets: targets) }
    }
}

/// Resident set size now (second field of /proc/self/statm, in pages), in bytes.
func currentRSSBytes() -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
    let pages = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Separation of synthesized 44.1 kHz stereo songs with `Separator.separateFile` (untrained network,
/// default config). Each song is separated in a child process (`bench separation-run`) so that each
/// peak RSS is that song's alone.
struct BenchSeparation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "separation",
        abstract: "Seconds, real-time factor and phase split of separating a 4-minute stereo song; peak RSS for 1, 4 and 10 minutes.")

    @Option(help: "Minutes of the timed song.") var minutes = 4.0
    @Option(help: "Songs (minutes, comma-separated) whose peak RSS is also measured.") var rssMinutes = "1,10"
    @Option(help: "Repetitions of the timed song (the median and the fastest are reported).") var repeats = 3
    @Option(help: "Threads (decoders, channels' STFTs, stems' inverse STFTs).") var threads = 2
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() throws {
        let result = try measure()
        if let json { try writeJSON(result, to: json) }
    }

    func measure() throws -> [String: Any] {
        let extra = rssMinutes.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cnnsep-bench-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        print("bench separation: \(threads) thread(s), load \(loadAverage())")
        var runs: [[String: Any]] = []
        for _ in 0..<max(1, repeats) { runs.append(try child(minutes: minutes, folder: folder)) }
        let sorted = runs.sorted { ($0["seconds"] as! Double) < ($1["seconds"] as! Double) }
        var result = sorted[sorted.count / 2]
        result["seconds_min"] = sorted[0]["seconds"]
        result["repeats"] = runs.count
        var rss: [String: Any] = [String(format: "%g", minutes): result["peak_rss_mb"]!]
        for m in extra { rss[String(format: "%g", m)] = try child(minutes: m, folder: folder)["peak_rss_mb"] }
        result["peak_rss_mb_by_minutes"] = rss
        result["load_average"] = loadAverage()

        let phases = ["read", "resample", "stft", "network", "istft", "emit", "other"]
        print("| song | seconds (median of \(runs.count); min) | × real time | " + phases.joined(separator: " | ") + " | peak RSS |")
        print("|---|---:|---:|" + phases.map { _ in "---:|" }.joined() + "---:|")
        let split = result["phases_seconds"] as! [String: Double]
        print(String(format: "| %g min stereo 44.1 kHz | %.3f; %.3f | %.0f× | ", minutes, result["seconds"] as! Double, sorted[0]["seconds"] as! Double,
                     result["real_time_factor"] as! Double)
              + phases.map { String(format: "%.3f", split[$0] ?? 0) }.joined(separator: " | ")
              + String(format: " | %.0f MB |", result["peak_rss_mb"] as! Double))
        for (m, r) in rss.sorted(by: { Double($0.key)! < Double($1.key)! }) {
            print(String(format: "peak RSS, %@-minute song: %.0f MB", m, r as! Double))
        }
        return result
    }

    /// Synthesizes the song (in this process, streamed to disk) and separates it in a child process.
    func child(minutes: Double, folder: URL) throws -> [String: Any] {
        let song = folder.appendingPathComponent(String(format: "song-%gmin.wav", minutes))
        if !FileManager.default.fileExists(atPath: song.path) { try synthesizeSong(song, seconds: minutes * 60) }
        let out = folder.appendingPathComponent("result.json")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["bench", "separation-run", song.path, "--threads", "\(threads)", "--json", out.path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CNNSepError("bench separation: child for \(minutes) min exited with \(process.terminationStatus)") }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: out))
        guard let dict = object as? [String: Any] else { throw CNNSepError("\(out.path): not a JSON object") }
        return dict
    }

    /// Deterministic stereo song: a few slowly gliding tones with tremolo plus noise, per channel.
    func synthesizeSong(_ url: URL, seconds: Double) throws {
        let rate = 44100, total = Int(seconds * Double(rate))
        let writer = try AudioFileWriter(url, sampleRate: rate, channelCount: 2, format: .wav16)
        var rng = SeededGenerator(seed: 42)
        var done = 0
        while done < total {
            let n = min(rate, total - done)
            var channels = [[Float]](repeating: [Float](repeating: 0, count: n), count: 2)
            for i in 0..<n {
                let t = Double(done + i) / Double(rate)
                let bass = 0.25 * sin(2 * .pi * (55 + 5 * sin(0.1 * t)) * t)
                let lead = 0.12 * sin(2 * .pi * (440 + 40 * sin(0.3 * t)) * t) * (0.6 + 0.4 * sin(2 * .pi * 2 * t))
                let pad = 0.08 * sin(2 * .pi * 660 * t)
                channels[0][i] = Float(bass + lead + 0.5 * pad + Double(rng.nextFloat() - 0.5) * 0.1)
                channels[1][i] = Float(bass + 0.5 * lead + pad + Double(rng.nextFloat() - 0.5) * 0.1)
            }
            try writer.write(AudioBuffer(sampleRate: rate, channels: channels))
            done += n
        }
        _ = try writer.commit()
    }
}

/// One separation (the child process of `bench separation`): separateFile of the song with timings.
struct BenchSeparationRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "separation-run", abstract: "Separate one song with phase timings (used by 'bench separation').",
        shouldDisplay: false)
    @Argument var song: String
    @Option var threads = 2
    @Option var json: String

    func run() throws {
        setBLASThreads(1)
        let config = Config()
        let separator = Separator(network: ChandnaNetwork(shape: config.model, seed: 1), config: config)
        separator.threads = threads
        let timings = SeparationTimings()
        separator.timings = timings
        let input = URL(fileURLWithPath: song)
        let out = input.deletingLastPathComponent().appendingPathComponent("stems-\(getpid())")
        defer { try? FileManager.default.removeItem(at: out) }
        let report = try separator.separateFile(input, into: out)
        let phases = ["read": timings.read, "resample": 0, "stft": timings.stft, "network": timings.network,
                      "istft": timings.istft, "emit": timings.emit]
        var split = phases
        split["other"] = report.seconds - phases.values.reduce(0, +)
        let result: [String: Any] = [
            "name": "cnnsep separateFile", "song_seconds": report.duration, "seconds": report.seconds,
            "real_time_factor": report.realTimeFactor, "phases_seconds": split,
            "peak_rss_mb": peakRSSMegabytes(), "threads": threads, "load_average": loadAverage(),
        ]
        try writeJSON(result, to: json)
    }
}
