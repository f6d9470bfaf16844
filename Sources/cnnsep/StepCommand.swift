import ArgumentParser
import Support

struct Step: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "step", abstract: "Run K Adadelta steps on a batch from HDF5 and write the weights.")
    func run() throws { throw CNNSepError("'step' is not implemented yet") }
}
