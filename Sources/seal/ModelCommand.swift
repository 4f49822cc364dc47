import ArgumentParser
import Foundation
import SealGenerate
import SealKernels
import SealModel
import SealTokenizer

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Inspect, create or convert models.",
        subcommands: [Info.self, Init.self, Convert.self])

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Describe a HuggingFace model directory or a GGUF file.")
        @Argument(help: "Model directory (config.json + safetensors) or a .gguf file.") var dir: String
        @Flag(help: "Print one JSON object.") var json = false
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            try runtime.apply()
            let model = try reportingErrors { try TransformerModel.load(directory: URL(fileURLWithPath: dir)) }
            let c = model.config
            let format = model.checkpoint?.format ?? "safetensors"
            // A GGUF file's tensors by ggml type (e.g. Q4_1: 181, F32: 61).
            var tensorTypes: [String: Int] = [:]
            if format == "gguf" {
                let file = try reportingErrors { try GGUFFile(path: dir) }
                for t in file.tensors { tensorTypes[t.type.name, default: 0] += 1 }
            }
            var info: [String: Any] = [
                "format": format,
                "model_type": c.family.rawValue, "layers": c.numLayers, "hidden_size": c.hiddenSize,
                "intermediate_size": c.intermediateSize, "heads": c.numHeads, "kv_heads": c.numKVHeads,
                "head_dim": c.headDim, "vocab_size": c.vocabSize, "parameters": model.parameterCount,
                "dtype_on_disk": model.checkpoint?.dtypes.joined(separator: ",") ?? "",
                "files": model.checkpoint?.files ?? [], "tied_embeddings": c.tieWordEmbeddings,
                "qkv_bias": c.qkvBias, "rope_theta": c.ropeTheta, "rope_scaling": c.llama3Scaling != nil ? "llama3" : (c.ropeLinearFactor != 1 ? "linear" : "none"),
                "max_position_embeddings": c.maxPositionEmbeddings, "bos_token_id": c.bosTokenID as Any? ?? NSNull(),
                "eos_token_ids": model.eosTokenIDs,
                "blas_core": BLASRuntime.coreName, "threads": BLASRuntime.threads,
            ]
            if format == "gguf" { info["tensor_types"] = tensorTypes }
            if json { printJSON(info); return }
            let source = format == "gguf"
                ? "GGUF (llama.cpp) file, tensors " + tensorTypes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ") + ", dequantized to float32"
                : "HuggingFace directory (safetensors)"
            print("""
            source          \(source)
            model type      \(c.family.rawValue)
            layers          \(c.numLayers)
            hidden          \(c.hiddenSize) (intermediate \(c.intermediateSize))
            heads           \(c.numHeads) query / \(c.numKVHeads) key-value, head_dim \(c.headDim)
            vocab           \(c.vocabSize)
            parameters      \(model.parameterCount) (\(String(format: "%.1f", Double(model.parameterCount) / 1e6))M)
            dtype on disk   \(info["dtype_on_disk"]!) in \((model.checkpoint?.files ?? []).joined(separator: ", "))
            tied embeddings \(c.tieWordEmbeddings ? "yes" : "no")
            biases          q/k/v \(c.qkvBias ? "yes" : "no"), o \(c.oBias ? "yes" : "no"), mlp \(c.mlpBias ? "yes" : "no")
            rope            theta \(c.ropeTheta), scaling \(info["rope_scaling"]!)
            context         \(c.maxPositionEmbeddings)
            BLAS            OpenBLAS core \(BLASRuntime.coreName), \(BLASRuntime.threads) threads
            """)
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a random-initialised model directory of any shape.")
        @Option(help: "A HuggingFace config.json giving the shape.") var config: String
        @Option(help: "Output directory.") var out: String
        @Option(help: "Random seed.") var seed: UInt64 = 0
        @Option(help: "Weight dtype on disk: f32, bf16 or f16.") var dtype: String = "f32"
        @Option(help: "Copy tokenizer files from this directory.") var tokenizer: String?
        @Option(help: "Shard the weights into files of at most this many MB (with model.safetensors.index.json).")
        var maxShardMb: Double?
        @Option(help: "spread (weights with real spread, for tests) or pretrain (N(0, --init-std²), residual outputs scaled by depth, for training from scratch).")
        var initStyle = "spread"
        @Option(help: "Standard deviation of the pretrain init.") var initStd = 0.02
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            try runtime.apply()
            let dt = try parseDType(dtype, allowed: [.f32, .bf16, .f16])
            guard ["spread", "pretrain"].contains(initStyle) else { throw ValidationError("--init-style must be spread or pretrain") }
            guard initStd > 0, initStd.isFinite else { throw ValidationError("--init-std must be positive") }
            let model = try reportingErrors {
                try TransformerModel.initDirectory(
                    configURL: URL(fileURLWithPath: config), out: URL(fileURLWithPath: out), seed: seed, dtype: dt,
                    tokenizerDirectory: tokenizer.map { URL(fileURLWithPath: $0) },
                    maxShardBytes: maxShardMb.map { Int($0 * 1_000_000) }, trainingStd: initStyle == "pretrain" ? initStd : nil)
            }
            print("wrote \(out): \(model.config.family.rawValue), \(model.parameterCount) parameters, \(dt.torchName)")
        }
    }

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a GGUF file as a HuggingFace model directory.",
            discussion: """
            The weights dequantized to float32 (Q and K rows back in HuggingFace's rotary order, as transformers loads
            a GGUF), stored as --dtype; config.json from the <arch>.* keys; generation_config.json; tokenizer.json,
            tokenizer_config.json (with the chat template) and special_tokens_map.json from the tokenizer.* keys.
            transformers' from_pretrained(DIR) then gives the logits and token ids seal gives on the GGUF file.
            """)
        @Argument(help: "A .gguf file (llama or qwen2).") var file: String
        @Option(help: "Output directory.") var out: String
        @Option(help: "Weight dtype on disk: f32 or bf16.") var dtype: String = "f32"
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            try runtime.apply()
            let dt = try parseDType(dtype, allowed: [.f32, .bf16])
            guard Tokenizer.isGGUF(URL(fileURLWithPath: file)) else { throw ValidationError("\(file): expected a .gguf file") }
            try reportingErrors {
                let gguf = try GGUFFile(path: file)
                // The tokenizer first: it is cheap, and a file seal cannot tokenize is refused before any weights.
                let tok = try GGUFTokenizerConversion(try GGUFTokenizerMetadata(file: gguf))
                let model = try TransformerModel.load(gguf: gguf)
                try model.saveDirectory(to: URL(fileURLWithPath: out), base: URL(fileURLWithPath: file), dtype: dt)
                print("wrote \(out): \(model.config.family.rawValue), \(model.parameterCount) parameters, \(dt.torchName), tokenizer \(tok.tokenizerClass)")
            }
        }
    }
}

/// A --dtype value (f32/float32, bf16/bfloat16, f16/float16) among `allowed`, or an error listing them.
func parseDType(_ name: String, allowed: [DType]) throws -> DType {
    let names: [DType: [String]] = [.f32: ["f32", "float32"], .bf16: ["bf16", "bfloat16"], .f16: ["f16", "float16"]]
    if let dt = allowed.first(where: { names[$0]?.contains(name.lowercased()) == true }) { return dt }
    let list = allowed.compactMap { names[$0]?.first }
    throw ValidationError("--dtype must be " + (list.count > 1 ? list.dropLast().joined(separator: ", ") + " or " + list.last! : list.joined()))
}
