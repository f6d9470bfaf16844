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
                throw CNNSepError("\(folder.relativePath): cannot create folder (\(error.localizedDescription))")
            }
        } else if !isDirectory.boolValue {
            throw CNNSepError("\(folder.relativePath): exists and is not a folder")
        }
        let temporary = folder.appendingPathComponent(
            ".\(shortened(destination.lastPathComponent)).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        pending.add(temporary.path)
        return temporary
    }

    /// `name` cut (at a character boundary) so that the temporary's name, which adds up to 24 bytes,
    /// stays within the 255 bytes a file name may have.
    static func shortened(_ name: String) -> String {
        let limit = 255 - 24
        guard name.utf8.count > limit else { return name }
        var result = "", bytes = 0
        for character in name {
            bytes += character.utf8.count
            guard bytes <= limit else { break }
            result.append(character)
        }
        return result
    }

    /// Renames a finished temporary file over `destination`.
    public static func commit(_ temporary: URL, to destination: URL) throws {
        guard rename(temporary.path, destination.path) == 0 else {
            let reason = String(cString: strerror(errno))
            abandon(temporary)
            throw CNNSepError("\(destination.relativePath): cannot write (\(reason))")
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
                throw CNNSepError("\(destination.relativePath): cannot write (\(error.localizedDescription))")
            }
        }
    }

    /// Removes the temporary files of our naming (`.<name>.<pid>.<random>.tmp`, see `temporaryURL`)
    /// that processes which no longer run left in `folder` (killed before they could commit or
    /// abandon them). A file whose pid is alive is kept, this process's own too: it may be being
    /// written right now. Returns the names removed; a folder that cannot be listed has none.
    @discardableResult
    public static func removeStaleTemporaries(in folder: URL) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [String] = []
        for name in names.sorted() {
            guard let pid = writerPID(ofTemporary: name), !isRunning(pid) else { continue }
            let path = folder.appendingPathComponent(name).path
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if unlink(path) == 0 { removed.append(name) }
        }
        return removed
    }

    /// The pid in a temporary file's name `.<name>.<pid>.<random>.tmp`; nil for any other name.
    static func writerPID(ofTemporary name: String) -> pid_t? {
        guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return nil }
        let parts = name.dropFirst().dropLast(4).split(separator: ".", omittingEmptySubsequences: false)
        func digits(_ s: Substring) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
        guard parts.count >= 3, !parts.dropLast(2).joined(separator: ".").isEmpty,
              digits(parts[parts.count - 1]), digits(parts[parts.count - 2]),
              let pid = pid_t(parts[parts.count - 2]), pid > 0 else { return nil }
        return pid
    }

    /// Whether process `pid` exists (EPERM: it exists but belongs to another user).
    static func isRunning(_ pid: pid_t) -> Bool {
        pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
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
