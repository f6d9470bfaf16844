import ArgumentParser
import Support

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plot", abstract: "Draw spectrograms, masks and training curves as PNG.")
    func run() throws { throw CNNSepError("'plot' is not implemented yet") }
}
