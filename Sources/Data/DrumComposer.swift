import Support

/// GM drum kits on channel 10: a groove per song, busier and with ride or open hats in loud
/// sections, crashes on section starts, and tom or snare fills leading into the next section.
enum DrumComposer {
    /// GM keys.
    static let kick = 36, snare = 38, closedHat = 42, openHat = 46, crash = 49, ride = 51
    static let toms = [50, 48, 47, 45, 43, 41]          // high to low

    /// Sixteen sixteenths per lane: 'x' accent, 'o' normal, 'g' ghost note, '.' rest.
    struct Groove {
        let kick: String, snare: String, hat: String
    }

    static let grooves = [
        Groove(kick: "x.......x.x.....", snare: "....x.......x...", hat: "x.o.x.o.x.o.x.o."),   // rock
        Groove(kick: "x.....x...x.....", snare: "....x.......x...", hat: "xoooxoooxoooxooo"),   // pop sixteenths
        Groove(kick: "x...x...x...x...", snare: "....x.......x...", hat: "..x...x...x...x."),   // four on the floor
        Groove(kick: "x.........x.....", snare: "........x.......", hat: "x.o.x.o.x.o.x.o."),   // half time
        Groove(kick: "x..x......x..x..", snare: "....x..g.g..x..g", hat: "xoooxoooxoooxooo"),   // funk
        Groove(kick: "x.......x.......", snare: "....x.......x...", hat: "x...x.o.x...x.o."),   // shuffle / jazz ride
    ]

    /// Kits of FluidR3 (bank 128): Standard, Room, Power, Electronic, TR-808, Jazz, Brush; and the
    /// grooves that suit each.
    static let kits: [(program: Int, grooves: [Int])] = [
        (0, [0, 1, 3, 4]), (8, [0, 1, 3, 5]), (16, [0, 3]), (24, [1, 2, 4]), (25, [1, 2, 3]), (32, [5, 0]), (40, [5]),
    ]

    static func drums(_ plan: SongPlan, rng: inout SeededGenerator) -> [MIDIEvent] {
        var part = PartWriter(timeline: plan.timeline, channel: 9, timing: 0.003, velocitySpread: 5)
        let kit = kits[rng.nextInt(below: kits.count)]
        part.program(kit.program, bank: 128)
        Composer.mix(&part, pan: 64, reverb: 20 + rng.nextInt(below: 40), chorus: 0)
        let groove = grooves[kit.grooves[rng.nextInt(below: kit.grooves.count)]]
        let loudHat = rng.nextInt(below: 2) == 0 ? ride : openHat
        let fills = 0.4 + 0.5 * rng.nextDouble()
        for bar in 0..<plan.bars where plan.active[1][bar] {
            let section = plan.section(bar: bar)
            let energy = section.kind.energy
            let first = Double(bar) * 4
            let lastOfSection = bar == section.bar.upperBound - 1
            let fillFrom = lastOfSection && bar + 1 < plan.bars && rng.nextDouble() < fills
                ? [8, 12, 12][rng.nextInt(below: 3)] : 16
            if bar == section.firstBar && energy >= 0.5 {
                part.note(crash, at: first, length: 1, velocity: 100, rng: &rng)
            }
            for step in 0..<fillFrom {
                let beat = first + Double(step) / 4
                hit(groove.kick, step, kick, beat, 95 + 15 * energy, &part, &rng)
                hit(groove.snare, step, snare, beat, 90 + 20 * energy, &part, &rng)
                if energy < 0.35 && step % 4 != 0 { continue }        // quiet intros: hats on the beat only
                let hatKey = energy > 0.8 ? (loudHat == ride ? ride : (step % 4 == 2 ? openHat : closedHat)) : closedHat
                hit(groove.hat, step, hatKey, beat, 55 + 30 * energy, &part, &rng)
            }
            // The fill: sixteenths from the snare down the toms, getting louder.
            for step in fillFrom..<16 {
                let k = step - fillFrom, n = 16 - fillFrom
                let key = k < n / 4 ? snare : toms[min(toms.count - 1, (k - n / 4) * toms.count / max(1, n - n / 4))]
                part.note(key, at: first + Double(step) / 4, length: 0.25, velocity: 70 + 40 * Double(k) / Double(n), rng: &rng)
            }
        }
        return part.events
    }

    private static func hit(_ lane: String, _ step: Int, _ key: Int, _ beat: Double, _ velocity: Double,
                            _ part: inout PartWriter, _ rng: inout SeededGenerator) {
        let mark = lane[lane.index(lane.startIndex, offsetBy: step)]
        let scale: Double = switch mark {
        case "x": 1
        case "o": 0.75
        case "g": 0.35
        default: 0
        }
        if scale > 0 { part.note(key, at: beat, length: 0.25, velocity: velocity * scale, rng: &rng) }
    }
}
