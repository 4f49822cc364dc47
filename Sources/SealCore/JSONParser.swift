import Foundation

/// A strict JSON parser (RFC 8259) over UTF-8 bytes, with leniencies a caller opts into one by one. It is on the
/// path of every model load (a tokenizer.json of 10⁵ vocabulary entries and merges), so strings without escapes
/// and integers take fast paths, and where an error is (line, column, byte offset) is worked out only when one
/// is thrown.
public struct JSONParser {
    /// What a caller accepts beyond strict JSON.
    public struct Options: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// `[1, 2,]` and `{"a": 1,}` (language models write them; nothing else is guessed).
        public static let trailingCommas = Options(rawValue: 1)
        /// A leading UTF-8 byte-order mark (editors on some systems write one).
        public static let byteOrderMark = Options(rawValue: 2)
        /// Invalid UTF-8 and lone surrogate escapes (`"\ud800"`) become U+FFFD instead of errors.
        public static let repairText = Options(rawValue: 4)
    }

    public static let maxDepth = 512

    /// Parses a whole document; throws `JSONSyntaxError`.
    public static func parse(_ data: Data, options: Options = []) throws -> JSONValue {
        try data.withUnsafeBytes { raw in try parse(raw.bindMemory(to: UInt8.self), options: options) }
    }

    public static func parse(_ bytes: [UInt8], options: Options = []) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { try parse($0, options: options) }
    }

    public static func parse(_ text: String, options: Options = []) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try parse($0, options: options) }
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, options: Options = []) throws(JSONSyntaxError) -> JSONValue {
        var p = JSONParser(bytes: bytes, options: options)
        if options.contains(.byteOrderMark), bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { p.pos = 3 }
        p.skipWhitespace()
        let v = try p.parseValue(depth: 0)
        p.skipWhitespace()
        if p.pos != bytes.count { throw p.fail("unexpected trailing characters after the top-level value") }
        return v
    }

    let bytes: UnsafeBufferPointer<UInt8>
    let trailingCommas: Bool
    let repairText: Bool
    var pos = 0
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>, options: Options) {
        self.bytes = bytes
        trailingCommas = options.contains(.trailingCommas)
        repairText = options.contains(.repairText)
    }

    func fail(_ reason: String, at offset: Int? = nil) -> JSONSyntaxError {
        let at = min(offset ?? pos, bytes.count)
        var line = 1, column = 1
        for i in 0..<at {
            let b = bytes[i]
            if b == 0x0A { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return JSONSyntaxError(offset: at, line: line, column: column, reason: reason)
    }

    mutating func skipWhitespace() {
        while pos < bytes.count {
            let c = bytes[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { break }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard pos < bytes.count else { throw fail("unexpected end of input") }
        guard depth < JSONParser.maxDepth else { throw fail("nesting deeper than \(JSONParser.maxDepth) levels") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return .object(try parseObject(depth: depth))
        case UInt8(ascii: "["): return .array(try parseArray(depth: depth))
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw fail("unexpected character '\(String(decoding: CollectionOfOne(bytes[pos]), as: UTF8.self))'")
        }
    }

    mutating func expectLiteral(_ lit: StaticString) throws(JSONSyntaxError) {
        let n = lit.utf8CodeUnitCount
        guard pos + n <= bytes.count else { throw fail("unexpected end of input") }
        let p = lit.utf8Start
        for i in 0..<n where bytes[pos + i] != p[i] { throw fail("invalid literal (expected \(lit))") }
        pos += n
    }

    /// After a ',' in an object or array: whether `close` follows and trailing commas are allowed (then consumed).
    mutating func trailingClose(_ close: UInt8) -> Bool {
        guard trailingCommas else { return false }
        skipWhitespace()
        guard pos < bytes.count, bytes[pos] == close else { return false }
        pos += 1
        return true
    }

    mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONObject {
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
                throw fail(pos < bytes.count ? "expected ':' after the key \"\(key)\"" : "unexpected end of input inside an object")
            }
            pos += 1
            skipWhitespace()
            let v = try parseValue(depth: depth + 1)
            obj.keys.append(key)  // (not obj.append: the key's last use here moves it into the array)
            obj.values.append(v)
            skipWhitespace()
            guard pos < bytes.count else { throw fail("unexpected end of input inside an object") }
            if bytes[pos] == UInt8(ascii: ",") {
                pos += 1
                if trailingClose(UInt8(ascii: "}")) { return obj }
                continue
            }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return obj }
            throw fail("expected ',' or '}' in an object")
        }
    }

    mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> [JSONValue] {
        pos += 1  // [
        var arr: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return arr }
        while true {
            skipWhitespace()
            arr.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard pos < bytes.count else { throw fail("unexpected end of input inside a list") }
            if bytes[pos] == UInt8(ascii: ",") {
                pos += 1
                if trailingClose(UInt8(ascii: "]")) { return arr }
                continue
            }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return arr }
            throw fail("expected ',' or ']' in a list")
        }
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = pos
        let negative = bytes[pos] == UInt8(ascii: "-")
        if negative { pos += 1 }
        func digits(_ p: inout Int) -> Int {
            let s = p
            while p < bytes.count, bytes[p] >= 0x30, bytes[p] <= 0x39 { p += 1 }
            return p - s
        }
        guard pos < bytes.count else { throw fail("unexpected end of input in a number") }
        let intStart = pos
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if digits(&pos) == 0 {
            throw fail("invalid number")
        }
        let intEnd = pos
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
        if integral {
            // Exact, accumulated towards the sign so that Int.min fits; 18 digits cannot overflow.
            var v = 0
            var i = intStart
            if intEnd - intStart <= 18 {
                while i < intEnd { v = v &* 10 &+ Int(bytes[i] &- 0x30); i += 1 }
                return .int(negative ? -v : v)
            }
            var exact = true
            while i < intEnd, exact {
                let d = Int(bytes[i] &- 0x30)
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (s, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
                exact = !o1 && !o2
                v = s
                i += 1
            }
            if exact { return .int(v) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text) else { throw fail("invalid number", at: start) }
        return .double(d)
    }

    mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
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

    mutating func parseString() throws(JSONSyntaxError) -> String {
        pos += 1  // opening quote
        let start = pos
        var ascii = true
        // Fast path: no escapes.
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<pos])
                if !ascii, !repairText, firstInvalidUTF8(slice) != nil { throw fail("invalid UTF-8 in a string", at: start) }
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
                if !ascii, !repairText, !isValidUTF8(scratch) { throw fail("invalid UTF-8 in a string", at: start) }
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
                    if pos + 2 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                        let escape = pos
                        pos += 2
                        let low = try parseHex4()
                        if low >= 0xDC00, low < 0xE000 {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if repairText {
                            code = 0xFFFD
                            pos = escape  // the second escape is read on its own
                        } else {
                            throw fail("invalid low surrogate in a \\u escape")
                        }
                    } else if repairText {
                        code = 0xFFFD
                    } else {
                        throw fail("lone leading surrogate in a \\u escape")
                    }
                } else if code >= 0xDC00, code < 0xE000 {
                    if !repairText { throw fail("lone trailing surrogate in a \\u escape") }
                    code = 0xFFFD
                }
                scratch.append(contentsOf: UTF8.encode(Unicode.Scalar(code)!)!)
            default:
                throw fail("invalid escape '\\\(String(decoding: CollectionOfOne(e), as: UTF8.self))'")
            }
        }
        throw fail("unterminated string", at: start - 1)
    }
}
