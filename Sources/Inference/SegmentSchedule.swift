import Foundation

/// The order of a separation's segments across its workers: segments are read one at a time in
/// song order; each is computed into a stems buffer from a small pool; whoever finishes the segment
/// to hand back next emits it and every later one already finished, in order, so no worker waits
/// for a slower one while a buffer is free. The first error stops everyone.
final class SegmentSchedule: @unchecked Sendable {
    typealias Stems = [[[Float]]]
    private let count: Int
    private var next = 0, nextToEmit = 0
    private var emitting = false
    private var finished: [Int: Stems] = [:]
    private var pool: [Stems]
    private(set) var failure: Error?
    private let reading = NSLock()
    private let state = NSCondition()

    /// `count` segments; `buffers` stems buffers, at least one per worker (more let workers run ahead).
    init(count: Int, buffers: Int) {
        self.count = count
        pool = [Stems](repeating: [], count: max(1, buffers))
    }

    private func fail(_ error: Error) {
        state.lock()
        if failure == nil { failure = error }
        state.broadcast()
        state.unlock()
    }

    private var failed: Bool { state.lock(); defer { state.unlock() }; return failure != nil }

    /// A stems buffer to compute a segment into (its arrays are reused: rewritten in place when no
    /// consumer kept them), once one is free; nil after a failure.
    func takeBuffer() -> Stems? {
        state.lock()
        defer { state.unlock() }
        while pool.isEmpty && failure == nil { state.wait() }
        return failure == nil ? pool.removeLast() : nil
    }

    /// Puts back a buffer that was not used.
    func returnBuffer(_ stems: Stems) {
        state.lock()
        pool.append(stems)
        state.broadcast()
        state.unlock()
    }

    /// The next segment's index and what `read` gives for it, or nil when none is left or one failed.
    func nextSegment<T>(read: (Int) throws -> T) -> (Int, T)? {
        reading.lock()
        defer { reading.unlock() }
        guard next < count, !failed else { return nil }
        let k = next
        next += 1
        do { return (k, try read(k)) } catch { fail(error); return nil }
    }

    /// Hands over segment k's stems. If no one is emitting, emits (`emit(index, stems)`) every
    /// finished segment from the next one to hand back on, in order, and returns their buffers.
    func finish(_ k: Int, _ stems: Stems, emit: (Int, Stems) throws -> Void) {
        state.lock()
        finished[k] = stems
        guard !emitting else { state.unlock(); return }
        emitting = true
        while failure == nil, let ready = finished.removeValue(forKey: nextToEmit) {
            let index = nextToEmit
            state.unlock()
            var error: Error?
            do { try emit(index, ready) } catch let e { error = e }
            state.lock()
            if let error, failure == nil { failure = error }
            nextToEmit += 1
            pool.append(ready)
            state.broadcast()
        }
        emitting = false
        state.unlock()
    }
}
