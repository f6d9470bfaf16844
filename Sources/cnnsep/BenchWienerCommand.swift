import ArgumentParser
import Audio
import Foundation
import Support

/// `cnnsep bench wiener`: the multichannel Wiener post-filter on one separation segment (by default
/// 2048 frames × 513 bins, 4 sources, stereo, as `Separator` streams a song), per iteration count,
/// beside the baseline of the same run: the inverse STFTs of that segment's 4 × C stems (what
/// separation does with every segment anyway), both on one thread. Reported per segment and as
/// seconds per 4 minutes of audio at 44.1 kHz.
struct BenchWiener: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wiener",
        abstract: "Time of the Wiener post-filter on a separation segment, against the segment's inverse STFTs.")

    @Option(help: "Frames per segment.") var frames = 2048
    @Option(help: "Channels (1 = mono, 2 = stereo).") var channels = 2
    @Option(help: "Largest iteration count timed (1 ... this).") var iterations = 2
    @Option(help: "Rounds (the fastest of each is reported).") var repetitions = 5
    @Option(help: "Threads of the filter (the baseline runs on one).") var threads = 1
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() throws {
        guard frames > 0, channels > 0, iterations > 0, repetitions > 0, threads > 0 else {
            throw CNNSepError("bench wiener: --frames, --channels, --iterations, --repetitions and --threads must be positive")
        }
        let stft = STFT(), bins = stft.bins, sources = 4
        let (mixture, estimates) = syntheticSegment(frames: frames, bins: bins, sources: sources)
        let framesPer4Minutes = 240.0 * 44100 / Double(stft.hop)
        let perFourMinutes = framesPer4Minutes / Double(frames)
        print("bench wiener: \(frames) frames × \(bins) bins, \(sources) sources, \(channels) channel(s), filter on \(threads) thread(s), fastest of \(repetitions) rounds; load \(ResourceUsage.loadAverage)")

        // The contenders take turns, round after round, so load changes hit them alike; the fastest
        // round of each is reported, in wall time and in the process's CPU time (less sensitive to a
        // busy machine; all threads counted).
        var work = estimates
        let contenders: [(name: String, run: () -> Void)] = [
            ("inverse STFTs of the \(sources * channels) stems (baseline)", {
                for _ in 0..<sources {
                    for c in 0..<channels {
                        var synthesizer = OverlapAddSynthesizer(stft: stft, length: frames * stft.hop)
                        _ = synthesizer.add(estimates[0][c])
                        _ = synthesizer.finish()
                    }
                }
            }),
        ] + (1...iterations).map { n in
            ("Wiener filter, \(n) iteration\(n == 1 ? "" : "s")", { WienerFilter(iterations: n, threads: threads).refine(&work, mixture: mixture) })
        }
        var wall = [Double](repeating: .infinity, count: contenders.count), cpu = wall
        for _ in 0..<repetitions {
            for (i, contender) in contenders.enumerated() {
                let (w, c) = wallAndCPUTime(contender.run)
                wall[i] = min(wall[i], w)
                cpu[i] = min(cpu[i], c)
            }
        }
        print("| | wall per segment | wall per 4 min | CPU per segment | CPU per 4 min | CPU ratio to baseline |")
        print("|---|---:|---:|---:|---:|---:|")
        var result: [String: Any] = ["frames": frames, "bins": bins, "sources": sources, "channels": channels,
                                     "load_average": ResourceUsage.loadAverage]
        for (i, contender) in contenders.enumerated() {
            print(String(format: "| %@ | %.3f s | %.2f s | %.3f s | %.2f s | %.2f |", contender.name, wall[i], wall[i] * perFourMinutes,
                         cpu[i], cpu[i] * perFourMinutes, cpu[i] / cpu[0]))
            result[contender.name] = ["wall_seconds": wall[i], "cpu_seconds": cpu[i], "cpu_seconds_per_4_minutes": cpu[i] * perFourMinutes]
        }
        print("load at the end \(ResourceUsage.loadAverage)")
        if let json { try writeJSON(result, to: json) }
    }

    /// A mixture of `sources` panned sources with random levels per bin, and the soft-mask estimates
    /// (each source's share of the magnitudes, times each channel's mixture spectrum).
    func syntheticSegment(frames: Int, bins: Int, sources: Int) -> (mixture: [Spectrum], estimates: [[Spectrum]]) {
        var rng = SeededGenerator(seed: 14)
        let count = frames * bins, channels = self.channels   // not the @Option wrapper in the loops
        var mixture = [Spectrum](repeating: Spectrum(frames: frames, bins: bins), count: channels)
        var magnitudes = [[Float]](repeating: [Float](repeating: 0, count: count), count: sources)
        for j in 0..<sources {
            let pans = (0..<channels).map { _ in 0.2 + 0.8 * rng.nextFloat() }
            for i in 0..<count {
                let level = 100 * rng.nextFloat() * rng.nextFloat(), phase = 2 * Float.pi * rng.nextFloat()
                magnitudes[j][i] = level
                for c in 0..<channels {
                    mixture[c].real[i] += pans[c] * level * cos(phase)
                    mixture[c].imag[i] += pans[c] * level * sin(phase)
                }
            }
        }
        let estimates = (0..<sources).map { j in
            (0..<channels).map { c in
                var s = Spectrum(frames: frames, bins: bins)
                for i in 0..<count {
                    let total = magnitudes.reduce(Float(0)) { $0 + $1[i] }
                    let mask = magnitudes[j][i] / (total + 1e-8)
                    s.real[i] = mask * mixture[c].real[i]
                    s.imag[i] = mask * mixture[c].imag[i]
                }
                return s
            }
        }
        return (mixture, estimates)
    }
}

/// Wall seconds and CPU seconds (all of the process's threads) of `body`.
func wallAndCPUTime(_ body: () -> Void) -> (wall: Double, cpu: Double) {
    func cpuTime() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
    let wall0 = DispatchTime.now().uptimeNanoseconds, cpu0 = cpuTime()
    body()
    return (Double(DispatchTime.now().uptimeNanoseconds - wall0) * 1e-9, cpuTime() - cpu0)
}
