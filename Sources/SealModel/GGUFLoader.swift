import Foundation

// A Llama or Qwen2 model from a GGUF file (llama.cpp's layout), as transformers 4.47.1 loads one with
// `from_pretrained(dir, gguf_file=...)`: the config from the `<arch>.*` keys, every tensor dequantized to float32,
// llama.cpp's names mapped to HuggingFace's, and for `llama` the rows of Q and K put back in HuggingFace's rotary
// order (llama.cpp's converter interleaves the two halves of each head; Qwen2 files are not permuted).

extension ModelConfig {
    /// The HuggingFace config key each `<arch>.` key of GGUF gives (transformers' GGUF_CONFIG_MAPPING).
    static let ggufKeys: [(gguf: String, hf: String)] = [
        ("embedding_length", "hidden_size"), ("feed_forward_length", "intermediate_size"),
        ("block_count", "num_hidden_layers"), ("attention.head_count", "num_attention_heads"),
        ("attention.head_count_kv", "num_key_value_heads"), ("attention.key_length", "head_dim"),
        ("context_length", "max_position_embeddings"), ("attention.layer_norm_rms_epsilon", "rms_norm_eps"),
        ("rope.freq_base", "rope_theta"),
    ]

    /// The HuggingFace config.json keys of a GGUF file (what `fromGGUF` validates, and what `seal model convert`
    /// writes), with its family.
    public static func ggufConfigJSON(_ f: GGUFFile) throws -> (json: [String: Any], family: Family) {
        let path = f.path
        let arch = try f.string("general.architecture")
        guard let family = Family(rawValue: arch) else {
            throw ModelError.unsupported(path: path, reason: "architecture '\(arch)' (general.architecture; seal supports 'llama' and 'qwen2')")
        }
        let p = arch + "."
        var j: [String: Any] = ["model_type": arch]
        for (g, hf) in ggufKeys where f.value(p + g) != nil {
            if hf == "rms_norm_eps" || hf == "rope_theta" {
                let x = try f.double(p + g)
                guard x.isFinite else { throw ModelError.badValue(path: path, key: p + g, reason: "must be finite, found \(x)") }
                j[hf] = x
            } else {
                j[hf] = try f.int(p + g)
            }
        }
        // transformers takes a llama's head_dim from rope.dimension_count (the two agree in llama.cpp's files).
        if family == .llama, j["head_dim"] == nil, f.value(p + "rope.dimension_count") != nil {
            j["head_dim"] = try f.int(p + "rope.dimension_count")
        }
        for (g, hf) in [("embedding_length", "hidden_size"), ("feed_forward_length", "intermediate_size"),
                        ("block_count", "num_hidden_layers"), ("attention.head_count", "num_attention_heads")] where j[hf] == nil {
            throw ModelError.missingKey(path: path, key: p + g)
        }
        if let scaling = f.value(p + "rope.scaling.type"), scaling.string != "none" {
            throw ModelError.unsupported(path: path, reason: "\(p)rope.scaling.type '\(scaling.string ?? scaling.typeName)' (seal reads GGUF files without rotary scaling)")
        }

        // Vocabulary: the embedding's rows; the token list and <arch>.vocab_size, where present, must agree.
        guard let embd = f.tensor("token_embd.weight") else { throw ModelError.missingTensor(path: path, name: "token_embd.weight") }
        guard embd.dims.count == 2 else {
            throw ModelError.gguf(path: path, reason: "tensor 'token_embd.weight' has shape \(embd.shape), expected [vocab, hidden]")
        }
        let vocab = embd.shape[0]
        if f.value("tokenizer.ggml.tokens") != nil {
            let n = try f.array("tokenizer.ggml.tokens").count
            guard n == vocab else {
                throw ModelError.badValue(path: path, key: "tokenizer.ggml.tokens",
                                          reason: "\(n) tokens, but token_embd.weight has \(vocab) rows (the vocabulary size disagrees with the embedding)")
            }
        }
        if f.value(p + "vocab_size") != nil {
            let n = try f.int(p + "vocab_size")
            guard n == vocab else {
                throw ModelError.badValue(path: path, key: p + "vocab_size",
                                          reason: "\(n), but token_embd.weight has \(vocab) rows (the vocabulary size disagrees with the embedding)")
            }
        }
        j["vocab_size"] = vocab
        j["tie_word_embeddings"] = f.tensor("output.weight") == nil
        for (g, hf) in [("bos_token_id", "bos_token_id"), ("eos_token_id", "eos_token_id"), ("padding_token_id", "pad_token_id")]
        where f.value("tokenizer.ggml." + g) != nil {
            j[hf] = try f.int("tokenizer.ggml." + g)
        }

        return (j, family)
    }

    /// The config of a GGUF file: `general.architecture` (llama or qwen2), the `<arch>.*` keys, the vocabulary size
    /// (the embedding's rows, which the token list and `<arch>.vocab_size` must agree with), tied embeddings when
    /// there is no `output.weight`, and the BOS/EOS/padding ids of `tokenizer.ggml.*`. Validated by the same rules
    /// as config.json, errors naming the GGUF key.
    public static func fromGGUF(_ f: GGUFFile) throws -> ModelConfig {
        let path = f.path
        let (j, family) = try ggufConfigJSON(f)
        let p = family.rawValue + "."
        // config.json's validation, with the GGUF key named in its errors.
        var c: ModelConfig
        do {
            // Through JSON text, as config.json is read (the same number and bool handling).
            let data: Data
            do { data = try JSONSerialization.data(withJSONObject: j) } catch {
                throw ModelError.gguf(path: path, reason: "metadata cannot be expressed as a config: \(error)")
            }
            c = try ModelConfig.parse(data: data, path: path)
        } catch ModelError.badValue(let pth, let key, let reason) {
            let g = ggufKeys.first { $0.hf == key }.map { p + $0.gguf }
                ?? (key == "vocab_size" ? "token_embd.weight" : key.hasSuffix("token_id") ? "tokenizer.ggml.\(key == "pad_token_id" ? "padding_token_id" : key)" : key)
            throw ModelError.badValue(path: pth, key: g, reason: reason)
        }
        // The float32 values exactly as the file holds them (the JSON text may round the last digit).
        if let x = j["rms_norm_eps"] as? Double { c.rmsNormEps = x }
        if let x = j["rope_theta"] as? Double { c.ropeTheta = x }
        if f.value(p + "attention.value_length") != nil {
            let n = try f.int(p + "attention.value_length")
            guard n == c.headDim else {
                throw ModelError.unsupported(path: path, reason: "\(p)attention.value_length \(n) differs from the key length \(c.headDim)")
            }
        }
        if let dims = f.value(p + "rope.dimension_count") {
            guard dims.integer == c.headDim else {
                throw ModelError.unsupported(path: path, reason: "\(p)rope.dimension_count \(dims.integer.map(String.init) ?? dims.typeName) differs from the head dimension \(c.headDim) (partial rotary embedding)")
            }
        }
        return c
    }
}

extension TransformerModel {
    /// The llama.cpp name of a seal (HuggingFace) tensor name.
    static func ggufName(_ hf: String) -> String {
        switch hf {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        guard let l = layerIndex(hf) else { return hf }
        let rest = String(hf.dropFirst("model.layers.\(l).".count))
        let parts: [(String, String)] = [
            ("input_layernorm.", "attn_norm."), ("self_attn.q_proj.", "attn_q."), ("self_attn.k_proj.", "attn_k."),
            ("self_attn.v_proj.", "attn_v."), ("self_attn.o_proj.", "attn_output."),
            ("post_attention_layernorm.", "ffn_norm."), ("mlp.gate_proj.", "ffn_gate."), ("mlp.up_proj.", "ffn_up."),
            ("mlp.down_proj.", "ffn_down."),
        ]
        for (h, g) in parts where rest.hasPrefix(h) { return "blk.\(l).\(g)" + rest.dropFirst(h.count) }
        return hf
    }

    /// The layer index of a tensor named `blk.N.…`, or nil.
    static func ggufLayerIndex(_ name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        let rest = name.dropFirst(4)
        guard let dot = rest.firstIndex(of: "."), dot > rest.startIndex, rest.distance(from: rest.startIndex, to: dot) <= 6 else { return nil }
        return Int(rest[rest.startIndex..<dot])
    }

    /// Loads a `.gguf` file (llama or qwen2), dequantizing every tensor to float32. Every tensor the config implies
    /// must be present with the implied shape and every tensor in the file used, all checked before the parameter
    /// buffer is allocated.
    public static func load(gguf url: URL) throws -> TransformerModel {
        let file = try GGUFFile(path: url.path)
        return try load(gguf: file)
    }

    public static func load(gguf file: GGUFFile) throws -> TransformerModel {
        let path = file.path
        let config = try ModelConfig.fromGGUF(file)
        // The layers the file holds against block_count, before a layout of block_count layers is built.
        var fileLayers = 0
        for t in file.tensors {
            guard let l = ggufLayerIndex(t.name) else { continue }
            if l >= config.numLayers {
                throw ModelError.unexpectedTensor(path: path, name: t.name, reason: "\(config.family.rawValue).block_count is \(config.numLayers)")
            }
            fileLayers = max(fileLayers, l + 1)
        }
        if config.numLayers > fileLayers {
            throw ModelError.missingTensor(path: path, name: "blk.\(fileLayers).attn_norm.weight")
        }
        if file.tensor("rope_freqs.weight") != nil {
            throw ModelError.unsupported(path: path, reason: "tensor 'rope_freqs.weight' (Llama 3.1-style rotary frequency factors)")
        }

        let layout = ParameterLayout(config: config)
        var plan: [(entry: ParameterLayout.Entry, tensor: GGUFTensorInfo, permuteHeads: Int?)] = []
        var used = Set<String>()
        var scratch = 0
        for e in layout.entries {
            let name = ggufName(e.name)
            guard let t = file.tensor(name) else { throw ModelError.missingTensor(path: path, name: name) }
            guard t.shape == e.shape else {
                throw ModelError.tensorShape(path: path, name: name, expected: e.shape, found: t.shape)
            }
            guard t.type.canDequantize else {
                throw ModelError.unsupported(path: path, reason: "tensor '\(name)' has type \(t.type.name); seal dequantizes \(GGMLType.dequantizable.map(\.name).joined(separator: ", "))")
            }
            // llama.cpp's convert_hf_to_gguf.py permutes the rows of Q and K (weights and biases) of `llama` models.
            var heads: Int?
            if config.family == .llama {
                if name.contains(".attn_q.") { heads = config.numHeads } else if name.contains(".attn_k.") { heads = config.numKVHeads }
            }
            if heads != nil { scratch = max(scratch, t.count) }
            plan.append((e, t, heads))
            used.insert(name)
        }
        for t in file.tensors where !used.contains(t.name) {
            throw ModelError.unexpectedTensor(path: path, name: t.name,
                                              reason: "the \(config.family.rawValue) architecture in general.architecture has no such tensor")
        }

        let model = TransformerModel(config: config, layout: layout)
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: max(scratch, 1))
        defer { tmp.deallocate() }
        for (e, t, heads) in plan {
            let dst = model.params.pointer + e.offset
            guard let heads else { try file.dequantize(t, into: dst); continue }
            try file.dequantize(t, into: tmp)
            let rows = e.shape[0], cols = e.shape.count > 1 ? e.shape[1] : 1
            unpermuteRotaryRows(dst, tmp, rows: rows, cols: cols, heads: heads)
        }
        var types = Set<String>()
        for t in file.tensors { types.insert(t.type.name) }
        model.checkpoint = CheckpointInfo(dtypes: types.sorted(), files: [URL(fileURLWithPath: path).lastPathComponent],
                                          ignoredTensors: [], format: "gguf")
        return model
    }
}

/// dst[rows, cols] ← src[rows, cols] with the rows of each of `heads` heads (rows/heads = 2·half each) taken back from
/// llama.cpp's interleaved rotary order: dst row (h, t, j) = src row (h, j, t) for t < 2, j < half. This is
/// transformers' `reverse_permute_weights` (w.reshape(heads, half, 2, cols).swapaxes(1, 2)).
func unpermuteRotaryRows(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: Int, cols: Int, heads: Int) {
    let headRows = rows / heads, half = headRows / 2
    for h in 0..<heads {
        for t in 0..<2 {
            for j in 0..<half {
                let to = h * headRows + t * half + j, from = h * headRows + 2 * j + t
                (dst + to * cols).update(from: src + from * cols, count: cols)
            }
        }
    }
}
