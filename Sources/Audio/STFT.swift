import Foundation

/// Short-time Fourier transform and its inverse, on FFTW (single precision).
///
/// ## Framing (pinned; everything else in cnnsep relies on it)
/// With window length `N` (1024), hop `H` (256) and `P = N − H` (768) samples of padding:
/// - The signal `x[0..<L]` is read as if it had `P` zeros before it and zeros after it.
/// - Frame `t` (t = 0, 1, …) covers samples `t·H − P ..< t·H − P + N`, i.e. `t·H − 768 ..< t·H + 256`.
///   Frame 0 covers `−768..<256`, so sample 0 is under frames 0, 1, 2, 3.
/// - `frameCount(samples: L) = (L − 1 + P) / H + 1` (integer division; 0 for L = 0), which is
///   `⌈L/H⌉ + 3` for the default sizes. The last frame is the last one that covers sample L − 1.
/// - Hence every sample n of the song is covered by exactly N/H = 4 frames, `⌊n/H⌋ ... ⌊n/H⌋ + 3`:
///   a full set, so the first and last samples are reconstructed as well as the middle ones.
/// - Frame t: `X_t[k] = Σ_{j<N} w[j] · x[t·H − P + j] · e^{−2πi jk/N}`, k = 0 ..< N/2 + 1 (513 bins),
///   with the periodic Hann window `w[j] = 0.5 − 0.5·cos(2πj/N)`; unnormalized like numpy.fft.rfft.
/// - Inverse: weighted overlap-add, `y[n] = Σ_t w[n + P − t·H] · irfft(X_t)[n + P − t·H] / Σ_t w²[…]`,
///   summing over the frames present (for a full set of frames the denominator is 1.5).
///
/// Frames beyond `frameCount` may be asked for; they hold only zeros. A stretch of frames can be
/// computed from the samples under it alone (`analyze(chunk:startingAt:totalLength:frames:)`), and
/// `OverlapAddSynthesizer` inverts consecutive frames as they come, so a long song can be streamed.
/// The whole-signal functions are these two run over everything: there is one implementation.
///
/// Plans are made once per window length (behind a lock) and shared; an STFT value is cheap to copy
/// and safe to use from several threads at once. The pointer forms (`analyzeFrames`, `overlapAdd`)
/// are the implementation; they work in a caller's buffers with an `STFTWorkspace` per thread, so a
/// streaming caller allocates nothing per frame.
public struct STFT: Sendable {
    public let windowLength: Int
    public let hop: Int
    /// Bins per frame: windowLength/2 + 1.
    public var bins: Int { windowLength / 2 + 1 }
    /// Zeros assumed before sample 0: windowLength − hop.
    public var padding: Int { windowLength - hop }
    /// The periodic Hann window.
    public let window: [Float]
    /// The window with the inverse's normalisation folded in: w[j] / (N · Σ_i w[i]²) over the i ≡ j
    /// (mod H) in 0..<N, i.e. over the frames that overlap sample j of a frame. Every sample of a
    /// signal lies under a full set of frames (see Framing), so this one table replaces dividing
    /// each sample by its summed squared window (0 where that sum is below 1e-8: nothing to divide).
    let synthesisWindow: [Float]
    let fft: RealFFT

    public init(windowLength: Int = 1024, hop: Int = 256) {
        precondition(windowLength >= 2 && windowLength % 2 == 0, "STFT: window length must be even and ≥ 2")
        precondition(hop >= 1 && hop <= windowLength, "STFT: hop must be in 1...windowLength")
        self.windowLength = windowLength
        self.hop = hop
        let w = (0..<windowLength).map { j in
            Float(0.5 - 0.5 * cos(2 * Double.pi * Double(j) / Double(windowLength)))
        }
        window = w
        let squares = (0..<hop).map { r in stride(from: r, to: windowLength, by: hop).reduce(Float(0)) { $0 + w[$1] * w[$1] } }
        synthesisWindow = (0..<windowLength).map { j in
            squares[j % hop] > 1e-8 ? w[j] / (Float(windowLength) * squares[j % hop]) : 0
        }
        fft = RealFFT.shared(size: windowLength)
    }

    /// Scratch for one thread's transforms.
    public func makeWorkspace() -> STFTWorkspace { STFTWorkspace(fft.makeBuffers()) }

    /// Frames needed so that every one of `samples` samples lies under a full set of frames.
    public func frameCount(samples: Int) -> Int {
        precondition(samples >= 0)
        return samples == 0 ? 0 : (samples - 1 + padding) / hop + 1
    }

    /// The samples frame `t` covers (may reach below 0 or past the end, where the signal is zero).
    public func sampleSpan(frame t: Int) -> Range<Int> {
        let start = t * hop - padding
        return start..<(start + windowLength)
    }

    /// The samples of a `totalLength`-sample signal that `frames` read: what a chunk must hold.
    public func samplesNeeded(frames: Range<Int>, totalLength: Int) -> Range<Int> {
        guard !frames.isEmpty else { return 0..<0 }
        let lower = min(max(sampleSpan(frame: frames.lowerBound).lowerBound, 0), totalLength)
        let upper = min(max(sampleSpan(frame: frames.upperBound - 1).upperBound, 0), totalLength)
        return lower..<max(lower, upper)
    }

    /// The frames that overlap-add into `samples` (all of them: those samples are final once these
    /// frames have been added): `⌊a/H⌋ ..< ⌊(b − 1 + P)/H⌋ + 1` for samples a..<b.
    public func framesCovering(samples: Range<Int>) -> Range<Int> {
        guard !samples.isEmpty else { return 0..<0 }
        precondition(samples.lowerBound >= 0)
        let first = (samples.lowerBound + padding - windowLength + hop) / hop
        return max(first, 0)..<((samples.upperBound - 1 + padding) / hop + 1)
    }

    /// All frames of `signal` (`frameCount(samples: signal.count)` of them).
    public func analyze(_ signal: [Float]) -> Spectrum {
        analyze(chunk: signal, startingAt: 0, totalLength: signal.count,
                frames: 0..<frameCount(samples: signal.count))
    }

    /// Only `frames` of `signal`'s STFT; bit-identical to those rows of `analyze(signal)`.
    public func analyze(_ signal: [Float], frames: Range<Int>) -> Spectrum {
        analyze(chunk: signal, startingAt: 0, totalLength: signal.count, frames: frames)
    }

    /// `frames` of the STFT of a `totalLength`-sample signal of which only `chunk` is at hand:
    /// `chunk[i]` is sample `sampleOffset + i`. The chunk must hold `samplesNeeded(frames:totalLength:)`
    /// (more is fine). Bit-identical to the same frames of the whole signal's STFT.
    public func analyze(chunk: [Float], startingAt sampleOffset: Int, totalLength: Int,
                        frames: Range<Int>) -> Spectrum {
        precondition(frames.lowerBound >= 0, "STFT.analyze: negative frame index")
        let needed = samplesNeeded(frames: frames, totalLength: totalLength)
        precondition(needed.isEmpty || (needed.lowerBound >= sampleOffset
                                        && needed.upperBound <= sampleOffset + chunk.count),
                     "STFT.analyze: chunk \(sampleOffset)..<\(sampleOffset + chunk.count) does not hold samples \(needed)")
        let bins = self.bins
        var spectrum = Spectrum(frames: frames.count, bins: bins)
        spectrum.real.withUnsafeMutableBufferPointer { re in
            spectrum.imag.withUnsafeMutableBufferPointer { im in
                (chunk.isEmpty ? [0] : chunk).withUnsafeBufferPointer { x in   // (an empty chunk: no frame reads it)
                    analyzeFrames(frames, samples: x.baseAddress!, startingAt: sampleOffset, totalLength: totalLength,
                                  workspace: makeWorkspace()) { row, spectrum in
                        let base = row * bins
                        for k in 0..<bins {
                            re[base + k] = spectrum[2 * k]
                            im[base + k] = spectrum[2 * k + 1]
                        }
                    }
                }
            }
        }
        return spectrum
    }

    /// `frames` of the STFT of a `totalLength`-sample signal whose samples from `sampleOffset` on are
    /// at `x` (it must hold `samplesNeeded(frames:totalLength:)`): frame `frames.lowerBound + row` is
    /// handed to `store(row, spectrum)` as `bins` interleaved (re, im) pairs in the workspace, valid
    /// until `store` returns.
    public func analyzeFrames(_ frames: Range<Int>, samples x: UnsafePointer<Float>, startingAt sampleOffset: Int,
                              totalLength: Int, workspace: STFTWorkspace,
                              store: (Int, UnsafePointer<Float>) -> Void) {
        precondition(frames.lowerBound >= 0, "STFT.analyze: negative frame index")
        let n = windowLength, buffers = workspace.buffers
        let input = buffers.real
        window.withUnsafeBufferPointer { w in
            for (row, t) in frames.enumerated() {
                let start = t * hop - padding
                // Samples of this frame that exist in the signal; zeros elsewhere.
                let lo = max(0, -start), hi = max(min(n, totalLength - start), lo)
                if lo > 0 { input.update(repeating: 0, count: lo) }
                let from = x + (start - sampleOffset)
                for j in lo..<hi { input[j] = w[j] * from[j] }
                if hi < n { (input + hi).update(repeating: 0, count: n - hi) }
                fft.forward(buffers)
                store(row, UnsafePointer(buffers.complex))
            }
        }
    }

    /// Weighted overlap-add of the inverse transforms of `frames` consecutive frames into `output`:
    /// frame `row` (whose spectrum `fill(row, spectrum)` writes as `bins` interleaved (re, im) pairs
    /// into the workspace) adds its N samples, windowed and normalised (`synthesisWindow`), at
    /// `output[row·H ..< row·H + N]`. Samples are final once every frame over them has been added.
    /// `mode` says what `output` holds already (see `OverlapAddMode`): where nothing is, frames store
    /// rather than add, so a fresh output needs no clearing.
    public func overlapAdd(frames: Int, into output: UnsafeMutablePointer<Float>, mode: OverlapAddMode = .add,
                           workspace: STFTWorkspace, fill: (Int, UnsafeMutablePointer<Float>) -> Void) {
        let n = windowLength, buffers = workspace.buffers
        let signal = buffers.real
        synthesisWindow.withUnsafeBufferPointer { sw in
            let w = sw.baseAddress!
            for row in 0..<frames {
                fill(row, buffers.complex)
                fft.inverse(buffers)
                let out = output + row * hop
                // Samples below `fresh` were reached by the previous frame.
                let fresh = mode.reached(row: row, window: n, hop: hop)
                windowedAdd(signal, window: w, into: out, count: fresh)
                windowedStore(signal, window: w, into: out + fresh, from: fresh, count: n - fresh)
            }
        }
    }

    /// The signal of `length` samples whose STFT is (closest to) `spectrum`, which holds frames 0, 1, ….
    /// Frames needed for a full reconstruction: `frameCount(samples: length)`; samples not reached by
    /// any frame come back as 0.
    public func synthesize(_ spectrum: Spectrum, length: Int) -> [Float] {
        var synthesizer = OverlapAddSynthesizer(stft: self, length: length)
        var signal = synthesizer.add(spectrum)
        signal += synthesizer.finish()
        return signal
    }
}

/// Frames of an STFT, frame-major: bin k of frame t is at index `t * bins + k`.
public struct Spectrum: Equatable, Sendable {
    public let frames: Int
    public let bins: Int
    public var real: [Float]
    public var imag: [Float]

    /// All zeros.
    public init(frames: Int, bins: Int) {
        self.frames = frames
        self.bins = bins
        real = [Float](repeating: 0, count: frames * bins)
        imag = real
    }

    public init(frames: Int, bins: Int, real: [Float], imag: [Float]) {
        precondition(real.count == frames * bins && imag.count == frames * bins,
                     "Spectrum: real and imag must hold frames × bins values")
        self.frames = frames
        self.bins = bins
        self.real = real
        self.imag = imag
    }

    /// From polar form: `magnitude · e^{i·phase}` (how a masked magnitude gets the mixture's phase).
    public init(frames: Int, bins: Int, magnitude: [Float], phase: [Float]) {
        precondition(magnitude.count == frames * bins && phase.count == frames * bins,
                     "Spectrum: magnitude and phase must hold frames × bins values")
        self.frames = frames
        self.bins = bins
        real = zip(magnitude, phase).map { $0 * cos($1) }
        imag = zip(magnitude, phase).map { $0 * sin($1) }
    }

    /// |X|, frame-major.
    public func magnitude() -> [Float] {
        zip(real, imag).map { ($0 * $0 + $1 * $1).squareRoot() }
    }

    /// arg X in (−π, π], frame-major (atan2; 0 where X = 0).
    public func phase() -> [Float] {
        zip(imag, real).map { atan2($0, $1) }
    }

    /// Frames `range` of this spectrum.
    public func frames(_ range: Range<Int>) -> Spectrum {
        precondition(range.lowerBound >= 0 && range.upperBound <= frames)
        let slice = (range.lowerBound * bins)..<(range.upperBound * bins)
        return Spectrum(frames: range.count, bins: bins, real: Array(real[slice]), imag: Array(imag[slice]))
    }
}

/// What an output buffer holds before `STFT.overlapAdd` adds frames to it.
public enum OverlapAddMode: Sendable {
    /// Samples everywhere the frames reach: every frame adds.
    case add
    /// Nothing: each frame stores where no earlier frame of the call reached (the output's first
    /// N + (frames − 1)·H samples are written, none read).
    case start
    /// The frames before the call's first one, whose last began H samples before `output`: as
    /// `start`, but the first frame adds over the N − H samples that frame reached.
    case resume

    /// Samples 0..<reached(…) of frame `row` of a call add; the rest store.
    func reached(row: Int, window n: Int, hop: Int) -> Int {
        switch self {
        case .add: return n
        case .start: return row == 0 ? 0 : max(n - hop, 0)
        case .resume: return max(n - hop, 0)
        }
    }
}
