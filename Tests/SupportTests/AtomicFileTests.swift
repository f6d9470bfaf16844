import Foundation
@testable import Support
import Testing
import TestHelpers

private func scratchFolder(_ label: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("cnnsep-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

@Suite("AtomicFileTests")
struct AtomicFileTests {
    @Test("stale temporaries of our naming whose process is gone are removed; everything else stays")
    func staleTemporaries() throws {
        let folder = try scratchFolder("stale")
        defer { try? FileManager.default.removeItem(at: folder) }
        let dead = try exitedProcessID()
        let stale = [".latest.h5.\(dead).123456.tmp", ".bass.wav.\(dead).1.tmp", "..hidden.\(dead).42.tmp"]
        let kept = [
            ".latest.h5.\(getpid()).99.tmp",   // this process: may be being written right now
            ".latest.h5.1.77.tmp",             // pid 1 always runs
            ".latest.h5.tmp", "latest.h5.\(dead).5.tmp", ".latest.h5.\(dead).x5.tmp", ".\(dead).5.tmp",
            "latest.h5", "log.jsonl", "notes.\(dead).tmp",
        ]
        for name in stale + kept { try Data("x".utf8).write(to: folder.appendingPathComponent(name)) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent(".dir.\(dead).3.tmp"), withIntermediateDirectories: false)

        let removed = AtomicFile.removeStaleTemporaries(in: folder)
        #expect(Set(removed) == Set(stale))
        let left = try Set(FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(left == Set(kept + [".dir.\(dead).3.tmp"]))
        #expect(AtomicFile.removeStaleTemporaries(in: folder.appendingPathComponent("missing")).isEmpty)
    }

    @Test("a destination whose name is near the 255-byte limit is still written (the temporary's name is shortened)")
    func longNames() throws {
        let folder = try scratchFolder("long")
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in [String(repeating: "a", count: 255), String(repeating: "é", count: 127)] {
            let url = folder.appendingPathComponent(name)
            try AtomicFile.write(Data("content".utf8), to: url)
            #expect(try Data(contentsOf: url) == Data("content".utf8))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).count == 2)
    }
}

@Suite("FolderLockTests")
struct FolderLockTests {
    @Test("a folder's lock is exclusive (the refusal names the holder's pid) and free again once released")
    func exclusive() throws {
        let folder = try scratchFolder("lock").appendingPathComponent("run")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let held = try FolderLock(folder, hint: "use another --run-dir")   // creates the folder
        let refused = #expect(throws: CNNSepError.self) { _ = try FolderLock(folder, hint: "use another --run-dir") }
        #expect(refused?.message == "\(folder.path): in use by another cnnsep process (pid \(getpid())); use another --run-dir")
        held.release()
        let again = try FolderLock(folder, hint: "")
        again.release()
    }
}
