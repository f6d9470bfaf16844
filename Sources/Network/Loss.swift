import Autodiff

/// The α/β/γ discriminative loss of the reproduced Keras code on magnitudes (METHOD.md, "Loss"), divided
/// by the batch, composed from tape ops: the legible reference for `softMaskLossKernel`.
/// `estimates` and `targets` are in stem order (bass, drums, other, vocals), all the same shape.
/// The "other" estimate is compared with its own target only with `w.other` > 0 (not in the paper).
public func discriminativeLoss(estimates e: [Tensor], targets y: [Tensor], weights w: LossWeights) -> Tensor {
    precondition(e.count == 4 && y.count == 4, "discriminativeLoss: expected 4 estimates and 4 targets, got \(e.count) and \(y.count)")
    let (b, d, o, v) = (0, 1, 2, 3)
    func sqd(_ p: Tensor, _ q: Tensor) -> Tensor { sumOfSquares(p - q) }
    let fit = sqd(e[b], y[b]) + sqd(e[d], y[d]) + sqd(e[v], y[v])
    let apart = sqd(e[b], e[d]) + sqd(e[b], e[v]) + sqd(e[v], e[d])
              + sqd(e[b], e[o]) + sqd(e[d], e[o]) + sqd(e[v], e[o])
    let awayFromOther = sqd(e[b], y[o]) + sqd(e[d], y[o])
    let vocalsAwayFromOther = sqd(e[v], y[o])
    let otherFit = sqd(e[o], y[o])
    let total = fit + otherFit * w.other + apart * (-w.alpha) + awayFromOther * (-w.beta) + vocalsAwayFromOther * (-w.gamma)
    return total * (1 / Float(e[0].shape[0]))
}
