import Foundation

/// How a child process ended: its exit status, or the signal that killed it (a crash).
public struct ChildResult: CustomStringConvertible {
    public let status: Int32
    public let crashed: Bool
    public let standardOutput: String
    public let standardError: String

    /// The lines of standard error that are not empty.
    public var errorLines: [Substring] { standardError.split(separator: "\n") }

    public var description: String {
        "\(crashed ? "killed by signal" : "exit status") \(status); stderr: \(standardError.prefix(2000)); stdout: \(standardOutput.prefix(500))"
    }
}

/// The `cnnsep` executable of this build: `swift build --build-tests` (what `swift test` runs) puts it
/// beside the test bundle.
public let cnnsepExecutable: URL? = {
    var candidates: [URL] = []
    if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent()) }
    candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug"))
    return candidates.map { $0.appendingPathComponent("cnnsep") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
}()

/// Runs the built `cnnsep` with `arguments` in `folder` and waits for it. With `fileSizeLimitKB`
/// the child may not write files larger than that (RLIMIT_FSIZE, with SIGXFSZ ignored so a write
/// past the limit fails with EFBIG, as a full disk fails with ENOSPC). `executable` runs another copy
/// of the binary (one with no shipped model beside it).
///
/// Spawned with posix_spawn and reaped with waitpid: Foundation's `Process.waitUntilExit` was seen
/// to miss a child's exit while other tests ran in parallel, hanging the test run.
public func runCNNSep(_ arguments: [String], in folder: URL, fileSizeLimitKB: Int? = nil,
                      executable chosen: URL? = nil) throws -> ChildResult {
    guard let executable = chosen ?? cnnsepExecutable else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "cnnsep executable not found beside the tests; run `swift build --build-tests`"])
    }
    let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("cnnsep-child-\(tag).out")
    let err = FileManager.default.temporaryDirectory.appendingPathComponent("cnnsep-child-\(tag).err")
    defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
    // bash sets the limit, changes folder and redirects, then becomes cnnsep (exec), so a crash
    // shows as the child's own signal.
    let limit = fileSizeLimitKB.map { "trap '' XFSZ; ulimit -f \($0); " } ?? ""
    let script = limit + #"cd "$1" && exec "$2" "${@:5}" >"$3" 2>"$4""#
    let argv = ["/bin/bash", "-c", script, "bash", folder.path, executable.path, out.path, err.path] + arguments
    var cArguments = argv.map { strdup($0) } + [nil]
    defer { for pointer in cArguments { free(pointer) } }
    var pid: pid_t = 0
    let spawned = spawnWithoutInheritedFiles(&pid, "/bin/bash", nil, &cArguments)
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
    let signal = status & 0x7f
    return ChildResult(status: signal == 0 ? (status >> 8) & 0xff : signal, crashed: signal != 0,
                       standardOutput: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                       standardError: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// The pid of a process that has exited and been reaped, so that no process has it now (unless the
/// system hands it out again within microseconds): a writer that was killed, for the tests of stale
/// temporaries.
public func exitedProcessID() throws -> pid_t {
    var cArguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/true"), nil]
    defer { free(cArguments[0]) }
    var pid: pid_t = 0
    let spawned = spawnWithoutInheritedFiles(&pid, "/bin/true", nil, &cArguments)
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
    return pid
}

/// posix_spawn whose child closes every descriptor above standard error before it runs the program.
/// Tests run in parallel: a child that kept a descriptor another test had open at that instant would
/// hold that file's HDF5 lock (a `flock`, so a checkpoint written there could not be opened again) or
/// its write access (a copied binary could not be run: ETXTBSY) for as long as it lives.
public func spawnWithoutInheritedFiles(_ pid: inout pid_t, _ path: String, _ attributes: UnsafePointer<posix_spawnattr_t>?,
                                       _ arguments: inout [UnsafeMutablePointer<CChar>?]) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    _ = closeFrom?(&actions, 3)
    return posix_spawn(&pid, path, &actions, attributes, &arguments, environ)
}

/// glibc's posix_spawn_file_actions_addclosefrom_np (2.34 and later), which Swift's Glibc module does
/// not declare; nil where the C library lacks it (children then inherit, as before).
private let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
    guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
}()
