import ArgumentParser
import Support

struct Forward: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "forward", abstract: "Run the network on a batch from HDF5 and write masks, estimates, loss and gradients.")
    func run() throws { throw CNNSepError("'forward' is not implemented yet") }
}
