import ArgumentParser
import Foundation
import SealCore
import SealGenerate
import CSealKernels
import SealKernels
import SealModel
import SealTokenizer

extension BenchCommand {
    /// Memory bandwidth of this process: the best rate of summing a buffer much larger than the caches.
    static func memoryBandwidth(bytes: Int = 1 << 30) -> Double {
        let n = bytes / 4
        let b = FloatBuffer(count: n)
        for i in stride(from: 0, to: n, by: 1024) { b.pointer[i] = 1 }
        var best = 0.0
        for _ in 0..<5 {
            let t0 = KernelStats.now()
            let total = Parallel.threads
            var partial = [Float](repeating: 0, count: total)
            partial.withUnsafeMutableBufferPointer { pp in
                let pbase = pp.baseAddress!
                Parallel.forEach(total) { c in
                    let s = n * c / total, e = n * (c + 1) / total
                    pbase[c] = seal_stream_sum(b.pointer + s, e - s)
                }
            }
            let dt = KernelStats.now() - t0
            if partial.reduce(0, +) < 0 { print("") }  // keep the reads alive
            best = max(best, Double(bytes) / dt)
        }
        return best
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Batched sampling and single-stream decode throughput of a random model, or of a trained model.")
        @OptionGroup var source: BenchCommand.ModelOptions
        @Option(help: "Prompts in the batched run.") var prompts = 8
        @Option(help: "Samples per prompt in the batched run.") var samples = 5
        @Option(help: "Tokens per prompt.") var promptTokens = 64
        @Option(help: "New tokens per completion.") var newTokens = 128
        @Option(help: "Sequences decoded together.") var batchSize = 64
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            try runtime.apply()
            let bandwidth = BenchCommand.memoryBandwidth()
            let ceiling = BenchCommand.sgemmCeiling()
            let model = try source.load()
            let cfg = model.config
            // A stand-in tokenizer: decoding is only needed for stop strings, which the benchmark does not use.
            let tok = try Tokenizer(tokenizerJSON: Data(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#.utf8), source: "bench")
            let gen = Generator(model: model, tokenizer: tok, maxBatch: batchSize)
            gen.eosTokenIDs = []  // every completion runs the full length, as min_new_tokens does for transformers
            let reqs = (0..<prompts).map { p in
                GenerationRequest(prompt: (0..<promptTokens).map { Int32(($0 * 7919 + p * 104729) % cfg.vocabSize) }, samples: samples)
            }
            // The batched run with GEMM timing on: what is matrix work, what is the rest (sampling, attention, norms).
            KernelStats.enabled = true
            KernelStats.gemmSeconds = 0; KernelStats.gemmFlops = 0
            var t0 = KernelStats.now()
            _ = try gen.generate(reqs, params: SamplingParams(temperature: 1, topP: 0.95, maxNewTokens: newTokens, seed: 1))
            let batched = KernelStats.now() - t0
            let gemmSeconds = KernelStats.gemmSeconds, gemmFlops = KernelStats.gemmFlops
            KernelStats.enabled = false
            // Single stream: one greedy sequence; decode rate measured after the prompt (prefill timed apart).
            let one = [GenerationRequest(prompt: reqs[0].prompt)]
            t0 = KernelStats.now()
            _ = try gen.generate(one, params: SamplingParams(maxNewTokens: 1))
            let prefill = KernelStats.now() - t0
            t0 = KernelStats.now()
            _ = try gen.generate(one, params: SamplingParams(maxNewTokens: newTokens))
            let single = KernelStats.now() - t0
            let decodeRate = Double(newTokens - 1) / (single - prefill)
            let bytesPerToken = Double(model.parameterCount * 4)
            let bound = bandwidth / bytesPerToken
            var out: [String: Any] = [
                "bench": "generate", "threads": BLASRuntime.threads, "blas_core": BLASRuntime.coreName,
                "prompts": prompts, "samples": samples, "prompt_tokens": promptTokens, "new_tokens": newTokens,
                "batched_seconds": batched, "batched_tokens_per_second": Double(prompts * samples * newTokens) / batched,
                "sgemm_ceiling_gflops": ceiling, "batched_gemm_seconds": gemmSeconds, "batched_gemm_gflop": gemmFlops / 1e9,
                "batched_gemm_fraction_of_ceiling": gemmFlops / gemmSeconds / 1e9 / ceiling,
                "batched_end_to_end_fraction_of_ceiling": gemmFlops / batched / 1e9 / ceiling,
                "single_seconds": single, "single_prefill_seconds": prefill, "single_decode_tokens_per_second": decodeRate,
                "memory_bandwidth_gbs": bandwidth / 1e9, "weight_bytes_per_token": bytesPerToken,
                "bandwidth_bound_tokens_per_second": bound, "single_fraction_of_bandwidth_bound": decodeRate / bound,
            ]
            out.merge(try source.describe(model)) { a, _ in a }
            printJSON(out)
        }
    }
}
