import Foundation

/// A parsed JSON value that keeps what Foundation's parser loses: the order of an object's keys (Kaggle files list
/// tasks in an order worth keeping), the literal text of numbers (so `2` and `2.0` and `true` stay distinct types:
/// a self-edit that writes `"num_train_epochs": "2"` or `2.5` is a wrong type, not a value to coerce), and where
/// a syntax error is (line and column).
public indirect enum JSONValue: Equatable, Sendable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    /// The number's literal text as written.
    case number(String)
    case bool(Bool)
    case null

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let x), .array(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.number(let x), .number(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// The value of a key of an object (the last one when a key repeats, as JSON.parse and json.loads do).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.last { $0.0 == key }?.1
    }

    /// An integer literal (no fraction, no exponent) that fits an Int.
    public var intValue: Int? {
        guard case .number(let s) = self, !s.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else { return nil }
        return Int(s)
    }

    public var doubleValue: Double? {
        guard case .number(let s) = self else { return nil }
        return Double(s)
    }

    /// A short description of the value's type for messages ("a string \"yes\"", "a number 2.5", ...).
    public var typeDescription: String {
        switch self {
        case .object: return "an object"
        case .array: return "a list"
        case .string(let s): return "a string \"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
        case .number(let s): return "a number \(s)"
        case .bool(let b): return "\(b)"
        case .null: return "null"
        }
    }
}

public struct JSONSyntaxError: Error, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var reason: String
    public var description: String { "line \(line) column \(column): \(reason)" }
}

/// A strict JSON parser (RFC 8259) over UTF-8 bytes, with one opt-in leniency: trailing commas before `}` or `]`
/// (language models write them; nothing else is guessed).
public struct JSONParser {
    let bytes: [UInt8]
    var i = 0
    let allowTrailingCommas: Bool

    public static func parse(_ text: String, allowTrailingCommas: Bool = false) throws -> JSONValue {
        try parse(Array(text.utf8), allowTrailingCommas: allowTrailingCommas)
    }

    public static func parse(_ bytes: [UInt8], allowTrailingCommas: Bool = false) throws -> JSONValue {
        var p = JSONParser(bytes: bytes, allowTrailingCommas: allowTrailingCommas)
        // A UTF-8 byte-order mark is tolerated (editors on some systems write one).
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { p.i = 3 }
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        if p.i < bytes.count { throw p.error("unexpected text after the JSON value") }
        return v
    }

    func error(_ reason: String) -> JSONSyntaxError {
        var line = 1, col = 1
        for b in bytes[..<min(i, bytes.count)] { if b == 0x0A { line += 1; col = 1 } else if b & 0xC0 != 0x80 { col += 1 } }
        return JSONSyntaxError(line: line, column: col, reason: reason)
    }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        if depth > 512 { throw error("nesting deeper than 512") }
        guard i < bytes.count else { throw error("unexpected end of text") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var pairs: [(String, JSONValue)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let k = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(k)\"") }
                i += 1
                skipSpace()
                pairs.append((k, try value(depth: depth + 1)))
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end of text in an object") }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
                guard bytes[i] == UInt8(ascii: ",") else { throw error("expected ',' or '}' in an object") }
                i += 1
                skipSpace()
                if allowTrailingCommas, i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end of text in a list") }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                guard bytes[i] == UInt8(ascii: ",") else { throw error("expected ',' or ']' in a list") }
                i += 1
                skipSpace()
                if allowTrailingCommas, i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try number())
        default:
            throw error("unexpected character '\(String(decoding: [bytes[i]], as: UTF8.self))'")
        }
    }

    mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw error("expected \(word)") }
        i += w.count
    }

    mutating func number() throws -> String {
        let start = i
        func digits() -> Int { let s = i; while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }; return i - s }
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count else { throw error("a number needs digits") }
        if bytes[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { throw error("a number needs digits") }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            if digits() == 0 { throw error("a number needs digits after '.'") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { throw error("a number needs digits in its exponent") }
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    mutating func string() throws -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw error("unterminated string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; break }
            if b < 0x20 { throw error("control character in a string") }
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw error("unterminated escape") }
            let e = bytes[i]; i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    if (0xDC00...0xDFFF).contains(low) { code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00) }
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out += Array(String(Character(scalar)).utf8)
            default: throw error("invalid escape '\\\(String(decoding: [e], as: UTF8.self))'")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
            throw error("\\u needs four hex digits")
        }
        i += 4
        return v
    }
}
