import ArgumentParser
import Support

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "Separate a split's songs and score them with SDR/SIR/SAR.")
    func run() throws { throw CNNSepError("'eval' is not implemented yet") }
}
