import Foundation

/// The `normalizer` of a tokenizer.json: a text → text rewrite applied to each piece of input
/// left between added tokens (see `AddedVocabulary` for why the added tokens come first).
indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    /// Prepends the string to a non-empty piece (SentencePiece's word-start marker `▁`).
    case prepend([UInt8])
    case replace(TextPattern, [UInt8])
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    static let supported = "NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence"

    static func parse(_ node: JSONNode) throws -> Normalizer {
        let type = try node.type()
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Prepend": return .prepend(Array(try node.required("prepend").string().utf8))
        case "Replace":
            return .replace(try TextPattern.parse(try node.required("pattern")),
                            Array(try node.required("content").string().utf8))
        case "Strip":
            return .strip(left: try node.optionalBool("strip_left", default: true),
                          right: try node.optionalBool("strip_right", default: true))
        case "Sequence":
            return .sequence(try node.required("normalizers").array().map(Normalizer.parse))
        default:
            throw node.error(.unsupported, "unsupported normalizer type '\(type)' (supported: \(supported))")
        }
    }

    func normalize(_ text: [UInt8]) -> [UInt8] {
        switch self {
        case .nfc, .nfd, .nfkc, .nfkd:
            // Every Unicode normal form leaves ASCII unchanged; skip the round trip through String.
            if text.allSatisfy({ $0 < 0x80 }) { return text }
            let s = String(decoding: text, as: UTF8.self)
            let n: String
            switch self {
            case .nfc: n = s.precomposedStringWithCanonicalMapping
            case .nfd: n = s.decomposedStringWithCanonicalMapping
            case .nfkc: n = s.precomposedStringWithCompatibilityMapping
            default: n = s.decomposedStringWithCompatibilityMapping
            }
            return Array(n.utf8)
        case .lowercase:
            // Per-character full lowercase mapping, as Rust's `char::to_lowercase` (no final-sigma rule).
            var out: [UInt8] = []
            out.reserveCapacity(text.count)
            for s in String(decoding: text, as: UTF8.self).unicodeScalars {
                if s.value < 0x80 {
                    let b = UInt8(s.value)
                    out.append(b >= 0x41 && b <= 0x5A ? b + 0x20 : b)
                } else {
                    out.append(contentsOf: s.properties.lowercaseMapping.utf8)
                }
            }
            return out
        case .prepend(let p):
            return text.isEmpty ? text : p + text
        case .replace(let pattern, let content):
            return pattern.replace(in: text, with: content)
        case .strip(let left, let right):
            let scalars = Array(String(decoding: text, as: UTF8.self).unicodeScalars)
            var lo = 0, hi = scalars.count
            if left { while lo < hi, scalars[lo].properties.isWhitespace { lo += 1 } }
            if right { while hi > lo, scalars[hi - 1].properties.isWhitespace { hi -= 1 } }
            if lo == 0, hi == scalars.count { return text }
            var s = String.UnicodeScalarView()
            s.append(contentsOf: scalars[lo..<hi])
            return Array(String(s).utf8)
        case .sequence(let ns):
            var t = text
            for n in ns { t = n.normalize(t) }
            return t
        }
    }
}
