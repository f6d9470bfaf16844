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
/// past the limit fails with EFBIG, as a full disk fails with ENOSPC).
public func runCNNSep(_ arguments: [String], in folder: URL, fileSizeLimitKB: Int? = nil) throws -> ChildResult {
    guard let executable = cnnsepExecutable else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "cnnsep executable not found beside the tests; run `swift build --build-tests`"])
    }
    let process = Process()
    if let fileSizeLimitKB {
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "trap '' XFSZ; ulimit -f \(fileSizeLimitKB); exec \"$0\" \"$@\"", executable.path] + arguments
    } else {
        process.executableURL = executable
        process.arguments = arguments
    }
    process.currentDirectoryURL = folder
    let tag = UInt32.random(in: 0...UInt32.max)
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("cnnsep-child-\(tag).out")
    let err = FileManager.default.temporaryDirectory.appendingPathComponent("cnnsep-child-\(tag).err")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    process.waitUntilExit()
    return ChildResult(status: process.terminationStatus, crashed: process.terminationReason == .uncaughtSignal,
                       standardOutput: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                       standardError: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}
