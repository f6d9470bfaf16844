import Foundation
import Testing
@testable import Audio
import Support

/// The committed fixture written by scripts/make_mir_eval_fixture.py (mir_eval 0.8.2).
struct MirEvalFixture {
    let folder: URL
    let json: [String: Any]
    let references: [[Float]]

    init() throws {
        folder = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures")
        let data = try Data(contentsOf: folder.appendingPathComponent("mir_eval_bss.json"))
        json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        references = try AudioFile.read(folder.appendingPathComponent(try #require(json["references"] as? String))).channels
    }

    var cases: [[String: Any]] { json["cases"] as? [[String: Any]] ?? [] }

    func estimates(_ fixtureCase: [String: Any]) throws -> [[Float]] {
        var channels = try AudioFile.read(folder.appendingPathComponent(try #require(fixtureCase["estimates"] as? String))).channels
        if let order = fixtureCase["order"] as? [Int] { channels = order.map { channels[$0] } }
        if let source = fixtureCase["silent_source"] as? Int, let frames = fixtureCase["silent_frames"] as? Int {
            for n in 0..<frames { channels[source][n] = 0 }
        }
        return channels
    }

    /// null is NaN, "inf" is +∞.
    static func number(_ value: Any) -> Double {
        if let x = value as? Double { return x }
        if let s = value as? String { return s == "-inf" ? -.infinity : .infinity }
        return .nan
    }
}

/// Within 0.01 dB where mir_eval's value is meaningful; above 150 dB both are only rounding noise
/// (a perfect estimate), so both merely have to be that high.
func agreesWithMirEval(_ ours: Double, _ theirs: Double) -> Bool {
    if theirs.isNaN { return ours.isNaN }
    if theirs > 150 { return ours > 150 }
    return abs(ours - theirs) < 0.01
}

@Suite struct MetricsTests {
    @Test func bssEvalAgreesWithMirEvalWithinAHundredthOfADecibel() throws {
        let fixture = try MirEvalFixture()
        #expect(fixture.references.count == 4 && fixture.references[0].count == 24_000)
        var checked = 0
        for fixtureCase in fixture.cases where fixtureCase["window"] == nil {
            let name = fixtureCase["name"] as? String ?? "?"
            let result = try Metrics.bssEval(references: fixture.references, estimates: try fixture.estimates(fixtureCase),
                                             computePermutation: fixtureCase["permutation"] as? Bool ?? false)
            for (metric, ours) in [("sdr", result.sdr), ("sir", result.sir), ("sar", result.sar)] {
                let theirs = try #require(fixtureCase[metric] as? [Any]).map(MirEvalFixture.number)
                for j in 0..<4 {
                    #expect(agreesWithMirEval(ours[j], theirs[j]), "\(name) \(metric)[\(j)]: \(ours[j]) vs mir_eval \(theirs[j])")
                    checked += 1
                }
            }
            #expect(result.permutation == fixtureCase["perm"] as? [Int], "\(name) permutation")
        }
        #expect(checked == 6 * 12)
    }

    @Test func framewiseAgreesWithMirEvalIncludingSilentWindows() throws {
        let fixture = try MirEvalFixture()
        let fixtureCase = try #require(fixture.cases.first { $0["window"] != nil })
        let results = try Metrics.bssEvalFramewise(
            references: fixture.references, estimates: try fixture.estimates(fixtureCase), sampleRate: 8_000,
            window: try #require(fixtureCase["window"] as? Double), hop: try #require(fixtureCase["hop"] as? Double))
        for (metric, path) in [("sdr", \BSSEvalResult.sdr), ("sir", \.sir), ("sar", \.sar)] {
            let theirs = try #require(fixtureCase[metric] as? [[Any]])
            #expect(results.count == theirs.count)
            for (k, row) in theirs.enumerated() where k < results.count {
                for j in 0..<4 {
                    let expected = MirEvalFixture.number(row[j]), ours = results[k][keyPath: path][j]
                    #expect(agreesWithMirEval(ours, expected), "window \(k) \(metric)[\(j)]: \(ours) vs \(expected)")
                }
            }
        }
        #expect(results[0].sdr.allSatisfy { $0.isNaN }, "the first window has a silent estimate")
        #expect(Statistics.median([3, .nan, 1, 2, 10]) == 2.5)
    }

    @Test func meanAndDeviationMatchNumpy() {
        // numpy.mean / numpy.std(ddof=0) / numpy.std(ddof=1) of [2, 4, 4, 4, 5, 5, 7, 9]: 5, 2, 2.138089935299395.
        let values: [Double] = [2, 4, 4, .nan, 4, 5, 5, 7, 9]
        let population = Statistics.meanAndDeviation(values)
        let sample = Statistics.meanAndDeviation(values, sample: true)
        #expect(population.mean == 5 && population.std == 2)
        #expect(abs(sample.std - 2.138089935299395) < 1e-12)
        #expect(Statistics.meanAndDeviation([3], sample: true).std == 0)
        #expect(Statistics.meanAndDeviation([.nan]).mean.isNaN)
    }

    @Test func fftSizeIsTheSmallestEven5SmoothSizeAtLeastN() {
        func smooth(_ x: Int) -> Bool {
            var x = x
            for p in [2, 3, 5] { while x % p == 0 { x /= p } }
            return x == 1
        }
        for n in [2, 3, 100, 1_000, 24_511, 1_323_511] {
            let size = BSSProjector.fftSize(atLeast: n)
            #expect(size >= n && size % 2 == 0 && smooth(size))
            #expect(!(n..<size).contains { $0 % 2 == 0 && smooth($0) }, "\(n) -> \(size)")
        }
    }

    @Test func siSDRMatchesItsDefinition() {
        let s = noise(1_000, seed: 11)
        #expect(Metrics.siSDR(reference: s, estimate: s.map { 2 * $0 }) == .infinity)
        // Noise made orthogonal to s: SI-SDR = 10 log10 ‖s‖²/‖n‖² for ŝ = s + n.
        var n = noise(1_000, seed: 12).map(Double.init)
        let sd = s.map(Double.init)
        let projection = zip(n, sd).reduce(0) { $0 + $1.0 * $1.1 } / sd.reduce(0) { $0 + $1 * $1 }
        n = zip(n, sd).map { $0 - projection * $1 }.map { $0 * 0.3 }
        let expected = 10 * log10(sd.reduce(0) { $0 + $1 * $1 } / n.reduce(0) { $0 + $1 * $1 })
        let estimate = zip(s, n).map { Float(Double($0) + $1) }
        #expect(abs(Metrics.siSDR(reference: s, estimate: estimate) - expected) < 1e-3)
        #expect(Metrics.siSDR(reference: [0, 0], estimate: [1, 0]).isNaN)
    }

    @Test func badInputIsRejectedWithOneLine() {
        let a = noise(2_000, seed: 1), b = noise(2_000, seed: 2)
        #expect(throws: CNNSepError("bss eval: 2 references but 1 estimates")) {
            _ = try Metrics.bssEval(references: [a, b], estimates: [a])
        }
        #expect(throws: CNNSepError("bss eval: estimate 1 has 1999 samples, reference 0 has 2000")) {
            _ = try Metrics.bssEval(references: [a, b], estimates: [a, Array(b.dropLast())])
        }
        #expect(throws: CNNSepError("bss eval: reference 1 is silent (all zeros); SDR/SIR/SAR are undefined for it")) {
            _ = try Metrics.bssEval(references: [a, [Float](repeating: 0, count: 2_000)], estimates: [a, b])
        }
        var bad = b
        bad[5] = .infinity
        #expect(throws: CNNSepError("bss eval: estimate 1 sample 5 is inf")) {
            _ = try Metrics.bssEval(references: [a, b], estimates: [a, bad])
        }
    }

    /// A check that does not lean on mir_eval or on FFTs: the projections computed in the time domain
    /// from explicitly delayed copies (short filter, short signals), solved by Gaussian elimination.
    @Test func decompositionMatchesATimeDomainLeastSquares() throws {
        let length = 300, flen = 8
        let refs = [noise(length, seed: 21), noise(length, seed: 22), noise(length, seed: 23)]
        let extra = noise(length, seed: 24)
        var estimates = [[Float]](repeating: [Float](repeating: 0, count: length), count: 3)
        for n in 0..<length {
            let echo: Float = n >= 3 ? 0.25 * refs[0][n - 3] : 0
            estimates[0][n] = 0.5 * refs[0][n] + echo + 0.2 * refs[1][n]
            estimates[1][n] = refs[1][n] + 0.3 * extra[n]
            estimates[2][n] = 0.4 * refs[2][n] - 0.3 * refs[0][n] + 0.1 * sin(Float(n))
        }
        let result = try BSSProjector(references: refs, filterLength: flen)
            .evaluate(estimates: estimates, computePermutation: false)
        let padded = length + flen - 1
        /// Delayed copy of reference i by d samples, zero-padded to `padded`.
        func delayed(_ i: Int, _ d: Int) -> [Double] {
            (0..<padded).map { n in n - d >= 0 && n - d < length ? Double(refs[i][n - d]) : 0 }
        }
        func project(_ e: [Double], onto sources: [Int]) -> [Double] {
            let basis = sources.flatMap { i in (0..<flen).map { delayed(i, $0) } }
            let m = basis.count
            var a = (0..<m).map { r in (0..<m).map { c in zip(basis[r], basis[c]).reduce(0) { $0 + $1.0 * $1.1 } } }
            var b = (0..<m).map { r in zip(basis[r], e).reduce(0) { $0 + $1.0 * $1.1 } }
            for col in 0..<m {  // Gaussian elimination with partial pivoting
                let pivot = (col..<m).max { abs(a[$0][col]) < abs(a[$1][col]) }!
                a.swapAt(col, pivot); b.swapAt(col, pivot)
                for r in (col + 1)..<m {
                    let f = a[r][col] / a[col][col]
                    for c in col..<m { a[r][c] -= f * a[col][c] }
                    b[r] -= f * b[col]
                }
            }
            var x = [Double](repeating: 0, count: m)
            for r in stride(from: m - 1, through: 0, by: -1) {
                x[r] = (b[r] - ((r + 1)..<m).reduce(0) { $0 + a[r][$1] * x[$1] }) / a[r][r]
            }
            return (0..<padded).map { n in (0..<m).reduce(0) { $0 + x[$1] * basis[$1][n] } }
        }
        func energy(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 } }
        for j in 0..<3 {
            let e = (0..<padded).map { n in n < length ? Double(estimates[j][n]) : 0 }
            let target = project(e, onto: [j]), all = project(e, onto: [0, 1, 2])
            let sdr = 10 * log10(energy(target) / energy(zip(e, target).map { $0 - $1 }))
            let sir = 10 * log10(energy(target) / energy(zip(all, target).map { $0 - $1 }))
            let sar = 10 * log10(energy(all) / energy(zip(e, all).map { $0 - $1 }))
            let ours: [Double] = [result.sdr[j], result.sir[j], result.sar[j]]
            let direct: [Double] = [sdr, sir, sar]
            let worst = zip(ours, direct).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-6, "source \(j): \(ours) vs \(direct)")
        }
    }
}
