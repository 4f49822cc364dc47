import Foundation
import SealCore

/// Everything that can be wrong with a model directory or a model input. Each case names the file and the
/// problem, so a researcher reading a Slurm log knows what to fix without a debugger.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case fileMissing(path: String)
    case unreadable(path: String, reason: String)
    case invalidJSON(path: String, reason: String)
    case missingKey(path: String, key: String)
    case badValue(path: String, key: String, reason: String)
    case unsupported(path: String, reason: String)
    case safetensors(path: String, reason: String)
    /// A GGUF file that is not what its header claims (truncated, counts past the end, an unknown tensor type, …).
    case gguf(path: String, reason: String)
    case missingTensor(path: String, name: String)
    case tensorShape(path: String, name: String, expected: [Int], found: [Int])
    case unexpectedTensor(path: String, name: String, reason: String)
    case invalidInput(String)

    public var description: String {
        switch self {
        case .fileMissing(let p): return "\(p): file not found"
        case .unreadable(let p, let r): return "\(p): cannot read: \(r)"
        case .invalidJSON(let p, let r): return "\(p): invalid JSON: \(r)"
        case .missingKey(let p, let k): return "\(p): missing required key '\(k)'"
        case .badValue(let p, let k, let r): return "\(p): key '\(k)': \(r)"
        case .unsupported(let p, let r): return "\(p): unsupported: \(r)"
        case .safetensors(let p, let r): return "\(p): invalid safetensors file: \(r)"
        case .gguf(let p, let r): return "\(p): invalid GGUF file: \(r)"
        case .missingTensor(let p, let n): return "\(p): tensor '\(n)' is missing"
        case .tensorShape(let p, let n, let e, let f):
            return "\(p): tensor '\(n)' has shape \(f), the config implies \(e)"
        case .unexpectedTensor(let p, let n, let r): return "\(p): unexpected tensor '\(n)': \(r)"
        case .invalidInput(let r): return r
        }
    }
}

/// Typed access to a parsed JSON object that reports the file and key on every failure.
struct JSONObject {
    let dict: [String: Any]
    let path: String

    init(data: Data, path: String) throws {
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            // Python's json writes NaN and Infinity, which JSON has no word for: name the key that holds one.
            let text = String(decoding: data.prefix(1 << 20), as: UTF8.self)
            if let m = text.range(of: #""[^"\n]{1,200}"\s*:\s*(-?Infinity|NaN)\b"#, options: .regularExpression) {
                let entry = String(text[m])
                if let q = entry.dropFirst().firstIndex(of: "\"") {
                    let key = String(entry[entry.index(after: entry.startIndex)..<q])
                    let value = entry.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                    throw ModelError.badValue(path: path, key: key, reason: "\(value) is not a JSON number (a finite number is needed)")
                }
            }
            throw ModelError.invalidJSON(path: path, reason: (error as NSError).localizedDescription)
        }
        guard let d = any as? [String: Any] else {
            throw ModelError.invalidJSON(path: path, reason: "the top level is not an object")
        }
        self.dict = d
        self.path = path
    }

    init(dict: [String: Any], path: String) { self.dict = dict; self.path = path }

    static func load(_ url: URL) throws -> JSONObject {
        guard FileManager.default.fileExists(atPath: url.path) else { throw ModelError.fileMissing(path: url.path) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.unreadable(path: url.path, reason: (error as NSError).localizedDescription)
        }
        return try JSONObject(data: data, path: url.path)
    }

    func has(_ key: String) -> Bool { dict[key] != nil && !(dict[key] is NSNull) }

    func int(_ key: String) throws -> Int {
        guard has(key) else { throw ModelError.missingKey(path: path, key: key) }
        return try intValue(dict[key]!, key: key)
    }

    func int(_ key: String, default d: Int) throws -> Int { has(key) ? try int(key) : d }

    func intValue(_ v: Any, key: String) throws -> Int {
        if let n = v as? NSNumber, !isJSONBool(v) {
            let d = n.doubleValue
            guard d.rounded() == d, abs(d) < 1e15 else {
                throw ModelError.badValue(path: path, key: key, reason: "expected an integer, found \(n)")
            }
            return Int(d)
        }
        throw ModelError.badValue(path: path, key: key, reason: "expected an integer, found \(type(of: v))")
    }

    func double(_ key: String) throws -> Double {
        guard has(key) else { throw ModelError.missingKey(path: path, key: key) }
        guard let n = dict[key] as? NSNumber, !isJSONBool(dict[key]!) else {
            throw ModelError.badValue(path: path, key: key, reason: "expected a number")
        }
        return n.doubleValue
    }

    func double(_ key: String, default d: Double) throws -> Double { has(key) ? try double(key) : d }

    func bool(_ key: String, default d: Bool) throws -> Bool {
        guard has(key) else { return d }
        if isJSONBool(dict[key]!), let n = dict[key] as? NSNumber { return n.boolValue }
        throw ModelError.badValue(path: path, key: key, reason: "expected true or false")
    }

    func string(_ key: String) throws -> String {
        guard has(key) else { throw ModelError.missingKey(path: path, key: key) }
        guard let s = dict[key] as? String else {
            throw ModelError.badValue(path: path, key: key, reason: "expected a string")
        }
        return s
    }

    func object(_ key: String) throws -> JSONObject? {
        guard has(key) else { return nil }
        guard let d = dict[key] as? [String: Any] else {
            throw ModelError.badValue(path: path, key: key, reason: "expected an object")
        }
        return JSONObject(dict: d, path: path)
    }

    /// An integer or a list of integers (eos_token_id takes both forms).
    func intList(_ key: String) throws -> [Int] {
        guard has(key) else { return [] }
        if let a = dict[key] as? [Any] { return try a.map { try intValue($0, key: key) } }
        return [try int(key)]
    }
}
