import ArgumentParser
import Audio
import Foundation
import Support

/// `cnnsep bench resample`: per-channel real-time factor of the resampler's recipes on the same
/// signal in the same run (commits 8586079–2427d4f also timed libsamplerate's SRC_SINC_BEST_QUALITY, the
/// converter libsoxr replaced: BENCHMARKS.md, Audio). The converters take turns, round after round, so load changes hit them all alike; the
/// fastest round of each is reported.
struct BenchResample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resample",
        abstract: "Per-channel real-time factor of each resampler recipe for 48↔44.1 kHz and 8↔44.1 kHz.")

    @Option(help: "Seconds of mono noise converted per measurement.") var seconds = 60.0
    @Option(help: "Rounds (the fastest of each converter is reported).") var rounds = 3
    @Option(help: "Write the results as JSON to this file.") var json: String?

    func run() throws {
        guard seconds > 0, rounds > 0 else { throw CNNSepError("bench resample: --seconds and --rounds must be positive") }
        let recipes: [ResamplerRecipe] = [
            .standard,
            ResamplerRecipe(precision: .high),
            ResamplerRecipe(precision: .veryHigh, flatPassband: false),
            ResamplerRecipe(precision: .high, flatPassband: false),
        ]
        var converters: [(name: String, convert: ([Float], Int, Int) throws -> [Float])] = recipes.map { recipe in
            ("libsoxr \(recipe)\(recipe == .standard ? " (standard)" : "")", { x, from, to in
                try Resampler.resample(AudioBuffer(sampleRate: from, channels: [x]), to: to, recipe: recipe).channels[0]
            })
        }
        converters.append(("libsoxr standard, streamed in pieces of 65536", { x, from, to in
            let converter = try StreamingResampler(from: from, to: to, channelCount: 1)
            var out: [Float] = []
            for start in stride(from: 0, to: x.count, by: 65536) {
                let end = min(x.count, start + 65536)
                out += try converter.process([Array(x[start..<end])], last: end == x.count)[0]
            }
            return out
        }))

        print("bench resample: \(seconds) s of mono noise per conversion, fastest of \(rounds) rounds, load \(ResourceUsage.loadAverage)")
        let pairs = [(48000, 44100), (44100, 48000), (8000, 44100), (44100, 8000)]
        print("| converter | " + pairs.map { "\($0.0 / 1000)→\($0.1 / 1000) kHz" }.joined(separator: " | ") + " |")
        print("|---|" + pairs.map { _ in "---:|" }.joined())
        var best = [[Double]](repeating: [Double](repeating: .infinity, count: pairs.count), count: converters.count)
        for (p, (from, to)) in pairs.enumerated() {
            var rng = SeededGenerator(seed: 5)
            let x = (0..<Int(seconds * Double(from))).map { _ in rng.nextFloat() - 0.5 }
            let expected = Resampler.outputCount(x.count, from: from, to: to)
            for _ in 0..<rounds {
                for (c, converter) in converters.enumerated() {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let y = try converter.convert(x, from, to)
                    best[c][p] = min(best[c][p], Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9)
                    guard y.count == expected else { throw CNNSepError("bench resample: \(converter.name) gave \(y.count) samples, expected \(expected)") }
                }
            }
        }
        var result: [String: Any] = ["seconds_of_audio": seconds, "rounds": rounds]
        for (c, converter) in converters.enumerated() {
            print("| \(converter.name) | " + best[c].map { String(format: "%.3f s, %.0f×", $0, seconds / $0) }.joined(separator: " | ") + " |")
            result[converter.name] = Dictionary(uniqueKeysWithValues: zip(pairs, best[c]).map { ("\($0.0.0)->\($0.0.1)", seconds / $0.1) })
        }
        print("load at the end \(ResourceUsage.loadAverage)")
        result["load_average"] = ResourceUsage.loadAverage
        if let json { try writeJSON(result, to: json) }
    }
}
