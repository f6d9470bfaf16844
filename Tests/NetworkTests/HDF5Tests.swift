import Foundation
@testable import Network
import HDF5
import Configuration
import Support
import Testing
import TestHelpers

/// A fresh folder per test (tests run in parallel), removed by the caller.
func makeScratchFolder(_ label: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("cnnsep-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

@Suite("HDF5Tests")
struct HDF5Tests {
    @Test("datasets of every type round trip with their shapes, through intermediate groups")
    func datasetsRoundTrip() throws {
        let folder = try makeScratchFolder("hdf5")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("a.h5")
        let floats: [Float] = (0..<30).map { (index: Int) -> Float in Float(index) * 0.25 - 3 }
        let doubles: [Double] = [1.0 / 3.0, -2.5e10, 7]
        let words: [UInt64] = [0, 1, UInt64.max, 0x0123_4567_89AB_CDEF]
        let file = try HDF5File.create(url)
        try file.write(floats, shape: [2, 3, 1, 5], at: "/model_weights/x/x/kernel:0")
        try file.write(doubles, shape: [3], at: "/deep/er/doubles")
        try file.write(words, shape: [4], at: "/training/rng_state")
        try file.write([Float(42)], shape: [], at: "/scalar")
        try file.write([Float](), shape: [0, 3], at: "/empty")
        try file.finishWriting()

        let reopened = try HDF5File.open(url)
        defer { reopened.close() }
        let kernel = try reopened.readFloats(at: "/model_weights/x/x/kernel:0")
        #expect(kernel.shape == [2, 3, 1, 5])
        #expect(kernel.data == floats)
        // float64 data read as Float is converted by HDF5, value by value.
        let converted = try reopened.readFloats(at: "/deep/er/doubles")
        #expect(converted.shape == [3])
        #expect(converted.data == doubles.map { Float($0) })
        let state = try reopened.readUInt64s(at: "/training/rng_state")
        #expect(state.shape == [4] && state.data == words)
        let scalar = try reopened.readFloats(at: "/scalar")
        #expect(scalar.shape == [] && scalar.data == [42])
        let empty = try reopened.readFloats(at: "/empty")
        #expect(empty.shape == [0, 3] && empty.data.isEmpty)
    }

    @Test("rewriting a dataset replaces it; exists and children see groups and datasets")
    func groupsAndReplacement() throws {
        let folder = try makeScratchFolder("hdf5")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("b.h5")
        let file = try HDF5File.create(url)
        try file.write([1, 2, 3] as [Float], shape: [3], at: "/g/zeta")
        try file.write([4, 5] as [Float], shape: [1, 2], at: "/g/zeta")
        try file.write([1] as [Float], shape: [1], at: "/g/alpha")
        try file.createGroup("/g/mid/inner")
        try file.createGroup("/g/mid")  // existing: no-op
        #expect(try file.readFloats(at: "/g/zeta").shape == [1, 2])
        #expect(try file.readFloats(at: "/g/zeta").data == [4, 5])
        #expect(try file.children(of: "/g") == ["alpha", "mid", "zeta"])
        #expect(try file.children(of: "/") == ["g"])
        #expect(file.exists("/"))
        #expect(file.exists("/g/mid/inner"))
        #expect(file.exists("g/alpha"))
        #expect(!file.exists("/g/beta"))
        #expect(!file.exists("/nothing/below/here"))
        #expect(file.isGroup("/g/mid") && !file.isGroup("/g/alpha"))
        file.close()
        file.close()  // idempotent
    }

    @Test("string, string-array and integer attributes round trip on groups and datasets")
    func attributes() throws {
        let folder = try makeScratchFolder("hdf5")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("c.h5")
        let file = try HDF5File.create(url)
        try file.write([1] as [Float], shape: [1], at: "/g/d")
        let json = #"{"name": "dsd100", "α": 0.001, "nested": {"list": [1, 2]}}"#
        try file.setAttribute("config", json, at: "/")
        try file.setAttribute("backend", "tensorflow", at: "/g", fixedLength: true)
        try file.setAttribute("names", ["a", "longer_name", ""], at: "/g")
        try file.setAttribute("empty", [String](), at: "/g")
        try file.setAttribute("count", Int64(-7), at: "/g/d")
        try file.setAttribute("count", Int64(1) << 40, at: "/g/d")  // replaces
        try file.finishWriting()

        let reopened = try HDF5File.open(url, writable: true)
        defer { reopened.close() }
        #expect(try reopened.stringAttribute("config", at: "/") == json)
        #expect(try reopened.stringAttribute("backend", at: "/g") == "tensorflow")
        #expect(try reopened.stringArrayAttribute("names", at: "/g") == ["a", "longer_name", ""])
        #expect(try reopened.stringArrayAttribute("empty", at: "/g") == [])
        #expect(try reopened.intAttribute("count", at: "/g/d") == Int64(1) << 40)
        #expect(try reopened.stringAttribute("missing", at: "/g") == nil)
        #expect(try reopened.intAttribute("missing", at: "/") == nil)
        // A single string read as an array is a one-element array.
        #expect(try reopened.stringArrayAttribute("backend", at: "/g") == ["tensorflow"])
        let wrongType = errorMessage { _ = try reopened.intAttribute("config", at: "/") }
        #expect(wrongType == "\(url.path): /: attribute config is not an integer")
        let several = errorMessage { _ = try reopened.stringAttribute("names", at: "/g") }
        #expect(several == "\(url.path): /g: attribute names holds 3 strings, expected one")
    }

    @Test("missing datasets, wrong types and inconsistent shapes are one-line errors naming file and object")
    func datasetErrors() throws {
        let folder = try makeScratchFolder("hdf5")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("d.h5")
        let file = try HDF5File.create(url)
        defer { file.close() }
        let mismatch = errorMessage { try file.write([1, 2, 3] as [Float], shape: [2, 2], at: "/w") }
        #expect(mismatch == "\(url.path): /w: shape [2, 2] holds 4 values, got 3")
        try file.write([1.5] as [Float], shape: [1], at: "/f")
        #expect(errorMessage { _ = try file.readFloats(at: "/nope") } == "\(url.path): /nope: no such dataset")
        #expect(errorMessage { _ = try file.readUInt64s(at: "/f") } == "\(url.path): /f: does not hold integers")
        #expect(errorMessage { _ = try file.children(of: "/f") } == "\(url.path): /f: is not a group")
        #expect(errorMessage { try file.setAttribute("a", "b", at: "/nope") } == "\(url.path): /nope: no such group or dataset")
    }

    @Test("opening a missing file, a folder, a text file or a truncated file fails with one line naming the path")
    func badFiles() throws {
        let folder = try makeScratchFolder("hdf5")
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.h5")
        #expect(errorMessage { _ = try HDF5File.open(missing) } == "\(missing.path): no such file")
        #expect(errorMessage { _ = try HDF5File.open(folder) } == "\(folder.path): is a folder, expected an HDF5 file")

        let text = folder.appendingPathComponent("notes.h5")
        try Data("just some text, not HDF5\n".utf8).write(to: text)
        #expect(errorMessage { _ = try HDF5File.open(text) } == "\(text.path): not an HDF5 file (truncated or another format)")

        let whole = folder.appendingPathComponent("whole.h5")
        let file = try HDF5File.create(whole)
        try file.write([Float](repeating: 1, count: 4096), shape: [64, 64], at: "/big")
        try file.finishWriting()
        let bytes = try Data(contentsOf: whole)
        let half = folder.appendingPathComponent("half.h5")
        try bytes.prefix(bytes.count / 2).write(to: half)
        let message = errorMessage { _ = try HDF5File.open(half) }
        #expect(message == "\(half.path): not an HDF5 file (truncated or another format)")
        #expect(message?.contains("\n") == false)
    }
}
