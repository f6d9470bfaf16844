import Foundation

// The inverse STFT's overlap-add kernels, the two-signal inverse and the streaming synthesizer.

extension STFT {
    /// `overlapAdd` of two signals at once: `fill(row, a, b)` writes frame `row` of each as `bins`
    /// interleaved (re, im) pairs into `a` and `b`; both go through one complex inverse FFT of
    /// A + i·B (Hermitian-extended; imaginary parts of DC and Nyquist ignored, as the real inverse
    /// does), whose real part is the first signal's frame and imaginary part the second's, since
    /// both are real. One complex FFT of size N costs less than two real inverses here
    /// (FFTW_ESTIMATE's c2r plan is the slow one: BENCHMARKS.md, Separation).
    public func overlapAddPair(frames: Int, into first: UnsafeMutablePointer<Float>, _ second: UnsafeMutablePointer<Float>,
                               mode: OverlapAddMode = .add, workspace: STFTWorkspace,
                               fill: (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let n = windowLength, half = n / 2, buffers = workspace.buffers
        let a = buffers.complex, b = buffers.second
        let z = UnsafeMutableRawPointer(buffers.pairIn).assumingMemoryBound(to: Float.self)
        let y = UnsafeMutableRawPointer(buffers.pairOut).assumingMemoryBound(to: Float.self)
        synthesisWindow.withUnsafeBufferPointer { sw in
            let w = sw.baseAddress!
            for row in 0..<frames {
                fill(row, a, b)
                hermitianPair(a, b, into: z, half: half)
                fft.complexInverse(buffers)
                let (p, q) = (first + row * hop, second + row * hop)
                let fresh = mode.reached(row: row, window: n, hop: hop)
                windowedAddPair(y, window: w, into: p, q, count: fresh)
                windowedStorePair(y, window: w, into: p, q, from: fresh, to: n)
            }
        }
    }
}

/// out[j] += w[j] · x[j] for j < count, eight at a time.
@inline(__always) func windowedAdd(_ x: UnsafePointer<Float>, window w: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
    var j = 0
    while j + 8 <= count { store8(load8(out + j) + load8(w + j) * load8(x + j), out + j); j += 8 }
    while j < count { out[j] += w[j] * x[j]; j += 1 }
}

/// out[j − from] = w[j] · x[j] for j in from..<from + count.
@inline(__always) func windowedStore(_ x: UnsafePointer<Float>, window w: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                                     from: Int, count: Int) {
    var j = 0
    while j + 8 <= count { store8(load8(w + from + j) * load8(x + from + j), out + j); j += 8 }
    while j < count { out[j] = w[from + j] * x[from + j]; j += 1 }
}

/// p[j] += w[j] · y[2j], q[j] += w[j] · y[2j + 1] for j < count (y: interleaved complex samples).
@inline(__always) func windowedAddPair(_ y: UnsafePointer<Float>, window w: UnsafePointer<Float>,
                                       into p: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<Float>, count: Int) {
    var j = 0
    while j + 8 <= count {
        let (v, wj) = (load16(y + 2 * j), load8(w + j))
        store8(load8(p + j) + wj * v.evenHalf, p + j)
        store8(load8(q + j) + wj * v.oddHalf, q + j)
        j += 8
    }
    while j < count { p[j] += w[j] * y[2 * j]; q[j] += w[j] * y[2 * j + 1]; j += 1 }
}

/// p[j] = w[j] · y[2j], q[j] = w[j] · y[2j + 1] for j in from..<to.
@inline(__always) func windowedStorePair(_ y: UnsafePointer<Float>, window w: UnsafePointer<Float>,
                                         into p: UnsafeMutablePointer<Float>, _ q: UnsafeMutablePointer<Float>, from: Int, to: Int) {
    var j = from
    while j + 8 <= to {
        let (v, wj) = (load16(y + 2 * j), load8(w + j))
        store8(wj * v.evenHalf, p + j)
        store8(wj * v.oddHalf, q + j)
        j += 8
    }
    while j < to { p[j] = w[j] * y[2 * j]; q[j] = w[j] * y[2 * j + 1]; j += 1 }
}

/// The full spectrum Z of a + i·b from the half spectra A, B of two real signals (interleaved, k = 0...half):
/// Z[k] = A[k] + i·B[k] and Z[N−k] = conj(A[k]) + i·conj(B[k]); at DC and Nyquist only the real parts count.
@inline(__always) func hermitianPair(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>, half: Int) {
    let n = 2 * half
    z[0] = a[0]; z[1] = b[0]
    z[2 * half] = a[2 * half]; z[2 * half + 1] = b[2 * half]
    let minusPlus = Float8(-1, 1, -1, 1, -1, 1, -1, 1), plusMinus = -minusPlus
    var k = 1
    // Four bins at a time: (ar − bi, ai + br) at k, (ar + bi, br − ai) at N − k (stored in reverse order).
    while k + 4 <= half {
        let (va, vb) = (load8(a + 2 * k), load8(b + 2 * k))
        let swapped = Float8(vb[1], vb[0], vb[3], vb[2], vb[5], vb[4], vb[7], vb[6])
        store8(va + minusPlus * swapped, z + 2 * k)
        let mirrored = plusMinus * va + swapped
        store8(Float8(mirrored[6], mirrored[7], mirrored[4], mirrored[5], mirrored[2], mirrored[3], mirrored[0], mirrored[1]),
               z + 2 * (n - k - 3))
        k += 4
    }
    while k < half {
        let (ar, ai, br, bi) = (a[2 * k], a[2 * k + 1], b[2 * k], b[2 * k + 1])
        z[2 * k] = ar - bi; z[2 * k + 1] = ai + br
        z[2 * (n - k)] = ar + bi; z[2 * (n - k) + 1] = br - ai
        k += 1
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

    /// Padded-signal index of `pending[0]` (padded index = sample index + P).
    private var bufferStart = 0
    /// Overlap-added samples not yet handed back (normalised: final once all their frames are in).
    private var pending: [Float] = []
    private let workspace: STFTWorkspace

    public init(stft: STFT, length: Int) {
        precondition(length >= 0)
        self.stft = stft
        self.length = length
        workspace = stft.makeWorkspace()
    }

    /// Adds the frames of `spectrum` (the next `spectrum.frames` frames) and returns the samples that
    /// became final.
    public mutating func add(_ spectrum: Spectrum) -> [Float] {
        precondition(spectrum.bins == stft.bins, "OverlapAddSynthesizer: \(spectrum.bins) bins, expected \(stft.bins)")
        guard spectrum.frames > 0 else { return emit(upTo: framesAdded * stft.hop - stft.padding) }
        let hop = stft.hop, bins = stft.bins
        let end = (framesAdded + spectrum.frames - 1) * hop + stft.windowLength - bufferStart
        if pending.count < end { pending += [Float](repeating: 0, count: end - pending.count) }
        let offset = framesAdded * hop - bufferStart
        spectrum.real.withUnsafeBufferPointer { re in
            spectrum.imag.withUnsafeBufferPointer { im in
                pending.withUnsafeMutableBufferPointer { out in
                    stft.overlapAdd(frames: spectrum.frames, into: out.baseAddress! + offset, workspace: workspace) { row, z in
                        let base = row * bins
                        for k in 0..<bins {
                            z[2 * k] = re[base + k]
                            z[2 * k + 1] = im[base + k]
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
        let first = samplesEmitted + stft.padding - bufferStart
        let available = max(0, min(stop - samplesEmitted, pending.count - first))
        var out = Array(pending[first..<(first + available)])
        if out.count < stop - samplesEmitted { out += [Float](repeating: 0, count: stop - samplesEmitted - out.count) }
        samplesEmitted = stop
        // Drop everything before the next sample to emit.
        let drop = min(samplesEmitted + stft.padding - bufferStart, pending.count)
        if drop > 0 {
            pending.removeFirst(drop)
            bufferStart += drop
        }
        return out
    }
}

/// Scratch buffers for one thread's transforms (`STFT.makeWorkspace`); not to be shared between threads.
public final class STFTWorkspace {
    let buffers: RealFFT.Buffers
    init(_ buffers: RealFFT.Buffers) { self.buffers = buffers }
}
