import Support

/// Writes the four stems of a song as General MIDI parts from its plan, each from its own random
/// stream (so changing one stem's composer leaves the others' notes as they were).
/// Channels: bass 1, other 2–3, vocals 4, drums 10 (GM's drum channel), counted from 1.
enum Composer {
    /// The parts in `Stem.names` order: bass, drums, other, vocals.
    static func compose(_ plan: SongPlan, rng: inout SeededGenerator) -> [[MIDIEvent]] {
        var streams = (0..<4).map { _ in SeededGenerator(seed: rng.next()) }
        return [bass(plan, rng: &streams[0]), DrumComposer.drums(plan, rng: &streams[1]),
                other(plan, rng: &streams[2]), VocalComposer.vocals(plan, rng: &streams[3])]
    }

    /// Volume, pan, reverb and chorus sends at the start of a part.
    static func mix(_ part: inout PartWriter, pan: Int, reverb: Int, chorus: Int) {
        part.control(7, 100)
        part.control(10, pan)
        part.control(91, reverb)
        part.control(93, chorus)
    }

    // MARK: bass

    /// GM basses (acoustic, finger, pick, fretless, slap, synth) playing roots, fifths, octaves and
    /// approach notes in one of five styles; quiet sections fall back to long notes.
    static func bass(_ plan: SongPlan, rng: inout SeededGenerator) -> [MIDIEvent] {
        var part = PartWriter(timeline: plan.timeline, channel: 0)
        part.program([33, 33, 34, 32, 35, 36, 38, 39][rng.nextInt(below: 8)])
        mix(&part, pan: 64, reverb: rng.nextInt(below: 25), chorus: 0)
        let style = rng.nextInt(below: 5)
        let legato = 0.55 + 0.4 * rng.nextDouble()
        // (beat offset, length in beats, role): 0 root, 1 fifth, 2 octave, 3 approach to the next chord.
        let patterns: [[(Double, Double, Int)]] = [
            [(0, 2, 0), (2, 2, 0)],
            (0..<8).map { (Double($0) * 0.5, 0.5, $0 == 7 ? 3 : 0) },
            [(0, 1, 0), (1, 1, 1), (2, 1, 2), (3, 1, 1)],
            [(0, 0.75, 0), (0.75, 0.75, 0), (1.5, 1, 2), (2.5, 0.5, 1), (3, 0.5, 0), (3.5, 0.5, 3)],
            [(0, 1, 0), (1, 1, 1), (2, 1, 2), (3, 1, 3)],
        ]
        for bar in 0..<plan.bars where plan.active[0][bar] {
            let energy = plan.section(bar: bar).kind.energy
            let pattern = energy < 0.4 ? (rng.nextInt(below: 2) == 0 ? [(0.0, 4.0, 0)] : patterns[0]) : patterns[style]
            for (offset, length, role) in pattern {
                let beat = Double(bar) * 4 + offset
                let root = 28 + (plan.pitchClass(plan.chordRoot(beat: beat)) + 8) % 12   // E1 … D#2
                var key = [root, root + 7, root + 12, root][role]
                if role == 3 {
                    let next = 28 + (plan.pitchClass(plan.chordRoot(beat: beat + length)) + 8) % 12
                    key = next == root ? root + 7 : next + (rng.nextInt(below: 2) == 0 ? -1 : 1)
                }
                part.note(key, at: beat, length: length * legato, velocity: 78 + 25 * energy + (offset == 0 ? 8 : 0), rng: &rng)
            }
        }
        return part.events
    }

    // MARK: other

    enum Role { case pad, comp, arpeggio, strum, power }

    /// GM programs for "other" and what each can play.
    static let instruments: [(program: Int, roles: [Role])] = [
        (0, [.comp, .arpeggio, .pad]), (1, [.comp]), (4, [.comp, .pad]), (5, [.comp, .arpeggio]),
        (16, [.pad, .comp]), (18, [.pad]), (24, [.arpeggio, .strum]), (25, [.strum, .arpeggio]),
        (26, [.comp]), (27, [.comp, .arpeggio, .strum]), (28, [.comp]), (29, [.power]), (30, [.power]),
        (48, [.pad]), (49, [.pad]), (50, [.pad]), (89, [.pad]), (90, [.comp, .pad]), (61, [.comp]),
    ]

    /// Keys, guitars, strings and pads: one main instrument, sometimes with a pad under the louder sections.
    static func other(_ plan: SongPlan, rng: inout SeededGenerator) -> [MIDIEvent] {
        let (program, roles) = instruments[rng.nextInt(below: instruments.count)]
        let role = roles[rng.nextInt(below: roles.count)]
        var main = PartWriter(timeline: plan.timeline, channel: 1)
        main.program(program)
        mix(&main, pan: 64 + (rng.nextInt(below: 2) == 0 ? -1 : 1) * (10 + rng.nextInt(below: 30)),
            reverb: 30 + rng.nextInt(below: 50), chorus: rng.nextInt(below: 40))
        let center = 60 + rng.nextInt(below: 8)
        let layer = Layer(plan: plan, role: role, center: center, sevenths: rng.nextInt(below: 3) == 0, rng: &rng)
        for bar in 0..<plan.bars where plan.active[2][bar] { layer.play(bar: bar, into: &main, rng: &rng) }
        var events = main.events
        if role != .pad && rng.nextInt(below: 20) < 9 {
            var pad = PartWriter(timeline: plan.timeline, channel: 2)
            pad.program([48, 49, 50, 89, 16, 88][rng.nextInt(below: 6)])   // no choir: voices belong to "vocals"
            mix(&pad, pan: 64, reverb: 60, chorus: 30)
            let under = Layer(plan: plan, role: .pad, center: center + 5, sevenths: false, rng: &rng)
            for bar in 0..<plan.bars where plan.active[2][bar] && plan.section(bar: bar).kind.energy > 0.5 {
                under.play(bar: bar, into: &pad, rng: &rng, velocityScale: 0.7)
            }
            events += pad.events
        }
        return events
    }

    /// One chordal instrument's way of playing a bar.
    struct Layer {
        let plan: SongPlan
        let role: Role
        let center: Int
        let sevenths: Bool
        let grid: [Character]          // 16 sixteenths: 'x' hit, 'D'/'U' strum down/up, '.' rest
        let staccato: Double
        let arpeggioStep: Double

        init(plan: SongPlan, role: Role, center: Int, sevenths: Bool, rng: inout SeededGenerator) {
            self.plan = plan
            self.role = role
            self.center = center
            self.sevenths = sevenths
            let comps = ["x...x...x...x...", "..x...x...x...x.", "x..x..x...x..x..", "x.x.x.x.x.x.x.x.", "x.....x.x......."]
            let strums = ["D...D.U...U.D.U.", "D.......D.......", "D...D...D...D...", "D...D.U.D.U.D.U."]
            grid = Array(role == .strum ? strums[rng.nextInt(below: strums.count)] : comps[rng.nextInt(below: comps.count)])
            staccato = 0.4 + 0.5 * rng.nextDouble()
            arpeggioStep = rng.nextInt(below: 3) == 0 ? 0.25 : 0.5
        }

        func play(bar: Int, into part: inout PartWriter, rng: inout SeededGenerator, velocityScale: Double = 1) {
            let first = Double(bar) * 4
            let energy = plan.section(bar: bar).kind.energy
            let velocity = (62 + 35 * energy) * velocityScale
            func chord(_ beat: Double) -> [Int] { plan.chordTones(plan.chordRoot(beat: beat), seventh: sevenths) }
            switch role {
            case .pad:
                let length = min(plan.section(bar: bar).beatsPerChord, 4)
                for start in stride(from: 0.0, to: 4, by: length) {
                    for key in voicing(chord(first + start), center: center) {
                        part.note(key, at: first + start, length: length * 0.98, velocity: velocity - 10, rng: &rng)
                    }
                }
            case .comp, .strum:
                let hits = grid.indices.filter { grid[$0] != "." }
                for (i, step) in hits.enumerated() {
                    let beat = first + Double(step) / 4
                    let gap = Double((i + 1 < hits.count ? hits[i + 1] : 16) - step) / 4
                    var keys = voicing(chord(beat), center: center)
                    if role == .strum { keys = voicing(chord(beat), center: center - 7) + voicing(chord(beat), center: center + 5) }
                    let up = grid[step] == "U"
                    for (k, key) in (up ? keys.reversed() : keys).enumerated() {
                        part.note(key, at: beat, length: gap * (role == .strum ? 0.95 : staccato),
                                  velocity: velocity - (up ? 12 : 0) - Double(k) * 2,
                                  delay: role == .strum ? Double(k) * 0.011 : 0, rng: &rng)
                    }
                }
            case .arpeggio:
                for k in 0..<Int(4 / arpeggioStep) {
                    let beat = first + Double(k) * arpeggioStep
                    let keys = voicing(chord(beat), center: center)
                    let order = [0, 1, 2, keys.count, 2, 1]          // up, the octave, down
                    let index = order[k % order.count]
                    let key = index < keys.count ? keys[index] : keys[0] + 12
                    part.note(key, at: beat, length: arpeggioStep * 1.6, velocity: velocity - (k % 2 == 0 ? 0 : 8), rng: &rng)
                }
            case .power:
                // Root, fifth, octave low on the neck: palm-muted eighths, held chords when loud.
                let held = energy > 0.7
                let step = held ? 2.0 : 0.5
                for start in stride(from: 0.0, to: 4, by: step) {
                    let root = 40 + (plan.pitchClass(plan.chordRoot(beat: first + start)) + 8) % 12
                    for key in [root, root + 7, root + 12] {
                        part.note(key, at: first + start, length: step * (held ? 0.95 : 0.55), velocity: velocity, rng: &rng)
                    }
                }
            }
        }
    }
}
