import ArgumentParser
import Support

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "synth", abstract: "Write the built-in synthetic demo dataset (DSD100 layout).")
    func run() throws { throw CNNSepError("'synth' is not implemented yet") }
}
