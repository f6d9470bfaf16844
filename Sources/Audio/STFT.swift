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
/// and safe to use from several threads at once.
public struct STFT: Sendable {
    public let windowLength: Int
    public let hop: Int
    /// Bins per frame: windowLength/2 + 1.
    public var bins: Int { windowLength / 2 + 1 }
    /// Zeros assumed before sample 0: windowLength − hop.
    public var padding: Int { windowLength - hop }
    /// The periodic Hann window.
    public let window: [Float]
    let fft: RealFFT

    public init(windowLength: Int = 1024, hop: Int = 256) {
        precondition(windowLength >= 2 && windowLength % 2 == 0, "STFT: window length must be even and ≥ 2")
        precondition(hop >= 1 && hop <= windowLength, "STFT: hop must be in 1...windowLength")
        self.windowLength = windowLength
        self.hop = hop
        window = (0..<windowLength).map { j in
            Float(0.5 - 0.5 * cos(2 * Double.pi * Double(j) / Double(windowLength)))
        }
        fft = RealFFT.shared(size: windowLength)
    }

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
        let n = windowLength, bins = self.bins
        var spectrum = Spectrum(frames: frames.count, bins: bins)
        let buffers = fft.makeBuffers()
        let input = buffers.real, output = buffers.complex
        chunk.withUnsafeBufferPointer { x in
            window.withUnsafeBufferPointer { w in
                spectrum.real.withUnsafeMutableBufferPointer { re in
                    spectrum.imag.withUnsafeMutableBufferPointer { im in
                        for (row, t) in frames.enumerated() {
                            let start = t * hop - padding
                            // Samples of this frame that exist in the signal; zeros elsewhere.
                            let lo = max(0, -start), hi = min(n, totalLength - start)
                            for j in 0..<n { input[j] = 0 }
                            if lo < hi {
                                for j in lo..<hi { input[j] = w[j] * x[start + j - sampleOffset] }
                            }
                            fft.forward(buffers)
                            let base = row * bins
                            for k in 0..<bins {
                                re[base + k] = output[2 * k]
                                im[base + k] = output[2 * k + 1]
                            }
                        }
                    }
                }
            }
        }
        return spectrum
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

/// Streaming inverse STFT: takes frames 0, 1, 2, … in order (any number per call) and hands back the
/// samples that no later frame can change, in order, so a long song can be resynthesized piece by piece
/// with memory for about one window. Concatenating everything `add` returns, then `finish()`, gives
/// exactly `STFT.synthesize(allFrames, length:)` (which is this type run once).
///
/// After frames 0..<t have been added, samples `0 ..< min(length, t·H − P)` are final.
public struct OverlapAddSynthesizer {
    public let stft: STFT
    /// Samples in the whole signal; samples past it are dropped.
    public let length: Int
    /// Frames added so far (the next frame's index).
    public private(set) var framesAdded = 0
    /// Samples handed back so far (the next sample's index).
    public private(set) var samplesEmitted = 0

    /// Padded-signal index of `numerator[0]` (padded index = sample index + P).
    private var bufferStart = 0
    private var numerator: [Float] = []
    private var weight: [Float] = []
    private let buffers: RealFFT.Buffers

    public init(stft: STFT, length: Int) {
        precondition(length >= 0)
        self.stft = stft
        self.length = length
        buffers = stft.fft.makeBuffers()
    }

    /// Adds the frames of `spectrum` (the next `spectrum.frames` frames) and returns the samples that
    /// became final.
    public mutating func add(_ spectrum: Spectrum) -> [Float] {
        precondition(spectrum.bins == stft.bins, "OverlapAddSynthesizer: \(spectrum.bins) bins, expected \(stft.bins)")
        let n = stft.windowLength, hop = stft.hop, bins = stft.bins
        let end = (framesAdded + spectrum.frames - 1) * hop + n - bufferStart
        if numerator.count < end {
            numerator += [Float](repeating: 0, count: end - numerator.count)
            weight += [Float](repeating: 0, count: end - weight.count)
        }
        let scale = 1 / Float(n)
        let input = buffers.complex, output = buffers.real
        spectrum.real.withUnsafeBufferPointer { re in
            spectrum.imag.withUnsafeBufferPointer { im in
                stft.window.withUnsafeBufferPointer { w in
                    numerator.withUnsafeMutableBufferPointer { num in
                        weight.withUnsafeMutableBufferPointer { wsum in
                            for row in 0..<spectrum.frames {
                                let base = row * bins
                                for k in 0..<bins {
                                    input[2 * k] = re[base + k]
                                    input[2 * k + 1] = im[base + k]
                                }
                                stft.fft.inverse(buffers)
                                let offset = (framesAdded + row) * hop - bufferStart
                                for j in 0..<n {
                                    num[offset + j] += w[j] * output[j] * scale
                                    wsum[offset + j] += w[j] * w[j]
                                }
                            }
                        }
                    }
                }
            }
        }
        framesAdded += spectrum.frames
        return emit(upTo: framesAdded * hop - stft.padding)
    }

    /// The remaining samples up to `length` (those no frame reached are 0). Call once, after the last frame.
    public mutating func finish() -> [Float] { emit(upTo: length) }

    /// Hands back samples samplesEmitted..<min(limit, length) and forgets what lies before them.
    private mutating func emit(upTo limit: Int) -> [Float] {
        let stop = min(limit, length)
        guard stop > samplesEmitted else { return [] }
        let padding = stft.padding
        var out = [Float](repeating: 0, count: stop - samplesEmitted)
        for i in 0..<out.count {
            let index = samplesEmitted + i + padding - bufferStart
            if index < numerator.count, weight[index] > 1e-8 { out[i] = numerator[index] / weight[index] }
        }
        samplesEmitted = stop
        // Drop everything before the next sample to emit.
        let drop = min(samplesEmitted + padding - bufferStart, numerator.count)
        if drop > 0 {
            numerator.removeFirst(drop)
            weight.removeFirst(drop)
            bufferStart += drop
        }
        return out
    }
}
