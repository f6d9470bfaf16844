import Foundation

/// The name of the song a file holds, as people call it: the file's name without its extension or,
/// for a file called `mixture.*` (the DSD100 and MUSDB18 layouts), the name of its folder. A folder
/// is named by itself.
public func songName(of url: URL) -> String {
    let url = url.standardizedFileURL
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue { return url.lastPathComponent }
    let base = url.deletingPathExtension().lastPathComponent
    return base.lowercased() == "mixture" ? url.deletingLastPathComponent().lastPathComponent : base
}
