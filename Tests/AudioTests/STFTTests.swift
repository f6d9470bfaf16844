import Foundation
import Testing
@testable import Audio
import Support

func noise(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Float(rng.nextDouble() * 2 - 1) }
}

@Suite struct STFTTests {
    @Test func framingCoversEverySampleWithAFullSetOfFrames() {
        let stft = STFT()
        #expect(stft.bins == 513 && stft.padding == 768)
        #expect(stft.frameCount(samples: 0) == 0)
        #expect(stft.frameCount(samples: 1) == 4)
        #expect(stft.frameCount(samples: 256) == 4)
        #expect(stft.frameCount(samples: 257) == 5)
        #expect(stft.sampleSpan(frame: 0) == -768..<256)
        #expect(stft.sampleSpan(frame: 10) == 1792..<2816)
        for length in [1, 255, 256, 257, 1023, 1024, 1025, 5000] {
            let frames = stft.frameCount(samples: length)
            var count = [Int](repeating: 0, count: length)
            for t in 0..<frames {
                for n in stft.sampleSpan(frame: t) where n >= 0 && n < length { count[n] += 1 }
            }
            #expect(count.allSatisfy { $0 == 4 }, "length \(length)")
            // The last frame is the last one that covers the last sample.
            #expect(stft.sampleSpan(frame: frames - 1).contains(length - 1))
            #expect(!stft.sampleSpan(frame: frames).contains(length - 1))
        }
    }

    /// Independent check: a direct DFT in Double of the framed, windowed signal.
    @Test func framesMatchADirectDFT() {
        let stft = STFT(windowLength: 64, hop: 16)
        let x = noise(300, seed: 3)
        let spectrum = stft.analyze(x)
        #expect(spectrum.frames == stft.frameCount(samples: 300) && spectrum.bins == 33)
        for t in [0, 1, 7, spectrum.frames - 1] {
            for k in [0, 1, 5, 32] {
                var re = 0.0, im = 0.0
                for j in 0..<64 {
                    let n = t * 16 - 48 + j
                    guard n >= 0 && n < 300 else { continue }
                    let w = 0.5 - 0.5 * cos(2 * Double.pi * Double(j) / 64)
                    re += w * Double(x[n]) * cos(2 * Double.pi * Double(j * k) / 64)
                    im -= w * Double(x[n]) * sin(2 * Double.pi * Double(j * k) / 64)
                }
                #expect(abs(Double(spectrum.real[t * 33 + k]) - re) < 1e-4, "t \(t) k \(k)")
                #expect(abs(Double(spectrum.imag[t * 33 + k]) - im) < 1e-4, "t \(t) k \(k)")
            }
        }
    }

    @Test func roundTripReturnsTheWholeSignalIncludingTheEdges() {
        let stft = STFT()
        for (length, seed) in [(1, 1), (300, 2), (1024, 3), (44_100 + 123, 4)] as [(Int, UInt64)] {
            var x = noise(length, seed: seed)
            x[0] = 0.9
            x[length - 1] = -0.95
            let peak = x.map(abs).max()!
            let y = stft.synthesize(stft.analyze(x), length: length)
            #expect(y.count == length)
            let error = maxAbsDifference(x, y)
            #expect(error <= 1e-5 * peak, "length \(length): error \(error)")
            #expect(abs(y[0] - x[0]) <= 1e-5 * peak && abs(y[length - 1] - x[length - 1]) <= 1e-5 * peak)
        }
    }

    @Test func framesOfAStretchEqualTheWholeSTFTsRows() {
        let stft = STFT()
        let x = noise(20_000, seed: 5)
        let whole = stft.analyze(x)
        for frames in [0..<1, 0..<25, 3..<28, 40..<65, (whole.frames - 25)..<whole.frames, 70..<70] {
            #expect(stft.analyze(x, frames: frames) == whole.frames(frames), "\(frames)")
            // The same from only the samples under those frames.
            let needed = stft.samplesNeeded(frames: frames, totalLength: x.count)
            let chunk = Array(x[needed])
            #expect(stft.analyze(chunk: chunk, startingAt: needed.lowerBound, totalLength: x.count, frames: frames)
                    == whole.frames(frames), "chunk \(frames)")
        }
        // Frames past the end are silent.
        let past = stft.analyze(x, frames: whole.frames..<(whole.frames + 2))
        #expect(past.real.allSatisfy { $0 == 0 } && past.imag.allSatisfy { $0 == 0 })
    }

    @Test func streamingSynthesisEqualsTheWholeInverse() {
        let stft = STFT()
        let x = noise(30_000, seed: 6)
        let spectrum = stft.analyze(x)
        let whole = stft.synthesize(spectrum, length: x.count)
        for step in [1, 7, 25, 200] {
            var synthesizer = OverlapAddSynthesizer(stft: stft, length: x.count)
            var out: [Float] = []
            var t = 0
            while t < spectrum.frames {
                let next = min(t + step, spectrum.frames)
                let piece = synthesizer.add(spectrum.frames(t..<next))
                // Everything handed back is final: no later frame touches it.
                #expect(out.count + piece.count == min(x.count, max(0, next * stft.hop - stft.padding)))
                out += piece
                t = next
            }
            out += synthesizer.finish()
            #expect(out == whole, "step \(step)")
        }
        #expect(stft.framesCovering(samples: 0..<1) == 0..<4)
        #expect(stft.framesCovering(samples: 1000..<1300) == 3..<9)
    }

    @Test func polarFormRoundTrips() {
        let stft = STFT()
        let spectrum = stft.analyze(noise(5_000, seed: 7))
        let rebuilt = Spectrum(frames: spectrum.frames, bins: spectrum.bins,
                               magnitude: spectrum.magnitude(), phase: spectrum.phase())
        let error = zip(rebuilt.real + rebuilt.imag, spectrum.real + spectrum.imag).map { abs($0 - $1) }.max()!
        #expect(error < 1e-4)
    }

    @Test func plansAreSafeToMakeFromManyThreads() async {
        await withTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask {
                    let stft = STFT(windowLength: 128 * (1 + i % 5), hop: 32 * (1 + i % 5))
                    let x = noise(2_000, seed: UInt64(i))
                    let y = stft.synthesize(stft.analyze(x), length: x.count)
                    return maxAbsDifference(x, y) < 1e-5
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}
