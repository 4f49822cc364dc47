import ArgumentParser
import Foundation
import SealKernels
import SealModel
import SealTrain

extension BenchCommand {
    struct MultiAdapter: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "multi-adapter",
            abstract: "Inner-loop LoRA training, N adapters in one pass over the frozen base beside the same N one at a time.")
        @Option(help: "config.json giving the shape.") var config: String
        @Option(help: "Adapters (inner loops): SEAL's K × R for one context is 5 × 3.") var adapters = 15
        @Option(help: "Tokens per training row (SEAL's knowledge rows: ~46).") var tokens = 46
        @Option(help: "Rows per adapter (each one optimizer step per epoch, batch 1).") var rows = 4
        @Option(help: "Epochs.") var epochs = 2.0
        @Option(help: "LoRA rank.") var rank = 32
        @Option(help: "LoRA alpha.") var alpha = 64.0
        @Option(help: "LoRA targets.") var targets = "q_proj,v_proj"
        @OptionGroup var runtime: RuntimeOptions

        func run() throws {
            try runtime.apply()
            guard adapters >= 1, tokens >= 2, rows >= 1, epochs > 0 else {
                throw ValidationError("--adapters, --rows ≥ 1, --tokens ≥ 2, --epochs > 0")
            }
            let ceiling = BenchCommand.sgemmCeiling()
            let model = try BenchCommand.randomModel(config)
            let V = model.config.vocabSize
            let lora = LoRAConfig(rank: rank, alpha: alpha, targets: try LoRATarget.parseList(targets))
            let jobs = (0..<adapters).map { a in
                var c = TrainConfig()
                c.learningRate = 1e-4; c.epochs = epochs; c.seed = UInt64(a)
                let rs = (0..<rows).map { r in
                    EncodedExample(ids: (0..<tokens).map { Int32((($0 + 31 * r + 997 * a) * 7919) % V) },
                                   targets: (0..<tokens).map { $0 > 0 })
                }
                return AdapterJob(rows: rs, config: c, loraSeed: UInt64(a))
            }
            func measure(_ body: () throws -> Void) rethrows -> (seconds: Double, flops: Double, gemm: Double) {
                KernelStats.reset(); KernelStats.enabled = true
                let t0 = KernelStats.now()
                try body()
                let dt = KernelStats.now() - t0
                KernelStats.enabled = false
                return (dt, KernelStats.gemmFlops, KernelStats.gemmSeconds)
            }
            // Warm-ups size every buffer.
            let ws = TrainingWorkspace()
            let adapter = LoRAAdapter(modelConfig: model.config, config: lora)
            func serial(_ js: [AdapterJob]) throws {
                for j in js {
                    adapter.reset(seed: j.loraSeed)
                    try Trainer(model: model, lora: adapter, config: j.config, workspace: ws).train(j.rows)
                }
            }
            let multi = try MultiAdapterTrainer(model: model, lora: lora, slots: adapters)
            try serial([jobs[0]])
            try multi.run(jobs) { _, _, _ in }
            let s = try measure { try serial(jobs) }
            let b = try measure { try multi.run(jobs) { _, _, _ in } }
            let steps = Double(adapters) * Double(TrainingPlan.totalSteps(rows: rows, config: jobs[0].config))
            func entry(_ m: (seconds: Double, flops: Double, gemm: Double)) -> [String: Any] {
                ["seconds": m.seconds, "seconds_per_adapter_step": m.seconds / steps,
                 "gemm_fraction_of_ceiling": m.flops / m.gemm / 1e9 / ceiling,
                 "end_to_end_fraction_of_ceiling": m.flops / m.seconds / 1e9 / ceiling]
            }
            printJSON([
                "bench": "multi-adapter", "config": config, "adapters": adapters, "tokens": tokens, "rows": rows,
                "epochs": epochs, "rank": rank, "targets": targets, "threads": BLASRuntime.threads,
                "blas_core": BLASRuntime.coreName, "few_row_kernel": SkinnyGEMM.available,
                "sgemm_ceiling_gflops": ceiling, "one_at_a_time": entry(s), "batched": entry(b),
                "speedup": s.seconds / b.seconds, "peak_rss_bytes": peakResidentBytes(),
            ])
        }
    }
}
