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

    /// Two signals inverted together through one complex FFT (`overlapAddPair`) equal each inverted
    /// alone (`overlapAdd`), for the default and an odd-sized hop; the frames' DC and Nyquist bins
    /// carry imaginary parts that both must ignore.
    @Test(arguments: [(1024, 256), (64, 16), (16, 4), (40, 12)])
    func pairedInverseEqualsTwoSingleInverses(window: Int, hop: Int) {
        let stft = STFT(windowLength: window, hop: hop)
        let bins = stft.bins, frames = 9
        let a = noise(frames * 2 * bins, seed: 11), b = noise(frames * 2 * bins, seed: 12)
        let span = (frames - 1) * hop + window
        var pairFirst = [Float](repeating: 0, count: span), pairSecond = pairFirst, first = pairFirst, second = pairFirst
        let workspace = stft.makeWorkspace()
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            pairFirst.withUnsafeMutableBufferPointer { p in pairSecond.withUnsafeMutableBufferPointer { q in
                stft.overlapAddPair(frames: frames, into: p.baseAddress!, q.baseAddress!, mode: .start, workspace: workspace) { row, za, zb in
                    za.update(from: pa.baseAddress! + row * 2 * bins, count: 2 * bins)
                    zb.update(from: pb.baseAddress! + row * 2 * bins, count: 2 * bins)
                }
            } }
            for (source, target) in [(pa, 0), (pb, 1)] {
                var out = [Float](repeating: 7, count: span)      // overwritten, not added to
                out.withUnsafeMutableBufferPointer { o in
                    stft.overlapAdd(frames: frames, into: o.baseAddress!, mode: .start, workspace: workspace) { row, z in
                        z.update(from: source.baseAddress! + row * 2 * bins, count: 2 * bins)
                    }
                }
                if target == 0 { first = out } else { second = out }
            }
        } }
        // The same frames in blocks of 2, each block resuming where the last left off.
        var blocks = [Float](repeating: -3, count: span)
        a.withUnsafeBufferPointer { pa in blocks.withUnsafeMutableBufferPointer { o in
            for start in stride(from: 0, to: frames, by: 2) {
                stft.overlapAdd(frames: min(2, frames - start), into: o.baseAddress! + start * hop, mode: start == 0 ? .start : .resume,
                                workspace: workspace) { row, z in
                    z.update(from: pa.baseAddress! + (start + row) * 2 * bins, count: 2 * bins)
                }
            }
        } }
        #expect(blocks == first, "window \(window), hop \(hop): blocks")
        let peak = first.map(abs).max()!
        #expect(maxAbsDifference(pairFirst, first) <= 1e-5 * peak && maxAbsDifference(pairSecond, second) <= 1e-5 * peak,
                "window \(window), hop \(hop)")
        // Against a direct inverse DFT of frame 0 (real parts of DC and Nyquist only).
        let w = stft.window
        var squares = [Double](repeating: 0, count: hop)
        for j in 0..<window { squares[j % hop] += Double(w[j] * w[j]) }
        for j in Set([1, hop / 2, hop - 1]) {   // samples only frame 0 reaches
            var x = Double(a[0]) + Double(a[2 * (bins - 1)]) * (j % 2 == 0 ? 1 : -1)
            for k in 1..<(window / 2) {
                let phase = 2 * Double.pi * Double(j * k) / Double(window)
                x += 2 * (Double(a[2 * k]) * cos(phase) - Double(a[2 * k + 1]) * sin(phase))
            }
            let expected = Double(w[j]) * x / Double(window) / squares[j % hop]
            #expect(abs(Double(pairFirst[j]) - expected) <= 1e-4 * max(1, abs(expected)), "sample \(j)")
        }
    }

    /// The vectorised spectral loops against plain ones, at lengths that leave a tail.
    @Test func maskAndMeanMagnitudeMatchPlainLoops() {
        for bins in [1, 7, 9, 33, 513] {
            let x = (0..<3).map { noise(2 * bins, seed: UInt64(20 + $0)) }
            let m = noise(bins, seed: 30).map(abs)
            var z = [Float](repeating: 0, count: 2 * bins)
            x[0].withUnsafeBufferPointer { xp in m.withUnsafeBufferPointer { mp in z.withUnsafeMutableBufferPointer { zp in
                applyMask(mp.baseAddress!, to: xp.baseAddress!, into: zp.baseAddress!, bins: bins)
            } } }
            let expected: [Float] = (0..<2 * bins).map { i in x[0][i] * m[i / 2] }
            #expect(z == expected)
            for channels in 1...3 {
                var out = [Float](repeating: 0, count: bins)
                let copies = x.prefix(channels).map { v in
                    let p = UnsafeMutablePointer<Float>.allocate(capacity: v.count)
                    p.initialize(from: v, count: v.count)
                    return p
                }
                defer { copies.forEach { $0.deallocate() } }
                out.withUnsafeMutableBufferPointer { meanMagnitude(copies.map { UnsafePointer($0) }, bins: bins, scale: 0.5, into: $0.baseAddress!) }
                for k in 0..<bins {
                    let re = x.prefix(channels).reduce(0.0) { $0 + Double($1[2 * k]) } / Double(channels)
                    let im = x.prefix(channels).reduce(0.0) { $0 + Double($1[2 * k + 1]) } / Double(channels)
                    #expect(abs(Double(out[k]) - 0.5 * (re * re + im * im).squareRoot()) < 1e-6, "bins \(bins), channels \(channels), k \(k)")
                }
            }
        }
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
