import Foundation
import Plot
import Testing

@Suite("Plot scales: ticks and colour maps")
struct PlotScaleTests {
    @Test("linear ticks are multiples of 1, 2 or 5 times a power of ten inside the range")
    func linearTicks() {
        #expect(Ticks.linear(0...10, target: 5) == [0, 2, 4, 6, 8, 10])
        #expect(Ticks.linear(0...22.05, target: 5) == [0, 5, 10, 15, 20])
        #expect(Ticks.linear(-80...0, target: 4) == [-80, -60, -40, -20, 0])
        #expect(Ticks.linear(1.3...1.9, target: 3) == [1.4, 1.6, 1.8])
        let ticks = Ticks.linear(0.0...0.7, target: 7)
        #expect(ticks.map { Ticks.label($0, step: 0.1) } == ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"])
        #expect(Ticks.label(-0.0001, step: 1) == "0")
        #expect(Ticks.label(270, step: 50) == "270")
        #expect(Ticks.label(0.25, step: 0.05) == "0.25")
    }

    @Test("log ticks are powers of ten over many decades, with 2 and 5 over few")
    func logTicks() {
        #expect(Ticks.log(0.001...100) == [0.001, 0.01, 0.1, 1, 10, 100])
        #expect(Ticks.log(1...100) == [1, 2, 5, 10, 20, 50, 100])
        let narrow = Ticks.log(3...7)
        #expect(narrow.count >= 3 && narrow.allSatisfy { (3...7).contains($0) })
    }

    @Test("magma and viridis run from dark to light, ending on matplotlib's published end colours")
    func colormaps() {
        for map in [Colormap.magma, .viridis] {
            let lightness = (0...255).map { i -> Double in
                let c = map.color(at: (Double(i) + 0.5) / 256)
                return 0.2126 * c.red + 0.7152 * c.green + 0.0722 * c.blue
            }
            #expect(zip(lightness, lightness.dropFirst()).allSatisfy { $0 < $1 }, "\(map.name) lightness not increasing")
        }
        let low = Colormap.magma.color(at: 0), high = Colormap.magma.color(at: 1)
        #expect(abs(low.red - 0.001462) < 1e-6 && abs(low.blue - 0.013866) < 1e-6)
        #expect(abs(high.red - 0.987053) < 1e-6 && abs(high.green - 0.991438) < 1e-6 && abs(high.blue - 0.749504) < 1e-6)
        let viridisHigh = Colormap.viridis.color(at: 2)
        #expect(abs(viridisHigh.red - 0.993248) < 1e-6 && abs(viridisHigh.blue - 0.143936) < 1e-6)
        #expect(Colormap.magma.color(at: .nan) == low)
    }
}

@Suite("Plot markers")
struct PlotMarkerTests {
    @Test("boundaries fall halfway between the last point of a group and the first of the next")
    func boundaries() {
        let epochs: [Double] = [1, 2, 3, 4, 5, 6]
        let blocks: [Double] = [1, 1, 2, 2, 1, 1]
        let markers = Marker.boundaries(x: epochs, groups: blocks, style: .thin) { "block \(Int($0))" }
        #expect(markers.map(\.x) == [2.5, 4.5])
        #expect(markers.map(\.label) == ["block 2", "block 1"])
        #expect(markers.allSatisfy { $0.style == .thin })
        #expect(Marker.boundaries(x: [1], groups: [7], style: .bold) { "\($0)" }.isEmpty)
    }
}
