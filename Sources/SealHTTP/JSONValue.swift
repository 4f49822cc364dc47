import Foundation

/// A JSON document as it was written: booleans are not numbers, integers that fit an Int are kept exact, other
/// numbers are Doubles (JSONSerialization's NSNumber makes `true` look like 1 and 1e19 trap when made an Int).
public indirect enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let c = try? decoder.singleValueContainer() {
            if c.decodeNil() { self = .null; return }
            if let b = try? c.decode(Bool.self) { self = .bool(b); return }
            if let i = try? c.decode(Int.self) { self = .int(i); return }
            if let d = try? c.decode(Double.self) { self = .double(d); return }
            if let s = try? c.decode(String.self) { self = .string(s); return }
        }
        // Containers decode their members with errors passed on, so that an error names the member's path.
        if var u = try? decoder.unkeyedContainer() {
            var a: [JSONValue] = []
            while !u.isAtEnd { a.append(try u.decode(JSONValue.self)) }
            self = .array(a); return
        }
        if let k = try? decoder.container(keyedBy: Key.self) {
            var o: [String: JSONValue] = [:]
            for key in k.allKeys { o[key.stringValue] = try k.decode(JSONValue.self, forKey: key) }
            self = .object(o); return
        }
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a number seal can read (too large for a Double)"))
    }

    /// Parses `data`; the error names the key path of a value that cannot be read.
    public static func parse(_ data: Data) throws -> JSONValue {
        do { return try JSONDecoder().decode(JSONValue.self, from: data) } catch let e as DecodingError {
            switch e {
            case .dataCorrupted(let ctx), .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .keyNotFound(_, let ctx):
                let path = ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                let detail = (ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription)
                throw JSONValueError.invalid(path: path.hasPrefix(".") ? String(path.dropFirst()) : path, detail: detail)
            @unknown default:
                throw JSONValueError.invalid(path: "", detail: "\(e)")
            }
        }
    }

    /// Plain Foundation values (NSNull, Bool, Int, Double, String, arrays, dictionaries) for JSONSerialization.
    public var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .double(let d): return d
        case .string(let s): return s
        case .array(let a): return a.map(\.foundation)
        case .object(let o): return o.mapValues(\.foundation)
        }
    }

    /// A short name of the value's kind, for error messages.
    public var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }
}

public enum JSONValueError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid(path: String, detail: String)
    public var description: String {
        switch self {
        case .invalid(let p, let d): return p.isEmpty ? "the body is not valid JSON: \(d)" : "\(p): \(d)"
        }
    }
}
