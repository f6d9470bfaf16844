import ArgumentParser
import Audio
import Data
import Foundation
import Inference
import Plot
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

    /// Writes `figure` to --out (or `name` in the current folder) and says where.
    func write(_ figure: Figure, default name: String) throws {
        let url = URL(fileURLWithPath: out ?? name)
        try figure.writePNG(to: url)
        print("wrote \(url.path)")
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
        sine, the scale spans 80 dB below the loudest bin (rounded up to 10 dB); the frequency axis is \
        logarithmic. Mono downmix, the model's STFT (1024 samples, hop 256, periodic Hann window). \
        Default output: <name>-spectrogram.png.
        """)

    @Argument(help: "An audio file, or a folder of stems.")
    var songOrStemDir: String

    @OptionGroup var picture: PictureOptions
    @OptionGroup var stretch: StretchOptions

    func run() throws {
        let input = URL(fileURLWithPath: songOrStemDir)
        let sources = try SongFiles.find(input)
        let features = FeatureSettings()
        let stft = STFT(windowLength: features.windowLength, hop: features.hop)
        var grams: [(name: String, gram: Spectrogram)] = []
        let progress = Support.Progress("spectrogram", total: sources.count)
        for (name, url) in sources {
            let audio = try MonoStretch(url, start: stretch.start, duration: stretch.duration)
            grams.append((name, Spectrogram(audio, stft: stft, maxColumns: 2 * picture.width)))
            progress.advance(detail: name)
        }
        progress.finish()
        let range = Spectrogram.displayRange(loudest: grams.map { $0.gram.maxDB }.max() ?? 0)
        let panels = grams.map { Panel.heatmap($0.gram.heatmap(title: $0.name, range: range)) }
        let first = grams[0].gram
        let figure = Figure(width: picture.width, height: picture.height,
                            title: "\(SongFiles.displayName(input)): spectrogram\(grams.count > 1 ? "s" : "") "
                                + "(\(first.stretchDescription))",
                            panels: panels, sharedXAxis: true)
        try picture.write(figure, default: "\(songName(of: input))-spectrogram.png")
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
        guard FileManager.default.fileExists(atPath: url.path) else { throw CNNSepError("\(url.relativePath): no such file") }
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

        // Long stretches are pooled to about two columns per pixel (a mask image wider than cairo's
        // 32767 pixels, from about 190 s on, crashed).
        let gram = Spectrogram(audio, stft: stft, maxColumns: 2 * picture.width)
        var panels = [Panel.heatmap(gram.heatmap(title: "mixture", range: Spectrogram.displayRange(loudest: gram.maxDB)))]
        for (name, mask) in zip(Stem.names, masks) {
            let pooled = Spectrogram.meanPooled(mask, frames: frames.count, bins: stft.bins, pool: gram.pool)
            panels.append(.heatmap(Spectrogram.heatmap(title: "\(name) mask", values: pooled, columns: gram.columns, bins: stft.bins,
                                                       sampleRate: gram.sampleRate, timeRange: gram.timeRange, valueRange: 0...1,
                                                       colormap: .viridis, colorBarLabel: "mask")))
        }
        let figure = Figure(width: picture.width, height: picture.height,
                            title: "\(SongFiles.displayName(url)): soft masks (\(gram.stretchDescription))",
                            panels: panels, sharedXAxis: true)
        try picture.write(figure, default: "\(songName(of: url))-masks.png")
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
        let counters = ["repetition", "block", "global_epoch"]
        let rows = try JSONLines.read(log, required: counters + ["loss"], counts: counters + ["epoch", "step"])
        let chart = TrainingChart(rows: rows)
        let figure = Figure(width: picture.width, height: picture.height,
                            title: "\(run.standardizedFileURL.lastPathComponent): training (\(chart.summary))",
                            panels: [.lines(chart.chart)])
        try picture.write(figure, default: "\(run.standardizedFileURL.lastPathComponent)-training.png")
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
        let repetitions = Marker.boundaries(x: epochs, groups: rows.map { $0["repetition"]! }, style: .bold) { "rep " + Ticks.compact($0) }
        let blocks = Marker.boundaries(x: epochs, groups: rows.map { $0["block"]! }, style: .thin) { "block " + Ticks.compact($0) }
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
