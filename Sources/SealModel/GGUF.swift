import Foundation
#if canImport(Glibc)
import Glibc
#endif

// GGUF, the file format of llama.cpp (ggml's docs/gguf.md), versions 2 and 3, little-endian:
//
//   u32 magic "GGUF" · u32 version · u64 tensor_count · u64 metadata_kv_count
//   metadata_kv_count × { string key · u32 value_type · value }
//   tensor_count × { string name · u32 n_dims · u64 ne[n_dims] · u32 ggml_type · u64 offset }
//   padding to `general.alignment` (default 32) · data section (each tensor at data start + its offset)
//
// string = u64 length + UTF-8 bytes (no terminator); array = u32 element type + u64 count + elements. ne[0] is the
// innermost (contiguous) dimension: a [rows, cols] matrix in row-major terms is stored with ne = [cols, rows].

/// The ggml tensor types (ggml.h `enum ggml_type`) with their block layout: `blockSize` elements are stored in
/// `typeSize` bytes. Every type ggml has defined is listed, so that a file holding one seal cannot dequantize still
/// opens (its bytes are range-checked, its metadata readable) and fails only when that tensor is read.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case q4_0_4_4 = 31, q4_0_4_8 = 32, q4_0_8_8 = 33

    /// ggml's name ("Q4_K"), as gguf-py and llama.cpp print it.
    public var name: String {
        switch self {
        case .q2_K: "Q2_K"
        case .q3_K: "Q3_K"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        case .q8_K: "Q8_K"
        default: "\(self)".uppercased()
        }
    }

    /// (elements per block, bytes per block), as ggml's type traits (gguf-py GGML_QUANT_SIZES) define them.
    public var blockLayout: (blockSize: Int, typeSize: Int) {
        let qk = 256
        switch self {
        case .f32: return (1, 4)
        case .f16, .bf16: return (1, 2)
        case .q4_0, .iq4_nl, .q4_0_4_4, .q4_0_4_8, .q4_0_8_8: return (32, 2 + 16)
        case .q4_1: return (32, 2 + 2 + 16)
        case .q5_0: return (32, 2 + 4 + 16)
        case .q5_1: return (32, 2 + 2 + 4 + 16)
        case .q8_0: return (32, 2 + 32)
        case .q8_1: return (32, 4 + 4 + 32)
        case .q2_K: return (qk, 2 + 2 + qk / 16 + qk / 4)
        case .q3_K: return (qk, 2 + qk / 4 + qk / 8 + 12)
        case .q4_K: return (qk, 2 + 2 + qk / 2 + 12)
        case .q5_K: return (qk, 2 + 2 + qk / 2 + qk / 8 + 12)
        case .q6_K: return (qk, 2 + qk / 2 + qk / 4 + qk / 16)
        case .q8_K: return (qk, 4 + qk + qk / 8)
        case .iq2_xxs: return (qk, 2 + qk / 4)
        case .iq2_xs: return (qk, 2 + qk / 4 + qk / 32)
        case .iq3_xxs: return (qk, 2 + qk / 4 + qk / 8)
        case .iq1_s: return (qk, 2 + qk / 8 + qk / 16)
        case .iq3_s: return (qk, 2 + qk / 4 + qk / 8 + qk / 32 + 4)
        case .iq2_s: return (qk, 2 + qk / 4 + qk / 16)
        case .iq4_xs: return (qk, 2 + 2 + qk / 2 + qk / 64)
        case .iq1_m: return (qk, qk / 8 + qk / 16 + qk / 32)
        case .i8: return (1, 1)
        case .i16: return (1, 2)
        case .i32: return (1, 4)
        case .i64, .f64: return (1, 8)
        }
    }

    /// The types seal converts to float32 (GGUFDequantize.swift).
    public static let dequantizable: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1,
                                                  .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
    public var canDequantize: Bool { Self.dequantizable.contains(self) }
}

/// The type tag of a metadata value (gguf.h `enum gguf_type`).
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8,
         array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// The fewest bytes one value of this type occupies in a file (a string's 8-byte length, an array's 12-byte
    /// type and count): the bound on how many of them the rest of a file can hold.
    var minimumSize: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}

/// A typed array from GGUF metadata (token lists, scores, merges…). Element arrays are stored typed, so a
/// 150,000-token vocabulary costs its strings and nothing per element beyond them.
public indirect enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8]), int8([Int8]), uint16([UInt16]), int16([Int16]), uint32([UInt32]), int32([Int32])
    case uint64([UInt64]), int64([Int64]), float32([Float]), float64([Double]), bool([Bool]), string([String])
    /// An array of arrays (each with its own element type).
    case array([GGUFArray])

    public var count: Int {
        switch self {
        case .uint8(let a): a.count
        case .int8(let a): a.count
        case .uint16(let a): a.count
        case .int16(let a): a.count
        case .uint32(let a): a.count
        case .int32(let a): a.count
        case .uint64(let a): a.count
        case .int64(let a): a.count
        case .float32(let a): a.count
        case .float64(let a): a.count
        case .bool(let a): a.count
        case .string(let a): a.count
        case .array(let a): a.count
        }
    }

    /// The element type's GGUF name ("string", "float32", …).
    public var elementTypeName: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .uint64: "uint64"
        case .int64: "int64"
        case .float32: "float32"
        case .float64: "float64"
        case .bool: "bool"
        case .string: "string"
        case .array: "array"
        }
    }

    /// The elements of a string array.
    public var strings: [String]? { if case .string(let a) = self { return a }; return nil }

    /// The elements of a float32 or float64 array, as Float (float64 rounded).
    public var floats: [Float]? {
        switch self {
        case .float32(let a): a
        case .float64(let a): a.map { Float($0) }
        default: nil
        }
    }

    /// The elements of an array of any integer type, each exactly (nil when a uint64 exceeds Int.max).
    public var integers: [Int]? {
        switch self {
        case .uint8(let a): return a.map { Int($0) }
        case .int8(let a): return a.map { Int($0) }
        case .uint16(let a): return a.map { Int($0) }
        case .int16(let a): return a.map { Int($0) }
        case .uint32(let a): return a.map { Int($0) }
        case .int32(let a): return a.map { Int($0) }
        case .int64(let a): return a.map { Int($0) }
        case .uint64(let a):
            var out: [Int] = []
            out.reserveCapacity(a.count)
            for v in a { guard let i = Int(exactly: v) else { return nil }; out.append(i) }
            return out
        default: return nil
        }
    }

    public var bools: [Bool]? { if case .bool(let a) = self { return a }; return nil }
    /// The elements of an array of arrays.
    public var arrays: [GGUFArray]? { if case .array(let a) = self { return a }; return nil }
}

/// One metadata value, typed as the file declares it.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array(GGUFArray)

    /// The GGUF type name, for messages ("uint32", "array of string").
    public var typeName: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .uint64: "uint64"
        case .int64: "int64"
        case .float32: "float32"
        case .float64: "float64"
        case .bool: "bool"
        case .string: "string"
        case .array(let a): "array of \(a.elementTypeName)"
        }
    }

    /// Any integer type, exactly (nil for a uint64 above Int.max, and for non-integers: bool is not an integer).
    public var integer: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .int64(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        default: nil
        }
    }

    /// A float32 or float64 (float32 widened exactly), or an integer type converted.
    public var number: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        case .uint64(let v): Double(v)
        default: integer.map(Double.init)
        }
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var array: GGUFArray? { if case .array(let a) = self { return a }; return nil }
}

/// One tensor's entry in a GGUF file, checked on open: its bytes lie inside the data section.
public struct GGUFTensorInfo: Sendable {
    public var name: String
    public var type: GGMLType
    /// ggml's order: dims[0] is the innermost (contiguous) dimension.
    public var dims: [Int]
    /// Row-major order (dims reversed), as numpy, torch and HuggingFace see the tensor.
    public var shape: [Int] { dims.reversed() }
    /// Byte offset within the data section (a multiple of the file's alignment).
    public var offset: Int
    public var byteCount: Int
    /// Elements in the tensor.
    public var count: Int
}

/// A GGUF file, parsed and checked on open, its data section read straight from a read-only memory mapping
/// (like SafeTensorsFile). Every count, length and offset in the header is checked against the bytes left in the
/// file before anything is allocated for it, so a forged header (a string of 2^63 bytes, an array of 2^40 elements,
/// a tensor running past the end) is an error naming the key or tensor, never a huge allocation or a trap.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    /// 2 or 3 (they differ from each other only in what version 1 lacked: 64-bit counts).
    public let version: Int
    /// Metadata by key, and the keys in file order.
    public let metadata: [String: GGUFValue]
    public let metadataKeys: [String]
    /// Tensors in file order, and the index of each name.
    public let tensors: [GGUFTensorInfo]
    public let tensorIndex: [String: Int]
    /// `general.alignment` (32 when absent).
    public let alignment: Int
    /// Byte offset of the data section within the file.
    public let dataOffset: Int
    /// Bytes in the file.
    public let fileSize: Int

    private let base: UnsafeRawPointer?
    private let mapped: Bool

    /// The deepest nesting of arrays in arrays accepted (ggml itself writes none; gguf-py reads them).
    public static let maxArrayDepth = 8
    static let defaultAlignment = 32

    /// Maps and parses the file at `path`.
    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw ModelError.fileMissing(path: path) }
            throw ModelError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ModelError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw ModelError.unreadable(path: path, reason: "not a regular file") }
        let size = Int(st.st_size)
        var base: UnsafeRawPointer? = nil
        if size > 0 {
            guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
                throw ModelError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
            }
            base = UnsafeRawPointer(m)
        }
        try self.init(path: path, base: base, size: size, mapped: true)
    }

    /// Parses a GGUF image held in memory (copied); `name` stands for the path in messages.
    public convenience init(data: Data, name: String) throws {
        var base: UnsafeRawPointer? = nil
        if !data.isEmpty {
            let m = UnsafeMutableRawPointer.allocate(byteCount: data.count, alignment: 64)
            data.withUnsafeBytes { m.copyMemory(from: $0.baseAddress!, byteCount: data.count) }
            base = UnsafeRawPointer(m)
        }
        try self.init(path: name, base: base, size: data.count, mapped: false)
    }

    /// Takes ownership of `base` (unmapped or freed on deinit, or right away when parsing fails).
    private init(path: String, base: UnsafeRawPointer?, size: Int, mapped: Bool) throws {
        self.path = path
        self.base = base
        self.fileSize = size
        self.mapped = mapped
        var ok = false
        defer { if !ok { Self.release(base, size: size, mapped: mapped) } }

        var c = GGUFCursor(base: base, size: size, path: path)
        guard size >= 4 else { throw c.fail("file is \(size) bytes, shorter than the 4-byte magic (truncated header)") }
        let magic = try c.u32("magic")
        guard magic == 0x4655_4747 else {   // "GGUF" read as a little-endian u32
            let shown = withUnsafeBytes(of: magic.littleEndian) { b in
                b.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0) }.joined()
            }
            throw c.fail("wrong magic '\(shown)' (a GGUF file starts with 'GGUF')")
        }
        guard size >= 24 else {
            throw c.fail("file is \(size) bytes, shorter than the 24-byte header (magic, version, counts): truncated header")
        }
        let v = try c.u32("version")
        switch v {
        case 2, 3: break
        case 1: throw ModelError.unsupported(path: path, reason: "GGUF version 1 (32-bit counts; seal reads versions 2 and 3)")
        default:
            if v.byteSwapped == 2 || v.byteSwapped == 3 {
                throw ModelError.unsupported(path: path, reason: "big-endian GGUF (seal reads little-endian files)")
            }
            throw ModelError.unsupported(path: path, reason: "GGUF version \(v) (seal reads versions 2 and 3)")
        }
        version = Int(v)
        let tensorCount64 = try c.u64("tensor count")
        let kvCount64 = try c.u64("metadata key/value count")
        // Each key/value takes at least 13 bytes (8-byte key length, 4-byte type, 1-byte value), each tensor info
        // at least 24 (8-byte name length, 4-byte n_dims, 4-byte type, 8-byte offset).
        guard kvCount64 <= UInt64(c.remaining / 13) else {
            throw c.fail("header declares \(kvCount64) metadata key/values; they need at least 13 bytes each, and only \(c.remaining) bytes follow (truncated?)")
        }
        let kvCount = Int(kvCount64)
        guard tensorCount64 <= UInt64(c.remaining / 24) else {
            throw c.fail("header declares \(tensorCount64) tensors; their infos need at least 24 bytes each, and only \(c.remaining) bytes follow (truncated?)")
        }
        let tensorCount = Int(tensorCount64)

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for i in 0..<kvCount {
            let key = try c.string("metadata key \(i)")
            let type = try c.u32("type of metadata key '\(key)'")
            guard metadata[key] == nil else { throw c.fail("metadata key '\(key)' appears twice") }
            metadata[key] = try c.value(type: type, key: key, depth: 0)
            keys.append(key)
        }
        self.metadata = metadata
        self.metadataKeys = keys

        var alignment = Self.defaultAlignment
        if let a = metadata["general.alignment"] {
            guard let n = a.integer else {
                throw ModelError.badValue(path: path, key: "general.alignment", reason: "expected an integer, found \(a.typeName)")
            }
            guard n > 0, n <= Int(UInt32.max), n & (n - 1) == 0 else {
                throw ModelError.badValue(path: path, key: "general.alignment", reason: "must be a power of two below 2^32, found \(n)")
            }
            alignment = n
        }
        self.alignment = alignment

        // Tensor infos first (their data section starts after them), then the byte ranges.
        var raw: [(name: String, dims: [Int], type: UInt32, offset: UInt64)] = []
        raw.reserveCapacity(tensorCount)
        var index: [String: Int] = [:]
        for i in 0..<tensorCount {
            let name = try c.string("name of tensor \(i)")
            guard index[name] == nil else { throw c.fail("tensor '\(name)' appears twice") }
            let nDims = try c.u32("dimension count of tensor '\(name)'")
            guard nDims <= 4 else { throw c.fail("tensor '\(name)' has \(nDims) dimensions (ggml allows at most 4)") }
            var dims: [Int] = []
            for d in 0..<Int(nDims) {
                let n = try c.u64("dimension \(d) of tensor '\(name)'")
                guard n < UInt64(1) << 62 else { throw c.fail("tensor '\(name)': dimension \(d) is \(n), absurdly large") }
                dims.append(Int(n))
            }
            let type = try c.u32("type of tensor '\(name)'")
            let offset = try c.u64("offset of tensor '\(name)'")
            index[name] = raw.count
            raw.append((name, dims, type, offset))
        }
        let headerEnd = c.pos
        let dataStart = (headerEnd + alignment - 1) / alignment * alignment
        dataOffset = dataStart
        let dataSize = max(0, size - dataStart)

        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(tensorCount)
        for r in raw {
            func bad(_ reason: String) -> ModelError { .gguf(path: path, reason: "tensor '\(r.name)': \(reason)") }
            guard let type = GGMLType(rawValue: r.type) else {
                throw bad("unknown ggml type \(r.type) (seal knows types 0–33 of ggml; it dequantizes \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")))")
            }
            let (bs, ts) = type.blockLayout
            let rowLength = r.dims.first ?? 1
            guard rowLength % bs == 0 else {
                throw bad("its rows of \(rowLength) elements are not a multiple of \(type.name)'s block of \(bs)")
            }
            var count = 1
            var (bytes, overflow) = (rowLength / bs).multipliedReportingOverflow(by: ts)
            for n in r.dims {
                let (p, o) = count.multipliedReportingOverflow(by: n); count = p; overflow = overflow || o
            }
            for n in r.dims.dropFirst() {
                let (p, o) = bytes.multipliedReportingOverflow(by: n); bytes = p; overflow = overflow || o
            }
            guard !overflow else { throw bad("dimensions \(r.dims) overflow (more than \(Int.max) elements or bytes)") }
            guard r.offset % UInt64(alignment) == 0 else {
                throw bad("offset \(r.offset) is not a multiple of the alignment \(alignment)")
            }
            guard r.offset <= UInt64(dataSize), bytes <= dataSize - Int(r.offset) else {
                throw bad("its \(bytes) bytes at offset \(r.offset) run past the end of the data section (\(dataSize) bytes from file offset \(dataStart); the file is \(size) bytes: truncated data?)")
            }
            infos.append(GGUFTensorInfo(name: r.name, type: type, dims: r.dims, offset: Int(r.offset), byteCount: bytes, count: count))
        }
        // Two tensors may not share bytes (ggml requires them to follow one another, each padded to the alignment).
        let ranges = infos.filter { $0.byteCount > 0 }.sorted { ($0.offset, $0.name) < ($1.offset, $1.name) }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.offset < a.offset + a.byteCount {
            throw ModelError.gguf(path: path, reason: "tensors '\(a.name)' [\(a.offset), \(a.offset + a.byteCount)) and '\(b.name)' [\(b.offset), \(b.offset + b.byteCount)) overlap")
        }
        tensors = infos
        tensorIndex = index
        ok = true
    }

    deinit { Self.release(base, size: fileSize, mapped: mapped) }

    private static func release(_ base: UnsafeRawPointer?, size: Int, mapped: Bool) {
        guard let base else { return }
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), size) } else { base.deallocate() }
    }

    public func tensor(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The tensor's raw bytes (valid while the file is alive).
    public func bytes(of t: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        guard let base, t.byteCount > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + dataOffset + t.offset, count: t.byteCount)
    }

    /// Converts the tensor to float32 at `out` (which must hold `t.count` floats); a type seal cannot dequantize is
    /// an error naming the tensor.
    public func dequantize(_ t: GGUFTensorInfo, into out: UnsafeMutablePointer<Float>) throws {
        guard t.type.canDequantize else {
            throw ModelError.unsupported(path: path, reason: "tensor '\(t.name)' has type \(t.type.name); seal dequantizes \(GGMLType.dequantizable.map(\.name).joined(separator: ", "))")
        }
        guard t.count > 0, let src = bytes(of: t).baseAddress else { return }
        _ = ggufDequantize(t.type, out: out, in: src, count: t.count)
    }

    /// The named tensor as float32, row-major in `shape` order.
    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensor(name) else { throw ModelError.missingTensor(path: path, name: name) }
        if t.count == 0 {
            var none: Float = 0
            try withUnsafeMutablePointer(to: &none) { try dequantize(t, into: $0) }
            return []
        }
        var err: Error?
        let out = [Float](unsafeUninitializedCapacity: t.count) { buf, n in
            do { try dequantize(t, into: buf.baseAddress!) } catch { err = error; buf.baseAddress!.initialize(repeating: 0, count: t.count) }
            n = t.count
        }
        if let err { throw err }
        return out
    }

    // MARK: typed metadata access, errors naming the file and key

    public func value(_ key: String) -> GGUFValue? { metadata[key] }

    func badType(_ key: String, _ expected: String, _ v: GGUFValue) -> ModelError {
        .badValue(path: path, key: key, reason: "expected \(expected), found \(v.typeName)")
    }

    public func string(_ key: String) throws -> String {
        guard let v = metadata[key] else { throw ModelError.missingKey(path: path, key: key) }
        guard let s = v.string else { throw badType(key, "a string", v) }
        return s
    }

    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key] else { throw ModelError.missingKey(path: path, key: key) }
        guard let i = v.integer else { throw badType(key, "an integer", v) }
        return i
    }

    public func int(_ key: String, default d: Int) throws -> Int { metadata[key] == nil ? d : try int(key) }

    public func double(_ key: String) throws -> Double {
        guard let v = metadata[key] else { throw ModelError.missingKey(path: path, key: key) }
        guard let x = v.number else { throw badType(key, "a number", v) }
        return x
    }

    public func double(_ key: String, default d: Double) throws -> Double { metadata[key] == nil ? d : try double(key) }

    public func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = metadata[key] else { return d }
        guard let b = v.bool else { throw badType(key, "a bool", v) }
        return b
    }

    public func array(_ key: String) throws -> GGUFArray {
        guard let v = metadata[key] else { throw ModelError.missingKey(path: path, key: key) }
        guard let a = v.array else { throw badType(key, "an array", v) }
        return a
    }

    public func strings(_ key: String) throws -> [String] {
        let a = try array(key)
        guard let s = a.strings else { throw badType(key, "an array of string", .array(a)) }
        return s
    }

    public func floats(key: String) throws -> [Float] {
        let a = try array(key)
        guard let f = a.floats else { throw badType(key, "an array of float32", .array(a)) }
        return f
    }

    public func ints(_ key: String) throws -> [Int] {
        let a = try array(key)
        guard let f = a.integers else { throw badType(key, "an array of integers", .array(a)) }
        return f
    }
}

/// Reads GGUF's little-endian fields from a byte range, every read checked against the bytes left.
struct GGUFCursor {
    let base: UnsafeRawPointer?
    let size: Int
    let path: String
    var pos = 0

    init(base: UnsafeRawPointer?, size: Int, path: String) { self.base = base; self.size = size; self.path = path }

    var remaining: Int { size - pos }

    func fail(_ reason: String) -> ModelError { .gguf(path: path, reason: reason) }

    mutating func take(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawPointer {
        guard n <= remaining, let base else {
            throw fail("\(what()) at byte \(pos) runs past the end of the file (\(size) bytes): truncated")
        }
        let p = base + pos
        pos += n
        return p
    }

    mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 { try take(1, what()).load(as: UInt8.self) }
    mutating func u16(_ what: @autoclosure () -> String) throws -> UInt16 { UInt16(littleEndian: try take(2, what()).loadUnaligned(as: UInt16.self)) }
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { UInt32(littleEndian: try take(4, what()).loadUnaligned(as: UInt32.self)) }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { UInt64(littleEndian: try take(8, what()).loadUnaligned(as: UInt64.self)) }

    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let n = try u64("length of \(what())")
        guard n <= UInt64(remaining) else {
            throw fail("\(what()): a string of \(n) bytes at byte \(pos - 8) runs past the end of the file (\(remaining) bytes left)")
        }
        let p = try take(Int(n), what())
        return String(decoding: UnsafeBufferPointer(start: p.assumingMemoryBound(to: UInt8.self), count: Int(n)), as: UTF8.self)
    }

    mutating func bool(_ what: @autoclosure () -> String) throws -> Bool {
        let b = try u8(what())
        guard b <= 1 else { throw fail("\(what()): bool byte \(b) is neither 0 nor 1") }
        return b == 1
    }

    mutating func valueType(_ raw: UInt32, key: String) throws -> GGUFValueType {
        guard let t = GGUFValueType(rawValue: raw) else {
            throw fail("metadata key '\(key)' has unknown value type \(raw) (GGUF defines 0–12)")
        }
        return t
    }

    mutating func value(type raw: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch try valueType(raw, key: key) {
        case .uint8: return .uint8(try u8("value of '\(key)'"))
        case .int8: return .int8(Int8(bitPattern: try u8("value of '\(key)'")))
        case .uint16: return .uint16(try u16("value of '\(key)'"))
        case .int16: return .int16(Int16(bitPattern: try u16("value of '\(key)'")))
        case .uint32: return .uint32(try u32("value of '\(key)'"))
        case .int32: return .int32(Int32(bitPattern: try u32("value of '\(key)'")))
        case .uint64: return .uint64(try u64("value of '\(key)'"))
        case .int64: return .int64(Int64(bitPattern: try u64("value of '\(key)'")))
        case .float32: return .float32(Float(bitPattern: try u32("value of '\(key)'")))
        case .float64: return .float64(Double(bitPattern: try u64("value of '\(key)'")))
        case .bool: return .bool(try bool("value of '\(key)'"))
        case .string: return .string(try string("value of '\(key)'"))
        case .array: return .array(try array(key: key, depth: depth + 1))
        }
    }

    /// An array's element type, count and elements; the count is checked against the bytes left (at the element
    /// type's smallest size) before anything is allocated.
    mutating func array(key: String, depth: Int) throws -> GGUFArray {
        guard depth <= GGUFFile.maxArrayDepth else {
            throw fail("metadata key '\(key)': arrays nested more than \(GGUFFile.maxArrayDepth) deep")
        }
        let type = try valueType(try u32("element type of array '\(key)'"), key: key)
        let count64 = try u64("element count of array '\(key)'")
        guard count64 <= UInt64(remaining / type.minimumSize) else {
            throw fail("metadata key '\(key)': an array of \(count64) \(type) elements needs at least \(type.minimumSize) bytes each, and only \(remaining) bytes follow (truncated?)")
        }
        let n = Int(count64)
        func fixed<T>(_ size: Int, _ load: (UnsafeRawPointer) -> T) throws -> [T] {
            let p = try take(n * size, "array '\(key)'")
            return (0..<n).map { load(p + $0 * size) }
        }
        switch type {
        case .uint8: return .uint8(try fixed(1) { $0.load(as: UInt8.self) })
        case .int8: return .int8(try fixed(1) { Int8(bitPattern: $0.load(as: UInt8.self)) })
        case .uint16: return .uint16(try fixed(2) { UInt16(littleEndian: $0.loadUnaligned(as: UInt16.self)) })
        case .int16: return .int16(try fixed(2) { Int16(bitPattern: UInt16(littleEndian: $0.loadUnaligned(as: UInt16.self))) })
        case .uint32: return .uint32(try fixed(4) { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
        case .int32: return .int32(try fixed(4) { Int32(bitPattern: UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) })
        case .uint64: return .uint64(try fixed(8) { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        case .int64: return .int64(try fixed(8) { Int64(bitPattern: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) })
        case .float32: return .float32(try fixed(4) { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) })
        case .float64: return .float64(try fixed(8) { Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) })
        case .bool:
            var out: [Bool] = []
            out.reserveCapacity(n)
            for i in 0..<n { out.append(try bool("element \(i) of array '\(key)'")) }
            return .bool(out)
        case .string:
            var out: [String] = []
            out.reserveCapacity(n)
            for i in 0..<n { out.append(try string("element \(i) of array '\(key)'")) }
            return .string(out)
        case .array:
            var out: [GGUFArray] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try array(key: key, depth: depth + 1)) }
            return .array(out)
        }
    }
}
