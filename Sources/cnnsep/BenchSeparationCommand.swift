import ArgumentParser
import Audio
import Autodiff
import Configuration
import Foundation
import Inference
import Network
import Support

/// Separation of synthesized 4-minute stereo songs at 44.1 and 48 kHz with `Separator.separateFile`
/// (untrained default-size network, default separation settings), beside its floors timed in the same
/// child process: the network's own forward pass over the same windows and the STFT + inverse STFT of
/// the same song, both on the same threads. Each song is separated in a child process
/// (`bench separation-run`) so that each peak RSS is that song's alone.
struct BenchSeparation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "separation",
        abstract: "Seconds, real-time factor, phase split and floors of separating 4-minute stereo songs at 44.1 and 48 kHz; peak RSS for other lengths.")

    @Option(help: "Minutes of the timed songs.") var minutes = 4.0
    @Option(help: "Sample rates of the timed songs (comma-separated).") var rates = "44100,48000"
    @Option(help: "Songs (minutes, comma-separated; 44.1 kHz) whose peak RSS is also measured.") var rssMinutes = "1,10"
    @Option(help: "Repetitions of each timed song (the median and the fastest are reported).") var repeats = 5
    @Option(help: "Threads (segment workers).") var threads = 2
    @Option(help: "Separation hop (default: the config's).") var hop: Int?
    @Option(help: "Separation crossfade, linear or triangular (default: the config's).") var crossfade: String?
    @Option(help: "Windows per network call (default: the separator's).") var batchSize: Int?
    @Option(help: "Frames per segment (default: the separator's).") var segmentFrames: Int?
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() throws {
        let result = try measure()
        if let json { try writeJSON(result, to: json) }
    }

    static let phases = ["read", "stft", "network", "istft", "wait", "emit"]

    func measure() throws -> [String: Any] {
        let songRates = rates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let extra = rssMinutes.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cnnsep-bench-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let loadBefore = ResourceUsage.loadAverage
        print("bench separation: \(threads) thread(s), load \(loadBefore)")
        // Repetitions interleave the songs, so that a burst of load hits them alike.
        var runs = [Int: [[String: Any]]]()
        for _ in 0..<max(1, repeats) {
            for rate in songRates { runs[rate, default: []].append(try child(minutes: minutes, rate: rate, folder: folder)) }
        }
        var results: [String: Any] = ["load_average_before": loadBefore, "repeats": max(1, repeats), "threads": threads]
        print("| song | seconds (median of \(max(1, repeats)); min) | × real time | CPU s | "
              + Self.phases.joined(separator: " | ") + " | network floor | STFT+iSTFT floor | separation's transforms | end-to-end / floor | reading alone | writing alone | peak RSS |")
        print("|---|---:|---:|---:|" + Self.phases.map { _ in "---:|" }.joined() + "---:|---:|---:|---:|---:|---:|---:|")
        for rate in songRates {
            let sorted = runs[rate]!.sorted { ($0["seconds"] as! Double) < ($1["seconds"] as! Double) }
            var result = sorted[sorted.count / 2]
            result["seconds_min"] = sorted[0]["seconds"]
            result["real_time_factor_best"] = sorted[0]["real_time_factor"]
            for key in ["network_floor_seconds", "transforms_floor_seconds", "separation_transforms_seconds", "cpu_seconds",
                        "read_seconds", "write_seconds"] {
                result[key] = median(sorted.map { $0[key] as! Double })
            }
            let floor = (result["network_floor_seconds"] as! Double) + (result["separation_transforms_seconds"] as! Double)
            result["floor_seconds"] = floor
            result["over_floor"] = (result["seconds"] as! Double) / floor
            let split = result["phases_seconds"] as! [String: Double]
            print(String(format: "| %g min stereo %.1f kHz | %.3f; %.3f | %.0f× (best %.0f×) | %.2f | ", minutes, Double(rate) / 1000,
                         result["seconds"] as! Double, sorted[0]["seconds"] as! Double, result["real_time_factor"] as! Double,
                         sorted[0]["real_time_factor"] as! Double, result["cpu_seconds"] as! Double)
                  + Self.phases.map { String(format: "%.3f", split[$0] ?? 0) }.joined(separator: " | ")
                  + String(format: " | %.3f | %.3f | %.3f | %.2f | %.3f | %.3f | %.0f MB |", result["network_floor_seconds"] as! Double,
                           result["transforms_floor_seconds"] as! Double, result["separation_transforms_seconds"] as! Double,
                           result["over_floor"] as! Double, result["read_seconds"] as! Double, result["write_seconds"] as! Double,
                           result["peak_rss_mb"] as! Double))
            results["\(rate)"] = result
        }
        var rss: [String: Any] = [:]
        for m in extra { rss[String(format: "%g", m)] = try child(minutes: m, rate: 44100, folder: folder, floors: false)["peak_rss_mb"] }
        for (m, r) in rss.sorted(by: { Double($0.key)! < Double($1.key)! }) {
            print(String(format: "peak RSS, %@-minute song: %.0f MB", m, r as! Double))
        }
        results["peak_rss_mb_by_minutes"] = rss
        results["load_average_after"] = ResourceUsage.loadAverage
        print("phases: thread-seconds summed over the workers (read includes converting a 48 kHz song to 44.1 kHz, "
              + "emit converting the stems back and writing them); load after \(ResourceUsage.loadAverage)")
        return results
    }

    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// Synthesizes the song (in this process, streamed to disk) and separates it in a child process.
    func child(minutes: Double, rate: Int, folder: URL, floors: Bool = true) throws -> [String: Any] {
        let song = folder.appendingPathComponent(String(format: "song-%gmin-%d.wav", minutes, rate))
        if !FileManager.default.fileExists(atPath: song.path) { try synthesizeSong(song, seconds: minutes * 60, rate: rate) }
        let out = folder.appendingPathComponent("result.json")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var arguments = ["bench", "separation-run", song.path, "--threads", "\(threads)", "--json", out.path, "--floors", "\(floors)"]
        for (option, value) in [("--hop", hop.map(String.init)), ("--crossfade", crossfade),
                                ("--batch-size", batchSize.map(String.init)), ("--segment-frames", segmentFrames.map(String.init))] {
            if let value { arguments += [option, value] }
        }
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CNNSepError("bench separation: child for \(minutes) min at \(rate) Hz exited with \(process.terminationStatus)") }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: out))
        guard let dict = object as? [String: Any] else { throw CNNSepError("\(out.relativePath): not a JSON object") }
        return dict
    }

    /// Deterministic stereo song: a few slowly gliding tones with tremolo plus noise, per channel.
    func synthesizeSong(_ url: URL, seconds: Double, rate: Int) throws {
        let total = Int(seconds * Double(rate))
        let writer = try AudioFileWriter(url, sampleRate: rate, channelCount: 2, format: .wav16)
        var rng = SeededGenerator(seed: 42)
        var done = 0
        while done < total {
            let n = min(rate, total - done)
            var channels = [[Float]](repeating: [Float](repeating: 0, count: n), count: 2)
            for i in 0..<n {
                let t = Double(done + i) / Double(rate)
                let bass = 0.25 * sin(2 * .pi * (55 + 5 * sin(0.1 * t)) * t)
                let lead = 0.12 * sin(2 * .pi * (440 + 40 * sin(0.3 * t)) * t) * (0.6 + 0.4 * sin(2 * .pi * 2 * t))
                let pad = 0.08 * sin(2 * .pi * 660 * t)
                channels[0][i] = Float(bass + lead + 0.5 * pad + Double(rng.nextFloat() - 0.5) * 0.1)
                channels[1][i] = Float(bass + 0.5 * lead + pad + Double(rng.nextFloat() - 0.5) * 0.1)
            }
            try writer.write(AudioBuffer(sampleRate: rate, channels: channels))
            done += n
        }
        _ = try writer.commit()
    }
}

/// One separation (the child process of `bench separation`): separateFile of the song with timings,
/// then its floors on the same threads: the network over the same number of windows, and the STFT
/// and inverse STFT of the song at the model's rate.
struct BenchSeparationRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "separation-run", abstract: "Separate one song with phase timings and floors (used by 'bench separation').",
        shouldDisplay: false)
    @Argument var song: String
    @Option var threads = 2
    @Option var json: String
    @Option var floors = true
    @Option var hop: Int?
    @Option var crossfade: String?
    @Option var batchSize: Int?
    @Option var segmentFrames: Int?

    func run() throws {
        setBLASThreads(1)
        var config = Config()
        if let hop { config.separation.hop = hop }
        if let crossfade {
            guard let kind = SeparationSettings.Crossfade(rawValue: crossfade) else { throw CNNSepError("--crossfade: expected linear or triangular, got \(crossfade)") }
            config.separation.crossfade = kind
        }
        let separator = Separator(network: ChandnaNetwork(shape: config.model, seed: 1), config: config)
        separator.threads = threads
        if let batchSize { separator.batchSize = batchSize }
        if let segmentFrames { separator.segmentFrames = segmentFrames }
        let timings = SeparationTimings()
        separator.timings = timings
        let input = URL(fileURLWithPath: song)
        let out = input.deletingLastPathComponent().appendingPathComponent("stems-\(getpid())")
        defer { try? FileManager.default.removeItem(at: out) }
        let cpu = ResourceUsage.cpuSeconds
        let report = try separator.separateFile(input, into: out)
        let cpuUsed = ResourceUsage.cpuSeconds - cpu
        let split = ["read": timings.read, "stft": timings.stft, "network": timings.network,
                     "istft": timings.istft, "wait": timings.wait, "emit": timings.emit]
        var result: [String: Any] = [
            "name": "cnnsep separateFile", "song_seconds": report.duration, "seconds": report.seconds,
            "real_time_factor": report.realTimeFactor, "phases_seconds": split, "cpu_seconds": cpuUsed,
            "peak_rss_mb": peakRSSMegabytes(), "threads": threads, "load_average": ResourceUsage.loadAverage,
            "hop": separator.windowHop, "crossfade": separator.crossfade.rawValue, "batch_size": separator.batchSize,
            "segment_frames": separator.segmentFrames,
        ]
        if floors {
            let info = try AudioFile.info(input)
            let length = Resampler.outputCount(info.frameCount, from: info.sampleRate, to: config.features.sampleRate)
            let frames = separator.stft.frameCount(samples: length)
            let windows = Audio.windowStarts(frames: frames, length: config.model.frames, hop: separator.windowHop).count
            result["windows"] = windows
            result["network_floor_seconds"] = networkFloor(separator, windows: windows)
            let (forward, inverse) = transformFloor(separator.stft, channels: info.channelCount, length: length)
            result["transforms_floor_seconds"] = forward + inverse
            // Separation inverts three sources per channel ("other" is the remainder).
            result["separation_transforms_seconds"] = forward + 3 * inverse
            let io = try inputOutput(input, info: info, folder: out)
            result["read_seconds"] = io.read
            result["write_seconds"] = io.write
        }
        try writeJSON(result, to: json)
    }

    /// Seconds of the network alone (forward pass and soft masks) over `windows` windows in the
    /// separator's batches, split over `threads` threads as the separator's workers split them.
    func networkFloor(_ separator: Separator, windows: Int) -> Double {
        let m = separator.config.model, batch = separator.batchSize, parts = max(1, threads)
        let engines = (0..<parts).map { _ in NetworkEngine(network: separator.network, capacity: batch, threads: 1) }
        var rng = SeededGenerator(seed: 3)
        let input = (0..<batch * m.frames * m.bins).map { _ in rng.nextFloat() }
        let masks = (0..<4).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: parts * batch * m.frames * m.bins) }
        defer { masks.forEach { $0.deallocate() } }
        let start = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let engine = engines[part]
            let offset = part * batch * m.frames * m.bins
            var done = part * batch
            while done < windows {
                let b = min(batch, windows - done)
                engine.input.update(from: input, count: b * m.frames * m.bins)
                engine.forward(batch: b)
                engine.masks(batch: b, into: (masks[0] + offset, masks[1] + offset, masks[2] + offset, masks[3] + offset))
                done += parts * batch
            }
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// Seconds of reading the song in 2048-frame pieces, and of writing four stems of its length and
    /// channels (noise, 16-bit WAV) in such pieces: what separateFile's reading and writing cost alone.
    func inputOutput(_ input: URL, info: AudioInfo, folder: URL) throws -> (read: Double, write: Double) {
        let piece = 2048 * 256
        var t0 = DispatchTime.now().uptimeNanoseconds
        for start in stride(from: 0, to: info.frameCount, by: piece) {
            _ = try AudioFile.read(input, frames: start..<min(start + piece, info.frameCount))
        }
        let read = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        var rng = SeededGenerator(seed: 5)
        let noise = (0..<piece).map { _ in rng.nextFloat() - 0.5 }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        t0 = DispatchTime.now().uptimeNanoseconds
        let writers = try Separator.stemURLs(in: folder).map {
            try AudioFileWriter($0, sampleRate: info.sampleRate, channelCount: info.channelCount, format: .wav16)
        }
        for start in stride(from: 0, to: info.frameCount, by: piece) {
            let n = min(piece, info.frameCount - start)
            let channels = [[Float]](repeating: Array(noise[0..<n]), count: info.channelCount)
            for w in writers { try w.write(AudioBuffer(sampleRate: info.sampleRate, channels: channels)) }
        }
        for w in writers { try w.commit() }
        return (read, Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
    }

    /// Seconds of the STFT and of the inverse STFT of a `channels`-channel song of `length` samples
    /// (noise), in blocks of frames, channels split over `threads` threads.
    func transformFloor(_ stft: STFT, channels: Int, length: Int) -> (forward: Double, inverse: Double) {
        let frames = stft.frameCount(samples: length), block = 256, bins = stft.bins
        var rng = SeededGenerator(seed: 4)
        let signal = (0..<length).map { _ in rng.nextFloat() - 0.5 }
        var forward = 0.0, inverse = 0.0
        let lock = NSLock()
        // Each thread's own seconds; the threads run side by side, so the slower one is the wall time.
        DispatchQueue.concurrentPerform(iterations: min(max(1, threads), channels)) { part in
            let workspace = stft.makeWorkspace()
            let spectra = UnsafeMutablePointer<Float>.allocate(capacity: block * 2 * bins)
            let output = UnsafeMutablePointer<Float>.allocate(capacity: (block - 1) * stft.hop + stft.windowLength)
            defer { spectra.deallocate(); output.deallocate() }
            var (f, i) = (0.0, 0.0)
            for _ in stride(from: part, to: channels, by: max(1, threads)) {
                signal.withUnsafeBufferPointer { x in
                    for first in stride(from: 0, to: frames, by: block) {
                        let range = first..<min(first + block, frames)
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        stft.analyzeFrames(range, samples: x.baseAddress!, startingAt: 0, totalLength: length, workspace: workspace) { row, z in
                            (spectra + row * 2 * bins).update(from: z, count: 2 * bins)
                        }
                        let t1 = DispatchTime.now().uptimeNanoseconds
                        stft.overlapAdd(frames: range.count, into: output, mode: .start, workspace: workspace) { row, z in
                            z.update(from: spectra + row * 2 * bins, count: 2 * bins)
                        }
                        let t2 = DispatchTime.now().uptimeNanoseconds
                        f += Double(t1 - t0) * 1e-9; i += Double(t2 - t1) * 1e-9
                    }
                }
            }
            lock.lock(); forward = max(forward, f); inverse = max(inverse, i); lock.unlock()
        }
        return (forward, inverse)
    }
}
