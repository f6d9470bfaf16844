import ArgumentParser
import Support

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "predict", abstract: "Separate songs into four stems.")
    func run() throws { throw CNNSepError("'predict' is not implemented yet") }
}
