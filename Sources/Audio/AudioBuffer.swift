import Foundation

/// Audio in memory: one array of float samples per channel (nominal full scale ±1), all of the same
/// length, and the sample rate in Hz.
public struct AudioBuffer: Equatable, Sendable {
    public var sampleRate: Int
    /// `channels[c][n]` is sample `n` of channel `c`.
    public var channels: [[Float]]

    /// Samples per channel (0 for a buffer without channels).
    public var frameCount: Int { channels.first?.count ?? 0 }
    public var channelCount: Int { channels.count }
    /// Length in seconds.
    public var duration: Double { sampleRate > 0 ? Double(frameCount) / Double(sampleRate) : 0 }

    public init(sampleRate: Int, channels: [[Float]]) {
        precondition(channels.allSatisfy { $0.count == channels.first?.count },
                     "AudioBuffer: all channels must have the same length")
        self.sampleRate = sampleRate
        self.channels = channels
    }

    /// A mono buffer.
    public init(sampleRate: Int, mono: [Float]) { self.init(sampleRate: sampleRate, channels: [mono]) }

    /// The mean of the channels (the mono downmix of METHOD.md).
    public func mono() -> [Float] {
        guard let first = channels.first else { return [] }
        if channels.count == 1 { return first }
        var sum = first
        for channel in channels.dropFirst() {
            sum.withUnsafeMutableBufferPointer { s in
                channel.withUnsafeBufferPointer { c in
                    for i in 0..<s.count { s[i] += c[i] }
                }
            }
        }
        let scale = 1 / Float(channels.count)
        return sum.map { $0 * scale }
    }

    /// The largest absolute sample value over all channels.
    public var peak: Float {
        channels.reduce(0) { m, c in c.reduce(m) { max($0, abs($1)) } }
    }
}

/// What a file holds, read from its header.
public struct AudioInfo: Equatable, Sendable {
    public let sampleRate: Int
    public let channelCount: Int
    public let frameCount: Int
    /// Container and encoding in words, e.g. "WAV, 16-bit PCM" or "OGG, Vorbis".
    public let format: String

    public init(sampleRate: Int, channelCount: Int, frameCount: Int, format: String) {
        self.sampleRate = sampleRate
        self.channelCount = channelCount
        self.frameCount = frameCount
        self.format = format
    }

    public var duration: Double { sampleRate > 0 ? Double(frameCount) / Double(sampleRate) : 0 }
}

/// The sample encoding of a written file. The container comes from the file name's extension
/// (`.wav` by default; `.flac`, `.aif`/`.aiff`, `.ogg` and `.mp3` also work, see `AudioFile.write`).
public enum SampleFormat: String, CaseIterable, Sendable {
    /// 16-bit PCM (the default).
    case wav16
    /// 24-bit PCM.
    case wav24
    /// 32-bit IEEE float (WAV and AIFF only): stores samples beyond ±1 unchanged.
    case float
}

/// What writing did to the samples.
public struct WriteReport: Equatable, Sendable {
    /// Samples (counted over all channels) beyond full scale that were clipped to ±1.
    /// Always 0 for `.float`, which stores them unchanged, and after a rescale.
    public let clippedSamples: Int
    /// The factor every sample was multiplied by: 1, or less than 1 when `rescale` brought the
    /// peak down to full scale.
    public let scale: Float

    public init(clippedSamples: Int, scale: Float) {
        self.clippedSamples = clippedSamples
        self.scale = scale
    }
}
