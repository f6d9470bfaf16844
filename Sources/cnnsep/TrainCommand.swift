import ArgumentParser
import Support

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train the network on a dataset as a config describes; running it again resumes.")
    func run() throws { throw CNNSepError("'train' is not implemented yet") }
}
