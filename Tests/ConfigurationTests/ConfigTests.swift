import Configuration
import Data
import Foundation
import Testing

@Suite struct ConfigTests {
    let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Configs").standardized

    @Test func shippedConfigsLoadAndDsd100IsSeed003() throws {
        let c = try Config.load(configs.appendingPathComponent("dsd100.json"))
        var expected = Config()
        expected.name = "dsd100"
        #expect(c == expected)
        #expect(c.schedule.blocks(songCount: 50).count == 9)
        let original = try Config.load(configs.appendingPathComponent("dsd100-original.json"))
        #expect(Swift.abs(original.inputScale - 0.3 / 32) < 1e-9)
        #expect(original.learningRate == 1.0 && original.epsilon == 1e-6)
        _ = try Config.load(configs.appendingPathComponent("demo.json"))
    }

    /// The quality study's configs (scripts/quality_study.sh): `paper` is the paper's method on the
    /// realistic set, and each lever config changes only its own keys.
    @Test func qualityConfigsAreThePaperPlusOneLever() throws {
        let folder = configs.appendingPathComponent("quality")
        func load(_ name: String) throws -> Config { try Config.load(folder.appendingPathComponent("\(name).json")) }
        var paper = try load("paper")
        #expect(paper.datasetRoot == "Data/realistic")
        paper.datasetRoot = Config().datasetRoot
        paper.name = Config().name
        #expect(paper == Config())
        func lever(_ name: String, _ change: (inout Config) -> Void) throws {
            var expected = try load("paper")
            change(&expected)
            expected.name = name
            #expect(try load(name) == expected, "\(name)")
        }
        try lever("remix") { $0.remix.fraction = 0.5 }
        try lever("other-weight") { $0.loss.other = 1 }
        try lever("window-hop-5") { $0.windowHop = 5 }
        try lever("input-normalization") { $0.model.inputNormalization = true }
        try lever("lr-decay") { $0.finalLearningRate = 0.001 }
        try lever("original") { $0.inputScale = 0.009375; $0.learningRate = 1; $0.epsilon = 1e-6 }
        try lever("all") {
            $0.remix.fraction = 0.5; $0.loss.other = 1; $0.windowHop = 5; $0.model.inputNormalization = true; $0.finalLearningRate = 0.001
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(names == ["all", "input-normalization", "lr-decay", "original", "other-weight", "paper", "remix", "window-hop-5"].map { $0 + ".json" })
    }

    func error(_ json: String) -> String {
        do { _ = try Config.parse(Data(json.utf8), source: "x.json"); return "no error" }
        catch { return "\(error)" }
    }

    @Test func badConfigsNameTheKey() {
        #expect(error(#"{"schedule": {"batch_sise": 3}}"#).contains("'schedule.batch_sise': unknown key"))
        #expect(error(#"{"optimiser": {}}"#).contains("'optimiser': unknown key"))
        #expect(error(#"{"schedule": {"batch_size": "32"}}"#).contains("'schedule.batch_size': expected an integer"))
        #expect(error(#"{"schedule": {"batch_size": 0}}"#).contains("'schedule.batch_size': expected an integer in 1"))
        #expect(error(#"{"schedule": {"batch_size": 2.5}}"#).contains("'schedule.batch_size': expected an integer"))
        #expect(error(#"{"loss": {"alpha": true}}"#).contains("'loss.alpha': expected a number, got true"))
        #expect(error(#"{"loss": {"other_weight": -1}}"#).contains("'loss.other_weight': expected a number in 0"))
        #expect(error(#"{"schedule": {"remix": 1.5}}"#).contains("'schedule.remix': expected a number in 0.0...1.0, got 1.5"))
        #expect(error(#"{"schedule": {"remix_gains": [2, 1]}}"#).contains("'schedule.remix_gains': expected [low, high] with"))
        #expect(error(#"{"schedule": {"remix_gains": 1}}"#).contains("'schedule.remix_gains': expected [low, high], two numbers, got 1"))
        #expect(error(#"{"optimizer": {"final_learning_rate": 0}}"#).contains("'optimizer.final_learning_rate': expected a number in"))
        #expect(error(#"{"model": {"input_normalization": 1}}"#).contains("'model.input_normalization': expected true or false, got 1"))
        #expect(error(#"{"model": {"f1": 600}}"#).contains("'model.f1'"))
        #expect(error(#"{"dataset": []}"#).contains("'dataset': expected an object"))
        #expect(error("{").contains("x.json: not valid JSON"))
        #expect(error("[]").contains("expected a JSON object"))
    }

    @Test func configJSONRoundTrips() throws {
        var c = Config()
        c.validationSongs = ["a b"]; c.maxSongs = 3; c.inputScale = 0.5; c.seed = 99
        c.loss.other = 0.25
        c.remix = RemixSettings(fraction: 0.5, gains: 0.5...2)
        c.finalLearningRate = 0.001
        c.model.inputNormalization = true
        let back = try Config.parse(Data(c.json().utf8), source: "round trip")
        #expect(back == c)
    }

    /// The `separation` section: each key's range and type, named in the error; hop at most T; without
    /// a hop, the default or T for a model of fewer frames; today's crossfade reproducible.
    @Test func separationSettingsParseAndValidate() throws {
        #expect(error(#"{"separation": {"hop": 0}}"#).contains("'separation.hop': expected an integer in 1"))
        #expect(error(#"{"separation": {"hop": 26}}"#).contains("'separation.hop': must be at most model.frames (25)"))
        #expect(error(#"{"separation": {"crossfade": "cosine"}}"#).contains(#"'separation.crossfade': expected "linear" or "triangular", got "cosine""#))
        #expect(error(#"{"separation": {"crossfade": 3}}"#).contains("'separation.crossfade': expected"))
        #expect(error(#"{"separation": {"wiener_iterations": 11}}"#).contains("'separation.wiener_iterations': expected an integer in 0...10"))
        #expect(error(#"{"separation": {"hops": 3}}"#).contains("'separation.hops': unknown key"))
        let today = try Config.parse(Data(#"{"separation": {"hop": 20, "crossfade": "linear"}}"#.utf8), source: "x.json")
        #expect(today.separation == SeparationSettings(hop: 20, crossfade: .linear, wienerIterations: 0))
        let small = try Config.parse(Data(#"{"model": {"frames": 6, "t2": 3}, "schedule": {"window_hop": 6}}"#.utf8), source: "x.json")
        #expect(small.separation.hop == 6)
        #expect(try Config.parse(Data("{}".utf8), source: "x.json").separation == SeparationSettings())
        var c = Config()
        c.separation = SeparationSettings(hop: 5, crossfade: .linear, wienerIterations: 3)
        #expect(try Config.parse(Data(c.json().utf8), source: "round trip") == c)
    }

    /// Geometric from learning_rate to final_learning_rate over the run's epochs; constant without it.
    @Test func learningRateSchedule() throws {
        var c = Config()
        c.learningRate = 1
        #expect((0..<5).map { c.learningRate(epoch: $0, of: 5) } == [1, 1, 1, 1, 1])
        c.finalLearningRate = 0.01
        let rates = (0..<3).map { c.learningRate(epoch: $0, of: 3) }
        for (rate, expected) in zip(rates, [Float(1), 0.1, 0.01]) { #expect(Swift.abs(rate - expected) <= 1e-6 * expected, "\(rates)") }
        #expect(c.learningRate(epoch: 0, of: 1) == 1)
        let parsed = try Config.parse(Data(#"{"optimizer": {"learning_rate": 0.5, "final_learning_rate": null}}"#.utf8), source: "x.json")
        #expect(parsed.finalLearningRate == nil && parsed.learningRate(epoch: 7, of: 9) == 0.5)
    }
}

@Suite struct ConfigChangeTests {
    @Test func changesAreListedByDottedKeyWithBothValues() {
        let a = Config()
        var b = a
        b.batchSize = 64; b.inputScale = 0.001; b.maxSongs = 4; b.validationSongs = ["x"]; b.seed = 7
        #expect(b.changes(since: a).map(\.description) == [
            "dataset.max_songs null → 4", #"dataset.validation_songs [] → ["x"]"#,
            "input_scale 1 → 0.001", "schedule.batch_size 32 → 64", "seed 2017 → 7",
        ])
        #expect(a.changes(since: a).isEmpty)
    }
}

@Suite struct SeedRangeTests {
    func parse(_ json: String) throws -> Config { try Config.parse(Data(json.utf8), source: "x.json") }

    /// `train --seed` takes any UInt64; the config (and so every checkpoint's stored config) must too.
    @Test func everyUInt64SeedRoundTripsThroughTheConfig() throws {
        for seed: UInt64 in [0, 2017, 1 << 53 + 1, UInt64(Int64.max), 1 << 63, UInt64.max] {
            var c = Config()
            c.seed = seed
            #expect(try parse(c.json()).seed == seed)
            #expect(try parse(#"{"seed": \#(seed)}"#).seed == seed)
        }
        #expect(try parse(#"{"seed": 1e3}"#).seed == 1000)
    }

    @Test func seedsOutsideUInt64AreRefusedNamingTheRange() {
        for bad in ["-1", "18446744073709551616", "1.5", "\"7\"", "true"] {
            let message = errorMessage { _ = try parse(#"{"seed": \#(bad)}"#) }
            #expect(message?.contains("key 'seed': expected an integer in 0...18446744073709551615") == true, "\(bad): \(message ?? "no error")")
        }
    }
}

private func errorMessage(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch { return "\(error)" }
}

@Suite struct AudioSettingsTests {
    /// STFT.init needs an even window (it has window/2 + 1 bins) and a hop in 1...window.
    @Test func anOddWindowLengthIsRefusedNamingTheKey() {
        let message = errorMessage { _ = try Config.parse(Data(#"{"audio": {"window_length": 1023}}"#.utf8), source: "x.json") }
        #expect(message?.contains("key 'audio.window_length'") == true && message?.contains("even") == true, "\(message ?? "no error")")
        #expect(errorMessage { _ = try Config.parse(Data(#"{"audio": {"window_length": 1024, "hop": 1025}}"#.utf8), source: "x.json") }?
            .contains("key 'audio.hop'") == true)
    }
}
