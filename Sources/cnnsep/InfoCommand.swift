import ArgumentParser
import Configuration
import Foundation
import Inference
import Network
import Support

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the layer table and parameter count of a config or a checkpoint.")

    @Option(help: "A config (path, or name under Configs/). Default: dsd100. With a checkpoint: the settings of a weights file that stores none.")
    var config: String?

    @Argument(help: "A checkpoint (.h5) to describe instead of a config.")
    var checkpoint: String?

    func run() throws {
        let network: ChandnaNetwork
        let config: Config
        if let checkpoint {
            // The checkpoint's stored config describes it; --config only for a weights file without one.
            let model = try TrainedModel.load(URL(fileURLWithPath: checkpoint), fallback: try self.config.map(loadConfig) ?? Config())
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

    /// One row per weighted layer (METHOD.md's table order): name, operation, kernel and bias shapes,
    /// output shape, parameters; read off the network's own layer sequences.
    func layerTable(_ n: ChandnaNetwork) -> String {
        var described: [String: (op: String, output: [Int])] = [:]
        func walk(_ chain: [any Layer], from input: [Int]) -> [Int] {
            var shape = input
            for (i, layer) in chain.enumerated() {
                shape = layer.outputShape(shape)
                guard let weighted = layer as? any WeightedLayer else { continue }
                let activation = i + 1 < chain.count && chain[i + 1] is ReLU ? "+ReLU" : ""
                described[weighted.name] = ("\(type(of: weighted))\(activation)", shape)
            }
            return shape
        }
        let code = walk(n.encoder, from: n.inputShape)
        for d in n.decoders { _ = walk(d.layers, from: code) }
        func shape(_ s: [String]) -> String { "(" + s.joined(separator: ", ") + ")" }
        var rows = [["layer", "op", "kernel", "bias", "output", "params"]]
        for l in n.layers {
            let d = described[l.name]!
            rows.append([l.name, d.op, shape(l.kernel.shape.map(String.init)), shape(l.bias.shape.map(String.init)), shape(["B"] + d.output.map(String.init)),
                         l.parameters.reduce(0) { $0 + $1.count }.formatted()])   // 0 for the fixed input normalisation
        }
        return table(rows, rightAligned: [5])
    }
}
