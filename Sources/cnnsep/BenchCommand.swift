import ArgumentParser
import Autodiff
import CBLAS
import Foundation
import Support

/// `cnnsep bench`: a group of benchmarks (run a release build). `bench ops` times the network's layers
/// against raw cblas_sgemm; sibling subcommands (`bench step`, `bench separation`) slot in beside it.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release): 'bench ops' times each layer against raw sgemm.",
        subcommands: [BenchOps.self],
        defaultSubcommand: BenchOps.self)
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
