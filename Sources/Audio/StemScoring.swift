import Foundation
import Support

/// Scores a folder of estimated stems against a folder of reference stems: `{bass,drums,other,vocals}.wav`
/// paired by name (never by listing order), mono downmixes, BSS Eval v3 (`Metrics.bssEval`), and
/// optionally museval-style framewise figures (window = hop = `framewise` seconds, median over windows).
public struct StemScores {

    public let referenceFolder: URL
    public let estimateFolder: URL
    public let sampleRate: Int
    public let frameCount: Int
    /// Whole-signal SDR/SIR/SAR, index j = Stem.names[j].
    public let whole: BSSEvalResult
    /// Window length and hop in seconds, and one result per window (NaN where a stem is silent).
    public let framewise: (seconds: Double, windows: [BSSEvalResult])?

    /// Reads and checks all eight files before scoring; any problem is a one-line error naming the file.
    public init(references: URL, estimates: URL, framewise seconds: Double? = nil) throws {
        referenceFolder = references
        estimateFolder = estimates
        if let seconds, !(seconds > 0) { throw CNNSepError("--framewise: window must be positive seconds, got \(seconds)") }
        for folder in [references, estimates] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
                throw CNNSepError("\(folder.relativePath): no such folder")
            }
            guard isDirectory.boolValue else { throw CNNSepError("\(folder.relativePath): not a folder of stems") }
        }
        let minimum = Metrics.minimumLength(sources: Stem.names.count)
        var refs: [[Float]] = [], ests: [[Float]] = []
        var rate = 0, length = 0
        var first = ""
        for name in Stem.names {
            for (folder, isReference) in [(references, true), (estimates, false)] {
                let url = folder.appendingPathComponent("\(name).wav")
                let buffer = try AudioFile.read(url)
                if first.isEmpty {
                    (rate, length, first) = (buffer.sampleRate, buffer.frameCount, url.path)
                    guard length >= minimum else {
                        throw CNNSepError("\(url.relativePath): \(Metrics.tooShort(length, rate: rate, sources: Stem.names.count))")
                    }
                    if let seconds { try Metrics.checkFramewiseWindow(seconds, sampleRate: rate, sources: Stem.names.count, length: length) }
                } else if buffer.sampleRate != rate {
                    throw CNNSepError("\(url.relativePath): \(buffer.sampleRate) Hz, but \(first) is \(rate) Hz; stems must share one rate")
                } else if buffer.frameCount != length {
                    throw CNNSepError("\(url.relativePath): \(buffer.frameCount) samples, but \(first) has \(length); stems must have one length")
                }
                let mono = buffer.mono()
                if Metrics.isSilent(mono) {
                    throw CNNSepError("\(url.relativePath): silent (all zeros); SDR/SIR/SAR are undefined for it")
                }
                if isReference { refs.append(mono) } else { ests.append(mono) }
            }
        }
        sampleRate = rate
        frameCount = length
        whole = try Metrics.bssEval(references: refs, estimates: ests)
        if let seconds {
            framewise = (seconds, try Metrics.bssEvalFramewise(references: refs, estimates: ests, sampleRate: rate,
                                                               window: seconds, hop: seconds))
        } else {
            framewise = nil
        }
    }

    /// Median over windows of source j's metric (museval's per-track figure).
    public func framewiseMedian(_ metric: KeyPath<BSSEvalResult, [Double]>, source j: Int) -> Double {
        Statistics.median(framewise?.windows.map { $0[keyPath: metric][j] } ?? [])
    }

    /// A plain-text table: one row per source, whole-signal SDR/SIR/SAR (and framewise medians).
    public func table() -> String {
        func cell(_ x: Double) -> String {
            let text = x.isFinite ? String(format: "%.2f", x) : "\(x)"
            return String(repeating: " ", count: max(8 - text.count, 0)) + text
        }
        var header = "source      SDR      SIR      SAR"
        if framewise != nil { header += "   medSDR   medSIR   medSAR" }
        var lines = [header]
        for (j, name) in Stem.names.enumerated() {
            var line = name.padding(toLength: 7, withPad: " ", startingAt: 0)
                + cell(whole.sdr[j]) + " " + cell(whole.sir[j]) + " " + cell(whole.sar[j])
            if framewise != nil {
                line += " " + cell(framewiseMedian(\.sdr, source: j)) + " " + cell(framewiseMedian(\.sir, source: j))
                    + " " + cell(framewiseMedian(\.sar, source: j))
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// The scores as a JSON object (non-finite values are null).
    public func json() -> [String: Any] {
        func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        var sources: [String: Any] = [:]
        for (j, name) in Stem.names.enumerated() {
            var entry: [String: Any] = ["sdr": number(whole.sdr[j]), "sir": number(whole.sir[j]), "sar": number(whole.sar[j])]
            if let framewise {
                entry["framewise"] = [
                    "sdr": framewise.windows.map { number($0.sdr[j]) },
                    "sir": framewise.windows.map { number($0.sir[j]) },
                    "sar": framewise.windows.map { number($0.sar[j]) },
                    "median_sdr": number(framewiseMedian(\.sdr, source: j)),
                    "median_sir": number(framewiseMedian(\.sir, source: j)),
                    "median_sar": number(framewiseMedian(\.sar, source: j)),
                ]
            }
            sources[name] = entry
        }
        var object: [String: Any] = [
            "metric": "BSS Eval v3 bss_eval_sources (512-tap distortion filter, as mir_eval) on mono downmixes",
            "references": referenceFolder.path, "estimates": estimateFolder.path,
            "sample_rate": sampleRate, "samples": frameCount, "sources": sources,
        ]
        if let framewise { object["framewise_window_seconds"] = framewise.seconds; object["framewise_hop_seconds"] = framewise.seconds }
        return object
    }
}
