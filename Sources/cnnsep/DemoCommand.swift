import ArgumentParser
import Support

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Synthesize the demo dataset if missing, train on it, separate a test song and score it.")
    func run() throws { throw CNNSepError("'demo' is not implemented yet") }
}
