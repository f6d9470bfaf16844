import Foundation
import Testing

/// Runs the built cnnsep under `mpirun` (or alone) and collects its exit status and output. A job
/// that has not ended after `timeout` seconds is killed and reported as a failure: a hang is a bug.
struct MPIJob {
    let status: Int32
    let stdout: String
    let stderr: String
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    static let mpirun: URL? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }

    /// `swift test` builds the executable beside the test bundle.
    static let cnnsep = Bundle.main.bundleURL.appendingPathComponent("cnnsep")

    /// `ranks: nil` runs cnnsep without mpirun. `watch` sees the standard output so far, every 50 ms,
    /// until it returns true (to act on a running job, e.g. signal one rank).
    static func run(ranks: Int?, _ arguments: [String], timeout: Double = 120,
                    watch: ((String) -> Bool)? = nil) throws -> MPIJob {
        guard FileManager.default.isExecutableFile(atPath: cnnsep.path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: cnnsep.path])
        }
        let process = Process()
        var environment = ProcessInfo.processInfo.environment
        if let ranks {
            process.executableURL = mpirun
            process.arguments = ["-q", "-np", "\(ranks)", "--oversubscribe", cnnsep.path] + arguments
            // CI runs as root, which mpirun refuses unless told twice.
            environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        } else {
            process.executableURL = cnnsep
            process.arguments = arguments
            for launcher in ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"] { environment[launcher] = nil }
        }
        process.environment = environment
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mpijob-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("stdout"), err = folder.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let deadline = Date().addingTimeInterval(timeout)
        var watching = watch
        while process.isRunning && Date() < deadline {
            if let watch = watching, watch((try? String(contentsOf: out, encoding: .utf8)) ?? "") { watching = nil }
            usleep(50_000)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)  // mpirun's ranks go down with it
            process.waitUntilExit()
            Issue.record("cnnsep \(arguments.joined(separator: " ")) on \(ranks ?? 1) rank(s) still running after \(timeout) s")
        }
        process.waitUntilExit()
        return MPIJob(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
