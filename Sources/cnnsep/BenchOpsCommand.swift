import ArgumentParser
import Autodiff
import Configuration
import Foundation
import Network
import Support

/// Times forward and backward of each weighted layer of the model (the encoder's and one decoder's)
/// on the tape at its real input shape, beside the raw sgemm calls the layer itself made (recorded,
/// so no shape is written here by hand), in the same run.
struct BenchOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Median time and GFLOP/s of each layer (forward, backward) at batch 32 versus raw sgemm of the same sizes.")

    @Option(help: "Batch size.") var batch = 32
    @Option(help: "Minimum repetitions per measurement (more are run until --seconds have passed).") var repetitions = 50
    @Option(help: "Seconds to spend at least on each measurement.") var seconds = 0.3
    @Option(help: "OpenBLAS threads.") var threads = 1

    func run() throws {
        guard batch > 0, repetitions > 0, threads > 0 else { throw CNNSepError("bench ops: --batch, --repetitions and --threads must be positive") }
        setBLASThreads(threads)
        let network = ChandnaNetwork(shape: Config().model, seed: 7)
        print("bench ops: batch \(batch), \(threads) OpenBLAS thread(s), median of ≥ \(repetitions) repetitions")
        print("| layer | pass | GEMMs (M×N×K) | time (ms) | GFLOP/s | raw sgemm (ms) | raw GFLOP/s | time / raw |")
        print("|---|---|---|---:|---:|---:|---:|---:|")
        var rng = SeededGenerator(seed: 7)
        for (layer, shape, isFirst) in weightedLayers(network) {
            let x = Tensor((0..<batch * shape.reduce(1, *)).map { _ in rng.nextFloat() - 0.5 }, shape: [batch] + shape,
                           requiresGrad: !isFirst)               // the network's input needs no gradient
            let forward = GEMMRecorder.record { _ = layer(x) }
            let forwardTime = timings(repetitions: repetitions, seconds: seconds, warmup: 3) { _ = layer(x) }.median
            let y = layer(x)
            let gradient = (0..<y.count).map { _ in rng.nextFloat() - 0.5 }
            let backward = GEMMRecorder.record { y.backward(gradient: gradient) }
            let backwardTime = timings(repetitions: repetitions, seconds: seconds, warmup: 3) { y.backward(gradient: gradient) }.median
            let name = "\(layer.name) (\(layer.kernel.shape.map(String.init).joined(separator: ",")))"
            report(name, "forward", forward, forwardTime)
            report(name, "backward", backward, backwardTime)
        }
    }

    /// Each weighted layer of the encoder and of the first decoder, with its per-window input shape
    /// and whether it is the network's first (whose input is data).
    func weightedLayers(_ network: ChandnaNetwork) -> [(any WeightedLayer, [Int], Bool)] {
        var result: [(any WeightedLayer, [Int], Bool)] = []
        var shape = network.inputShape
        for layer in network.encoder + (network.decoders.first?.layers ?? []) {
            if let weighted = layer as? any WeightedLayer { result.append((weighted, shape, result.isEmpty)) }
            shape = layer.outputShape(shape)
        }
        return result
    }

    func report(_ name: String, _ pass: String, _ gemms: [GEMMShape], _ time: Double) {
        let raw = gemms.map(rawGEMMTime).reduce(0, +)
        let flops = gemms.map(\.flops).reduce(0, +)
        func ms(_ t: Double) -> String { String(format: "%.3f", t * 1e3) }
        func gflops(_ t: Double) -> String { String(format: "%.1f", flops / t / 1e9) }
        print("| \(name) | \(pass) | \(gemms.map(\.description).joined(separator: " + ")) | \(ms(time)) | \(gflops(time)) | \(ms(raw)) | \(gflops(raw)) | \(String(format: "%.2f", time / raw)) |")
    }
}
