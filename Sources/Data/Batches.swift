import Audio
import Foundation
import Support

/// Memory that holds one song's five spectrograms: a mapping of a cache file, or an allocation (for
/// features made in memory). Unmapped or freed when the last `SongFeatures` using it goes away.
final class FeatureStorage: @unchecked Sendable {
    let floats: UnsafePointer<Float>
    private let release: () -> Void

    init(floats: UnsafePointer<Float>, release: @escaping () -> Void) {
        self.floats = floats
        self.release = release
    }

    deinit { release() }
}

/// The mono magnitude spectrograms of one song, |STFT| of the mixture and of each source, each
/// `frames × bins` floats, frame-major (index t·bins + k). Usually memory-mapped from the feature
/// cache: the mapping lives as long as any copy of this value. Keep the value (not just a buffer
/// from `mixture()`/`source(_:)`) alive while reading: `Array(try cache.features(song).mixture())`
/// reads unmapped memory, because the temporary value may be released before the copy.
public struct SongFeatures: @unchecked Sendable {
    public let name: String
    public let frames: Int
    public let bins: Int
    let storage: FeatureStorage

    init(name: String, frames: Int, bins: Int, storage: FeatureStorage) {
        self.name = name
        self.frames = frames
        self.bins = bins
        self.storage = storage
    }

    /// Features held in memory (tests, or songs that never touch the cache): the mixture's and the
    /// four sources' magnitudes, each `frames × bins`, frame-major.
    public init(name: String, frames: Int, bins: Int, mixture: [Float], sources: [[Float]]) {
        let plane = frames * bins
        precondition(mixture.count == plane && sources.count == Stem.names.count && sources.allSatisfy { $0.count == plane },
                     "SongFeatures: expected 1 + \(Stem.names.count) planes of \(frames)×\(bins)")
        let memory = UnsafeMutablePointer<Float>.allocate(capacity: max(plane * 5, 1))
        for (i, values) in ([mixture] + sources).enumerated() {
            values.withUnsafeBufferPointer { (memory + i * plane).update(from: $0.baseAddress!, count: plane) }
        }
        self.init(name: name, frames: frames, bins: bins,
                  storage: FeatureStorage(floats: UnsafePointer(memory), release: { memory.deallocate() }))
    }

    /// The mixture's magnitudes, `frames × bins`, frame-major.
    public func mixture() -> UnsafeBufferPointer<Float> { plane(0) }

    /// Source `index` (in `Stem.names` order): its magnitudes, `frames × bins`, frame-major.
    public func source(_ index: Int) -> UnsafeBufferPointer<Float> {
        precondition(index >= 0 && index < Stem.names.count, "SongFeatures.source: index \(index) out of range")
        return plane(1 + index)
    }

    private func plane(_ i: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: storage.floats + i * frames * bins, count: frames * bins)
    }

    /// Reads one float in every page of the five planes, so the mapping is resident before training
    /// needs it (the block stream calls this on its background thread). Returns a checksum so the
    /// reads are not optimised away.
    @discardableResult
    func touch() -> Float {
        let total = frames * bins * 5
        let stride = 4096 / MemoryLayout<Float>.size
        var sum: Float = 0
        var i = 0
        while i < total { sum += storage.floats[i]; i += stride }
        return sum
    }
}

/// A batch of training windows: `count` windows of `length` frames × `bins` bins for the mixture and
/// for each of the four sources, frame-major (index (b·length + t)·bins + k). Made once with a
/// capacity and refilled by `Block.fill` without reallocating; only the first `count` windows are valid.
public struct Batch {
    public var count: Int
    public let capacity: Int
    public let length: Int
    public let bins: Int
    public var mixture: [Float]
    /// bass, drums, other, vocals.
    public var sources: [[Float]]

    /// The bytes of a batch of `capacity` windows (mixture and four sources), without making it.
    public static func bytes(capacity: Int, length: Int, bins: Int) -> Double {
        Double(capacity) * Double(length) * Double(bins) * Double((1 + Stem.names.count) * MemoryLayout<Float>.size)
    }

    public init(capacity: Int, length: Int, bins: Int) {
        precondition(capacity > 0 && length > 0 && bins > 0, "Batch: sizes must be positive")
        self.count = 0
        self.capacity = capacity
        self.length = length
        self.bins = bins
        let size = capacity * length * bins
        mixture = [Float](repeating: 0, count: size)
        sources = Array(repeating: [Float](repeating: 0, count: size), count: Stem.names.count)
    }
}

/// The features of one block of songs, resident, and its windows.
public final class Block: @unchecked Sendable {
    /// Indices of the block's songs in the song list the schedule was made for.
    public let range: Range<Int>
    public let songs: [SongFeatures]
    /// Every window of every song, song by song (`windowStarts` for each song).
    public let windows: [WindowRef]
    public let windowLength: Int
    /// The songs' mono stems, for remixing (`Remix.swift`); nil when the block was loaded without them.
    public let signals: [StemSignals]?

    public init(range: Range<Int>, songs: [SongFeatures], windowLength: Int, windowHop: Int, signals: [StemSignals]? = nil) {
        precondition(range.count == songs.count, "Block: \(range.count) indices for \(songs.count) songs")
        precondition(Set(songs.map(\.bins)).count <= 1, "Block: songs have different bin counts")
        precondition(signals == nil || signals!.count == songs.count, "Block: \(signals?.count ?? 0) stem signals for \(songs.count) songs")
        self.range = range
        self.songs = songs
        self.windowLength = windowLength
        self.signals = signals
        var windows: [WindowRef] = []
        for (i, song) in songs.enumerated() {
            for start in windowStarts(frames: song.frames, length: windowLength, hop: windowHop) {
                windows.append(WindowRef(song: i, start: start))
            }
        }
        self.windows = windows
    }

    /// Bins per frame (0 for a block without songs).
    public var bins: Int { songs.first?.bins ?? 0 }

    /// Batches in one epoch (see `batchOrder`).
    public func batchCount(batchSize: Int, keepPartial: Bool = false) -> Int {
        Self.batchCount(windows: windows.count, batchSize: batchSize, keepPartial: keepPartial)
    }

    /// The most windows any batch of blocks of `windows` windows each holds (`batchOrder`'s cut):
    /// `batchSize`, or all of a block's windows when it has fewer. What a batch buffer must hold,
    /// however large `batchSize` is.
    public static func largestBatch(windows: [Int], batchSize: Int) -> Int {
        windows.map { min($0, batchSize) }.max() ?? 0
    }

    /// Batches in one epoch of a block of `windows` windows, without the block (for progress).
    public static func batchCount(windows: Int, batchSize: Int, keepPartial: Bool = false) -> Int {
        precondition(batchSize > 0)
        if windows < batchSize { return windows == 0 ? 0 : 1 }
        return keepPartial ? (windows + batchSize - 1) / batchSize : windows / batchSize
    }

    /// One epoch's batches: all windows of the block shuffled across its songs by `rng` (Fisher–Yates,
    /// so the order depends only on the generator's state and the block), then cut into batches of
    /// `batchSize`. The last partial batch is dropped, as in the reproduced Keras code — but since the shuffle differs
    /// every epoch, a different handful of windows sits out each epoch instead of always the same ones.
    /// `keepPartial` keeps it instead; a block with fewer windows than one batch always gives one
    /// smaller batch of all its windows (never an empty epoch).
    public func batchOrder(batchSize: Int, using rng: inout SeededGenerator, keepPartial: Bool = false) -> [[WindowRef]] {
        precondition(batchSize > 0)
        var order = windows
        rng.shuffle(&order)
        let count = batchCount(batchSize: batchSize, keepPartial: keepPartial)
        return (0..<count).map { b in Array(order[(b * batchSize)..<min((b + 1) * batchSize, order.count)]) }
    }

    /// Copies the windows' frames into the batch (mixture and sources), zeros where a window runs past
    /// its song's last frame, and sets `batch.count`.
    public func fill(_ batch: inout Batch, with windows: [WindowRef]) {
        fill(&batch, with: windows[...])
    }

    /// The same for part of a batch's windows (a data-parallel rank's shard).
    public func fill(_ batch: inout Batch, with windows: ArraySlice<WindowRef>) {
        precondition(windows.count <= batch.capacity, "Block.fill: \(windows.count) windows for a batch of capacity \(batch.capacity)")
        precondition(batch.length == windowLength && (songs.isEmpty || batch.bins == bins),
                     "Block.fill: batch of \(batch.length)×\(batch.bins) for windows of \(windowLength)×\(bins)")
        batch.count = windows.count
        let length = batch.length, bins = batch.bins
        func copy(_ destination: UnsafeMutableBufferPointer<Float>, _ plane: (SongFeatures) -> UnsafeBufferPointer<Float>) {
            let out = destination.baseAddress!
            for (b, window) in windows.enumerated() {
                let song = songs[window.song]
                let source = plane(song).baseAddress!
                let available = max(0, min(length, song.frames - window.start))
                let target = out + b * length * bins
                if available > 0 {
                    target.update(from: source + window.start * bins, count: available * bins)
                }
                if available < length {
                    (target + available * bins).update(repeating: 0, count: (length - available) * bins)
                }
            }
        }
        batch.mixture.withUnsafeMutableBufferPointer { copy($0) { $0.mixture() } }
        for s in 0..<Stem.names.count {
            batch.sources[s].withUnsafeMutableBufferPointer { buffer in copy(buffer) { $0.source(s) } }
        }
    }
}
