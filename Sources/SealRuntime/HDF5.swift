import CHDF5
import Foundation

/// A thin layer over the HDF5 C library: files, groups, string attributes and 1-D datasets, enough for seal's
/// metrics files. Only rank 0 writes them.
public enum HDF5Error: Error, CustomStringConvertible {
    case call(String, path: String)
    public var description: String {
        switch self { case .call(let f, let p): return "\(p): HDF5 \(f) failed" }
    }
}

public final class HDF5File: @unchecked Sendable {
    public let path: String
    let id: hid_t

    /// Creates (truncating) a file.
    public init(creating path: String) throws {
        self.path = path
        H5Eset_auto2(0, nil, nil)  // errors come back as return codes, reported with the file name
        let f = H5Fcreate(path, seal_h5f_acc_trunc(), seal_h5p_default(), seal_h5p_default())
        guard f >= 0 else { throw HDF5Error.call("H5Fcreate", path: path) }
        id = f
    }

    /// Opens an existing file read-only.
    public init(reading path: String) throws {
        self.path = path
        H5Eset_auto2(0, nil, nil)
        let f = H5Fopen(path, seal_h5f_acc_rdonly(), seal_h5p_default())
        guard f >= 0 else { throw HDF5Error.call("H5Fopen", path: path) }
        id = f
    }

    deinit { H5Fclose(id) }

    /// Writes everything buffered to disk, so a killed run leaves a readable file.
    public func flush() throws {
        guard H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0 else { throw HDF5Error.call("H5Fflush", path: path) }
    }

    /// Creates the group at `name` (with missing parents).
    public func createGroup(_ name: String) throws {
        let lcpl = H5Pcreate(seal_h5p_link_create())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let g = H5Gcreate2(id, name, lcpl, seal_h5p_default(), seal_h5p_default())
        guard g >= 0 else { throw HDF5Error.call("H5Gcreate2(\(name))", path: path) }
        H5Gclose(g)
    }

    /// Writes a 1-D float64 dataset.
    public func write(_ values: [Double], at name: String) throws {
        var dims = [hsize_t(values.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let lcpl = H5Pcreate(seal_h5p_link_create())
        defer { H5Pclose(lcpl) }
        H5Pset_create_intermediate_group(lcpl, 1)
        let ds = H5Dcreate2(id, name, seal_h5t_native_double(), space, lcpl, seal_h5p_default(), seal_h5p_default())
        guard ds >= 0 else { throw HDF5Error.call("H5Dcreate2(\(name))", path: path) }
        defer { H5Dclose(ds) }
        let rc = values.withUnsafeBufferPointer {
            H5Dwrite(ds, seal_h5t_native_double(), seal_h5s_all(), seal_h5s_all(), seal_h5p_default(), $0.baseAddress)
        }
        guard rc >= 0 else { throw HDF5Error.call("H5Dwrite(\(name))", path: path) }
    }

    /// Reads a 1-D float64 dataset.
    public func readDoubles(_ name: String) throws -> [Double] {
        let ds = H5Dopen2(id, name, seal_h5p_default())
        guard ds >= 0 else { throw HDF5Error.call("H5Dopen2(\(name))", path: path) }
        defer { H5Dclose(ds) }
        let space = H5Dget_space(ds)
        defer { H5Sclose(space) }
        let n = Int(H5Sget_simple_extent_npoints(space))
        var out = [Double](repeating: 0, count: n)
        let rc = out.withUnsafeMutableBufferPointer {
            H5Dread(ds, seal_h5t_native_double(), seal_h5s_all(), seal_h5s_all(), seal_h5p_default(), $0.baseAddress)
        }
        guard rc >= 0 else { throw HDF5Error.call("H5Dread(\(name))", path: path) }
        return out
    }

    /// Sets a variable-length UTF-8 string attribute on the object at `object` ("/" for the root).
    public func setAttribute(_ name: String, _ value: String, on object: String = "/") throws {
        let obj = H5Oopen(id, object, seal_h5p_default())
        guard obj >= 0 else { throw HDF5Error.call("H5Oopen(\(object))", path: path) }
        defer { H5Oclose(obj) }
        let type = H5Tcopy(seal_h5t_c_s1())
        defer { H5Tclose(type) }
        H5Tset_size(type, seal_h5t_variable())
        H5Tset_cset(type, H5T_CSET_UTF8)
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        if H5Aexists(obj, name) > 0 { H5Adelete(obj, name) }
        let attr = H5Acreate2(obj, name, type, space, seal_h5p_default(), seal_h5p_default())
        guard attr >= 0 else { throw HDF5Error.call("H5Acreate2(\(name))", path: path) }
        defer { H5Aclose(attr) }
        let rc = value.withCString { cs -> herr_t in
            var p: UnsafePointer<CChar>? = cs
            return H5Awrite(attr, type, &p)
        }
        guard rc >= 0 else { throw HDF5Error.call("H5Awrite(\(name))", path: path) }
    }

    /// Reads a string attribute written by `setAttribute`.
    public func stringAttribute(_ name: String, on object: String = "/") throws -> String {
        let obj = H5Oopen(id, object, seal_h5p_default())
        guard obj >= 0 else { throw HDF5Error.call("H5Oopen(\(object))", path: path) }
        defer { H5Oclose(obj) }
        let attr = H5Aopen(obj, name, seal_h5p_default())
        guard attr >= 0 else { throw HDF5Error.call("H5Aopen(\(name))", path: path) }
        defer { H5Aclose(attr) }
        let type = H5Aget_type(attr)
        defer { H5Tclose(type) }
        var p: UnsafeMutablePointer<CChar>? = nil
        guard H5Aread(attr, type, &p) >= 0, let s = p else { throw HDF5Error.call("H5Aread(\(name))", path: path) }
        defer { free(s) }
        return String(cString: s)
    }
}
