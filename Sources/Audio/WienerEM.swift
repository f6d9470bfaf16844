import Foundation

/// The EM of `WienerFilter` on raw planes. Work goes frame by frame (one frame's rows stay in cache
/// while they are used), split into contiguous frame ranges, one per thread. Matrices are stored as
/// C² real planes of `bins` doubles: the C diagonal entries, then for each pair a < b the real and
/// imaginary parts of entry (a, b) (entry (b, a) is its conjugate). Stereo has fused loops of its own.
struct WienerEM {
    let sources, channels, frames, bins: Int
    /// Source j, channel c: real part at y[2(jC + c)], imaginary at y[2(jC + c) + 1]; frames × bins.
    let y: [UnsafeMutablePointer<Float>]
    /// Mixture channel c: x[2c], x[2c + 1].
    let x: [UnsafePointer<Float>]
    let covarianceEps, regularization: Double
    /// Pairs a < b of channels, in plane order.
    let pairs: [(a: Int, b: Int)]
    let planeCount: Int
    /// R_j: sources × planes × bins.
    let covariance: UnsafeMutablePointer<Double>
    /// One per thread.
    let workspaces: [Workspace]

    /// A thread's scratch: its share of Σ_t y yᴴ (sources × planes × bins), one frame's mixture
    /// covariance (planes × bins), powers v_j (sources × bins), C⁻¹x (2C × bins), an output row pair,
    /// and a C×C system for C > 2.
    struct Workspace {
        let frames: Range<Int>
        let partialCovariance, mixtureCovariance, power, solved, row, system: UnsafeMutablePointer<Double>
    }

    init(sources: Int, channels: Int, frames: Int, bins: Int, y: [UnsafeMutablePointer<Float>],
         x: [UnsafePointer<Float>], covarianceEps: Double, regularization: Double, threads: Int) {
        (self.sources, self.channels, self.frames, self.bins) = (sources, channels, frames, bins)
        (self.y, self.x, self.covarianceEps, self.regularization) = (y, x, covarianceEps, regularization)
        pairs = (0..<channels).flatMap { a in (a + 1..<channels).map { (a: a, b: $0) } }
        let planes = channels * channels
        planeCount = planes
        covariance = .allocate(capacity: sources * planes * bins)
        let parts = max(1, min(threads, frames))
        workspaces = (0..<parts).map { p in
            Workspace(frames: (p * frames / parts)..<((p + 1) * frames / parts),
                      partialCovariance: .allocate(capacity: sources * planes * bins),
                      mixtureCovariance: .allocate(capacity: planes * bins), power: .allocate(capacity: sources * bins),
                      solved: .allocate(capacity: 2 * channels * bins), row: .allocate(capacity: 2 * bins),
                      system: .allocate(capacity: 2 * channels * (channels + 1)))
        }
    }

    func deallocate() {
        covariance.deallocate()
        for w in workspaces {
            for p in [w.partialCovariance, w.mixtureCovariance, w.power, w.solved, w.row, w.system] { p.deallocate() }
        }
    }

    /// Runs `body` for each workspace, on as many threads.
    private func inParallel(_ body: (Workspace) -> Void) {
        if workspaces.count == 1 { body(workspaces[0]); return }
        DispatchQueue.concurrentPerform(iterations: workspaces.count) { body(workspaces[$0]) }
    }

    /// Real and imaginary rows of source j, channel c, frame t.
    @inline(__always) func source(_ j: Int, _ c: Int, frame t: Int) -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
        let i = 2 * (j * channels + c)
        return (y[i] + t * bins, y[i + 1] + t * bins)
    }

    // MARK: Step 1: R_j(f) = Σ_t y_j y_jᴴ / (ε′ + Σ_t v_j) from the current estimates

    func estimateSpatialCovariances() {
        let size = sources * planeCount * bins
        inParallel { w in
            w.partialCovariance.update(repeating: 0, count: size)
            for t in w.frames {
                for j in 0..<sources { accumulate(source: j, frame: t, into: w.partialCovariance + j * planeCount * bins) }
            }
        }
        covariance.update(from: workspaces[0].partialCovariance, count: size)
        for w in workspaces.dropFirst() {
            for i in 0..<size { covariance[i] += w.partialCovariance[i] }
        }
        let inverseChannels = 1 / Double(channels)
        for j in 0..<sources {
            let r = covariance + j * planeCount * bins
            for k in 0..<bins {
                var weight = 0.0   // Σ_t v_j = Σ_t Σ_c |y_jc|² / C: the diagonal's sum over C
                for a in 0..<channels { weight += r[a * bins + k] }
                let inverse = 1 / (covarianceEps + weight * inverseChannels)
                for p in 0..<planeCount { r[p * bins + k] *= inverse }
            }
        }
    }

    /// Adds y_j y_jᴴ of frame t to `r` (source j's planes).
    private func accumulate(source j: Int, frame t: Int, into r: UnsafeMutablePointer<Double>) {
        if channels == 2 {
            let (ar, ai) = source(j, 0, frame: t), (br, bi) = source(j, 1, frame: t)
            let r00 = r, r11 = r + bins, r01r = r + 2 * bins, r01i = r + 3 * bins
            for k in 0..<bins {
                let u = Double(ar[k]), w = Double(ai[k]), s = Double(br[k]), q = Double(bi[k])
                r00[k] += u * u + w * w
                r11[k] += s * s + q * q
                r01r[k] += u * s + w * q       // y_0 · conj(y_1)
                r01i[k] += w * s - u * q
            }
            return
        }
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

    // MARK: Step 2: y_j = v_j R_j (Σ_k v_k R_k + ρI)⁻¹ x, frame by frame, in place

    func filter() {
        inParallel { w in
            for t in w.frames {
                if channels == 2 { filterStereo(frame: t, w) } else { filterAnyChannels(frame: t, w) }
            }
        }
    }

    private func filterStereo(frame t: Int, _ w: Workspace) {
        let m = w.mixtureCovariance, a = m, d = m + bins, br = m + 2 * bins, bi = m + 3 * bins
        a.update(repeating: regularization, count: 2 * bins)
        br.update(repeating: 0, count: 2 * bins)
        for j in 0..<sources {
            let (y0r, y0i) = source(j, 0, frame: t), (y1r, y1i) = source(j, 1, frame: t)
            let r = covariance + j * 4 * bins, r00 = r, r11 = r + bins, r01r = r + 2 * bins, r01i = r + 3 * bins
            let v = w.power + j * bins
            for k in 0..<bins {
                let u0 = Double(y0r[k]), w0 = Double(y0i[k]), u1 = Double(y1r[k]), w1 = Double(y1i[k])
                let p = 0.5 * (u0 * u0 + w0 * w0 + u1 * u1 + w1 * w1)
                v[k] = p
                a[k] += p * r00[k]; d[k] += p * r11[k]; br[k] += p * r01r[k]; bi[k] += p * r01i[k]
            }
        }
        solve(frame: t, w)
        let z0r = w.solved, z0i = z0r + bins, z1r = z0r + 2 * bins, z1i = z0r + 3 * bins
        for j in 0..<sources {
            let (y0r, y0i) = source(j, 0, frame: t), (y1r, y1i) = source(j, 1, frame: t)
            let r = covariance + j * 4 * bins, r00 = r, r11 = r + bins, r01r = r + 2 * bins, r01i = r + 3 * bins
            let v = w.power + j * bins
            for k in 0..<bins {
                // [y0; y1] = v [[r00, r01], [conj(r01), r11]] [z0; z1].
                let p = v[k], cr = r01r[k], ci = r01i[k]
                y0r[k] = Float(p * (r00[k] * z0r[k] + cr * z1r[k] - ci * z1i[k]))
                y0i[k] = Float(p * (r00[k] * z0i[k] + cr * z1i[k] + ci * z1r[k]))
                y1r[k] = Float(p * (r11[k] * z1r[k] + cr * z0r[k] + ci * z0i[k]))
                y1i[k] = Float(p * (r11[k] * z1i[k] + cr * z0i[k] - ci * z0r[k]))
            }
        }
    }

    private func filterAnyChannels(frame t: Int, _ w: Workspace) {
        let inverseChannels = 1 / Double(channels)
        // The mixture's model covariance Σ_j v_j R_j + ρI, with v_j from the current estimates.
        w.mixtureCovariance.update(repeating: regularization, count: channels * bins)
        (w.mixtureCovariance + channels * bins).update(repeating: 0, count: (planeCount - channels) * bins)
        for j in 0..<sources {
            let v = w.power + j * bins
            v.update(repeating: 0, count: bins)
            for c in 0..<channels {
                let (re, im) = source(j, c, frame: t)
                for k in 0..<bins {
                    let u = Double(re[k]), s = Double(im[k])
                    v[k] += (u * u + s * s) * inverseChannels
                }
            }
            let r = covariance + j * planeCount * bins
            for p in 0..<planeCount {
                let out = w.mixtureCovariance + p * bins, rp = r + p * bins
                for k in 0..<bins { out[k] += v[k] * rp[k] }
            }
        }
        solve(frame: t, w)
        // y_jc = v_j Σ_b R_j(c, b) z_b.
        let outRe = w.row, outIm = w.row + bins
        for j in 0..<sources {
            let r = covariance + j * planeCount * bins, v = w.power + j * bins
            for c in 0..<channels {
                let diagonal = r + c * bins, zr = w.solved + 2 * c * bins, zi = zr + bins
                for k in 0..<bins {
                    outRe[k] = diagonal[k] * zr[k]
                    outIm[k] = diagonal[k] * zi[k]
                }
                for (p, pair) in pairs.enumerated() where pair.a == c || pair.b == c {
                    // R(c, b) is the stored entry when c < b, its conjugate when c > b.
                    let other = pair.a == c ? pair.b : pair.a, sign: Double = pair.a == c ? 1 : -1
                    let rr = r + (channels + 2 * p) * bins, ri = rr + bins
                    let br = w.solved + 2 * other * bins, bi = br + bins
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

    /// z = C_xx⁻¹ x for every bin of frame t, into the workspace's `solved`.
    private func solve(frame t: Int, _ w: Workspace) {
        let m = w.mixtureCovariance, offset = t * bins
        switch channels {
        case 1:
            // norbert's 1×1 inverse adds ε once more: it is folded into ρ (see WienerFilter).
            let xr = x[0] + offset, xi = x[1] + offset, zr = w.solved, zi = w.solved + bins
            for k in 0..<bins {
                let inverse = 1 / m[k]
                zr[k] = Double(xr[k]) * inverse
                zi[k] = Double(xi[k]) * inverse
            }
        case 2:
            // [[a, b], [b*, d]]⁻¹ = [[d, −b], [−b*, a]] / (ad − |b|²).
            let x0r = x[0] + offset, x0i = x[1] + offset, x1r = x[2] + offset, x1i = x[3] + offset
            let z0r = w.solved, z0i = z0r + bins, z1r = z0r + 2 * bins, z1i = z0r + 3 * bins
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
            for k in 0..<bins { solveSystem(bin: k, offset: offset, w) }
        }
    }

    /// Gauss–Jordan elimination of one bin's C×C Hermitian positive definite system [C_xx | x]
    /// (complex, interleaved re/im, row-major with C + 1 columns); no pivoting is needed for such a matrix.
    private func solveSystem(bin k: Int, offset: Int, _ w: Workspace) {
        let n = channels, width = n + 1, s = w.system, m = w.mixtureCovariance
        func at(_ i: Int, _ j: Int) -> Int { 2 * (i * width + j) }
        for i in 0..<n {
            s[at(i, i)] = m[i * bins + k]; s[at(i, i) + 1] = 0
            s[at(i, n)] = Double(x[2 * i][offset + k]); s[at(i, n) + 1] = Double(x[2 * i + 1][offset + k])
        }
        for (p, pair) in pairs.enumerated() {
            let re = m[(n + 2 * p) * bins + k], im = m[(n + 2 * p + 1) * bins + k]
            s[at(pair.a, pair.b)] = re; s[at(pair.a, pair.b) + 1] = im
            s[at(pair.b, pair.a)] = re; s[at(pair.b, pair.a) + 1] = -im
        }
        for i in 0..<n {
            // Divide row i by its pivot (real and positive in exact arithmetic for such a matrix).
            let pr = s[at(i, i)], pi = s[at(i, i) + 1], norm = 1 / (pr * pr + pi * pi)
            let ir = pr * norm, ii = -pi * norm
            for j in i..<width {
                let u = s[at(i, j)], v = s[at(i, j) + 1]
                s[at(i, j)] = u * ir - v * ii; s[at(i, j) + 1] = u * ii + v * ir
            }
            for r in 0..<n where r != i {
                let fr = s[at(r, i)], fi = s[at(r, i) + 1]
                for j in i..<width {
                    let qr = s[at(i, j)], qi = s[at(i, j) + 1]
                    s[at(r, j)] -= fr * qr - fi * qi
                    s[at(r, j) + 1] -= fr * qi + fi * qr
                }
            }
        }
        for i in 0..<n {
            w.solved[2 * i * bins + k] = s[at(i, n)]
            w.solved[(2 * i + 1) * bins + k] = s[at(i, n) + 1]
        }
    }
}
