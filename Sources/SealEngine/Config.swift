import Foundation

/// The values a configuration key accepts beyond its type: one mechanism for every key, checked when the
/// configuration is resolved (before any model is loaded or any work starts) and shown by `seal <domain> config`.
/// A float key is always finite: nan, inf and overflowing literals such as 1e400 are errors naming the key.
public enum ConfigRange: Sendable, Equatable, CustomStringConvertible {
    /// An integer in lo...hi.
    case ints(Int, Int)
    /// A finite number between lo and hi (each end open or closed; an infinite end means unbounded).
    case doubles(lo: Double, loOpen: Bool, hi: Double, hiOpen: Bool)
    /// A string (or, for a list key, each of its items) that is one of these; `allowEmptyList`: a list key may be [].
    case choices([String], allowEmptyList: Bool)

    /// Any integer.
    public static let anyInt = ConfigRange.ints(.min, .max)
    /// n or more.
    public static func atLeast(_ n: Int) -> ConfigRange { .ints(n, .max) }
    /// Any finite number.
    public static let finite = ConfigRange.doubles(lo: -.infinity, loOpen: false, hi: .infinity, hiOpen: false)
    /// A finite number > 0.
    public static let positive = ConfigRange.doubles(lo: 0, loOpen: true, hi: .infinity, hiOpen: false)
    /// A finite number ≥ 0.
    public static let nonNegative = ConfigRange.doubles(lo: 0, loOpen: false, hi: .infinity, hiOpen: false)
    /// A number in [0, 1].
    public static let unit = ConfigRange.doubles(lo: 0, loOpen: false, hi: 1, hiOpen: false)
    /// A finite number in (0, hi].
    public static func positive(atMost hi: Double) -> ConfigRange { .doubles(lo: 0, loOpen: true, hi: hi, hiOpen: false) }
    /// One of these strings.
    public static func oneOf(_ names: [String]) -> ConfigRange { .choices(names, allowEmptyList: false) }

    public var description: String {
        switch self {
        case .ints(let lo, let hi):
            if lo == .min && hi == .max { return "any integer" }
            if hi == .max { return "≥ \(lo)" }
            if lo == .min { return "≤ \(hi)" }
            return "\(lo)–\(hi)"
        case .doubles(let lo, let loOpen, let hi, let hiOpen):
            func n(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : "\(d)" }
            switch (lo.isFinite, hi.isFinite) {
            case (false, false): return "finite"
            case (true, false): return (loOpen ? "> " : "≥ ") + n(lo)
            case (false, true): return (hiOpen ? "< " : "≤ ") + n(hi)
            case (true, true): return (loOpen ? "(" : "[") + n(lo) + ", " + n(hi) + (hiOpen ? ")" : "]")
            }
        case .choices(let names, _): return names.joined(separator: ", ")
        }
    }

    /// Whether an integer is in the range.
    func contains(_ i: Int) -> Bool {
        switch self {
        case .ints(let lo, let hi): return lo <= i && i <= hi
        case .doubles: return contains(Double(i))
        case .choices: return false
        }
    }

    /// Whether a number is finite and in the range.
    func contains(_ d: Double) -> Bool {
        guard d.isFinite else { return false }
        switch self {
        case .ints(let lo, let hi): return d == d.rounded() && Double(lo) <= d && d <= Double(hi)
        case .doubles(let lo, let loOpen, let hi, let hiOpen):
            return (loOpen ? d > lo : d >= lo) && (hiOpen ? d < hi : d <= hi)
        case .choices: return false
        }
    }
}

/// One documented configuration key: its dotted name, type, default, accepted values and meaning.
public struct ConfigKey: Sendable {
    public enum Kind: String, Sendable { case int, double, string, bool, strings }
    public var name: String
    public var kind: Kind
    public var defaultValue: TOMLValue
    public var doc: String
    /// The values the key accepts beyond its type (nil: any value of the type; a float key is always finite).
    public var range: ConfigRange?

    public init(_ name: String, _ kind: Kind, _ defaultValue: TOMLValue, _ doc: String, range: ConfigRange? = nil) {
        self.name = name; self.kind = kind; self.defaultValue = defaultValue; self.doc = doc; self.range = range
    }

    /// The key with another range (for a schema defined elsewhere).
    public func ranged(_ r: ConfigRange) -> ConfigKey { var k = self; k.range = r; return k }

    /// The type as documented: "int (≥ 1)", "double ((0, 1])", "string (a, b)", "strings (a list of ...)".
    public var typeDescription: String {
        var t = kind.rawValue
        if kind == .strings { t = "strings (a list; a single string is read as a comma-separated list)" }
        guard let range else { return kind == .double ? t + " (finite)" : t }
        switch (kind, range) {
        case (.strings, .choices(let names, let empty)):
            return "strings (a list of: \(names.joined(separator: ", "))\(empty ? "; may be empty" : "; at least one"); a single string is read as a comma-separated list)"
        case (_, .choices(let names, _)): return t + " (one of: \(names.joined(separator: ", ")))"
        default: return t + " (\(range))"
        }
    }

    /// Why `v` (already of the key's type) is out of range, or nil when it is fine.
    func rangeViolation(_ v: TOMLValue) -> String? {
        switch v {
        case .double(let d):
            if !d.isFinite { return "must be a finite number, found \(d) (a literal such as 1e400 overflows to inf)" }
            if let range, !range.contains(d) { return "must be \(Self.phrase(range)), found \(d)" }
        case .int(let i):
            if let range, !range.contains(i) { return "must be \(Self.phrase(range)), found \(i)" }
        case .string(let s):
            if case .choices(let names, _)? = range, !names.contains(s) {
                return "must be one of \(names.joined(separator: ", ")), found \(JSONWriterQuote.quote(s))"
            }
        case .array(let items):
            if case .choices(let names, let allowEmpty)? = range {
                if items.isEmpty && !allowEmpty { return "must list at least one of \(names.joined(separator: ", ")), found []" }
                for case .string(let s) in items where !names.contains(s) {
                    return "lists \(JSONWriterQuote.quote(s)), which is not one of \(names.joined(separator: ", "))"
                }
            }
        default: break
        }
        return nil
    }

    static func phrase(_ r: ConfigRange) -> String {
        switch r {
        case .ints(let lo, let hi) where lo != .min && hi != .max: return "in \(lo)...\(hi)"
        case .doubles(let lo, _, let hi, _) where lo.isFinite && hi.isFinite: return "in \(r)"
        default: return r.description
        }
    }
}

/// Quoting for messages (TOML's basic-string quoting).
enum JSONWriterQuote {
    static func quote(_ s: String) -> String { TOMLValue.string(s).description }
}

public struct ConfigError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// A run's configuration after defaults, the TOML file and `--set key=value` overrides, in that order. Every key
/// must be one the schema documents: a misspelt key is an error naming it, never silently ignored. Every value is
/// checked against its key's type and range as it is read, so a resolved configuration holds only valid values
/// (and every key of its schema): the accessors below cannot fail for a key of the schema.
public struct ResolvedConfig: Sendable {
    public private(set) var values: [String: TOMLValue]
    public let schema: [ConfigKey]

    public static func resolve(schema: [ConfigKey], file: String?, overrides: [String]) throws -> ResolvedConfig {
        var values: [String: TOMLValue] = [:]
        var byName: [String: ConfigKey] = [:]
        for k in schema {
            if byName[k.name] != nil { throw ConfigError(message: "seal bug: config key '\(k.name)' is defined twice in the schema") }
            byName[k.name] = k
            values[k.name] = try coerce(k.defaultValue, to: k, from: "the default of \(k.name)")
        }
        func set(_ key: String, _ v: TOMLValue, from: String) throws {
            guard let k = byName[key] else {
                let close = schema.map(\.name).filter { $0.hasSuffix("." + (key.split(separator: ".").last.map(String.init) ?? key)) || key.hasSuffix($0) }
                throw ConfigError(message: "\(from): unknown key '\(key)'" + (close.isEmpty ? "" : " (did you mean \(close.joined(separator: ", "))?)"))
            }
            values[key] = try coerce(v, to: k, from: from)
        }
        if let file {
            let doc = try TOML.load(file)
            for (key, v) in flatten(doc).sorted(by: { $0.0 < $1.0 }) { try set(key, v, from: file) }
        }
        for o in overrides {
            guard let eq = o.firstIndex(of: "=") else { throw ConfigError(message: "--set \(o): expected key=value") }
            let key = String(o[..<eq]).trimmingCharacters(in: .whitespaces)
            let raw = String(o[o.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            try set(key, TOML.parseValue(raw), from: "--set \(key)")
        }
        return ResolvedConfig(values: values, schema: schema)
    }

    static func flatten(_ t: [String: TOMLValue], prefix: String = "") -> [(String, TOMLValue)] {
        var out: [(String, TOMLValue)] = []
        for (k, v) in t {
            let name = prefix.isEmpty ? k : prefix + "." + k
            if case .table(let sub) = v { out += flatten(sub, prefix: name) } else { out.append((name, v)) }
        }
        return out
    }

    /// The value as the key's type, checked against its range; an error naming the source and the key otherwise.
    static func coerce(_ v: TOMLValue, to k: ConfigKey, from: String) throws -> TOMLValue {
        func bad() -> ConfigError {
            let what: String
            switch k.kind {
            case .int: what = "an integer"
            case .double: what = "a number"
            case .string: what = "a string"
            case .bool: what = "true or false"
            case .strings: what = "a list of strings"
            }
            var hint = ""
            if k.kind == .int, case .double = v { hint = " (a float where an integer is meant)" }
            return ConfigError(message: "\(from): key '\(k.name)' must be \(what), found \(v)\(hint)")
        }
        let value: TOMLValue
        switch (k.kind, v) {
        case (.int, .int), (.double, .double), (.string, .string), (.bool, .bool): value = v
        case (.double, .int(let i)): value = .double(Double(i))
        case (.strings, .array(let a)):
            guard a.allSatisfy({ if case .string = $0 { return true }; return false }) else { throw bad() }
            value = v
        case (.strings, .string(let s)):
            // Documented: one string is a comma-separated list ("q_proj" = ["q_proj"]; --set k=q_proj,v_proj).
            let items = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if s.trimmingCharacters(in: .whitespaces).isEmpty {
                value = .array([])
            } else if items.contains(where: \.isEmpty) {
                throw ConfigError(message: "\(from): key '\(k.name)' must be a list of strings; the string \(v) has an empty item")
            } else {
                value = .array(items.map { .string($0) })
            }
        case (.bool, .string(let s)) where s == "true" || s == "false": value = .bool(s == "true")
        default: throw bad()
        }
        if let why = k.rangeViolation(value) { throw ConfigError(message: "\(from): key '\(k.name)' \(why)") }
        return value
    }

    /// The stored value of a schema key. Every key of the schema is present and of its kind (resolve makes it so);
    /// asking for a key the schema lacks is a bug in seal, reported as such.
    private func value(_ key: String, _ kind: String) -> TOMLValue {
        guard let v = values[key] else { preconditionFailure("seal bug: config key '\(key)' is not in the schema (\(kind) asked)") }
        return v
    }

    public func int(_ key: String) -> Int {
        if case .int(let i) = value(key, "int") { return i }
        preconditionFailure("seal bug: config key \(key) is not an int")
    }
    public func double(_ key: String) -> Double {
        switch value(key, "double") { case .double(let d): return d; case .int(let i): return Double(i); default: preconditionFailure("seal bug: config key \(key) is not a number") }
    }
    public func string(_ key: String) -> String {
        if case .string(let s) = value(key, "string") { return s }
        preconditionFailure("seal bug: config key \(key) is not a string")
    }
    public func bool(_ key: String) -> Bool {
        if case .bool(let b) = value(key, "bool") { return b }
        preconditionFailure("seal bug: config key \(key) is not a bool")
    }
    /// A string key as the enum of its values; an error naming the key when the string is none of them.
    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, as: T.Type = T.self) throws -> T where T.RawValue == String {
        let s = string(key)
        guard let v = T(rawValue: s) else {
            throw ConfigError(message: "\(key) must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(s)')")
        }
        return v
    }
    public func strings(_ key: String) -> [String] {
        if case .array(let a) = value(key, "strings") { return a.compactMap { if case .string(let s) = $0 { return s }; return nil } }
        preconditionFailure("seal bug: config key \(key) is not a list")
    }

    /// The resolved configuration as canonical JSON (sorted keys): stored in the HDF5 file and compared on resume.
    public var json: String {
        get throws {
            let obj = values.mapValues(\.jsonObject)
            guard JSONSerialization.isValidJSONObject(obj) else { throw ConfigError(message: "the configuration has a value JSON cannot hold (a non-finite number)") }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// Keys that say how a run executes, not what it computes: a resumed run may change them (a requeued Slurm job
    /// can land on nodes with another core count).
    public static let executionKeys: Set<String> = ["run.threads"]

    /// Whether `stored` (a run file's `config` attribute) is this configuration, execution keys aside.
    public func sameRun(asStored stored: String) -> Bool {
        guard let mine = try? json else { return false }
        guard let a = try? JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any],
              let b = try? JSONSerialization.jsonObject(with: Data(mine.utf8)) as? [String: Any] else { return stored == mine }
        // Both sides as Foundation objects (nested lists bridged alike), compared by value.
        let strip = { (d: [String: Any]) -> NSDictionary in d.filter { !Self.executionKeys.contains($0.key) } as NSDictionary }
        guard let other = strip(b) as? [AnyHashable: Any] else { return false }
        return strip(a).isEqual(to: other)
    }

    /// Markdown documentation of the schema (for `seal <domain> config` and jobs/README.md): each key's type with
    /// the values it accepts, its default and its meaning.
    public static func documentation(_ schema: [ConfigKey]) -> String {
        var s = "| key | type | default | meaning |\n|---|---|---|---|\n"
        for k in schema { s += "| `\(k.name)` | \(k.typeDescription) | `\(k.defaultValue)` | \(k.doc) |\n" }
        return s
    }
}
