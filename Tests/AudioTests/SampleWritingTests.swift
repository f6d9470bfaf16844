import CSndFile
import Foundation
import Testing
@testable import Audio
import Support

/// The writer converts 16-bit PCM itself (`PCM16Conversion`) and interleaves, clips, counts and
/// checks everything in one pass; the files must be byte for byte what libsndfile made of the same
/// floats before (clamped to ±1, handed over as floats with `SFC_SET_CLIPPING` on).
@Suite struct SampleWritingTests {
    /// Samples where rounding can go wrong: uniform over ±1.5 (clipped), ±1 and ±0 exactly, tiny values
    /// (where libsndfile's rounding at 2⁻³¹ carries into the next 16-bit step), whole 16-bit steps
    /// and half steps nudged by a little, values below 2⁻¹⁴⁹·2²³ (subnormal) and at the step edges.
    static func awkwardSamples(count: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        let special: [Float] = [1, -1, 0, -0.0, 1.5, -1.5, 32_767.0 / 32_768, -32_767.0 / 32_768, 0.5 / 32_768, -0.5 / 32_768,
                                0x1p-31, -0x1p-31, 0x1p-32, -0x1p-32, -0x1p-33, -3 * 0x1p-33, 0x1p-40, -0x1p-40,
                                .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 1.0000001, -1.0000001,
                                128.0 / 32_768, -128.0 / 32_768, 0.99999994, -0.99999994]
        return (0..<count).map { n -> Float in
            if n < special.count { return special[n] }
            let u = Float(rng.nextDouble() * 2 - 1)
            let step = Float(Int(rng.nextDouble() * 65_536) - 32_768) / 32_768
            switch n % 8 {
            case 0: return 1.5 * u
            case 1: return 1e-3 * u
            case 2: return 1e-6 * u
            case 3: return step + Float(Int(rng.nextDouble() * 3) - 1) * 0x1p-17
            case 4: return step - Float(Int(rng.nextDouble() * 3)) * 0x1p-40
            case 5: return step + 0.5 / 32_768 * (u > 0 ? 1 : -1)
            case 6: return Float(Int(rng.nextDouble() * 2_000) - 1_000) * 0x1p-31
            default: return u
            }
        }
    }

    /// The old path: × scale, clamped to ±1 in Swift, then libsndfile's float → PCM with clipping.
    static func writeThroughLibsndfile(_ buffer: AudioBuffer, scale: Float, to url: URL, format: Int32) throws {
        var info = SF_INFO()
        info.samplerate = Int32(buffer.sampleRate)
        info.channels = Int32(buffer.channelCount)
        info.format = format
        let file = try #require(sf_open(url.path, Int32(SFM_WRITE), &info))
        sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        var interleaved = [Float](repeating: 0, count: buffer.frameCount * buffer.channelCount)
        for c in 0..<buffer.channelCount {
            for n in 0..<buffer.frameCount {
                interleaved[n * buffer.channelCount + c] = min(max(buffer.channels[c][n] * scale, -1), 1)
            }
        }
        #expect(sf_writef_float(file, &interleaved, sf_count_t(buffer.frameCount)) == buffer.frameCount)
        #expect(sf_close(file) == 0)
    }

    static func signal(frames: Int, channels: Int, seed: UInt64) -> AudioBuffer {
        AudioBuffer(sampleRate: 44_100, channels: (0..<channels).map { awkwardSamples(count: frames, seed: seed + UInt64($0)) })
    }

    @Test(arguments: [("a.wav", SampleFormat.wav16, Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)),
                      ("a.aiff", .wav16, Int32(SF_FORMAT_AIFF | SF_FORMAT_PCM_16)),
                      ("a.wav", .wav24, Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_24)),
                      ("a.flac", .wav16, Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16))])
    func filesAreByteForByteWhatLibsndfileWrote(name: String, format: SampleFormat, sndFormat: Int32) throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (ours, theirs) = (folder.appendingPathComponent(name), folder.appendingPathComponent("reference-" + name))
        // Odd lengths leave tails shorter than a vector; 3 channels take the strided path.
        for (channels, frames) in [(2, 20_011), (1, 9_999), (3, 1_003)] {
            let buffer = Self.signal(frames: frames, channels: channels, seed: UInt64(frames))
            let expectedClips = buffer.channels.joined().filter { abs($0) > 1 }.count
            let report = try AudioFile.write(buffer, to: ours, format: format)
            try Self.writeThroughLibsndfile(buffer, scale: 1, to: theirs, format: sndFormat)
            #expect(try Data(contentsOf: ours) == Data(contentsOf: theirs), "\(name), \(channels) channels")
            #expect(report == WriteReport(clippedSamples: expectedClips, scale: 1))

            // Rescaled by 1/peak: the scale is applied before the conversion, as before.
            let rescaled = try AudioFile.write(buffer, to: ours, format: format, rescale: true)
            let peak = buffer.peak
            let scaledClips = buffer.channels.joined().filter { abs($0 * (1 / peak)) > 1 }.count
            #expect(rescaled == WriteReport(clippedSamples: scaledClips, scale: 1 / peak))
            try Self.writeThroughLibsndfile(buffer, scale: 1 / peak, to: theirs, format: sndFormat)
            #expect(try Data(contentsOf: ours) == Data(contentsOf: theirs), "\(name), \(channels) channels, rescaled")
        }
    }

    /// The streaming writer, in pieces of awkward sizes, writes the same file as one call does.
    @Test func piecesWriteTheSameFileAsOneCall() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let buffer = Self.signal(frames: 70_001, channels: 2, seed: 5)
        let whole = folder.appendingPathComponent("whole.wav"), pieces = folder.appendingPathComponent("pieces.wav")
        try AudioFile.write(buffer, to: whole)
        let writer = try AudioFileWriter(pieces, sampleRate: 44_100, channelCount: 2, format: .wav16)
        var start = 0
        for length in [1, 7, 8, 9, 4_095, 65_537, 344] {
            try writer.write(AudioBuffer(sampleRate: 44_100, channels: buffer.channels.map { Array($0[start..<start + length]) }))
            start += length
        }
        #expect(start == 70_001)
        #expect(try writer.commit().clippedSamples == buffer.channels.joined().filter { abs($0) > 1 }.count)
        #expect(try Data(contentsOf: whole) == Data(contentsOf: pieces))
    }

    /// NaN/Inf found in the writing pass: the error names the file and the first such sample (counted
    /// in the file's frames), and nothing is left at the destination.
    @Test func nonFiniteSamplesAreNamedAndNothingIsWritten() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("bad.wav")
        for format in [SampleFormat.wav16, .wav24, .float] {
            var channels = Self.signal(frames: 140_000, channels: 2, seed: 3).channels
            channels[1][100_000] = .infinity  // in the second pass of 65,536 frames
            channels[0][120_000] = .nan
            #expect(throws: CNNSepError("\(url.path): sample 100000 of channel 1 is inf; audio must be finite")) {
                try AudioFile.write(AudioBuffer(sampleRate: 44_100, channels: channels), to: url, format: format)
            }
            #expect(folderEntries(folder).isEmpty, "\(format)")
            let writer = try AudioFileWriter(url, sampleRate: 44_100, channelCount: 2, format: format)
            try writer.write(AudioBuffer(sampleRate: 44_100, channels: [[0.1, 0.2, 0.3], [0, 0, 0]]))
            #expect(throws: CNNSepError("\(url.path): sample 100003 of channel 1 is inf; audio must be finite")) {
                try writer.write(AudioBuffer(sampleRate: 44_100, channels: channels))
            }
            // The refused piece left nothing in the file: what follows still lands after frame 3.
            try writer.write(AudioBuffer(sampleRate: 44_100, channels: [[-0.5], [0.5]]))
            try writer.commit()
            let back = try AudioFile.read(url)
            #expect(back.frameCount == 4 && back.channels[0][3] == -0.5 && back.channels[1][3] == 0.5, "\(format)")
            try FileManager.default.removeItem(at: url)
        }
    }
}
