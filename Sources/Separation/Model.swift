import Autodiff
import CBLAS
import Dispatch
import Foundation
import Support


/// The network of Chandna et al. (2017) as seed 003 builds it: a shared encoder (vertical conv,
/// horizontal conv, dense bottleneck) and one decoder per source (dense, horizontal deconv,
/// vertical deconv). Layer names are the Keras names METHOD.md lists, so checkpoints interoperate.
public final class ChandnaNetwork {
    public let shape: ModelShape
    public let verticalConvolution: Conv2D
    public let horizontalConvolution: Conv2D
    public let globalDense: Dense
    public let decoders: [Decoder]

    /// One source's decoder.
    public final class Decoder {
        public let singleDense: Dense
        public let horizontalDeconvolution: Conv2DTranspose
        public let verticalDeconvolution: Conv2DTranspose

        init(source: String, shape m: ModelShape, rng: inout SeededGenerator) {
            singleDense = Dense("single_dense_\(source)", inputs: m.dense, units: m.flat, rng: &rng)
            horizontalDeconvolution = Conv2DTranspose("horizontal_deconvolution_\(source)",
                kernelSize: (m.t2, m.f2), inChannels: m.n2, filters: m.n1, rng: &rng)
            verticalDeconvolution = Conv2DTranspose("vertical_deconvolution_\(source)",
                kernelSize: (m.t1, m.f1), inChannels: m.n1, filters: 1, rng: &rng)
        }
    }

    /// Glorot-uniform kernels and zero biases drawn from `seed`, layer by layer in table order.
    public init(shape m: ModelShape, seed: UInt64) {
        shape = m
        var rng = SeededGenerator(seed: seed)
        verticalConvolution = Conv2D("vertical_convolution", kernelSize: (m.t1, m.f1), inChannels: 1, filters: m.n1, rng: &rng)
        horizontalConvolution = Conv2D("horizontal_convolution", kernelSize: (m.t2, m.f2), inChannels: m.n1, filters: m.n2, rng: &rng)
        globalDense = Dense("global_dense", inputs: m.flat, units: m.dense, rng: &rng)
        decoders = sourceNames.map { Decoder(source: $0, shape: m, rng: &rng) }
    }

    /// Every layer in the order of METHOD.md's table (checkpoint and `info` order).
    public var layers: [any Layer] {
        [verticalConvolution, horizontalConvolution, globalDense]
            + decoders.map(\.singleDense) + decoders.map(\.horizontalDeconvolution) + decoders.map(\.verticalDeconvolution)
    }

    /// Kernels and biases, in layer order.
    public var parameters: [Tensor] { layers.flatMap { [$0.kernel, $0.bias] } }

    /// ("<layer>/kernel", tensor), ("<layer>/bias", tensor), in the order of `parameters`.
    public var namedParameters: [(String, Tensor)] {
        layers.flatMap { [("\($0.name)/kernel", $0.kernel), ("\($0.name)/bias", $0.bias)] }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Magnitudes (B, T, F) → the four decoder outputs (B, T, F, 1) before the absolute value.
    public func callAsFunction(_ magnitudes: Tensor) -> [Tensor] {
        let m = shape
        let b = magnitudes.shape[0]
        let (h2, w2) = m.afterHorizontal
        let x = magnitudes.reshaped([b, m.frames, m.bins, 1])    // (B, T, F, 1)
        let v = verticalConvolution(x)                           // (B, T−t1+1, F−f1+1, N1) = (B, 25, 1, 50)
        let h = horizontalConvolution(v)                         // (B, 14, 1, 30)
        let code = globalDense(h.reshaped([b, m.flat]))          // (B, 128), ReLU
        return decoders.map { d in
            let s = d.singleDense(code)                          // (B, 420), ReLU
                .reshaped([b, h2, w2, m.n2])                     // (B, 14, 1, 30)
            let hd = d.horizontalDeconvolution(s)                // (B, 25, 1, 50)
            return d.verticalDeconvolution(hd)                   // (B, 25, 513, 1)
        }
    }
}

/// Soft masks m_s = |d_s| / (Σ_j |d_j| + ε) and estimates ŷ_s = m_s ⊙ |X| (METHOD.md).
/// `outputs` are the decoders' (B, T, F, 1) tensors, `magnitudes` the mixture (B, T, F).
public func softMasks(_ outputs: [Tensor], epsilon: Float) -> [Tensor] {
    let d = outputs.map { abs($0) }
    let total = d.dropFirst().reduce(d[0]) { $0 + $1 } + epsilon
    return d.map { $0 / total }
}

// MARK: - Preallocated fused path

/// One cblas_sgemm call of the fused path: C (m×n) = op(A) (m×k) · op(B) (k×n).
public struct GEMMShape: Equatable, CustomStringConvertible {
    public let m, n, k: Int
    public let transA, transB: Bool
    public init(_ m: Int, _ n: Int, _ k: Int, transA: Bool = false, transB: Bool = false) {
        (self.m, self.n, self.k, self.transA, self.transB) = (m, n, k, transA, transB)
    }
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    public var description: String { "\(m)×\(n)×\(k)\(transA ? "ᵀa" : "")\(transB ? "ᵀb" : "")" }
}

extension ChandnaNetwork {
    /// True when the fused path handles this shape: a vertical convolution spanning all bins (t1 = 1,
    /// f1 = bins) and a horizontal one of width 1 (f2 = 1), as in the default and every shipped config.
    public static func fusedPathSupports(_ m: ModelShape) -> Bool {
        m.t1 == 1 && m.f1 == m.bins && m.f2 == 1 && m.frames >= m.t2
    }

    /// Every GEMM one training step performs on the fused path (forward, then backward), in order;
    /// the benchmark times these raw to get the step's GEMM floor.
    public static func trainingStepGEMMs(shape m: ModelShape, batch b: Int) -> [GEMMShape] {
        let (r, r2, depth, f) = (b * m.frames, b * m.afterHorizontal.0, m.t2 * m.n1, m.bins)
        var g: [GEMMShape] = [GEMMShape(r, m.n1, f), GEMMShape(r2, m.n2, depth), GEMMShape(b, m.dense, m.flat)]
        for _ in 0..<4 {
            g += [GEMMShape(b, m.flat, m.dense), GEMMShape(r2, depth, m.n2, transB: true), GEMMShape(r, f, m.n1, transB: true)]
        }
        for _ in 0..<4 {
            g += [GEMMShape(f, m.n1, r, transA: true), GEMMShape(r, m.n1, f),
                  GEMMShape(depth, m.n2, r2, transA: true), GEMMShape(r2, m.n2, depth),
                  GEMMShape(m.dense, m.flat, b, transA: true), GEMMShape(b, m.dense, m.flat, transB: true)]
        }
        g += [GEMMShape(m.flat, m.dense, b, transA: true), GEMMShape(b, m.flat, m.dense, transB: true),
              GEMMShape(depth, m.n2, r2, transA: true), GEMMShape(r2, depth, m.n2, transB: true),
              GEMMShape(f, m.n1, r, transA: true)]
        return g
    }
}

/// The network's forward and backward written out on preallocated buffers: the same arithmetic as the
/// tape (same GEMMs, same transposes), but no tensor, closure or gradient array is allocated per call,
/// the soft masks and loss are one fused pass (`softMaskLossKernel`), and the four decoders run on two
/// threads. Checked against the tape by ModelTests (finite differences) and FusedPathTests.
///
/// Parameter pointers are taken afresh at every call (the optimizer may have replaced a buffer by
/// copy-on-write) and used only while no one writes the parameters' `data` or `grad`.
public final class NetworkEngine {
    public let m: ModelShape
    public let capacity: Int
    /// Threads for the decoders and the loss pass (1 or 2).
    public var threads: Int

    // Activations and scratch, sized for `capacity` windows.
    private let v, patches, h, g: UnsafeMutablePointer<Float>
    private let act, hd, out, col, dHD, dS: [UnsafeMutablePointer<Float>]   // per decoder
    private let dGPart: [UnsafeMutablePointer<Float>]                        // per thread
    private let dG, dH, dP, dV: UnsafeMutablePointer<Float>
    private var owned: [UnsafeMutablePointer<Float>] = []

    public init(shape: ModelShape, capacity: Int, threads: Int) {
        precondition(ChandnaNetwork.fusedPathSupports(shape), "NetworkEngine: shape \(shape) is not supported")
        m = shape
        self.capacity = capacity
        self.threads = threads
        let r = capacity * shape.frames, r2 = capacity * shape.afterHorizontal.0
        let depth = shape.t2 * shape.n1
        var all: [UnsafeMutablePointer<Float>] = []
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            all.append(p)
            return p
        }
        v = buffer(r * shape.n1); patches = buffer(r2 * depth); h = buffer(r2 * shape.n2); g = buffer(capacity * shape.dense)
        act = (0..<4).map { _ in buffer(capacity * shape.flat) }
        hd = (0..<4).map { _ in buffer(r * shape.n1) }
        out = (0..<4).map { _ in buffer(r * shape.bins) }
        col = (0..<4).map { _ in buffer(r2 * depth) }
        dHD = (0..<4).map { _ in buffer(r * shape.n1) }
        dS = (0..<4).map { _ in buffer(capacity * shape.flat) }
        dGPart = (0..<2).map { _ in buffer(capacity * shape.dense) }
        dG = buffer(capacity * shape.dense); dH = buffer(r2 * shape.n2); dP = buffer(r2 * depth); dV = buffer(r * shape.n1)
        owned = all
    }

    deinit { for p in owned { p.deallocate() } }

    /// The decoders' outputs (R × bins each) after `forward`; overwritten by ∂L/∂output in `lossAndGradient`.
    public var outputs: [UnsafeMutablePointer<Float>] { out }

    /// The second thread, started on first use and kept (handing it work allocates nothing).
    private lazy var helper = HelperThread()

    /// Runs `body(part)` for part 0..<parts (at most 2), on two threads when `threads` > 1.
    private func parallel(_ parts: Int, _ body: (Int) -> Void) {
        if threads > 1 && parts == 2 {
            helper.run(body)
        } else {
            for p in 0..<parts { body(p) }
        }
    }

    /// The decoders a part handles: two parts of two decoders each (or one part of four).
    private func decoders(of part: Int, parts: Int) -> Range<Int> { parts == 1 ? 0..<4 : (part * 2)..<(part * 2 + 2) }

    /// Forward from magnitudes x (batch × frames × bins, already scaled) to the four decoder outputs.
    public func forward(_ net: ChandnaNetwork, x: UnsafePointer<Float>, batch b: Int) {
        precondition(b <= capacity, "NetworkEngine.forward: batch \(b) over capacity \(capacity)")
        let (t, f, n1, n2) = (m.frames, m.bins, m.n1, m.n2)
        let t2o = m.afterHorizontal.0, depth = m.t2 * n1
        let (r, r2) = (b * t, b * t2o)
        // Encoder.
        fill(v, rows: r, bias: net.verticalConvolution.bias)
        gemm(false, false, r, n1, f, x, f, weights(net.verticalConvolution.kernel), n1, 1, v, n1)
        im2col(v, into: patches, batch: b)
        fill(h, rows: r2, bias: net.horizontalConvolution.bias)
        gemm(false, false, r2, n2, depth, patches, depth, weights(net.horizontalConvolution.kernel), n2, 1, h, n2)
        fill(g, rows: b, bias: net.globalDense.bias)
        gemm(false, false, b, m.dense, m.flat, h, m.flat, weights(net.globalDense.kernel), m.dense, 1, g, m.dense)
        relu(g, b * m.dense)
        // Decoders.
        let parts = threads > 1 ? 2 : 1
        parallel(parts) { part in
            for s in decoders(of: part, parts: parts) {
                let d = net.decoders[s]
                fill(act[s], rows: b, bias: d.singleDense.bias)
                gemm(false, false, b, m.flat, m.dense, g, m.dense, weights(d.singleDense.kernel), m.flat, 1, act[s], m.flat)
                relu(act[s], b * m.flat)
                gemm(false, true, r2, depth, n2, act[s], n2, weights(d.horizontalDeconvolution.kernel), n2, 0, col[s], depth)
                fill(hd[s], rows: r, bias: d.horizontalDeconvolution.bias)
                col2imAdd(col[s], into: hd[s], batch: b)
                fill(out[s], rows: r * f, bias: d.verticalDeconvolution.bias)
                gemm(false, true, r, f, n1, hd[s], n1, weights(d.verticalDeconvolution.kernel), n1, 1, out[s], f)
            }
        }
    }

    /// The loss (METHOD.md, divided by the batch) of the outputs left by `forward`; with `gradients`,
    /// also replaces each output by ∂L/∂output. Two halves of the elements on two threads.
    func loss(x: UnsafePointer<Float>, targets: Four<UnsafePointer<Float>>, batch b: Int, config: Config, gradients: Bool) -> Float {
        let n = b * m.frames * m.bins
        let parts = threads > 1 ? 2 : 1
        var partial = (0.0, 0.0)
        let half = (n / parts + 15) / 16 * 16
        parallel(parts) { part in
            let lo = min(part * half, n), hi = part == parts - 1 ? n : min(lo + half, n)
            let g = (out[0] + lo, out[1] + lo, out[2] + lo, out[3] + lo)
            let o = (UnsafePointer(g.0), UnsafePointer(g.1), UnsafePointer(g.2), UnsafePointer(g.3))
            let y = (targets.0 + lo, targets.1 + lo, targets.2 + lo, targets.3 + lo)
            let value = softMaskLossKernel(outputs: o, magnitudes: x + lo, targets: y, count: hi - lo,
                                           epsilon: m.maskEpsilon, alpha: config.alpha, beta: config.beta, gamma: config.gamma,
                                           scale: 1 / Float(b), gradients: gradients ? g : nil)
            if part == 0 { partial.0 = value } else { partial.1 = value }
        }
        return Float(partial.0 + partial.1)
    }

    /// Soft masks of the outputs left by `forward`, into `masks` (R × bins each).
    public func masks(batch b: Int, into masks: [UnsafeMutablePointer<Float>]) {
        softMaskKernel(outputs: out.map { UnsafePointer($0) }, count: b * m.frames * m.bins, epsilon: m.maskEpsilon, masks: masks)
    }

    /// Backward from ∂L/∂outputs (left by `loss(gradients: true)`), adding into the parameters' grads
    /// (which must exist with their full counts: see `prepareGradients`).
    func backward(_ net: ChandnaNetwork, x: UnsafePointer<Float>, batch b: Int) {
        let (t, f, n1, n2) = (m.frames, m.bins, m.n1, m.n2)
        let t2o = m.afterHorizontal.0, depth = m.t2 * n1
        let (r, r2) = (b * t, b * t2o)
        let parts = threads > 1 ? 2 : 1
        parallel(parts) { part in
            let dGp = dGPart[part]
            var first = true
            for s in decoders(of: part, parts: parts) {
                let d = net.decoders[s], dOut = out[s]
                let kvd = weights(d.verticalDeconvolution.kernel), khd = weights(d.horizontalDeconvolution.kernel)
                gemm(true, false, f, n1, r, dOut, f, hd[s], n1, 1, gradient(d.verticalDeconvolution.kernel), n1)
                addRows(dOut, rows: r * f, cols: 1, into: gradient(d.verticalDeconvolution.bias))
                gemm(false, false, r, n1, f, dOut, f, kvd, n1, 0, dHD[s], n1)
                addRows(dHD[s], rows: r, cols: n1, into: gradient(d.horizontalDeconvolution.bias))
                im2col(dHD[s], into: col[s], batch: b)
                gemm(true, false, depth, n2, r2, col[s], depth, act[s], n2, 1, gradient(d.horizontalDeconvolution.kernel), n2)
                gemm(false, false, r2, n2, depth, col[s], depth, khd, n2, 0, dS[s], n2)
                reluBackward(dS[s], act[s], b * m.flat)
                gemm(true, false, m.dense, m.flat, b, g, m.dense, dS[s], m.flat, 1, gradient(d.singleDense.kernel), m.flat)
                addRows(dS[s], rows: b, cols: m.flat, into: gradient(d.singleDense.bias))
                gemm(false, true, b, m.dense, m.flat, dS[s], m.flat, weights(d.singleDense.kernel), m.flat, first ? 0 : 1, dGp, m.dense)
                first = false
            }
        }
        // Encoder.
        let count = b * m.dense
        dG.update(from: dGPart[0], count: count)
        if parts > 1 { for i in 0..<count { dG[i] += dGPart[1][i] } }
        reluBackward(dG, g, count)
        gemm(true, false, m.flat, m.dense, b, h, m.flat, dG, m.dense, 1, gradient(net.globalDense.kernel), m.dense)
        addRows(dG, rows: b, cols: m.dense, into: gradient(net.globalDense.bias))
        gemm(false, true, b, m.flat, m.dense, dG, m.dense, weights(net.globalDense.kernel), m.dense, 0, dH, m.flat)
        addRows(dH, rows: r2, cols: n2, into: gradient(net.horizontalConvolution.bias))
        gemm(true, false, depth, n2, r2, patches, depth, dH, n2, 1, gradient(net.horizontalConvolution.kernel), n2)
        gemm(false, true, r2, depth, n2, dH, n2, weights(net.horizontalConvolution.kernel), n2, 0, dP, depth)
        dV.update(repeating: 0, count: r * n1)
        col2imAdd(dP, into: dV, batch: b)
        addRows(dV, rows: r, cols: n1, into: gradient(net.verticalConvolution.bias))
        gemm(true, false, f, n1, r, x, f, dV, n1, 1, gradient(net.verticalConvolution.kernel), n1)
    }

    /// Gives every parameter a zeroed gradient of its full count, reusing the existing array when it
    /// has one (so steady-state steps allocate none).
    static func prepareGradients(_ parameters: [Tensor]) {
        for p in parameters {
            if p.grad?.count == p.count {
                p.grad!.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            } else {
                p.grad = [Float](repeating: 0, count: p.count)
            }
        }
    }

    // MARK: Pieces

    /// Window (b, i) of the horizontal layers covers rows b·T+i ..< b·T+i+t2 of a (B·T, n1) matrix:
    /// t2·n1 contiguous values (width 1), copied to row b·T2o+i of the patch matrix.
    private func im2col(_ src: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>, batch b: Int) {
        let (t, t2o, run) = (m.frames, m.afterHorizontal.0, m.t2 * m.n1)
        for bi in 0..<b {
            for i in 0..<t2o {
                (dst + (bi * t2o + i) * run).update(from: src + (bi * t + i) * m.n1, count: run)
            }
        }
    }

    /// The adjoint of `im2col`: adds each patch row back onto its window.
    private func col2imAdd(_ src: UnsafeMutablePointer<Float>, into dst: UnsafeMutablePointer<Float>, batch b: Int) {
        let (t, t2o, run) = (m.frames, m.afterHorizontal.0, m.t2 * m.n1)
        for bi in 0..<b {
            for i in 0..<t2o {
                let d = dst + (bi * t + i) * m.n1, s = src + (bi * t2o + i) * run
                for k in 0..<run { d[k] += s[k] }
            }
        }
    }
}

/// A thread that runs `body(1)` while the caller runs `body(0)`. Work is handed over through two
/// semaphores and a closure stored only while the caller waits (`withoutActuallyEscaping`), so no
/// allocation happens per call (DispatchQueue.concurrentPerform allocated ~3 blocks per call).
final class HelperThread {
    private final class Shared: @unchecked Sendable {
        let start = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        var job: ((Int) -> Void)?
        var stop = false
    }
    private let shared = Shared()

    init() {
        let shared = self.shared
        let thread = Thread {
            while true {
                shared.start.wait()
                if shared.stop { return }
                shared.job!(1)
                shared.done.signal()
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    deinit {
        shared.stop = true
        shared.start.signal()
    }

    func run(_ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { escaping in
            shared.job = escaping
            shared.start.signal()
            escaping(0)
            shared.done.wait()
            shared.job = nil
        }
    }
}

/// A parameter's values for reading (see NetworkEngine on pointer lifetime).
@inline(__always)
private func weights(_ t: Tensor) -> UnsafePointer<Float> { t.data.withUnsafeBufferPointer { $0.baseAddress! } }

/// A parameter's gradient storage (present after `prepareGradients`).
@inline(__always)
private func gradient(_ t: Tensor) -> UnsafeMutablePointer<Float> { t.grad!.withUnsafeMutableBufferPointer { $0.baseAddress! } }

@inline(__always)
private func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                  _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                  _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    guard m > 0 && n > 0 else { return }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Every row of dst (rows × bias.count) set to the bias.
private func fill(_ dst: UnsafeMutablePointer<Float>, rows: Int, bias: Tensor) {
    bias.data.withUnsafeBufferPointer { bp in
        if bp.count == 1 { dst.update(repeating: bp[0], count: rows); return }
        for r in 0..<rows { (dst + r * bp.count).update(from: bp.baseAddress!, count: bp.count) }
    }
}

private func relu(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = max(p[i], 0) }
}

/// d *= (activation > 0): the ReLU's backward, from its output.
private func reluBackward(_ d: UnsafeMutablePointer<Float>, _ activation: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { d[i] = activation[i] > 0 ? d[i] : 0 }
}

