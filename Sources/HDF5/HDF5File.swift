import CHDF5
import Foundation
import Support

/// A small, safe wrapper over the HDF5 C library: datasets of Float, Double and UInt64 addressed by
/// absolute paths ("/model_weights/global_dense/global_dense/kernel:0"), groups, and string and
/// integer attributes on any group or dataset.
///
/// Every HDF5 handle opened by a method is closed before the method returns, on errors too. Errors
/// are `CNNSepError`s of one line that start with the file's path and name the object, e.g.
/// `run/latest.h5: /training/rng_state: no such dataset`. HDF5's own printing of its error stack is
/// switched off (per thread, as the thread-safe library keeps one stack per thread).
///
/// HDF5 1.10 built thread-safe (Debian's serial build is): separate `HDF5File` objects may be used from
/// separate threads; one object is not meant to be shared between threads.
public final class HDF5File {
    /// The file's location, used in error messages.
    public let url: URL
    var id: hid_t
    /// Made by `create`: lives in memory until `finishWriting` writes it to `url`.
    let inMemory: Bool

    private init(url: URL, id: hid_t, inMemory: Bool = false) {
        self.url = url
        self.id = id
        self.inMemory = inMemory
    }

    deinit { close() }

    // MARK: Opening and closing

    /// Starts a new file that `finishWriting()` writes to `url` (replacing an existing file).
    ///
    /// The file is built in memory (HDF5's core driver, no backing store) and written out in one
    /// piece by `finishWriting`, with plain `write(2)` calls whose errors are ours to report. So a
    /// full disk never reaches HDF5: when HDF5 itself hits a failing write, its file handle is left
    /// half-closed and the library crashes at exit. `close()` without `finishWriting()` writes nothing.
    public static func create(_ url: URL) throws -> HDF5File {
        silenceErrorPrinting()
        let fapl = try accessProperties(url)
        defer { H5Pclose(fapl) }
        guard H5Pset_fapl_core(fapl, 1 << 20, hbool_t(false)) >= 0 else {
            throw CNNSepError("\(url.relativePath): cannot set up an in-memory HDF5 file")
        }
        let id = H5Fcreate(url.path, cnnsep_H5F_ACC_TRUNC(), hid_t(H5P_DEFAULT), fapl)
        guard id >= 0 else { throw CNNSepError("\(url.relativePath): cannot create HDF5 file") }
        return HDF5File(url: url, id: id, inMemory: true)
    }

    /// Opens an existing file. A missing file, a folder, a file that is not HDF5 and a truncated
    /// HDF5 file are errors naming the path.
    public static func open(_ url: URL, writable: Bool = false) throws -> HDF5File {
        silenceErrorPrinting()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CNNSepError("\(url.relativePath): no such file")
        }
        guard !isDirectory.boolValue else {
            throw CNNSepError("\(url.relativePath): is a folder, expected an HDF5 file")
        }
        guard access(url.path, writable ? R_OK | W_OK : R_OK) == 0 else {
            throw CNNSepError("\(url.relativePath): cannot open (\(String(cString: strerror(errno))))")
        }
        let notHDF5 = CNNSepError("\(url.relativePath): not an HDF5 file (truncated or another format)")
        // H5Fis_hdf5 only looks for the signature; H5Fopen also checks that the file is as long as
        // its superblock says, which catches truncated files.
        guard H5Fis_hdf5(url.path) > 0 else { throw notHDF5 }
        let fapl = try accessProperties(url)
        defer { H5Pclose(fapl) }
        let flags = writable ? cnnsep_H5F_ACC_RDWR() : cnnsep_H5F_ACC_RDONLY()
        let id = H5Fopen(url.path, flags, fapl)
        guard id >= 0 else { throw notHDF5 }
        return HDF5File(url: url, id: id)
    }

    /// Closes the file (idempotent). A file from `create` is discarded unless `finishWriting()` ran.
    public func close() {
        guard id >= 0 else { return }
        H5Fclose(id)
        id = -1
    }

    /// Flushes and closes the file; throws if it could not be written completely (a full disk,
    /// say). A file from `create` is written to `url` here and synced to the disk.
    public func finishWriting() throws {
        guard id >= 0 else { return }
        Self.silenceErrorPrinting()
        errno = 0
        guard inMemory else {
            let flushed = H5Fflush(id, H5F_SCOPE_GLOBAL)
            let reason = Self.systemReason()
            let closed = H5Fclose(id)
            id = -1
            guard flushed >= 0, closed >= 0 else { throw CNNSepError("\(url.relativePath): cannot write HDF5 file" + (reason.isEmpty ? Self.systemReason() : reason)) }
            return
        }
        defer { close() }
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw CNNSepError("\(url.relativePath): cannot assemble the HDF5 file") }
        let size = H5Fget_file_image(id, nil, 0)
        guard size > 0 else { throw CNNSepError("\(url.relativePath): cannot assemble the HDF5 file") }
        var image = [UInt8](repeating: 0, count: size)
        guard H5Fget_file_image(id, &image, size) == size else { throw CNNSepError("\(url.relativePath): cannot assemble the HDF5 file") }
        close()
        try Self.writeDurably(image, to: url)
    }

    /// Writes `bytes` to `url` (created or truncated) and fsyncs it, so that after a rename a power
    /// cut cannot leave an empty file under the final name.
    static func writeDurably(_ bytes: [UInt8], to url: URL) throws {
        func failure() -> CNNSepError { CNNSepError("\(url.relativePath): cannot write (\(String(cString: strerror(errno))))") }
        let descriptor = Foundation.open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure() }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = Foundation.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    if n == 0 { errno = EIO }
                    return false
                }
                written += n
            }
            return fsync(descriptor) == 0
        }
        let error = ok ? nil : failure()
        let closed = Foundation.close(descriptor) == 0
        if let error { throw error }
        guard closed else { throw failure() }
    }

    // MARK: Internals

    /// " (No space left on device)" when the C library set errno during the failed call, else "".
    static func systemReason() -> String {
        errno == 0 ? "" : " (\(String(cString: strerror(errno))))"
    }

    static func silenceErrorPrinting() {
        H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
    }

    static func accessProperties(_ url: URL) throws -> hid_t {
        let fapl = H5Pcreate(cnnsep_H5P_FILE_ACCESS())
        guard fapl >= 0 else { throw CNNSepError("\(url.relativePath): cannot create HDF5 file-access properties") }
        // Closing the file closes anything still open in it, so nothing is left half-written.
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG)
        return fapl
    }

    func fail(_ path: String, _ what: String) -> CNNSepError {
        CNNSepError("\(url.relativePath): \(path): \(what)")
    }

    func requireOpen() throws {
        Self.silenceErrorPrinting()
        guard id >= 0 else { throw CNNSepError("\(url.relativePath): file is closed") }
    }

    func linkProperties() throws -> hid_t {
        let lcpl = H5Pcreate(cnnsep_H5P_LINK_CREATE())
        guard lcpl >= 0, H5Pset_create_intermediate_group(lcpl, 1) >= 0 else {
            if lcpl >= 0 { H5Pclose(lcpl) }
            throw CNNSepError("\(url.relativePath): cannot create HDF5 link properties")
        }
        return lcpl
    }
}
