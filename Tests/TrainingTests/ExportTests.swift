import Configuration
import Foundation
import Inference
import Network
import Support
import TestHelpers
import Testing
import Training

/// `cnnsep export`: a training checkpoint without its training state still is the same model.
@Suite struct ExportTests {
    @Test func exportKeepsWeightsAndConfigAndDropsTheTrainingState() throws {
        let c = smallConfig()
        let network = ChandnaNetwork(shape: c.model, seed: 91)
        let step = TrainingStep(network: network, config: c)
        let batch = randomBatch(c, count: 3, seed: 92)
        let (mixture, targets) = step.tensors(batch)
        step.step(mixture: mixture, targets: targets)
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var full = Checkpoint(layers: network.weights(), optimizer: step.optimizer.slots(for: network),
                              position: TrainingPosition(epoch: 1, step: 1), rngState: [1, 2, 3, 4],
                              configJSON: c.json(), logLines: 1, log: "{\"epoch\": 1}\n")
        full.trainingSongs = ["a", "b"]
        try full.save(to: folder.appendingPathComponent("latest.h5"))

        let result = try runCNNSep(["export", "latest.h5", "--out", "model.h5"], in: folder)
        #expect(result.status == 0, "\(result.standardError)")
        let exported = try Checkpoint.load(folder.appendingPathComponent("model.h5"))
        #expect(exported.layers == full.layers)
        #expect(exported.configJSON == full.configJSON)
        #expect(exported.optimizer.isEmpty && exported.position == nil && exported.rngState == nil)
        #expect(exported.log == nil && exported.trainingSongs == nil)
        let sizes = try ["latest.h5", "model.h5"].map {
            try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent($0).path)[.size] as! Int
        }
        #expect(sizes[1] < sizes[0] / 2, "the optimizer state is twice the weights: \(sizes)")

        // The exported model computes the same loss.
        let restored = try TrainedModel.load(folder.appendingPathComponent("model.h5"), fallback: Config())
        let again = TrainingStep(network: restored.network, config: c)
        #expect(again.loss(mixture: mixture, targets: targets) == step.loss(mixture: mixture, targets: targets))

        let overwrite = try runCNNSep(["export", "latest.h5", "--out", "./latest.h5"], in: folder)
        #expect(overwrite.status == 1 && overwrite.standardError.contains("would replace"))
        #expect(try Checkpoint.load(folder.appendingPathComponent("latest.h5")) == full)
    }
}

extension ExportTests {
    /// A checkpoint that is not a whole model of its own config (a layer missing, a config that does
    /// not parse) was exported as it was: a "model to ship" that predict and info then refused.
    /// Export checks it as they load it, and writes nothing.
    @Test(arguments: ["missing layer", "broken config"])
    func aCheckpointThatIsNotAWholeModelIsNotExported(damage: String) throws {
        let c = smallConfig()
        var checkpoint = Checkpoint(layers: ChandnaNetwork(shape: c.model, seed: 93).weights(), configJSON: c.json())
        if damage == "missing layer" { checkpoint.layers.removeAll { $0.name == "global_dense" } } else { checkpoint.configJSON = "{not json" }
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try checkpoint.save(to: folder.appendingPathComponent("latest.h5"))
        let result = try runCNNSep(["export", "latest.h5", "--out", "model.h5"], in: folder)
        #expect(!result.crashed && result.status == 1 && result.errorLines.count == 1, "\(result)")
        #expect(result.standardError.contains("latest.h5"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.h5").path))
    }
}
