import CFluidSynth
import Foundation
import Support

/// Plays MIDI parts through libfluidsynth, offline, into stereo float buffers.
///
/// Each part gets a synth of its own, created afresh with fixed settings (one core, no threads), so a
/// part's audio depends on its events alone: a reused synth keeps reverb and chorus state and does
/// not give the same samples twice (measured: `fluid_synth_system_reset` is not enough). Loading the
/// SoundFont is what costs (0.4–0.8 s for FluidR3_GM; 30–80 ms more per load even when fluidsynth's
/// sample cache shares the samples), so fresh synths borrow an already loaded SoundFont from a pool
/// (`fluid_synth_add_sfont`, removed again before the synth is deleted): one load per thread that
/// renders at the same time. Playing does not change a loaded SoundFont (samples are loaded whole,
/// not on demand), so which one a part borrows does not change its audio.
enum FluidRenderer {
    /// Debian's `fluid-soundfont-gm`.
    static let defaultSoundFont = "/usr/share/sounds/sf2/FluidR3_GM.sf2"

    /// Fails with a one-line error unless `path` is a SoundFont fluidsynth loads; then keeps it loaded.
    static func prepare(soundFont path: String) throws {
        pool.give(try pool.take(path))
    }

    /// The stereo audio (`[left, right]`, `frames` samples each) of `events` played from silence.
    static func render(_ events: [MIDIEvent], frames: Int, sampleRate: Int, soundFont path: String) throws -> [[Float]] {
        let loaded = try pool.take(path)
        defer { pool.give(loaded) }
        let synth = try Synth(sampleRate: sampleRate)
        let font = fluid_synth_add_sfont(synth.synth, loaded.font)
        defer {
            fluid_synth_remove_sfont(synth.synth, loaded.font)
            synth.close()
        }
        guard font != FLUID_FAILED else { throw CNNSepError("\(path): fluidsynth could not use this SoundFont") }
        var left = [Float](repeating: 0, count: frames), right = [Float](repeating: 0, count: frames)
        // Stable order: events at the same sample keep the composer's order (program before notes).
        let ordered = events.enumerated().sorted { ($0.element.sample, $0.offset) < ($1.element.sample, $1.offset) }.map(\.element)
        try left.withUnsafeMutableBufferPointer { l in
            try right.withUnsafeMutableBufferPointer { r in
                var done = 0
                func advance(to sample: Int) {
                    let target = min(sample, frames)
                    guard target > done else { return }
                    // Events act at fluidsynth's next 64-sample block boundary: deterministic, 1.5 ms grid.
                    fluid_synth_write_float(synth.synth, Int32(target - done), l.baseAddress!, Int32(done), 1,
                                            r.baseAddress!, Int32(done), 1)
                    done = target
                }
                for event in ordered {
                    advance(to: event.sample)
                    if done >= frames { break }
                    try synth.send(event, font: font, soundFont: path)
                }
                advance(to: frames)
            }
        }
        return [left, right]
    }

    /// One fluidsynth instance with the settings every render uses.
    fileprivate struct Synth {
        let settings: OpaquePointer
        let synth: OpaquePointer

        init(sampleRate: Int) throws {
            _ = quiet
            guard let settings = new_fluid_settings() else { throw CNNSepError("fluidsynth: cannot create settings") }
            for (name, value) in [("synth.cpu-cores", 1), ("synth.threadsafe-api", 0), ("synth.lock-memory", 0),
                                  ("synth.polyphony", 256), ("synth.reverb.active", 1), ("synth.chorus.active", 1),
                                  ("synth.dynamic-sample-loading", 0)] {
                precondition(fluid_settings_setint(settings, name, Int32(value)) == FLUID_OK, "fluidsynth setting \(name)")
            }
            precondition(fluid_settings_setnum(settings, "synth.sample-rate", Double(sampleRate)) == FLUID_OK)
            precondition(fluid_settings_setnum(settings, "synth.gain", 0.5) == FLUID_OK)
            guard let synth = new_fluid_synth(settings) else {
                delete_fluid_settings(settings)
                throw CNNSepError("fluidsynth: cannot create a synth at \(sampleRate) Hz")
            }
            self.settings = settings
            self.synth = synth
        }

        func close() {
            delete_fluid_synth(synth)
            delete_fluid_settings(settings)
        }

        func send(_ event: MIDIEvent, font: Int32, soundFont: String) throws {
            let c = Int32(event.channel)
            switch event.message {
            case let .noteOn(key, velocity): fluid_synth_noteon(synth, c, Int32(key), Int32(velocity))
            case let .noteOff(key): fluid_synth_noteoff(synth, c, Int32(key))
            case let .control(number, value): fluid_synth_cc(synth, c, Int32(number), Int32(value))
            case let .pitchBend(value): fluid_synth_pitch_bend(synth, c, Int32(value))
            case let .program(bank, number):
                guard fluid_synth_program_select(synth, c, font, Int32(bank), Int32(number)) == FLUID_OK else {
                    throw CNNSepError("\(soundFont): no preset bank \(bank) program \(number) (a General MIDI SoundFont is needed)")
                }
            }
        }
    }

    /// fluidsynth prints warnings (e.g. "No preset found on channel 9" before the first program change)
    /// to standard error; cnnsep reports failures itself.
    private static let quiet: Void = {
        for level in [FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG] { fluid_set_log_function(Int32(level.rawValue), nil, nil) }
    }()

    private static let pool = FontPool()

    /// A SoundFont loaded by a holder synth that only keeps it alive.
    fileprivate final class LoadedFont: @unchecked Sendable {
        let path: String
        let holder: Synth
        let font: OpaquePointer

        init(path: String, holder: Synth, font: OpaquePointer) {
            self.path = path
            self.holder = holder
            self.font = font
        }
    }

    /// Loaded SoundFonts not in use, by path; created on demand and never freed.
    private final class FontPool: @unchecked Sendable {
        private var free: [String: [LoadedFont]] = [:]
        private let lock = NSLock()

        func give(_ loaded: LoadedFont) {
            lock.lock(); free[loaded.path, default: []].append(loaded); lock.unlock()
        }

        func take(_ path: String) throws -> LoadedFont {
            lock.lock()
            if let loaded = free[path]?.popLast() { lock.unlock(); return loaded }
            lock.unlock()
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw CNNSepError("\(path): SoundFont not found (install it with `apt-get install fluid-soundfont-gm`, or pass --soundfont FILE)")
            }
            // fluidsynth hands files it does not recognise to libinstpatch, which prints glib criticals:
            // check the SoundFont 2 signature (RIFF … sfbk) first.
            let header = FileHandle(forReadingAtPath: path).map { h in defer { try? h.close() }; return h.readData(ofLength: 12) }
            guard let header, header.count == 12, header.prefix(4) == Data("RIFF".utf8), header.suffix(4) == Data("sfbk".utf8) else {
                throw CNNSepError("\(path): not a SoundFont 2 file (no RIFF sfbk header)")
            }
            let holder = try Synth(sampleRate: 44100)
            let id = fluid_synth_sfload(holder.synth, path, 0)
            guard id != FLUID_FAILED, let font = fluid_synth_get_sfont_by_id(holder.synth, id) else {
                holder.close()
                throw CNNSepError("\(path): not a SoundFont fluidsynth can load")
            }
            return LoadedFont(path: path, holder: holder, font: font)
        }
    }
}
