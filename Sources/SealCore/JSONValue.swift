/// A parsed JSON value, as it was written: booleans are not numbers, an integer that fits an Int is kept exact and
/// apart from other numbers (so `2`, `2.0` and `true` stay three kinds: a self-edit that writes
/// `"num_train_epochs": 2.5` or `"2"` is a wrong type, not a value to coerce), and an object keeps every key, in
/// file order.
///
/// seal parses JSON itself (`JSONParser`) rather than with `JSONSerialization` or `Codable` because those lose
/// exactly this: NSNumber makes `true` look like 1 and 1e19 trap when made an Int, dictionaries forget the order
/// (Kaggle files list tasks in an order worth keeping) and merge keys that Swift's `String` equality finds
/// canonically equivalent (a vocabulary holding both `"é"` and `"e\u{301}"` as distinct tokens would silently lose
/// one), and errors do not say where the text is wrong.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// An integer literal (no fraction, no exponent) that fits an Int, exactly.
    case int(Int)
    /// Any other number: with a fraction or an exponent, or an integer beyond Int; the nearest Double
    /// (±infinity where even that overflows: `1e999`; callers that need a finite number check).
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The value of a key of an object (the last one when a key repeats, as JSON.parse, json.loads and serde do);
    /// nil when the key is absent or this is not an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let o) = self else { return nil }
        return o[key]
    }

    /// An integer literal that fits an Int (`2`, not `2.0`).
    public var intValue: Int? {
        guard case .int(let i) = self else { return nil }
        return i
    }

    /// Any number, as a Double.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// A short name of the value's kind, for messages ("a number", "a list", ...).
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    /// The kind with the value where it is short, for messages ("a string \"yes\"", "a number 2.5", "true").
    public var typeDescription: String {
        switch self {
        case .object: return "an object"
        case .array: return "a list"
        case .string(let s): return "a string \"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
        case .int(let i): return "a number \(i)"
        case .double(let d): return "a number \(d)"
        case .bool(let b): return "\(b)"
        case .null: return "null"
        }
    }
}

/// A JSON object with its keys in file order, duplicates kept; lookups by key take the last, and compare keys by
/// their UTF-8 bytes (not by Swift's canonical equivalence).
public struct JSONObject: Sendable, Equatable, RandomAccessCollection {
    public var keys: [String]
    public var values: [JSONValue]

    public init() { keys = []; values = [] }

    public init(_ members: [(String, JSONValue)]) {
        keys = members.map(\.0)
        values = members.map(\.1)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { keys.count }
    public subscript(position: Int) -> (key: String, value: JSONValue) { (keys[position], values[position]) }

    public subscript(key: String) -> JSONValue? {
        var i = keys.count - 1
        while i >= 0 {
            if keys[i].utf8.elementsEqual(key.utf8) { return values[i] }
            i -= 1
        }
        return nil
    }

    public mutating func append(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
    }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.values == b.values && a.keys.count == b.keys.count && zip(a.keys, b.keys).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
    }
}

/// Where and why a text is not JSON.
public struct JSONSyntaxError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Bytes before the error.
    public var offset: Int
    /// 1-based; columns count Unicode scalars, not bytes.
    public var line: Int
    public var column: Int
    public var reason: String

    public init(offset: Int, line: Int, column: Int, reason: String) {
        self.offset = offset
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String { "line \(line) column \(column): \(reason)" }
}
