import Audio
import Foundation
import Support

/// What `cnnsep dataset check` found in one split.
public struct SplitReport: Sendable {
    public let split: String
    public let songs: Int
    public let seconds: [Double]
    public let sampleRates: Set<Int>
    public let channelCounts: Set<Int>
    /// Largest |mixture − Σ sources| over the split's samples (full scale ±1).
    public let worstResidual: Float
}

/// Checks a whole dataset: every split's songs, their files' rates, lengths and channels, and that
/// each mixture equals the sum of its sources within `tolerance` (largest absolute difference of a
/// sample, full scale ±1). Returns the per-split summaries and every problem found, one line each,
/// naming the song and the file.
public enum DatasetCheck {
    public static func run(_ dataset: Dataset, tolerance: Float, progress: Bool) -> (splits: [SplitReport], problems: [String]) {
        var reports: [SplitReport] = []
        var problems: [String] = []
        for split in [dataset.layout.splitFolders.train, dataset.layout.splitFolders.test] {
            let scan: SplitScan
            do { scan = try dataset.scan(split: split) } catch { problems.append("\(error)"); continue }
            problems += scan.problems
            if scan.songs.isEmpty {
                problems.append("\(dataset.splitRoots(split).mixtures.path): split '\(split)' holds no complete songs")
            }
            let results = Array(repeating: SongCheck?.none, count: scan.songs.count)
            let box = Box(results)
            let bar = progress && !scan.songs.isEmpty ? Support.Progress("check \(split)", total: scan.songs.count, interval: 10) : nil
            let next = Counter()
            let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, scan.songs.count))
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while let i = next.take(below: scan.songs.count) {
                    let result = check(scan.songs[i], tolerance: tolerance)
                    box.set(i, result)
                    bar?.advance()
                }
            }
            bar?.finish()
            let checks = box.values.compactMap { $0 }
            for c in checks { problems += c.problems }
            reports.append(SplitReport(split: split, songs: scan.songs.count,
                                       seconds: checks.compactMap(\.seconds),
                                       sampleRates: Set(checks.flatMap(\.rates)),
                                       channelCounts: Set(checks.flatMap(\.channels)),
                                       worstResidual: checks.map(\.residual).max() ?? 0))
        }
        return (reports, problems)
    }

    struct SongCheck: Sendable {
        var seconds: Double?
        var rates: [Int] = []
        var channels: [Int] = []
        var residual: Float = 0
        var problems: [String] = []
    }

    /// One song: headers, then the mixture against the sum of the sources, read in pieces.
    static func check(_ song: Song, tolerance: Float) -> SongCheck {
        var result = SongCheck()
        var infos: [AudioInfo] = []
        for file in song.files {
            do { infos.append(try AudioFile.info(file)) } catch {
                result.problems.append("\(song.name): \(error)")
            }
        }
        guard infos.count == 5 else { return result }
        let mixture = infos[0]
        result.seconds = mixture.duration
        result.rates = infos.map(\.sampleRate)
        result.channels = infos.map(\.channelCount)
        var consistent = true
        for (file, info) in zip(song.files, infos) {
            if info.frameCount == 0 { result.problems.append("\(song.name): \(file.path): contains no audio (0 frames)"); consistent = false }
        }
        for (file, info) in zip(song.sources, infos.dropFirst()) {
            if info.sampleRate != mixture.sampleRate {
                result.problems.append("\(song.name): \(file.path): \(info.sampleRate) Hz, but mixture.wav is \(mixture.sampleRate) Hz"); consistent = false
            }
            if info.frameCount != mixture.frameCount {
                result.problems.append("\(song.name): \(file.path): \(info.frameCount) samples, but mixture.wav has \(mixture.frameCount)"); consistent = false
            }
            if info.channelCount != mixture.channelCount {
                result.problems.append("\(song.name): \(file.path): \(info.channelCount) channels, but mixture.wav has \(mixture.channelCount)"); consistent = false
            }
        }
        guard consistent else { return result }
        do {
            let readers = try song.files.map { try AudioFileReader($0) }
            var worst: Float = 0
            var worstAt = 0
            var position = 0
            while position < mixture.frameCount {
                let buffers = try readers.map { try $0.read(frames: 1 << 17) }
                let n = buffers[0].frameCount
                guard n > 0 else { break }
                for c in 0..<mixture.channelCount {
                    var sum = buffers[1].channels[c]
                    sum.withUnsafeMutableBufferPointer { total in
                        for s in 2...4 {
                            buffers[s].channels[c].withUnsafeBufferPointer { x in
                                for i in 0..<n { total[i] += x[i] }
                            }
                        }
                        buffers[0].channels[c].withUnsafeBufferPointer { m in
                            for i in 0..<n {
                                let d = abs(m[i] - total[i])
                                if d > worst { worst = d; worstAt = position + i }
                            }
                        }
                    }
                }
                position += n
            }
            result.residual = worst
            if worst > tolerance {
                result.problems.append("\(song.name): \(song.mixture.path): differs from the sum of the four sources by up to \(worst) (sample \(worstAt)), more than the tolerance \(tolerance)")
            }
        } catch {
            result.problems.append("\(song.name): \(error)")
        }
        return result
    }
}

/// Results written by worker threads, one slot each.
final class Box<T>: @unchecked Sendable {
    private var items: [T]
    private let lock = NSLock()
    init(_ items: [T]) { self.items = items }
    func set(_ i: Int, _ value: T) { lock.lock(); items[i] = value; lock.unlock() }
    var values: [T] { lock.lock(); defer { lock.unlock() }; return items }
}

