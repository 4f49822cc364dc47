import CHDF5
import Foundation

/// A thin layer over the HDF5 C library: files, groups, scalar attributes and 1-D datasets (float64, int64, uint8,
/// variable-length UTF-8 strings), enough for seal's metrics files (see Metrics.swift). Only rank 0 writes them.
///
/// Every failure is thrown as an `HDF5Error` naming the file, the HDF5 call and, when the library said why, its
/// reason (the descriptions on HDF5's error stack); HDF5's own printing of errors to stderr is turned off.
public enum HDF5Error: Error, CustomStringConvertible {
    case call(String, path: String)
    /// `operation` failed on the file at `path`; `reason` is HDF5's error stack (may be empty) or seal's own check.
    case failed(String, path: String, reason: String)
    public var description: String {
        switch self {
        case .call(let f, let p): return "\(p): HDF5 \(f) failed"
        case .failed(let f, let p, let r): return r.isEmpty ? "\(p): HDF5 \(f) failed" : "\(p): HDF5 \(f) failed: \(r)"
        }
    }
}

/// A scalar attribute value as stored: int64, float64 or a UTF-8 string.
public enum HDF5Value: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)

    public var intValue: Int? { if case .int(let v) = self { return v }; return nil }
    /// The value as a Double: float64 attributes, and int64 ones converted.
    public var doubleValue: Double? {
        switch self { case .double(let v): return v; case .int(let v): return Double(v); case .string: return nil }
    }
    public var stringValue: String? { if case .string(let v) = self { return v }; return nil }
    public var description: String {
        switch self {
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .string(let v): return v
        }
    }
}

public final class HDF5File: @unchecked Sendable {
    /// How to open a file.
    public enum Access: Sendable {
        /// A new file; an existing one is an error unless `overwrite` (then it is truncated).
        case create(overwrite: Bool)
        case readWrite
        case readOnly
    }

    /// File-access settings beyond HDF5's defaults.
    public struct Options: Sendable {
        /// Keep dirty metadata in memory until `flush()` (metadata-cache evictions off): a process killed between
        /// two flushes leaves the file's metadata exactly as of the last flush. Also caps the format at HDF5 1.8's
        /// (no superblock-3 "open for write" flags that would make a killed writer's file unopenable).
        public var holdMetadataUntilFlush: Bool
        /// fsync(2) after every `flush()`, so a flushed state survives a node crash too, not only a killed process.
        public var durableFlush: Bool
        /// Take HDF5's advisory file lock (exclusive for writers, shared for readers; skipped where the file system
        /// has no flock). `false` reads a file that a live process holds open for writing.
        public var fileLocking: Bool

        public init(holdMetadataUntilFlush: Bool = false, durableFlush: Bool = false, fileLocking: Bool = true) {
            self.holdMetadataUntilFlush = holdMetadataUntilFlush
            self.durableFlush = durableFlush
            self.fileLocking = fileLocking
        }
    }

    public let path: String
    public let options: Options
    private(set) var id: hid_t

    /// Creates (truncating) a file.
    public convenience init(creating path: String) throws {
        try self.init(path: path, access: .create(overwrite: true))
    }

    /// Opens an existing file read-only.
    public convenience init(reading path: String) throws {
        try self.init(path: path, access: .readOnly)
    }

    /// Errors come back as return codes, reported with the file name, instead of HDF5 printing its error stack to
    /// stderr. The setting belongs to the calling thread's error stack (in a thread-safe HDF5 build).
    public static func silenceErrorPrinting() { H5Eset_auto2(0, nil, nil) }

    public init(path: String, access: Access, options: Options = Options()) throws {
        self.path = path
        self.options = options
        HDF5File.silenceErrorPrinting()
        let fapl = H5Pcreate(seal_h5p_file_access())
        guard fapl >= 0 else { throw HDF5File.failure("H5Pcreate(file access)", path) }
        defer { H5Pclose(fapl) }
        guard seal_h5p_set_file_locking(fapl, options.fileLocking ? 1 : 0, 1) >= 0 else {
            throw HDF5File.failure("H5Pset_file_locking", path)
        }
        if options.holdMetadataUntilFlush {
            guard seal_h5p_set_libver_v18(fapl) >= 0 else { throw HDF5File.failure("H5Pset_libver_bounds", path) }
            guard seal_h5p_set_hold_metadata(fapl) >= 0 else { throw HDF5File.failure("H5Pset_mdc_config", path) }
        }
        let f: hid_t
        switch access {
        case .create(let overwrite):
            f = H5Fcreate(path, overwrite ? seal_h5f_acc_trunc() : seal_h5f_acc_excl(), seal_h5p_default(), fapl)
            guard f >= 0 else { throw HDF5File.failure("H5Fcreate", path) }
        case .readWrite:
            f = H5Fopen(path, seal_h5f_acc_rdwr(), fapl)
            guard f >= 0 else { throw HDF5File.failure("H5Fopen(read-write)", path) }
        case .readOnly:
            f = H5Fopen(path, seal_h5f_acc_rdonly(), fapl)
            guard f >= 0 else { throw HDF5File.failure("H5Fopen", path) }
        }
        id = f
    }

    deinit { if id >= 0 { H5Fclose(id) } }

    /// Closes the file (idempotent); every later call on this object fails with an error.
    public func close() throws {
        guard id >= 0 else { return }
        let rc = H5Fclose(id)
        id = -1
        guard rc >= 0 else { throw fail("H5Fclose") }
    }

    public var isOpen: Bool { id >= 0 }

    /// The linked HDF5 library's version, e.g. "1.10.8".
    public static var libraryVersion: String {
        var maj: UInt32 = 0, min: UInt32 = 0, rel: UInt32 = 0
        _ = H5get_libversion(&maj, &min, &rel)
        return "\(maj).\(min).\(rel)"
    }

    /// Writes everything buffered to disk, so a killed run leaves a readable file (and fsyncs with `durableFlush`).
    public func flush() throws {
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw fail("H5Fflush") }
        if options.durableFlush {
            guard seal_h5f_fsync(id) >= 0 else {
                throw HDF5Error.failed("fsync", path: path, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Bytes held by HDF5's metadata cache for this file (diagnostics). With `holdMetadataUntilFlush` nothing is
    /// ever evicted, so this grows by about the size of everything written, variable-length strings included (they
    /// live in the global heap, which is metadata).
    public var metadataCacheBytes: Int { Int(seal_h5f_mdc_bytes(id)) }

    /// HDF5 identifiers open through this file object, itself included (1 when nothing leaked; for tests).
    public var openObjectCount: Int { Int(H5Fget_obj_count(id, seal_h5f_obj_all_local())) }

    // MARK: groups and links

    /// Creates the group at `name` (with missing parents).
    public func createGroup(_ name: String) throws {
        let lcpl = try linkCreateList()
        defer { H5Pclose(lcpl) }
        let g = H5Gcreate2(id, name, lcpl, seal_h5p_default(), seal_h5p_default())
        guard g >= 0 else { throw fail("H5Gcreate2(\(name))") }
        H5Gclose(g)
    }

    /// Whether an object exists at the absolute path `name` (every component is checked, so a missing parent is
    /// `false`, not an error).
    public func exists(_ name: String) throws -> Bool {
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += "/" + part
            let rc = H5Lexists(id, prefix, seal_h5p_default())
            guard rc >= 0 else { throw fail("H5Lexists(\(prefix))") }
            if rc == 0 { return false }
        }
        return true
    }

    /// Names of the links in the group at `group`, in HDF5's name order.
    public func children(of group: String) throws -> [String] {
        let g = H5Gopen2(id, group, seal_h5p_default())
        guard g >= 0 else { throw fail("H5Gopen2(\(group))") }
        defer { H5Gclose(g) }
        var info = H5G_info_t()
        guard H5Gget_info(g, &info) >= 0 else { throw fail("H5Gget_info(\(group))") }
        var names: [String] = []
        for i in 0..<info.nlinks {
            let n = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, seal_h5p_default())
            guard n >= 0 else { throw fail("H5Lget_name_by_idx(\(group), \(i))") }
            var buf = [CChar](repeating: 0, count: Int(n) + 1)
            guard H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count, seal_h5p_default()) >= 0 else {
                throw fail("H5Lget_name_by_idx(\(group), \(i))")
            }
            names.append(HDF5File.string(buf))
        }
        return names
    }

    /// Whether the object at `name` is a group.
    public func isGroup(_ name: String) throws -> Bool {
        let o = H5Oopen(id, name, seal_h5p_default())
        guard o >= 0 else { throw fail("H5Oopen(\(name))") }
        defer { H5Oclose(o) }
        return H5Iget_type(o) == H5I_GROUP
    }

    /// Removes the link at `name` (a group goes with everything under it once nothing else links to it).
    public func delete(_ name: String) throws {
        guard H5Ldelete(id, name, seal_h5p_default()) >= 0 else { throw fail("H5Ldelete(\(name))") }
    }

    /// Renames the link `from` to `to` (missing parents of `to` are created); the object itself is not copied.
    public func move(_ from: String, to: String) throws {
        let lcpl = try linkCreateList()
        defer { H5Pclose(lcpl) }
        guard H5Lmove(id, from, id, to, lcpl, seal_h5p_default()) >= 0 else { throw fail("H5Lmove(\(from) -> \(to))") }
    }

    // MARK: datasets

    /// Writes a 1-D float64 dataset.
    public func write(_ values: [Double], at name: String) throws {
        try writeNumeric(values, at: name, fileType: seal_h5t_ieee_f64le(), memType: seal_h5t_native_double())
    }

    /// Writes a 1-D int64 dataset.
    public func write(_ values: [Int], at name: String) throws {
        let v = values.map { Int64($0) }
        try writeNumeric(v, at: name, fileType: seal_h5t_std_i64le(), memType: seal_h5t_native_int64())
    }

    /// Writes a 1-D uint8 dataset (seal's booleans: 0 or 1).
    public func write(_ values: [UInt8], at name: String) throws {
        try writeNumeric(values, at: name, fileType: seal_h5t_std_u8le(), memType: seal_h5t_native_uint8())
    }

    /// Writes a 1-D variable-length UTF-8 string dataset. Any Unicode works; U+0000 cannot live in an HDF5 C string
    /// and is written as U+FFFD.
    public func write(_ values: [String], at name: String) throws {
        let type = try utf8StringType()
        defer { H5Tclose(type) }
        let ds = try createDataset(name, type: type, count: values.count)
        defer { H5Dclose(ds) }
        guard !values.isEmpty else { return }
        var bytes: [CChar] = []
        var offsets: [Int] = []
        offsets.reserveCapacity(values.count)
        for s in values {
            offsets.append(bytes.count)
            for b in HDF5File.storable(s).utf8 { bytes.append(CChar(bitPattern: b)) }
            bytes.append(0)
        }
        let rc = bytes.withUnsafeBufferPointer { base -> herr_t in
            let ptrs: [UnsafePointer<CChar>?] = offsets.map { base.baseAddress! + $0 }
            return ptrs.withUnsafeBufferPointer {
                H5Dwrite(ds, type, seal_h5s_all(), seal_h5s_all(), seal_h5p_default(), $0.baseAddress)
            }
        }
        guard rc >= 0 else { throw fail("H5Dwrite(\(name))") }
    }

    /// Reads a 1-D float64 dataset.
    public func readDoubles(_ name: String) throws -> [Double] {
        try readNumeric(name, memType: seal_h5t_native_double(), zero: 0.0, expect: nil)
    }

    /// Reads a 1-D integer dataset as Int.
    public func readInts(_ name: String) throws -> [Int] {
        try readNumeric(name, memType: seal_h5t_native_int64(), zero: Int64(0), expect: H5T_INTEGER).map { Int($0) }
    }

    /// Reads a 1-D integer dataset as UInt8 (values must fit).
    public func readUInt8s(_ name: String) throws -> [UInt8] {
        try readNumeric(name, memType: seal_h5t_native_uint8(), zero: UInt8(0), expect: H5T_INTEGER)
    }

    /// Reads a 1-D variable-length string dataset.
    public func readStrings(_ name: String) throws -> [String] {
        let ds = H5Dopen2(id, name, seal_h5p_default())
        guard ds >= 0 else { throw fail("H5Dopen2(\(name))") }
        defer { H5Dclose(ds) }
        let ftype = H5Dget_type(ds)
        guard ftype >= 0 else { throw fail("H5Dget_type(\(name))") }
        defer { H5Tclose(ftype) }
        guard H5Tget_class(ftype) == H5T_STRING, H5Tis_variable_str(ftype) > 0 else {
            throw HDF5Error.failed("read strings(\(name))", path: path, reason: "not a variable-length string dataset")
        }
        let n = try count(ds, name)
        guard n > 0 else { return [] }
        let type = try utf8StringType()
        defer { H5Tclose(type) }
        var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
        let rc = ptrs.withUnsafeMutableBufferPointer {
            H5Dread(ds, type, seal_h5s_all(), seal_h5s_all(), seal_h5p_default(), $0.baseAddress)
        }
        defer { for p in ptrs where p != nil { H5free_memory(p) } }
        guard rc >= 0 else { throw fail("H5Dread(\(name))") }
        return ptrs.map { $0.map { String(cString: $0) } ?? "" }
    }

    /// Number of elements of the dataset at `name`.
    public func datasetCount(_ name: String) throws -> Int {
        let ds = H5Dopen2(id, name, seal_h5p_default())
        guard ds >= 0 else { throw fail("H5Dopen2(\(name))") }
        defer { H5Dclose(ds) }
        return try count(ds, name)
    }

    // MARK: attributes

    /// Sets a variable-length UTF-8 string attribute on the object at `object` ("/" for the root), replacing one
    /// of the same name. U+0000 is written as U+FFFD.
    public func setAttribute(_ name: String, _ value: String, on object: String = "/") throws {
        let type = try utf8StringType()
        defer { H5Tclose(type) }
        let rc = try writeAttribute(name, on: object, type: type) { attr in
            HDF5File.storable(value).withCString { cs -> herr_t in
                var p: UnsafePointer<CChar>? = cs
                return H5Awrite(attr, type, &p)
            }
        }
        guard rc >= 0 else { throw fail("H5Awrite(\(name))") }
    }

    /// Sets a scalar int64 attribute.
    public func setAttribute(_ name: String, _ value: Int, on object: String = "/") throws {
        var v = Int64(value)
        let rc = try writeAttribute(name, on: object, type: seal_h5t_std_i64le()) {
            H5Awrite($0, seal_h5t_native_int64(), &v)
        }
        guard rc >= 0 else { throw fail("H5Awrite(\(name))") }
    }

    /// Sets a scalar float64 attribute.
    public func setAttribute(_ name: String, _ value: Double, on object: String = "/") throws {
        var v = value
        let rc = try writeAttribute(name, on: object, type: seal_h5t_ieee_f64le()) {
            H5Awrite($0, seal_h5t_native_double(), &v)
        }
        guard rc >= 0 else { throw fail("H5Awrite(\(name))") }
    }

    /// Reads a string attribute written by `setAttribute`.
    public func stringAttribute(_ name: String, on object: String = "/") throws -> String {
        guard case .string(let s) = try attribute(name, on: object) else {
            throw HDF5Error.failed("read attribute \(name) of \(object)", path: path, reason: "not a string")
        }
        return s
    }

    /// Whether the object at `object` has an attribute `name`.
    public func hasAttribute(_ name: String, on object: String = "/") throws -> Bool {
        let rc = H5Aexists_by_name(id, object, name, seal_h5p_default())
        guard rc >= 0 else { throw fail("H5Aexists_by_name(\(object), \(name))") }
        return rc > 0
    }

    /// Reads a scalar attribute: integers as `.int`, floats as `.double`, strings as `.string`.
    public func attribute(_ name: String, on object: String = "/") throws -> HDF5Value {
        let obj = H5Oopen(id, object, seal_h5p_default())
        guard obj >= 0 else { throw fail("H5Oopen(\(object))") }
        defer { H5Oclose(obj) }
        let attr = H5Aopen(obj, name, seal_h5p_default())
        guard attr >= 0 else { throw fail("H5Aopen(\(object): \(name))") }
        defer { H5Aclose(attr) }
        let space = H5Aget_space(attr)
        defer { H5Sclose(space) }
        guard H5Sget_simple_extent_npoints(space) == 1 else {
            throw HDF5Error.failed("read attribute \(name) of \(object)", path: path, reason: "not a scalar")
        }
        let ftype = H5Aget_type(attr)
        guard ftype >= 0 else { throw fail("H5Aget_type(\(name))") }
        defer { H5Tclose(ftype) }
        switch H5Tget_class(ftype) {
        case H5T_INTEGER:
            var v: Int64 = 0
            guard H5Aread(attr, seal_h5t_native_int64(), &v) >= 0 else { throw fail("H5Aread(\(name))") }
            return .int(Int(v))
        case H5T_FLOAT:
            var v = 0.0
            guard H5Aread(attr, seal_h5t_native_double(), &v) >= 0 else { throw fail("H5Aread(\(name))") }
            return .double(v)
        case H5T_STRING where H5Tis_variable_str(ftype) > 0:
            let type = try utf8StringType()
            defer { H5Tclose(type) }
            var p: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attr, type, &p) >= 0 else { throw fail("H5Aread(\(name))") }
            guard let s = p else { return .string("") }
            defer { H5free_memory(s) }
            return .string(String(cString: s))
        case H5T_STRING:
            let size = H5Tget_size(ftype)
            var buf = [CChar](repeating: 0, count: size + 1)
            guard H5Aread(attr, ftype, &buf) >= 0 else { throw fail("H5Aread(\(name))") }
            return .string(HDF5File.string(buf))
        default:
            throw HDF5Error.failed("read attribute \(name) of \(object)", path: path, reason: "not an integer, float or string")
        }
    }

    /// Names of the attributes of the object at `object`, in name order.
    public func attributeNames(on object: String = "/") throws -> [String] {
        let obj = H5Oopen(id, object, seal_h5p_default())
        guard obj >= 0 else { throw fail("H5Oopen(\(object))") }
        defer { H5Oclose(obj) }
        var names: [String] = []
        let rc = withUnsafeMutablePointer(to: &names) { ptr in
            H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, nil, { _, name, _, data in
                guard let name, let data else { return -1 }
                data.assumingMemoryBound(to: [String].self).pointee.append(String(cString: name))
                return 0
            }, ptr)
        }
        guard rc >= 0 else { throw fail("H5Aiterate2(\(object))") }
        return names
    }

    /// All scalar attributes of the object at `object`.
    public func attributes(on object: String = "/") throws -> [String: HDF5Value] {
        var out: [String: HDF5Value] = [:]
        for n in try attributeNames(on: object) { out[n] = try attribute(n, on: object) }
        return out
    }

    // MARK: helpers

    /// The error for a failed HDF5 call, with the reason from HDF5's error stack (read before any other call).
    func fail(_ op: String) -> HDF5Error { HDF5File.failure(op, path) }

    static func failure(_ op: String, _ path: String) -> HDF5Error {
        var buf = [CChar](repeating: 0, count: 1024)
        seal_h5e_describe(&buf, buf.count)
        return .failed(op, path: path, reason: string(buf))
    }

    /// The UTF-8 text of a NUL-terminated C buffer.
    static func string(_ buf: [CChar]) -> String {
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// HDF5 strings are NUL-terminated: U+0000 becomes U+FFFD rather than silently cutting the string.
    static func storable(_ s: String) -> String {
        s.utf8.contains(0) ? s.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : s
    }

    private func linkCreateList() throws -> hid_t {
        let lcpl = H5Pcreate(seal_h5p_link_create())
        guard lcpl >= 0 else { throw fail("H5Pcreate(link create)") }
        H5Pset_create_intermediate_group(lcpl, 1)
        return lcpl
    }

    private func utf8StringType() throws -> hid_t {
        let type = H5Tcopy(seal_h5t_c_s1())
        guard type >= 0, H5Tset_size(type, seal_h5t_variable()) >= 0, H5Tset_cset(type, H5T_CSET_UTF8) >= 0 else {
            throw fail("H5Tcopy(variable-length UTF-8 string)")
        }
        return type
    }

    private func createDataset(_ name: String, type: hid_t, count: Int) throws -> hid_t {
        var dims = [hsize_t(count)]
        let space = H5Screate_simple(1, &dims, nil)
        guard space >= 0 else { throw fail("H5Screate_simple(\(name))") }
        defer { H5Sclose(space) }
        let lcpl = try linkCreateList()
        defer { H5Pclose(lcpl) }
        let ds = H5Dcreate2(id, name, type, space, lcpl, seal_h5p_default(), seal_h5p_default())
        guard ds >= 0 else { throw fail("H5Dcreate2(\(name))") }
        return ds
    }

    private func writeNumeric<T>(_ values: [T], at name: String, fileType: hid_t, memType: hid_t) throws {
        let ds = try createDataset(name, type: fileType, count: values.count)
        defer { H5Dclose(ds) }
        guard !values.isEmpty else { return }
        let rc = values.withUnsafeBufferPointer {
            H5Dwrite(ds, memType, seal_h5s_all(), seal_h5s_all(), seal_h5p_default(), $0.baseAddress)
        }
        guard rc >= 0 else { throw fail("H5Dwrite(\(name))") }
    }

    private func count(_ ds: hid_t, _ name: String) throws -> Int {
        let space = H5Dget_space(ds)
        guard space >= 0 else { throw fail("H5Dget_space(\(name))") }
        defer { H5Sclose(space) }
        guard H5Sget_simple_extent_ndims(space) == 1 else {
            throw HDF5Error.failed("read \(name)", path: path, reason: "not a 1-D dataset")
        }
        return Int(H5Sget_simple_extent_npoints(space))
    }

    private func readNumeric<T>(_ name: String, memType: hid_t, zero: T, expect: H5T_class_t?) throws -> [T] {
        let ds = H5Dopen2(id, name, seal_h5p_default())
        guard ds >= 0 else { throw fail("H5Dopen2(\(name))") }
        defer { H5Dclose(ds) }
        if let expect {
            let ftype = H5Dget_type(ds)
            defer { H5Tclose(ftype) }
            guard H5Tget_class(ftype) == expect else {
                let cls = H5Tget_class(ftype).rawValue
                throw HDF5Error.failed("read \(name)", path: path, reason: "unexpected datatype class \(cls)")
            }
        }
        let n = try count(ds, name)
        var out = [T](repeating: zero, count: n)
        guard n > 0 else { return out }
        let rc = out.withUnsafeMutableBufferPointer {
            H5Dread(ds, memType, seal_h5s_all(), seal_h5s_all(), seal_h5p_default(), $0.baseAddress)
        }
        guard rc >= 0 else { throw fail("H5Dread(\(name))") }
        return out
    }

    /// Opens `object`, replaces attribute `name` with a scalar of `type`, and runs `write` on it.
    private func writeAttribute(_ name: String, on object: String, type: hid_t,
                                _ write: (hid_t) -> herr_t) throws -> herr_t {
        let obj = H5Oopen(id, object, seal_h5p_default())
        guard obj >= 0 else { throw fail("H5Oopen(\(object))") }
        defer { H5Oclose(obj) }
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let exists = H5Aexists(obj, name)
        guard exists >= 0 else { throw fail("H5Aexists(\(name))") }
        if exists > 0 { guard H5Adelete(obj, name) >= 0 else { throw fail("H5Adelete(\(name))") } }
        let attr = H5Acreate2(obj, name, type, space, seal_h5p_default(), seal_h5p_default())
        guard attr >= 0 else { throw fail("H5Acreate2(\(object): \(name))") }
        defer { H5Aclose(attr) }
        return write(attr)
    }
}
