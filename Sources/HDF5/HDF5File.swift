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
    private var id: hid_t
    /// Made by `create`: lives in memory until `finishWriting` writes it to `url`.
    private let inMemory: Bool

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
            throw CNNSepError("\(url.path): cannot set up an in-memory HDF5 file")
        }
        let id = H5Fcreate(url.path, cnnsep_H5F_ACC_TRUNC(), hid_t(H5P_DEFAULT), fapl)
        guard id >= 0 else { throw CNNSepError("\(url.path): cannot create HDF5 file") }
        return HDF5File(url: url, id: id, inMemory: true)
    }

    /// Opens an existing file. A missing file, a folder, a file that is not HDF5 and a truncated
    /// HDF5 file are errors naming the path.
    public static func open(_ url: URL, writable: Bool = false) throws -> HDF5File {
        silenceErrorPrinting()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw CNNSepError("\(url.path): no such file")
        }
        guard !isDirectory.boolValue else {
            throw CNNSepError("\(url.path): is a folder, expected an HDF5 file")
        }
        guard access(url.path, writable ? R_OK | W_OK : R_OK) == 0 else {
            throw CNNSepError("\(url.path): cannot open (\(String(cString: strerror(errno))))")
        }
        let notHDF5 = CNNSepError("\(url.path): not an HDF5 file (truncated or another format)")
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
            guard flushed >= 0, closed >= 0 else { throw CNNSepError("\(url.path): cannot write HDF5 file" + (reason.isEmpty ? Self.systemReason() : reason)) }
            return
        }
        defer { close() }
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw CNNSepError("\(url.path): cannot assemble the HDF5 file") }
        let size = H5Fget_file_image(id, nil, 0)
        guard size > 0 else { throw CNNSepError("\(url.path): cannot assemble the HDF5 file") }
        var image = [UInt8](repeating: 0, count: size)
        guard H5Fget_file_image(id, &image, size) == size else { throw CNNSepError("\(url.path): cannot assemble the HDF5 file") }
        close()
        try Self.writeDurably(image, to: url)
    }

    /// Writes `bytes` to `url` (created or truncated) and fsyncs it, so that after a rename a power
    /// cut cannot leave an empty file under the final name.
    private static func writeDurably(_ bytes: [UInt8], to url: URL) throws {
        func failure() -> CNNSepError { CNNSepError("\(url.path): cannot write (\(String(cString: strerror(errno))))") }
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

    // MARK: Datasets

    /// Writes a float32 dataset of `shape` (row-major; `[]` is a scalar), creating intermediate
    /// groups and replacing an existing dataset at `path`.
    public func write(_ data: [Float], shape: [Int], at path: String) throws {
        try data.withUnsafeBytes { try writeDataset($0.baseAddress, count: data.count, shape: shape, type: cnnsep_H5T_NATIVE_FLOAT(), at: path) }
    }

    /// Writes a float64 dataset; see `write(_:shape:at:)` for Float.
    public func write(_ data: [Double], shape: [Int], at path: String) throws {
        try data.withUnsafeBytes { try writeDataset($0.baseAddress, count: data.count, shape: shape, type: cnnsep_H5T_NATIVE_DOUBLE(), at: path) }
    }

    /// Writes a uint64 dataset; see `write(_:shape:at:)` for Float.
    public func write(_ data: [UInt64], shape: [Int], at path: String) throws {
        try data.withUnsafeBytes { try writeDataset($0.baseAddress, count: data.count, shape: shape, type: cnnsep_H5T_NATIVE_UINT64(), at: path) }
    }

    /// Reads a dataset of any floating-point (or integer) type, converted by HDF5 to Float, so
    /// float64 Keras files load too. A scalar has shape `[]`.
    public func readFloats(at path: String) throws -> (shape: [Int], data: [Float]) {
        try readDataset(at: path, memoryType: cnnsep_H5T_NATIVE_FLOAT(), accepting: [H5T_FLOAT, H5T_INTEGER], expected: "numbers", zero: Float(0))
    }

    /// Reads a numeric dataset converted to Double (exact for float64 data).
    public func readDoubles(at path: String) throws -> (shape: [Int], data: [Double]) {
        try readDataset(at: path, memoryType: cnnsep_H5T_NATIVE_DOUBLE(), accepting: [H5T_FLOAT, H5T_INTEGER], expected: "numbers", zero: Double(0))
    }

    /// Reads an integer dataset as UInt64.
    public func readUInt64s(at path: String) throws -> (shape: [Int], data: [UInt64]) {
        try readDataset(at: path, memoryType: cnnsep_H5T_NATIVE_UINT64(), accepting: [H5T_INTEGER], expected: "integers", zero: UInt64(0))
    }

    // MARK: Groups and links

    /// Whether a group or dataset exists at `path` ("/" always exists).
    public func exists(_ path: String) -> Bool {
        guard id >= 0 else { return false }
        Self.silenceErrorPrinting()
        // H5Lexists fails on a path whose parent is missing, so walk the path one link at a time.
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            guard H5Lexists(id, prefix, hid_t(H5P_DEFAULT)) > 0 else { return false }
        }
        // A dangling soft link exists as a link but not as an object.
        return prefix.isEmpty || H5Oexists_by_name(id, prefix, hid_t(H5P_DEFAULT)) > 0
    }

    /// Whether `path` is a group.
    public func isGroup(_ path: String) -> Bool {
        guard exists(path) else { return false }
        let object = H5Oopen(id, path, hid_t(H5P_DEFAULT))
        guard object >= 0 else { return false }
        defer { H5Oclose(object) }
        return H5Iget_type(object) == H5I_GROUP
    }

    /// Creates a group and any missing parents; does nothing if it exists.
    public func createGroup(_ path: String) throws {
        try requireOpen()
        guard !exists(path) else {
            guard isGroup(path) else { throw fail(path, "exists and is not a group") }
            return
        }
        let lcpl = try linkProperties()
        defer { H5Pclose(lcpl) }
        let group = H5Gcreate2(id, path, lcpl, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
        guard group >= 0 else { throw fail(path, "cannot create group") }
        H5Gclose(group)
    }

    /// The names of the links (groups and datasets) directly inside `group`, sorted.
    public func children(of group: String) throws -> [String] {
        try requireOpen()
        guard isGroup(group) else { throw fail(group, exists(group) ? "is not a group" : "no such group") }
        let handle = H5Gopen2(id, group, hid_t(H5P_DEFAULT))
        guard handle >= 0 else { throw fail(group, "cannot open group") }
        defer { H5Gclose(handle) }
        var info = H5G_info_t()
        guard H5Gget_info(handle, &info) >= 0 else { throw fail(group, "cannot list group") }
        var names: [String] = []
        for index in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(handle, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, hid_t(H5P_DEFAULT))
            guard length >= 0 else { throw fail(group, "cannot read link \(index)") }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            guard H5Lget_name_by_idx(handle, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, hid_t(H5P_DEFAULT)) >= 0 else {
                throw fail(group, "cannot read link \(index)")
            }
            names.append(String(cString: buffer))
        }
        return names.sorted()
    }

    // MARK: Attributes

    /// Sets a string attribute on the group or dataset at `path` (replacing it): variable-length
    /// UTF-8 (h5py reads a `str`) by default, or a fixed-length byte string (h5py reads `bytes`, as
    /// Keras writes `keras_version` and `backend`).
    public func setAttribute(_ name: String, _ value: String, at path: String, fixedLength: Bool = false) throws {
        if fixedLength {
            try writeFixedStrings(name, [value], scalar: true, at: path)
            return
        }
        try withNewAttribute(name, at: path, type: { try self.variableStringType() }, space: { H5Screate(H5S_SCALAR) }) { attribute, type in
            try value.withCString { pointer in
                var pointers: [UnsafePointer<CChar>?] = [pointer]
                guard H5Awrite(attribute, type, &pointers) >= 0 else { throw self.fail(path, "cannot write attribute \(name)") }
            }
        }
    }

    /// Sets an attribute holding a 1-D array of fixed-length, null-padded byte strings, the form
    /// Keras uses for `layer_names` and `weight_names` (h5py reads a numpy array of `bytes`).
    public func setAttribute(_ name: String, _ values: [String], at path: String) throws {
        try writeFixedStrings(name, values, scalar: false, at: path)
    }

    /// Sets a scalar int64 attribute.
    public func setAttribute(_ name: String, _ value: Int64, at path: String) throws {
        try withNewAttribute(name, at: path, type: { H5Tcopy(cnnsep_H5T_NATIVE_INT64()) }, space: { H5Screate(H5S_SCALAR) }) { attribute, type in
            var value = value
            guard H5Awrite(attribute, type, &value) >= 0 else { throw self.fail(path, "cannot write attribute \(name)") }
        }
    }

    /// A string attribute (variable- or fixed-length, scalar or a one-element array); nil if absent.
    public func stringAttribute(_ name: String, at path: String) throws -> String? {
        guard let values = try readStrings(name, at: path) else { return nil }
        guard values.count == 1 else { throw fail(path, "attribute \(name) holds \(values.count) strings, expected one") }
        return values[0]
    }

    /// A string-array attribute (fixed- or variable-length strings); nil if absent.
    public func stringArrayAttribute(_ name: String, at path: String) throws -> [String]? {
        try readStrings(name, at: path)
    }

    /// An integer attribute (any integer type, scalar or one-element array); nil if absent.
    public func intAttribute(_ name: String, at path: String) throws -> Int64? {
        try withExistingAttribute(name, at: path) { attribute, type, space in
            guard H5Tget_class(type) == H5T_INTEGER else { throw fail(path, "attribute \(name) is not an integer") }
            guard H5Sget_simple_extent_npoints(space) == 1 else { throw fail(path, "attribute \(name) holds several values, expected one integer") }
            var value: Int64 = 0
            guard H5Aread(attribute, cnnsep_H5T_NATIVE_INT64(), &value) >= 0 else { throw fail(path, "cannot read attribute \(name)") }
            return value
        }
    }

    // MARK: Internals

    /// " (No space left on device)" when the C library set errno during the failed call, else "".
    private static func systemReason() -> String {
        errno == 0 ? "" : " (\(String(cString: strerror(errno))))"
    }

    static func silenceErrorPrinting() {
        H5Eset_auto2(hid_t(H5E_DEFAULT), nil, nil)
    }

    private static func accessProperties(_ url: URL) throws -> hid_t {
        let fapl = H5Pcreate(cnnsep_H5P_FILE_ACCESS())
        guard fapl >= 0 else { throw CNNSepError("\(url.path): cannot create HDF5 file-access properties") }
        // Closing the file closes anything still open in it, so nothing is left half-written.
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG)
        return fapl
    }

    private func fail(_ path: String, _ what: String) -> CNNSepError {
        CNNSepError("\(url.path): \(path): \(what)")
    }

    private func requireOpen() throws {
        Self.silenceErrorPrinting()
        guard id >= 0 else { throw CNNSepError("\(url.path): file is closed") }
    }

    private func linkProperties() throws -> hid_t {
        let lcpl = H5Pcreate(cnnsep_H5P_LINK_CREATE())
        guard lcpl >= 0, H5Pset_create_intermediate_group(lcpl, 1) >= 0 else {
            if lcpl >= 0 { H5Pclose(lcpl) }
            throw CNNSepError("\(url.path): cannot create HDF5 link properties")
        }
        return lcpl
    }

    private func writeDataset(_ pointer: UnsafeRawPointer?, count: Int, shape: [Int], type: hid_t, at path: String) throws {
        try requireOpen()
        guard shape.allSatisfy({ $0 >= 0 }) else { throw fail(path, "negative size in shape \(shape)") }
        let expected = shape.reduce(1, *)
        guard expected == count else { throw fail(path, "shape \(shape) holds \(expected) values, got \(count)") }
        if exists(path) {
            guard H5Ldelete(id, path, hid_t(H5P_DEFAULT)) >= 0 else { throw fail(path, "cannot replace existing object") }
        }
        let dims = shape.map { hsize_t($0) }
        let space = shape.isEmpty ? H5Screate(H5S_SCALAR) : H5Screate_simple(Int32(dims.count), dims, nil)
        guard space >= 0 else { throw fail(path, "cannot create dataspace of shape \(shape)") }
        defer { H5Sclose(space) }
        let lcpl = try linkProperties()
        defer { H5Pclose(lcpl) }
        errno = 0
        let dataset = H5Dcreate2(id, path, type, space, lcpl, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
        guard dataset >= 0 else { throw fail(path, "cannot create dataset" + Self.systemReason()) }
        defer { H5Dclose(dataset) }
        guard count == 0 || H5Dwrite(dataset, type, cnnsep_H5S_ALL(), cnnsep_H5S_ALL(), hid_t(H5P_DEFAULT), pointer) >= 0 else {
            throw fail(path, "cannot write dataset" + Self.systemReason())
        }
    }

    private func readDataset<T>(at path: String, memoryType: hid_t, accepting classes: [H5T_class_t], expected: String, zero: T) throws -> (shape: [Int], data: [T]) {
        try requireOpen()
        guard exists(path) else { throw fail(path, "no such dataset") }
        let dataset = H5Dopen2(id, path, hid_t(H5P_DEFAULT))
        guard dataset >= 0 else { throw fail(path, "is not a dataset") }
        defer { H5Dclose(dataset) }
        let type = H5Dget_type(dataset)
        guard type >= 0 else { throw fail(path, "cannot read type") }
        defer { H5Tclose(type) }
        guard classes.contains(H5Tget_class(type)) else { throw fail(path, "does not hold \(expected)") }
        let space = H5Dget_space(dataset)
        guard space >= 0 else { throw fail(path, "cannot read shape") }
        defer { H5Sclose(space) }
        let shape = try Self.dimensions(space, path: path, fail: fail)
        let count = try checkSize(dataset, type: type, shape: shape, memoryElement: MemoryLayout<T>.size, at: path)
        var data = [T](repeating: zero, count: count)
        if count > 0 {
            let status = data.withUnsafeMutableBytes {
                H5Dread(dataset, memoryType, cnnsep_H5S_ALL(), cnnsep_H5S_ALL(), hid_t(H5P_DEFAULT), $0.baseAddress)
            }
            guard status >= 0 else { throw fail(path, "cannot read data (file damaged?)") }
        }
        return (shape, data)
    }

    /// A dataspace's dimensions.
    private static func dimensions(_ space: hid_t, path: String, fail: (String, String) -> CNNSepError) throws -> [Int] {
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0 else { throw fail(path, "cannot read shape") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        if rank > 0 { H5Sget_simple_extent_dims(space, &dims, nil) }
        guard dims.allSatisfy({ $0 <= hsize_t(Int.max) }) else { throw fail(path, "declares an impossible shape \(dims)") }
        return dims.map { Int($0) }
    }

    /// The number of values of a dataset of `shape`, once its size is known to make sense: it fits
    /// in this machine's memory, and an uncompressed dataset stores all of it (HDF5 lets a file
    /// declare any shape and store nothing, so a file of a few KB can claim terabytes).
    private func checkSize(_ dataset: hid_t, type: hid_t, shape: [Int], memoryElement: Int, at path: String) throws -> Int {
        var count = 1
        for n in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw fail(path, "declares shape \(shape), more values than can be counted") }
            count = product
        }
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        let bytes = Double(count) * Double(memoryElement)
        guard bytes <= memory else {
            throw fail(path, String(format: "declares shape %@ (%.3g GB), more than this machine's %.3g GB of memory", "\(shape)", bytes / 1e9, memory / 1e9))
        }
        let plist = H5Dget_create_plist(dataset)
        guard plist >= 0 else { throw fail(path, "cannot read its storage properties") }
        let filters = H5Pget_nfilters(plist)
        H5Pclose(plist)
        let declared = hsize_t(count) * hsize_t(H5Tget_size(type))
        let stored = H5Dget_storage_size(dataset)
        if filters == 0, count > 0, stored < declared {
            throw fail(path, "declares shape \(shape) but the file holds \(stored) of its \(declared) bytes (never written, or damaged)")
        }
        return count
    }

    /// The shape of the dataset at `path`, read without reading its data.
    public func shape(at path: String) throws -> [Int] {
        try requireOpen()
        guard exists(path) else { throw fail(path, "no such dataset") }
        let dataset = H5Dopen2(id, path, hid_t(H5P_DEFAULT))
        guard dataset >= 0 else { throw fail(path, "is not a dataset") }
        defer { H5Dclose(dataset) }
        let space = H5Dget_space(dataset)
        guard space >= 0 else { throw fail(path, "cannot read shape") }
        defer { H5Sclose(space) }
        return try Self.dimensions(space, path: path, fail: fail)
    }

    private func variableStringType() throws -> hid_t {
        let type = H5Tcopy(cnnsep_H5T_C_S1())
        guard type >= 0, H5Tset_size(type, cnnsep_H5T_VARIABLE()) >= 0, H5Tset_cset(type, H5T_CSET_UTF8) >= 0 else {
            if type >= 0 { H5Tclose(type) }
            throw CNNSepError("\(url.path): cannot create string type")
        }
        return type
    }

    private func writeFixedStrings(_ name: String, _ values: [String], scalar: Bool, at path: String) throws {
        let encoded = values.map { Array($0.utf8) }
        let width = max(1, encoded.map(\.count).max() ?? 1)
        let makeType = { () throws -> hid_t in
            let type = H5Tcopy(cnnsep_H5T_C_S1())
            guard type >= 0, H5Tset_size(type, width) >= 0, H5Tset_strpad(type, H5T_STR_NULLPAD) >= 0 else {
                if type >= 0 { H5Tclose(type) }
                throw CNNSepError("\(self.url.path): cannot create string type")
            }
            return type
        }
        let makeSpace = { () -> hid_t in
            if scalar { return H5Screate(H5S_SCALAR) }
            if values.isEmpty { return H5Screate(H5S_NULL) }
            var dims = [hsize_t(values.count)]
            return H5Screate_simple(1, &dims, nil)
        }
        try withNewAttribute(name, at: path, type: makeType, space: makeSpace) { attribute, type in
            guard !values.isEmpty else { return }
            var bytes = [UInt8](repeating: 0, count: width * values.count)
            for (index, value) in encoded.enumerated() {
                bytes.replaceSubrange(index * width..<index * width + value.count, with: value)
            }
            guard H5Awrite(attribute, type, bytes) >= 0 else { throw self.fail(path, "cannot write attribute \(name)") }
        }
    }

    /// Opens the object at `path`, replaces attribute `name` by a new one of the given type and
    /// space, and calls `body` with it; closes every handle.
    private func withNewAttribute(_ name: String, at path: String, type makeType: () throws -> hid_t,
                                  space makeSpace: () -> hid_t, _ body: (hid_t, hid_t) throws -> Void) throws {
        try requireOpen()
        guard exists(path) else { throw fail(path, "no such group or dataset") }
        let object = H5Oopen(id, path, hid_t(H5P_DEFAULT))
        guard object >= 0 else { throw fail(path, "cannot open object") }
        defer { H5Oclose(object) }
        if H5Aexists(object, name) > 0 {
            guard H5Adelete(object, name) >= 0 else { throw fail(path, "cannot replace attribute \(name)") }
        }
        let type = try makeType()
        guard type >= 0 else { throw fail(path, "cannot create type for attribute \(name)") }
        defer { H5Tclose(type) }
        let space = makeSpace()
        guard space >= 0 else { throw fail(path, "cannot create dataspace for attribute \(name)") }
        defer { H5Sclose(space) }
        let attribute = H5Acreate2(object, name, type, space, hid_t(H5P_DEFAULT), hid_t(H5P_DEFAULT))
        guard attribute >= 0 else { throw fail(path, "cannot create attribute \(name)") }
        defer { H5Aclose(attribute) }
        try body(attribute, type)
    }

    /// Calls `body` with attribute `name` of the object at `path`, its type and its dataspace;
    /// returns nil if the attribute does not exist.
    private func withExistingAttribute<T>(_ name: String, at path: String, _ body: (hid_t, hid_t, hid_t) throws -> T) throws -> T? {
        try requireOpen()
        guard exists(path) else { throw fail(path, "no such group or dataset") }
        let object = H5Oopen(id, path, hid_t(H5P_DEFAULT))
        guard object >= 0 else { throw fail(path, "cannot open object") }
        defer { H5Oclose(object) }
        let found = H5Aexists(object, name)
        guard found >= 0 else { throw fail(path, "cannot read attribute \(name)") }
        guard found > 0 else { return nil }
        let attribute = H5Aopen(object, name, hid_t(H5P_DEFAULT))
        guard attribute >= 0 else { throw fail(path, "cannot open attribute \(name)") }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        guard type >= 0 else { throw fail(path, "cannot read the type of attribute \(name)") }
        defer { H5Tclose(type) }
        let space = H5Aget_space(attribute)
        guard space >= 0 else { throw fail(path, "cannot read the shape of attribute \(name)") }
        defer { H5Sclose(space) }
        return try body(attribute, type, space)
    }

    private func readStrings(_ name: String, at path: String) throws -> [String]? {
        try withExistingAttribute(name, at: path) { attribute, type, space in
            guard H5Tget_class(type) == H5T_STRING else { throw fail(path, "attribute \(name) is not a string") }
            let count = Int(H5Sget_simple_extent_npoints(space))
            guard count > 0 else { return [] }
            if H5Tis_variable_str(type) > 0 {
                let memoryType = try variableStringType()
                defer { H5Tclose(memoryType) }
                H5Tset_cset(memoryType, H5Tget_cset(type))
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
                guard H5Aread(attribute, memoryType, &pointers) >= 0 else { throw fail(path, "cannot read attribute \(name)") }
                let strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
                H5Dvlen_reclaim(memoryType, space, hid_t(H5P_DEFAULT), &pointers)
                return strings
            }
            let width = H5Tget_size(type)
            guard width > 0 else { throw fail(path, "attribute \(name) has strings of width 0") }
            var bytes = [UInt8](repeating: 0, count: width * count)
            guard H5Aread(attribute, type, &bytes) >= 0 else { throw fail(path, "cannot read attribute \(name)") }
            let spacePadded = H5Tget_strpad(type) == H5T_STR_SPACEPAD
            return (0..<count).map { index in
                var field = bytes[index * width..<(index + 1) * width]
                if let end = field.firstIndex(of: 0) { field = field[..<end] }
                var string = String(decoding: field, as: UTF8.self)
                if spacePadded { while string.hasSuffix(" ") { string.removeLast() } }
                return string
            }
        }
    }
}
