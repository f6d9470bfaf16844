import Audio
import Foundation
import Support

// Augmentation by remixing (issue 14; not in the paper): some windows of each batch are replaced by
// mixtures that never existed — each stem taken from a different song of the current block, at its
// own random frame, scaled by its own random gain.
//
// The feature cache holds magnitudes, and the magnitude of a sum is not the sum of the magnitudes
// (the stems' phases interfere), so a remix's mixture is made in the time domain: the block keeps
// its songs' mono stems (0.7 MB per second of audio, ~40 % of the features' 1.8 MB/s), the four
// gained segments are added and the window's 25 frames of that sum go through the same STFT as the
// cache. Segments start on frame boundaries (start·hop samples), so by linearity the result is
// exactly the STFT a song made of those four stems would have, and each target is its stem's cached
// magnitude times its gain. Caching the stems' complex spectra instead would avoid the FFTs but
// take 2.8 MB/s more (1.6× the cache, mapped for two blocks at once). See BENCHMARKS.md for the cost.

/// How many windows of each batch are remixes, and their gains (config `schedule.remix`,
/// `schedule.remix_gains`).
public struct RemixSettings: Equatable, Sendable {
    /// Share of each batch's windows that are remixes: 0 = none (the paper), 1 = all.
    public var fraction: Float = 0
    /// Each stem's gain is drawn uniformly from this range.
    public var gains: ClosedRange<Float> = 0.25...1.25

    public init() {}

    public init(fraction: Float, gains: ClosedRange<Float> = 0.25...1.25) {
        self.fraction = fraction
        self.gains = gains
    }

    public var isEnabled: Bool { fraction > 0 }

    /// Remixes in a batch of `size` windows (the rest are the shuffled windows of real songs).
    public func count(inBatchOf size: Int) -> Int {
        min(size, Int((Double(fraction) * Double(size)).rounded()))
    }
}

/// The four mono sources of one song at the model's rate (the signals its features were made from).
public struct StemSignals: Sendable {
    /// bass, drums, other, vocals.
    public let sources: [[Float]]

    public init(sources: [[Float]]) {
        precondition(sources.count == Stem.names.count, "StemSignals: expected \(Stem.names.count) sources")
        self.sources = sources
    }
}

/// One remixed window: for each stem (in `Stem.names` order) the block's song it comes from, the
/// window's first frame in that song, and the stem's gain.
public struct RemixWindow: Equatable, Sendable {
    public var songs: [Int]
    public var starts: [Int]
    public var gains: [Float]

    public init(songs: [Int], starts: [Int], gains: [Float]) {
        precondition(songs.count == 4 && starts.count == 4 && gains.count == 4, "RemixWindow: one song, start and gain per stem")
        self.songs = songs
        self.starts = starts
        self.gains = gains
    }
}

extension Block {
    /// `count` remixes drawn from `rng`: the four stems from four different songs of the block (a
    /// block of fewer than four songs repeats songs), each at a uniform first frame from 0 to its
    /// song's last full window, each with a gain uniform in `gains`.
    public func remixes(_ count: Int, gains: ClosedRange<Float>, using rng: inout SeededGenerator) -> [RemixWindow] {
        precondition(!songs.isEmpty || count == 0, "Block.remixes: a block without songs")
        let span = gains.upperBound - gains.lowerBound
        return (0..<count).map { _ in
            var order = Array(songs.indices)
            rng.shuffle(&order)
            let chosen = (0..<4).map { order[$0 % order.count] }
            let starts = chosen.map { rng.nextInt(below: max(songs[$0].frames - windowLength, 0) + 1) }
            let g = (0..<4).map { _ in gains.lowerBound + span * rng.nextFloat() }
            return RemixWindow(songs: chosen, starts: starts, gains: g)
        }
    }

    /// Writes `windows` (real songs' windows, as `fill(_:with:)` does) followed by `remixes` into the
    /// batch. Each remix's targets are its stems' cached magnitudes times their gains (zeros past a
    /// song's end); its mixture is |STFT| of the sum of the gained stem segments (see above). `stft`
    /// must be the one the features were made with; the block must hold its songs' `signals`.
    public func fill(_ batch: inout Batch, with windows: [WindowRef], remixes: [RemixWindow], stft: STFT) {
        precondition(windows.count + remixes.count <= batch.capacity,
                     "Block.fill: \(windows.count) + \(remixes.count) windows for a batch of capacity \(batch.capacity)")
        fill(&batch, with: windows)
        guard !remixes.isEmpty else { return }
        guard let signals else { preconditionFailure("Block.fill: remixes need the block's stem signals (BlockStream with signals)") }
        precondition(stft.bins == bins, "Block.fill: an STFT of \(stft.bins) bins for features of \(bins)")
        let length = windowLength, bins = self.bins, hop = stft.hop, padding = stft.padding
        // The window's frames are frames k..<k+T of a segment that starts `lead` zeros early, so that
        // its frame k covers the first stem sample of the window's first frame (start·hop − padding).
        let k = (padding + hop - 1) / hop, lead = k * hop - padding
        let span = stft.windowLength + (length - 1) * hop
        var segment = [Float](repeating: 0, count: lead + span)
        for (r, remix) in remixes.enumerated() {
            let b = windows.count + r
            segment.withUnsafeMutableBufferPointer { seg in
                seg.update(repeating: 0)
                for s in 0..<4 {
                    let x = signals[remix.songs[s]].sources[s], g = remix.gains[s]
                    let offset = remix.starts[s] * hop - padding
                    let lo = max(0, -offset), hi = min(span, x.count - offset)
                    guard lo < hi else { continue }
                    x.withUnsafeBufferPointer { xs in
                        let out = seg.baseAddress! + lead, input = xs.baseAddress! + offset
                        for j in lo..<hi { out[j] += g * input[j] }
                    }
                }
            }
            let spectrum = stft.analyze(chunk: segment, startingAt: 0, totalLength: segment.count, frames: k..<(k + length))
            batch.mixture.withUnsafeMutableBufferPointer { out in
                spectrum.real.withUnsafeBufferPointer { re in
                    spectrum.imag.withUnsafeBufferPointer { im in
                        let target = out.baseAddress! + b * length * bins
                        for i in 0..<(length * bins) { target[i] = (re[i] * re[i] + im[i] * im[i]).squareRoot() }   // as Spectrum.magnitude()
                    }
                }
            }
            for s in 0..<4 {
                let song = songs[remix.songs[s]], start = remix.starts[s], g = remix.gains[s]
                let available = max(0, min(length, song.frames - start))
                let source = song.source(s).baseAddress! + start * bins
                batch.sources[s].withUnsafeMutableBufferPointer { out in
                    let target = out.baseAddress! + b * length * bins
                    for i in 0..<(available * bins) { target[i] = g * source[i] }
                    (target + available * bins).update(repeating: 0, count: (length - available) * bins)
                }
            }
        }
        batch.count = windows.count + remixes.count
    }
}
