import Audio
import Foundation
import Support

/// The on-disk cache of song features: one file per song,
/// `<folder>/<split>/<song name>.features`, holding the mono magnitude spectrograms of the mixture
/// and of the four sources.
///
/// File format (little-endian):
/// - bytes 0..<8: `CNNSEPF1`; bytes 8..<16: UInt64 length `h` of the JSON header that follows;
/// - the JSON header (`CacheHeader`: format version, song, split, feature settings, size and
///   modification time of each of the five audio files, the audio's rate and length, frames, bins);
/// - zeros up to the next multiple of 4096 bytes (the data offset, page-aligned for mmap);
/// - 5 planes of `frames × bins` float32 (mixture, bass, drums, other, vocals), frame-major.
///
/// An entry is reused when its header's settings and file stamps match the audio files now, a song
/// at another rate was resampled by the same converter (`Resampler.identity`: libsoxr's version and
/// recipe), and the file has the expected size; otherwise it is recomputed. Entries are written through
/// `AtomicFile.write`, so an interrupted run leaves the old entry or none, never a torn one.
/// Features: each file read, downmixed to mono (mean of channels), resampled to
/// `settings.sampleRate` if its rate differs, then |STFT| (Audio's `STFT`, computed in chunks of
/// frames so a long song never holds its whole complex spectrogram).
public final class FeatureCache: @unchecked Sendable {
    public let folder: URL
    public let settings: FeatureSettings
    /// Recorded in the entries of songs that needed resampling (tests pass another to see them rebuilt).
    let resampler: String
    static let magic = Array("CNNSEPF1".utf8)
    static let alignment = 4096
    static let version = 1
    private let buildLock = NSLock()
    private var builds = 0
    /// Entries computed by this cache object so far (tests use it to tell reuse from recomputation).
    public var buildCount: Int { buildLock.lock(); defer { buildLock.unlock() }; return builds }

    public convenience init(folder: URL, settings: FeatureSettings) {
        self.init(folder: folder, settings: settings, resampler: Resampler.identity)
    }

    init(folder: URL, settings: FeatureSettings, resampler: String) {
        self.folder = folder
        self.settings = settings
        self.resampler = resampler
    }

    /// The converter an entry's features went through: none for a song at the feature rate.
    func resampler(forRate rate: Int) -> String? { rate == settings.sampleRate ? nil : resampler }

    /// The default cache folder of a dataset: `<dataset root>/.cnnsep-cache` (hidden, so discovery
    /// never mistakes it for a split or a song).
    public static func defaultFolder(for dataset: Dataset) -> URL {
        dataset.root.appendingPathComponent(".cnnsep-cache")
    }

    /// Where a song's entry lives.
    public func entry(for song: Song) -> URL {
        folder.appendingPathComponent(song.split).appendingPathComponent(song.name + ".features")
    }

    /// True when the song has an up-to-date entry (an entry that cannot be read is not).
    public func isCurrent(_ song: Song) -> Bool {
        if case .current? = try? open(song) { return true }
        return false
    }

    /// The song's features, memory-mapped; computed and stored first when missing or stale.
    /// Throws a one-line error naming the song and the file, with the reason, for unreadable or
    /// inconsistent audio (nothing is cached then) and for an entry that cannot be read.
    public func features(_ song: Song) throws -> SongFeatures {
        if case .current(let features) = try open(song) { return features }
        try build(song)
        switch try open(song) {
        case .current(let features):
            return features
        case .unusable(let why):
            throw CNNSepError("\(song.name): \(entry(for: song).relativePath): \(why) right after it was written (did a file of the song change meanwhile?)")
        }
    }

    /// The four sources of the song as the features see them: mono (mean of the channels), at the
    /// model's rate, each the length of the audio behind the song's `frames` feature frames (checked:
    /// a file that changed since its features were cached is an error naming it). For remixing
    /// (`RemixSettings`): kept in memory for the current block only, about 0.7 MB per second of audio.
    public func signals(_ song: Song, frames: Int) throws -> StemSignals {
        let stft = STFT(windowLength: settings.windowLength, hop: settings.hop)
        let sources = try song.sources.map { file in
            let mono: [Float]
            do { mono = try monoSignal(file) } catch let error as CNNSepError {
                throw CNNSepError(error.message.hasPrefix(song.name + ": ") ? error.message : "\(song.name): \(error.message)")
            }
            guard stft.frameCount(samples: mono.count) == frames else {
                throw CNNSepError("\(song.name): \(file.relativePath): \(mono.count) samples, not the length its cached features were made from (the file changed during training?)")
            }
            return mono
        }
        return StemSignals(sources: sources)
    }

    /// A file's audio, downmixed to mono and resampled to the features' rate if it has another one.
    func monoSignal(_ file: URL) throws -> [Float] {
        let buffer = try AudioFile.read(file)
        let mono = buffer.mono()
        return buffer.sampleRate == settings.sampleRate ? mono : try Resampler.resample(mono, from: buffer.sampleRate, to: settings.sampleRate)
    }

    /// Builds the missing or stale entries of `songs` on all cores, with a progress display.
    /// Good songs are all cached even when some are bad; then the first problem (in song order) is
    /// thrown, saying how many songs had problems.
    public func prepare(_ songs: [Song], progress: Bool) throws {
        let missing = songs.filter { !isCurrent($0) }
        guard !missing.isEmpty else { return }
        let bar = progress ? Support.Progress("features", total: missing.count, interval: 10) : nil
        let errors = ErrorList()
        let workers = max(1, min(ResourceUsage.availableCores, missing.count))
        let next = Counter()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = next.take(below: missing.count) {
                do { try build(missing[i]) } catch { errors.add(i, "\(error)") }
                bar?.advance(detail: missing[i].name)
            }
        }
        bar?.finish()
        let problems = errors.sorted
        if let first = problems.first {
            throw CNNSepError(problems.count == 1 ? first : "\(first) (and \(problems.count - 1) more songs with problems)")
        }
    }

    // MARK: - Entries

    struct FileStamp: Codable, Equatable {
        var file: String
        var size: Int64
        var modified: Double   // seconds since 1970

        init(_ url: URL) throws {
            let attributes: [FileAttributeKey: Any]
            do { attributes = try FileManager.default.attributesOfItem(atPath: url.path) } catch {
                throw CNNSepError("\(url.relativePath): no such file")
            }
            file = url.lastPathComponent
            size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
            modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        }
    }

    struct CacheHeader: Codable, Equatable {
        var version: Int
        var song: String
        var split: String
        var settings: FeatureSettings
        var files: [FileStamp]
        var audioSampleRate: Int
        var resampler: String?     // absent when the song was at the feature rate
        var audioSamples: Int
        var frames: Int
        var bins: Int
    }

    static func dataOffset(headerLength: Int) -> Int {
        (16 + headerLength + alignment - 1) / alignment * alignment
    }

    /// What `open` finds: a current entry, or one to (re)build, with why.
    enum Entry {
        case current(SongFeatures)
        case unusable(String)
    }

    /// Maps the song's entry if it is current. A missing, stale or damaged entry is `.unusable`
    /// (callers rebuild it); an entry that cannot be read at all (no permission, a name too long,
    /// no memory to map it) is an error that says why.
    func open(_ song: Song) throws -> Entry {
        let url = entry(for: song)
        func fail(_ what: String) -> CNNSepError {
            CNNSepError("\(song.name): \(url.relativePath): \(what) (\(String(cString: strerror(errno))))")
        }
        let stamps: [FileStamp]
        do { stamps = try song.files.map(FileStamp.init) } catch let error as CNNSepError {
            throw CNNSepError("\(song.name): \(error.message)")
        }
        let fd = Glibc_open(url.path)
        guard fd >= 0 else {
            if errno == ENOENT { return .unusable("no cache entry") }
            throw fail("cannot open cache entry")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw fail("cannot read cache entry") }
        guard info.st_size >= 16 else { return .unusable("damaged") }
        let size = Int(info.st_size)
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw fail("cannot map cache entry")
        }
        var keep = false
        defer { if !keep { munmap(base, size) } }
        let bytes = UnsafeRawBufferPointer(start: base, count: size)
        guard Array(bytes[0..<8]) == Self.magic else { return .unusable("not a cnnsep feature file") }
        // Sizes from the file are compared before any arithmetic on them: a damaged length or frame
        // count can be any 64-bit value.
        let storedLength = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        guard storedLength > 0, storedLength <= UInt64(size - 16) else { return .unusable("damaged header") }
        let headerLength = Int(storedLength)
        guard let header = try? JSONDecoder().decode(CacheHeader.self, from: Data(bytes[16..<(16 + headerLength)])) else {
            return .unusable("damaged header")
        }
        guard header.version == Self.version, header.settings == settings, header.files == stamps,
              header.resampler == resampler(forRate: header.audioSampleRate),
              header.bins == settings.bins, header.frames >= 0 else {
            return .unusable("stale")
        }
        let offset = Self.dataOffset(headerLength: headerLength)
        let planeBytes = 5 * header.bins * MemoryLayout<Float>.size
        guard offset <= size, header.frames <= (size - offset) / planeBytes, size == offset + header.frames * planeBytes else {
            return .unusable("wrong size")
        }
        keep = true
        let floats = (base + offset).assumingMemoryBound(to: Float.self)
        let storage = FeatureStorage(floats: UnsafePointer(floats), release: { munmap(base, size) })
        return .current(SongFeatures(name: song.name, frames: header.frames, bins: header.bins, storage: storage))
    }

    /// Computes the song's features and writes its entry atomically.
    func build(_ song: Song) throws {
        func fail(_ file: URL, _ what: String) -> CNNSepError { CNNSepError("\(song.name): \(file.relativePath): \(what)") }
        func wrap<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch let error as CNNSepError {
                throw CNNSepError(error.message.hasPrefix(song.name + ": ") ? error.message : "\(song.name): \(error.message)")
            }
        }
        // Check all five headers before decoding anything: same rate, same length.
        let infos = try wrap { try song.files.map { try AudioFile.info($0) } }
        for (file, info) in zip(song.files, infos) where info.frameCount == 0 {
            throw fail(file, "contains no audio (0 frames)")
        }
        for (file, info) in zip(song.files.dropFirst(), infos.dropFirst()) {
            if info.sampleRate != infos[0].sampleRate {
                throw fail(file, "\(info.sampleRate) Hz, but mixture.wav is \(infos[0].sampleRate) Hz (all five files must share one rate)")
            }
            if info.frameCount != infos[0].frameCount {
                throw fail(file, "\(info.frameCount) samples, but mixture.wav has \(infos[0].frameCount) (all five files must have the same length)")
            }
        }
        let stamps = try wrap { try song.files.map(FileStamp.init) }
        let stft = STFT(windowLength: settings.windowLength, hop: settings.hop)
        let rate = infos[0].sampleRate
        let samples = rate == settings.sampleRate ? infos[0].frameCount
            : Resampler.outputCount(infos[0].frameCount, from: rate, to: settings.sampleRate)
        let frames = stft.frameCount(samples: samples)
        let header = CacheHeader(version: Self.version, song: song.name, split: song.split, settings: settings,
                                 files: stamps, audioSampleRate: rate, resampler: resampler(forRate: rate),
                                 audioSamples: infos[0].frameCount,
                                 frames: frames, bins: stft.bins)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try encoder.encode(header)
        var prefix = Data(Self.magic)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { prefix.append(contentsOf: $0) }
        prefix.append(json)
        prefix.append(Data(count: Self.dataOffset(headerLength: json.count) - prefix.count))

        let url = entry(for: song)
        buildLock.lock(); builds += 1; buildLock.unlock()
        try wrap { try AtomicFile.write(to: url) { temporary in
            guard FileManager.default.createFile(atPath: temporary.path, contents: prefix),
                  let handle = try? FileHandle(forWritingTo: temporary) else {
                throw CNNSepError("\(url.relativePath): cannot write cache entry")
            }
            defer { try? handle.close() }
            try handle.seekToEnd()
            for file in song.files {
                let mono = try wrap { try monoSignal(file) }
                guard stft.frameCount(samples: mono.count) == frames else {
                    throw fail(file, "decoded to \(mono.count) samples, expected \(samples)")
                }
                let chunk = 2048
                var start = 0
                while start < frames {
                    let range = start..<min(frames, start + chunk)
                    let magnitude = stft.analyze(mono, frames: range).magnitude()
                    do {
                        try handle.write(contentsOf: magnitude.withUnsafeBufferPointer { Data(buffer: $0) })
                    } catch {
                        throw CNNSepError("\(url.relativePath): cannot write cache entry (\(error.localizedDescription))")
                    }
                    start = range.upperBound
                }
            }
        } }
    }
}

/// Hands out 0, 1, 2, … to worker threads.
final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func take(below limit: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard value < limit else { return nil }
        value += 1
        return value - 1
    }
}

/// `open(2)` read-only (named so it does not clash with `FeatureCache.open`).
func Glibc_open(_ path: String) -> Int32 {
    #if canImport(Glibc)
    return Glibc.open(path, O_RDONLY)
    #else
    return Darwin.open(path, O_RDONLY)
    #endif
}
