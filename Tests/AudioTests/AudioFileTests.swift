import Foundation
import Testing
@testable import Audio
import Support

/// A fresh folder under the system's temporary folder, removed by the caller's `defer`.
func makeTemporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("cnnsep-audio-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Deterministic test audio: a sum of two sines per channel plus a little seeded noise, peak < 1.
func testSignal(frames: Int, channels: Int, sampleRate: Int = 44_100, seed: UInt64 = 1) -> AudioBuffer {
    var rng = SeededGenerator(seed: seed)
    let data = (0..<channels).map { c -> [Float] in
        let f1 = 220.0 * Double(c + 1), f2 = 1_234.5 + 100 * Double(c)
        return (0..<frames).map { n in
            let t = Double(n) / Double(sampleRate)
            return Float(0.5 * sin(2 * .pi * f1 * t) + 0.3 * sin(2 * .pi * f2 * t) + 0.05 * (rng.nextDouble() - 0.5))
        }
    }
    return AudioBuffer(sampleRate: sampleRate, channels: data)
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

func folderEntries(_ folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
}

@Suite struct AudioFileTests {
    /// Writes, reads back, and checks length, rate, channels and the largest sample error.
    func roundTrip(_ name: String, format: SampleFormat, channels: Int = 2, rate: Int = 44_100,
                   tolerance: Float) throws -> AudioInfo {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(name)
        let original = testSignal(frames: 5_000, channels: channels, sampleRate: rate)
        let report = try AudioFile.write(original, to: url, format: format)
        #expect(report == WriteReport(clippedSamples: 0, scale: 1))
        let info = try AudioFile.info(url)
        #expect(info.sampleRate == rate && info.channelCount == channels && info.frameCount == 5_000)
        let back = try AudioFile.read(url)
        #expect(back.sampleRate == rate && back.channelCount == channels && back.frameCount == 5_000)
        for c in 0..<channels {
            #expect(maxAbsDifference(back.channels[c], original.channels[c]) <= tolerance, "\(name) channel \(c)")
        }
        #expect(folderEntries(folder) == [name], "no temporary file left beside \(name)")
        return info
    }

    @Test func wav16RoundTripIsWithinHalfAnLSB() throws {
        let info = try roundTrip("a.wav", format: .wav16, tolerance: 1.0 / 32_768)
        #expect(info.format == "WAV, 16-bit PCM")
    }

    @Test func wav24RoundTripIsWithinHalfAnLSB() throws {
        let info = try roundTrip("a.wav", format: .wav24, channels: 3, rate: 48_000, tolerance: 1.0 / 8_388_608)
        #expect(info.format == "WAV, 24-bit PCM")
    }

    @Test func floatWavRoundTripIsExact() throws {
        let info = try roundTrip("a.wav", format: .float, channels: 1, rate: 22_050, tolerance: 0)
        #expect(info.format == "WAV, 32-bit float")
    }

    @Test func flacAndAiffRoundTrips() throws {
        #expect(try roundTrip("a.flac", format: .wav16, tolerance: 1.0 / 32_768).format == "FLAC, 16-bit PCM")
        #expect(try roundTrip("a.flac", format: .wav24, tolerance: 1.0 / 8_388_608).format == "FLAC, 24-bit PCM")
        #expect(try roundTrip("a.aiff", format: .wav16, tolerance: 1.0 / 32_768).format == "AIFF, 16-bit PCM")
        #expect(try roundTrip("a.aif", format: .float, tolerance: 0).format == "AIFF, 32-bit float")
    }

    /// Vorbis is lossy: the decoded signal must still be close in energy terms (SNR above 20 dB).
    @Test func oggVorbisRoundTripIsClose() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("a.ogg")
        let original = testSignal(frames: 22_050, channels: 2)
        try AudioFile.write(original, to: url)
        let back = try AudioFile.read(url)
        #expect(back.channelCount == 2 && back.sampleRate == 44_100 && back.frameCount == 22_050)
        #expect(try AudioFile.info(url).format == "OGG, Vorbis")
        for c in 0..<2 {
            let signal = original.channels[c].reduce(0) { $0 + Double($1 * $1) }
            let noise = zip(original.channels[c], back.channels[c]).reduce(0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            #expect(10 * log10(signal / noise) > 20)
        }
    }

    /// MP3 (libsndfile ≥ 1.1 with LAME/mpg123): lossy, and the decoder adds its delay; only the rate,
    /// channels, a length close to the original and a correlated signal are checked.
    @Test func mp3IsWrittenAndRead() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("a.mp3")
        let original = testSignal(frames: 44_100, channels: 2)
        try AudioFile.write(original, to: url)
        let info = try AudioFile.info(url)
        #expect(info.format == "MPEG, MP3" && info.sampleRate == 44_100 && info.channelCount == 2)
        let back = try AudioFile.read(url)
        #expect(abs(back.frameCount - 44_100) < 4_000, "\(back.frameCount) frames")
        let energy = back.channels[0].reduce(0) { $0 + Double($1 * $1) } / Double(back.frameCount)
        let expected = original.channels[0].reduce(0) { $0 + Double($1 * $1) } / 44_100
        #expect(abs(energy / expected - 1) < 0.2, "mean power \(energy) vs \(expected)")
    }

    @Test func pcm32AndDoubleWavAreRead() throws {
        // Written through libsndfile directly, as a file from elsewhere would be.
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let original = testSignal(frames: 1_000, channels: 2)
        for (name, sub) in [("p32.wav", SndTestFormat.pcm32), ("f64.wav", SndTestFormat.double)] {
            let url = folder.appendingPathComponent(name)
            try SndTestFormat.write(original, to: url, subformat: sub)
            let back = try AudioFile.read(url)
            #expect(maxAbsDifference(back.channels[1], original.channels[1]) < 1e-6, "\(name)")
        }
        #expect(try AudioFile.info(folder.appendingPathComponent("f64.wav")).format == "WAV, 64-bit float")
    }

    @Test func monoIsTheMeanOfTheChannels() {
        let buffer = AudioBuffer(sampleRate: 8_000, channels: [[1, 2, 3], [3, 2, -3], [2, 5, 0]])
        #expect(buffer.mono() == [2, 3, 0])
        #expect(AudioBuffer(sampleRate: 8_000, channels: [[0.5, -1]]).mono() == [0.5, -1])
    }

    @Test func rangeReadsMatchTheWholeFile() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["a.wav", "a.flac"] {
            let url = folder.appendingPathComponent(name)
            let original = testSignal(frames: 100_000, channels: 2)
            try AudioFile.write(original, to: url, format: .wav24)
            let whole = try AudioFile.read(url)
            let part = try AudioFile.read(url, frames: 70_001..<70_500)
            #expect(part.frameCount == 499)
            #expect(part.channels[1] == Array(whole.channels[1][70_001..<70_500]), "\(name)")
            #expect(throws: CNNSepError.self) { _ = try AudioFile.read(url, frames: 99_000..<100_001) }
        }
    }

    @Test func sequentialReaderReturnsTheFileInPiecesThenNothing() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("a.wav")
        try AudioFile.write(testSignal(frames: 10_000, channels: 2), to: url)
        let whole = try AudioFile.read(url)
        let reader = try AudioFileReader(url)
        var pieces: [Float] = []
        while true {
            let piece = try reader.read(frames: 3_000)
            if piece.frameCount == 0 { break }
            #expect(piece.channelCount == 2)
            pieces += piece.channels[0]
        }
        #expect(pieces == whole.channels[0])
    }

    @Test func clippingIsCountedAndRescaleAvoidsIt() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("loud.wav")
        let loud = AudioBuffer(sampleRate: 8_000, channels: [[0.5, 1.5, -2, 1, -1], [0, 0, 0, 1.0001, 0]])
        #expect(try AudioFile.write(loud, to: url) == WriteReport(clippedSamples: 3, scale: 1))
        // libsndfile with clipping on scales by 32768 and saturates at 32767 / -32768.
        #expect(try AudioFile.read(url).channels[0][1...2] == [32_767.0 / 32_768, -1])
        let rescaled = try AudioFile.write(loud, to: url, rescale: true)
        #expect(rescaled.clippedSamples == 0 && rescaled.scale == 0.5)
        #expect(abs(try AudioFile.read(url).channels[0][2] + 1) < 1e-4)
        #expect(try AudioFile.write(loud, to: url, format: .float) == WriteReport(clippedSamples: 0, scale: 1))
        #expect(try AudioFile.read(url).channels[0] == loud.channels[0])
        // The streaming writer clips and counts the same way.
        let writer = try AudioFileWriter(url, sampleRate: 8_000, channelCount: 2, format: .wav24)
        try writer.write(loud)
        try writer.write(loud)
        #expect(try writer.commit().clippedSamples == 6)
    }

    @Test func streamingWriterAppearsOnlyOnCommit() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("out.wav")
        let signal = testSignal(frames: 4_000, channels: 2)
        let writer = try AudioFileWriter(url, sampleRate: 44_100, channelCount: 2, format: .float)
        for start in stride(from: 0, to: 4_000, by: 1_500) {
            let end = min(start + 1_500, 4_000)
            try writer.write(AudioBuffer(sampleRate: 44_100, channels: signal.channels.map { Array($0[start..<end]) }))
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
        #expect(folderEntries(folder).count == 1, "only the temporary file while writing")
        try writer.commit()
        #expect(folderEntries(folder) == ["out.wav"])
        #expect(try AudioFile.read(url) == signal)
        // Abandoning leaves the previous file untouched and no temporary file.
        let second = try AudioFileWriter(url, sampleRate: 44_100, channelCount: 2, format: .wav16)
        try second.write(testSignal(frames: 100, channels: 2, seed: 9))
        second.abandon()
        #expect(folderEntries(folder) == ["out.wav"])
        #expect(try AudioFile.read(url) == signal)
        // So does dropping a writer without committing.
        do {
            let third = try AudioFileWriter(url, sampleRate: 44_100, channelCount: 2, format: .wav16)
            try third.write(testSignal(frames: 100, channels: 2, seed: 9))
        }
        #expect(folderEntries(folder) == ["out.wav"])
    }

    @Test func failedWritesLeaveNothingBehind() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("bad.wav")
        var samples = [Float](repeating: 0.1, count: 100)
        samples[42] = .nan
        let nan = AudioBuffer(sampleRate: 8_000, channels: [samples])
        #expect(throws: CNNSepError("\(url.path): sample 42 of channel 0 is nan; audio must be finite")) {
            try AudioFile.write(nan, to: url)
        }
        #expect(throws: CNNSepError.self) { try AudioFile.write(AudioBuffer(sampleRate: 8_000, channels: [[]]), to: url) }
        #expect(throws: CNNSepError.self) { try AudioFile.write(testSignal(frames: 10, channels: 1), to: url, format: .float) ; try AudioFile.write(testSignal(frames: 10, channels: 1), to: folder.appendingPathComponent("x.flac"), format: .float) }
        #expect(throws: CNNSepError.self) { try AudioFile.write(testSignal(frames: 10, channels: 1), to: folder.appendingPathComponent("x.xyz")) }
        try FileManager.default.removeItem(at: url)
        #expect(folderEntries(folder).isEmpty)
        // A streaming writer that meets a NaN throws; nothing appears at the destination.
        let writer = try AudioFileWriter(url, sampleRate: 8_000, channelCount: 1, format: .wav16)
        try writer.write(AudioBuffer(sampleRate: 8_000, channels: [[0.1, 0.2]]))
        #expect(throws: CNNSepError.self) { try writer.write(nan) }
        #expect(throws: CNNSepError.self) { try writer.write(AudioBuffer(sampleRate: 16_000, channels: [[0.1]])) }
        writer.abandon()
        #expect(folderEntries(folder).isEmpty)
    }

    @Test func badFilesGiveOneLineErrorsNamingTheFile() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.wav")
        #expect(throws: CNNSepError("\(missing.path): no such file")) { _ = try AudioFile.read(missing) }
        #expect(throws: CNNSepError("\(folder.path): is a folder, not an audio file")) { _ = try AudioFile.read(folder) }

        let text = folder.appendingPathComponent("notes.wav")
        try Data("these are not samples\n".utf8).write(to: text)
        let error = #expect(throws: CNNSepError.self) { _ = try AudioFile.read(text) }
        #expect(error?.message.hasPrefix("\(text.path): not an audio file") == true)

        let empty = folder.appendingPathComponent("empty.wav")
        try AudioFile.write(testSignal(frames: 10, channels: 1), to: empty)
        try SndTestFormat.write(AudioBuffer(sampleRate: 44_100, channels: [[]]), to: empty, subformat: SndTestFormat.pcm16)
        #expect(try AudioFile.info(empty).frameCount == 0)
        #expect(throws: CNNSepError("\(empty.path): contains no audio (0 frames)")) { _ = try AudioFile.read(empty) }

        let nan = folder.appendingPathComponent("nan.wav")
        try SndTestFormat.write(AudioBuffer(sampleRate: 8_000, channels: [[0, 0.5], [1, .infinity]]), to: nan,
                                subformat: SndTestFormat.float)
        #expect(throws: CNNSepError("\(nan.path): sample 1 of channel 1 is inf; audio must be finite")) {
            try AudioFile.read(nan)
        }
    }

    /// Opening a FIFO blocks until something writes to it: `dataset check`, `cache`, `score` and
    /// `plot` hung forever on a `bass.wav` made with mkfifo. A writer thread opens and closes the FIFO
    /// after a while, so that code which does open it fails this test instead of hanging the run.
    @Test func aFIFONamedLikeASongIsRefusedWithoutOpeningIt() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("bass.wav")
        try #require(mkfifo(fifo.path, 0o600) == 0)
        let unblock = Thread {
            usleep(3_000_000)
            let fd = open(fifo.path, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        unblock.start()
        let started = Date()
        let expected = CNNSepError("\(fifo.path): not a regular file (a FIFO, socket or device), expected an audio file")
        #expect(throws: expected) { _ = try AudioFile.info(fifo) }
        #expect(throws: expected) { _ = try AudioFile.read(fifo) }
        #expect(Date().timeIntervalSince(started) < 2, "refused at once, without waiting for a writer")
    }

    @Test(arguments: ["a.wav", "a.flac", "a.aiff", "a.ogg", "a.mp3"])
    func truncatedFilesAreReported(name: String) throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent(name)
        try AudioFile.write(testSignal(frames: 44_100, channels: 2), to: url)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count / 2).write(to: url)
        let error = #expect(throws: CNNSepError.self) { _ = try AudioFile.read(url) }
        #expect(error?.message.hasPrefix("\(url.path): ") == true, "\(String(describing: error))")
        #expect(error?.message.contains("\n") == false)
    }
}

/// Writing formats cnnsep itself never writes (32-bit PCM, doubles, empty files), straight through libsndfile.
import CSndFile
enum SndTestFormat {
    static let pcm16 = Int32(SF_FORMAT_PCM_16), pcm32 = Int32(SF_FORMAT_PCM_32)
    static let float = Int32(SF_FORMAT_FLOAT), double = Int32(SF_FORMAT_DOUBLE)

    static func write(_ buffer: AudioBuffer, to url: URL, subformat: Int32) throws {
        var info = SF_INFO()
        info.samplerate = Int32(buffer.sampleRate)
        info.channels = Int32(buffer.channelCount)
        info.format = Int32(SF_FORMAT_WAV) | subformat
        let file = try #require(sf_open(url.path, Int32(SFM_WRITE), &info))
        var interleaved = [Float](repeating: 0, count: buffer.frameCount * buffer.channelCount)
        for c in 0..<buffer.channelCount {
            for n in 0..<buffer.frameCount { interleaved[n * buffer.channelCount + c] = buffer.channels[c][n] }
        }
        if buffer.frameCount > 0 {
            #expect(sf_writef_float(file, &interleaved, sf_count_t(buffer.frameCount)) == buffer.frameCount)
        }
        sf_close(file)
    }
}
