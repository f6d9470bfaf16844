import Autodiff
import Support

/// Runs a `ChandnaNetwork`'s own layers (its `encoder`, then each decoder) on buffers allocated once
/// for `capacity` windows: the same kernels as the tape, but no tensor, closure or gradient array is
/// made per call, the soft masks and loss are one fused pass (`softMaskLossKernel`), and the decoders
/// run as two halves on two threads. Training and separation run this; the tape is the reference it
/// is tested against (NetworkTests).
///
/// Use: write `batch` windows into `input` (batch × T × F, already scaled), or pass windows the caller
/// holds to `forward(batch:input:)`, then either `masks` (separation) or `loss(gradients: true)`,
/// `zeroGradients` and `backward` (training), which leaves every parameter's gradient in `gradients`.
public final class NetworkEngine {
    public let network: ChandnaNetwork
    public let capacity: Int
    /// Threads for the decoders and the loss pass (1 or 2); the arithmetic is the same either way.
    public var threads: Int
    /// The network's input: `capacity` windows of T × F magnitudes.
    public let input: UnsafeMutablePointer<Float>
    /// The gradients of all parameters in one flat buffer, in `network.parameters` order (each layer's
    /// kernel, then its bias): what `backward` adds into, and what data-parallel ranks sum in one call.
    public let gradients: UnsafeMutableBufferPointer<Float>

    private let encoder: Chain
    /// The decoders, split in two halves (one per thread); `codeGradient[half]` collects each half's ∂L/∂code.
    private let halves: [[Chain]]
    private let codeGradient: [UnsafeMutablePointer<Float>]
    private let memory: Memory

    /// `gradients`: storage for `network.parameterCount` Floats that outlives the engine (a trainer
    /// keeps one across engines); the engine allocates its own when nil.
    public convenience init(network: ChandnaNetwork, capacity: Int, threads: Int, gradients given: UnsafeMutableBufferPointer<Float>? = nil) {
        self.init(network: network, capacity: capacity, threads: threads, gradients: given, memory: Memory())
    }

    /// The bytes an engine for `capacity` windows allocates (activations, their gradients, layer
    /// workspaces and, without `given` storage, the flat gradient), counted by the same code that
    /// allocates them but without allocating: a batch size is checked against the machine's memory
    /// with it before the engine is made.
    public static func bytes(network: ChandnaNetwork, capacity: Int) -> Double {
        let counter = Memory(countingOnly: true)
        _ = NetworkEngine(network: network, capacity: capacity, threads: 1, gradients: nil, memory: counter)
        return counter.floats * Double(MemoryLayout<Float>.size)
    }

    private init(network: ChandnaNetwork, capacity: Int, threads: Int, gradients given: UnsafeMutableBufferPointer<Float>?, memory: Memory) {
        precondition(capacity > 0, "NetworkEngine: capacity must be positive")
        precondition(given.map { $0.count == network.parameterCount } ?? true,
                     "NetworkEngine: gradient storage of \(given?.count ?? 0) Floats for \(network.parameterCount) parameters")
        self.network = network
        self.capacity = capacity
        self.threads = threads
        self.memory = memory
        gradients = given ?? UnsafeMutableBufferPointer(start: memory.buffer(network.parameterCount), count: network.parameterCount)
        // Each trained layer's slice of the flat gradient (in `network.parameters` order): its kernel's,
        // then its bias's. A weighted layer that is never trained (the input normalisation) has none.
        var slices: [ObjectIdentifier: UnsafeMutablePointer<Float>] = [:]
        var offset = 0
        for layer in network.layers where !layer.parameters.isEmpty {
            slices[ObjectIdentifier(layer)] = gradients.baseAddress! + offset
            offset += layer.parameters.reduce(0) { $0 + $1.count }
        }
        let inputShape = network.inputShape
        input = memory.buffer(capacity * inputShape.reduce(1, *))
        windows = input
        let codeShape = Chain.outputShape(network.encoder, input: inputShape)
        let codeCount = capacity * codeShape.reduce(1, *)
        encoder = Chain(network.encoder, input: inputShape, x: input, dX: nil, outputGradient: memory.buffer(codeCount),
                        parameterGradients: slices, capacity: capacity, memory: memory)
        let parts = [memory.buffer(codeCount), memory.buffer(codeCount)]
        codeGradient = parts
        let code = encoder.output
        let d = network.decoders, half = (d.count + 1) / 2
        halves = [Array(d[..<half]), Array(d[half...])].enumerated().map { part, decoders in
            decoders.enumerated().map { k, decoder in
                Chain(decoder.layers, input: codeShape, x: code, dX: parts[part], accumulateIntoInput: k > 0,
                      parameterGradients: slices, capacity: capacity, memory: memory)
            }
        }
    }

    /// The decoders' outputs (batch × T × F each, stem order) after `forward`; `loss(gradients: true)`
    /// replaces them by ∂L/∂output.
    public var outputs: [UnsafeMutablePointer<Float>] { halves.flatMap { $0.map(\.output) } }

    private var outputTuple: Four<UnsafeMutablePointer<Float>> {
        let o = outputs
        precondition(o.count == 4, "NetworkEngine: the loss and masks need 4 decoders, the network has \(o.count)")
        return (o[0], o[1], o[2], o[3])
    }

    /// The second thread, started on first use and kept (handing it work allocates nothing).
    private lazy var helper = HelperThread()

    /// Runs `body(0)` and `body(1)`, on two threads when `threads` > 1.
    private func bothHalves(_ body: (Int) -> Void) {
        if threads > 1 { helper.run(body) } else { body(0); body(1) }
    }

    /// The windows the current pass reads: `input`, or the caller's (which must stay valid until
    /// `backward` returns).
    private var windows: UnsafeMutablePointer<Float>

    /// The network on the first `batch` windows of `input`, or of the caller's `windows` (batch × T × F)
    /// without copying them.
    public func forward(batch b: Int, windows given: UnsafePointer<Float>? = nil) {
        precondition(b > 0 && b <= capacity, "NetworkEngine.forward: batch \(b) outside 1...\(capacity)")
        let source = given.map { UnsafeMutablePointer(mutating: $0) } ?? input   // the kernels only read it
        if source != windows { windows = source; encoder.rebindInput(source) }
        encoder.forward(batch: b)
        bothHalves { part in for chain in halves[part] { chain.forward(batch: b) } }
    }

    /// The loss (METHOD.md, divided by the batch, or by `normalisedBy` windows: a data-parallel rank
    /// divides its shard's loss by the global batch, so that the ranks' gradients sum to the global
    /// batch's) of the outputs left by `forward`, against `targets` (batch × T × F each, stem order,
    /// scaled like the input); with `gradients`, also replaces each output by ∂L/∂output. Two halves
    /// of the elements on two threads.
    public func loss(targets: Four<UnsafePointer<Float>>, batch b: Int, normalisedBy divisor: Int? = nil,
                     weights: LossWeights, gradients: Bool) -> Float {
        precondition((divisor ?? b) > 0, "NetworkEngine.loss: normalised by \(divisor ?? b) windows")
        let n = b * network.inputShape.reduce(1, *)
        let out = outputTuple
        var partial = (0.0, 0.0)
        let half = (n / 2 + 15) / 16 * 16
        bothHalves { part in
            let lo = min(part * half, n), hi = part == 1 ? n : min(lo + half, n)
            let g = (out.0 + lo, out.1 + lo, out.2 + lo, out.3 + lo)
            let value = softMaskLossKernel(outputs: (UnsafePointer(g.0), UnsafePointer(g.1), UnsafePointer(g.2), UnsafePointer(g.3)),
                                           magnitudes: windows + lo,
                                           targets: (targets.0 + lo, targets.1 + lo, targets.2 + lo, targets.3 + lo),
                                           count: hi - lo, epsilon: network.shape.maskEpsilon, weights: weights,
                                           scale: 1 / Float(divisor ?? b), gradients: gradients ? g : nil)
            if part == 0 { partial.0 = value } else { partial.1 = value }
        }
        return Float(partial.0 + partial.1)
    }

    /// Soft masks of the outputs left by `forward`, into `masks` (batch × T × F each).
    public func masks(batch b: Int, into masks: Four<UnsafeMutablePointer<Float>>) {
        let o = outputTuple
        softMaskKernel(outputs: (UnsafePointer(o.0), UnsafePointer(o.1), UnsafePointer(o.2), UnsafePointer(o.3)),
                       count: b * network.inputShape.reduce(1, *), epsilon: network.shape.maskEpsilon, masks: masks)
    }

    /// Backward from ∂L/∂outputs (left by `loss(gradients: true)`), adding into `gradients`.
    public func backward(batch b: Int) {
        bothHalves { part in for chain in halves[part] { chain.backward(batch: b) } }   // the first overwrites the code gradient, the next adds
        let count = b * encoder.outputShape.reduce(1, *)
        let dCode = encoder.outputGradient
        dCode.update(from: codeGradient[0], count: count)
        if !halves[1].isEmpty { addInPlace(dCode, codeGradient[1], count: count) }
        encoder.backward(batch: b)
    }

    /// Sets `gradients` to zero (before a backward pass that should not add to the last one's).
    public func zeroGradients() {
        gradients.update(repeating: 0)
    }

    /// Copies `gradients` into the parameters' `grad` arrays (tests and tools that read them there).
    public func copyGradientsToParameters() {
        var offset = 0
        for p in network.parameters {
            p.grad = Array(gradients[offset..<(offset + p.count)])
            offset += p.count
        }
    }
}

/// A sequence of layers with its buffers: activations a_0 (the input) … a_n, their gradients g_0 … g_n,
/// and each layer's kept and scratch memory. A view (reshape) shares its input's activation and
/// gradient memory.
private final class Chain {
    let layers: [any Layer]
    let outputShape: [Int]
    let output: UnsafeMutablePointer<Float>
    /// ∂L/∂output: the output itself when the last layer's backward does not read it (the loss then
    /// writes its gradient in place), unless a buffer is given.
    let outputGradient: UnsafeMutablePointer<Float>
    private var io: [LayerBuffers]
    /// Layers reading a_0 or a view of it (their `x` follows `rebindInput`).
    private let readsInput: [Int]
    /// Whether each layer adds into its ∂L/∂input (a decoder's write into a code gradient another decoder wrote).
    private let accumulate: [Bool]

    static func outputShape(_ layers: [any Layer], input: [Int]) -> [Int] {
        layers.reduce(input) { $1.outputShape($0) }
    }

    init(_ layers: [any Layer], input: [Int], x: UnsafeMutablePointer<Float>, dX: UnsafeMutablePointer<Float>?,
         accumulateIntoInput: Bool = false, outputGradient given: UnsafeMutablePointer<Float>? = nil,
         parameterGradients: [ObjectIdentifier: UnsafeMutablePointer<Float>], capacity: Int, memory: Memory) {
        self.layers = layers
        let n = layers.count
        var shapes = [input]
        for layer in layers { shapes.append(layer.outputShape(shapes.last!)) }
        outputShape = shapes[n]
        // owner[i]: the first activation of the run of views that a_i belongs to (they share memory).
        var owner = Array(0...n)
        for i in stride(from: 1, through: n, by: 1) where layers[i - 1].isView { owner[i] = owner[i - 1] }
        precondition(owner[n] != 0 || n == 0, "NetworkEngine: a chain of views only")
        var a = [x]
        for i in stride(from: 1, through: n, by: 1) {
            a.append(owner[i] == i ? memory.buffer(capacity * shapes[i].reduce(1, *)) : a[owner[i]])
        }
        output = a[n]
        let inPlace = layers.last.map { !$0.backwardReadsOutput && !$0.isView } ?? false
        outputGradient = given ?? (inPlace ? output : memory.buffer(capacity * outputShape.reduce(1, *)))
        // One gradient buffer per run of views: the input's given one, the output's, or a fresh one.
        var gradientOf: [Int: UnsafeMutablePointer<Float>?] = [0: dX, owner[n]: outputGradient]
        for i in stride(from: 1, to: n, by: 1) where owner[i] == i && gradientOf[i] == nil {
            gradientOf[i] = memory.buffer(capacity * shapes[i].reduce(1, *))
        }
        let g = (0...n).map { gradientOf[owner[$0]]! }
        io = layers.indices.map { i in
            let work = layers[i].workspace(shapes[i], batch: capacity)
            return LayerBuffers(shape: shapes[i], x: a[i], y: a[i + 1], dY: g[i + 1] ?? a[i + 1], dX: g[i],   // (views read no gradient)
                                kept: work.kept > 0 ? memory.buffer(work.kept) : nil,
                                scratch: work.scratch > 0 ? memory.buffer(work.scratch) : nil,
                                parameterGradients: parameterGradients[ObjectIdentifier(layers[i])])
        }
        accumulate = layers.indices.map { i in owner[i] == 0 && accumulateIntoInput }
        readsInput = layers.indices.filter { owner[$0] == 0 }
    }

    /// Points the layers that read the chain's input (and the views of it) at `x`.
    func rebindInput(_ x: UnsafeMutablePointer<Float>) {
        for i in readsInput {
            let b = io[i]
            let y = layers[i].isView ? x : b.y
            io[i] = LayerBuffers(shape: b.shape, x: x, y: y, dY: b.dY, dX: b.dX, kept: b.kept, scratch: b.scratch,
                                 parameterGradients: b.parameterGradients)
        }
    }

    func forward(batch: Int) {
        for i in layers.indices where !layers[i].isView { layers[i].forward(io[i], batch: batch) }
    }

    func backward(batch: Int) {
        for i in layers.indices.reversed() where !layers[i].isView {
            layers[i].backward(io[i], batch: batch, accumulate: accumulate[i])
        }
    }
}

/// Owns the engine's buffers (zeroed), freed with it; or, `countingOnly`, adds up their sizes and
/// hands out one shared placeholder (the engine made with it only stores the pointers).
private final class Memory {
    private var buffers: [UnsafeMutablePointer<Float>] = []
    let countingOnly: Bool
    private(set) var floats = 0.0
    private static let placeholder = UnsafeMutablePointer<Float>.allocate(capacity: 1)

    init(countingOnly: Bool = false) { self.countingOnly = countingOnly }

    func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        floats += Double(max(count, 1))
        if countingOnly { return Self.placeholder }
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
        buffers.append(p)
        return p
    }
    deinit { for p in buffers { p.deallocate() } }
}
