import Foundation
#if canImport(Glibc)
import Glibc
import SealCore
#endif

/// Element types seal reads from safetensors files; all are computed in float32.
public enum DType: String, Sendable {
    case f32 = "F32", bf16 = "BF16", f16 = "F16"

    public var size: Int { self == .f32 ? 4 : 2 }
    /// The name transformers uses for it (`torch_dtype`).
    public var torchName: String {
        switch self { case .f32: "float32"; case .bf16: "bfloat16"; case .f16: "float16" }
    }
}

/// One tensor's entry in a safetensors header.
public struct TensorInfo: Sendable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    /// Byte range within the data section (after the 8-byte length and the header).
    public var begin: Int
    public var end: Int
    public var count: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file: the header is parsed and checked on open (every offset in range, every size
/// consistent with dtype and shape), tensors are read straight from the mapping. Mapping instead of reading means a
/// 15 GB checkpoint costs no copy beyond the float32 parameters it is converted into, and pages shared with other
/// ranks on the node come from the page cache once.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let base: UnsafeMutableRawPointer
    private let mappedSize: Int
    private let dataOffset: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw ModelError.fileMissing(path: path) }
            throw ModelError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ModelError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        guard size >= 8 else { throw ModelError.safetensors(path: path, reason: "file is \(size) bytes, shorter than the 8-byte header length") }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw ModelError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = m
        mappedSize = size
        var ok = false
        defer { if !ok { munmap(m, size) } }

        let headerLen = m.loadUnaligned(as: UInt64.self).littleEndian
        guard headerLen <= UInt64(size - 8) else {
            throw ModelError.safetensors(path: path, reason: "header length \(headerLen) runs past the end of the file (\(size) bytes)")
        }
        // The safetensors library refuses headers over 100 MB (MAX_HEADER_SIZE); so does seal.
        guard headerLen <= 100_000_000 else {
            throw ModelError.safetensors(path: path, reason: "header length \(headerLen) is over the 100 MB limit")
        }
        dataOffset = 8 + Int(headerLen)
        let headerData = Data(bytes: m + 8, count: Int(headerLen))
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: headerData) } catch {
            throw ModelError.safetensors(path: path, reason: "header is not valid JSON")
        }
        guard let header = any as? [String: Any] else {
            throw ModelError.safetensors(path: path, reason: "header is not a JSON object")
        }
        let dataSize = size - dataOffset
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                if let d = value as? [String: Any] { for (k, v) in d { metadata[k] = "\(v)" } }
                continue
            }
            func bad(_ reason: String) -> ModelError { .safetensors(path: path, reason: "tensor '\(name)': \(reason)") }
            guard let d = value as? [String: Any], let dt = d["dtype"] as? String,
                  let shape = d["shape"] as? [Any], let offs = d["data_offsets"] as? [Any] else {
                throw bad("entry lacks dtype, shape or data_offsets")
            }
            guard offs.count == 2 else { throw bad("data_offsets has \(offs.count) numbers, not 2") }
            guard let dtype = DType(rawValue: dt) else {
                throw bad("dtype \(dt) is not supported (F32, BF16, F16)")
            }
            let dims = shape.compactMap(Self.exactNonNegative)
            guard dims.count == shape.count else {
                throw bad("shape \(shape) is not a list of non-negative integers (each below 2^53)")
            }
            guard let b = Self.exactNonNegative(offs[0]), let e = Self.exactNonNegative(offs[1]) else {
                throw bad("data_offsets \(offs) are not non-negative integers (below 2^53)")
            }
            guard e >= b, e <= dataSize else {
                throw bad("data_offsets [\(b), \(e)] out of range (data section is \(dataSize) bytes)")
            }
            var bytes = dtype.size
            for n in dims {
                let (r, o) = bytes.multipliedReportingOverflow(by: n)
                guard !o else { throw bad("shape \(dims) of \(dt) overflows (more than \(Int.max) bytes)") }
                bytes = r
            }
            guard bytes == e - b else {
                throw bad("\(e - b) bytes for shape \(dims) of \(dt) (expected \(bytes))")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: dims, begin: b, end: e)
        }
        // The ranges must tile the data section, as the safetensors library requires (it refuses such a file, so
        // transformers could not load it): no two tensors share bytes (one tensor's weights would be another's), no
        // bytes between them or after the last belong to none (a truncated or hand-edited header).
        let ranges = tensors.values.filter { $0.end > $0.begin }.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.begin < a.end {
            throw ModelError.safetensors(path: path, reason: "tensors '\(a.name)' [\(a.begin), \(a.end)] and '\(b.name)' [\(b.begin), \(b.end)] overlap")
        }
        var covered = 0
        for r in ranges {
            guard r.begin == covered else {
                throw ModelError.safetensors(path: path, reason: "bytes [\(covered), \(r.begin)) of the data section belong to no tensor (before '\(r.name)'); the data_offsets must tile it")
            }
            covered = r.end
        }
        guard covered == dataSize else {
            throw ModelError.safetensors(path: path, reason: "the data section is \(dataSize) bytes but its tensors end at \(covered) (trailing bytes belong to no tensor)")
        }
        self.tensors = tensors
        self.metadata = metadata
        ok = true
    }

    deinit { munmap(base, mappedSize) }

    /// A JSON number that is an exact non-negative integer below 2^53 (not a boolean, not 1.5, not 1e30). Below
    /// 2^53 the double JSONSerialization may hold is exact; no real dimension or byte offset comes near it, and
    /// products of several are checked for overflow.
    static func exactNonNegative(_ v: Any) -> Int? {
        guard let n = v as? NSNumber, !isJSONBool(v) else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d >= 0, d.rounded() == d, d < 9_007_199_254_740_992 else { return nil }
        return Int(d)
    }

    /// Converts tensor `name` into float32 at `out` (which must hold `info.count` floats).
    public func read(_ info: TensorInfo, into out: UnsafeMutablePointer<Float>) {
        let src = UnsafeRawPointer(base + dataOffset + info.begin)
        let n = info.count
        switch info.dtype {
        case .f32:
            UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: n * 4)
        case .bf16:
            let s = src.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: s[i])) << 16) }
        case .f16:
            let s = src.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: s[i]))) }
        }
    }
}

/// Writes a safetensors file: header with tensors in the given order, 8-byte aligned data, `__metadata__`
/// `{"format": "pt"}` so that transformers accepts it.
public enum SafeTensorsWriter {
    public struct Entry {
        public var name: String
        public var shape: [Int]
        public var data: UnsafeBufferPointer<Float>
        public init(name: String, shape: [Int], data: UnsafeBufferPointer<Float>) {
            self.name = name; self.shape = shape; self.data = data
        }
    }

    public static func write(_ entries: [Entry], dtype: DType, to url: URL, metadata: [String: String] = ["format": "pt"]) throws {
        var offset = 0
        var parts: [String] = []
        let meta = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
        parts.append("\"__metadata__\":{\(meta)}")
        for e in entries {
            precondition(e.shape.reduce(1, *) == e.data.count, "tensor \(e.name): shape/data mismatch")
            let bytes = e.data.count * dtype.size
            parts.append("\(jsonString(e.name)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        let total = 8 + header.count + offset
        var buf = [UInt8](repeating: 0, count: total)
        buf.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(header.count).littleEndian, as: UInt64.self)
            raw.baseAddress!.advanced(by: 8).copyMemory(from: header, byteCount: header.count)
            var p = 8 + header.count
            for e in entries {
                switch dtype {
                case .f32:
                    raw.baseAddress!.advanced(by: p).copyMemory(from: e.data.baseAddress!, byteCount: e.data.count * 4)
                case .bf16:
                    for (i, v) in e.data.enumerated() {
                        raw.storeBytes(of: bf16Bits(v).littleEndian, toByteOffset: p + 2 * i, as: UInt16.self)
                    }
                case .f16:
                    for (i, v) in e.data.enumerated() {
                        raw.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: p + 2 * i, as: UInt16.self)
                    }
                }
                p += e.data.count * dtype.size
            }
        }
        try Data(buf).write(to: url, options: .atomic)
    }

    /// float32 → bfloat16 with round-to-nearest-even, as torch's `.to(torch.bfloat16)` does.
    public static func bf16Bits(_ v: Float) -> UInt16 {
        let bits = v.bitPattern
        if v.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = ((bits >> 16) & 1) &+ 0x7FFF
        return UInt16((bits &+ rounding) >> 16)
    }

    static func jsonString(_ s: String) -> String {
        let d = try! JSONSerialization.data(withJSONObject: [s], options: [])
        let a = String(decoding: d, as: UTF8.self)
        return String(a.dropFirst().dropLast())
    }
}
