import Foundation

/// Serialises JSON values the way Python's `json` does for the values seal writes: floats keep their decimal point
/// (`32.0`, not `32`), so a config that says `"factor": 32.0` is written back as a float. JSONSerialization drops
/// the `.0`, and transformers then warns that rope-scaling factors "must be a float".
public enum JSONWriter {
    public static func serialize(_ value: Any, pretty: Bool = true) -> String {
        var out = ""
        write(value, into: &out, indent: pretty ? 0 : nil)
        return out
    }

    static func write(_ v: Any, into out: inout String, indent: Int?) {
        let nl = indent.map { "\n" + String(repeating: "  ", count: $0 + 1) } ?? ""
        let close = indent.map { "\n" + String(repeating: "  ", count: $0) } ?? ""
        let inner = indent.map { $0 + 1 }
        switch v {
        case is NSNull: out += "null"
        case let s as String: out += quote(s)
        case let n as NSNumber:
            if isJSONBool(n) { out += n.boolValue ? "true" : "false"; break }
            let t = String(cString: n.objCType)
            if t == "d" || t == "f" {
                let d = n.doubleValue
                if d.isFinite && d == d.rounded() && abs(d) < 1e16 { out += String(format: "%.1f", d) } else { out += "\(d)" }
            } else {
                out += "\(n.int64Value)"
            }
        case let b as Bool: out += b ? "true" : "false"
        case let i as Int: out += "\(i)"
        case let d as Double: write(NSNumber(value: d), into: &out, indent: indent)
        case let a as [Any]:
            if a.isEmpty { out += "[]"; break }
            out += "["
            for (i, x) in a.enumerated() { out += (i > 0 ? "," : "") + nl; write(x, into: &out, indent: inner) }
            out += close + "]"
        case let d as [String: Any]:
            if d.isEmpty { out += "{}"; break }
            out += "{"
            for (i, k) in d.keys.sorted().enumerated() {
                out += (i > 0 ? "," : "") + nl + quote(k) + (indent == nil ? ":" : ": ")
                write(d[k]!, into: &out, indent: inner)
            }
            out += close + "}"
        default: out += quote("\(v)")
        }
    }

    public static func quote(_ s: String) -> String {
        var r = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": r += "\\\""
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            case "\r": r += "\\r"
            case "\t": r += "\\t"
            default:
                if u.value < 0x20 { r += String(format: "\\u%04x", u.value) } else { r.unicodeScalars.append(u) }
            }
        }
        return r + "\""
    }
}

/// JSONSerialization gives booleans as NSNumber too (on Linux `1 is Bool` is true): tell them apart by class.
public func isJSONBool(_ v: Any) -> Bool {
    if let n = v as? NSNumber { return type(of: n) == type(of: NSNumber(value: true)) }
    return v is Bool
}
