import CHDF5
import Foundation
import Support

/// Datasets (Float, Double, UInt64 arrays of any shape), groups and links.
extension HDF5File {
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

    // MARK: Internals

    func writeDataset(_ pointer: UnsafeRawPointer?, count: Int, shape: [Int], type: hid_t, at path: String) throws {
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

    func readDataset<T>(at path: String, memoryType: hid_t, accepting classes: [H5T_class_t], expected: String, zero: T) throws -> (shape: [Int], data: [T]) {
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
    static func dimensions(_ space: hid_t, path: String, fail: (String, String) -> CNNSepError) throws -> [Int] {
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
    func checkSize(_ dataset: hid_t, type: hid_t, shape: [Int], memoryElement: Int, at path: String) throws -> Int {
        var count = 1
        for n in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw fail(path, "declares shape \(shape), more values than can be counted") }
            count = product
        }
        let bytes = Double(count) * Double(memoryElement)
        guard bytes <= MachineMemory.bytes else {
            throw fail(path, "declares shape \(shape) (\(MachineMemory.gigabytes(bytes))), more than this machine's \(MachineMemory.gigabytes(MachineMemory.bytes)) of memory")
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
}
