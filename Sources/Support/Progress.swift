import Foundation

/// The one progress display: a bar redrawn in place on a terminal, plain periodic lines otherwise
/// (logs, CI, pipes). Writes to standard error so standard output stays clean for results.
public final class Progress: @unchecked Sendable {
    public let label: String
    public let total: Int
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let interval: TimeInterval
    private let isTerminal: Bool
    private let lock = NSLock()
    private(set) public var done = 0
    /// What the last line showed, so `finish` does not repeat it.
    private var lastShown: (done: Int, detail: String)? = nil

    /// `interval`: seconds between plain lines when standard error is not a terminal.
    public init(_ label: String, total: Int, interval: TimeInterval = 10) {
        self.label = label
        self.total = max(total, 0)
        self.isTerminal = isatty(STDERR_FILENO) != 0
        self.interval = isTerminal ? 0.1 : interval
    }

    /// Advances by `count` and redraws when due. `detail` is shown after the counts (e.g. the loss).
    public func advance(by count: Int = 1, detail: @autoclosure () -> String = "") {
        lock.lock(); defer { lock.unlock() }
        done += count
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= interval || done >= total else { return }
        lastDraw = now
        draw(detail(), now: now)
    }

    /// Ends the display with a final line.
    public func finish(_ detail: String = "") {
        lock.lock(); defer { lock.unlock() }
        if lastShown?.done != done || !detail.isEmpty { draw(detail, now: Date()) }
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func draw(_ detail: String, now: Date) {
        lastShown = (done, detail)
        let elapsed = now.timeIntervalSince(start)
        let fraction = total > 0 ? min(Double(done) / Double(total), 1) : 1
        let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        let counts = "\(done)/\(total) \(Self.clock(elapsed)) elapsed, ETA \(Self.clock(eta))"
        let suffix = detail.isEmpty ? "" : " | \(detail)"
        if isTerminal {
            let width = 24
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[K\(label) [\(bar)] \(counts)\(suffix)".utf8))
        } else {
            FileHandle.standardError.write(Data("\(label): \(counts)\(suffix)\n".utf8))
        }
    }

    /// `h:mm:ss` or `m:ss`; beyond 10^9 hours (an ETA of a run that cannot finish), hours in
    /// scientific notation, as no Int holds those seconds.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        guard abs(seconds) < 3.6e12 else { return String(format: "%.3g h", seconds / 3600) }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
