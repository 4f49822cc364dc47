import ArgumentParser
import Foundation
import SealCore
import SealKernels
import SealModel

/// Benchmarks (not tests). Each prints measured ratios: against the sgemm ceiling measured in the same process, and
/// in JSON so that scripts/bench can put them beside PyTorch's figures.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks: sgemm ceiling and forward-pass throughput.",
        subcommands: [Sgemm.self, FewRows.self, Forward.self, Generate.self, Train.self, MultiAdapter.self])

    /// A model of the shape in `config` with seal's random weights (benchmarks need shapes, not trained weights).
    static func randomModel(_ config: String) throws -> TransformerModel {
        let cfg = try reportingErrors { try ModelConfig.load(from: URL(fileURLWithPath: config)) }
        let model = TransformerModel(config: cfg)
        model.randomize(seed: 1)
        return model
    }

    /// The model a benchmark runs: random weights of a config's shape (`--config`), or a trained model (`--model`:
    /// a HuggingFace directory or a `.gguf` file, loaded as `seal generate --model` loads it, GGUF dequantized to
    /// float32). Exactly one of the two.
    struct ModelOptions: ParsableArguments {
        @Option(help: "config.json giving the shape of a random model (e.g. ../shared/models/configs/qwen2.5-0.5b.json). Alternative to --model.")
        var config: String?
        @Option(help: "Model directory or .gguf file to benchmark with its own weights. Alternative to --config.")
        var model: String?

        func validate() throws {
            switch (config, model) {
            case (nil, nil):
                throw ValidationError("give the model to benchmark: --config config.json (random weights of that shape) or --model DIR|FILE.gguf")
            case (.some, .some):
                throw ValidationError("--config and --model are alternatives: give one of them, not both")
            default: break
            }
        }

        func load() throws -> TransformerModel {
            if let config { return try BenchCommand.randomModel(config) }
            return try reportingErrors { try TransformerModel.load(directory: URL(fileURLWithPath: model!)) }
        }

        /// JSON keys naming the model and its weight bytes: `config` / `model` (the other null), `weight_bytes_f32`
        /// (the parameters as seal holds them, float32), and for a `.gguf` file `gguf_tensor_bytes` (its tensor
        /// data as stored, e.g. 4.5 bits per Q4_1 weight) and `gguf_tensor_types` (tensors per ggml type).
        func describe(_ m: TransformerModel) throws -> [String: Any] {
            var d: [String: Any] = ["config": config ?? NSNull(), "model": model ?? NSNull(),
                                    "weight_bytes_f32": m.parameterCount * 4]
            if let model, URL(fileURLWithPath: model).pathExtension.lowercased() == "gguf" {
                let f = try reportingErrors { try GGUFFile(path: model) }
                d["gguf_tensor_bytes"] = f.tensors.reduce(0) { $0 + $1.byteCount }
                var types: [String: Int] = [:]
                for t in f.tensors { types[t.type.name, default: 0] += 1 }
                d["gguf_tensor_types"] = types
            }
            return d
        }
    }

    /// The sgemm ceiling: the best GFLOP/s of square float32 products on this machine and thread count.
    static func sgemmCeiling(size n: Int = 2048, repeats: Int = 5) -> Double {
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) { a.pointer[i] = Float(i % 7) * 0.1; b.pointer[i] = Float(i % 5) * 0.1 }
        sgemm(M: n, N: n, K: n, A: a.pointer, lda: n, B: b.pointer, ldb: n, C: c.pointer, ldc: n)  // warm-up
        var best = 0.0
        for _ in 0..<repeats {
            let t0 = KernelStats.now()
            sgemm(M: n, N: n, K: n, A: a.pointer, lda: n, B: b.pointer, ldb: n, C: c.pointer, ldc: n)
            best = max(best, 2 * Double(n * n * n) / (KernelStats.now() - t0) / 1e9)
        }
        return best
    }

    struct Sgemm: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Measure the sgemm ceiling (GFLOP/s).")
        @Option(help: "Matrix size.") var size = 2048
        @Option(help: "Shapes M,N,K[,t] to time as C[M,N] = A[M,K] · op(B) (t: B stored [N,K] and transposed, as weights are).")
        var shape: [String] = []
        @OptionGroup var runtime: RuntimeOptions
        func run() throws {
            try runtime.apply()
            let g = BenchCommand.sgemmCeiling(size: size)
            var shapes: [[String: Any]] = []
            for s in shape {
                let p = s.split(separator: ",")
                guard p.count >= 3, let m = Int(p[0]), let n = Int(p[1]), let k = Int(p[2]) else { throw ValidationError("--shape M,N,K[,t]") }
                let t = p.count > 3 && p[3] == "t"
                let a = FloatBuffer(count: m * k), b = FloatBuffer(count: n * k), c = FloatBuffer(count: m * n)
                var best = Double.infinity
                for _ in 0..<5 {
                    let t0 = KernelStats.now()
                    sgemm(transB: t, M: m, N: n, K: k, A: a.pointer, lda: k, B: b.pointer, ldb: t ? k : n, C: c.pointer, ldc: n)
                    best = min(best, KernelStats.now() - t0)
                }
                shapes.append(["shape": s, "gflops": 2 * Double(m * n * k) / best / 1e9])
            }
            printJSON(["sgemm_gflops": g, "size": size, "threads": BLASRuntime.threads, "blas_core": BLASRuntime.coreName, "shapes": shapes])
        }
    }

    struct FewRows: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "few-rows",
            abstract: "seal's few-row kernels (every one this CPU runs) beside OpenBLAS, on a model's linear layers.",
            discussion: "Both forms of a linear layer with M rows: the forward C[M, out] = A[M, in] · W[out, in]ᵀ and the input gradient C[M, in] = A[M, out] · W[out, in]. Best of --repeats; GFLOP/s and the ratio to OpenBLAS.")
        @Option(help: "config.json giving the shapes (e.g. ../shared/models/configs/qwen2.5-0.5b.json).") var config: String
        @Option(help: "Rows (a decode batch, a short training row).") var rows = 40
        @Option(help: "Timed repetitions (the best is reported).") var repeats = 5
        @OptionGroup var runtime: RuntimeOptions
        func run() throws {
            try runtime.apply()
            let cfg = try reportingErrors { try ModelConfig.load(from: URL(fileURLWithPath: config)) }
            let h = cfg.hiddenSize, kv = cfg.numKVHeads * cfg.headDim
            let layers: [(String, Int, Int)] = [("q/o", h, h), ("k/v", kv, h), ("gate/up", cfg.intermediateSize, h),
                                                ("down", h, cfg.intermediateSize), ("lm_head", cfg.vocabSize, h)]
            let M = rows
            var out: [[String: Any]] = []
            for (name, outDim, inDim) in layers {
                let w = FloatBuffer(count: outDim * inDim), a = FloatBuffer(count: M * max(inDim, outDim)), c = FloatBuffer(count: M * max(inDim, outDim))
                for i in 0..<(outDim * inDim) { w.pointer[i] = Float(i % 13) * 0.01 - 0.06 }
                for i in 0..<(M * max(inDim, outDim)) { a.pointer[i] = Float(i % 7) * 0.1 - 0.3 }
                let flops = 2 * Double(M * outDim * inDim)
                func best(_ body: () -> Void) -> Double {
                    body()
                    var t = Double.infinity
                    for _ in 0..<repeats { let t0 = KernelStats.now(); body(); t = min(t, KernelStats.now() - t0) }
                    return flops / t / 1e9
                }
                for form in ["forward", "input_gradient"] {
                    let blas = best {
                        if form == "forward" {
                            sgemm(transB: true, M: M, N: outDim, K: inDim, A: a.pointer, lda: inDim, B: w.pointer, ldb: inDim, C: c.pointer, ldc: outDim)
                        } else {
                            sgemm(M: M, N: inDim, K: outDim, A: a.pointer, lda: outDim, B: w.pointer, ldb: inDim, C: c.pointer, ldc: inDim)
                        }
                    }
                    var row: [String: Any] = ["layer": name, "form": form, "rows": M, "out": outDim, "in": inDim, "openblas_gflops": blas]
                    for path in SkinnyGEMM.supportedPaths where path != .portable {
                        let g = SkinnyGEMM.forcing(path) {
                            best {
                                if form == "forward" {
                                    SkinnyGEMM.multiply(c.pointer, ldc: outDim, a.pointer, lda: inDim, w.pointer, ldw: inDim, M: M, N: outDim, K: inDim, accumulate: false)
                                } else {
                                    SkinnyGEMM.multiplyNN(c.pointer, ldc: inDim, a.pointer, lda: outDim, w.pointer, ldw: inDim, M: M, N: outDim, K: inDim, accumulate: false)
                                }
                            }
                        }
                        row["\(path)_gflops"] = g
                        row["\(path)_vs_openblas"] = g / blas
                    }
                    out.append(row)
                }
            }
            let ceiling = BenchCommand.sgemmCeiling()
            for i in out.indices {
                for (k, v) in out[i] where k.hasSuffix("_gflops") { out[i][k.dropLast(7) + "_of_ceiling"] = (v as! Double) / ceiling }
            }
            printJSON(["threads": BLASRuntime.threads, "blas_core": BLASRuntime.coreName, "default_kernel": "\(SkinnyGEMM.path)",
                       "sgemm_ceiling_gflops": ceiling, "layers": out])
        }
    }

    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forward-pass throughput of a random model of a given shape, or of a trained model.")
        @OptionGroup var source: BenchCommand.ModelOptions
        @Option(help: "Tokens in the sequence.") var tokens = 512
        @Option(help: "Timed repetitions (the best is reported).") var repeats = 3
        @Option(help: "Logit rows computed: all (every position, as training and scoring need) or last (the next-token row only, as prompt processing for generation needs and llama-bench's pp test computes).")
        var logits = "all"
        @OptionGroup var runtime: RuntimeOptions

        func validate() throws {
            guard logits == "all" || logits == "last" else { throw ValidationError("--logits must be all or last, got '\(logits)'") }
        }

        func run() throws {
            try runtime.apply()
            let rows: TransformerModel.LogitRows = logits == "last" ? .last : .all
            let ceiling = BenchCommand.sgemmCeiling()
            let t0 = KernelStats.now()
            let model = try source.load()
            let cfg = model.config
            let initSeconds = KernelStats.now() - t0
            let ids = (0..<tokens).map { Int32(($0 * 7919) % cfg.vocabSize) }
            let ws = ForwardWorkspace()
            _ = try model.forward([ids], rows: rows, workspace: ws)  // warm-up: page in weights, size the workspace
            var best = Double.infinity, gemmSeconds = 0.0, gemmFlops = 0.0
            for _ in 0..<repeats {
                KernelStats.reset(); KernelStats.enabled = true
                let s = KernelStats.now()
                _ = try model.forward([ids], rows: rows, workspace: ws)
                let dt = KernelStats.now() - s
                KernelStats.enabled = false
                if dt < best { best = dt; gemmSeconds = KernelStats.gemmSeconds; gemmFlops = KernelStats.gemmFlops }
            }
            let gemmRate = gemmFlops / gemmSeconds / 1e9
            var out: [String: Any] = [
                "bench": "forward", "tokens": tokens, "logits": logits, "threads": BLASRuntime.threads,
                "blas_core": BLASRuntime.coreName, "parameters": model.parameterCount,
                "sgemm_ceiling_gflops": ceiling, "seconds": best, "tokens_per_second": Double(tokens) / best,
                "gemm_seconds": gemmSeconds, "gemm_gflop": gemmFlops / 1e9, "gemm_gflops": gemmRate,
                "gemm_fraction_of_ceiling": gemmRate / ceiling,
                "end_to_end_gflops": gemmFlops / best / 1e9,
                "end_to_end_fraction_of_ceiling": gemmFlops / best / 1e9 / ceiling,
                "non_gemm_seconds": best - gemmSeconds, "init_seconds": initSeconds,
            ]
            out.merge(try source.describe(model)) { a, _ in a }
            printJSON(out)
        }
    }
}
