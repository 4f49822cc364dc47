import Foundation
import SealCore

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
        guard case .object(let o) = value else { throw error(.invalidValue, "expected an object, found \(value.kind)") }
        return o
    }

    /// The members of an object as nodes, in file order.
    func members() throws -> [(key: String, node: JSONNode)] {
        let o = try object()
        return (0..<o.count).map { (o.keys[$0], child(o.values[$0], key: o.keys[$0])) }
    }

    func array() throws -> [JSONNode] {
        guard case .array(let a) = value else { throw error(.invalidValue, "expected a list, found \(value.kind)") }
        return a.enumerated().map { JSONNode(value: $0.element, parent: self, .index($0.offset)) }
    }

    func string() throws -> String {
        guard case .string(let s) = value else { throw error(.invalidValue, "expected a string, found \(value.kind)") }
        return s
    }

    func bool() throws -> Bool {
        guard case .bool(let b) = value else { throw error(.invalidValue, "expected a boolean, found \(value.kind)") }
        return b
    }

    func double() throws -> Double {
        guard let d = value.doubleValue else { throw error(.invalidValue, "expected a number, found \(value.kind)") }
        return d
    }

    /// A non-negative integer that fits a token id (HF stores ids as `u32`); `5.0` counts as 5, as serde reads it.
    func uint32() throws -> Int {
        if case .int(let i) = value {
            guard i >= 0, i <= Int(UInt32.max) else { throw error(.invalidValue, "expected a non-negative integer id, found \(i)") }
            return i
        }
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

extension JSONNode {
    /// Parses a whole file (strict JSON: SealCore's parser with no leniencies), a syntax error as `malformedJSON`
    /// with its byte offset, line and column.
    static func parse(_ data: Data, source: String, path: String = "") throws -> JSONNode {
        do {
            return JSONNode(value: try JSONParser.parse(data), path: path, source: source)
        } catch let e as JSONSyntaxError {
            throw TokenizerError(.malformedJSON, file: source, key: "",
                                 "malformed JSON at byte \(e.offset) (line \(e.line), column \(e.column)): \(e.reason)")
        }
    }
}
