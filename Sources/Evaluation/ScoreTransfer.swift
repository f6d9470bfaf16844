import Foundation
import Support

extension SongScores {
    /// How scores are written (per-song files, `eval --json`, `study.json`) and sent between the
    /// ranks of a job: sorted keys, non-finite values as "inf", "-inf", "nan".
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    /// Reads what `encoder` writes.
    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }
}

/// The scores of some songs of a split, each under its index in the split, as bytes: what each rank
/// of an `eval` job sends rank 0, which puts every song back in the split's order, so that its
/// summary and scores.csv are the ones a single process writes. JSON, whose numbers give back the
/// same Doubles (a test holds every bit of them to it).
public enum ScoreTransfer {
    struct Song: Codable {
        let index: Int
        let scores: [SongScores]
    }

    public static func encode(_ songs: [(index: Int, scores: [SongScores])]) throws -> [UInt8] {
        Array(try SongScores.encoder.encode(songs.map { Song(index: $0.index, scores: $0.scores) }))
    }

    /// Every rank's part (`gather`'s result) back as one list in the order of the songs' indices,
    /// which must be 0..<`count`, each exactly once.
    public static func decode(_ parts: [[UInt8]], count: Int) throws -> [SongScores] {
        let songs = try parts.flatMap { try SongScores.decoder.decode([Song].self, from: Data($0)) }.sorted { $0.index < $1.index }
        guard songs.map(\.index) == Array(0..<count) else {
            throw CNNSepError("eval: the ranks sent the scores of songs \(songs.map(\.index)), expected each of 0..<\(count) once")
        }
        return songs.flatMap(\.scores)
    }
}
