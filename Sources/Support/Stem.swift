/// The four sources cnnsep separates, always in this order: DSD100's alphabetical order, as in the
/// reproduced Keras code (METHOD.md). Arrays of per-source values are indexed by `Stem.index`.
public enum Stem: String, CaseIterable, Codable, Sendable {
    case bass, drums, other, vocals

    /// Position in `Stem.allCases` (0 for bass … 3 for vocals).
    public var index: Int { Self.allCases.firstIndex(of: self)! }

    /// "bass", "drums", "other", "vocals": file names of stems, layer-name suffixes, table rows.
    public static let names = allCases.map(\.rawValue)

    /// The stem whose file stem is `name` ("vocals" for vocals.wav), case-insensitively.
    public init?(fileName name: String) {
        self.init(rawValue: name.lowercased())
    }
}
