import Foundation
import Support

/// A fresh folder per test (tests run in parallel), named after the test; removed by the caller.
public func temporaryFolder(_ name: String = #function) -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("cnnsep-tests-\(name.filter(\.isLetter))-\(UInt32.random(in: 0...UInt32.max))")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}


/// The message of the CNNSepError `body` throws (nil if it throws nothing).
public func errorMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as CNNSepError {
        return error.message
    } catch {
        return "\(error)"
    }
}

