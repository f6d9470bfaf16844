/// How a trained network is run over a whole song: the `separation` section of a config. Training
/// never reads it, so it may change between a run and its resume. A checkpoint stores it with the
/// rest of its config; a config or options the user names override it (`Separator(checkpoint:…)`).
public struct SeparationSettings: Equatable, Sendable {
    /// How overlapping network windows' masks are weighted before they are averaged per frame.
    public enum Crossfade: String, CaseIterable, Sendable {
        /// A trapezoid: rises over the first T − hop + 1 positions, flat, falls over the last ones
        /// (the crossfade cnnsep used before the setting existed, with hop 20).
        case linear
        /// A triangle over the whole window, never zero: scipy.signal.windows.triang(T).
        case triangular
    }

    /// Frames between the starts of consecutive network windows (1...model.frames).
    public var hop = 12
    public var crossfade = Crossfade.triangular
    /// EM iterations of the multichannel Wiener post-filter (Audio's `WienerFilter`, as open-unmix's
    /// `--niter`) on each segment's masked spectra (0: none, the paper).
    public var wienerIterations = 0

    public init() {}
    public init(hop: Int, crossfade: Crossfade, wienerIterations: Int = 0) {
        (self.hop, self.crossfade, self.wienerIterations) = (hop, crossfade, wienerIterations)
    }

    /// The file form (`json()`).
    var json: [String: Any] { ["hop": hop, "crossfade": crossfade.rawValue, "wiener_iterations": wienerIterations] }
}

extension ConfigReader {
    /// The `separation` object's keys.
    static let separationKeys: Set<String> = ["hop", "crossfade", "wiener_iterations"]

    func separation(_ o: [String: Any], into s: inout SeparationSettings) throws {
        try int(o, "hop", min: 1, max: 10_000) { s.hop = $0 }
        if let value = o["crossfade"] {
            guard let name = value as? String, let crossfade = SeparationSettings.Crossfade(rawValue: name) else {
                let names = SeparationSettings.Crossfade.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
                throw fail("crossfade", "expected \(names), got \(Self.describe(value))")
            }
            s.crossfade = crossfade
        }
        try int(o, "wiener_iterations", min: 0, max: 10) { s.wienerIterations = $0 }
    }
}
