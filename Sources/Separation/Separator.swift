import Foundation
import Audio
import Autodiff
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

    /// Start frames of the windows covering `frames` frames (at least one window).
    func windowStarts(frames: Int) -> [Int] {
        let t = config.model.frames
        let count = frames <= t ? 1 : (frames - t + windowHop - 1) / windowHop + 1
        return (0..<count).map { $0 * windowHop }
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
        for batchStart in stride(from: 0, to: starts.count, by: batchSize) {
            let batch = starts[batchStart..<min(batchStart + batchSize, starts.count)]
            var input = [Float](repeating: 0, count: batch.count * t * bins)
            for (b, s) in batch.enumerated() {
                let frames = s..<min(s + t, totalFrames)
                for f in frames {
                    let from = (f - available.lowerBound) * bins, to = (b * t + f - s) * bins
                    for k in 0..<bins { input[to + k] = known[from + k] * scale }
                }
            }
            let masks = withNoGrad {
                softMasks(network(Tensor(input, shape: [batch.count, t, bins])), epsilon: config.model.maskEpsilon)
            }
            for (b, s) in batch.enumerated() {
                for i in 0..<t where range.contains(s + i) {
                    let w = crossfade(i), row = s + i - range.lowerBound
                    weights[row] += w
                    for source in 0..<4 {
                        masks[source].data.withUnsafeBufferPointer { m in
                            blended[source].withUnsafeMutableBufferPointer { out in
                                let from = (b * t + i) * bins, to = row * bins
                                for k in 0..<bins { out[to + k] += w * m[from + k] }
                            }
                        }
                    }
                }
            }
        }
        for row in 0..<range.count where weights[row] > 0 {
            let inverse = 1 / weights[row]
            for source in 0..<4 {
                for k in 0..<bins { blended[source][row * bins + k] *= inverse }
            }
        }
        return blended
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
    public func separate(length: Int, channelCount: Int,
                         read: (Range<Int>) throws -> [[Float]],
                         emit: ([[[Float]]]) throws -> Void,
                         progress: ((Int, Int) -> Void)? = nil) throws {
        let totalFrames = stft.frameCount(samples: length)
        let bins = stft.bins
        var synthesizers = (0..<4).map { _ in (0..<channelCount).map { _ in OverlapAddSynthesizer(stft: stft, length: length) } }
        let t = config.model.frames
        for segmentStart in stride(from: 0, to: totalFrames, by: segmentFrames) {
            let segment = segmentStart..<min(segmentStart + segmentFrames, totalFrames)
            // Every window touching the segment, and the frames they see.
            let starts = windowStarts(frames: totalFrames).filter { $0 < segment.upperBound && $0 + t > segment.lowerBound }
            let context = min(starts.first!, segment.lowerBound)..<min(max(starts.last! + t, segment.upperBound), totalFrames)
            let samples = stft.samplesNeeded(frames: context, totalLength: length)
            let chunk = try samples.isEmpty ? [[Float]](repeating: [], count: channelCount) : read(samples)
            let spectra = chunk.map {
                stft.analyze(chunk: $0, startingAt: samples.lowerBound, totalLength: length, frames: context)
            }
            // Mono downmix: the STFT is linear, so the mono spectrum is the mean of the channels'.
            var mono = [Float](repeating: 0, count: context.count * bins)
            let inverse = 1 / Float(channelCount)
            for i in 0..<mono.count {
                var re: Float = 0, im: Float = 0
                for s in spectra { re += s.real[i]; im += s.imag[i] }
                re *= inverse; im *= inverse
                mono[i] = (re * re + im * im).squareRoot()
            }
            let masks = masks(for: segment, totalFrames: totalFrames) { r in
                Array(mono[(r.lowerBound - context.lowerBound) * bins..<(r.upperBound - context.lowerBound) * bins])
            }
            let offset = (segment.lowerBound - context.lowerBound) * bins
            var out = [[[Float]]](repeating: [], count: 4)
            for source in 0..<4 {
                for (c, spectrum) in spectra.enumerated() {
                    var masked = Spectrum(frames: segment.count, bins: bins)
                    let m = masks[source]
                    for i in 0..<segment.count * bins {
                        masked.real[i] = spectrum.real[offset + i] * m[i]
                        masked.imag[i] = spectrum.imag[offset + i] * m[i]
                    }
                    out[source].append(synthesizers[source][c].add(masked))
                }
            }
            if segment.upperBound == totalFrames {
                for source in 0..<4 { for c in 0..<channelCount { out[source][c] += synthesizers[source][c].finish() } }
            }
            try emit(out)
            progress?(segment.upperBound, totalFrames)
        }
    }

    /// Separates a whole signal held in memory (channels at the model's rate): four stems, each with
    /// the signal's channels and length.
    public func separate(_ channels: [[Float]]) throws -> [[[Float]]] {
        let length = channels.first?.count ?? 0
        var stems = [[[Float]]](repeating: [[Float]](repeating: [], count: channels.count), count: 4)
        try separate(length: length, channelCount: channels.count, read: { r in
            channels.map { Array($0[r.clamped(to: 0..<length)]) + [Float](repeating: 0, count: r.count - r.clamped(to: 0..<length).count) }
        }, emit: { pieces in
            for s in 0..<4 { for c in 0..<channels.count { stems[s][c] += pieces[s][c] } }
        })
        return stems
    }
}
