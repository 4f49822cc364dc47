import Foundation
import SealCore
import SealModel

/// A TOML value (the subset experiment configs use: tables, strings — basic, literal and multi-line — integers,
/// floats, booleans, arrays).
public enum TOMLValue: Equatable, Sendable, CustomStringConvertible {
    case string(String), int(Int), double(Double), bool(Bool), array([TOMLValue]), table([String: TOMLValue])

    public var description: String {
        switch self {
        case .string(let s): return JSONWriter.quote(s)
        case .int(let i): return "\(i)"
        case .double(let d): return "\(d)"
        case .bool(let b): return b ? "true" : "false"
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .table(let t): return "{" + t.sorted(by: { $0.key < $1.key }).map { "\($0.key) = \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// The value as JSON-compatible Foundation objects (for the resolved config stored in HDF5).
    public var jsonObject: Any {
        switch self {
        case .string(let s): return s
        case .int(let i): return i
        case .double(let d): return d
        case .bool(let b): return b
        case .array(let a): return a.map(\.jsonObject)
        case .table(let t): return t.mapValues(\.jsonObject)
        }
    }
}

public struct TOMLError: Error, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
}

/// A small, strict TOML reader: anything outside the supported subset is an error with its line, never a guess.
public enum TOML {
    public static func parse(_ text: String, file: String = "config") throws -> [String: TOMLValue] {
        var p = Parser(chars: Array(text.unicodeScalars), file: file)
        return try p.document()
    }

    public static func load(_ path: String) throws -> [String: TOMLValue] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TOMLError(file: path, line: 0, message: "cannot read the file")
        }
        guard let s = String(data: data, encoding: .utf8) else { throw TOMLError(file: path, line: 0, message: "not UTF-8") }
        return try parse(s, file: path)
    }

    /// Parses the right-hand side of a `--set key=value` override: a TOML value, or a bare word taken as a string.
    public static func parseValue(_ text: String) -> TOMLValue {
        var p = Parser(chars: Array(text.unicodeScalars), file: "--set")
        if let v = try? p.value(), (try? p.endOfValueLine()) != nil { return v }
        return .string(text)
    }

    struct Parser {
        let chars: [Unicode.Scalar]
        let file: String
        var i = 0
        var line = 1

        init(chars: [Unicode.Scalar], file: String) { self.chars = chars; self.file = file }

        func fail(_ m: String) -> TOMLError { TOMLError(file: file, line: line, message: m) }
        var peek: Unicode.Scalar? { i < chars.count ? chars[i] : nil }
        mutating func advance() { if chars[i] == "\n" { line += 1 }; i += 1 }

        mutating func skipSpaces() { while let c = peek, c == " " || c == "\t" { advance() } }
        mutating func skipComment() { if peek == "#" { while let c = peek, c != "\n" { advance() } } }
        mutating func skipBlank() {
            while let c = peek {
                if c == " " || c == "\t" || c == "\n" || c == "\r" { advance() } else if c == "#" { skipComment() } else { break }
            }
        }

        mutating func endOfValueLine() throws {
            skipSpaces(); skipComment()
            if peek == "\r" { advance() }
            if let c = peek, c != "\n" { throw fail("unexpected '\(c)' after value") }
        }

        mutating func document() throws -> [String: TOMLValue] {
            var root: [String: TOMLValue] = [:]
            var current: [String] = []
            var definedTables = Set<String>()
            while true {
                skipBlank()
                guard let c = peek else { break }
                if c == "[" {
                    advance()
                    if peek == "[" { throw fail("arrays of tables ([[...]]) are not supported") }
                    skipSpaces()
                    let path = try keyPath()
                    skipSpaces()
                    guard peek == "]" else { throw fail("expected ']' after table name") }
                    advance()
                    try endOfValueLine()
                    let name = path.joined(separator: ".")
                    if definedTables.contains(name) { throw fail("table [\(name)] defined twice") }
                    definedTables.insert(name)
                    try Self.ensureTable(&root, path, file: file, line: line)
                    current = path
                } else {
                    let path = try keyPath()
                    skipSpaces()
                    guard peek == "=" else { throw fail("expected '=' after key '\(path.joined(separator: "."))'") }
                    advance(); skipSpaces()
                    let v = try value()
                    try endOfValueLine()
                    try Self.insert(&root, current + path, v, file: file, line: line)
                }
            }
            return root
        }

        static func ensureTable(_ t: inout [String: TOMLValue], _ path: [String], file: String, line: Int) throws {
            guard let first = path.first else { return }
            var sub: [String: TOMLValue] = [:]
            if let existing = t[first] {
                guard case .table(let e) = existing else { throw TOMLError(file: file, line: line, message: "'\(first)' is not a table") }
                sub = e
            }
            try ensureTable(&sub, Array(path.dropFirst()), file: file, line: line)
            t[first] = .table(sub)
        }

        static func insert(_ t: inout [String: TOMLValue], _ path: [String], _ v: TOMLValue, file: String, line: Int) throws {
            if path.count == 1 {
                if t[path[0]] != nil { throw TOMLError(file: file, line: line, message: "key '\(path[0])' defined twice") }
                t[path[0]] = v
                return
            }
            var sub: [String: TOMLValue] = [:]
            if let existing = t[path[0]] {
                guard case .table(let e) = existing else { throw TOMLError(file: file, line: line, message: "'\(path[0])' is not a table") }
                sub = e
            }
            try insert(&sub, Array(path.dropFirst()), v, file: file, line: line)
            t[path[0]] = .table(sub)
        }

        mutating func keyPath() throws -> [String] {
            var parts: [String] = []
            while true {
                skipSpaces()
                if peek == "\"" { advance(); parts.append(try basicString()) }
                else {
                    var k = ""
                    while let c = peek, c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "-" { k.unicodeScalars.append(c); advance() }
                    if k.isEmpty { throw fail("expected a key") }
                    parts.append(k)
                }
                skipSpaces()
                if peek == "." { advance() } else { break }
            }
            return parts
        }

        mutating func value() throws -> TOMLValue {
            guard let c = peek else { throw fail("expected a value") }
            if c == "\"" {
                if i + 2 < chars.count && chars[i + 1] == "\"" && chars[i + 2] == "\"" { i += 3; return .string(try multilineBasic()) }
                advance(); return .string(try basicString())
            }
            if c == "'" {
                if i + 2 < chars.count && chars[i + 1] == "'" && chars[i + 2] == "'" { i += 3; return .string(try multilineLiteral()) }
                advance()
                var s = ""
                while let d = peek, d != "'" { if d == "\n" { throw fail("unterminated string") }; s.unicodeScalars.append(d); advance() }
                guard peek == "'" else { throw fail("unterminated string") }
                advance(); return .string(s)
            }
            if c == "[" {
                advance()
                var items: [TOMLValue] = []
                while true {
                    skipBlank()
                    if peek == "]" { advance(); break }
                    items.append(try value())
                    skipBlank()
                    if peek == "," { advance(); continue }
                    skipBlank()
                    guard peek == "]" else { throw fail("expected ',' or ']' in array") }
                    advance(); break
                }
                return .array(items)
            }
            if c == "{" { throw fail("inline tables are not supported; use a [table]") }
            var word = ""
            while let d = peek, !(d == " " || d == "\t" || d == "\n" || d == "\r" || d == "," || d == "]" || d == "#") { word.unicodeScalars.append(d); advance() }
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            let clean = word.replacingOccurrences(of: "_", with: "")
            if let n = Int(clean) { return .int(n) }
            if clean == "inf" || clean == "+inf" { return .double(.infinity) }
            if clean == "-inf" { return .double(-.infinity) }
            if clean == "nan" { return .double(.nan) }
            if let d = Double(clean), clean.contains(where: { ".eE".contains($0) }) { return .double(d) }
            throw fail("cannot read value '\(word)' (strings need quotes)")
        }

        mutating func escape() throws -> Unicode.Scalar {
            guard let e = peek else { throw fail("unterminated escape") }
            advance()
            switch e {
            case "n": return "\n"
            case "t": return "\t"
            case "r": return "\r"
            case "\"": return "\""
            case "\\": return "\\"
            case "b": return "\u{8}"
            case "f": return "\u{C}"
            case "u", "U":
                let n = e == "u" ? 4 : 8
                guard i + n <= chars.count, let v = UInt32(String(String.UnicodeScalarView(chars[i..<(i + n)])), radix: 16),
                      let s = Unicode.Scalar(v) else { throw fail("bad unicode escape") }
                i += n
                return s
            default: throw fail("unknown escape '\\\(e)'")
            }
        }

        mutating func basicString() throws -> String {
            var s = ""
            while let c = peek {
                if c == "\"" { advance(); return s }
                if c == "\n" { break }
                advance()
                if c == "\\" { s.unicodeScalars.append(try escape()) } else { s.unicodeScalars.append(c) }
            }
            throw fail("unterminated string")
        }

        mutating func multilineBasic() throws -> String {
            var s = ""
            if peek == "\n" { advance() } else if peek == "\r", i + 1 < chars.count, chars[i + 1] == "\n" { i += 1; advance() }
            while let c = peek {
                if c == "\"" {
                    // A run of 3–5 quotes closes the string; quotes beyond the closing three belong to the content.
                    var n = 0
                    while i + n < chars.count && chars[i + n] == "\"" { n += 1 }
                    if n >= 3 {
                        if n > 5 { throw fail("too many quotes in a multi-line string") }
                        for _ in 0..<(n - 3) { s.unicodeScalars.append("\"") }
                        i += n
                        return s
                    }
                }
                advance()
                if c == "\\" {
                    // A backslash at the end of a line trims the newline and the following whitespace.
                    if let n = peek, n == "\n" || n == " " || n == "\t" || n == "\r" {
                        while let w = peek, w == "\n" || w == " " || w == "\t" || w == "\r" { advance() }
                        continue
                    }
                    s.unicodeScalars.append(try escape())
                } else { s.unicodeScalars.append(c) }
            }
            throw fail("unterminated multi-line string")
        }

        mutating func multilineLiteral() throws -> String {
            var s = ""
            if peek == "\n" { advance() }
            while let c = peek {
                if c == "'" && i + 2 < chars.count && chars[i + 1] == "'" && chars[i + 2] == "'" { i += 3; return s }
                s.unicodeScalars.append(c); advance()
            }
            throw fail("unterminated multi-line string")
        }
    }
}
