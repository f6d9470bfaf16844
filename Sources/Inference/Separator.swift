import Audio
import Autodiff
import Configuration
import Foundation
import Network
import Support

/// Turns a trained network into a separator: mono magnitudes → blended soft masks → masked STFT of
/// each channel → inverse STFT, segment by segment so memory does not grow with the song.
///
/// Masks: the song's frames are covered by windows of T frames whose starts move by `windowHop`
/// (default T − 5: neighbours overlap by 5 frames); the last window reaches past the end and sees
/// zero frames there, so the tail is never dropped. Where windows overlap, their masks are blended
/// with linear crossfade weights (a trapezoid over each window that rises and falls across the
/// overlap), normalised to sum to 1 per frame.
public final class Separator {
    public let network: ChandnaNetwork
    public let config: Config
    public let stft: STFT
    /// Frames between the starts of consecutive network windows.
    public var windowHop: Int
    /// Windows per network call.
    public var batchSize = 64
    /// Frames resynthesised per segment (bounds memory; a few seconds of audio).
    public var segmentFrames = 2048
    /// Threads for the network's decoders and for the per-channel STFTs and per-stem inverse STFTs.
    public var threads = min(2, ProcessInfo.processInfo.activeProcessorCount)
    /// When set, `separate` adds the seconds it spends in each phase here (benchmarks).
    public var timings: SeparationTimings?
    private var engine: NetworkEngine?
    private let engineLock = NSLock()

    public init(network: ChandnaNetwork, config: Config) {
        self.network = network
        self.config = config
        stft = STFT(windowLength: config.features.windowLength, hop: config.features.hop)
        windowHop = max(1, config.model.frames - 5)
    }

    /// A separator from a checkpoint (its stored config, or `fallback` for a bare weights file).
    public convenience init(checkpoint: URL, fallback: Config = Config()) throws {
        let model = try TrainedModel.load(checkpoint, fallback: fallback)
        self.init(network: model.network, config: model.config)
    }

    // MARK: Masks

    /// Start frames of the network windows covering `frames` frames.
    func windowStarts(frames: Int) -> [Int] {
        Audio.windowStarts(frames: frames, length: config.model.frames, hop: windowHop)
    }

    /// Crossfade weight of position i in a window: rises over the overlap, flat, then falls.
    func crossfade(_ i: Int) -> Float {
        let t = config.model.frames
        let ramp = Float(max(t - windowHop, 0) + 1)
        return min(1, Float(i + 1) / ramp, Float(t - i) / ramp)
    }

    /// The four soft masks (frame-major, `bins` per frame) for frames `range` of a song with
    /// `totalFrames` frames. `magnitudes(r)` gives the mono mixture's magnitudes for frames `r`
    /// (within 0..<totalFrames), unscaled.
    func masks(for range: Range<Int>, totalFrames: Int, magnitudes: (Range<Int>) throws -> [Float]) rethrows -> [[Float]] {
        let t = config.model.frames, bins = config.model.bins
        let starts = windowStarts(frames: totalFrames).filter { $0 < range.upperBound && $0 + t > range.lowerBound }
        var blended = [[Float]](repeating: [Float](repeating: 0, count: range.count * bins), count: 4)
        var weights = [Float](repeating: 0, count: range.count)
        guard let first = starts.first, let last = starts.last else { return blended }
        let available = first..<min(last + t, totalFrames)
        let known = try magnitudes(available)
        let scale = config.inputScale
        let engine = self.engine(capacity: min(batchSize, starts.count))
        var windowMasks = [[Float]](repeating: [Float](repeating: 0, count: engine.capacity * t * bins), count: 4)
        for batchStart in stride(from: 0, to: starts.count, by: batchSize) {
            let batch = starts[batchStart..<min(batchStart + batchSize, starts.count)]
            let input = engine.input
            known.withUnsafeBufferPointer { kn in
                input.update(repeating: 0, count: batch.count * t * bins)
                for (b, s) in batch.enumerated() {
                    for f in s..<min(s + t, totalFrames) {
                        let from = kn.baseAddress! + (f - available.lowerBound) * bins, to = input + (b * t + f - s) * bins
                        if scale == 1 { to.update(from: from, count: bins) } else { for k in 0..<bins { to[k] = from[k] * scale } }
                    }
                }
            }
            engine.forward(batch: batch.count)
            withMutablePointers4(&windowMasks) { engine.masks(batch: batch.count, into: $0) }
            for (b, s) in batch.enumerated() {
                for i in 0..<t where range.contains(s + i) {
                    let w = crossfade(i), row = s + i - range.lowerBound
                    weights[row] += w
                    for source in 0..<4 {
                        windowMasks[source].withUnsafeBufferPointer { m in
                            blended[source].withUnsafeMutableBufferPointer { out in
                                let from = m.baseAddress! + (b * t + i) * bins, to = out.baseAddress! + row * bins
                                for k in 0..<bins { to[k] += w * from[k] }
                            }
                        }
                    }
                }
            }
        }
        for source in 0..<4 {
            blended[source].withUnsafeMutableBufferPointer { out in
                for row in 0..<range.count where weights[row] > 0 {
                    let inverse = 1 / weights[row], p = out.baseAddress! + row * bins
                    for k in 0..<bins { p[k] *= inverse }
                }
            }
        }
        return blended
    }

    /// The preallocated network engine (kept between calls; made again for a larger batch).
    private func engine(capacity: Int) -> NetworkEngine {
        engineLock.lock()
        defer { engineLock.unlock() }
        if let e = engine, e.capacity >= capacity { return e }
        let e = NetworkEngine(network: network, capacity: capacity, threads: threads)
        engine = e
        return e
    }

    /// Masks for a whole stretch of mono magnitudes (`frames` × bins, frame-major), e.g. to plot them.
    public func masks(magnitudes: [Float], frames: Int) throws -> [[Float]] {
        let bins = config.model.bins
        guard magnitudes.count == frames * bins else {
            throw CNNSepError("masks: expected \(frames) × \(bins) magnitudes, got \(magnitudes.count) values")
        }
        return masks(for: 0..<frames, totalFrames: frames) { r in Array(magnitudes[r.lowerBound * bins..<r.upperBound * bins]) }
    }

    // MARK: Streaming separation

    /// Separates a signal of `length` samples per channel at the model's rate, reading it through
    /// `read(range)` (channels' samples for a sample range within 0..<length) and handing the stems
    /// to `emit` in order (per source, per channel), a segment at a time.
    ///
    /// With `remainder` (a source index), that source is not resynthesised from its mask but is the
    /// input minus the other three stems, so the four stems add up to the input exactly (wherever the
    /// decoders are all silent too) and one inverse STFT in four is saved. METHOD.md's "other" is
    /// by definition what the other three leave.
    public func separate(length: Int, channelCount: Int,
                         read: (Range<Int>) throws -> [[Float]],
                         emit: ([[[Float]]]) throws -> Void,
                         remainder: Int? = nil,
                         progress: ((Int, Int) -> Void)? = nil) throws {
        let totalFrames = stft.frameCount(samples: length)
        let bins = stft.bins
        // One synthesizer per (source, channel), index source·channelCount + channel.
        var synthesizers = (0..<4 * channelCount).map { _ in OverlapAddSynthesizer(stft: stft, length: length) }
        let jobs = (0..<4 * channelCount).filter { $0 / channelCount != remainder }
        var emitted = 0
        let t = config.model.frames
        for segmentStart in stride(from: 0, to: totalFrames, by: segmentFrames) {
            let segment = segmentStart..<min(segmentStart + segmentFrames, totalFrames)
            // Every window touching the segment, and the frames they see.
            let starts = windowStarts(frames: totalFrames).filter { $0 < segment.upperBound && $0 + t > segment.lowerBound }
            let context = min(starts.first!, segment.lowerBound)..<min(max(starts.last! + t, segment.upperBound), totalFrames)
            let samples = stft.samplesNeeded(frames: context, totalLength: length)
            var clock = DispatchTime.now().uptimeNanoseconds
            func lap(_ phase: ReferenceWritableKeyPath<SeparationTimings, Double>) {
                let now = DispatchTime.now().uptimeNanoseconds
                timings?[keyPath: phase] += Double(now - clock) * 1e-9
                clock = now
            }
            let chunk = try samples.isEmpty ? [[Float]](repeating: [], count: channelCount) : read(samples)
            lap(\.read)
            var spectra = [Spectrum](repeating: Spectrum(frames: 0, bins: bins), count: channelCount)
            spectra.withUnsafeMutableBufferPointer { sp in
                parallelFor(channelCount) { c in
                    sp[c] = stft.analyze(chunk: chunk[c], startingAt: samples.lowerBound, totalLength: length, frames: context)
                }
            }
            // Mono downmix: the STFT is linear, so the mono spectrum is the mean of the channels'.
            var mono = [Float](repeating: 0, count: context.count * bins)
            let inverse = 1 / Float(channelCount)
            var sumRe = [Float](repeating: 0, count: mono.count), sumIm = sumRe
            sumRe.withUnsafeMutableBufferPointer { sr in
                sumIm.withUnsafeMutableBufferPointer { si in
                    for s in spectra {
                        s.real.withUnsafeBufferPointer { re in
                            s.imag.withUnsafeBufferPointer { im in
                                for i in 0..<sr.count { sr[i] += re[i]; si[i] += im[i] }
                            }
                        }
                    }
                    mono.withUnsafeMutableBufferPointer { mp in
                        for i in 0..<mp.count {
                            let re = sr[i] * inverse, im = si[i] * inverse
                            mp[i] = (re * re + im * im).squareRoot()
                        }
                    }
                }
            }
            lap(\.stft)
            let masks = masks(for: segment, totalFrames: totalFrames) { r in
                Array(mono[(r.lowerBound - context.lowerBound) * bins..<(r.upperBound - context.lowerBound) * bins])
            }
            lap(\.network)
            let offset = (segment.lowerBound - context.lowerBound) * bins
            let last = segment.upperBound == totalFrames
            var pieces = [[Float]](repeating: [], count: 4 * channelCount)
            pieces.withUnsafeMutableBufferPointer { pp in
                synthesizers.withUnsafeMutableBufferPointer { syn in
                    parallelFor(jobs.count) { j in
                        let job = jobs[j]
                        let (source, c) = (job / channelCount, job % channelCount)
                        var masked = Spectrum(frames: segment.count, bins: bins)
                        let spectrum = spectra[c]
                        masks[source].withUnsafeBufferPointer { m in
                            spectrum.real.withUnsafeBufferPointer { re in
                                spectrum.imag.withUnsafeBufferPointer { im in
                                    masked.real.withUnsafeMutableBufferPointer { mr in
                                        masked.imag.withUnsafeMutableBufferPointer { mi in
                                            for i in 0..<segment.count * bins {
                                                mr[i] = re[offset + i] * m[i]
                                                mi[i] = im[offset + i] * m[i]
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        var piece = syn[job].add(masked)
                        if last { piece += syn[job].finish() }
                        pp[job] = piece
                    }
                }
            }
            var out = (0..<4).map { source in (0..<channelCount).map { c in pieces[source * channelCount + c] } }
            if let r = remainder {
                let others = (0..<4).filter { $0 != r }
                let count = out[others[0]][0].count, from = emitted - samples.lowerBound
                for c in 0..<channelCount {
                    var rest = [Float](repeating: 0, count: count)
                    chunk[c].withUnsafeBufferPointer { x in
                        rest.withUnsafeMutableBufferPointer { o in
                            for i in 0..<count { o[i] = x[from + i] }
                            for s in others {
                                out[s][c].withUnsafeBufferPointer { y in for i in 0..<count { o[i] -= y[i] } }
                            }
                        }
                    }
                    out[r][c] = rest
                }
            }
            emitted += out[(remainder ?? 0) == 0 ? 1 : 0][0].count
            lap(\.istft)
            try emit(out)
            lap(\.emit)
            progress?(segment.upperBound, totalFrames)
        }
    }

    /// Separates a whole signal held in memory (channels at the model's rate): four stems, each with
    /// the signal's channels and length (`remainder` as in the streaming form).
    public func separate(_ channels: [[Float]], remainder: Int? = nil) throws -> [[[Float]]] {
        let length = channels.first?.count ?? 0
        var stems = [[[Float]]](repeating: [[Float]](repeating: [], count: channels.count), count: 4)
        try separate(length: length, channelCount: channels.count, read: { r in
            channels.map { Array($0[r.clamped(to: 0..<length)]) + [Float](repeating: 0, count: r.count - r.clamped(to: 0..<length).count) }
        }, emit: { pieces in
            for s in 0..<4 { for c in 0..<channels.count { stems[s][c] += pieces[s][c] } }
        }, remainder: remainder)
        return stems
    }
}

/// Seconds spent in each phase of `Separator.separate` (added to, across calls).
public final class SeparationTimings {
    /// Reading samples (the `read` callback).
    public var read = 0.0
    /// STFT of every channel and the mono magnitudes.
    public var stft = 0.0
    /// Network windows, soft masks and their crossfade.
    public var network = 0.0
    /// Masking every channel's spectrum and the inverse STFTs (overlap-add).
    public var istft = 0.0
    /// The `emit` callback (separateFile: the residual correction, which re-reads the mixture, and writing).
    public var emit = 0.0
    public init() {}
}

extension Separator {
    /// Runs `body(i)` for i in 0..<n, spread over `threads` threads.
    func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        let parts = min(threads, n)
        if parts <= 1 { for i in 0..<n { body(i) }; return }
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            var i = part
            while i < n { body(i); i += parts }
        }
    }
}

/// Base pointers of four arrays for the duration of `body`.
func withMutablePointers4<R>(_ a: inout [[Float]], _ body: (Four<UnsafeMutablePointer<Float>>) -> R) -> R {
    a.withUnsafeMutableBufferPointer { o in
        o[0].withUnsafeMutableBufferPointer { p0 in o[1].withUnsafeMutableBufferPointer { p1 in
            o[2].withUnsafeMutableBufferPointer { p2 in o[3].withUnsafeMutableBufferPointer { p3 in
                body((p0.baseAddress!, p1.baseAddress!, p2.baseAddress!, p3.baseAddress!))
            } }
        } }
    }
}
