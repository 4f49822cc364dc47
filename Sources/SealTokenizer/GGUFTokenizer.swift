import Foundation
import SealCore

/// The `tokenizer.*` metadata of a GGUF file (llama.cpp's format), the input a tokenizer is built from.
///
/// A neutral value: this module does not read GGUF files itself (SealModel's `GGUFFile` does, and
/// SealGenerate's `GGUFTokenizerMetadata(file:)` fills this from one). Each field is nil when its key is absent,
/// so that the conversion can name a missing key. Arrays are in id order.
public struct GGUFTokenizerMetadata: Sendable {
    /// The file, for error messages.
    public var source: String
    /// `general.architecture` (transformers picks the tokenizer converter by it).
    public var architecture: String?
    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE) or `llama` (SentencePiece-style BPE with scores).
    public var model: String?
    /// `tokenizer.ggml.pre`: the pre-tokenizer of a byte-level BPE (`smollm`, `llama-bpe`, `qwen2`, `gpt-2`, …).
    public var pre: String?
    public var tokens: [String]?
    public var scores: [Float]?
    /// llama.cpp's token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public var tokenTypes: [Int]?
    /// `"left right"` pairs in rank order.
    public var merges: [String]?
    public var bosID: Int?
    public var eosID: Int?
    public var unkID: Int?
    public var padID: Int?
    public var addBOS: Bool?
    public var addEOS: Bool?
    /// `tokenizer.ggml.add_space_prefix`.
    public var addSpacePrefix: Bool?
    /// `tokenizer.chat_template` (Jinja source).
    public var chatTemplate: String?
    /// Other sizes the vocabulary must agree with: (the key or tensor that gives it, its value), e.g.
    /// (`llama.vocab_size`, 49152) or (`token_embd.weight`, rows).
    public var vocabularySizes: [(key: String, size: Int)] = []

    public init(source: String) { self.source = source }
}

/// A GGUF tokenizer converted to HuggingFace's files, as transformers 4.47.1 converts one
/// (`AutoTokenizer.from_pretrained(dir, gguf_file=…)`: `integrations/ggml.py`'s converters, then the tokenizer
/// class's own setup), so that `Tokenizer(tokenizerJSON:)` on `tokenizerJSON` gives transformers' ids and text.
///
/// What transformers does, by `general.architecture`:
///   - `llama`, `tokenizer.ggml.model` = `gpt2` (SmolLM2, Llama-3): byte-level BPE from tokens and merges with
///     byte fallback and `fuse_unk`; no normalizer; decoder ByteFallback, Fuse, Replace("▁", " "), ByteLevel, and
///     Strip(" ", 1) when `add_space_prefix` is absent or true; `clean_up_tokenization_spaces` true.
///   - `llama`, `llama` (SentencePiece-style): the same BPE, merges from the file or, when it has none, rebuilt from
///     the scores (every split of a token into two tokens, ranked by the token's score); normalizer Prepend("▁")
///     (when `add_space_prefix` is absent or true) and Replace(" ", "▁"); decoder ByteFallback, Fuse, Replace, Strip.
///   - both `llama` kinds: LlamaTokenizerFast's post-processor puts the BOS token before every sequence (its
///     `add_bos_token` defaults to true; the file's `add_bos_token`/`add_eos_token` are not read) — so SmolLM2's
///     `<|im_start|>` (id 1) starts every encoding; no EOS.
///   - `qwen2`: Qwen2's byte-level BPE (NFC, no BOS, no byte fallback), ByteLevel decoder.
///   - special tokens: those of token type control (3), plus the unknown and BOS token.
///
/// Where seal departs from transformers 4.47.1 on purpose, because transformers ignores a key the model's own
/// tokenizer depends on:
///   - the pre-tokenizer of a byte-level BPE is the one `tokenizer.ggml.pre` names, as in llama.cpp (transformers
///     uses GPT-2's regex for every `llama` file; for SmolLM2 that splits digits differently on 3 of the 1,239
///     distinct test strings): `smollm` digits one by one then GPT-2's regex; `llama-bpe` Llama-3's regex (and
///     whole-word vocabulary hits first, `ignore_merges`); `qwen2` Qwen2's regex (and NFC); `gpt-2` GPT-2's regex;
///     absent: GPT-2's, as transformers.
///   - every control token is special for `qwen2` too (transformers adds only `<|endoftext|>`, `<|im_start|>`,
///     `<|im_end|>`), and user-defined tokens (4) are added tokens that are not special (transformers treats them as
///     plain vocabulary).
public struct GGUFTokenizerConversion: Sendable {
    /// The tokenizer.json text.
    public let tokenizerJSON: String
    /// transformers' `clean_up_tokenization_spaces` for this tokenizer.
    public let cleanUpTokenizationSpaces: Bool
    public let chatTemplate: String?
    public let bosToken: String?
    public let eosToken: String?
    public let unkToken: String?
    public let padToken: String?
    /// The tokenizer class transformers uses (LlamaTokenizerFast or Qwen2TokenizerFast).
    public let tokenizerClass: String
    /// The ids of the added tokens with their content and whether they are special, in id order.
    public let addedTokens: [(id: Int, content: String, special: Bool)]

    /// The `pre` values seal reads, with llama.cpp's aliases.
    public static let supportedPre: [(names: [String], kind: PreKind)] = [
        (["smollm"], .smollm), (["llama-bpe", "llama3", "llama-v3"], .llama3), (["qwen2"], .qwen2), (["gpt-2"], .gpt2),
    ]
    public enum PreKind: Sendable { case gpt2, smollm, llama3, qwen2 }

    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static func split(_ regex: String) -> String {
        #"{"type": "Split", "pattern": {"Regex": "# + JSONWriter.quote(regex) + #"}, "behavior": "Isolated", "invert": false}"#
    }

    static func byteLevel(prefixSpace: Bool, regex: Bool) -> String {
        #"{"type": "ByteLevel", "add_prefix_space": \#(prefixSpace), "trim_offsets": true, "use_regex": \#(regex)}"#
    }

    /// The pre_tokenizer JSON of a `pre` kind (`prefixSpace`: ByteLevel's add_prefix_space, which Qwen2's converter
    /// takes from `add_space_prefix`).
    static func preTokenizerJSON(_ kind: PreKind, prefixSpace: Bool = false) -> String {
        switch kind {
        case .gpt2: return byteLevel(prefixSpace: prefixSpace, regex: true)
        case .smollm: return #"{"type": "Sequence", "pretokenizers": ["# + split(#"\p{N}"#) + ", " + byteLevel(prefixSpace: prefixSpace, regex: true) + "]}"
        case .llama3: return #"{"type": "Sequence", "pretokenizers": ["# + split(llama3Regex) + ", " + byteLevel(prefixSpace: prefixSpace, regex: false) + "]}"
        case .qwen2: return #"{"type": "Sequence", "pretokenizers": ["# + split(qwen2Regex) + ", " + byteLevel(prefixSpace: prefixSpace, regex: false) + "]}"
        }
    }

    public init(_ m: GGUFTokenizerMetadata) throws {
        let file = m.source
        func fail(_ kind: TokenizerError.Kind, _ key: String, _ message: String) -> TokenizerError {
            TokenizerError(kind, file: file, key: key, message)
        }
        guard let arch = m.architecture else { throw fail(.missingKey, "general.architecture", "required key is missing") }
        guard arch == "llama" || arch == "qwen2" else {
            throw fail(.unsupported, "general.architecture", "tokenizer of architecture '\(arch)' (seal reads the tokenizers of 'llama' and 'qwen2' files)")
        }
        guard let model = m.model else { throw fail(.missingKey, "tokenizer.ggml.model", "required key is missing") }
        guard model == "gpt2" || model == "llama" else {
            throw fail(.unsupported, "tokenizer.ggml.model", "tokenizer model '\(model)' (seal reads 'gpt2', byte-level BPE, and 'llama', SentencePiece-style BPE)")
        }
        if arch == "qwen2", model != "gpt2" {
            throw fail(.unsupported, "tokenizer.ggml.model", "'\(model)' in a qwen2 file (Qwen2's tokenizer is byte-level BPE, 'gpt2')")
        }
        guard let tokens = m.tokens else { throw fail(.missingKey, "tokenizer.ggml.tokens", "required key is missing") }
        let n = tokens.count
        guard n > 0 else { throw fail(.invalidValue, "tokenizer.ggml.tokens", "the token list is empty") }
        guard n <= BPEModel.maxSupportedID + 1 else {
            throw fail(.unsupported, "tokenizer.ggml.tokens", "\(n) tokens, above the supported \(BPEModel.maxSupportedID + 1)")
        }
        for (key, size) in m.vocabularySizes where size != n {
            throw fail(.invalidValue, key, "gives a vocabulary of \(size), but tokenizer.ggml.tokens has \(n) tokens")
        }
        if let s = m.scores, s.count != n {
            throw fail(.invalidValue, "tokenizer.ggml.scores", "\(s.count) scores for \(n) tokens")
        }
        if let t = m.tokenTypes, t.count != n {
            throw fail(.invalidValue, "tokenizer.ggml.token_type", "\(t.count) token types for \(n) tokens")
        }
        for (key, id) in [("tokenizer.ggml.bos_token_id", m.bosID), ("tokenizer.ggml.eos_token_id", m.eosID),
                          ("tokenizer.ggml.unknown_token_id", m.unkID), ("tokenizer.ggml.padding_token_id", m.padID)] {
            if let id, id < 0 || id >= n { throw fail(.invalidValue, key, "id \(id) is outside the \(n) tokens") }
        }

        var pre: PreKind = .gpt2
        if model == "gpt2" {
            if let name = m.pre {
                guard let k = Self.supportedPre.first(where: { $0.names.contains(name) })?.kind else {
                    let names = Self.supportedPre.flatMap(\.names).joined(separator: ", ")
                    throw fail(.unsupported, "tokenizer.ggml.pre", "pre-tokenizer '\(name)' (seal reads \(names))")
                }
                pre = k
            } else if arch == "qwen2" {
                pre = .qwen2
            }
        }

        // The vocabulary as a tokenizers BPE builds it from {token: id}: a repeated token keeps its last id. Keyed by
        // UTF-8 bytes (Swift's String equality is canonical equivalence; tokenizers compares bytes).
        var index: [[UInt8]: Int] = [:]
        index.reserveCapacity(n)
        let bytes = tokens.map { Array($0.utf8) }
        for (i, b) in bytes.enumerated() { index[b] = i }

        // Merges.
        var merges: [(String, String)] = []
        if let list = m.merges {
            merges.reserveCapacity(list.count)
            for (r, s) in list.enumerated() {
                let u = Array(s.utf8)
                let key = "tokenizer.ggml.merges[\(r)]"
                // transformers splits on " " and needs exactly two parts.
                guard let space = u.firstIndex(of: 0x20), !u[(space + 1)...].contains(0x20) else {
                    throw fail(.invalidValue, key, "bad merge '\(s)': expected two tokens separated by one space")
                }
                let a = Array(u[..<space]), b = Array(u[(space + 1)...])
                guard index[a] != nil else { throw fail(.invalidValue, key, "merge token '\(String(decoding: a, as: UTF8.self))' is not in tokenizer.ggml.tokens") }
                guard index[b] != nil else { throw fail(.invalidValue, key, "merge token '\(String(decoding: b, as: UTF8.self))' is not in tokenizer.ggml.tokens") }
                guard index[a + b] != nil else { throw fail(.invalidValue, key, "merged token '\(String(decoding: a + b, as: UTF8.self))' is not in tokenizer.ggml.tokens") }
                merges.append((String(decoding: a, as: UTF8.self), String(decoding: b, as: UTF8.self)))
            }
        } else if model == "llama" {
            guard let scores = m.scores else {
                throw fail(.missingKey, "tokenizer.ggml.scores", "a 'llama' tokenizer without tokenizer.ggml.merges needs the scores to rank its merges")
            }
            if let bad = scores.firstIndex(where: { !$0.isFinite }) {
                throw fail(.invalidValue, "tokenizer.ggml.scores", "score \(scores[bad]) of token \(bad) is not finite")
            }
            merges = Self.mergesFromScores(tokens: bytes, scores: scores, index: index)
        } else {
            throw fail(.missingKey, "tokenizer.ggml.merges", "a 'gpt2' (byte-level BPE) tokenizer needs its merges")
        }

        // Added tokens: control tokens are special; so are the unknown and BOS tokens (transformers adds its special
        // token strings); user-defined tokens are added tokens that are not special.
        var added: [Int: (String, Bool)] = [:]
        func addSpecial(_ id: Int) {
            // Added by content: the vocabulary's id for it (the last of a repeated token).
            let i = index[bytes[id]] ?? id
            added[i] = (tokens[i], true)
        }
        let types = m.tokenTypes
        if arch == "qwen2" {
            // Qwen2's converter adds these three by content (one the vocabulary lacks is left out here).
            for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] {
                if let i = index[Array(t.utf8)] { added[i] = (t, true) }
            }
        }
        if let types {
            for (i, t) in types.enumerated() where t == 3 { addSpecial(i) }
            for (i, t) in types.enumerated() where t == 4 {
                let id = index[bytes[i]] ?? i
                if added[id] == nil { added[id] = (tokens[i], false) }
            }
        }
        var bosToken: String?, eosToken: String?, unkToken: String?, padToken: String?
        var cleanup = false
        let tokenizerClass: String
        let normalizerJSON: String, preJSON: String, decoderJSON: String, postJSON: String
        let addPrefix = m.addSpacePrefix ?? (arch == "llama")
        var unkJSON = "null"
        var byteFallback = false, fuseUnk = false
        if arch == "llama" {
            tokenizerClass = "LlamaTokenizerFast"
            if let u = m.unkID { unkToken = tokens[u]; addSpecial(u); unkJSON = JSONWriter.quote(tokens[u]) }
            if let b = m.bosID { bosToken = tokens[b]; addSpecial(b) }
            eosToken = m.eosID.map { tokens[$0] }
            padToken = m.padID.map { tokens[$0] }
            byteFallback = true
            fuseUnk = true
            var decoders = [#"{"type": "ByteFallback"}"#, #"{"type": "Fuse"}"#,
                            #"{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}"#]
            if model == "gpt2" {
                cleanup = true
                normalizerJSON = "null"
                preJSON = Self.preTokenizerJSON(pre)
                decoders.append(#"{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}"#)
            } else {
                var normalizers: [String] = []
                if addPrefix { normalizers.append(#"{"type": "Prepend", "prepend": "▁"}"#) }
                normalizers.append(#"{"type": "Replace", "pattern": {"String": " "}, "content": "▁"}"#)
                normalizerJSON = #"{"type": "Sequence", "normalizers": ["# + normalizers.joined(separator: ", ") + "]}"
                preJSON = "null"
            }
            if addPrefix { decoders.append(#"{"type": "Strip", "content": " ", "start": 1, "stop": 0}"#) }
            decoderJSON = #"{"type": "Sequence", "decoders": ["# + decoders.joined(separator: ", ") + "]}"
            if let b = m.bosID {
                let bos = JSONWriter.quote(tokens[b])
                let id = index[bytes[b]] ?? b
                postJSON = #"{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "# + bos + #", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "pair": [{"SpecialToken": {"id": "# + bos + #", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "# + bos + #", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}], "special_tokens": {"# + bos + #": {"id": "# + bos + #", "ids": [\#(id)], "tokens": ["# + bos + "]}}}"
            } else {
                postJSON = "null"
            }
        } else {
            tokenizerClass = "Qwen2TokenizerFast"
            normalizerJSON = pre == .qwen2 ? #"{"type": "NFC"}"# : "null"
            preJSON = Self.preTokenizerJSON(pre, prefixSpace: m.addSpacePrefix ?? false)
            decoderJSON = #"{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}"#
            postJSON = #"{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}"#
            eosToken = m.eosID.map { tokens[$0] } ?? (index[Array("<|endoftext|>".utf8)] != nil ? "<|endoftext|>" : nil)
            padToken = m.padID.map { tokens[$0] } ?? eosToken
            bosToken = nil
        }

        let addedList = added.keys.sorted().map { (id: $0, content: added[$0]!.0, special: added[$0]!.1) }
        let addedJSON = addedList.map {
            #"{"id": \#($0.id), "content": "# + JSONWriter.quote($0.content) + #", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": \#($0.special)}"#
        }.joined(separator: ",\n    ")
        var out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [\n    "
        out += addedJSON
        out += "\n  ],\n  \"normalizer\": \(normalizerJSON),\n  \"pre_tokenizer\": \(preJSON),\n  \"post_processor\": \(postJSON),\n  \"decoder\": \(decoderJSON),\n"
        out += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": \(unkJSON),\n    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n"
        out += "    \"fuse_unk\": \(fuseUnk),\n    \"byte_fallback\": \(byteFallback),\n    \"ignore_merges\": \(pre == .llama3 && model == "gpt2"),\n    \"vocab\": {\n"
        out.reserveCapacity(out.utf8.count + n * 24 + merges.count * 24)
        for (i, t) in tokens.enumerated() {
            out += "      " + JSONWriter.quote(t) + ": " + String(i) + (i == n - 1 ? "\n" : ",\n")
        }
        out += "    },\n    \"merges\": [\n"
        for (i, (a, b)) in merges.enumerated() {
            out += "      [" + JSONWriter.quote(a) + ", " + JSONWriter.quote(b) + (i == merges.count - 1 ? "]\n" : "],\n")
        }
        out += "    ]\n  }\n}\n"

        tokenizerJSON = out
        cleanUpTokenizationSpaces = cleanup
        chatTemplate = m.chatTemplate
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.unkToken = unkToken
        self.padToken = padToken
        self.tokenizerClass = tokenizerClass
        addedTokens = addedList
    }

    /// transformers' `GGUFTokenizerSkeleton` for a file without merges: every split of a token into two tokens
    /// (by code point) is a merge with that token's score; each token's splits ordered by the scores of (left,
    /// right), highest first; then all merges by score, highest first (Python's stable sort). The vocabulary is a
    /// {token: score} dict: a repeated token takes its last score and keeps its first position.
    static func mergesFromScores(tokens: [[UInt8]], scores: [Float], index: [[UInt8]: Int]) -> [(String, String)] {
        var score: [[UInt8]: Float] = [:]
        var order: [[UInt8]] = []
        for (i, t) in tokens.enumerated() {
            if score.updateValue(scores[i], forKey: t) == nil { order.append(t) }
        }
        var all: [(l: [UInt8], r: [UInt8], score: Float)] = []
        for t in order {
            let pieceScore = score[t]!
            // Code point boundaries of t.
            var cuts: [Int] = []
            var i = 0
            while i < t.count {
                let c = t[i]
                i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4
                if i < t.count { cuts.append(i) }
            }
            var local: [(l: [UInt8], r: [UInt8], score: Float, sl: Float, sr: Float)] = []
            for c in cuts {
                let l = Array(t[..<c]), r = Array(t[c...])
                if let sl = score[l], let sr = score[r] { local.append((l, r, pieceScore, sl, sr)) }
            }
            // Stable, descending by (score of left, score of right).
            let sorted = local.enumerated().sorted { x, y in
                if x.element.sl != y.element.sl { return x.element.sl > y.element.sl }
                if x.element.sr != y.element.sr { return x.element.sr > y.element.sr }
                return x.offset < y.offset
            }
            for (_, e) in sorted { all.append((e.l, e.r, e.score)) }
        }
        let ranked = all.enumerated().sorted { x, y in
            x.element.score != y.element.score ? x.element.score > y.element.score : x.offset < y.offset
        }
        return ranked.map { (String(decoding: $0.element.l, as: UTF8.self), String(decoding: $0.element.r, as: UTF8.self)) }
    }

    /// transformers' tokenizer_config.json for this tokenizer (what `save_pretrained` writes, less its defaults).
    public func tokenizerConfigJSON() -> String {
        var lines: [String] = []
        lines.append("  \"added_tokens_decoder\": {\n" + addedTokens.map {
            "    \"\($0.id)\": {\"content\": \(JSONWriter.quote($0.content)), \"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": false, \"special\": \($0.special)}"
        }.joined(separator: ",\n") + "\n  }")
        func opt(_ s: String?) -> String { s.map(JSONWriter.quote) ?? "null" }
        if tokenizerClass == "LlamaTokenizerFast" {
            lines.append("  \"add_bos_token\": \(bosToken != nil)")
            lines.append("  \"add_eos_token\": false")
            lines.append("  \"legacy\": true")
        }
        lines.append("  \"bos_token\": \(opt(bosToken))")
        lines.append("  \"eos_token\": \(opt(eosToken))")
        lines.append("  \"unk_token\": \(opt(unkToken))")
        lines.append("  \"pad_token\": \(opt(padToken))")
        if let chatTemplate { lines.append("  \"chat_template\": \(JSONWriter.quote(chatTemplate))") }
        lines.append("  \"clean_up_tokenization_spaces\": \(cleanUpTokenizationSpaces)")
        lines.append("  \"model_max_length\": 1000000000000000019884624838656")
        lines.append("  \"tokenizer_class\": \"\(tokenizerClass)\"")
        return "{\n" + lines.joined(separator: ",\n") + "\n}\n"
    }

    /// special_tokens_map.json.
    public func specialTokensMapJSON() -> String {
        var parts: [String] = []
        for (k, v) in [("bos_token", bosToken), ("eos_token", eosToken), ("unk_token", unkToken), ("pad_token", padToken)] {
            if let v { parts.append("\"\(k)\": \(JSONWriter.quote(v))") }
        }
        return "{" + parts.joined(separator: ", ") + "}\n"
    }
}

extension Tokenizer {
    /// The tokenizer of a GGUF file's metadata (see `GGUFTokenizerConversion`).
    public convenience init(gguf metadata: GGUFTokenizerMetadata) throws {
        let c = try GGUFTokenizerConversion(metadata)
        try self.init(tokenizerJSON: Data(c.tokenizerJSON.utf8), source: metadata.source,
                      cleanUpTokenizationSpaces: c.cleanUpTokenizationSpaces, chatTemplate: c.chatTemplate)
    }
}
