import Foundation
import SealCore
import SealKernels

extension TransformerModel {
    /// Fills the parameters with random weights that have real spread, deterministically from `seed`.
    ///
    /// HF's own init (normal, std 0.02) gives near-uniform logits, under which a wrong mask or a swapped rotary half
    /// changes the output by less than any tolerance; these weights make every component matter: embeddings N(0, 1),
    /// projections N(0, 1/fan_in) (activations keep unit scale through the depth), biases N(0, 0.1²), norm weights
    /// uniform in [0.5, 1.5], an untied head N(0, 4/hidden).
    public func randomize(seed: UInt64) {
        let rng = CounterRNG(seed: seed)
        for (t, e) in layout.entries.enumerated() {
            let p = params.pointer + e.offset
            let n = e.count
            let name = e.name
            let stream = UInt64(t + 1)
            if name.hasSuffix("norm.weight") {
                Parallel.chunks(n, costPerItem: 16) { s, end in
                    for i in s..<end { p[i] = Float(0.5 + rng.uniform(stream: stream, index: UInt64(i))) }
                }
                continue
            }
            let std: Double
            if name == "model.embed_tokens.weight" { std = 1 }
            else if name == "lm_head.weight" { std = 2 / Double(config.hiddenSize).squareRoot() }
            else if name.hasSuffix(".bias") { std = 0.1 }
            else { std = 1 / Double(e.shape[1]).squareRoot() }
            Parallel.chunks(n, costPerItem: 32) { s, end in
                var i = s
                while i < end {
                    // Box–Muller gives two normals per pair of uniforms: element 2k takes the cosine, 2k+1 the sine.
                    let pair = UInt64(i / 2)
                    let u1 = 1 - rng.uniform(stream: stream, index: 2 &* pair)
                    let u2 = rng.uniform(stream: stream, index: 2 &* pair &+ 1)
                    let radius = std * (-2 * Foundation.log(u1)).squareRoot()
                    let angle = 2 * Double.pi * u2
                    if i % 2 == 0 { p[i] = Float(radius * Foundation.cos(angle)); i += 1 }
                    if i < end { p[i] = Float(radius * Foundation.sin(angle)); i += 1 }
                }
            }
        }
    }

    /// Fills the parameters for training from scratch, deterministically from `seed`: the usual language-model
    /// init (GPT-2's, as HF's `_init_weights` with `initializer_range`): embeddings and projections N(0, std²), the
    /// projections that write into the residual stream (`o_proj`, `down_proj`) N(0, std²/(2·layers)) so the
    /// residual's scale does not grow with depth, norm weights 1, biases 0. (`randomize` is for tests: weights
    /// with real spread; its peaked logits would start training from a huge loss.)
    public func initializeForTraining(seed: UInt64, std: Double) {
        let rng = CounterRNG(seed: seed)
        let residualStd = std / (2 * Double(config.numLayers)).squareRoot()
        for (t, e) in layout.entries.enumerated() {
            let p = params.pointer + e.offset
            let n = e.count
            let name = e.name
            if name.hasSuffix("norm.weight") { p.update(repeating: 1, count: n); continue }
            if name.hasSuffix(".bias") { p.update(repeating: 0, count: n); continue }
            let s = name.hasSuffix("o_proj.weight") || name.hasSuffix("down_proj.weight") ? residualStd : std
            let stream = UInt64(t + 1)
            Parallel.chunks(n, costPerItem: 32) { start, end in
                for i in start..<end { p[i] = Float(s * rng.normal(stream: stream, index: UInt64(i))) }
            }
        }
    }

    /// Writes the parameters as a HuggingFace model directory: `config.json` (the given JSON with `torch_dtype`
    /// set), `generation_config.json`, and `model.safetensors` — or, when `maxShardBytes` is given and exceeded,
    /// shards `model-0000i-of-0000n.safetensors` with `model.safetensors.index.json`, as `save_pretrained` does.
    public func save(to dir: URL, configJSON: [String: Any], dtype: DType, maxShardBytes: Int? = nil) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        var cfg = configJSON
        cfg["torch_dtype"] = dtype.torchName
        cfg.removeValue(forKey: "dtype")
        if cfg["architectures"] == nil {
            cfg["architectures"] = [config.family == .qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM"]
        }
        try Data(JSONWriter.serialize(cfg).utf8).write(to: dir.appendingPathComponent("config.json"), options: .atomic)
        var gen: [String: Any] = ["_from_model_config": true]
        if let b = config.bosTokenID { gen["bos_token_id"] = b }
        if !config.eosTokenIDs.isEmpty { gen["eos_token_id"] = config.eosTokenIDs.count == 1 ? config.eosTokenIDs[0] : config.eosTokenIDs }
        try Data(JSONWriter.serialize(gen).utf8).write(to: dir.appendingPathComponent("generation_config.json"), options: .atomic)

        let entries = layout.entries.map { e in
            SafeTensorsWriter.Entry(name: e.name, shape: e.shape,
                                    data: UnsafeBufferPointer(start: params.pointer + e.offset, count: e.count))
        }
        // Split into shards in layout order, each under the byte limit (a single tensor may exceed it alone).
        var shards: [[SafeTensorsWriter.Entry]] = [[]]
        var bytes = 0
        for e in entries {
            let b = e.data.count * dtype.size
            if let limit = maxShardBytes, bytes + b > limit, !shards[shards.count - 1].isEmpty {
                shards.append([]); bytes = 0
            }
            shards[shards.count - 1].append(e)
            bytes += b
        }
        for name in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] where name.hasSuffix(".safetensors") || name == "model.safetensors.index.json" {
            try fm.removeItem(at: dir.appendingPathComponent(name))
        }
        if shards.count == 1 {
            try SafeTensorsWriter.write(shards[0], dtype: dtype, to: dir.appendingPathComponent("model.safetensors"))
            return
        }
        var weightMap: [String: String] = [:]
        let n = shards.count
        for (i, shard) in shards.enumerated() {
            let file = String(format: "model-%05d-of-%05d.safetensors", i + 1, n)
            try SafeTensorsWriter.write(shard, dtype: dtype, to: dir.appendingPathComponent(file))
            for e in shard { weightMap[e.name] = file }
        }
        let index: [String: Any] = ["metadata": ["total_size": entries.reduce(0) { $0 + $1.data.count * dtype.size }],
                                    "weight_map": weightMap]
        try Data(JSONWriter.serialize(index).utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"), options: .atomic)
    }

    /// `seal model init`: a random model of the shape in `configURL`, written to `out` with its tokenizer files.
    /// `trainingStd`: initialise for training from scratch (`initializeForTraining`) instead of `randomize`.
    public static func initDirectory(configURL: URL, out: URL, seed: UInt64, dtype: DType,
                                     tokenizerDirectory: URL?, maxShardBytes: Int? = nil,
                                     trainingStd: Double? = nil) throws -> TransformerModel {
        let json = try JSONObject.load(configURL)
        let config = try ModelConfig.parse(json)
        // parse bounded the count by 2^40; the float32 buffer must also fit this machine's memory.
        let n = ParameterLayout.parameterCount(config) ?? Int.max
        let memory = ProcessInfo.processInfo.physicalMemory
        if n > 0, UInt64(n) > memory / 4 {
            throw ModelError.unsupported(path: configURL.path, reason: "the config implies \(n) parameters (\(n / 250_000_000) GB in float32), more than this machine's \(memory >> 30) GiB of memory")
        }
        let model = TransformerModel(config: config)
        if let std = trainingStd { model.initializeForTraining(seed: seed, std: std) } else { model.randomize(seed: seed) }
        try model.save(to: out, configJSON: json.dict, dtype: dtype, maxShardBytes: maxShardBytes)
        if let tok = tokenizerDirectory {
            let files = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                         "merges.txt", "added_tokens.json", "tokenizer.model"]
            var copied = 0
            for f in files {
                let src = tok.appendingPathComponent(f)
                guard FileManager.default.fileExists(atPath: src.path) else { continue }
                let dst = out.appendingPathComponent(f)
                try? FileManager.default.removeItem(at: dst)
                try FileManager.default.copyItem(at: src, to: dst)
                copied += 1
            }
            if !FileManager.default.fileExists(atPath: tok.appendingPathComponent("tokenizer.json").path) {
                throw ModelError.fileMissing(path: tok.appendingPathComponent("tokenizer.json").path)
            }
        }
        return model
    }
}
