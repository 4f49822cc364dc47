/// One entry of `added_tokens` in a tokenizer.json.
struct AddedToken: Equatable {
    let content: String
    let singleWord: Bool
    let lstrip: Bool
    let rstrip: Bool
    let normalized: Bool
    let special: Bool

    init(_ node: JSONNode) throws {
        content = try node.required("content").string()
        singleWord = try node.optionalBool("single_word", default: false)
        lstrip = try node.optionalBool("lstrip", default: false)
        rstrip = try node.optionalBool("rstrip", default: false)
        special = try node.optionalBool("special", default: false)
        normalized = try node.optionalBool("normalized", default: !special)
    }
}

/// The added tokens (chat markers, `<|begin_of_text|>`, ...) and the matching that splits them off
/// the input before anything else runs.
///
/// Why before normalisation and pre-tokenisation: a special token must come out as its single id
/// however the surrounding text is normalised or split. Run through the pre-tokenizer,
/// `<|im_start|>` would be cut into `<`, `|`, `im`, ... and merged like ordinary text. So, exactly
/// as HF's `AddedVocabulary::extract_and_normalize`, tokens with `normalized: false` are found
/// in the raw text first; the normalizer then runs on each remaining piece separately, and tokens
/// with `normalized: true` are found in that normalised text, matched against their *normalised*
/// content. (For TinyStories, whose normalizer prepends and substitutes `▁`, the pattern of
/// `<|start_story|>` is therefore `▁<|start_story|>`: it matches at the start of the input or
/// after a space, and is not recognised glued to a preceding word — as in HF.)
/// Matching is leftmost-longest, like HF's Aho-Corasick automaton.
final class AddedVocabulary: @unchecked Sendable {
    enum Segment {
        case text([UInt8])
        case token(Int)
    }

    /// content -> id, and id -> content (HF's `added_tokens_map` / `added_tokens_map_r`).
    private var contentBytesToID = ByteStringTable(capacity: 16)
    private(set) var idToContent: [Int: String] = [:]
    /// Contents of the special tokens (skipped by `decode(skipSpecialTokens: true)`).
    private var specialContents = Set<[UInt8]>()
    private(set) var specialIDs = Set<Int>()
    private let rawMatcher: TokenMatcher
    private let normalizedMatcher: TokenMatcher
    private let normalizer: Normalizer?

    /// Registers the tokens one by one, assigning ids the way HF's deserialiser does: a content
    /// already in the model vocabulary keeps that id; a new one gets the next free id after the
    /// vocabulary. The ids written in the file are only checked by HF (with a warning), so for
    /// a consistent file both agree.
    init(tokens: [AddedToken], model: BPEModel, normalizer: Normalizer?) {
        self.normalizer = normalizer
        var specialList: [AddedToken] = []
        var specialSet = Set<[UInt8]>()
        var plainList: [AddedToken] = []
        var byID: [Int: AddedToken] = [:]
        var map: [[UInt8]: Int] = [:]
        for t in tokens {
            let bytes = Array(t.content.utf8)
            if t.special, !bytes.isEmpty, !specialSet.contains(bytes) {
                specialList.append(t)
                specialSet.insert(bytes)
            }
            if bytes.isEmpty || byID.values.contains(t) { continue }
            let id: Int
            if let existing = map[bytes] {
                id = existing
            } else if let v = model.vocab.get(bytes) {
                id = Int(v)
            } else if let maxID = map.values.max() {
                id = (maxID >= model.vocabCount || model.vocabCount == 0) ? maxID + 1 : model.vocabCount
            } else {
                id = model.vocabCount
            }
            map[bytes] = id
            byID[id] = t
            if !specialSet.contains(bytes) { plainList.append(t) }
        }
        for (bytes, id) in map {
            contentBytesToID.insert(bytes, Int32(id))
        }
        for (id, t) in byID {
            idToContent[id] = t.content
            if specialSet.contains(Array(t.content.utf8)) { specialIDs.insert(id) }
        }
        specialContents = specialSet

        var raw: [(pattern: [UInt8], token: AddedToken, id: Int)] = []
        var normalized: [(pattern: [UInt8], token: AddedToken, id: Int)] = []
        for t in specialList + plainList {
            let bytes = Array(t.content.utf8)
            guard let id = map[bytes] else { continue }
            if t.normalized {
                let pattern = normalizer?.normalize(bytes) ?? bytes
                if !pattern.isEmpty { normalized.append((pattern, t, id)) }
            } else {
                raw.append((bytes, t, id))
            }
        }
        rawMatcher = TokenMatcher(raw)
        normalizedMatcher = TokenMatcher(normalized)
    }

    func tokenID(_ content: String) -> Int? { contentBytesToID.get(Array(content.utf8)).map(Int.init) }

    func isSpecial(content: String) -> Bool { specialContents.contains(Array(content.utf8)) }

    /// Splits `text` into added tokens and normalised text pieces (HF's `extract_and_normalize`).
    func extractAndNormalize(_ text: [UInt8]) -> [Segment] {
        var out: [Segment] = []
        for s in rawMatcher.split(text) {
            guard case .text(let piece) = s else { out.append(s); continue }
            let n = normalizer?.normalize(piece) ?? piece
            if normalizedMatcher.isEmpty {
                if !n.isEmpty { out.append(.text(n)) }
            } else {
                out.append(contentsOf: normalizedMatcher.split(n))
            }
        }
        return out
    }
}

/// Leftmost-longest matching of a set of byte patterns, with HF's single_word / lstrip / rstrip
/// handling of each match.
struct TokenMatcher {
    private struct Node {
        var children: [UInt8: Int32] = [:]
        var terminal: Int32 = -1
    }

    private var nodes = [Node()]
    private var entries: [(token: AddedToken, id: Int)] = []
    private var startsMatch = [Bool](repeating: false, count: 256)

    var isEmpty: Bool { entries.isEmpty }

    init(_ patterns: [(pattern: [UInt8], token: AddedToken, id: Int)]) {
        for p in patterns {
            var n = 0
            for b in p.pattern {
                if let c = nodes[n].children[b] {
                    n = Int(c)
                } else {
                    nodes.append(Node())
                    nodes[n].children[b] = Int32(nodes.count - 1)
                    n = nodes.count - 1
                }
            }
            // Of identical patterns the first wins, as in Aho-Corasick.
            if nodes[n].terminal < 0 {
                nodes[n].terminal = Int32(entries.count)
                entries.append((p.token, p.id))
            }
            startsMatch[Int(p.pattern[0])] = true
        }
    }

    /// Non-overlapping leftmost-longest matches: (start, end, entry index).
    private func findAll(_ text: [UInt8]) -> [(Int, Int, Int)] {
        var out: [(Int, Int, Int)] = []
        var pos = 0
        let n = text.count
        while pos < n {
            if !startsMatch[Int(text[pos])] { pos += 1; continue }
            var node = 0
            var best: (end: Int, entry: Int)? = nil
            var i = pos
            while i < n, let c = nodes[node].children[text[i]] {
                node = Int(c)
                i += 1
                if nodes[node].terminal >= 0 { best = (i, Int(nodes[node].terminal)) }
            }
            if let best {
                out.append((pos, best.end, best.entry))
                pos = best.end
            } else {
                pos += 1
            }
        }
        return out
    }

    /// HF's `AddedVocabulary::find_matches` + split: the text cut into tokens and (non-empty)
    /// text pieces.
    func split(_ text: [UInt8]) -> [AddedVocabulary.Segment] {
        if entries.isEmpty || text.isEmpty { return text.isEmpty ? [] : [.text(text)] }
        var out: [AddedVocabulary.Segment] = []
        var startOffset = 0
        let n = text.count
        for (matchStart, matchEnd, entry) in findAll(text) {
            var start = matchStart, stop = matchEnd
            let (token, id) = entries[entry]
            if token.singleWord {
                let startSpace = start == 0 || !TokenMatcher.endsWithWordChar(text[..<start])
                let stopSpace = stop == n || !TokenMatcher.startsWithWordChar(text[stop...])
                if !startSpace || !stopSpace { continue }
            }
            if token.lstrip {
                start = max(startOffset, TokenMatcher.trimEndIndex(text, upTo: start))
            }
            if token.rstrip {
                stop = TokenMatcher.trimStartIndex(text, from: stop)
            }
            if start < startOffset { continue }
            if start > startOffset { out.append(.text(Array(text[startOffset..<start]))) }
            out.append(.token(id))
            startOffset = stop
        }
        if startOffset < n { out.append(.text(Array(text[startOffset...]))) }
        return out
    }

    // MARK: Character classes (Rust's `char::is_whitespace` and regex `\w`).

    private static func scalars(_ bytes: ArraySlice<UInt8>) -> String.UnicodeScalarView {
        String(decoding: bytes, as: UTF8.self).unicodeScalars
    }

    static func isWordChar(_ s: Unicode.Scalar) -> Bool {
        let p = s.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    static func endsWithWordChar(_ b: ArraySlice<UInt8>) -> Bool { scalars(b).last.map(isWordChar) ?? false }
    static func startsWithWordChar(_ b: ArraySlice<UInt8>) -> Bool { scalars(b).first.map(isWordChar) ?? false }

    /// Byte index after the last non-whitespace character of `text[..<end]`.
    static func trimEndIndex(_ text: [UInt8], upTo end: Int) -> Int {
        var i = end
        for s in scalars(text[..<end]).reversed() {
            guard s.properties.isWhitespace else { break }
            i -= String(s).utf8.count
        }
        return i
    }

    /// Byte index of the first non-whitespace character of `text[from...]`.
    static func trimStartIndex(_ text: [UInt8], from start: Int) -> Int {
        var i = start
        for s in scalars(text[start...]) {
            guard s.properties.isWhitespace else { break }
            i += String(s).utf8.count
        }
        return i
    }
}
