import Foundation
import SealCore

/// Trains a byte-level BPE tokenizer (GPT-2 / Qwen2 family) and writes it as a standard `tokenizer.json` that HF
/// `tokenizers` loads and encodes exactly as seal's `Tokenizer` does.
///
/// The pipeline it writes:
/// - no normalizer (so every text round-trips exactly: decode(encode(t)) == t);
/// - pre-tokenizer: GPT-2's ByteLevel (its regex; no prefix space);
/// - model: BPE over the 256 byte stand-ins, no unknown token (every byte has one);
/// - post-processor: the first special token (`<|endoftext|>` by default) before every sequence, the BOS;
/// - decoder: ByteLevel.
///
/// Ids: the special tokens first (0, 1, ...), then the 256 bytes in byte order, then one id per merge result in the
/// order learned. Training is the classic greedy algorithm: count the pre-tokenized words; repeatedly merge the
/// most frequent adjacent pair (occurrences inside a word counted left to right without overlap, weighted by the
/// word's count). **Ties** go to the pair whose left token has the smaller id, then the right token's smaller id
/// (earlier-created tokens first). Training stops at `vocabSize` tokens or when no pair occurs `minFrequency` times.
/// Nothing depends on hash order, so the result is the same on every run and platform.
public struct BPETrainer {
    public var vocabSize: Int
    public var specialTokens: [String]
    public var minFrequency: Int

    public init(vocabSize: Int, specialTokens: [String] = ["<|endoftext|>"], minFrequency: Int = 2) {
        self.vocabSize = vocabSize
        self.specialTokens = specialTokens
        self.minFrequency = minFrequency
    }

    /// The pre-tokenizer: GPT-2's (ByteLevel with its own regex: contractions, letters, whole numbers, punctuation
    /// runs, each with at most one leading space; whitespace runs). Whole numbers matter for small models: a year
    /// or a day of the month becomes one or two tokens to copy, not four separate digits.
    static let preTokenizerJSON = "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}"

    public struct Result: Sendable {
        /// Token strings by id (byte-level alphabet; special tokens as written).
        public var tokens: [String]
        /// Merges in rank order, as token strings.
        public var merges: [(String, String)]
        public var specialTokens: [String]
        /// Word types and pre-tokenized words seen (for the summary).
        public var wordTypes: Int
        public var words: Int
    }

    public func validate() throws {
        guard !specialTokens.isEmpty else { throw TokenizerError(.invalidValue, file: "", key: "special_tokens", "at least one special token (the BOS/EOS) is needed") }
        guard Set(specialTokens).count == specialTokens.count, specialTokens.allSatisfy({ !$0.isEmpty }) else {
            throw TokenizerError(.invalidValue, file: "", key: "special_tokens", "special tokens must be distinct and non-empty")
        }
        guard vocabSize >= specialTokens.count + 256 else {
            throw TokenizerError(.invalidValue, file: "", key: "vocab_size", "vocab size \(vocabSize) is below the \(specialTokens.count) special tokens + 256 bytes")
        }
        guard minFrequency >= 1 else { throw TokenizerError(.invalidValue, file: "", key: "min_frequency", "min frequency must be ≥ 1") }
    }

    /// Trains on `texts` (each a document; special tokens written in them are cut out, never learned from).
    public func train(_ texts: [String]) throws -> Result {
        try validate()
        let pre = try PreTokenizer.parse(JSONNode.parse(Data(Self.preTokenizerJSON.utf8), source: "BPETrainer", path: "pre_tokenizer"))
        // 1. Word counts. Words are byte-mapped by the pre-tokenizer; map back to bytes for the symbol ids.
        var counts: [[UInt8]: Int] = [:]
        var total = 0
        let specials = specialTokens.map { TextPattern.literal(Array($0.utf8)) }
        for text in texts {
            var pieces: [[UInt8]] = [Array(text.utf8)]
            for s in specials {
                pieces = pieces.flatMap { p in s.findMatches(in: p[...]).filter { !$0.isMatch && !$0.range.isEmpty }.map { Array(p[$0.range]) } }
            }
            for w in pre.apply(pieces) { counts[w, default: 0] += 1; total += 1 }
        }
        let nSpecial = specialTokens.count
        var tokens = specialTokens + (0..<256).map { String(ByteLevel.byteToScalar[$0]) }
        var tokenIndex: [String: Int32] = [:]
        for (i, t) in tokens.enumerated() { tokenIndex[t] = Int32(i) }
        let sortedWords = counts.keys.sorted { $0.lexicographicallyPrecedes($1) }
        var words: [[Int32]] = sortedWords.map { w in
            String(decoding: w, as: UTF8.self).unicodeScalars.map { Int32(nSpecial) + Int32(ByteLevel.scalarToByte[Int($0.value)]) }
        }
        let freq = sortedWords.map { counts[$0]! }

        // 2. Pair counts, where each pair occurs, and a max-heap of (count, pair) with lazy updates.
        var pairCount: [UInt64: Int] = [:]
        var pairWords: [UInt64: Set<Int>] = [:]
        @inline(__always) func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }
        func pairs(_ w: [Int32]) -> [UInt64] {
            // Every adjacent pair, overlapping ones included ("aaa" counts "a a" twice), as HF's trainer counts.
            guard w.count > 1 else { return [] }
            return (0..<(w.count - 1)).map { key(w[$0], w[$0 + 1]) }
        }
        for (i, w) in words.enumerated() {
            for p in pairs(w) { pairCount[p, default: 0] += freq[i]; pairWords[p, default: []].insert(i) }
        }
        var heap = PairHeap()
        for (p, c) in pairCount { heap.push(c, p) }

        var merges: [(String, String)] = []
        while tokens.count < vocabSize, let (c, p) = heap.pop() {
            let current = pairCount[p] ?? 0
            // A stale entry: re-queue at the lower current count; an entry below the current count is a leftover of an
            // increase that pushed the current count itself.
            if current != c { if current > 0, current < c { heap.push(current, p) }; continue }
            if c < minFrequency { break }
            let a = Int32(truncatingIfNeeded: p >> 32), b = Int32(truncatingIfNeeded: p & 0xFFFF_FFFF)
            let merged = tokens[Int(a)] + tokens[Int(b)]
            let id: Int32
            if let existing = tokenIndex[merged] { id = existing } else {
                id = Int32(tokens.count); tokens.append(merged); tokenIndex[merged] = id
            }
            merges.append((tokens[Int(a)], tokens[Int(b)]))
            var increased = Set<UInt64>()
            for wi in (pairWords[p] ?? []).sorted() {
                let old = words[wi]
                var new: [Int32] = []
                new.reserveCapacity(old.count)
                var j = 0
                var changed = false
                while j < old.count {
                    if j + 1 < old.count, old[j] == a, old[j + 1] == b { new.append(id); j += 2; changed = true } else { new.append(old[j]); j += 1 }
                }
                if !changed { continue }
                let f = freq[wi]
                for q in pairs(old) { pairCount[q, default: 0] -= f }
                for q in pairs(new) {
                    pairCount[q, default: 0] += f
                    pairWords[q, default: []].insert(wi)
                    increased.insert(q)
                }
                words[wi] = new
            }
            pairCount[p] = 0
            pairWords[p] = nil
            for q in increased.sorted() where q != p { if let n = pairCount[q], n > 0 { heap.push(n, q) } }
        }
        return Result(tokens: tokens, merges: merges, specialTokens: specialTokens, wordTypes: counts.count, words: total)
    }
}

/// A binary max-heap of (count, pair): larger count first, then the smaller pair key (left id, then right id).
struct PairHeap {
    var items: [(Int, UInt64)] = []
    @inline(__always) static func above(_ x: (Int, UInt64), _ y: (Int, UInt64)) -> Bool { x.0 != y.0 ? x.0 > y.0 : x.1 < y.1 }
    mutating func push(_ c: Int, _ p: UInt64) {
        items.append((c, p))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if Self.above(items[i], items[parent]) { items.swapAt(i, parent); i = parent } else { break }
        }
    }
    mutating func pop() -> (Int, UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, Self.above(items[l], items[m]) { m = l }
                if r < items.count, Self.above(items[r], items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m); i = m
            }
        }
        return top
    }
}

extension BPETrainer.Result {
    /// The tokenizer.json text (deterministic bytes).
    public var tokenizerJSON: String {
        let bos = JSONWriter.quote(specialTokens[0])
        let added = specialTokens.enumerated().map { i, t in
            "    {\"id\": \(i), \"content\": \(JSONWriter.quote(t)), \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}"
        }.joined(separator: ",\n")
        let vocab = tokens.enumerated().map { "      \(JSONWriter.quote($0.element)): \($0.offset)" }.joined(separator: ",\n")
        let merges = self.merges.map { "      \(JSONWriter.quote($0.0 + " " + $0.1))" }.joined(separator: ",\n")
        return """
        {
          "version": "1.0",
          "truncation": null,
          "padding": null,
          "added_tokens": [
        \(added)
          ],
          "normalizer": null,
          "pre_tokenizer": \(BPETrainer.preTokenizerJSON),
          "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": \(bos), "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [{"SpecialToken": {"id": \(bos), "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}], "special_tokens": {\(bos): {"id": \(bos), "ids": [0], "tokens": [\(bos)]}}},
          "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
          "model": {
            "type": "BPE",
            "dropout": null,
            "unk_token": null,
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": false,
            "byte_fallback": false,
            "ignore_merges": false,
            "vocab": {
        \(vocab)
            },
            "merges": [
        \(merges)
            ]
          }
        }

        """
    }

    /// transformers' tokenizer_config.json: a `PreTrainedTokenizerFast` whose BOS, EOS and padding token is the
    /// first special token.
    public func tokenizerConfigJSON(modelMaxLength: Int) -> String {
        let bos = JSONWriter.quote(specialTokens[0])
        let decoder = specialTokens.enumerated().map { i, t in
            "    \"\(i)\": {\"content\": \(JSONWriter.quote(t)), \"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": false, \"special\": true}"
        }.joined(separator: ",\n")
        return """
        {
          "added_tokens_decoder": {
        \(decoder)
          },
          "bos_token": \(bos),
          "eos_token": \(bos),
          "pad_token": \(bos),
          "unk_token": null,
          "clean_up_tokenization_spaces": false,
          "model_max_length": \(modelMaxLength),
          "tokenizer_class": "PreTrainedTokenizerFast"
        }

        """
    }

    /// special_tokens_map.json.
    public var specialTokensMapJSON: String {
        let bos = JSONWriter.quote(specialTokens[0])
        return "{\"bos_token\": \(bos), \"eos_token\": \(bos), \"pad_token\": \(bos)}\n"
    }

    /// Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json into `dir`.
    public func save(to dir: URL, modelMaxLength: Int = 1024) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(tokenizerJSON.utf8).write(to: dir.appendingPathComponent("tokenizer.json"), options: .atomic)
        try Data(tokenizerConfigJSON(modelMaxLength: modelMaxLength).utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"), options: .atomic)
        try Data(specialTokensMapJSON.utf8).write(to: dir.appendingPathComponent("special_tokens_map.json"), options: .atomic)
    }
}
