import CHDF5
import Foundation
import Support

/// String and integer attributes on groups and datasets.
extension HDF5File {
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

    func variableStringType() throws -> hid_t {
        let type = H5Tcopy(cnnsep_H5T_C_S1())
        guard type >= 0, H5Tset_size(type, cnnsep_H5T_VARIABLE()) >= 0, H5Tset_cset(type, H5T_CSET_UTF8) >= 0 else {
            if type >= 0 { H5Tclose(type) }
            throw CNNSepError("\(url.relativePath): cannot create string type")
        }
        return type
    }

    func writeFixedStrings(_ name: String, _ values: [String], scalar: Bool, at path: String) throws {
        let encoded = values.map { Array($0.utf8) }
        let width = max(1, encoded.map(\.count).max() ?? 1)
        let makeType = { () throws -> hid_t in
            let type = H5Tcopy(cnnsep_H5T_C_S1())
            guard type >= 0, H5Tset_size(type, width) >= 0, H5Tset_strpad(type, H5T_STR_NULLPAD) >= 0 else {
                if type >= 0 { H5Tclose(type) }
                throw CNNSepError("\(self.url.relativePath): cannot create string type")
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
    func withNewAttribute(_ name: String, at path: String, type makeType: () throws -> hid_t,
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
    func withExistingAttribute<T>(_ name: String, at path: String, _ body: (hid_t, hid_t, hid_t) throws -> T) throws -> T? {
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

    func readStrings(_ name: String, at path: String) throws -> [String]? {
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
