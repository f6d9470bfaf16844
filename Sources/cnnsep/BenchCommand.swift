import ArgumentParser
import Support

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmarks (release build): 'bench ops', 'bench' for a training step and separation.")
    func run() throws { throw CNNSepError("'bench' is not implemented yet") }
}
