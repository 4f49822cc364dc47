import Foundation
import SealCore
import SealModel

/// PEFT's on-disk LoRA layout: `adapter_config.json` + `adapter_model.safetensors` with PEFT's tensor names
/// (`base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight`, A [r, in], B [out, r]). What seal writes loads
/// in PEFT and vLLM; what PEFT writes loads here.
public enum PEFTAdapter {
    public static func save(_ lora: LoRAAdapter, to dir: URL, baseModel: String) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cfg: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": lora.config.rank, "lora_alpha": lora.config.alpha,
            "lora_dropout": 0.0, "target_modules": lora.config.targets.map(\.rawValue), "bias": "none",
            "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true, "use_rslora": false,
            "use_dora": false, "modules_to_save": NSNull(), "layers_to_transform": NSNull(), "layers_pattern": NSNull(),
            "rank_pattern": [String: Any](), "alpha_pattern": [String: Any](), "revision": NSNull(),
            "base_model_name_or_path": baseModel, "auto_mapping": NSNull(), "megatron_config": NSNull(),
            "megatron_core": "megatron.core", "loftq_config": [String: Any](),
        ]
        var entries: [SafeTensorsWriter.Entry] = []
        for m in lora.modules {
            let (a, b) = lora.peftNames(m)
            entries.append(.init(name: a, shape: [lora.config.rank, m.inDim],
                                 data: UnsafeBufferPointer(start: lora.params.pointer + m.a, count: lora.config.rank * m.inDim)))
            entries.append(.init(name: b, shape: [m.outDim, lora.config.rank],
                                 data: UnsafeBufferPointer(start: lora.params.pointer + m.b, count: m.outDim * lora.config.rank)))
        }
        // Weights first, config last: a directory with a config always has its weights.
        try SafeTensorsWriter.write(entries, dtype: .f32, to: dir.appendingPathComponent("adapter_model.safetensors"))
        try Data(JSONWriter.serialize(cfg).utf8).write(to: dir.appendingPathComponent("adapter_config.json"), options: .atomic)
    }

    /// Reads a PEFT LoRA adapter for `model`. Variants seal does not implement (DoRA, per-module rank or alpha
    /// patterns, biases, modules_to_save) are errors naming the key, not silently wrong numbers.
    public static func load(from dir: URL, for model: TransformerModel) throws -> LoRAAdapter {
        let cfgURL = dir.appendingPathComponent("adapter_config.json")
        guard let data = FileManager.default.contents(atPath: cfgURL.path) else { throw ModelError.fileMissing(path: cfgURL.path) }
        guard let j = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.invalidJSON(path: cfgURL.path, reason: "not a JSON object")
        }
        let path = cfgURL.path
        if let t = j["peft_type"] as? String, t != "LORA" { throw ModelError.unsupported(path: path, reason: "peft_type '\(t)' (only LORA)") }
        guard let r = (j["r"] as? NSNumber)?.intValue, r > 0 else { throw ModelError.missingKey(path: path, key: "r") }
        let alpha = (j["lora_alpha"] as? NSNumber)?.doubleValue ?? 8
        if (j["use_dora"] as? Bool) == true { throw ModelError.unsupported(path: path, reason: "use_dora") }
        if let rp = j["rank_pattern"] as? [String: Any], !rp.isEmpty { throw ModelError.unsupported(path: path, reason: "rank_pattern") }
        if let ap = j["alpha_pattern"] as? [String: Any], !ap.isEmpty { throw ModelError.unsupported(path: path, reason: "alpha_pattern") }
        if let b = j["bias"] as? String, b != "none" { throw ModelError.unsupported(path: path, reason: "bias '\(b)'") }
        if let m = j["modules_to_save"], !(m is NSNull) { throw ModelError.unsupported(path: path, reason: "modules_to_save") }
        if let l = j["layers_to_transform"], !(l is NSNull) { throw ModelError.unsupported(path: path, reason: "layers_to_transform") }
        let targetNames: [String]
        if let list = j["target_modules"] as? [String] { targetNames = list }
        else if let s = j["target_modules"] as? String { targetNames = [s] }
        else { throw ModelError.missingKey(path: path, key: "target_modules") }
        let targets = try LoRATarget.parseList(targetNames.joined(separator: ","))
        var config = LoRAConfig(rank: r, alpha: alpha, targets: targets)
        if (j["use_rslora"] as? Bool) == true { config.alpha = alpha * Double(r).squareRoot() }  // scale α/√r = (α√r)/r
        let lora = LoRAAdapter(modelConfig: model.config, config: config)

        var file = dir.appendingPathComponent("adapter_model.safetensors")
        if !FileManager.default.fileExists(atPath: file.path) {
            file = dir.appendingPathComponent("adapter_model.bin")
            if FileManager.default.fileExists(atPath: file.path) {
                throw ModelError.unsupported(path: file.path, reason: "pickled adapter_model.bin (save with safe_serialization=True)")
            }
            throw ModelError.fileMissing(path: dir.appendingPathComponent("adapter_model.safetensors").path)
        }
        let st = try SafeTensorsFile(path: file.path)
        var used = Set<String>()
        for m in lora.modules {
            let (an, bn) = lora.peftNames(m)
            for (name, shape, off) in [(an, [r, m.inDim], m.a), (bn, [m.outDim, r], m.b)] {
                // PEFT names carry the adapter name in older versions ("...lora_A.default.weight").
                let info = st.tensors[name] ?? st.tensors[name.replacingOccurrences(of: ".weight", with: ".default.weight")]
                guard let info else { throw ModelError.missingTensor(path: file.path, name: name) }
                used.insert(info.name)
                guard info.shape == shape else {
                    throw ModelError.tensorShape(path: file.path, name: name, expected: shape, found: info.shape)
                }
                st.read(info, into: lora.params.pointer + off)
            }
        }
        // A tensor seal would not apply (a layer past the model's, a module outside target_modules, an embedding
        // or a bias PEFT saved beside the LoRA weights) would make the adapter silently differ from PEFT's.
        if let extra = st.tensors.keys.filter({ !used.contains($0) }).sorted().first {
            throw ModelError.unexpectedTensor(path: file.path, name: extra,
                                              reason: "not a LoRA A/B weight of target_modules \(targetNames) on this model's \(model.config.numLayers) layers")
        }
        return lora
    }
}
