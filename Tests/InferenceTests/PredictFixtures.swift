import Audio
import Configuration
import Foundation
import Network
import TestHelpers
import Testing

// Fixtures of the predict tests (kept to APIs that predate them, so the command-line tests also
// build against the code before the options existed, to show that they failed there).

/// The stems in `folder` named `names` (file names with extension), read back.
func readStems(_ folder: URL, _ names: [String]) throws -> [AudioBuffer] {
    try names.map { try AudioFile.read(folder.appendingPathComponent($0)) }
}

let fourStems = ["bass.wav", "drums.wav", "other.wav", "vocals.wav"]

/// The largest difference, over channels and samples, between the sum of `stems` and `input`.
func sumError(_ stems: [AudioBuffer], _ input: AudioBuffer) -> Float {
    var worst: Float = 0
    for c in 0..<input.channelCount {
        for i in 0..<input.frameCount {
            let sum = stems.reduce(Float(0)) { $0 + $1.channels[c][i] }
            worst = max(worst, abs(sum - input.channels[c][i]))
        }
    }
    return worst
}

/// Every file under `folder` (relative paths, sorted), hidden ones included.
func allFiles(_ folder: URL) -> [String] {
    let names = (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String]) ?? []
    return names.filter { name in
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path, isDirectory: &isFolder) && !isFolder.boolValue
    }.sorted()
}

/// Starts the built `cnnsep` with `arguments` in `folder` without waiting (output to /dev/null),
/// for the tests that interrupt or kill it; `finish` reaps it.
func startCNNSep(_ arguments: [String], in folder: URL) throws -> pid_t {
    let executable = try #require(cnnsepExecutable)
    let script = #"cd "$1" && exec "$2" "${@:3}" >/dev/null 2>&1"#
    let argv = ["/bin/bash", "-c", script, "bash", folder.path, executable.path] + arguments
    var cArguments = argv.map { strdup($0) } + [nil]
    defer { for pointer in cArguments { free(pointer) } }
    // The test runner's threads may block or ignore SIGINT; the child must get it as a shell's would.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t(), interrupts = sigset_t()
    sigemptyset(&none)
    sigemptyset(&interrupts)
    sigaddset(&interrupts, SIGINT)
    sigaddset(&interrupts, SIGTERM)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &interrupts)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let spawned = spawnWithoutInheritedFiles(&pid, "/bin/bash", &attributes, &cArguments)
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
    return pid
}

/// Waits for a child of `startCNNSep`: its exit status, or 128 + the signal that ended it.
func finish(_ pid: pid_t) throws -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}

/// Polls `condition` every 10 ms for up to `seconds`; whether it became true.
func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
