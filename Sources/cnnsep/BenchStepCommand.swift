import ArgumentParser
import Audio
import Autodiff
import Configuration
import Foundation
import Network
import Support
import Training

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
        print("bench step: batch \(batch), T = \(m.frames), F = \(m.bins), \(threads) thread(s), 1 OpenBLAS thread, load \(ResourceUsage.loadAverage)")

        // The engine against the tape on the same weights and batch (before any update).
        step.useEngine = false
        step.computeGradients(mixture: mixture, targets: targets)
        let tapeGrads = network.parameters.map { $0.grad! }
        let tapeLoss = step.loss(mixture: mixture, targets: targets)
        step.useEngine = true
        let fusedLoss = step.computeGradients(mixture: mixture, targets: targets)
        var worst = 0.0
        for (p, g) in zip(network.parameters, tapeGrads) {
            let f = p.grad!
            let scale = max(g.map { Double(Swift.abs($0)) }.max() ?? 0, 1e-30)
            for i in 0..<g.count { worst = max(worst, Double(Swift.abs(f[i] - g[i])) / scale) }
        }
        print(String(format: "engine vs tape: loss %.6g vs %.6g, largest gradient difference %.2e of each parameter's largest |gradient|", fusedLoss, tapeLoss, worst))

        // Tape path timing (the code before this work), for comparison.
        var tapeMedian = 0.0
        if tapeSteps > 0 {
            step.useEngine = false
            tapeMedian = timings(repetitions: tapeSteps, warmup: 1) { step.step(mixture: mixture, targets: targets) }.median
            step.useEngine = true
        }

        // The engine: warm-up, then counted and timed steps.
        for _ in 0..<warmup { step.step(mixture: mixture, targets: targets) }
        let before = AllocationCounter.snapshot()
        let t = timings(repetitions: steps) { step.step(mixture: mixture, targets: targets) }
        let after = AllocationCounter.snapshot()
        let heap = valgrind ? valgrindAllocationsPerStep(tape: false) : nil
        let tapeHeap = valgrindTape ? valgrindAllocationsPerStep(tape: true) : nil

        // The step's own GEMMs (recorded from one step), raw, in the same run.
        let gemms = GEMMRecorder.record { step.computeGradients(mixture: mixture, targets: targets) }
        var rawByShape: [String: Double] = [:]
        for g in gemms where rawByShape[g.description] == nil { rawByShape[g.description] = rawGEMMTime(g) }
        let floor = gemms.map { rawByShape[$0.description]! }.reduce(0, +)
        let flops = gemms.map(\.flops).reduce(0, +)

        // The network's forward pass over the windows of a 4-minute song (T-frame windows with no overlap), batches of 64.
        let songWindows = Audio.windowStarts(frames: STFT(windowLength: config.features.windowLength, hop: config.features.hop)
            .frameCount(samples: 240 * config.features.sampleRate), length: m.frames, hop: m.frames).count
        let forward4 = forwardTime(network: network, windows: songWindows, batch: 64)

        let perStep = after.minus(before, steps: steps)
        let result: [String: Any] = [
            "name": "cnnsep (Swift, engine step, \(threads) thread\(threads > 1 ? "s" : ""))",
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
            "peak_rss_mb": peakRSSMegabytes(), "threads": threads, "load_average": ResourceUsage.loadAverage,
        ]
        print("| measure | value |")
        print("|---|---:|")
        print(String(format: "| step, median (min–max) over %d | %.2f ms (%.2f–%.2f) |", steps, t.median * 1e3, t.min * 1e3, t.max * 1e3))
        print(String(format: "| windows/s | %.0f |", Double(batch) / t.median))
        print(String(format: "| GFLOP per step / achieved GFLOP/s | %.3f / %.1f |", flops / 1e9, flops / t.median / 1e9))
        print(String(format: "| GEMM floor (%d raw sgemm calls) / its GFLOP/s | %.2f ms / %.1f |", gemms.count, floor * 1e3, flops / floor / 1e9))
        print(String(format: "| step / GEMM floor | %.2f |", t.median / floor))
        if tapeSteps > 0 { print(String(format: "| tape step, median of %d | %.2f ms |", tapeSteps, tapeMedian * 1e3)) }
        print(String(format: "| forward over %d windows (4-min song), batches of 64 | %.3f s |", songWindows, forward4))
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
        let engine = NetworkEngine(network: network, capacity: batch, threads: threads)
        var rng = SeededGenerator(seed: 3)
        let input = (0..<batch * m.frames * m.bins).map { _ in rng.nextFloat() }
        let masks = (0..<4).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: batch * m.frames * m.bins) }
        defer { masks.forEach { $0.deallocate() } }
        func once() {
            var done = 0
            while done < windows {
                let b = min(batch, windows - done)
                engine.input.update(from: input, count: b * m.frames * m.bins)
                engine.forward(batch: b)
                engine.masks(batch: b, into: (masks[0], masks[1], masks[2], masks[3]))
                done += b
            }
        }
        once()
        return timings(repetitions: 3) { once() }.median
    }
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
        Snapshot(bytes: ResourceUsage.residentBytes, faults: ResourceUsage.minorPageFaults)
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
        step.useEngine = !tape
        let (mixture, targets) = BenchStep().syntheticBatch(config.model, batch: 32, seed: 2)
        for _ in 0..<(3 + steps) { step.step(mixture: mixture, targets: targets) }
    }
}
