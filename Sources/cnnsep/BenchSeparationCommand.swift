import ArgumentParser
import Audio
import Autodiff
import Configuration
import Foundation
import Inference
import Network
import Support

/// Separation of synthesized 44.1 kHz stereo songs with `Separator.separateFile` (untrained network,
/// default config). Each song is separated in a child process (`bench separation-run`) so that each
/// peak RSS is that song's alone.
struct BenchSeparation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "separation",
        abstract: "Seconds, real-time factor and phase split of separating a 4-minute stereo song; peak RSS for 1, 4 and 10 minutes.")

    @Option(help: "Minutes of the timed song.") var minutes = 4.0
    @Option(help: "Songs (minutes, comma-separated) whose peak RSS is also measured.") var rssMinutes = "1,10"
    @Option(help: "Repetitions of the timed song (the median and the fastest are reported).") var repeats = 3
    @Option(help: "Threads (decoders, channels' STFTs, stems' inverse STFTs).") var threads = 2
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() throws {
        let result = try measure()
        if let json { try writeJSON(result, to: json) }
    }

    func measure() throws -> [String: Any] {
        let extra = rssMinutes.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cnnsep-bench-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        print("bench separation: \(threads) thread(s), load \(ResourceUsage.loadAverage)")
        var runs: [[String: Any]] = []
        for _ in 0..<max(1, repeats) { runs.append(try child(minutes: minutes, folder: folder)) }
        let sorted = runs.sorted { ($0["seconds"] as! Double) < ($1["seconds"] as! Double) }
        var result = sorted[sorted.count / 2]
        result["seconds_min"] = sorted[0]["seconds"]
        result["repeats"] = runs.count
        var rss: [String: Any] = [String(format: "%g", minutes): result["peak_rss_mb"]!]
        for m in extra { rss[String(format: "%g", m)] = try child(minutes: m, folder: folder)["peak_rss_mb"] }
        result["peak_rss_mb_by_minutes"] = rss
        result["load_average"] = ResourceUsage.loadAverage

        let phases = ["read", "resample", "stft", "network", "istft", "emit", "other"]
        print("| song | seconds (median of \(runs.count); min) | × real time | " + phases.joined(separator: " | ") + " | peak RSS |")
        print("|---|---:|---:|" + phases.map { _ in "---:|" }.joined() + "---:|")
        let split = result["phases_seconds"] as! [String: Double]
        print(String(format: "| %g min stereo 44.1 kHz | %.3f; %.3f | %.0f× | ", minutes, result["seconds"] as! Double, sorted[0]["seconds"] as! Double,
                     result["real_time_factor"] as! Double)
              + phases.map { String(format: "%.3f", split[$0] ?? 0) }.joined(separator: " | ")
              + String(format: " | %.0f MB |", result["peak_rss_mb"] as! Double))
        for (m, r) in rss.sorted(by: { Double($0.key)! < Double($1.key)! }) {
            print(String(format: "peak RSS, %@-minute song: %.0f MB", m, r as! Double))
        }
        return result
    }

    /// Synthesizes the song (in this process, streamed to disk) and separates it in a child process.
    func child(minutes: Double, folder: URL) throws -> [String: Any] {
        let song = folder.appendingPathComponent(String(format: "song-%gmin.wav", minutes))
        if !FileManager.default.fileExists(atPath: song.path) { try synthesizeSong(song, seconds: minutes * 60) }
        let out = folder.appendingPathComponent("result.json")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["bench", "separation-run", song.path, "--threads", "\(threads)", "--json", out.path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CNNSepError("bench separation: child for \(minutes) min exited with \(process.terminationStatus)") }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: out))
        guard let dict = object as? [String: Any] else { throw CNNSepError("\(out.path): not a JSON object") }
        return dict
    }

    /// Deterministic stereo song: a few slowly gliding tones with tremolo plus noise, per channel.
    func synthesizeSong(_ url: URL, seconds: Double) throws {
        let rate = 44100, total = Int(seconds * Double(rate))
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

/// One separation (the child process of `bench separation`): separateFile of the song with timings.
struct BenchSeparationRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "separation-run", abstract: "Separate one song with phase timings (used by 'bench separation').",
        shouldDisplay: false)
    @Argument var song: String
    @Option var threads = 2
    @Option var json: String

    func run() throws {
        setBLASThreads(1)
        let config = Config()
        let separator = Separator(network: ChandnaNetwork(shape: config.model, seed: 1), config: config)
        separator.threads = threads
        let timings = SeparationTimings()
        separator.timings = timings
        let input = URL(fileURLWithPath: song)
        let out = input.deletingLastPathComponent().appendingPathComponent("stems-\(getpid())")
        defer { try? FileManager.default.removeItem(at: out) }
        let report = try separator.separateFile(input, into: out)
        let phases = ["read": timings.read, "resample": 0, "stft": timings.stft, "network": timings.network,
                      "istft": timings.istft, "emit": timings.emit]
        var split = phases
        split["other"] = report.seconds - phases.values.reduce(0, +)
        let result: [String: Any] = [
            "name": "cnnsep separateFile", "song_seconds": report.duration, "seconds": report.seconds,
            "real_time_factor": report.realTimeFactor, "phases_seconds": split,
            "peak_rss_mb": peakRSSMegabytes(), "threads": threads, "load_average": ResourceUsage.loadAverage,
        ]
        try writeJSON(result, to: json)
    }
}
