import ArgumentParser
import Foundation
import SealKernels
import SealModel
import SealTrain

/// Peak resident memory of this process (VmHWM), in bytes.
func peakResidentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}

extension BenchCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Training-step throughput: a SEAL inner-loop LoRA step or a full-finetuning step.")
        @Option(help: "config.json giving the shape.") var config: String
        @Option(help: "Tokens per sequence.") var tokens = 512
        @Option(help: "lora or full.") var mode = "lora"
        @Option(help: "LoRA rank.") var rank = 32
        @Option(help: "LoRA alpha.") var alpha = 64.0
        @Option(help: "LoRA targets.") var targets = "q_proj,v_proj"
        @Option(help: "Timed steps (the best is reported).") var repeats = 2
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            try runtime.apply()
            let ceiling = BenchCommand.sgemmCeiling()
            let model = try BenchCommand.randomModel(config)
            let cfg = model.config
            var lora: LoRAAdapter? = nil
            if mode == "lora" {
                lora = LoRAAdapter(modelConfig: cfg, config: LoRAConfig(rank: rank, alpha: alpha, targets: try LoRATarget.parseList(targets)))
                lora!.reset(seed: 1)
            } else if mode != "full" { throw ValidationError("--mode must be lora or full") }
            var tc = TrainConfig()
            tc.learningRate = 1e-4
            let trainer = try Trainer(model: model, lora: lora, config: tc)
            let ids = (0..<tokens).map { Int32(($0 * 7919) % cfg.vocabSize) }
            let batch = TrainingBatch(allTokens: [ids])
            _ = try trainer.step([batch], learningRate: 1e-4)  // warm-up: sizes every buffer
            var best = Double.infinity, flops = 0.0, gemm = 0.0
            for _ in 0..<repeats {
                KernelStats.reset(); KernelStats.enabled = true
                let t0 = KernelStats.now()
                _ = try trainer.step([batch], learningRate: 1e-4)
                let dt = KernelStats.now() - t0
                KernelStats.enabled = false
                if dt < best { best = dt; flops = KernelStats.gemmFlops; gemm = KernelStats.gemmSeconds }
            }
            printJSON([
                "bench": "train", "mode": mode, "config": config, "tokens": tokens, "threads": BLASRuntime.threads,
                "blas_core": BLASRuntime.coreName, "parameters": model.parameterCount,
                "trainable_parameters": lora?.parameterCount ?? model.parameterCount,
                "seconds": best, "tokens_per_second": Double(tokens) / best,
                "sgemm_ceiling_gflops": ceiling, "gemm_gflop": flops / 1e9, "gemm_seconds": gemm,
                "gemm_fraction_of_ceiling": flops / gemm / 1e9 / ceiling,
                "end_to_end_fraction_of_ceiling": flops / best / 1e9 / ceiling,
                "peak_rss_bytes": peakResidentBytes(),
            ])
        }
    }
}
