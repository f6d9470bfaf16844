import Foundation
import Support

/// A sung-like lead: a GM voice (Voice Oohs, Synth Voice, Choir Aahs, Lead Voice) singing phrases of
/// one or two bars with rests between them, chord tones on strong beats and steps between, scoops
/// into some notes and a delayed vibrato, both drawn with pitch bend.
enum VocalComposer {
    static let programs = [53, 53, 54, 52, 85]

    /// Rhythm cells of one bar, in beats.
    static let cells: [[Double]] = [[1, 1, 1, 1], [0.5, 0.5, 1, 2], [1.5, 0.5, 2], [0.5, 0.5, 0.5, 0.5, 2], [2, 2],
                                    [1, 0.5, 0.5, 2], [0.75, 0.25, 1, 1, 1], [0.5, 1, 0.5, 2]]

    struct Expression {
        let rate: Double          // vibrato, Hz
        let depth: Double         // vibrato, cents
        let delay: Double         // seconds before the vibrato sets in
        let scoops: Double        // share of notes that slide up into their pitch
    }

    static func vocals(_ plan: SongPlan, rng: inout SeededGenerator) -> [MIDIEvent] {
        var part = PartWriter(timeline: plan.timeline, channel: 3, timing: 0.012, velocitySpread: 7)
        part.program(programs[rng.nextInt(below: programs.count)])
        Composer.mix(&part, pan: 58 + rng.nextInt(below: 13), reverb: 40 + rng.nextInt(below: 50), chorus: rng.nextInt(below: 30))
        let expression = Expression(rate: 4.8 + 1.6 * rng.nextDouble(), depth: 20 + 25 * rng.nextDouble(),
                                    delay: 0.15 + 0.2 * rng.nextDouble(), scoops: 0.15 + 0.3 * rng.nextDouble())
        // The singer's middle: a scale step around G3…A4 (male) or C4…C5 (female).
        let center = (rng.nextInt(below: 2) == 0 ? -3 : 1) + rng.nextInt(below: 4)
        var rhythms: [SectionKind: [[Double]]] = [:]
        for kind in SectionKind.allCases { rhythms[kind] = [cells[rng.nextInt(below: cells.count)], cells[rng.nextInt(below: cells.count)]] }
        var step = center
        var bar = 0
        while bar < plan.bars {
            guard plan.active[3][bar] else { bar += 1; continue }
            // A phrase: two bars if both are sung, else one; its last note is cut short for a breath.
            let two = bar + 1 < plan.bars && plan.active[3][bar + 1]
            let kind = plan.section(bar: bar).kind
            let rhythm = two ? rhythms[kind]![0] + rhythms[kind]![1] : rhythms[kind]![rng.nextInt(below: 2)]
            let rest = 0.5 + Double(rng.nextInt(below: 3)) * 0.5
            var beat = Double(bar) * 4 + (rng.nextInt(below: 3) == 0 ? 0.5 : 0)
            let end = Double(bar + (two ? 2 : 1)) * 4 - rest
            for (i, length) in rhythm.enumerated() where beat < end {
                let last = i == rhythm.count - 1 || beat + length >= end
                let strong = beat.truncatingRemainder(dividingBy: 2) == 0
                if strong || last {
                    let root = plan.chordRoot(beat: beat)
                    let tones = (-2...2).flatMap { o in [0, 2, 4].map { root + $0 + 7 * o } }
                    step = tones.min { abs($0 - step) < abs($1 - step) }!
                } else {
                    step += [-2, -1, -1, 0, 1, 1, 2][rng.nextInt(below: 7)]
                    if abs(step - center) > 4 { step += step > center ? -2 : 2 }
                }
                let duration = min(length, end - beat)
                let sounding = part.note(plan.key(step: step), at: beat, length: duration * 0.94,
                                         velocity: 88 + 22 * kind.energy, rng: &rng)
                bend(sounding, expression, scoop: rng.nextDouble() < expression.scoops, into: &part)
                beat += length
            }
            bar += two ? 2 : 1
        }
        return part.events
    }

    /// Pitch bend over one note: an optional scoop from 70 cents below, then vibrato fading in after
    /// the delay; back to centre when the note ends. One bend value every 256 samples (5.8 ms).
    static func bend(_ samples: Range<Int>, _ e: Expression, scoop: Bool, into part: inout PartWriter) {
        let sr = Double(part.timeline.sampleRate)
        func value(_ cents: Double) -> Int { min(16383, max(0, 8192 + Int((cents / 200 * 8192).rounded()))) }
        for sample in stride(from: samples.lowerBound, to: samples.upperBound, by: 256) {
            let t = Double(sample - samples.lowerBound) / sr
            var cents = scoop ? -70 * max(0, 1 - t / 0.08) : 0
            if t > e.delay { cents += e.depth * min(1, (t - e.delay) / 0.3) * sin(2 * Double.pi * e.rate * (t - e.delay)) }
            part.add(sample, .pitchBend(value(cents)))
        }
        part.add(samples.upperBound, .pitchBend(8192))
    }
}
