import Foundation

/// The `{"String": ...}` / `{"Regex": ...}` pattern used by the Split pre-tokenizer and the Replace
/// normalizer and decoder, working on UTF-8 bytes.
///
/// HF compiles `Regex` patterns with Oniguruma (Ruby syntax). We use ICU through
/// `NSRegularExpression`, which agrees with Oniguruma on everything these patterns use —
/// leftmost-first alternation, `(?i:...)`, `\p{L}`/`\p{N}` on every plane, `{1,3}`, lookahead, and
/// `\s` as the Unicode White_Space property (tested on Linux, including U+000B, U+0085 and
/// U+3000) — with two adjustments made here: Ruby's `^`/`$` are always line anchors, hence
/// `anchorsMatchLines` + `useUnixLineSeparators`; and Oniguruma's iterator never yields an empty
/// match right where the previous match ended, so such matches are dropped.
enum TextPattern {
    case literal([UInt8])
    case regex(NSRegularExpression)

    /// Parses `{"String": s}` or `{"Regex": r}`.
    static func parse(_ node: JSONNode) throws -> TextPattern {
        if let s = try node.optional("String") { return .literal(Array(try s.string().utf8)) }
        if let r = try node.optional("Regex") {
            let source = try r.string()
            do {
                return .regex(try NSRegularExpression(pattern: source, options: [.anchorsMatchLines, .useUnixLineSeparators]))
            } catch {
                throw r.error(.unsupported, "regular expression could not be compiled: \(source)")
            }
        }
        throw node.error(.invalidValue, "expected a pattern object with a \"String\" or \"Regex\" key")
    }

    /// All matches in `text` as UTF-8 byte ranges, non-overlapping, left to right.
    func matches(in text: ArraySlice<UInt8>) -> [Range<Int>] {
        let base = text.startIndex
        switch self {
        case .literal(let needle):
            guard !needle.isEmpty, text.count >= needle.count else { return [] }
            var out: [Range<Int>] = []
            var i = base
            let last = text.endIndex - needle.count
            let first = needle[0]
            while i <= last {
                if text[i] == first {
                    var j = 1
                    while j < needle.count, text[i + j] == needle[j] { j += 1 }
                    if j == needle.count {
                        out.append(i..<(i + needle.count))
                        i += needle.count
                        continue
                    }
                }
                i += 1
            }
            return out
        case .regex(let re):
            guard !text.isEmpty else { return [] }
            let string = String(decoding: text, as: UTF8.self)
            // UTF-16 offset -> UTF-8 offset, filled at scalar boundaries.
            var u8At = [Int32](repeating: 0, count: string.utf16.count + 1)
            var u16 = 0, u8 = 0
            for s in string.unicodeScalars {
                u8At[u16] = Int32(u8)
                u16 += s.value > 0xFFFF ? 2 : 1
                u8 += s.value < 0x80 ? 1 : s.value < 0x800 ? 2 : s.value < 0x10000 ? 3 : 4
            }
            u8At[u16] = Int32(u8)
            var out: [Range<Int>] = []
            var lastEnd = -1
            for m in re.matches(in: string, options: [], range: NSRange(location: 0, length: u16)) {
                let r = m.range
                guard r.location != NSNotFound else { continue }
                if r.length == 0, r.location == lastEnd { continue }
                let lo = base + Int(u8At[r.location])
                let hi = base + Int(u8At[r.location + r.length])
                out.append(lo..<hi)
                lastEnd = r.location + r.length
            }
            return out
        }
    }

    /// Rust `Pattern::find_matches`: the whole of `text` cut into pieces, each flagged as a match
    /// or not. An empty input yields one empty non-match, as HF does.
    func findMatches(in text: ArraySlice<UInt8>) -> [(range: Range<Int>, isMatch: Bool)] {
        if text.isEmpty { return [(text.startIndex..<text.startIndex, false)] }
        var out: [(range: Range<Int>, isMatch: Bool)] = []
        var prev = text.startIndex
        for m in matches(in: text) {
            if m.lowerBound != prev { out.append((prev..<m.lowerBound, false)) }
            out.append((m, true))
            prev = m.upperBound
        }
        if prev != text.endIndex { out.append((prev..<text.endIndex, false)) }
        return out
    }

    /// Every match replaced by `content` (used literally, never as a template).
    func replace(in text: [UInt8], with content: [UInt8]) -> [UInt8] {
        let ms = matches(in: text[...])
        if ms.isEmpty { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.count + ms.count * content.count)
        var prev = 0
        for m in ms {
            out.append(contentsOf: text[prev..<m.lowerBound])
            out.append(contentsOf: content)
            prev = m.upperBound
        }
        out.append(contentsOf: text[prev...])
        return out
    }
}
