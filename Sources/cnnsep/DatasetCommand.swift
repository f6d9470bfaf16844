import ArgumentParser
import Support

struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dataset", abstract: "Inspect a dataset: 'dataset check ROOT' lists songs and problems.")
    func run() throws { throw CNNSepError("'dataset' is not implemented yet") }
}
