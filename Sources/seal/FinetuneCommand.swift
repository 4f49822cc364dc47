import ArgumentParser
import Foundation
import SealGenerate
import SealModel
import SealTokenizer
import SealTrain

struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune", abstract: "LoRA or full finetuning on a JSONL file; writes a PEFT adapter or a model directory.",
        discussion: """
        Rows are {"text"} (loss on every token) or {"prompt", "completion"} (loss on the completion with
        --loss-on completion, the default); a row with both is an error. A text row is tokenized exactly as
        transformers' tokenizer(text): BOS where the tokenizer adds it and no EOS, unless --text-eos appends one. EOS
        is always appended to completions, so the model learns to stop. Lines may end in LF or CRLF; errors name the
        physical line (blank lines counted); invalid UTF-8 is an error naming the line and byte offset. A row longer
        than --max-length tokens is cut on the right (counted in the summary); a row left with nothing to learn is
        an error. The loss of a step is the mean over all its target tokens (transformers' definition, gradient
        accumulation included). A non-finite loss or gradient stops the run before anything is written.
        """)
    @Option(help: "Base model directory or .gguf file.") var model: String
    @Option(help: "Training data (JSONL).") var data: String
    @Option(help: "Output: a PEFT adapter directory, or with --full a model directory.") var out: String
    @Option(help: "LoRA rank.") var loraRank = 8
    @Option(help: "LoRA alpha (scale alpha/rank).") var loraAlpha = 16.0
    @Option(help: "Comma-separated projections to adapt.") var loraTargets = "q_proj,v_proj"
    @Flag(help: "Finetune every weight (continued pretraining) instead of LoRA.") var full = false
    @Option(help: "Start from this PEFT adapter instead of a fresh one.") var initAdapter: String?
    @Option(help: "Peak learning rate.") var lr = 1e-4
    @Option(help: "Epochs over the data.") var epochs: Double?
    @Option(help: "Exact number of optimizer steps (instead of --epochs).") var steps: Int?
    @Option(help: "Rows per micro-batch.") var batchSize = 1
    @Option(help: "Micro-batches per optimizer step.") var gradAccum = 1
    @Option(help: "constant, linear or cosine.") var schedule = "linear"
    @Option(help: "Warmup steps.") var warmupSteps = 0
    @Option(help: "AdamW weight decay.") var weightDecay = 0.0
    @Option(help: "Gradient clipping norm (0 = none).") var maxGradNorm = 1.0
    @Option(help: "all or completion.") var lossOn = "completion"
    @Option(help: "Maximum tokens per row (default: the model's context, at most 2048).") var maxLength: Int?
    @Flag(help: "End each {\"text\"} row with the EOS token too (default: none, as transformers' tokenizer(text)).")
    var textEos = false
    @Flag(help: "Take rows in file order (cycling across epochs).") var noShuffle = false
    @Option(help: "Seed for shuffling and LoRA initialisation.") var seed: UInt64 = 0
    @Flag(help: "One JSON line per optimizer step.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try runtime.apply()
        try reportingErrors {
            if epochs != nil && steps != nil { throw TrainingError.invalidConfig("give --epochs or --steps, not both") }
            guard let sched = LRSchedule(rawValue: schedule) else { throw TrainingError.invalidConfig("--schedule must be constant, linear or cosine") }
            guard let loss = LossOn(rawValue: lossOn) else { throw TrainingError.invalidConfig("--loss-on must be all or completion") }
            if full && initAdapter != nil { throw TrainingError.invalidConfig("--init-adapter cannot be combined with --full") }
            let dir = URL(fileURLWithPath: model)
            let m = try TransformerModel.load(directory: dir)
            let tok = try Tokenizer(model: dir)
            let rows = try Dataset.load(data)
            let limit = maxLength ?? min(m.config.maxPositionEmbeddings, 2048)
            if limit < 2 || limit > m.config.maxPositionEmbeddings {
                throw TrainingError.invalidConfig("--max-length must be in 2...\(m.config.maxPositionEmbeddings)")
            }
            let (encoded, truncated) = try Dataset.encode(rows, tokenizer: tok, lossOn: loss, maxLength: limit,
                                                          eosID: m.eosTokenIDs.first, appendEOS: true, textEOS: textEos,
                                                          source: data)
            var cfg = TrainConfig()
            cfg.learningRate = lr
            cfg.epochs = epochs ?? 1
            cfg.steps = steps
            cfg.batchSize = batchSize
            cfg.gradAccum = gradAccum
            cfg.schedule = sched
            cfg.warmupSteps = warmupSteps
            cfg.weightDecay = weightDecay
            cfg.maxGradNorm = maxGradNorm > 0 ? maxGradNorm : nil
            cfg.shuffle = !noShuffle
            cfg.seed = seed
            var lora: LoRAAdapter? = nil
            if !full {
                if let ia = initAdapter {
                    lora = try PEFTAdapter.load(from: URL(fileURLWithPath: ia), for: m)
                } else {
                    guard loraRank >= 1 else { throw TrainingError.invalidConfig("--lora-rank must be ≥ 1") }
                    let targets = try LoRATarget.parseList(loraTargets)
                    lora = LoRAAdapter(modelConfig: m.config, config: LoRAConfig(rank: loraRank, alpha: loraAlpha, targets: targets))
                    lora!.reset(seed: seed)
                }
            }
            let trainer = try Trainer(model: m, lora: lora, config: cfg)
            let total = trainer.totalSteps(rows: encoded.count)
            let t0 = Date()
            var tokens = 0
            try trainer.train(encoded) { log in
                tokens += log.tokens
                if json {
                    printJSON(["step": log.step, "loss": log.loss, "lr": log.learningRate, "tokens": log.tokens,
                               "grad_norm": log.gradNorm, "seconds": log.seconds])
                } else {
                    print(String(format: "step %d/%d  loss %.4f  lr %.3g  tokens %d  |g| %.3f  %.2fs", log.step, total,
                                 log.loss, log.learningRate, log.tokens, log.gradNorm, log.seconds))
                }
            }
            let outURL = URL(fileURLWithPath: out)
            if let lora {
                try PEFTAdapter.save(lora, to: outURL, baseModel: dir.standardizedFileURL.path)
            } else {
                try m.saveDirectory(to: outURL, base: dir)
            }
            let secs = Date().timeIntervalSince(t0)
            let peak = String(format: "%.2f", Double(peakResidentBytes()) / 1_073_741_824)
            let summary = "trained \(total) steps on \(encoded.count) rows (\(truncated) cut to \(limit) tokens), \(tokens) target tokens, \(String(format: "%.1f", secs)) s, peak memory \(peak) GiB; wrote \(out)"
            FileHandle.standardError.write(Data((summary + "\n").utf8))
        }
    }
}
