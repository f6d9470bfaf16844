import Foundation

/// The EM on raw planes, frame by frame so that one frame's data stay in cache while it is used.
/// Matrices are stored as C² real planes of `bins` values: the C diagonal entries, then for each pair
/// a < b the real and imaginary parts of entry (a, b) (entry (b, a) is its conjugate).
struct WienerEM {
    let sources, channels, frames, bins: Int
    /// Source j, channel c: real part at y[2(jC + c)], imaginary at y[2(jC + c) + 1]; frames × bins.
    let y: [UnsafeMutablePointer<Float>]
    /// Mixture channel c: x[2c], x[2c + 1].
    let x: [UnsafePointer<Float>]
    let covarianceEps: Double
    let regularization: Double
    /// Pairs a < b of channels, in plane order.
    let pairs: [(a: Int, b: Int)]
    let planeCount: Int
    /// R_j: sources × planes × bins.
    let covariance: UnsafeMutablePointer<Double>
    /// One frame's mixture covariance (planes × bins), powers v_j (sources × bins), and C⁻¹x (2C × bins).
    let mixtureCovariance, power, solved: UnsafeMutablePointer<Double>
    /// Two rows of the current output, and a C×C system for C > 2.
    let row, system: UnsafeMutablePointer<Double>

    init(sources: Int, channels: Int, frames: Int, bins: Int, y: [UnsafeMutablePointer<Float>],
         x: [UnsafePointer<Float>], covarianceEps: Double, regularization: Double) {
        (self.sources, self.channels, self.frames, self.bins) = (sources, channels, frames, bins)
        (self.y, self.x, self.covarianceEps, self.regularization) = (y, x, covarianceEps, regularization)
        pairs = (0..<channels).flatMap { a in (a + 1..<channels).map { (a: a, b: $0) } }
        planeCount = channels * channels
        covariance = .allocate(capacity: sources * planeCount * bins)
        mixtureCovariance = .allocate(capacity: planeCount * bins)
        power = .allocate(capacity: sources * bins)
        solved = .allocate(capacity: 2 * channels * bins)
        row = .allocate(capacity: 2 * bins)
        system = .allocate(capacity: 2 * channels * (channels + 1))
    }

    func deallocate() {
        for p in [covariance, mixtureCovariance, power, solved, row, system] { p.deallocate() }
    }

    /// Real and imaginary rows of source j, channel c, frame t.
    @inline(__always) func source(_ j: Int, _ c: Int, frame t: Int) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        let i = 2 * (j * channels + c)
        return (y[i] + t * bins, y[i + 1] + t * bins)
    }

    /// Step 1: R_j(f) = Σ_t y_j y_jᴴ / (ε′ + Σ_t v_j) from the current estimates.
    func estimateSpatialCovariances() {
        covariance.update(repeating: 0, count: sources * planeCount * bins)
        for t in 0..<frames {
            for j in 0..<sources {
                let r = covariance + j * planeCount * bins
                for a in 0..<channels {
                    let (re, im) = source(j, a, frame: t), out = r + a * bins
                    for k in 0..<bins {
                        let u = Double(re[k]), w = Double(im[k])
                        out[k] += u * u + w * w
                    }
                }
                for (p, pair) in pairs.enumerated() {
                    let (ar, ai) = source(j, pair.a, frame: t), (br, bi) = source(j, pair.b, frame: t)
                    let outRe = r + (channels + 2 * p) * bins, outIm = outRe + bins
                    for k in 0..<bins {
                        let u = Double(ar[k]), w = Double(ai[k]), s = Double(br[k]), q = Double(bi[k])
                        outRe[k] += u * s + w * q       // y_a · conj(y_b)
                        outIm[k] += w * s - u * q
                    }
                }
            }
        }
        let inverseChannels = 1 / Double(channels)
        for j in 0..<sources {
            let r = covariance + j * planeCount * bins
            for k in 0..<bins {
                var weight = 0.0
                for a in 0..<channels { weight += r[a * bins + k] }
                let inverse = 1 / (covarianceEps + weight * inverseChannels)
                for p in 0..<planeCount { r[p * bins + k] *= inverse }
            }
        }
    }

    /// Step 2: y_j = v_j R_j (Σ_k v_k R_k + ρI)⁻¹ x, frame by frame, in place.
    func filter() {
        let inverseChannels = 1 / Double(channels)
        for t in 0..<frames {
            // The mixture's model covariance Σ_j v_j R_j + ρI, with v_j from the current estimates.
            mixtureCovariance.update(repeating: regularization, count: channels * bins)
            (mixtureCovariance + channels * bins).update(repeating: 0, count: (planeCount - channels) * bins)
            for j in 0..<sources {
                let v = power + j * bins
                v.update(repeating: 0, count: bins)
                for c in 0..<channels {
                    let (re, im) = source(j, c, frame: t)
                    for k in 0..<bins {
                        let u = Double(re[k]), w = Double(im[k])
                        v[k] += (u * u + w * w) * inverseChannels
                    }
                }
                let r = covariance + j * planeCount * bins
                for p in 0..<planeCount {
                    let out = mixtureCovariance + p * bins, rp = r + p * bins
                    for k in 0..<bins { out[k] += v[k] * rp[k] }
                }
            }
            solve(frame: t)
            // y_jc = v_j Σ_b R_j(c, b) z_b.
            let outRe = row, outIm = row + bins
            for j in 0..<sources {
                let r = covariance + j * planeCount * bins, v = power + j * bins
                for c in 0..<channels {
                    let diagonal = r + c * bins, zr = solved + 2 * c * bins, zi = zr + bins
                    for k in 0..<bins {
                        outRe[k] = diagonal[k] * zr[k]
                        outIm[k] = diagonal[k] * zi[k]
                    }
                    for (p, pair) in pairs.enumerated() where pair.a == c || pair.b == c {
                        // R(c, b) is the stored entry when c < b, its conjugate when c > b.
                        let other = pair.a == c ? pair.b : pair.a, sign: Double = pair.a == c ? 1 : -1
                        let rr = r + (channels + 2 * p) * bins, ri = rr + bins
                        let br = solved + 2 * other * bins, bi = br + bins
                        for k in 0..<bins {
                            let im = sign * ri[k]
                            outRe[k] += rr[k] * br[k] - im * bi[k]
                            outIm[k] += rr[k] * bi[k] + im * br[k]
                        }
                    }
                    let (re, im) = source(j, c, frame: t)
                    for k in 0..<bins {
                        re[k] = Float(v[k] * outRe[k])
                        im[k] = Float(v[k] * outIm[k])
                    }
                }
            }
        }
    }

    /// z = C_xx⁻¹ x for every bin of frame t, into `solved`.
    func solve(frame t: Int) {
        let m = mixtureCovariance, offset = t * bins
        switch channels {
        case 1:
            // norbert's 1×1 inverse adds ε once more: it is folded into ρ (see WienerFilter).
            let xr = x[0] + offset, xi = x[1] + offset, zr = solved, zi = solved + bins
            for k in 0..<bins {
                let inverse = 1 / m[k]
                zr[k] = Double(xr[k]) * inverse
                zi[k] = Double(xi[k]) * inverse
            }
        case 2:
            // [[a, b], [b*, d]]⁻¹ = [[d, −b], [−b*, a]] / (ad − |b|²).
            let x0r = x[0] + offset, x0i = x[1] + offset, x1r = x[2] + offset, x1i = x[3] + offset
            let z0r = solved, z0i = solved + bins, z1r = solved + 2 * bins, z1i = solved + 3 * bins
            let a = m, d = m + bins, br = m + 2 * bins, bi = m + 3 * bins
            for k in 0..<bins {
                let inverse = 1 / (a[k] * d[k] - br[k] * br[k] - bi[k] * bi[k])
                let ur = Double(x0r[k]), ui = Double(x0i[k]), wr = Double(x1r[k]), wi = Double(x1i[k])
                z0r[k] = (d[k] * ur - (br[k] * wr - bi[k] * wi)) * inverse
                z0i[k] = (d[k] * ui - (br[k] * wi + bi[k] * wr)) * inverse
                z1r[k] = (a[k] * wr - (br[k] * ur + bi[k] * ui)) * inverse
                z1i[k] = (a[k] * wi - (br[k] * ui - bi[k] * ur)) * inverse
            }
        default:
            for k in 0..<bins { solveSystem(bin: k, offset: offset) }
        }
    }

    /// Gaussian elimination of one bin's C×C Hermitian positive definite system [C_xx | x] (complex,
    /// interleaved re/im, row-major with C + 1 columns); no pivoting is needed for such a matrix.
    private func solveSystem(bin k: Int, offset: Int) {
        let n = channels, width = n + 1, s = system
        func at(_ i: Int, _ j: Int) -> Int { 2 * (i * width + j) }
        for i in 0..<n {
            s[at(i, i)] = mixtureCovariance[i * bins + k]; s[at(i, i) + 1] = 0
            s[at(i, n)] = Double(x[2 * i][offset + k]); s[at(i, n) + 1] = Double(x[2 * i + 1][offset + k])
        }
        for (p, pair) in pairs.enumerated() {
            let re = mixtureCovariance[(n + 2 * p) * bins + k], im = mixtureCovariance[(n + 2 * p + 1) * bins + k]
            s[at(pair.a, pair.b)] = re; s[at(pair.a, pair.b) + 1] = im
            s[at(pair.b, pair.a)] = re; s[at(pair.b, pair.a) + 1] = -im
        }
        for i in 0..<n {
            // Divide row i by its pivot (real and positive in exact arithmetic for such a matrix).
            let pr = s[at(i, i)], pi = s[at(i, i) + 1], norm = 1 / (pr * pr + pi * pi)
            let ir = pr * norm, ii = -pi * norm
            for j in i..<width {
                let u = s[at(i, j)], w = s[at(i, j) + 1]
                s[at(i, j)] = u * ir - w * ii; s[at(i, j) + 1] = u * ii + w * ir
            }
            for r in 0..<n where r != i {
                let fr = s[at(r, i)], fi = s[at(r, i) + 1]
                for j in i..<width {
                    let pr = s[at(i, j)], pi = s[at(i, j) + 1]
                    s[at(r, j)] -= fr * pr - fi * pi
                    s[at(r, j) + 1] -= fr * pi + fi * pr
                }
            }
        }
        for i in 0..<n {
            solved[2 * i * bins + k] = s[at(i, n)]
            solved[(2 * i + 1) * bins + k] = s[at(i, n) + 1]
        }
    }
}
