import Foundation

/// One documented configuration key: its dotted name, type, default and meaning.
public struct ConfigKey: Sendable {
    public enum Kind: String, Sendable { case int, double, string, bool, strings }
    public var name: String
    public var kind: Kind
    public var defaultValue: TOMLValue
    public var doc: String

    public init(_ name: String, _ kind: Kind, _ defaultValue: TOMLValue, _ doc: String) {
        self.name = name; self.kind = kind; self.defaultValue = defaultValue; self.doc = doc
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A run's configuration after defaults, the TOML file and `--set key=value` overrides, in that order. Every key
/// must be one the schema documents: a misspelt key is an error naming it, never silently ignored.
public struct ResolvedConfig: Sendable {
    public private(set) var values: [String: TOMLValue]
    public let schema: [ConfigKey]

    public static func resolve(schema: [ConfigKey], file: String?, overrides: [String]) throws -> ResolvedConfig {
        var values: [String: TOMLValue] = [:]
        for k in schema { values[k.name] = k.defaultValue }
        let byName = Dictionary(uniqueKeysWithValues: schema.map { ($0.name, $0) })
        func set(_ key: String, _ v: TOMLValue, from: String) throws {
            guard let k = byName[key] else {
                let close = schema.map(\.name).filter { $0.hasSuffix("." + (key.split(separator: ".").last.map(String.init) ?? key)) || key.hasSuffix($0) }
                throw ConfigError(message: "\(from): unknown key '\(key)'" + (close.isEmpty ? "" : " (did you mean \(close.joined(separator: ", "))?)"))
            }
            values[key] = try coerce(v, to: k, from: from)
        }
        if let file {
            let doc = try TOML.load(file)
            for (key, v) in flatten(doc) { try set(key, v, from: file) }
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

    static func coerce(_ v: TOMLValue, to k: ConfigKey, from: String) throws -> TOMLValue {
        func bad() -> ConfigError { ConfigError(message: "\(from): key '\(k.name)' must be \(k.kind.rawValue == "strings" ? "a list of strings" : "a " + k.kind.rawValue), found \(v)") }
        switch (k.kind, v) {
        case (.int, .int), (.double, .double), (.string, .string), (.bool, .bool): return v
        case (.double, .int(let i)): return .double(Double(i))
        case (.strings, .array(let a)):
            guard a.allSatisfy({ if case .string = $0 { return true }; return false }) else { throw bad() }
            return v
        case (.strings, .string(let s)):
            return .array(s.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
        case (.bool, .string(let s)) where s == "true" || s == "false": return .bool(s == "true")
        default: throw bad()
        }
    }

    public func int(_ key: String) -> Int { if case .int(let i) = values[key]! { return i }; fatalError("config key \(key) is not an int") }
    public func double(_ key: String) -> Double {
        switch values[key]! { case .double(let d): return d; case .int(let i): return Double(i); default: fatalError("config key \(key) is not a number") }
    }
    public func string(_ key: String) -> String { if case .string(let s) = values[key]! { return s }; fatalError("config key \(key) is not a string") }
    public func bool(_ key: String) -> Bool { if case .bool(let b) = values[key]! { return b }; fatalError("config key \(key) is not a bool") }
    public func strings(_ key: String) -> [String] {
        if case .array(let a) = values[key]! { return a.compactMap { if case .string(let s) = $0 { return s }; return nil } }
        fatalError("config key \(key) is not a list")
    }

    /// The resolved configuration as canonical JSON (sorted keys): stored in the HDF5 file and compared on resume.
    public var json: String {
        let obj = values.mapValues(\.jsonObject)
        let data = try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Keys that say how a run executes, not what it computes: a resumed run may change them (a requeued Slurm job
    /// can land on nodes with another core count).
    public static let executionKeys: Set<String> = ["run.threads"]

    /// Whether `stored` (a run file's `config` attribute) is this configuration, execution keys aside.
    public func sameRun(asStored stored: String) -> Bool {
        guard let a = try? JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any],
              let b = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return stored == json }
        let strip = { (d: [String: Any]) in d.filter { !Self.executionKeys.contains($0.key) } as NSDictionary }
        return strip(a).isEqual(to: strip(b) as! [AnyHashable: Any])
    }

    /// Markdown documentation of the schema (for `seal <domain> config --doc` and jobs/README.md).
    public static func documentation(_ schema: [ConfigKey]) -> String {
        var s = "| key | type | default | meaning |\n|---|---|---|---|\n"
        for k in schema { s += "| `\(k.name)` | \(k.kind.rawValue) | `\(k.defaultValue)` | \(k.doc) |\n" }
        return s
    }
}
