import Foundation
import Testing
import TestHelpers
import Autodiff
import Support
@testable import Network
import HDF5
import Configuration

@Suite struct ModelTests {
    @Test func defaultNetworkHas489142Parameters() {
        let network = ChandnaNetwork(shape: ModelShape(), seed: 1)
        #expect(network.parameterCount == 489_142)
        let names = network.layers.map(\.name)
        #expect(names.first == "vertical_convolution")
        #expect(names.contains("vertical_deconvolution_vocals"))
        #expect(network.horizontalConvolution.kernel.shape == [12, 1, 50, 30])
        #expect(network.decoders[0].horizontalDeconvolution.kernel.shape == [12, 1, 50, 30])
        #expect(network.decoders[0].horizontalDeconvolution.bias.shape == [50])
        #expect(network.decoders[3].verticalDeconvolution.kernel.shape == [1, 513, 1, 50])
        #expect(network.decoders[3].verticalDeconvolution.bias.shape == [1])
    }

    /// The count a config is validated with (before any network is allocated) is the network's own.
    @Test func theShapesParameterCountIsTheNetworksForDefaultAndOddSizes() {
        var odd = ModelShape()
        (odd.frames, odd.bins, odd.t1, odd.f1, odd.n1, odd.t2, odd.f2, odd.n2, odd.dense) = (9, 17, 2, 5, 3, 4, 2, 5, 7)
        for shape in [ModelShape(), smallConfig().model, odd] {
            #expect(shape.parameterCount == Double(ChandnaNetwork(shape: shape, seed: 1).parameterCount), "\(shape)")
        }
    }

    @Test func initialisationIsGlorotUniformAndSeeded() {
        let a = ChandnaNetwork(shape: ModelShape(), seed: 7), b = ChandnaNetwork(shape: ModelShape(), seed: 7)
        let c = ChandnaNetwork(shape: ModelShape(), seed: 8)
        #expect(a.globalDense.kernel.data == b.globalDense.kernel.data)
        #expect(a.globalDense.kernel.data != c.globalDense.kernel.data)
        let limit = (6.0 / Float(420 + 128)).squareRoot()
        let k = a.globalDense.kernel.data
        #expect(k.allSatisfy { Swift.abs($0) <= limit })
        #expect(k.max()! > 0.9 * limit && k.min()! < -0.9 * limit)
        #expect(a.globalDense.bias.data.allSatisfy { $0 == 0 })
    }

    /// One Adadelta step, with the update computed independently in Double.
    @Test func adadeltaStepMatchesIndependentComputation() {
        let w = Tensor([0.5, -1.0, 2.0, 0.0], shape: [4], requiresGrad: true)
        let (lr, rho, eps): (Double, Double, Double) = (0.01, 0.95, 1.0)
        let optimizer = Adadelta(parameters: [w], learningRate: Float(lr), rho: Float(rho), epsilon: Float(eps))
        var eg = [Double](repeating: 0, count: 4), ed = eg, weights = [0.5, -1.0, 2.0, 0.0]
        for g in [[0.3, -2.0, 0.0, 5.0], [1.0, 1.0, -1.0, 0.5]] {
            w.grad = g.map(Float.init)
            optimizer.step([w])
            for j in 0..<4 {
                eg[j] = rho * eg[j] + (1 - rho) * g[j] * g[j]
                let delta = (ed[j] + eps).squareRoot() / (eg[j] + eps).squareRoot() * g[j]
                ed[j] = rho * ed[j] + (1 - rho) * delta * delta
                weights[j] -= lr * delta
            }
        }
        for j in 0..<4 {
            #expect(Swift.abs(Double(w.data[j]) - weights[j]) < 1e-6)
            #expect(Swift.abs(Double(optimizer.squaredGradients[0][j]) - eg[j]) <= 1e-5 * eg[j] + 1e-12)
            #expect(Swift.abs(Double(optimizer.squaredUpdates[0][j]) - ed[j]) <= 1e-5 * ed[j])
        }
    }
}
