import Foundation
import Testing
@testable import Audio

/// The formats `predict --format` offers, written through `AudioFileWriter` and read back.
@Suite struct AudioFileFormatTests {
    @Test func eachFormatHasItsExtensionAndEncoding() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let signal = testSignal(frames: 4_410, channels: 2)
        let expected: [AudioFileFormat: String] = [.wav16: "WAV, 16-bit PCM", .wav24: "WAV, 24-bit PCM", .float: "WAV, 32-bit float",
                                                   .flac: "FLAC, 16-bit PCM", .flac24: "FLAC, 24-bit PCM", .mp3: "MPEG, MP3"]
        for format in AudioFileFormat.allCases {
            let url = folder.appendingPathComponent("\(format.rawValue).\(format.fileExtension)")
            let writer = try AudioFileWriter(url, sampleRate: 44_100, channelCount: 2, format: format.sampleFormat)
            try writer.write(signal)
            try writer.commit()
            #expect(try AudioFile.info(url).format == expected[format], "\(format)")
        }
        #expect(AudioFileFormat.list == "wav16, wav24, float, flac, flac24 or mp3")
    }

    /// What a format refuses, libsndfile refuses too: MP3 beyond 2 channels or off the MPEG rates.
    @Test func formatsRefuseWhatTheyCannotHold() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for (rate, channels) in [(44_100, 2), (8_000, 1), (96_000, 2), (44_100, 3), (22_050, 2), (7_000, 1)] {
            let refused = AudioFileFormat.mp3.refusal(sampleRate: rate, channelCount: channels) != nil
            let url = folder.appendingPathComponent("\(rate)-\(channels).mp3")
            var opened = true
            do { _ = try AudioFileWriter(url, sampleRate: rate, channelCount: channels, format: .wav16) } catch { opened = false }
            #expect(refused == !opened, "\(rate) Hz, \(channels) channels: refused \(refused), libsndfile opened \(opened)")
        }
        #expect(AudioFileFormat.mp3.refusal(sampleRate: 96_000, channelCount: 2)?.contains("not 2 at 96000 Hz") == true)
        #expect(AudioFileFormat.flac24.refusal(sampleRate: 96_000, channelCount: 9) != nil && AudioFileFormat.flac.refusal(sampleRate: 96_000, channelCount: 8) == nil)
        #expect(AudioFileFormat.wav16.refusal(sampleRate: 1, channelCount: 64) == nil)
    }

    /// libsndfile turns a "compression level" c into LAME's constant rate as max − c·(max − min)
    /// truncated, over [32, 320] kbit/s from 32 kHz up and [8, 160] from 16 kHz (its
    /// mpeg_l3_encoder_set_quality): every MPEG-1 rate must come back out of that formula.
    @Test func compressionLevelsGiveTheBitRatesAskedFor() {
        for kbps in MP3BitRate.allowed {
            let level = MP3BitRate.compressionLevel(kbps: kbps, sampleRate: 44_100)
            #expect(level >= 0 && level <= 1 && Int(320 - level * (320 - 32)) == kbps, "\(kbps): level \(level)")
        }
        #expect(Int(160 - MP3BitRate.compressionLevel(kbps: 64, sampleRate: 22_050) * (160 - 8)) == 64)
        #expect(MP3BitRate.compressionLevel(kbps: 320, sampleRate: 22_050) == 0)       // above MPEG-2's 160: its maximum
    }

    /// The writer's MP3s are constant-rate at the rate asked for (320 kbit/s unless told), as every
    /// frame header says.
    @Test(arguments: [(192, true), (320, false)])
    func mp3FramesHaveTheBitRateAskedFor(kbps: Int, explicit: Bool) throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("a.mp3")
        let writer = explicit ? try AudioFileWriter(url, sampleRate: 44_100, channelCount: 2, format: .wav16, mp3Bitrate: kbps)
                              : try AudioFileWriter(url, sampleRate: 44_100, channelCount: 2, format: .wav16)
        try writer.write(testSignal(frames: 44_100, channels: 2))
        try writer.commit()
        let rates = mp3FrameBitrates(try Data(contentsOf: url))
        #expect(rates.count >= 38 && Set(rates) == [kbps], "\(rates.count) frames at \(Set(rates))")
    }
}

/// The bit rate (kbit/s) in the header of each MPEG-1 layer III frame of `data`, walking the
/// frames from the first after an ID3v2 tag (ISO 11172-3: bit-rate index in bits 12–15, frame
/// length 144 · rate / sample rate + padding bytes).
func mp3FrameBitrates(_ data: Data) -> [Int] {
    let bytes = [UInt8](data)
    var i = 0
    if bytes.count > 10, bytes[0] == 0x49, bytes[1] == 0x44, bytes[2] == 0x33 {     // "ID3"
        i = 10 + (Int(bytes[6]) << 21 | Int(bytes[7]) << 14 | Int(bytes[8]) << 7 | Int(bytes[9]))
    }
    let table = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    let sampleRates = [44_100, 48_000, 32_000]
    var rates: [Int] = []
    while i + 4 <= bytes.count, bytes[i] == 0xFF, bytes[i + 1] & 0xFE == 0xFA {     // sync, MPEG-1, layer III
        let index = Int(bytes[i + 2] >> 4), rateIndex = Int(bytes[i + 2] >> 2 & 3), padding = Int(bytes[i + 2] >> 1 & 1)
        guard index > 0, index < 15, rateIndex < 3 else { break }
        rates.append(table[index])
        i += 144 * table[index] * 1000 / sampleRates[rateIndex] + padding
    }
    return rates
}
