import Foundation

/// An exclusive lock on a folder (created if needed) that one process holds while it writes there:
/// `flock(2)` on `<folder>/.lock`, which holds the holder's pid. The kernel releases it when the
/// process ends however it ends, so a killed holder never leaves the folder locked. The lock is
/// per open file, so a second lock in the same process is refused too.
public final class FolderLock {
    public let folder: URL
    private var descriptor: Int32

    /// Takes the lock or throws one line naming the holder's pid; `hint` says what to do instead.
    public init(_ folder: URL, hint: String) throws {
        self.folder = folder
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CNNSepError("\(folder.relativePath): cannot create folder (\(error.localizedDescription))")
        }
        let path = folder.appendingPathComponent(".lock").path
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CNNSepError("\(path): cannot open the lock file (\(String(cString: strerror(errno))))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            let holder = Self.readPID(descriptor)
            close(descriptor)
            descriptor = -1
            guard busy else { throw CNNSepError("\(path): cannot lock (\(reason))") }
            throw CNNSepError("\(folder.relativePath): in use by another cnnsep process (pid \(holder.map(String.init) ?? "unknown")); \(hint)")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    deinit { release() }

    /// Gives the lock up (idempotent; also done when the object goes away).
    public func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    private static func readPID(_ descriptor: Int32) -> Int? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = pread(descriptor, &bytes, bytes.count, 0)
        guard count > 0 else { return nil }
        return Int(String(decoding: bytes[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
