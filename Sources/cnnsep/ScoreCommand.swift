import ArgumentParser
import Support

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "score", abstract: "Score estimated stems against reference stems with SDR/SIR/SAR.")
    func run() throws { throw CNNSepError("'score' is not implemented yet") }
}
