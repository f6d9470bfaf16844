// Audio module
import ArgumentParser
import Audio
import Foundation
import Support

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score estimated stems against reference stems with SDR/SIR/SAR.",
        discussion: """
        Pairs REFERENCE_DIR/{bass,drums,other,vocals}.wav with the same names in ESTIMATE_DIR, downmixes \
        each to mono and computes BSS Eval v3 (mir_eval.separation.bss_eval_sources, 512-tap filter). \
        All eight files must share one sample rate and length. --framewise S also scores windows of S \
        seconds every S seconds and reports the median over windows (museval uses 1 s).
        """)

    @Argument(help: "Folder with the reference stems.")
    var referenceDir: String

    @Argument(help: "Folder with the estimated stems.")
    var estimateDir: String

    @Option(help: "Also write the scores to this JSON file.")
    var json: String?

    @Option(help: "Window and hop in seconds for framewise scores (median over windows).")
    var framewise: Double?

    func validate() throws {
        try validateSeconds(framewise, option: "--framewise")
    }

    func run() throws {
        // Checked first: scoring a long song takes a while, and its table is no use if this fails.
        var isFolder: ObjCBool = false
        if let json, FileManager.default.fileExists(atPath: json, isDirectory: &isFolder), isFolder.boolValue {
            throw CNNSepError("\(json): --json is a folder; give the path of a file to write")
        }
        let start = Date()
        let scores = try StemScores(references: URL(fileURLWithPath: referenceDir),
                                    estimates: URL(fileURLWithPath: estimateDir), framewise: framewise)
        let seconds = Date().timeIntervalSince(start)
        print(scores.table())
        FileHandle.standardError.write(Data(String(format: "scored %.1f s of audio at %d Hz in %.2f s\n",
                                                   Double(scores.frameCount) / Double(scores.sampleRate),
                                                   scores.sampleRate, seconds).utf8))
        if let json {
            var object = scores.json()
            object["seconds"] = seconds
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(data + Data("\n".utf8), to: URL(fileURLWithPath: json))
        }
    }
}
