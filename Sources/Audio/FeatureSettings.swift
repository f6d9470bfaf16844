/// The STFT used for the features, and the rate songs are resampled to first.
public struct FeatureSettings: Codable, Equatable, Sendable {
    public var sampleRate = 44100
    public var windowLength = 1024
    public var hop = 256

    public init() {}

    public init(sampleRate: Int, windowLength: Int, hop: Int) {
        self.sampleRate = sampleRate
        self.windowLength = windowLength
        self.hop = hop
    }

    /// Frequency bins of one frame (window length / 2 + 1).
    public var bins: Int { windowLength / 2 + 1 }
}
