import ArgumentParser
import Audio
import Foundation
import Plot
import Configuration
import Data
import Evaluation
import HDF5
import Inference
import Network
import Training
import Support

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw spectrograms, masks and training curves as PNG.",
        subcommands: [PlotSpectrogram.self, PlotMasks.self, PlotTraining.self])
}

/// Size and output options shared by the plot subcommands.
struct PictureOptions: ParsableArguments {
    @Option(help: "Output PNG (default: derived from the input's name, in the current folder).")
    var out: String?

    @Option(help: "Picture width in pixels.")
    var width: Int = 900

    @Option(help: "Picture height in pixels.")
    var height: Int = 560

    func validate() throws {
        guard (200...8000).contains(width), (150...8000).contains(height) else {
            throw ValidationError("--width must be in 200...8000 and --height in 150...8000, got \(width)x\(height)")
        }
    }

    func output(default name: String) -> URL {
        URL(fileURLWithPath: out ?? name)
    }
}

/// `--start` / `--duration`, in seconds.
struct StretchOptions: ParsableArguments {
    @Option(help: "Start of the stretch to draw, in seconds.")
    var start: Double = 0

    @Option(help: "Length of the stretch to draw, in seconds.")
    var duration: Double?

    func validate() throws {
        guard start >= 0, start.isFinite else { throw ValidationError("--start must be ≥ 0 seconds, got \(start)") }
        if let duration, !(duration > 0 && duration.isFinite) {
            throw ValidationError("--duration must be > 0 seconds, got \(duration)")
        }
    }
}

// MARK: - plot spectrogram

struct PlotSpectrogram: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectrogram",
        abstract: "Log-magnitude spectrograms (dB) of a song, or of a mixture and its four stems.",
        discussion: """
        SONG_OR_STEM_DIR is an audio file, or a folder holding bass.wav, drums.wav, other.wav and \
        vocals.wav (a separation's output, a MUSDB18-HQ song) and mixture.wav if there is one; for a \
        DSD100 song folder (Sources/<split>/<song> or Mixtures/<split>/<song>) the mixture and the stems \
        are found in both halves of the dataset. All panels share one dB scale: 0 dB is a full-scale \
        sine, the scale spans 80 dB below the loudest bin (rounded up to 10 dB). Mono downmix, STFT \
        of 1024 samples with hop 256, periodic Hann window. Default output: <name>-spectrogram.png.
        """)

    @Argument(help: "An audio file, or a folder of stems.")
    var songOrStemDir: String

    @OptionGroup var picture: PictureOptions
    @OptionGroup var stretch: StretchOptions

    func run() throws {
        let input = URL(fileURLWithPath: songOrStemDir)
        let sources = try SongSources.find(input)
        let stft = STFT(windowLength: 1024, hop: 256)
        var grams: [(name: String, gram: Spectrogram)] = []
        let progress = Support.Progress("spectrogram", total: sources.count)
        for (name, url) in sources {
            let audio = try MonoStretch(url, start: stretch.start, duration: stretch.duration)
            grams.append((name, Spectrogram(audio, stft: stft, maxColumns: 2 * picture.width)))
            progress.advance(detail: name)
        }
        progress.finish()
        let top = Double(grams.map { $0.gram.maxDB }.max() ?? 0)
        let hi = top.isFinite ? (top / 10).rounded(.up) * 10 : 0
        let panels = grams.map { Panel.heatmap($0.gram.heatmap(title: $0.name, range: (hi - 80)...hi)) }
        let first = grams[0].gram
        let figure = Figure(width: picture.width, height: picture.height,
                            title: "\(SongSources.displayName(input)): spectrogram\(grams.count > 1 ? "s" : "") "
                                + "(\(first.stretchDescription))",
                            panels: panels, sharedXAxis: true)
        let out = picture.output(default: "\(SongSources.baseName(input))-spectrogram.png")
        try figure.writePNG(to: out)
        print("wrote \(out.path)")
    }
}

/// The files a spectrogram figure shows, in order: mixture (if any), then bass, drums, other, vocals.
enum SongSources {
    static let stems = ["bass", "drums", "other", "vocals"]

    static func find(_ input: URL) throws -> [(String, URL)] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input.path, isDirectory: &isFolder) else {
            throw CNNSepError("\(input.path): no such file or folder")
        }
        guard isFolder.boolValue else { return [(input.deletingPathExtension().lastPathComponent, input)] }
        func wav(_ folder: URL, _ name: String) -> URL? {
            let url = folder.appendingPathComponent("\(name).wav")
            return FileManager.default.fileExists(atPath: url.path) ? url : nil
        }
        // DSD100 keeps the mixture and the stems of one song in two parallel trees.
        let song = input.standardizedFileURL
        let split = song.deletingLastPathComponent(), half = split.deletingLastPathComponent()
        let root = half.deletingLastPathComponent()
        func counterpart(_ other: String) -> URL? {
            guard ["Sources", "Mixtures"].contains(half.lastPathComponent) else { return nil }
            return root.appendingPathComponent(other).appendingPathComponent(split.lastPathComponent)
                .appendingPathComponent(song.lastPathComponent)
        }
        let mixture = wav(input, "mixture") ?? counterpart("Mixtures").flatMap { wav($0, "mixture") }
        var stemFolder = input
        if stems.allSatisfy({ wav(input, $0) == nil }), let other = counterpart("Sources") { stemFolder = other }
        let found = stems.compactMap { name in wav(stemFolder, name).map { (name, $0) } }
        if !found.isEmpty && found.count < stems.count {
            let missing = stems.filter { wav(stemFolder, $0) == nil }.map { "\($0).wav" }
            throw CNNSepError("\(stemFolder.path): missing \(missing.joined(separator: ", ")); expected bass, drums, other and vocals .wav")
        }
        let all = (mixture.map { [("mixture", $0)] } ?? []) + found
        guard !all.isEmpty else {
            throw CNNSepError("\(input.path): no mixture.wav or bass/drums/other/vocals.wav in this folder")
        }
        return all
    }

    /// The song's name: the folder's name, or the file's name without extension (for a file called
    /// mixture.*, as in DSD100 and MUSDB18, its folder's name).
    static func baseName(_ input: URL) -> String {
        var isFolder: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: input.path, isDirectory: &isFolder)
        let url = input.standardizedFileURL
        if isFolder.boolValue { return url.lastPathComponent }
        let name = url.deletingPathExtension().lastPathComponent
        return name == "mixture" ? url.deletingLastPathComponent().lastPathComponent : name
    }

    static func displayName(_ input: URL) -> String {
        let url = input.standardizedFileURL
        return url.deletingPathExtension().lastPathComponent == "mixture"
            ? "\(url.deletingLastPathComponent().lastPathComponent)/\(url.lastPathComponent)" : url.lastPathComponent
    }
}

/// The mono downmix of a stretch of a song, with up to `context` samples of the song on each side
/// so that the frames at the stretch's edges are the song's own, not zero-padded ones.
struct MonoStretch {
    let url: URL
    let sampleRate: Int
    /// Samples: context, then the stretch, then context.
    let samples: [Float]
    /// Where the stretch starts in `samples`, and its length.
    let offset: Int
    let count: Int
    /// Start of the stretch in the song, in seconds.
    let start: Double

    init(_ url: URL, start: Double, duration: Double?, context: Int = 1024, rate: Int? = nil) throws {
        let info = try AudioFile.info(url)
        let songSeconds = Double(info.frameCount) / Double(info.sampleRate)
        let first = Int((start * Double(info.sampleRate)).rounded())
        let wanted = duration.map { Int(($0 * Double(info.sampleRate)).rounded()) } ?? (info.frameCount - first)
        guard info.frameCount > 0, first + wanted <= info.frameCount, wanted > 0 else {
            let asked = duration.map { "\(fmt(start)) s + \(fmt($0)) s" } ?? "from \(fmt(start)) s"
            throw CNNSepError("\(url.path): \(fmt(songSeconds)) s long, shorter than the requested stretch (\(asked))")
        }
        let lower = max(first - context, 0), upper = min(first + wanted + context, info.frameCount)
        var mono = try AudioFile.read(url, frames: lower..<upper).mono()
        var offset = first - lower, count = wanted, sampleRate = info.sampleRate
        if let rate, rate != info.sampleRate {
            mono = try Resampler.resample(mono, from: info.sampleRate, to: rate)
            let ratio = Double(rate) / Double(info.sampleRate)
            offset = Int((Double(offset) * ratio).rounded())
            count = min(Int((Double(count) * ratio).rounded()), mono.count - offset)
            sampleRate = rate
        }
        self.url = url
        self.samples = mono
        self.offset = offset
        self.count = count
        self.sampleRate = sampleRate
        self.start = start
    }

    /// The STFT frames (of `samples` as a whole signal) whose centres lie in the stretch.
    func frames(_ stft: STFT) -> Range<Int> {
        // Frame t's centre is sample t·H − P + N/2.
        let shift = stft.padding - stft.windowLength / 2
        let first = (offset + shift + stft.hop - 1) / stft.hop
        let last = (offset + count - 1 + shift) / stft.hop
        return first..<max(first, last + 1)
    }

    /// Seconds in the song of the left edge of frame `t`'s column (its centre less half a hop).
    func seconds(ofColumnEdge t: Int, _ stft: STFT) -> Double {
        let centre = t * stft.hop - stft.padding + stft.windowLength / 2
        return start + (Double(centre - offset) - Double(stft.hop) / 2) / Double(sampleRate)
    }
}

func fmt(_ seconds: Double) -> String { String(format: "%.2f", seconds) }

/// Magnitudes in dB (0 dB: a full-scale sine's peak bin), at most `maxColumns` columns: when a long
/// stretch has more frames than that, neighbouring frames are merged by their maximum, so short
/// events stay visible.
struct Spectrogram {
    var decibels: [Float] = []
    var columns = 0
    let bins: Int
    let sampleRate: Int
    let timeRange: ClosedRange<Double>
    let stretchDescription: String
    var maxDB: Float { decibels.max() ?? -.infinity }

    init(_ audio: MonoStretch, stft: STFT, maxColumns: Int) {
        bins = stft.bins
        sampleRate = audio.sampleRate
        let frames = audio.frames(stft)
        timeRange = audio.seconds(ofColumnEdge: frames.lowerBound, stft)...audio.seconds(ofColumnEdge: frames.upperBound, stft)
        stretchDescription = "\(fmt(audio.start))–\(fmt(audio.start + Double(audio.count) / Double(audio.sampleRate))) s"
        let pool = max(1, (frames.count + maxColumns - 1) / maxColumns)
        columns = (frames.count + pool - 1) / pool
        decibels = [Float](repeating: -.infinity, count: columns * bins)
        // A full-scale sine of amplitude 1 peaks at Σw/2 in its bin.
        let reference = stft.window.reduce(0, +) / 2
        let floor: Float = 1e-10
        for blockStart in stride(from: frames.lowerBound, to: frames.upperBound, by: 1024) {
            let block = blockStart..<min(blockStart + 1024, frames.upperBound)
            let magnitude = stft.analyze(audio.samples, frames: block).magnitude()
            for (row, t) in block.enumerated() {
                let column = (t - frames.lowerBound) / pool
                for k in 0..<bins {
                    let db = 20 * log10(max(magnitude[row * bins + k] / reference, floor))
                    decibels[column * bins + k] = max(decibels[column * bins + k], db)
                }
            }
        }
    }

    func heatmap(title: String, range: ClosedRange<Double>) -> Heatmap {
        Heatmap(title: title, values: decibels, columns: columns, rows: bins, valueRange: range,
                colormap: .magma, colorBarLabel: "dBFS", x: Axis("time (s)", range: timeRange),
                y: Axis("frequency (kHz)", range: frequencyRange))
    }

    /// Bin k covers k ± ½ times sampleRate / windowLength, in kHz.
    var frequencyRange: ClosedRange<Double> {
        let binWidth = Double(sampleRate) / Double(2 * (bins - 1)) / 1000
        return (-0.5 * binWidth)...((Double(bins) - 0.5) * binWidth)
    }
}

// MARK: - plot masks

struct PlotMasks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "masks",
        abstract: "The four soft masks (0..1) a trained model computes for a stretch of a song, under its spectrogram.",
        discussion: """
        The song is downmixed to mono and resampled to the model's rate; the model's own STFT settings \
        are used. Default stretch: the first 10 s (or the whole song if shorter). Default output: \
        <song>-masks.png (for a file called mixture.*, <song> is its folder's name).
        """)

    @Option(help: "Checkpoint (.h5) of a trained model.")
    var checkpoint: String

    @Argument(help: "An audio file.")
    var song: String

    @OptionGroup var picture: PictureOptions
    @OptionGroup var stretch: StretchOptions

    func run() throws {
        let url = URL(fileURLWithPath: song)
        guard FileManager.default.fileExists(atPath: url.path) else { throw CNNSepError("\(url.path): no such file") }
        let separator = try Separator(checkpoint: URL(fileURLWithPath: checkpoint))
        let stft = separator.stft
        let info = try AudioFile.info(url)
        let songSeconds = Double(info.frameCount) / Double(max(info.sampleRate, 1))
        let duration = stretch.duration ?? min(10, songSeconds - stretch.start)
        let audio = try MonoStretch(url, start: stretch.start, duration: duration > 0 ? duration : nil,
                                    rate: separator.config.features.sampleRate)
        let frames = audio.frames(stft)
        let magnitudes = stft.analyze(audio.samples, frames: frames).magnitude()
        let masks = try separator.masks(magnitudes: magnitudes, frames: frames.count)

        let gram = Spectrogram(audio, stft: stft, maxColumns: max(frames.count, 1))
        let hi = gram.maxDB.isFinite ? Double((gram.maxDB / 10).rounded(.up) * 10) : 0
        var panels = [Panel.heatmap(gram.heatmap(title: "mixture", range: (hi - 80)...hi))]
        for (name, mask) in zip(SongSources.stems, masks) {
            panels.append(.heatmap(Heatmap(title: "\(name) mask", values: mask, columns: frames.count, rows: stft.bins,
                                           valueRange: 0...1, colormap: .viridis, colorBarLabel: "mask",
                                           x: Axis("time (s)", range: gram.timeRange),
                                           y: Axis("frequency (kHz)", range: gram.frequencyRange))))
        }
        let figure = Figure(width: picture.width, height: picture.height,
                            title: "\(SongSources.displayName(url)): soft masks (\(gram.stretchDescription))",
                            panels: panels, sharedXAxis: true)
        let out = picture.output(default: "\(SongSources.baseName(url))-masks.png")
        try figure.writePNG(to: out)
        print("wrote \(out.path)")
    }
}

// MARK: - plot training

struct PlotTraining: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training",
        abstract: "Training loss per epoch (and validation loss when logged), with block and repetition boundaries.",
        discussion: """
        Reads RUN_DIR/log.jsonl (one JSON object per epoch with repetition, block, global_epoch and loss, \
        and val_loss when validated). Thin dashed lines mark a new block, bold lines a new repetition. \
        The loss axis is logarithmic when the loss spans more than a factor of 10. \
        Default output: <run folder name>-training.png.
        """)

    @Argument(help: "A training run folder (holding log.jsonl).")
    var runDir: String

    @OptionGroup var picture: PictureOptions

    func run() throws {
        let run = URL(fileURLWithPath: runDir)
        let log = run.appendingPathComponent("log.jsonl")
        let rows = try JSONLines.read(log, required: ["repetition", "block", "global_epoch", "loss"])
        let chart = TrainingChart(rows: rows)
        let figure = Figure(width: picture.width, height: picture.height,
                            title: "\(run.standardizedFileURL.lastPathComponent): training (\(chart.summary))",
                            panels: [.lines(chart.chart)])
        let out = picture.output(default: "\(run.standardizedFileURL.lastPathComponent)-training.png")
        try figure.writePNG(to: out)
        print("wrote \(out.path)")
    }
}

/// The line chart of a training log's rows.
struct TrainingChart {
    let chart: LineChart
    let summary: String

    init(rows unsorted: [[String: Double]]) {
        // A resumed run may log an epoch again: the last entry for each global epoch wins.
        var byEpoch: [Double: [String: Double]] = [:]
        for row in unsorted { byEpoch[row["global_epoch"]!] = row }
        let rows = byEpoch.keys.sorted().map { byEpoch[$0]! }
        let epochs = rows.map { $0["global_epoch"]! }
        let loss = rows.map { $0["loss"]! }
        var series = [Series("training loss", x: epochs, y: loss)]
        let validated = rows.filter { $0["val_loss"] != nil }
        if !validated.isEmpty {
            series.append(Series("validation loss", x: validated.map { $0["global_epoch"]! }, y: validated.map { $0["val_loss"]! }))
        }
        // A new repetition also starts a new block: one bold line there, not both.
        let repetitions = Marker.boundaries(x: epochs, groups: rows.map { $0["repetition"]! }, style: .bold) { "rep \(Int($0))" }
        let blocks = Marker.boundaries(x: epochs, groups: rows.map { $0["block"]! }, style: .thin) { "block \(Int($0))" }
        let markers = repetitions + blocks.filter { b in !repetitions.contains { $0.x == b.x } }
        let values = (loss + validated.map { $0["val_loss"]! }).filter { $0.isFinite }
        let positive = values.allSatisfy { $0 > 0 }
        let wide = positive && (values.max() ?? 1) > 10 * (values.min() ?? 1)
        let first = epochs.first ?? 1, last = epochs.last ?? 1
        chart = LineChart(series: series, markers: markers,
                          x: Axis("epoch (over all blocks and repetitions)", range: (first - 0.5)...(last + 0.5)),
                          y: Axis("loss (mean over the epoch's batches)", scale: wide ? .log : .linear))
        var text = "\(rows.count) epoch\(rows.count == 1 ? "" : "s"), final loss \(String(format: "%.4g", loss.last ?? .nan))"
        if let v = validated.last?["val_loss"] { text += ", validation \(String(format: "%.4g", v))" }
        summary = text
    }
}
