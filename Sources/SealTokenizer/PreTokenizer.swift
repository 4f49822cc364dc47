import Foundation

/// The `pre_tokenizer` of a tokenizer.json: cuts a normalized piece into the words that BPE
/// merges independently (merges never cross a pre-token boundary), and for byte-level
/// tokenizers rewrites each word into the byte alphabet of `ByteLevel`.
indirect enum PreTokenizer {
    enum Behavior: String {
        case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
        case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
    }

    case split(TextPattern, Behavior, invert: Bool)
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case sequence([PreTokenizer])

    static let supported = "Split, ByteLevel, Sequence"

    /// GPT-2's own split pattern, which the ByteLevel pre-tokenizer applies when `use_regex` is true.
    static let gpt2Pattern = TextPattern.regex(try! NSRegularExpression(
        pattern: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
        options: [.anchorsMatchLines, .useUnixLineSeparators]))

    static func parse(_ node: JSONNode) throws -> PreTokenizer {
        let type = try node.type()
        switch type {
        case "Split":
            let b = try node.required("behavior")
            guard let behavior = Behavior(rawValue: try b.string()) else {
                throw b.error(.unsupported, "unsupported split behavior '\(try b.string())'")
            }
            return .split(try TextPattern.parse(try node.required("pattern")), behavior,
                          invert: try node.optionalBool("invert", default: false))
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try node.optionalBool("add_prefix_space", default: true),
                              useRegex: try node.optionalBool("use_regex", default: true))
        case "Sequence":
            return .sequence(try node.required("pretokenizers").array().map(PreTokenizer.parse))
        default:
            throw node.error(.unsupported, "unsupported pre-tokenizer type '\(type)' (supported: \(supported))")
        }
    }

    /// Applies this pre-tokenizer to every split; empty results are dropped, as HF does.
    func apply(_ splits: [[UInt8]]) -> [[UInt8]] {
        switch self {
        case .sequence(let ps):
            var s = splits
            for p in ps { s = p.apply(s) }
            return s
        case .split(let pattern, let behavior, let invert):
            var out: [[UInt8]] = []
            out.reserveCapacity(splits.count * 4)
            for s in splits {
                for r in PreTokenizer.split(s[...], pattern: pattern, behavior: behavior, invert: invert) where !r.isEmpty {
                    out.append(Array(s[r]))
                }
            }
            return out
        case .byteLevel(let addPrefixSpace, let useRegex):
            var out: [[UInt8]] = []
            out.reserveCapacity(splits.count)
            for var s in splits {
                if addPrefixSpace, s.first != 0x20 { s.insert(0x20, at: 0) }
                if useRegex {
                    for r in PreTokenizer.split(s[...], pattern: PreTokenizer.gpt2Pattern, behavior: .isolated, invert: false)
                    where !r.isEmpty {
                        out.append(PreTokenizer.byteMapped(s[r]))
                    }
                } else if !s.isEmpty {
                    out.append(PreTokenizer.byteMapped(s[...]))
                }
            }
            return out
        }
    }

    static func byteMapped(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var m: [UInt8] = []
        m.reserveCapacity(s.count * 2)
        ByteLevel.map(s, into: &m)
        return m
    }

    /// `NormalizedString::split`: cuts by the pattern's matches, then groups them by `behavior`.
    static func split(_ text: ArraySlice<UInt8>, pattern: TextPattern, behavior: Behavior, invert: Bool) -> [Range<Int>] {
        var matches = pattern.findMatches(in: text)
        if invert { matches = matches.map { ($0.range, !$0.isMatch) } }
        switch behavior {
        case .isolated:
            return matches.map { $0.range }
        case .removed:
            return matches.filter { !$0.isMatch }.map { $0.range }
        case .contiguous:
            var acc: [Range<Int>] = []
            var previous = false
            for (r, isMatch) in matches {
                if isMatch == previous, let last = acc.last {
                    acc[acc.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    acc.append(r)
                }
                previous = isMatch
            }
            return acc
        case .mergedWithPrevious:
            var acc: [Range<Int>] = []
            var previous = false
            for (r, isMatch) in matches {
                if isMatch, !previous, let last = acc.last {
                    acc[acc.count - 1] = last.lowerBound..<r.upperBound
                } else {
                    acc.append(r)
                }
                previous = isMatch
            }
            return acc
        case .mergedWithNext:
            var acc: [Range<Int>] = []
            var previous = false
            for (r, isMatch) in matches.reversed() {
                if isMatch, !previous, let last = acc.last {
                    acc[acc.count - 1] = r.lowerBound..<last.upperBound
                } else {
                    acc.append(r)
                }
                previous = isMatch
            }
            return acc.reversed()
        }
    }
}
