import CSndFile
import Foundation
import Support

/// The file formats stems are written in (`predict --format`): a container and its encoding. The
/// file name's extension must be `fileExtension`, since `AudioFileWriter` takes the container from it.
public enum AudioFileFormat: String, CaseIterable, Sendable {
    /// WAV, 16-bit PCM (the default).
    case wav16
    /// WAV, 24-bit PCM.
    case wav24
    /// WAV, 32-bit float: keeps samples beyond full scale.
    case float
    /// FLAC (lossless), 16-bit.
    case flac
    /// FLAC (lossless), 24-bit.
    case flac24
    /// MP3 (MPEG-1/2 layer III through LAME), constant bit rate.
    case mp3

    /// The extension files of this format get (`{ext}` in `predict --filename`).
    public var fileExtension: String {
        switch self {
        case .wav16, .wav24, .float: "wav"
        case .flac, .flac24: "flac"
        case .mp3: "mp3"
        }
    }

    /// The sample format handed to the writer (ignored for MP3).
    public var sampleFormat: SampleFormat {
        switch self {
        case .wav16, .flac, .mp3: .wav16
        case .wav24, .flac24: .wav24
        case .float: .float
        }
    }

    /// Why files of this format cannot hold audio of this rate and channel count, nil if they can:
    /// MP3 (LAME through libsndfile) holds 1 or 2 channels at the nine MPEG rates, 8 to 48 kHz;
    /// FLAC up to 8 channels.
    public func refusal(sampleRate: Int, channelCount: Int) -> String? {
        switch self {
        case .mp3 where channelCount > 2 || !Self.mp3SampleRates.contains(sampleRate):
            return "MP3 holds 1 or 2 channels at \(Self.mp3SampleRates.map { String(format: "%g", Double($0) / 1000) }.joined(separator: ", ")) kHz, "
                + "not \(channelCount) at \(sampleRate) Hz"
        case .flac where channelCount > 8, .flac24 where channelCount > 8:
            return "FLAC holds at most 8 channels, not \(channelCount)"
        default:
            return nil
        }
    }

    /// The sample rates MPEG-1, 2 and 2.5 layer III define.
    public static let mp3SampleRates = [8_000, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000]

    /// The names, for help texts and errors: "wav16, wav24, float, flac, flac24 or mp3".
    public static var list: String {
        let names = allCases.map(\.rawValue)
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

/// MP3 bit rates (kbit/s).
public enum MP3BitRate {
    /// What cnnsep writes unless told otherwise: LAME's highest constant rate (libsndfile's own
    /// default would be LAME's 128 kbit/s).
    public static let `default` = 320
    /// The rates MPEG-1 layer III defines (songs at 32 kHz and above).
    public static let allowed = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]

    /// libsndfile's "compression level" (0 best … 1 smallest) that makes it ask LAME for `kbps` at
    /// `sampleRate`: it maps the level linearly onto [min, max] of the rate's MPEG version and
    /// truncates (MPEG-1 at ≥ 32 kHz: 32…320; MPEG-2 at ≥ 16 kHz: 8…160; MPEG-2.5: 8…64), so a
    /// rate above the version's maximum gives that maximum. The half kbit/s keeps the truncation
    /// from landing one below.
    static func compressionLevel(kbps: Int, sampleRate: Int) -> Double {
        let (low, high): (Double, Double) = sampleRate >= 32_000 ? (32, 320) : sampleRate >= 16_000 ? (8, 160) : (8, 64)
        let wanted = min(max(Double(kbps), low), high)
        return min(max((high - wanted - 0.5) / (high - low), 0), 1)
    }
}

/// libsndfile format codes: choosing one for writing, describing one for `AudioInfo.format`.
enum SndFormat {
    static func forWriting(_ url: URL, format: SampleFormat) throws -> Int32 {
        let ext = url.pathExtension.lowercased()
        func pcm(_ container: Int32, allowFloat: Bool) throws -> Int32 {
            switch format {
            case .wav16: return container | Int32(SF_FORMAT_PCM_16)
            case .wav24: return container | Int32(SF_FORMAT_PCM_24)
            case .float:
                guard allowFloat else {
                    throw CNNSepError("\(url.relativePath): .\(ext) files cannot hold float samples; use 16 or 24 bits")
                }
                return container | Int32(SF_FORMAT_FLOAT)
            }
        }
        switch ext {
        case "", "wav", "wave": return try pcm(Int32(SF_FORMAT_WAV), allowFloat: true)
        case "aif", "aiff": return try pcm(Int32(SF_FORMAT_AIFF), allowFloat: true)
        case "flac": return try pcm(Int32(SF_FORMAT_FLAC), allowFloat: false)
        case "ogg", "oga": return Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)
        case "mp3": return Int32(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)
        default:
            throw CNNSepError("\(url.relativePath): unknown audio extension '.\(ext)' "
                              + "(expected .wav, .flac, .aif, .aiff, .ogg or .mp3)")
        }
    }

    static func describe(_ format: Int32) -> String {
        let major = Int(format) & SF_FORMAT_TYPEMASK
        let sub = Int(format) & SF_FORMAT_SUBMASK
        let container: String
        switch major {
        case SF_FORMAT_WAV, SF_FORMAT_WAVEX: container = "WAV"
        case SF_FORMAT_RF64: container = "RF64"
        case SF_FORMAT_W64: container = "W64"
        case SF_FORMAT_AIFF: container = "AIFF"
        case SF_FORMAT_FLAC: container = "FLAC"
        case SF_FORMAT_OGG: container = "OGG"
        case SF_FORMAT_MPEG: container = "MPEG"
        case SF_FORMAT_CAF: container = "CAF"
        case SF_FORMAT_AU: container = "AU"
        default: container = String(format: "format 0x%06x", major)
        }
        let encoding: String
        switch sub {
        case SF_FORMAT_PCM_S8, SF_FORMAT_PCM_U8: encoding = "8-bit PCM"
        case SF_FORMAT_PCM_16: encoding = "16-bit PCM"
        case SF_FORMAT_PCM_24: encoding = "24-bit PCM"
        case SF_FORMAT_PCM_32: encoding = "32-bit PCM"
        case SF_FORMAT_FLOAT: encoding = "32-bit float"
        case SF_FORMAT_DOUBLE: encoding = "64-bit float"
        case SF_FORMAT_VORBIS: encoding = "Vorbis"
        case SF_FORMAT_OPUS: encoding = "Opus"
        case SF_FORMAT_MPEG_LAYER_I: encoding = "Layer I"
        case SF_FORMAT_MPEG_LAYER_II: encoding = "Layer II"
        case SF_FORMAT_MPEG_LAYER_III: encoding = "MP3"
        case SF_FORMAT_ULAW: encoding = "µ-law"
        case SF_FORMAT_ALAW: encoding = "A-law"
        default: encoding = String(format: "encoding 0x%04x", sub)
        }
        return "\(container), \(encoding)"
    }
}
