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
        let back = try Config.parse(Data(c.json().utf8), source: "round trip")
        #expect(back == c)
    }
}
