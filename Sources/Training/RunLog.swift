import Foundation
import Network
import Support

/// The run's JSON-lines log: one object per epoch, keys sorted so that a resumed run writes the
/// same bytes as an uninterrupted one. Kept in memory and rewritten atomically after every epoch.
/// Every checkpoint stores the lines it has seen, so the checkpoint is the record: on resume
/// log.jsonl is rebuilt from it (dropping epochs logged after it, repairing a damaged file). A new
/// run (fresh, or `--restart`) writes nothing until its first checkpoint is saved, so until then the
/// previous run's log and checkpoint stay as they were.
struct RunLog {
    let url: URL
    private(set) var lines: [String]
    /// True until the run's first checkpoint is saved.
    private(set) var deferred: Bool

    /// A new run's empty log.
    init(newRunAt url: URL) {
        self.url = url
        lines = []
        deferred = true
    }

    /// The log as of `checkpoint` (the file `source`): the lines it holds or, for a checkpoint that
    /// holds only their count, that many lines of the file. log.jsonl is rewritten if it says
    /// anything else. A line that is not a JSON object (a damaged checkpoint, an edited file) is an
    /// error naming it: carried on, it would break every reader of the log.
    init(resuming url: URL, from checkpoint: Checkpoint, source: URL) throws {
        self.url = url
        deferred = false
        let origin: String
        if let stored = checkpoint.log {
            lines = stored.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            origin = "\(source.path): the training log it holds"
        } else {
            lines = Array(try Self.readLines(url).prefix(checkpoint.logLines ?? 0))
            origin = url.path
        }
        for (i, line) in lines.enumerated() where (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] == nil {
            throw CNNSepError("\(origin): line \(i + 1) is not a JSON object (\(line.prefix(40).debugDescription)); the run's record is damaged: \(Resume.howToContinue)")
        }
        // Only to skip a needless rewrite: a file that cannot be read is replaced all the same.
        if (try? Data(contentsOf: url)) != Data(text.utf8) { try write() }
    }

    /// The lines of log.jsonl (none if it does not exist); a file that cannot be read is an error,
    /// never an empty log.
    static func readLines(_ url: URL) throws -> [String] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CNNSepError("\(url.relativePath): cannot read the training log (\(error.localizedDescription))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CNNSepError("\(url.relativePath): the training log is not UTF-8 text; move it away to resume without it")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    var text: String { lines.map { $0 + "\n" }.joined() }

    mutating func append(_ entry: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys])
        lines.append(String(decoding: data, as: UTF8.self))
        if !deferred { try write() }
    }

    /// Call after every checkpoint save: a new run's log goes to disk from its first one on.
    mutating func checkpointSaved() throws {
        guard deferred else { return }
        deferred = false
        try write()
    }

    private func write() throws {
        try AtomicFile.write(Data(text.utf8), to: url)
    }
}
