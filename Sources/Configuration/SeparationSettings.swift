/// How a trained network is run over a whole song: the `separation` section of a config. Training
/// never reads it, so it may change between a run and its resume, and a separator takes it from the
/// config it is given rather than from the checkpoint (`Separator(checkpoint:fallback:)`).
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
    /// Iterations of a multichannel Wiener post-filter on the masked spectra (0: none). Parsed and
    /// stored only: the separator does not run a post-filter yet.
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
