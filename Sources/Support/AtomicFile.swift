import Foundation

/// The one way cnnsep writes a file: into a temporary file in the destination's folder, then
/// `rename(2)` over the destination, so a crash, a full disk or Ctrl-C never leaves a half file
/// and the previous version stays intact until the new one is complete.
public enum AtomicFile {
    /// Calls `body` with a temporary path beside `destination`; on success renames it into place.
    /// On any error the temporary file is removed and the destination is untouched.
    public static func write<T>(to destination: URL, _ body: (URL) throws -> T) throws -> T {
        let temporary = try temporaryURL(for: destination)
        do {
            let result = try body(temporary)
            try commit(temporary, to: destination)
            return result
        } catch {
            abandon(temporary)
            throw error
        }
    }

    /// For writers that stream (and so cannot be one closure): a fresh temporary path beside
    /// `destination` (its folder created if needed), removed if the process is interrupted. Finish
    /// with `commit` or `abandon`.
    public static func temporaryURL(for destination: URL) throws -> URL {
        let folder = destination.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw CNNSepError("\(folder.path): cannot create folder (\(error.localizedDescription))")
            }
        } else if !isDirectory.boolValue {
            throw CNNSepError("\(folder.path): exists and is not a folder")
        }
        let temporary = folder.appendingPathComponent(
            ".\(destination.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        pending.add(temporary.path)
        return temporary
    }

    /// Renames a finished temporary file over `destination`.
    public static func commit(_ temporary: URL, to destination: URL) throws {
        guard rename(temporary.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            abandon(temporary)
            throw CNNSepError("\(destination.path): cannot write (\(reason))")
        }
        pending.remove(temporary.path)
    }

    /// Removes a temporary file that will not be committed.
    public static func abandon(_ temporary: URL) {
        unlink(temporary.path)
        pending.remove(temporary.path)
    }

    /// Writes `data` atomically.
    public static func write(_ data: Data, to destination: URL) throws {
        try write(to: destination) { temporary in
            do {
                try data.write(to: temporary)
            } catch {
                throw CNNSepError("\(destination.path): cannot write (\(error.localizedDescription))")
            }
        }
    }

    /// Temporary files being written right now, removed by `removePending()` when the process
    /// is interrupted (the signal handler calls it before exiting).
    static let pending = PendingFiles()

    public static func removePending() { pending.removeAll() }
}

final class PendingFiles: @unchecked Sendable {
    private var paths = Set<String>()
    private let lock = NSLock()
    func add(_ path: String) { lock.lock(); paths.insert(path); lock.unlock() }
    func remove(_ path: String) { lock.lock(); paths.remove(path); lock.unlock() }
    func removeAll() {
        lock.lock(); defer { lock.unlock() }
        for path in paths { unlink(path) }
        paths.removeAll()
    }
}
