/// An n-dimensional array of Float with a gradient, and a node of the tape that reverse mode walks.
///
/// Ownership and copy rules:
/// - `Tensor` is a class so that the graph can refer to a tensor from several places; `data` and `grad`
///   are Swift arrays, i.e. value-typed, copy-on-write storage. Reading `t.data` into a variable shares
///   the buffer until one side writes; no op ever mutates the `data` or `shape` of its inputs.
/// - Every op returns a new tensor that owns its own storage (`reshaped` shares the buffer copy-on-write).
/// - A tensor's `data` may be changed in place (an optimizer updating parameters), but not between the
///   forward pass that used it and the `backward()` of that pass: some backward rules read their inputs'
///   `data` when they run.
/// - `grad` is nil until a backward pass reaches the tensor, then has `count` elements. Leaves
///   (parameters) accumulate across passes until `zeroGrad()`; results of ops (intermediates) start each
///   `backward()` afresh.
/// - All storage of results and gradients is allocated in this module by `Tensor.result`,
///   `makeGrad`, and the op files' scratch buffers, so that a later buffer-reuse pass has few places to change.
public final class Tensor {
    /// Dimensions, outermost first. `[]` is a scalar.
    public let shape: [Int]
    /// Row-major, contiguous values; `data.count == shape.product` always (writers must keep the count;
    /// no property observer checks it, so that in-place updates do not copy).
    public var data: [Float]
    /// Gradient of the last backward pass's output with respect to this tensor; nil until a pass reaches it.
    public var grad: [Float]?
    /// Whether gradients flow to this tensor. Set it on parameters; results of ops inherit it from their inputs.
    public var requiresGrad: Bool
    /// The tensors this one was computed from (empty for leaves and for results made under `withNoGrad`).
    public private(set) var inputs: [Tensor] = []
    /// Adds this tensor's share of `grad` into its inputs' grads (`+=`); nil for leaves.
    var backwardRule: ((_ out: Tensor) -> Void)?

    public init(_ data: [Float], shape: [Int], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        precondition(data.count == shapeCount(shape), "Tensor: \(data.count) values do not fill shape \(shape) (\(shapeCount(shape)) needed)")
        self.shape = shape
        self.data = data
        self.requiresGrad = requiresGrad
    }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor([Float](repeating: 0, count: shapeCount(shape)), shape: shape, requiresGrad: requiresGrad)
    }

    /// Number of elements (the product of `shape`; 1 for a scalar).
    public var count: Int { data.count }

    /// The value of a one-element tensor.
    public var scalar: Float {
        precondition(count == 1, "Tensor.scalar: shape \(shape) has \(count) elements, not 1")
        return data[0]
    }

    /// True when this tensor was computed by an op whose backward rule was recorded.
    public var hasBackwardRule: Bool { backwardRule != nil }

    /// Forgets the gradient (`grad = nil`); the next backward pass starts it from zero.
    public func zeroGrad() { grad = nil }

    /// The same values viewed with another shape of equal element count; gradients flow back unchanged.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(shapeCount(newShape) == count, "reshaped: shape \(shape) (\(count) elements) cannot become \(newShape) (\(shapeCount(newShape)) elements)")
        return Tensor.result(data, shape: newShape, inputs: [self]) { out in
            let x = out.inputs[0]
            x.accumulateGrad(out.grad!)
        }
    }

    /// Reverse mode from a scalar (shape `[]` or `[1]`): seeds its grad with 1, then walks the graph in
    /// reverse topological order, each op adding its inputs' shares. Leaves accumulate; intermediates
    /// are recomputed from zero on every call.
    public func backward() {
        precondition(count == 1 && shape.count <= 1, "backward: needs a scalar (shape [] or [1]), got shape \(shape); use backward(gradient:) for other shapes")
        backward(gradient: [1])
    }

    /// Reverse mode from any tensor, given the gradient of some scalar with respect to it
    /// (PyTorch's `y.backward(g)`); `gradient.count == count`.
    public func backward(gradient: [Float]) {
        precondition(gradient.count == count, "backward(gradient:): \(gradient.count) values for shape \(shape)")
        precondition(requiresGrad, "backward: shape \(shape) does not require grad (no parameter reaches it, or it was built under withNoGrad)")
        let order = topologicalOrder()
        for node in order where node.backwardRule != nil { node.grad = nil }
        accumulateGrad(gradient)
        for node in order.reversed() {
            if let rule = node.backwardRule, node.grad != nil { rule(node) }
        }
    }

    /// Every tensor that needs a gradient and that this one depends on (itself included), each after
    /// all of its inputs. Iterative depth-first search, so deep graphs cannot overflow the stack.
    func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(node: Tensor, nextInput: Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while !stack.isEmpty {
            let (node, i) = stack[stack.count - 1]
            if i < node.inputs.count {
                stack[stack.count - 1].nextInput += 1
                let input = node.inputs[i]
                if input.requiresGrad && visited.insert(ObjectIdentifier(input)).inserted {
                    stack.append((input, 0))
                }
            } else {
                order.append(node)
                stack.removeLast()
            }
        }
        return order
    }

    // MARK: - For op implementations (here, and ops defined elsewhere such as the model's fused loss)

    /// Wraps an op's result. If gradients are enabled and any input requires one, records the inputs and
    /// the op's backward rule (which receives the result, whose `grad` is then set); otherwise records nothing.
    public static func result(_ data: [Float], shape: [Int], inputs: [Tensor], backward rule: @escaping (_ out: Tensor) -> Void) -> Tensor {
        let out = Tensor(data, shape: shape)
        if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
            out.requiresGrad = true
            out.inputs = inputs
            out.backwardRule = rule
        }
        return out
    }

    /// Runs `body` on this tensor's gradient storage, created as zeros if absent. Backward rules add into it.
    public func withGrad(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        if grad == nil { grad = makeGrad(count) }
        guard count > 0 else { return }
        grad!.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    /// grad += g (same element count).
    func accumulateGrad(_ g: [Float]) {
        if grad == nil { grad = g; return }
        withGrad { dst in
            g.withUnsafeBufferPointer { src in
                for i in 0..<src.count { dst[i] += src[i] }
            }
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = data.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), data: [\(shown)\(count > 8 ? ", …" : "")]\(requiresGrad ? ", requiresGrad" : ""))"
    }
}

/// Runs `body` without recording anything: results of ops have no inputs, no backward rule,
/// `requiresGrad == false`, and no gradient is allocated. Scoped to the current task/thread, so
/// tests running in parallel do not see each other's mode.
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.$disabled.withValue(true) { try body() }
}

/// Whether ops record their inputs and backward rules (false inside `withNoGrad`).
public var isRecordingGradients: Bool { GradMode.isEnabled }

enum GradMode {
    @TaskLocal static var disabled = false
    static var isEnabled: Bool { !disabled }
}

/// Number of elements of a shape (1 for `[]`).
func shapeCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// Fresh gradient storage of `n` zeros (the one place gradients are allocated).
func makeGrad(_ n: Int) -> [Float] { [Float](repeating: 0, count: n) }

/// Uninitialized result storage of `n` elements filled by `fill` (the one place results are allocated).
func makeStorage(_ n: Int, _ fill: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
        if n > 0 { fill(buffer.baseAddress!) }
        initialized = n
    }
}
