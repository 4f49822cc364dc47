import Foundation

/// What is on disk in a model directory, beside the weights themselves.
public struct CheckpointInfo: Sendable {
    /// The dtypes found across the weight files (e.g. ["bfloat16"]).
    public var dtypes: [String]
    public var files: [String]
    /// Tensors in the files that seal does not use (e.g. old `rotary_emb.inv_freq` buffers).
    public var ignoredTensors: [String]
}

extension TransformerModel {
    /// Loads a HuggingFace model directory: `config.json` plus `model.safetensors`, or the shards listed in
    /// `model.safetensors.index.json`. Every tensor the config implies must be present with the implied shape; the
    /// weights are converted to float32 into the one parameter buffer.
    public static func load(directory: URL) throws -> TransformerModel {
        let config = try ModelConfig.load(from: directory.appendingPathComponent("config.json"))
        var generationEOS: [Int] = []
        let genURL = directory.appendingPathComponent("generation_config.json")
        if FileManager.default.fileExists(atPath: genURL.path) {
            let g = try JSONObject.load(genURL)
            generationEOS = try g.intList("eos_token_id")
        }
        let model = TransformerModel(config: config)
        model.generationEOSTokenIDs = generationEOS
        model.checkpoint = try model.loadWeights(directory: directory)
        return model
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

    func loadWeights(directory: URL) throws -> CheckpointInfo {
        let (files, owner) = try Self.weightFiles(directory: directory)
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
            files[fi].read(info, into: params.pointer + e.offset)
            used.insert(name)
        }
        var ignored: [String] = []
        var dtypes = Set<String>()
        for (name, fi) in owner {
            if let info = files[fi].tensors[name] { dtypes.insert(info.dtype.torchName) }
            if !used.contains(name) { ignored.append(name) }
        }
        if config.tieWordEmbeddings { ignored.removeAll { $0 == "lm_head.weight" } }
        return CheckpointInfo(dtypes: dtypes.sorted(), files: files.map { URL(fileURLWithPath: $0.path).lastPathComponent },
                              ignoredTensors: ignored.sorted())
    }
}
