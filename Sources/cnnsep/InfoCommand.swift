import ArgumentParser
import Foundation
import Separation
import Support

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the layer table and parameter count of a config or a checkpoint.")

    @Option(help: "A config (path, or name under Configs/). Default: dsd100.")
    var config: String?

    @Argument(help: "A checkpoint (.h5) to describe instead of a config.")
    var checkpoint: String?

    func run() throws {
        let network: ChandnaNetwork
        let config: Config
        if let checkpoint {
            let model = try TrainedModel.load(URL(fileURLWithPath: checkpoint), fallback: try loadConfig(self.config))
            (network, config) = (model.network, model.config)
            print("checkpoint \(checkpoint) (config '\(config.name)')")
            if let p = model.checkpoint.position {
                print("training position: repetition \(p.repetition + 1), block \(p.block + 1), epoch \(p.epoch + 1), batch \(p.batch + 1), \(p.step) steps done")
            }
        } else {
            config = try loadConfig(self.config)
            network = ChandnaNetwork(shape: config.model, seed: config.seed)
            print("config '\(config.name)'")
        }
        print(layerTable(network))
        print("total parameters: \(network.parameterCount.formatted())")
    }

    /// One row per layer: name, operation, kernel and bias shapes, output shape, parameters.
    func layerTable(_ n: ChandnaNetwork) -> String {
        let m = n.shape
        let (h1, w1) = m.afterVertical, (h2, w2) = m.afterHorizontal
        func shape(_ s: [Int]) -> String { "(" + s.map(String.init).joined(separator: ", ") + ")" }
        var rows = [["layer", "op", "kernel", "bias", "output", "params"]]
        func add(_ l: any Layer, _ op: String, _ output: [Int]) {
            rows.append([l.name, op, shape(l.kernel.shape), shape(l.bias.shape), shape(output).replacingOccurrences(of: "-1", with: "B"),
                         (l.kernel.count + l.bias.count).formatted()])
        }
        add(n.verticalConvolution, "Conv2D", [-1, h1, w1, m.n1])
        add(n.horizontalConvolution, "Conv2D", [-1, h2, w2, m.n2])
        add(n.globalDense, "Dense+ReLU", [-1, m.dense])
        for d in n.decoders { add(d.singleDense, "Dense+ReLU", [-1, m.flat]) }
        for d in n.decoders { add(d.horizontalDeconvolution, "Conv2DTranspose", [-1, h1, w1, m.n1]) }
        for d in n.decoders { add(d.verticalDeconvolution, "Conv2DTranspose", [-1, m.frames, m.bins, 1]) }
        return table(rows, rightAligned: [5])
    }
}
