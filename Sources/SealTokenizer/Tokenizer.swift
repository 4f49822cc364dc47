import Foundation
import SealCore

/// A tokenizer loaded from a HuggingFace `tokenizer.json`, producing the same ids as HF
/// `tokenizers` (and `transformers`' fast tokenizers) for any input string.
///
/// Supported: BPE models — byte-level (GPT-2, Llama-3, Qwen2.5) and SentencePiece-style with
/// byte fallback (TinyStories, Llama-2 family without a Precompiled normalizer) — with the
/// normalizers, pre-tokenizers, post-processors and decoders those use. Anything else is refused
/// at load time with a `TokenizerError` rather than tokenised approximately.
///
/// Encoding follows HF's pipeline:
///   1. added tokens are split off the raw text (`AddedVocabulary`);
///   2. each remaining piece is normalised (`Normalizer`), then tokens declared `normalized`
///      are split off the normalised text;
///   3. each piece is cut into words (`PreTokenizer`), byte-mapped for byte-level vocabularies;
///   4. each word is merged by the BPE model (`BPEModel`);
///   5. the post-processor frames the ids with special tokens (`PostProcessor`).
///
/// The instance is immutable after `init` apart from the BPE word cache, which is behind a lock,
/// so one tokenizer may be shared by any number of threads.
public final class Tokenizer: @unchecked Sendable {
    /// Where the tokenizer was read from (used in error messages).
    public let source: String
    /// Whether `decode` applies transformers' `clean_up_tokenization` (" ." -> ".", " n't" -> "n't",
    /// ...), as `tokenizer_config.json`'s `clean_up_tokenization_spaces` asks (Llama-3: true).
    public let cleansUpTokenizationSpaces: Bool
    /// The chat template (Jinja source) of tokenizer_config.json's `chat_template` or a GGUF file's
    /// `tokenizer.chat_template`, when there is one (a string; named template lists are not read).
    public let chatTemplate: String?

    let model: BPEModel
    let added: AddedVocabulary
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: Decoder?

    /// Reads `directory/tokenizer.json`, and `clean_up_tokenization_spaces` from
    /// `directory/tokenizer_config.json` when that file exists, so that `decode` equals
    /// `AutoTokenizer.from_pretrained(directory).decode`.
    public convenience init(directory: URL) throws {
        let file = directory.appendingPathComponent("tokenizer.json")
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw TokenizerError(.io, file: file.path, key: "", "cannot read tokenizer.json: \(error.localizedDescription)")
        }
        var cleanup = false
        var template: String?
        let configFile = directory.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configFile.path) {
            do {
                let configData = try Data(contentsOf: configFile)
                let config = try JSONNode.parse(configData, source: configFile.path)
                cleanup = try config.optional("clean_up_tokenization_spaces")?.bool() ?? false
                if case .string(let t)? = try config.optional("chat_template")?.value { template = t }
            } catch let e as TokenizerError {
                throw e
            } catch {
                throw TokenizerError(.io, file: configFile.path, key: "", "cannot read tokenizer_config.json: \(error.localizedDescription)")
            }
        }
        try self.init(tokenizerJSON: data, source: file.path, cleanUpTokenizationSpaces: cleanup, chatTemplate: template)
    }

    /// Parses the contents of a tokenizer.json. `source` names it in error messages.
    /// `cleanUpTokenizationSpaces` mirrors the tokenizer_config.json flag of the same name.
    ///
    /// `truncation` and `padding` are ignored, as transformers' `tokenizer(text)` ignores them
    /// unless asked.
    public init(tokenizerJSON: Data, source: String, cleanUpTokenizationSpaces: Bool = false, chatTemplate: String? = nil) throws {
        self.source = source
        self.cleansUpTokenizationSpaces = cleanUpTokenizationSpaces
        self.chatTemplate = chatTemplate
        let root = try JSONNode.parse(tokenizerJSON, source: source)
        _ = try root.object()
        model = try BPEModel(try root.required("model"))
        normalizer = try root.optional("normalizer").map(Normalizer.parse)
        preTokenizer = try root.optional("pre_tokenizer").map(PreTokenizer.parse)
        postProcessor = try root.optional("post_processor").map(PostProcessor.parse)
        decoder = try root.optional("decoder").map(Decoder.parse)
        let tokenNodes = try root.optional("added_tokens")?.array() ?? []
        let tokens = try tokenNodes.map(AddedToken.init)
        added = AddedVocabulary(tokens: tokens, model: model, normalizer: normalizer)
        // HF assigns added-token ids itself (the vocabulary's id, else the next after the vocabulary and the
        // tokens before) and only warns when the file's "id" disagrees: a token would be silently renumbered, and
        // a model trained with the file's ids would read another token. seal refuses such a file, naming the token.
        var assigned: [String: Int] = [:]
        for (id, content) in added.idToContent { assigned[content] = id }
        for (node, t) in zip(tokenNodes, tokens) {
            guard let fileID = try node.optional("id")?.uint32(), let id = assigned[t.content] else { continue }
            if fileID != id {
                throw node.error(.invalidValue, "added token '\(t.content)' has id \(fileID), but its place in the vocabulary (\(model.vocabCount) model tokens, then the added tokens in order) gives it id \(id) (transformers would silently renumber it)")
            }
        }
        var maxID = model.idToToken.count - 1
        for id in added.idToContent.keys { maxID = max(maxID, id) }
        vocabSize = maxID + 1
        bosTokenID = postProcessor?.prefixID
    }

    // MARK: - Encoding

    /// The ids of `text`: HF `Tokenizer.encode(text).ids`, i.e. transformers'
    /// `tokenizer(text)["input_ids"]`. With `addSpecialTokens` the post-processor's special
    /// tokens (BOS) are added; added tokens written in the text are recognised either way.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        var workspace = BPEWorkspace()
        for segment in added.extractAndNormalize(Array(text.utf8)) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let piece):
                if let preTokenizer {
                    for word in preTokenizer.apply([piece]) { model.tokenize(word, into: &ids, workspace: &workspace) }
                } else {
                    model.tokenize(piece, into: &ids, workspace: &workspace)
                }
            }
        }
        return postProcessor?.process(ids, addSpecialTokens: addSpecialTokens) ?? ids
    }

    // MARK: - Decoding

    /// The text of `ids`: transformers' `tokenizer.decode(ids, skip_special_tokens:)`. Ids with no
    /// token are skipped, as in HF.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let t = tokenString(id) else { continue }
            if skipSpecialTokens, added.isSpecial(content: t) { continue }
            tokens.append(t)
        }
        let text = decoder?.decode(tokens) ?? tokens.joined(separator: " ")
        return cleansUpTokenizationSpaces ? Tokenizer.cleanUpTokenization(text) : text
    }

    /// transformers' `PreTrainedTokenizerBase.clean_up_tokenization`: removes the space before
    /// punctuation and English contractions, in this order, as plain substring replacement.
    static func cleanUpTokenization(_ text: String) -> String {
        var bytes = Array(text.utf8)
        for (from, to) in cleanupRules { bytes = from.replace(in: bytes, with: to) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let cleanupRules: [(TextPattern, [UInt8])] = [
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
        (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ].map { (TextPattern.literal(Array($0.0.utf8)), Array($0.1.utf8)) }

    // MARK: - Vocabulary

    /// One more than the largest id of the model vocabulary and the added tokens.
    public let vocabSize: Int

    /// The id of a token string: an added token's content or a vocabulary entry (in the byte-level
    /// alphabet for byte-level models, e.g. "Ġthe").
    public func tokenID(_ token: String) -> Int? {
        added.tokenID(token) ?? model.tokenID(token)
    }

    /// The token string of an id (added tokens first, as HF).
    public func tokenString(_ id: Int) -> String? {
        added.idToContent[id] ?? model.token(id)
    }

    /// The bytes token `id` adds to decoded text in the middle of a sequence: what `decode` concatenates before
    /// turning bytes into text (byte-level stand-ins mapped back, SentencePiece's `▁` as a space, a `<0xNN>`
    /// byte-fallback token as its byte). nil for special tokens and ids with no token.
    ///
    /// Why: a constraint on generated text (e.g. a JSON grammar) must know what each token would append. A
    /// token's bytes may be part of a UTF-8 character (byte-level BPE pieces, byte-fallback tokens), so they are
    /// bytes, not a String. Two decoder effects act on the whole text rather than on a token and are left out:
    /// a `Strip` decoder's removal of the text's first space(s) (SentencePiece), and `clean_up_tokenization`
    /// (" ." → "."); both only ever remove spaces.
    public func tokenBytes(_ id: Int) -> [UInt8]? {
        guard let t = tokenString(id) else { return nil }
        if added.specialIDs.contains(id) { return nil }
        guard let decoder else { return Array(t.utf8) }
        return decoder.pieceBytes(Array(t.utf8))
    }

    /// The token the post-processor puts before the text when special tokens are added
    /// (Llama-3: `<|begin_of_text|>`; Qwen2.5 and GPT-2: none).
    public let bosTokenID: Int?

    /// Whether `encode(_:addSpecialTokens: true)` starts with `bosTokenID`.
    public var addsBOS: Bool { bosTokenID != nil }

    /// The ids of the added tokens marked `special` (skipped by `decode(skipSpecialTokens: true)`).
    public var specialTokenIDs: Set<Int> { added.specialIDs }
}
