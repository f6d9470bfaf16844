import Foundation

/// Whether two paths name the same existing file, however they are spelled (relative, through
/// symbolic links, hard links): the same device and inode.
public func isSameFile(_ a: URL, _ b: URL) -> Bool {
    var first = stat(), second = stat()
    guard stat(a.path, &first) == 0, stat(b.path, &second) == 0 else { return false }
    return first.st_dev == second.st_dev && first.st_ino == second.st_ino
}
