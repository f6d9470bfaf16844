import Support

/// One MIDI message of a stem at a sample position: what the composer writes and the renderer plays.
struct MIDIEvent: Equatable, Sendable {
    enum Message: Equatable, Sendable {
        case noteOn(key: Int, velocity: Int)
        case noteOff(key: Int)
        /// Bank 128 selects a GM drum kit (on channel 10).
        case program(bank: Int, number: Int)
        case control(number: Int, value: Int)
        /// 0…16383, 8192 = no bend; the default range is ±2 semitones.
        case pitchBend(Int)
    }

    var sample: Int
    var channel: Int
    var message: Message
}

/// Converts musical time (beats from the song's start) into sample positions, with the song's swing
/// and a little human timing and velocity spread.
struct Timeline: Sendable {
    let secondsPerBeat: Double
    let sampleRate: Int
    /// Where the off-beat eighth falls inside a beat: 0.5 is straight, 2/3 a triplet shuffle.
    let swing: Double

    var beatsPerBar: Double { 4 }

    /// The sample of `beat`, swing applied to its position inside the beat.
    func sample(_ beat: Double) -> Int {
        let whole = beat.rounded(.down), f = beat - whole
        let swung = f < 0.5 ? f / 0.5 * swing : swing + (f - 0.5) / 0.5 * (1 - swing)
        return Int(((whole + swung) * secondsPerBeat * Double(sampleRate)).rounded())
    }
}

/// Collects one instrument's events on one channel; every note gets a timing and velocity spread.
struct PartWriter {
    let timeline: Timeline
    let channel: Int
    /// Standard deviation of the timing spread in seconds, and of the velocity spread.
    let timing: Double
    let velocitySpread: Double
    private(set) var events: [MIDIEvent] = []

    init(timeline: Timeline, channel: Int, timing: Double = 0.006, velocitySpread: Double = 6) {
        self.timeline = timeline
        self.channel = channel
        self.timing = timing
        self.velocitySpread = velocitySpread
    }

    mutating func add(_ sample: Int, _ message: MIDIEvent.Message) {
        events.append(MIDIEvent(sample: max(0, sample), channel: channel, message: message))
    }

    mutating func program(_ number: Int, bank: Int = 0) { add(0, .program(bank: bank, number: number)) }

    mutating func control(_ number: Int, _ value: Int, at sample: Int = 0) {
        add(sample, .control(number: number, value: min(max(value, 0), 127)))
    }

    /// A note from `beat` for `length` beats; `delay` (seconds) shifts it, e.g. for a strummed chord.
    /// Returns the samples the note sounds over (after the spread).
    @discardableResult
    mutating func note(_ key: Int, at beat: Double, length: Double, velocity: Double, delay: Double = 0,
                       rng: inout SeededGenerator) -> Range<Int> {
        let sr = Double(timeline.sampleRate)
        let shift = Int(((delay + timing * rng.nextGaussian()) * sr).rounded())
        let start = max(0, timeline.sample(beat) + shift)
        let end = max(start + 64, timeline.sample(beat + length) + shift)
        let v = Int((velocity + velocitySpread * rng.nextGaussian()).rounded())
        add(start, .noteOn(key: key, velocity: min(max(v, 1), 127)))
        add(end, .noteOff(key: key))
        return start..<end
    }
}
