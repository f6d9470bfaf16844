import Audio
import Configuration
import Foundation
import Network
import Support

/// Turns a trained network into a separator: mono magnitudes → blended soft masks → masked STFT of
/// each channel → inverse STFT, segment by segment so memory does not grow with the song.
///
/// Masks: the song's frames are covered by windows of T frames whose starts move by `windowHop`
/// (config `separation.hop`); the last window reaches past the end and sees zero frames there, so
/// the tail is never dropped. Where windows overlap, their masks are averaged per frame with the
/// weights of `crossfade` (config `separation.crossfade`): each frame's mask is
/// Σ_w c(i_w) m_w / Σ_w c(i_w) over the windows w over it, i_w its position in w.
///
/// Speed: segments are independent (each recomputes the few frames and windows it shares with its
/// neighbours), so `threads` workers take them as they become free, each with its own buffers and
/// network engine allocated once; reading and handing back stay in song order (`SegmentSchedule`).
public final class Separator {
    public let network: ChandnaNetwork
    public let config: Config
    public let stft: STFT
    /// Frames between the starts of consecutive network windows (1...T).
    public var windowHop: Int {
        didSet { precondition((1...config.model.frames).contains(windowHop), "Separator: window hop \(windowHop) outside 1...\(config.model.frames)") }
    }
    /// The weights of overlapping windows' masks.
    public var crossfade: SeparationSettings.Crossfade
    /// EM iterations of the multichannel Wiener post-filter on each segment's masked spectra (0: none).
    public var wienerIterations: Int
    /// Windows per network call.
    public var batchSize = 16
    /// Frames per segment (bounds memory: a few seconds of audio per worker).
    public var segmentFrames = 512
    /// Workers, each separating whole segments on one thread (its own network engine and buffers).
    public var threads = min(2, ProcessInfo.processInfo.activeProcessorCount)
    /// When set, `separate` adds the seconds it spends in each phase here (benchmarks).
    public var timings: SeparationTimings?
    private var workers: [SegmentWorker] = []
    /// One separation at a time per separator (the workers' buffers are reused).
    private let busy = NSLock()

    /// A separator running `network` with the sizes, features and separation settings of `config`.
    /// A hop above the model's T frames (a config file cannot say so, but a config built in code
    /// for a smaller model, or one given for another model's checkpoint, can) is taken as T.
    public init(network: ChandnaNetwork, config: Config) {
        precondition(config.separation.hop >= 1, "Separator: separation.hop \(config.separation.hop) below 1")
        self.network = network
        self.config = config
        stft = STFT(windowLength: config.features.windowLength, hop: config.features.hop)
        windowHop = min(config.separation.hop, config.model.frames)
        crossfade = config.separation.crossfade
        wienerIterations = config.separation.wienerIterations
    }

    /// A separator from a checkpoint: the network, its sizes and its `separation` settings from the
    /// config stored in it (or `fallback`'s for a bare weights file that stores none); `separation`,
    /// when given (a config or options the user named), overrides how the model is run over a song.
    public convenience init(checkpoint: URL, fallback: Config = Config(), separation: SeparationSettings? = nil) throws {
        let model = try TrainedModel.load(checkpoint, fallback: fallback)
        var config = model.config
        if let separation { config.separation = separation }
        self.init(network: model.network, config: config)
    }

    // MARK: Windows

    /// Start frames of the network windows covering `frames` frames.
    func windowStarts(frames: Int) -> [Int] {
        Audio.windowStarts(frames: frames, length: config.model.frames, hop: windowHop)
    }

    /// Crossfade weight of position i (0..<T) in a window. Linear: rises over the overlap, flat,
    /// then falls. Triangular: scipy.signal.windows.triang(T), peak 1 in the middle, never zero.
    public func crossfadeWeight(_ i: Int) -> Float {
        let t = config.model.frames
        switch crossfade {
        case .linear:
            let ramp = Float(max(t - windowHop, 0) + 1)
            return min(1, Float(i + 1) / ramp, Float(t - i) / ramp)
        case .triangular:
            return 1 - Float(abs(2 * i - (t - 1))) / Float(t % 2 == 1 ? t + 1 : t)
        }
    }

    /// The workers for `channels`-channel songs (kept between calls; made again when a setting changed).
    private func readyWorkers(channels: Int) -> [SegmentWorker] {
        let count = max(1, threads)
        if workers.count != count || workers.contains(where: { !$0.fits(self, channels: channels) }) {
            workers = (0..<count).map { _ in SegmentWorker(self, channels: channels) }
        }
        return workers
    }

    /// Masks for a whole stretch of mono magnitudes (`frames` × bins, frame-major), e.g. to plot them.
    public func masks(magnitudes: [Float], frames: Int) throws -> [[Float]] {
        let bins = config.model.bins
        guard magnitudes.count == frames * bins else {
            throw CNNSepError("masks: expected \(frames) × \(bins) magnitudes, got \(magnitudes.count) values")
        }
        let worker = SegmentWorker(self, channels: 1)
        return worker.masks(magnitudes: magnitudes, frames: frames, scale: config.inputScale)
    }

    // MARK: Streaming separation

    /// The segments of a signal of `length` samples, in order.
    func plans(length: Int) -> [SegmentPlan] {
        let total = stft.frameCount(samples: length)
        let t = config.model.frames, hop = windowHop
        let windowCount = windowStarts(frames: total).count
        return stride(from: 0, to: total, by: max(1, segmentFrames)).map { a in
            let b = min(a + max(1, segmentFrames), total)
            func sample(_ frame: Int) -> Int { min(length, max(0, frame * stft.hop - stft.padding)) }
            let output = (a == 0 ? 0 : sample(a))..<(b == total ? length : sample(b))
            let covering = stft.framesCovering(samples: output)
            let maskFrames = covering.clamped(to: 0..<total)
            guard !maskFrames.isEmpty else {
                return SegmentPlan(output: output, maskFrames: maskFrames, windows: [], context: maskFrames, samples: 0..<0)
            }
            let first = maskFrames.lowerBound >= t ? (maskFrames.lowerBound - t) / hop + 1 : 0
            let last = min(windowCount - 1, (maskFrames.upperBound - 1) / hop)
            let windows = (first...last).map { $0 * hop }
            let context = min(maskFrames.lowerBound, windows[0])..<min(max(maskFrames.upperBound, windows.last! + t), total)
            return SegmentPlan(output: output, maskFrames: maskFrames, windows: windows, context: context,
                               samples: stft.samplesNeeded(frames: context, totalLength: length))
        }
    }

    /// Separates a signal of `length` samples per channel at the model's rate, reading it through
    /// `read(range)` (channels' samples for a sample range within 0..<length) and handing the stems
    /// to `emit` in order (per source, per channel), a segment at a time. `read` is called with
    /// ranges whose ends only move forward, and `read`, `emit` and `progress` are called one at a
    /// time, in song order, though possibly from different threads.
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
        precondition(channelCount > 0, "Separator.separate: no channels")
        busy.lock()
        defer { busy.unlock() }
        let plans = self.plans(length: length)
        let workers = Array(readyWorkers(channels: channelCount).prefix(max(1, min(threads, plans.count))))
        let totalFrames = stft.frameCount(samples: length)
        // Two buffers beyond the workers' let a faster worker run ahead while a slower one finishes
        // the segment to hand back next.
        let schedule = SegmentSchedule(count: plans.count, buffers: workers.count + 2)
        let timings = self.timings
        func work(_ worker: SegmentWorker) {
            var clock = DispatchTime.now().uptimeNanoseconds
            func lap(_ phase: ReferenceWritableKeyPath<SeparationTimings, Double>) {
                let now = DispatchTime.now().uptimeNanoseconds
                timings?.add(phase, Double(now - clock) * 1e-9)
                clock = now
            }
            while var stems = schedule.takeBuffer() {
                lap(\.wait)
                guard let (k, chunk) = schedule.nextSegment(read: { k in
                    let samples = plans[k].samples
                    return try samples.isEmpty ? [[Float]](repeating: [], count: channelCount) : read(samples)
                }) else { schedule.returnBuffer(stems); break }
                lap(\.read)
                worker.separate(plans[k], chunk: chunk, length: length, totalFrames: totalFrames, remainder: remainder,
                                into: &stems, lap: lap)
                schedule.finish(k, stems) { index, ready in
                    try emit(ready)
                    progress?(plans[index].maskFrames.upperBound, totalFrames)
                }
                lap(\.emit)
            }
        }
        // Threads of their own, not DispatchQueue.concurrentPerform: a concurrentPerform nested in
        // it (the converters and file writers `emit` runs side by side) would run serially.
        withoutActuallyEscaping(work) { work in
            let done = DispatchSemaphore(value: 0)
            for worker in workers.dropFirst() {
                // The thread drops the job before it signals, so nothing escapes this block.
                let job = Job { work(worker) }
                let thread = Thread { job.run(); done.signal() }
                thread.stackSize = 1 << 22
                thread.start()
            }
            work(workers[0])
            for _ in workers.dropFirst() { done.wait() }
        }
        if let failure = schedule.failure { throw failure }
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

/// Thread-seconds spent in each phase of `Separator.separate`, summed over its workers (added to,
/// across calls): with two workers they add up to about twice the wall time.
public final class SeparationTimings: @unchecked Sendable {
    /// Reading samples (the `read` callback).
    public var read = 0.0
    /// STFT of every channel and the mono magnitudes.
    public var stft = 0.0
    /// Network windows, soft masks and their crossfade.
    public var network = 0.0
    /// The Wiener post-filter, when it runs (`separation.wiener_iterations` > 0).
    public var wiener = 0.0
    /// Masking every channel's spectrum, the inverse STFTs (overlap-add) and the remainder stem.
    public var istft = 0.0
    /// Waiting for a free stems buffer (the segments ahead of the one to hand back next are done).
    public var wait = 0.0
    /// The `emit` callback (separateFile: writing), for whichever segments a worker hands back.
    public var emit = 0.0
    private let lock = NSLock()
    public init() {}

    func add(_ phase: ReferenceWritableKeyPath<SeparationTimings, Double>, _ seconds: Double) {
        lock.lock()
        self[keyPath: phase] += seconds
        lock.unlock()
    }
}

/// A closure run once on another thread and released right after.
private final class Job: @unchecked Sendable {
    private var body: (() -> Void)?
    init(_ body: @escaping () -> Void) { self.body = body }
    func run() { body?(); body = nil }
}
