import Foundation
import SealModel
import SealTokenizer

// The one place a model path becomes a tokenizer: a HuggingFace directory (tokenizer.json) or a `.gguf` file (its
// tokenizer.* metadata). SealTokenizer reads no GGUF and SealModel knows no tokenizer; this module sees both.

extension GGUFTokenizerMetadata {
    /// The tokenizer metadata of a parsed GGUF file. A key of the wrong type is a `ModelError.badValue` naming it;
    /// absent keys stay nil for the conversion to judge.
    public init(file f: GGUFFile) throws {
        self.init(source: f.path)
        func has(_ k: String) -> Bool { f.value(k) != nil }
        architecture = has("general.architecture") ? try f.string("general.architecture") : nil
        model = has("tokenizer.ggml.model") ? try f.string("tokenizer.ggml.model") : nil
        pre = has("tokenizer.ggml.pre") ? try f.string("tokenizer.ggml.pre") : nil
        tokens = has("tokenizer.ggml.tokens") ? try f.strings("tokenizer.ggml.tokens") : nil
        scores = has("tokenizer.ggml.scores") ? try f.floats(key: "tokenizer.ggml.scores") : nil
        tokenTypes = has("tokenizer.ggml.token_type") ? try f.ints("tokenizer.ggml.token_type") : nil
        merges = has("tokenizer.ggml.merges") ? try f.strings("tokenizer.ggml.merges") : nil
        bosID = has("tokenizer.ggml.bos_token_id") ? try f.int("tokenizer.ggml.bos_token_id") : nil
        eosID = has("tokenizer.ggml.eos_token_id") ? try f.int("tokenizer.ggml.eos_token_id") : nil
        unkID = has("tokenizer.ggml.unknown_token_id") ? try f.int("tokenizer.ggml.unknown_token_id") : nil
        padID = has("tokenizer.ggml.padding_token_id") ? try f.int("tokenizer.ggml.padding_token_id") : nil
        addBOS = has("tokenizer.ggml.add_bos_token") ? try f.bool("tokenizer.ggml.add_bos_token", default: false) : nil
        addEOS = has("tokenizer.ggml.add_eos_token") ? try f.bool("tokenizer.ggml.add_eos_token", default: false) : nil
        addSpacePrefix = has("tokenizer.ggml.add_space_prefix") ? try f.bool("tokenizer.ggml.add_space_prefix", default: true) : nil
        chatTemplate = has("tokenizer.chat_template") ? try f.string("tokenizer.chat_template") : nil
        if let arch = architecture, has(arch + ".vocab_size") {
            vocabularySizes.append((arch + ".vocab_size", try f.int(arch + ".vocab_size")))
        }
        if let e = f.tensor("token_embd.weight"), e.shape.count == 2 { vocabularySizes.append(("token_embd.weight", e.shape[0])) }
    }
}

extension Tokenizer {
    /// Whether a model path names a GGUF file rather than a HuggingFace directory.
    public static func isGGUF(_ url: URL) -> Bool { url.pathExtension.lowercased() == "gguf" }

    /// The tokenizer of a model: `model/tokenizer.json` (+ tokenizer_config.json) for a directory, the tokenizer.*
    /// metadata for a `.gguf` file (as transformers' `AutoTokenizer.from_pretrained(dir, gguf_file=…)`, see
    /// `GGUFTokenizerConversion`).
    public convenience init(model url: URL) throws {
        guard Tokenizer.isGGUF(url) else {
            try self.init(directory: url)
            return
        }
        try self.init(gguf: try GGUFTokenizerMetadata(file: GGUFFile(path: url.path)))
    }
}

extension TransformerModel {
    /// Writes this model (e.g. a finetuned copy of `base`) as a HuggingFace directory with `base`'s config and
    /// tokenizer files: copied from a base directory (every file but the weights and their index), or for a `.gguf`
    /// base converted from its metadata as `seal model convert` does (config.json from the `<arch>.*` keys,
    /// tokenizer.json, tokenizer_config.json with the chat template, special_tokens_map.json).
    public func saveDirectory(to dir: URL, base: URL, dtype: DType = .f32) throws {
        let fm = FileManager.default
        if Tokenizer.isGGUF(base) {
            let gguf = try GGUFFile(path: base.path)
            let tok = try GGUFTokenizerConversion(try GGUFTokenizerMetadata(file: gguf))
            var (config, _) = try ModelConfig.ggufConfigJSON(gguf)
            config["hidden_act"] = "silu"
            try save(to: dir, configJSON: config, dtype: dtype)
            try Data(tok.tokenizerJSON.utf8).write(to: dir.appendingPathComponent("tokenizer.json"), options: .atomic)
            try Data(tok.tokenizerConfigJSON().utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"), options: .atomic)
            try Data(tok.specialTokensMapJSON().utf8).write(to: dir.appendingPathComponent("special_tokens_map.json"), options: .atomic)
            return
        }
        let cfgURL = base.appendingPathComponent("config.json")
        let data: Data
        do { data = try Data(contentsOf: cfgURL) } catch { throw ModelError.fileMissing(path: cfgURL.path) }
        guard let cfg = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.invalidJSON(path: cfgURL.path, reason: "not a JSON object")
        }
        try save(to: dir, configJSON: cfg, dtype: dtype)
        let skip: Set<String> = ["config.json", "generation_config.json", "model.safetensors.index.json"]
        for name in try fm.contentsOfDirectory(atPath: base.path) where !skip.contains(name) && !name.hasSuffix(".safetensors") {
            var isDir: ObjCBool = false
            let src = base.appendingPathComponent(name), dst = dir.appendingPathComponent(name)
            if fm.fileExists(atPath: src.path, isDirectory: &isDir), !isDir.boolValue {
                try? fm.removeItem(at: dst)
                try fm.copyItem(at: src, to: dst)
            }
        }
    }
}
