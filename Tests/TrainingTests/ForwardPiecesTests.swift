import Foundation
import Testing
import TestHelpers
import Support
import HDF5
@testable import Training
import Configuration
import Network
import Autodiff

/// `forward` runs a large batch on the tape in pieces of `BatchFile.forwardPiece` windows, so its
/// memory stays bounded: the pieces' masks, loss and gradients must be the whole batch's, computed
/// here on the tape in one piece.
@Suite struct ForwardPiecesTests {
    @Test func aBatchRunInPiecesGivesTheWholeBatchsMasksLossAndGradients() throws {
        let c = smallConfig()
        let n = 2 * BatchFile.forwardPiece + 5                 // three pieces, the last partial
        let batch = randomBatch(c, count: n, seed: 11)
        let step = TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 4), config: c)
        let (mixture, targets) = step.tensors(batch)
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("forward.h5")
        try step.writeForward(BatchFile(mixture: mixture, targets: targets), to: url)

        // The reference: the whole batch on the tape at once.
        for p in step.network.parameters { p.zeroGrad() }
        let whole = step.forward(mixture: mixture, targets: targets)
        whole.loss.backward()
        let file = try HDF5File.open(url)
        defer { file.close() }
        func close(_ a: [Float], _ b: [Float], _ what: String) {
            let scale = max(b.map(abs).max() ?? 0, 1e-12)
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(a.count == b.count && worst <= 1e-4 * scale, "\(what): worst difference \(worst) of \(scale)")
        }
        for (s, name) in Stem.names.enumerated() {
            close(try file.readFloats(at: "/mask_\(name)").data, whole.masks[s].data, "mask_\(name)")
            close(try file.readFloats(at: "/estimate_\(name)").data, whole.estimates[s].data, "estimate_\(name)")
        }
        close(try file.readFloats(at: "/loss").data, [whole.loss.scalar], "loss")
        for l in step.network.layers {
            close(try file.readFloats(at: "/grads/\(l.name)/kernel").data, try #require(l.kernel.grad), "\(l.name) kernel gradient")
            close(try file.readFloats(at: "/grads/\(l.name)/bias").data, try #require(l.bias.grad), "\(l.name) bias gradient")
        }
    }
}
