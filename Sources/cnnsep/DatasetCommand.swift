import ArgumentParser
import Audio
import Data
import Foundation
import Support

struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Inspect a dataset, build its feature cache, measure block streaming.",
        subcommands: [Check.self, Cache.self, Stream.self])

    /// `--cache` or the dataset's default cache folder.
    static func cacheFolder(_ option: String?, _ dataset: Dataset) -> URL {
        option.map { URL(fileURLWithPath: $0) } ?? FeatureCache.defaultFolder(for: dataset)
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List songs per split with durations, rates and channels, and every problem; exit 1 if any.",
            discussion: """
            Problems: missing stems, unreadable files, rate, length or channel mismatches between a \
            song's five files, and mixtures that differ from the sum of their sources by more than \
            --tolerance (largest absolute sample difference, full scale 1).
            """)

        @Argument(help: "Dataset root (DSD100 or MUSDB18-HQ layout).")
        var root: String

        @Option(help: "Largest allowed |mixture − sum of sources| of a sample (full scale 1).")
        var tolerance: Float = 1e-3

        /// NaN would pass every mixture (no difference compares greater), a negative value none.
        func validate() throws {
            guard tolerance >= 0 else { throw ValidationError("--tolerance must be a number ≥ 0, got \(tolerance)") }
        }

        func run() throws {
            let dataset = try Dataset.open(URL(fileURLWithPath: root))
            print("dataset \(dataset.root.path) (\(dataset.layout == .dsd100 ? "DSD100" : "MUSDB18-HQ") layout)")
            let (splits, problems) = DatasetCheck.run(dataset, tolerance: tolerance, progress: true)
            for s in splits {
                let total = s.seconds.reduce(0, +)
                let range = s.seconds.isEmpty ? "" : String(format: ", %.1f–%.1f s per song", s.seconds.min()!, s.seconds.max()!)
                let rates = s.sampleRates.sorted().map { "\($0) Hz" }.joined(separator: ", ")
                let channels = s.channelCounts.sorted().map(String.init).joined(separator: ", ")
                print("\(s.split): \(s.songs) songs, \(Support.Progress.clock(total)) in all\(range); rates: \(rates.isEmpty ? "-" : rates); channels: \(channels.isEmpty ? "-" : channels); largest |mixture − Σ sources| \(s.worstResidual)")
            }
            if problems.isEmpty {
                print("no problems")
                return
            }
            print("\(problems.count) problem\(problems.count == 1 ? "" : "s"):")
            for p in problems { print("  \(p)") }
            throw ExitCode(1)
        }
    }

    struct Cache: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute the feature cache of a split (missing or stale entries only), on all cores.")

        @OptionGroup var options: SplitOptions

        func run() throws {
            let (songs, cache) = try options.open()
            let start = Date()
            try cache.prepare(songs, progress: true)
            print("\(songs.count) songs cached in \(cache.folder.path) (\(cache.buildCount) computed, \(String(format: "%.1f", Date().timeIntervalSince(start))) s)")
        }
    }

    struct Stream: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk every block and batch of one repetition as training would, and print the peak memory.",
            discussion: "Builds missing cache entries first; run it again to measure streaming alone.")

        @OptionGroup var options: SplitOptions

        @Option(help: "Songs per block.") var blockSize: Int = 10
        @Option(help: "Songs between block starts.") var blockHop: Int = 5
        @Option(help: "Frames per window (T).") var frames: Int = 25
        @Option(help: "Frames between window starts.") var windowHop: Int = 25
        @Option(help: "Windows per batch.") var batchSize: Int = 32
        @Option(help: "Epochs per block (each a fresh shuffle and a full pass of batches).") var epochs: Int = 1
        @Flag(help: "Print the peak RSS so far as each block arrives.") var perBlock = false

        /// The limits the config puts on the same sizes (schedule.*, model.frames).
        func validate() throws {
            for (option, value, largest) in [("--block-size", blockSize, 1_000_000), ("--block-hop", blockHop, 1_000_000),
                                             ("--frames", frames, 10_000), ("--window-hop", windowHop, 10_000),
                                             ("--batch-size", batchSize, 1_000_000), ("--epochs", epochs, 1_000_000)] where !(1...largest).contains(value) {
                throw ValidationError("\(option) must be from 1 to \(largest) (as in a config), got \(value)")
            }
            if blockHop > blockSize { throw ValidationError("--block-hop must be at most --block-size (\(blockSize)) so no song is skipped, got \(blockHop)") }
            if windowHop > frames { throw ValidationError("--window-hop must be at most --frames (\(frames)) so no frame is skipped, got \(windowHop)") }
        }

        func run() throws {
            let (songs, cache) = try options.open()
            try cache.prepare(songs, progress: true)
            if cache.buildCount > 0 {
                print("note: \(cache.buildCount) cache entries were computed in this run, so the peak below includes that work; run again to measure streaming alone")
            }
            let baseline = ResourceUsage.peakResidentBytes
            let schedule = Schedule(blockSize: blockSize, blockHop: blockHop)
            let blocks = schedule.blocks(songCount: songs.count)
            // The batch holds what a batch of these blocks can hold, checked against the memory first.
            let songWindows = try songs.map { windowStarts(frames: try cache.features($0).frames, length: frames, hop: windowHop).count }
            let largest = max(Block.largestBatch(windows: blocks.map { $0.reduce(0) { $0 + songWindows[$1] } }, batchSize: batchSize), 1)
            try MachineMemory.require(Batch.bytes(capacity: largest, length: frames, bins: cache.settings.bins),
                                      for: "--batch-size \(batchSize): batches of up to \(largest) windows of \(frames) × \(cache.settings.bins)",
                                      advice: "lower --batch-size or --frames")
            let stream = BlockStream(cache: cache, songs: songs, blocks: blocks, windowLength: frames, windowHop: windowHop)
            var rng = SeededGenerator(seed: 1)
            var batch = Batch(capacity: largest, length: frames, bins: cache.settings.bins)
            var batches = 0, windows = 0
            var checksum: Float = 0
            let start = Date()
            for b in 0..<blocks.count {
                let block = try stream.block(at: b)
                if perBlock { print("block \(b) (songs \(block.range.lowerBound)..<\(block.range.upperBound)): peak RSS so far \(ResourceUsage.peakResidentBytes / 1_000_000) MB") }
                for _ in 0..<epochs {
                    for group in block.batchOrder(batchSize: batchSize, using: &rng) {
                        block.fill(&batch, with: group)
                        checksum += batch.mixture[0] + batch.sources[3][batch.count * frames * batch.bins - 1]
                        batches += 1
                        windows += group.count
                    }
                }
            }
            let elapsed = Date().timeIntervalSince(start)
            let mb = { (bytes: Int) in String(format: "%.0f MB", Double(bytes) / 1e6) }
            print("\(songs.count) songs, \(blocks.count) blocks of \(min(blockSize, songs.count)), \(batches) batches (\(windows) windows) in \(String(format: "%.1f", elapsed)) s")
            print("peak RSS \(mb(ResourceUsage.peakResidentBytes)) (before streaming: \(mb(baseline))); checksum \(checksum)")
        }
    }
}

/// A split of a dataset and its feature cache, as `dataset cache` and `dataset stream` take them.
struct SplitOptions: ParsableArguments {
    @Argument(help: "Dataset root.")
    var root: String

    @Option(help: "Split: Dev/train or Test/test.")
    var split: String = "Dev"

    @Option(help: "Cache folder (default: <root>/.cnnsep-cache).")
    var cache: String?

    /// The split's songs and the cache (at the default STFT settings).
    func open() throws -> ([Song], FeatureCache) {
        let dataset = try Dataset.open(URL(fileURLWithPath: root))
        let songs = try dataset.songs(split: split)
        return (songs, FeatureCache(folder: DatasetCommand.cacheFolder(cache, dataset), settings: FeatureSettings()))
    }
}
