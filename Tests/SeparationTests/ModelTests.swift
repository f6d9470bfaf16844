import Foundation
import Testing
import Autodiff
import Support
@testable import Separation

/// A reduced instance of the network (window 16 → 9 bins, T = 6) so finite differences stay cheap.
func smallConfig() -> Config {
    var c = Config()
    c.features = FeatureSettings(sampleRate: 44100, windowLength: 16, hop: 4)
    c.model.frames = 6; c.model.bins = 9
    c.model.t1 = 1; c.model.f1 = 9; c.model.n1 = 3
    c.model.t2 = 3; c.model.f2 = 1; c.model.n2 = 2
    c.model.dense = 4
    c.batchSize = 2
    c.windowHop = 6
    return c
}

func randomBatch(_ c: Config, count: Int, seed: UInt64) -> Batch {
    var rng = SeededGenerator(seed: seed)
    var batch = Batch(capacity: count, length: c.model.frames, bins: c.model.bins)
    batch.count = count
    let n = count * c.model.frames * c.model.bins
    var sources = (0..<4).map { _ in (0..<n).map { _ in rng.nextFloat() } }
    // The mixture is the sum of the sources, as in real data.
    batch.mixture = (0..<n).map { i in sources.reduce(0) { $0 + $1[i] } }
    for s in 0..<4 { batch.sources[s] = sources[s] }
    sources.removeAll()
    return batch
}

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

    @Test func masksSumToOneAndEstimatesSumToMixture() {
        let c = smallConfig()
        let step = TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 3), config: c)
        let (mixture, targets) = step.tensors(randomBatch(c, count: 2, seed: 4))
        let out = withNoGrad { step.forward(mixture: mixture, targets: targets) }
        for i in 0..<mixture.count {
            let m = out.masks.reduce(Float(0)) { $0 + $1.data[i] }
            let e = out.estimates.reduce(Float(0)) { $0 + $1.data[i] }
            #expect(Swift.abs(m - 1) < 1e-5)
            #expect(Swift.abs(e - mixture.data[i]) < 1e-4 * max(1, mixture.data[i]))
        }
    }

    /// The loss written out independently, in Double, from the estimates.
    @Test func lossMatchesItsDefinition() {
        let c = smallConfig()
        let step = TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 5), config: c)
        let (mixture, targets) = step.tensors(randomBatch(c, count: 2, seed: 6))
        let out = withNoGrad { step.forward(mixture: mixture, targets: targets) }
        let e = out.estimates.map { $0.data.map(Double.init) }, y = targets.map { $0.data.map(Double.init) }
        func sqd(_ p: [Double], _ q: [Double]) -> Double { zip(p, q).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        let (B, D, O, V) = (0, 1, 2, 3)
        var expected = sqd(e[B], y[B]) + sqd(e[D], y[D]) + sqd(e[V], y[V])
        expected -= 0.001 * (sqd(e[B], e[D]) + sqd(e[B], e[V]) + sqd(e[V], e[D]) + sqd(e[B], e[O]) + sqd(e[D], e[O]) + sqd(e[V], e[O]))
        expected -= 0.01 * (sqd(e[B], y[O]) + sqd(e[D], y[O]))
        expected -= 0.03 * sqd(e[V], y[O])
        expected /= 2
        #expect(Swift.abs(Double(out.loss.scalar) - expected) <= 1e-5 * Swift.abs(expected))
    }

    /// Gradient of the full loss (network, masks, loss) against central differences, on every layer.
    @Test func fullLossGradientMatchesFiniteDifferences() {
        let c = smallConfig()
        let step = TrainingStep(network: ChandnaNetwork(shape: c.model, seed: 11), config: c)
        // Keep away from the kinks of ReLU and |·| (where the derivative jumps and differences
        // straddling it mean nothing): positive dense biases, decoder outputs well above zero.
        for d in step.network.decoders {
            d.singleDense.bias.data = d.singleDense.bias.data.map { _ in 1 }
            d.verticalDeconvolution.bias.data = [3]
        }
        step.network.globalDense.bias.data = step.network.globalDense.bias.data.map { _ in 1 }
        let (mixture, targets) = step.tensors(randomBatch(c, count: 2, seed: 12))
        step.computeGradients(mixture: mixture, targets: targets)
        var rng = SeededGenerator(seed: 13)
        var checked = 0
        for (name, p) in step.network.namedParameters {
            let grad = try! #require(p.grad, "\(name) has no gradient")
            for _ in 0..<4 {
                let i = rng.nextInt(below: p.count)
                let original = p.data[i]
                let h: Float = 1e-3
                p.data[i] = original + h
                let up = Double(step.loss(mixture: mixture, targets: targets))
                p.data[i] = original - h
                let down = Double(step.loss(mixture: mixture, targets: targets))
                p.data[i] = original
                let numeric = (up - down) / Double(2 * h)
                // Float rounding of a loss of size |L| over 2h bounds the numeric error.
                let tolerance = 2e-2 * Swift.abs(numeric) + 1e-5 * Swift.abs(up) / Double(h) + 1e-4
                #expect(Swift.abs(Double(grad[i]) - numeric) <= tolerance, "\(name)[\(i)]: analytic \(grad[i]), numeric \(numeric)")
                checked += 1
            }
        }
        #expect(checked == 2 * 15 * 4)
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

@Suite struct ConfigTests {
    let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Configs").standardized

    @Test func shippedConfigsLoadAndDsd100IsSeed003() throws {
        let c = try Config.load(configs.appendingPathComponent("dsd100.json"))
        var expected = Config()
        expected.name = "dsd100"
        #expect(c == expected)
        #expect(c.schedule.blocks(songCount: 50).count == 9)
        let original = try Config.load(configs.appendingPathComponent("dsd100-original.json"))
        #expect(Swift.abs(original.inputScale - 0.3 / 32) < 1e-9)
        #expect(original.learningRate == 1.0 && original.epsilon == 1e-6)
        _ = try Config.load(configs.appendingPathComponent("demo.json"))
    }

    func error(_ json: String) -> String {
        do { _ = try Config.parse(Data(json.utf8), source: "x.json"); return "no error" }
        catch { return "\(error)" }
    }

    @Test func badConfigsNameTheKey() {
        #expect(error(#"{"schedule": {"batch_sise": 3}}"#).contains("'schedule.batch_sise': unknown key"))
        #expect(error(#"{"optimiser": {}}"#).contains("'optimiser': unknown key"))
        #expect(error(#"{"schedule": {"batch_size": "32"}}"#).contains("'schedule.batch_size': expected an integer"))
        #expect(error(#"{"schedule": {"batch_size": 0}}"#).contains("'schedule.batch_size': expected an integer in 1"))
        #expect(error(#"{"schedule": {"batch_size": 2.5}}"#).contains("'schedule.batch_size': expected an integer"))
        #expect(error(#"{"loss": {"alpha": true}}"#).contains("'loss.alpha': expected a number, got true"))
        #expect(error(#"{"model": {"f1": 600}}"#).contains("'model.f1'"))
        #expect(error(#"{"dataset": []}"#).contains("'dataset': expected an object"))
        #expect(error("{").contains("x.json: not valid JSON"))
        #expect(error("[]").contains("expected a JSON object"))
    }

    @Test func configJSONRoundTrips() throws {
        var c = Config()
        c.validationSongs = ["a b"]; c.maxSongs = 3; c.inputScale = 0.5; c.seed = 99
        let back = try Config.parse(Data(c.json().utf8), source: "round trip")
        #expect(back == c)
    }
}
