import Foundation

/// A parsed JSON value.
///
/// We parse `tokenizer.json` ourselves rather than with `JSONSerialization`/`Codable` for two
/// reasons. Correctness: Swift `String` equality (and so `Dictionary<String, _>` keys) follows
/// Unicode canonical equivalence, so a vocabulary holding both `"é"` and `"e\u{301}"` as distinct
/// tokens would silently lose one; objects here keep every key, in file order, and the
/// vocabulary is keyed by UTF-8 bytes later. Diagnostics: errors carry the byte offset, line and
/// column, and accessors carry the key path, so a bad file is reported precisely.
enum JSONValue {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A JSON object with its keys in file order (duplicates kept; lookups take the last, as
/// serde's map deserialisation does).
struct JSONObject {
    var keys: [String] = []
    var values: [JSONValue] = []

    var count: Int { keys.count }

    subscript(key: String) -> JSONValue? {
        var i = keys.count - 1
        while i >= 0 {
            if keys[i].utf8.elementsEqual(key.utf8) { return values[i] }
            i -= 1
        }
        return nil
    }
}

/// A JSON value together with where it came from, so that every accessor can throw a
/// `TokenizerError` naming the file and the key path. The path is assembled only when an error
/// is reported (a vocabulary has 10⁵ members; formatting each one's path up front would cost
/// more than parsing it).
struct JSONNode {
    let value: JSONValue
    let source: String
    private let parentPath: String
    private let component: Component?

    private enum Component {
        case key(String)
        case index(Int)
    }

    init(value: JSONValue, path: String, source: String) {
        self.value = value
        self.source = source
        self.parentPath = path
        self.component = nil
    }

    private init(value: JSONValue, parent: JSONNode, _ component: Component) {
        self.value = value
        self.source = parent.source
        self.parentPath = parent.path
        self.component = component
    }

    /// The key path of this value, e.g. `model.merges[17]`.
    var path: String {
        switch component {
        case nil: return parentPath
        case .key(let k): return parentPath.isEmpty ? k : "\(parentPath).\(k)"
        case .index(let i): return "\(parentPath)[\(i)]"
        }
    }

    func error(_ kind: TokenizerError.Kind, _ message: String) -> TokenizerError {
        TokenizerError(kind, file: source, key: path, message)
    }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func child(_ v: JSONValue, key: String) -> JSONNode { JSONNode(value: v, parent: self, .key(key)) }

    /// The member `key`, or nil when it is absent or `null` (serde treats both as `None`).
    func optional(_ key: String) throws -> JSONNode? {
        let obj = try object()
        guard let v = obj[key] else { return nil }
        if case .null = v { return nil }
        return child(v, key: key)
    }

    /// The member `key`; throws `missingKey` when it is absent or `null`.
    func required(_ key: String) throws -> JSONNode {
        guard let node = try optional(key) else {
            throw TokenizerError(.missingKey, file: source, key: childPath(key), "required key is missing")
        }
        return node
    }

    func object() throws -> JSONObject {
        guard case .object(let o) = value else { throw error(.invalidValue, "expected an object, found \(value.typeName)") }
        return o
    }

    /// The members of an object as nodes, in file order.
    func members() throws -> [(key: String, node: JSONNode)] {
        let o = try object()
        return (0..<o.count).map { (o.keys[$0], child(o.values[$0], key: o.keys[$0])) }
    }

    func array() throws -> [JSONNode] {
        guard case .array(let a) = value else { throw error(.invalidValue, "expected an array, found \(value.typeName)") }
        return a.enumerated().map { JSONNode(value: $0.element, parent: self, .index($0.offset)) }
    }

    func string() throws -> String {
        guard case .string(let s) = value else { throw error(.invalidValue, "expected a string, found \(value.typeName)") }
        return s
    }

    func bool() throws -> Bool {
        guard case .bool(let b) = value else { throw error(.invalidValue, "expected a boolean, found \(value.typeName)") }
        return b
    }

    func double() throws -> Double {
        guard case .number(let d) = value else { throw error(.invalidValue, "expected a number, found \(value.typeName)") }
        return d
    }

    /// A non-negative integer that fits a token id (HF stores ids as `u32`).
    func uint32() throws -> Int {
        let d = try double()
        guard d >= 0, d <= Double(UInt32.max), d.rounded() == d else {
            throw error(.invalidValue, "expected a non-negative integer id, found \(d)")
        }
        return Int(d)
    }

    func optionalString(_ key: String) throws -> String? { try optional(key)?.string() }
    func optionalBool(_ key: String, default def: Bool) throws -> Bool { try optional(key)?.bool() ?? def }
    func type() throws -> String { try required("type").string() }
}

/// A strict RFC 8259 parser over UTF-8 bytes.
struct JSONParser {
    static let maxDepth = 512

    /// Parses `data` into a value, throwing `malformedJSON` (with byte offset, line and column).
    static func parse(_ data: Data, source: String) throws -> JSONValue {
        try data.withUnsafeBytes { raw -> JSONValue in
            let bytes = raw.bindMemory(to: UInt8.self)
            var p = JSONParser(bytes: bytes, source: source)
            p.skipWhitespace()
            let v = try p.parseValue(depth: 0)
            p.skipWhitespace()
            if p.pos != bytes.count { throw p.fail("unexpected trailing characters after the top-level value") }
            return v
        }
    }

    let bytes: UnsafeBufferPointer<UInt8>
    let source: String
    var pos = 0
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, source: String) {
        self.bytes = bytes
        self.source = source
    }

    func fail(_ message: String, at offset: Int? = nil) -> TokenizerError {
        let at = min(offset ?? pos, bytes.count)
        var line = 1, column = 1
        for i in 0..<at {
            if bytes[i] == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return TokenizerError(.malformedJSON, file: source, key: "",
                              "malformed JSON at byte \(at) (line \(line), column \(column)): \(message)")
    }

    mutating func skipWhitespace() {
        while pos < bytes.count {
            let c = bytes[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { break }
        }
    }

    mutating func parseValue(depth: Int) throws -> JSONValue {
        guard pos < bytes.count else { throw fail("unexpected end of input") }
        guard depth < JSONParser.maxDepth else { throw fail("nesting deeper than \(JSONParser.maxDepth) levels") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return .object(try parseObject(depth: depth))
        case UInt8(ascii: "["): return .array(try parseArray(depth: depth))
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(bytes[pos])))'")
        }
    }

    mutating func expectLiteral(_ lit: StaticString) throws {
        let n = lit.utf8CodeUnitCount
        guard pos + n <= bytes.count else { throw fail("unexpected end of input") }
        let p = lit.utf8Start
        for i in 0..<n where bytes[pos + i] != p[i] { throw fail("invalid literal") }
        pos += n
    }

    mutating func parseObject(depth: Int) throws -> JSONObject {
        pos += 1  // {
        var obj = JSONObject()
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return obj }
        while true {
            skipWhitespace()
            guard pos < bytes.count else { throw fail("unexpected end of input inside an object") }
            guard bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else {
                throw fail(pos < bytes.count ? "expected ':' after an object key" : "unexpected end of input inside an object")
            }
            pos += 1
            skipWhitespace()
            let v = try parseValue(depth: depth + 1)
            obj.keys.append(key)
            obj.values.append(v)
            skipWhitespace()
            guard pos < bytes.count else { throw fail("unexpected end of input inside an object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return obj }
            throw fail("expected ',' or '}' in an object")
        }
    }

    mutating func parseArray(depth: Int) throws -> [JSONValue] {
        pos += 1  // [
        var arr: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return arr }
        while true {
            skipWhitespace()
            arr.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard pos < bytes.count else { throw fail("unexpected end of input inside an array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return arr }
            throw fail("expected ',' or ']' in an array")
        }
    }

    mutating func parseNumber() throws -> Double {
        let start = pos
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        func digits(_ p: inout Int) -> Int {
            let s = p
            while p < bytes.count, bytes[p] >= 0x30, bytes[p] <= 0x39 { p += 1 }
            return p - s
        }
        guard pos < bytes.count else { throw fail("unexpected end of input in a number") }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if digits(&pos) == 0 {
            throw fail("invalid number")
        }
        var integral = true
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            integral = false
            if digits(&pos) == 0 { throw fail("invalid number: no digits after '.'") }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            integral = false
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            if digits(&pos) == 0 { throw fail("invalid number: no digits in the exponent") }
        }
        if integral, pos - start <= 18 {
            // Fast path for the ids that make up most numbers in a tokenizer.json.
            var v = 0
            var i = start
            let negative = bytes[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            while i < pos { v = v * 10 + Int(bytes[i] - 0x30); i += 1 }
            return Double(negative ? -v : v)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text) else { throw fail("invalid number", at: start) }
        return d
    }

    mutating func parseHex4() throws -> UInt32 {
        guard pos + 4 <= bytes.count else { throw fail("unexpected end of input in a \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid hex digit in a \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    mutating func parseString() throws -> String {
        pos += 1  // opening quote
        let start = pos
        var ascii = true
        // Fast path: no escapes.
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<pos])
                if !ascii, !JSONParser.isValidUTF8(slice) { throw fail("invalid UTF-8 in a string", at: start) }
                pos += 1
                return String(decoding: slice, as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("unescaped control character in a string") }
            if c >= 0x80 { ascii = false }
            pos += 1
        }
        guard pos < bytes.count else { throw fail("unterminated string", at: start - 1) }
        // Slow path: escapes present.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<pos]))
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                pos += 1
                if !ascii, !scratch.withUnsafeBufferPointer({ JSONParser.isValidUTF8($0) }) {
                    throw fail("invalid UTF-8 in a string", at: start)
                }
                return String(decoding: scratch, as: UTF8.self)
            }
            if c < 0x20 { throw fail("unescaped control character in a string") }
            if c != UInt8(ascii: "\\") {
                if c >= 0x80 { ascii = false }
                scratch.append(c)
                pos += 1
                continue
            }
            pos += 1
            guard pos < bytes.count else { break }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5C)
            case UInt8(ascii: "/"): scratch.append(0x2F)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if code >= 0xD800, code < 0xDC00 {
                    // A high surrogate must be followed by an escaped low surrogate (serde_json rejects lone ones too).
                    guard pos + 2 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                        throw fail("lone leading surrogate in a \\u escape")
                    }
                    pos += 2
                    let low = try parseHex4()
                    guard low >= 0xDC00, low < 0xE000 else { throw fail("invalid low surrogate in a \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if code >= 0xDC00, code < 0xE000 {
                    throw fail("lone trailing surrogate in a \\u escape")
                }
                let scalar = Unicode.Scalar(code)!
                scratch.append(contentsOf: UTF8.encode(scalar)!)
            default:
                throw fail("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        throw fail("unterminated string", at: start - 1)
    }

    /// Strict UTF-8 validation (no overlongs, no surrogates, nothing above U+10FFFF).
    static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            if c >= 0xC2, c <= 0xDF {
                guard i + 1 < n, b[i + 1] & 0xC0 == 0x80 else { return false }
                i += 2
            } else if c >= 0xE0, c <= 0xEF {
                guard i + 2 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80 else { return false }
                if c == 0xE0, b[i + 1] < 0xA0 { return false }
                if c == 0xED, b[i + 1] >= 0xA0 { return false }
                i += 3
            } else if c >= 0xF0, c <= 0xF4 {
                guard i + 3 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80, b[i + 3] & 0xC0 == 0x80 else { return false }
                if c == 0xF0, b[i + 1] < 0x90 { return false }
                if c == 0xF4, b[i + 1] >= 0x90 { return false }
                i += 4
            } else {
                return false
            }
        }
        return true
    }
}
