import Support

/// The part of a song a bar belongs to; it decides who plays and how busily.
enum SectionKind: CaseIterable, Sendable {
    case intro, verse, chorus, bridge, breakdown, outro

    /// 0 (sparse) … 1 (everything, loud): patterns, velocities and crashes follow it.
    var energy: Double {
        switch self {
        case .intro: 0.3
        case .verse: 0.55
        case .chorus: 0.9
        case .bridge: 0.65
        case .breakdown: 0.4
        case .outro: 0.45
        }
    }
}

struct Section: Sendable {
    let kind: SectionKind
    let firstBar: Int
    let bars: Int
    /// Scale degrees (0 = tonic) of the chords, each lasting `beatsPerChord`, looped over the section.
    let progression: [Int]
    let beatsPerChord: Double

    var bar: Range<Int> { firstBar..<(firstBar + bars) }
}

/// A song's musical plan: key, tempo, form, chords, and which stem plays in which bar. The stem
/// composers read it; it comes from the seed alone.
struct SongPlan: Sendable {
    let tonic: Int            // pitch class, 0 = C
    let scale: [Int]          // semitones of the 7 degrees
    let timeline: Timeline
    let bars: Int
    let sections: [Section]
    /// `active[stem][bar]`, stems in `Stem.names` order (bass, drums, other, vocals).
    let active: [[Bool]]

    static let majorProgressions = [[0, 4, 5, 3], [0, 5, 3, 4], [0, 3, 4, 3], [5, 3, 0, 4], [0, 3, 0, 4],
                                    [1, 4, 0, 0], [0, 2, 3, 4], [3, 0, 4, 5]]
    static let minorProgressions = [[0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 6], [0, 3, 6, 2], [5, 6, 0, 0],
                                    [0, 5, 3, 4], [0, 2, 3, 6]]

    init(rng: inout SeededGenerator, seconds: Double, sampleRate: Int) {
        tonic = rng.nextInt(below: 12)
        let minor = rng.nextInt(below: 2) == 1
        scale = minor ? [0, 2, 3, 5, 7, 8, 10] : [0, 2, 4, 5, 7, 9, 11]
        let bpm = Double(72 + rng.nextInt(below: 77))                 // 72–148
        let swing = rng.nextInt(below: 5) == 0 ? 0.58 + 0.08 * rng.nextDouble() : 0.5
        timeline = Timeline(secondsPerBeat: 60 / bpm, sampleRate: sampleRate, swing: swing)
        bars = max(1, Int((seconds / (4 * timeline.secondsPerBeat)).rounded(.up)))

        // Form: an optional intro, then verses and choruses with the odd bridge or breakdown.
        let pool = minor ? Self.minorProgressions : Self.majorProgressions
        var progressions: [SectionKind: [Int]] = [:]
        var chordBeats: [SectionKind: Double] = [:]
        for kind in SectionKind.allCases {
            progressions[kind] = pool[rng.nextInt(below: pool.count)]
            chordBeats[kind] = [2.0, 4, 4, 4, 8][rng.nextInt(below: 5)]
        }
        var kinds: [(SectionKind, Int)] = []
        if rng.nextInt(below: 5) < 3 { kinds.append((.intro, [2, 4][rng.nextInt(below: 2)])) }
        var next: SectionKind = rng.nextInt(below: 3) == 0 ? .chorus : .verse
        while kinds.reduce(0, { $0 + $1.1 }) < bars {
            kinds.append((next, next == .bridge || next == .breakdown ? 4 : [4, 8, 8][rng.nextInt(below: 3)]))
            switch next {
            case .verse: next = .chorus
            case .chorus:
                let r = rng.nextInt(below: 6)
                next = r == 0 ? .bridge : r == 1 ? .breakdown : r == 2 ? .outro : .verse
            case .breakdown, .bridge: next = .chorus
            case .intro, .outro: next = .verse
            }
        }
        var sections: [Section] = []
        var bar = 0
        for (kind, length) in kinds {
            sections.append(Section(kind: kind, firstBar: bar, bars: min(length, bars - bar),
                                    progression: progressions[kind]!, beatsPerChord: chordBeats[kind]!))
            bar += length
        }
        self.sections = sections
        active = Self.arrange(sections, bars: bars, rng: &rng)
    }

    /// Who plays where: intros and breakdowns thin out, vocals rest in intros, and any stem may drop
    /// out for a bar or two. Every stem still plays in at least a quarter of the bars.
    static func arrange(_ sections: [Section], bars: Int, rng: inout SeededGenerator) -> [[Bool]] {
        var active = [[Bool]](repeating: [Bool](repeating: false, count: bars), count: 4)
        for section in sections {
            var on: [Bool]
            switch section.kind {
            case .intro: on = [rng.nextInt(below: 5) < 2, rng.nextInt(below: 2) == 0, true, false]
            case .verse: on = [true, rng.nextInt(below: 8) > 0, rng.nextInt(below: 5) > 0, true]
            case .chorus: on = [true, true, true, true]
            case .bridge:
                on = [true, true, true, rng.nextInt(below: 2) == 0]
                on[rng.nextInt(below: 3)] = rng.nextInt(below: 2) == 0
            case .breakdown:
                on = [[false, true, false, false], [true, true, false, false], [false, false, true, false],
                      [false, false, true, true], [true, false, false, true]][rng.nextInt(below: 5)]
            case .outro: on = [rng.nextInt(below: 2) == 0, rng.nextInt(below: 2) == 0, true, rng.nextInt(below: 3) == 0]
            }
            for s in 0..<4 where on[s] {
                for b in section.bar { active[s][b] = true }
                // A dropout: the stem sits out the first or the last bar(s) of the section.
                if section.bars >= 4 && rng.nextInt(below: 6) == 0 {
                    let length = 1 + rng.nextInt(below: 2)
                    let out = rng.nextInt(below: 2) == 0 ? section.firstBar..<(section.firstBar + length)
                                                         : (section.bar.upperBound - length)..<section.bar.upperBound
                    for b in out { active[s][b] = false }
                }
            }
        }
        // Guarantee: at least a quarter of the bars per stem, filled from the loudest sections first.
        let needed = (bars + 3) / 4
        let order = sections.sorted { $0.kind.energy > $1.kind.energy }
        for s in 0..<4 {
            for section in order where active[s].filter({ $0 }).count < needed {
                for b in section.bar { active[s][b] = true }
            }
        }
        return active
    }

    func section(bar: Int) -> Section { sections.last { $0.firstBar <= bar }! }

    /// The scale degree of the chord sounding at `beat` (from the song's start).
    func chordRoot(beat: Double) -> Int {
        let bar = min(bars - 1, Int(beat / timeline.beatsPerBar))
        let section = section(bar: bar)
        let inside = beat - Double(section.firstBar) * timeline.beatsPerBar
        let index = Int((inside / section.beatsPerChord).rounded(.down))
        return section.progression[index % section.progression.count]
    }

    /// The pitch classes of the chord on `degree`: root, third, fifth, and the seventh if asked.
    func chordTones(_ degree: Int, seventh: Bool = false) -> [Int] {
        (seventh ? [0, 2, 4, 6] : [0, 2, 4]).map { pitchClass(degree + $0) }
    }

    func pitchClass(_ degree: Int) -> Int {
        let d = ((degree % 7) + 7) % 7
        return (tonic + scale[d]) % 12
    }

    /// The MIDI key of scale step `step`: 0 is the tonic above middle C's octave start, 7 an octave up.
    func key(step: Int) -> Int {
        let d = ((step % 7) + 7) % 7
        return 60 + 12 * ((step - d) / 7) + tonic + scale[d]
    }

    /// The MIDI key of scale degree `degree` (any integer; 7 is the next octave) nearest to `near`.
    func key(degree: Int, near: Int) -> Int { nearest(pitchClass(degree), to: near) }
}

/// The MIDI key with pitch class `pc` nearest to `target` (the lower one on a tie).
func nearest(_ pc: Int, to target: Int) -> Int {
    let below = target - ((target - pc) % 12 + 12) % 12
    return target - below <= below + 12 - target ? below : below + 12
}

/// A close voicing of `pitchClasses` around `center`: each tone at its key nearest to the center, so
/// successive chords move by the smallest steps.
func voicing(_ pitchClasses: [Int], center: Int) -> [Int] {
    Array(Set(pitchClasses.map { nearest($0, to: center) })).sorted()
}
