import Foundation

/// What is on disk in a model directory, beside the weights themselves.
public struct CheckpointInfo: Sendable {
    /// The dtypes found across the weight files (e.g. ["bfloat16"]).
    public var dtypes: [String]
    public var files: [String]
    /// Tensors in the files that seal does not use (e.g. old `rotary_emb.inv_freq` buffers).
    public var ignoredTensors: [String]
    /// "safetensors" (a HuggingFace directory) or "gguf" (a llama.cpp file; `dtypes` then lists its ggml tensor
    /// types, e.g. ["F32", "Q4_1", "Q8_0"]).
    public var format: String = "safetensors"
}

extension TransformerModel {
    /// Loads a HuggingFace model directory: `config.json` plus `model.safetensors`, or the shards listed in
    /// `model.safetensors.index.json`. Every tensor the config implies must be present with the implied shape; the
    /// weights are converted to float32 into the one parameter buffer. A URL ending in `.gguf` is a llama.cpp file
    /// instead (see `load(gguf:)`).
    public static func load(directory: URL) throws -> TransformerModel {
        if directory.pathExtension.lowercased() == "gguf" { return try load(gguf: directory) }
        let config = try ModelConfig.load(from: directory.appendingPathComponent("config.json"))
        var generationEOS: [Int] = []
        let genURL = directory.appendingPathComponent("generation_config.json")
        if FileManager.default.fileExists(atPath: genURL.path) {
            let g = try JSONObject.load(genURL)
            generationEOS = try g.intList("eos_token_id")
        }
        // Every tensor is checked against the headers (present, shape, nothing extra) before the parameter buffer
        // is allocated: a config that claims 10,000 layers of a 2.6 MB checkpoint fails here, not after 7 GB.
        let (files, owner) = try weightFiles(directory: directory)
        try checkLayerCount(config: config, files: files, owner: owner, directory: directory)
        let layout = ParameterLayout(config: config)
        let plan = try plan(layout: layout, config: config, files: files, owner: owner, directory: directory)
        let model = TransformerModel(config: config, layout: layout)
        model.generationEOSTokenIDs = generationEOS
        for (e, fi, info) in plan { files[fi].read(info, into: model.params.pointer + e.offset) }
        model.checkpoint = plan.checkpoint
        return model
    }

    /// The layer index of a tensor named `model.layers.N.…`, or nil.
    static func layerIndex(_ name: String) -> Int? {
        let prefix = "model.layers."
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), dot > rest.startIndex else { return nil }
        return Int(rest[rest.startIndex..<dot])
    }

    /// Compares `num_hidden_layers` with the layers the files hold, before the layout (one entry per tensor) is built.
    static func checkLayerCount(config: ModelConfig, files: [SafeTensorsFile], owner: [String: Int], directory: URL) throws {
        var fileLayers = 0
        var beyond: String?
        for name in owner.keys.sorted() {
            guard let l = layerIndex(name) else { continue }
            fileLayers = max(fileLayers, l + 1)
            if l >= config.numLayers, beyond == nil { beyond = name }
        }
        let where_ = { (name: String) in owner[name].map { files[$0].path } ?? (files.count == 1 ? files[0].path : directory.path) }
        if let name = beyond {
            throw ModelError.unexpectedTensor(path: where_(name), name: name,
                                              reason: "config.json has num_hidden_layers \(config.numLayers)")
        }
        if config.numLayers > fileLayers {
            throw ModelError.missingTensor(path: files.count == 1 ? files[0].path : directory.path,
                                           name: "model.layers.\(fileLayers).input_layernorm.weight")
        }
    }

    struct LoadPlan: Sequence {
        var items: [(ParameterLayout.Entry, Int, TensorInfo)]
        var checkpoint: CheckpointInfo
        func makeIterator() -> IndexingIterator<[(ParameterLayout.Entry, Int, TensorInfo)]> { items.makeIterator() }
    }

    /// Which file and tensor fills each layout entry; every expected tensor must exist with the implied shape, and
    /// every tensor in the files must be used, except rotary `inv_freq` buffers (older transformers saved them; they
    /// are recomputed from the config) and a tied `lm_head.weight`.
    static func plan(layout: ParameterLayout, config: ModelConfig, files: [SafeTensorsFile], owner: [String: Int],
                     directory: URL) throws -> LoadPlan {
        var items: [(ParameterLayout.Entry, Int, TensorInfo)] = []
        var used = Set<String>()
        for e in layout.entries {
            // With tied embeddings, save_pretrained keeps only one of the two shared tensors, and it may be either.
            var name = e.name
            if config.tieWordEmbeddings, name == "model.embed_tokens.weight", owner[name] == nil, owner["lm_head.weight"] != nil {
                name = "lm_head.weight"
            }
            guard let fi = owner[name], let info = files[fi].tensors[name] else {
                throw ModelError.missingTensor(path: files.count == 1 ? files[0].path : directory.path, name: e.name)
            }
            guard info.shape == e.shape else {
                throw ModelError.tensorShape(path: files[fi].path, name: e.name, expected: e.shape, found: info.shape)
            }
            items.append((e, fi, info))
            used.insert(name)
        }
        var ignored: [String] = []
        var dtypes = Set<String>()
        for (name, fi) in owner.sorted(by: { $0.key < $1.key }) {
            if let info = files[fi].tensors[name] { dtypes.insert(info.dtype.torchName) }
            if used.contains(name) { continue }
            if name.hasSuffix(".rotary_emb.inv_freq") { ignored.append(name); continue }
            if config.tieWordEmbeddings, name == "lm_head.weight" { continue }
            throw ModelError.unexpectedTensor(path: files[fi].path, name: name,
                                              reason: "the architecture in config.json has no such tensor")
        }
        return LoadPlan(items: items, checkpoint: CheckpointInfo(
            dtypes: dtypes.sorted(), files: files.map { URL(fileURLWithPath: $0.path).lastPathComponent },
            ignoredTensors: ignored))
    }

    /// The safetensors files of a directory, and which file holds each tensor.
    static func weightFiles(directory: URL) throws -> (files: [SafeTensorsFile], owner: [String: Int]) {
        let single = directory.appendingPathComponent("model.safetensors")
        let indexURL = directory.appendingPathComponent("model.safetensors.index.json")
        var names: [String] = []
        var ownerName: [String: String] = [:]
        if FileManager.default.fileExists(atPath: indexURL.path) {
            let idx = try JSONObject.load(indexURL)
            guard let map = idx.dict["weight_map"] as? [String: Any] else {
                throw ModelError.missingKey(path: indexURL.path, key: "weight_map")
            }
            for (tensor, f) in map {
                guard let file = f as? String else {
                    throw ModelError.badValue(path: indexURL.path, key: "weight_map.\(tensor)", reason: "expected a file name")
                }
                ownerName[tensor] = file
                if !names.contains(file) { names.append(file) }
            }
            names.sort()
        } else if FileManager.default.fileExists(atPath: single.path) {
            names = ["model.safetensors"]
        } else {
            throw ModelError.fileMissing(path: single.path + " (nor model.safetensors.index.json)")
        }
        let files = try names.map { try SafeTensorsFile(path: directory.appendingPathComponent($0).path) }
        var owner: [String: Int] = [:]
        for (i, f) in files.enumerated() {
            for t in f.tensors.keys {
                if let o = ownerName[t], o != names[i] { continue }
                owner[t] = i
            }
        }
        for (t, f) in ownerName where owner[t] == nil {
            throw ModelError.missingTensor(path: directory.appendingPathComponent(f).path, name: t)
        }
        return (files, owner)
    }
}

extension ModelConfig {
    /// The configuration of the model at `url` without loading its weights: a directory's `config.json`, or a
    /// `.gguf` file's `<arch>.*` metadata (the file is memory-mapped; no tensor is read).
    public static func load(model url: URL) throws -> ModelConfig {
        if url.pathExtension.lowercased() == "gguf" { return try fromGGUF(try GGUFFile(path: url.path)) }
        return try load(from: url.appendingPathComponent("config.json"))
    }
}
