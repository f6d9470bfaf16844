@testable import Evaluation
import Support
import Testing

/// How the ranks of an `eval` job send rank 0 their songs' scores: every Double comes back with the
/// same bits (else the summary and scores.csv of a job could differ from one process's), and the
/// songs come back in the split's order.
@Suite struct ScoreTransferTests {
    /// Doubles of every size and sign, random bit patterns among them, subnormals and the non-finite
    /// values BSS Eval can give, through two ranks' parts and back.
    @Test func scoresComeBackBitForBitInTheSplitsOrder() throws {
        var rng = SeededGenerator(seed: 3)
        var values: [Double] = [0, -0.0, 1, -1, .pi, 1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.leastNormalMagnitude,
                                .infinity, -.infinity, .nan, 0.1, 2.0 / 3, 1e16 + 2, 123456.789]
        while values.count < 600 {
            let bits = rng.next()
            let value = Double(bitPattern: bits)
            values.append(value.isNaN ? rng.nextDouble() * 100 - 50 : value)
        }
        var songs: [(index: Int, scores: [SongScores])] = []
        var k = 0
        for index in 0..<10 {
            let methods = ["model", "oracle", "mixture"].map { method in
                var scores: [String: StemScore] = [:]
                for source in Stem.names {
                    scores[source] = StemScore(sdr: values[k % values.count], sir: values[(k + 1) % values.count], sar: values[(k + 2) % values.count])
                    k += 3
                }
                return SongScores(song: "song \(index) \"quoted\"", method: method, scores: scores,
                                  leftOut: index == 4 ? ["bass": "reference is silent"] : [:])
            }
            songs.append((index, methods))
        }
        // Rank 0 did songs 0, 3, 4, 7, 8; rank 1 the others, in its own order.
        let parts = [try ScoreTransfer.encode(songs.filter { [0, 3, 4, 7, 8].contains($0.index) }),
                     try ScoreTransfer.encode(songs.filter { ![0, 3, 4, 7, 8].contains($0.index) }.reversed())]
        let back = try ScoreTransfer.decode(parts, count: 10)
        let sent = songs.flatMap(\.scores)
        #expect(back.count == sent.count)
        for (b, s) in zip(back, sent) {
            #expect(b.song == s.song && b.method == s.method && b.leftOut == s.leftOut)
            for source in Stem.names {
                let x = try #require(b.scores[source]), y = try #require(s.scores[source])
                for (got, expected) in [(x.sdr, y.sdr), (x.sir, y.sir), (x.sar, y.sar)] {
                    #expect(got.bitPattern == expected.bitPattern || (got.isNaN && expected.isNaN), "\(expected) came back as \(got)")
                }
            }
        }
        #expect(ScoreSummary.csv(back) == ScoreSummary.csv(sent))
    }

    /// A song missing or sent twice is an error, not a summary of the wrong songs.
    @Test func everySongExactlyOnce() throws {
        let one = [(index: 0, scores: [SongScores(song: "a", method: "model", scores: [:])])]
        let two = [(index: 1, scores: [SongScores(song: "b", method: "model", scores: [:])])]
        #expect(try ScoreTransfer.decode([ScoreTransfer.encode(one), ScoreTransfer.encode(two)], count: 2).map(\.song) == ["a", "b"])
        #expect(throws: CNNSepError.self) { try ScoreTransfer.decode([ScoreTransfer.encode(one)], count: 2) }
        #expect(throws: CNNSepError.self) { try ScoreTransfer.decode([ScoreTransfer.encode(one), ScoreTransfer.encode(one)], count: 1) }
    }
}
