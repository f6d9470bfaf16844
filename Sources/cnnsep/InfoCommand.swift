import ArgumentParser
import Support

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Print the layer table and parameter count of a config or checkpoint.")
    func run() throws { throw CNNSepError("'info' is not implemented yet") }
}
