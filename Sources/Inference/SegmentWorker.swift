import Audio
import Foundation
import Network

/// What one segment of a song computes. Segments hand back consecutive sample ranges; each one
/// recomputes the frames and windows it shares with its neighbours, so it depends on nothing else.
struct SegmentPlan {
    /// The samples it hands back.
    let output: Range<Int>
    /// The frames whose masked spectra overlap-add into those samples (all of them).
    let maskFrames: Range<Int>
    /// Start frames of the network windows over `maskFrames`, in order.
    let windows: [Int]
    /// The frames the windows and `maskFrames` read (within the song).
    let context: Range<Int>
    /// The samples the STFT of `context` reads.
    let samples: Range<Int>
}

/// A growable raw buffer (reallocated, contents dropped, only when asked for more than it holds).
final class FloatBuffer {
    private(set) var pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private var capacity = 1
    /// At least `count` floats (contents undefined).
    @discardableResult
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = .allocate(capacity: count)
        }
        return pointer
    }
    deinit { pointer.deallocate() }
}

/// One thread's share of `Separator.separate`: the whole chain for one segment at a time, in buffers
/// allocated once and reused — STFT of every channel, mono magnitudes, network windows whose soft
/// masks are crossfaded straight into the segment's masks, masked inverse STFTs, the remainder stem.
final class SegmentWorker {
    private let stft: STFT
    private let frames: Int, bins: Int, hop: Int, batchSize: Int
    private let channels: Int
    private let epsilon: Float, inputScale: Float
    /// Crossfade weight of each position in a window.
    private let weights: [Float]
    private let engine: NetworkEngine
    private let workspace: STFTWorkspace
    /// Per channel: the context frames' spectra, `bins` interleaved (re, im) pairs per frame.
    private let spectra: [FloatBuffer]
    /// The context frames' mono magnitudes, times the input scale (what the network reads).
    private let mono = FloatBuffer()
    /// Per source: the blended masks of the mask frames.
    private let masks = (0..<4).map { _ in FloatBuffer() }
    /// Per mask frame: 1 / the sum of the crossfade weights over it.
    private let inverseWeightSums = FloatBuffer()
    /// Per (source, channel), index source · channels + channel: the overlap-added mask frames.
    private let signals: [FloatBuffer]
    /// The post-filter (nil: none), and its mask frames' mixture per channel and estimates per
    /// (source, channel), kept between segments of the same length.
    private let wiener: WienerFilter?
    private var wienerMixture: [Spectrum] = []
    private var wienerEstimates: [[Spectrum]] = []

    /// Frames per block of the inverse STFTs (`synthesize`).
    static let synthesisBlock = 16

    init(_ separator: Separator, channels: Int) {
        let c = separator.config
        stft = separator.stft
        (frames, bins, hop) = (c.model.frames, c.model.bins, separator.windowHop)
        batchSize = max(1, separator.batchSize)
        self.channels = channels
        (epsilon, inputScale) = (c.model.maskEpsilon, c.inputScale)
        weights = (0..<c.model.frames).map(separator.crossfadeWeight)
        engine = NetworkEngine(network: separator.network, capacity: batchSize, threads: 1)
        workspace = stft.makeWorkspace()
        spectra = (0..<channels).map { _ in FloatBuffer() }
        signals = (0..<4 * channels).map { _ in FloatBuffer() }
        wiener = separator.wienerIterations > 0 ? WienerFilter(iterations: separator.wienerIterations) : nil
    }

    /// Whether this worker was made for `separator`'s current settings and `channels` channels.
    func fits(_ separator: Separator, channels: Int) -> Bool {
        channels == self.channels && hop == separator.windowHop && batchSize == max(1, separator.batchSize)
            && engine.network === separator.network
            && weights == (0..<frames).map(separator.crossfadeWeight)
            && (wiener?.iterations ?? 0) == separator.wienerIterations
    }

    /// The four stems' samples `plan.output` (per source, per channel) from `chunk`, the channels'
    /// samples `plan.samples` of a `length`-sample signal of `totalFrames` frames, written into
    /// `stems` (in place where its arrays have the right size and no one else holds them, so a
    /// reused buffer brings no fresh pages).
    func separate(_ plan: SegmentPlan, chunk: [[Float]], length: Int, totalFrames: Int, remainder: Int?,
                  into stems: inout [[[Float]]], lap: (ReferenceWritableKeyPath<SeparationTimings, Double>) -> Void) {
        if stems.count != 4 || stems[0].count != channels {
            stems = [[[Float]]](repeating: [[Float]](repeating: [], count: channels), count: 4)
        }
        guard !plan.maskFrames.isEmpty else {
            for s in 0..<4 { for c in 0..<channels { stems[s][c] = [] } }
            return
        }
        let context = plan.context, maskFrames = plan.maskFrames
        analyze(chunk, plan: plan, length: length)
        lap(\.stft)
        let synthesized = (0..<4).filter { $0 != remainder }
        // The post-filter models every source, the remainder's too.
        let blended = wiener == nil ? synthesized : Array(0..<4)
        let sources = (0..<4).map { blended.contains($0) ? masks[$0].reserve(maskFrames.count * bins) : nil }
        blendMasks(mono: UnsafePointer(mono.pointer), monoFrames: context, windows: plan.windows, maskFrames: maskFrames,
                   totalFrames: totalFrames, into: (sources[0], sources[1], sources[2], sources[3]))
        lap(\.network)
        let streams = synthesized.flatMap { s in (0..<channels).map { c in (s, c) } }
        if wiener != nil {
            refine(maskFrames: maskFrames, context: context)
            lap(\.wiener)
            let refined = wienerEstimates
            synthesize(streams, frames: maskFrames.count) { stream, row, z in
                let (s, c) = stream, y = refined[s][c], at = row * bins
                y.real.withUnsafeBufferPointer { re in
                    y.imag.withUnsafeBufferPointer { im in
                        for k in 0..<bins { z[2 * k] = re[at + k]; z[2 * k + 1] = im[at + k] }
                    }
                }
            }
        } else {
            synthesize(streams, frames: maskFrames.count) { stream, row, z in
                let (s, c) = stream
                let x = UnsafePointer(spectra[c].pointer) + (maskFrames.lowerBound + row - context.lowerBound) * 2 * bins
                applyMask(UnsafePointer(masks[s].pointer) + row * bins, to: x, into: z, bins: bins)
            }
        }
        // Samples plan.output of the overlap-added frames, which begin at sample maskFrames.lowerBound·H − P.
        let offset = plan.output.lowerBound - (maskFrames.lowerBound * stft.hop - stft.padding)
        let count = plan.output.count
        /// Writes stem s, channel c through `body`, in place unless the last consumer kept the array.
        func write(_ s: Int, _ c: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
            if stems[s][c].count != count { stems[s][c] = [Float](repeating: 0, count: count) }
            if count > 0 { stems[s][c].withUnsafeMutableBufferPointer { body($0.baseAddress!) } }
        }
        for s in synthesized {
            for c in 0..<channels { write(s, c) { $0.update(from: signals[s * channels + c].pointer + offset, count: count) } }
        }
        if let r = remainder {
            let from = plan.output.lowerBound - plan.samples.lowerBound
            for c in 0..<channels {
                chunk[c].withUnsafeBufferPointer { x in
                    write(r, c) { out in
                        out.update(from: x.baseAddress! + from, count: count)
                        for s in synthesized {
                            let y = signals[s * channels + c].pointer + offset
                            for i in 0..<count { out[i] -= y[i] }
                        }
                    }
                }
            }
        }
        lap(\.istft)
    }

    /// The post-filter on the mask frames: each source's masked spectrum of each channel (its blended
    /// mask times the channel's mixture spectrum), refined by `wiener` against the mixture, into
    /// `wienerEstimates`. The filter estimates each source's spatial covariance from the frames it
    /// is given, here the segment's (norbert's per-song estimate differs by at most 0.04 dB, BENCHMARKS.md).
    private func refine(maskFrames: Range<Int>, context: Range<Int>) {
        guard let wiener else { return }
        let n = maskFrames.count, bins = self.bins
        // Taken out of the properties while they are written (a mutable view of one property's
        // element during another would overlap), and put back so the next segment reuses them.
        var mixture = wienerMixture, estimates = wienerEstimates
        (wienerMixture, wienerEstimates) = ([], [])
        if mixture.count != channels || mixture.first?.frames != n {
            mixture = (0..<channels).map { _ in Spectrum(frames: n, bins: bins) }
            estimates = (0..<4).map { _ in (0..<channels).map { _ in Spectrum(frames: n, bins: bins) } }
        }
        for c in 0..<channels {
            let x = UnsafePointer(spectra[c].pointer) + (maskFrames.lowerBound - context.lowerBound) * 2 * bins
            // Real and imaginary parts one after the other: two mutable views of one array's
            // elements at once would overlap.
            mixture[c].real.withUnsafeMutableBufferPointer { y in for i in 0..<n * bins { y[i] = x[2 * i] } }
            mixture[c].imag.withUnsafeMutableBufferPointer { y in for i in 0..<n * bins { y[i] = x[2 * i + 1] } }
            for s in 0..<4 {
                let m = UnsafePointer(masks[s].pointer)
                estimates[s][c].real.withUnsafeMutableBufferPointer { y in for i in 0..<n * bins { y[i] = m[i] * x[2 * i] } }
                estimates[s][c].imag.withUnsafeMutableBufferPointer { y in for i in 0..<n * bins { y[i] = m[i] * x[2 * i + 1] } }
            }
        }
        wiener.refine(&estimates, mixture: mixture)
        (wienerMixture, wienerEstimates) = (mixture, estimates)
    }

    /// Inverse STFTs of `frames` consecutive frames for each (source, channel) stream into its
    /// `signals` buffer, two streams per complex FFT; `fill(stream, row, z)` writes frame `row`'s
    /// spectrum. Blocks of frames outermost, so that each block's mixture spectra, read by every
    /// stream, stay in the core's cache.
    private func synthesize(_ streams: [(Int, Int)], frames: Int, fill: ((Int, Int), Int, UnsafeMutablePointer<Float>) -> Void) {
        let span = (frames - 1) * stft.hop + stft.windowLength
        func output(_ stream: (Int, Int)) -> UnsafeMutablePointer<Float> { signals[stream.0 * channels + stream.1].reserve(span) }
        for block in stride(from: 0, to: frames, by: Self.synthesisBlock) {
            let count = min(Self.synthesisBlock, frames - block), mode: OverlapAddMode = block == 0 ? .start : .resume
            let at = block * stft.hop
            for first in stride(from: 0, to: streams.count, by: 2) {
                let a = streams[first]
                if first + 1 < streams.count {
                    let b = streams[first + 1]
                    stft.overlapAddPair(frames: count, into: output(a) + at, output(b) + at, mode: mode, workspace: workspace) { row, za, zb in
                        fill(a, block + row, za)
                        fill(b, block + row, zb)
                    }
                } else {
                    stft.overlapAdd(frames: count, into: output(a) + at, mode: mode, workspace: workspace) { row, z in
                        fill(a, block + row, z)
                    }
                }
            }
        }
    }

    /// STFT of every channel over `plan.context` into `spectra`, and the mono magnitudes into `mono`.
    private func analyze(_ chunk: [[Float]], plan: SegmentPlan, length: Int) {
        let context = plan.context, bins = self.bins
        for c in 0..<channels {
            let out = spectra[c].reserve(context.count * 2 * bins)
            (chunk[c].isEmpty ? [0] : chunk[c]).withUnsafeBufferPointer { x in   // (empty: no frame reads it)
                stft.analyzeFrames(context, samples: x.baseAddress!, startingAt: plan.samples.lowerBound, totalLength: length,
                                   workspace: workspace) { row, z in
                    (out + row * 2 * bins).update(from: z, count: 2 * bins)
                }
            }
        }
        let m = mono.reserve(context.count * bins)
        var rows = spectra.map { UnsafePointer($0.pointer) }
        for row in 0..<context.count {
            meanMagnitude(rows, bins: bins, scale: inputScale, into: m + row * bins)
            for c in rows.indices { rows[c] += 2 * bins }
        }
    }

    /// The network over `windows` (start frames) of the scaled mono magnitudes `mono` (frames
    /// `monoFrames`; frames at or past `totalFrames` read as zero), their soft masks crossfaded into
    /// the masks of `maskFrames` (frame-major, `bins` per frame) for each source whose pointer is given.
    private func blendMasks(mono: UnsafePointer<Float>, monoFrames: Range<Int>, windows: [Int], maskFrames: Range<Int>,
                            totalFrames: Int, into destinations: Four<UnsafeMutablePointer<Float>?>) {
        let t = frames, bins = self.bins
        // Each mask frame's weight sum, so that each window adds its normalised share.
        let sums = inverseWeightSums.reserve(maskFrames.count)
        sums.update(repeating: 0, count: maskFrames.count)
        for s in windows {
            for i in 0..<t where maskFrames.contains(s + i) { sums[s + i - maskFrames.lowerBound] += weights[i] }
        }
        for f in 0..<maskFrames.count { sums[f] = 1 / sums[f] }
        let outputs = engine.outputs
        let o = (UnsafePointer(outputs[0]), UnsafePointer(outputs[1]), UnsafePointer(outputs[2]), UnsafePointer(outputs[3]))
        var reached = maskFrames.lowerBound   // mask frames below this hold some window's share already
        for batchStart in stride(from: 0, to: windows.count, by: batchSize) {
            let batch = windows[batchStart..<min(batchStart + batchSize, windows.count)]
            for (b, s) in batch.enumerated() {
                let input = engine.input + b * t * bins
                let available = max(0, min(t, totalFrames - s))
                input.update(from: mono + (s - monoFrames.lowerBound) * bins, count: available * bins)
                (input + available * bins).update(repeating: 0, count: (t - available) * bins)
            }
            engine.forward(batch: batch.count)
            for (b, s) in batch.enumerated() {
                for i in 0..<t where maskFrames.contains(s + i) {
                    let row = s + i - maskFrames.lowerBound, from = (b * t + i) * bins, to = row * bins
                    weightedSoftMasks(outputs: (o.0 + from, o.1 + from, o.2 + from, o.3 + from), count: bins, epsilon: epsilon,
                                      weight: weights[i] * sums[row],
                                      into: (destinations.0.map { $0 + to }, destinations.1.map { $0 + to },
                                             destinations.2.map { $0 + to }, destinations.3.map { $0 + to }),
                                      add: s + i < reached)
                }
                reached = max(reached, s + t)
            }
        }
    }

    /// The four blended masks of a whole stretch of mono magnitudes (unscaled), `frames` × bins each.
    func masks(magnitudes: [Float], frames count: Int, scale: Float) -> [[Float]] {
        guard count > 0 else { return [[Float]](repeating: [], count: 4) }
        let scaled = scale == 1 ? magnitudes : magnitudes.map { $0 * scale }
        let windows = Audio.windowStarts(frames: count, length: frames, hop: hop)
        let pointers = (0..<4).map { masks[$0].reserve(count * bins) }
        scaled.withUnsafeBufferPointer { m in
            blendMasks(mono: m.baseAddress!, monoFrames: 0..<count, windows: windows, maskFrames: 0..<count, totalFrames: count,
                       into: (pointers[0], pointers[1], pointers[2], pointers[3]))
        }
        return pointers.map { Array(UnsafeBufferPointer(start: $0, count: count * bins)) }
    }
}
