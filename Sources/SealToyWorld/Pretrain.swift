import Foundation
import SealCore
import SealEngine
import SealGenerate
import SealKernels
import SealModel
import SealTokenizer
import SealTrain

/// `seal pretrain`: the whole recipe of the toy model, from a seed to a HuggingFace model directory.
///
/// 1. the toy world and its corpus (`ToyWorld`, `CorpusOptions`); the world's passage files go to `OUT/world/`
///    (`seal toyworld generate` with the same world settings writes the same files and the corpus itself);
/// 2. a byte-level BPE tokenizer trained on the corpus (`BPETrainer`);
/// 3. a Llama-architecture model initialised for training (`initializeForTraining`);
/// 4. full training of every weight (`Trainer`: AdamW, warmup then cosine decay) on the biographies' tokens and the
///    answers and self-edits of the prompt/completion examples (`corpus.completion_loss`), EOS after each document;
/// 5. the model saved (config.json, model.safetensors, generation_config.json, the tokenizer files,
///    pretrain_config.json) and measured: known people's questions, new people's questions (should be chance),
///    and self-edits written for new people's passages (pretrain_report.json).
///
/// Every step is deterministic given the configuration (and the thread count only changes floating-point sums).
public enum Pretrain {
    public static let schema: [ConfigKey] = [
        ConfigKey("world.seed", .int, .int(0), "Seed of the toy world (people, biographies, questions, corpus).", range: .atLeast(0)),
        ConfigKey("world.known", .int, .int(400), "Known people: the pretraining population.", range: .ints(1, ToyWorld.nameCapacity)),
        ConfigKey("world.new", .int, .int(200), "New people: SEAL's contexts (never in the corpus).", range: .ints(0, ToyWorld.nameCapacity)),
        ConfigKey("world.practice", .int, .int(1200), "Practice people: each appears once, in a self-edit example of the corpus.", range: .ints(0, ToyWorld.nameCapacity)),
        ConfigKey("world.eval", .int, .int(100), "New people in the held-out split (the last ones); the rest are the training split.", range: .ints(0, ToyWorld.nameCapacity)),
        ConfigKey("corpus.bio_variants", .int, .int(3), "Biographies per known person.", range: .ints(1, 1000)),
        ConfigKey("corpus.qa_fraction", .double, .double(0.5), "Fraction of known people whose question–answer pairs are in the corpus.", range: .unit),
        ConfigKey("corpus.qa_phrasings", .int, .int(2), "Question phrasings per attribute in the corpus (of 4).", range: .ints(0, Templates.questionPhrasings)),
        ConfigKey("corpus.implications_rate", .double, .double(0.25), "Fraction of known people with an implications self-edit example (practice people always have one).", range: .unit),
        ConfigKey("corpus.implications_coverage", .double, .double(0.7), "Probability that an implications example states each fact.", range: .unit),
        ConfigKey("corpus.style_partial", .double, .double(0.3), "Weight of implications examples stating each fact with probability implications_coverage.", range: .nonNegative),
        ConfigKey("corpus.style_complete", .double, .double(0.2), "Weight of implications examples stating every fact.", range: .nonNegative),
        ConfigKey("corpus.style_sparse", .double, .double(0.2), "Weight of implications examples stating one or two facts.", range: .nonNegative),
        ConfigKey("corpus.style_wrong", .double, .double(0.15), "Weight of implications examples stating every fact, each with probability 1/2 about a false value.", range: .nonNegative),
        ConfigKey("corpus.style_chatter", .double, .double(0.15), "Weight of implications examples that state no fact (2-4 lines about the person).", range: .nonNegative),
        ConfigKey("corpus.derived_rate", .double, .double(0.15), "Probability of each derived statement in an implications example.", range: .unit),
        ConfigKey("corpus.rewrite_rate", .double, .double(0.1), "Fraction of known and practice people with a rewrite self-edit example.", range: .unit),
        ConfigKey("corpus.rewrite_count", .int, .int(2), "Biographies per rewrite example.", range: .ints(1, 1000)),
        ConfigKey("corpus.completion_loss", .bool, .bool(true), "QA pairs and self-edit examples carry loss on the answer / self-edit only (biographies on every token)."),
        ConfigKey("tokenizer.vocab_size", .int, .int(1024), "BPE vocabulary size (special token and 256 bytes included).", range: .ints(257, 1 << 20)),
        ConfigKey("tokenizer.min_frequency", .int, .int(2), "A pair seen fewer times is never merged.", range: .atLeast(1)),
        ConfigKey("model.hidden_size", .int, .int(192), "Hidden size.", range: .ints(2, 65_536)),
        ConfigKey("model.intermediate_size", .int, .int(512), "MLP size.", range: .ints(1, 1 << 20)),
        ConfigKey("model.layers", .int, .int(4), "Decoder layers.", range: .ints(1, 1024)),
        ConfigKey("model.heads", .int, .int(6), "Attention heads.", range: .ints(1, 4096)),
        ConfigKey("model.kv_heads", .int, .int(6), "Key-value heads (grouped-query attention).", range: .ints(1, 4096)),
        ConfigKey("model.context", .int, .int(512), "max_position_embeddings.", range: .ints(2, 1 << 20)),
        ConfigKey("model.rope_theta", .double, .double(10000), "Rotary base.", range: .positive),
        ConfigKey("model.tie_embeddings", .bool, .bool(true), "Tie the output head to the embeddings."),
        ConfigKey("model.init_std", .double, .double(0.02), "Standard deviation of the init.", range: .positive),
        ConfigKey("model.seed", .int, .int(0), "Seed of the init.", range: .atLeast(0)),
        ConfigKey("train.lr", .double, .double(3e-3), "Peak learning rate.", range: .positive),
        ConfigKey("train.epochs", .double, .double(12), "Epochs over the corpus.", range: .positive(atMost: 10_000)),
        ConfigKey("train.batch_size", .int, .int(16), "Documents per optimizer step.", range: .ints(1, 1 << 20)),
        ConfigKey("train.schedule", .string, .string("cosine"), "constant, linear or cosine (after warmup).", range: .oneOf(LRSchedule.allCases.map(\.rawValue))),
        ConfigKey("train.warmup_steps", .int, .int(50), "Linear warmup steps.", range: .ints(0, 1 << 30)),
        ConfigKey("train.weight_decay", .double, .double(0.0), "AdamW weight decay (on every weight).", range: .nonNegative),
        ConfigKey("train.max_grad_norm", .double, .double(1.0), "Gradient clipping norm (0: none).", range: .nonNegative),
        ConfigKey("train.beta2", .double, .double(0.98), "AdamW β2.", range: .doubles(lo: 0, loOpen: true, hi: 1, hiOpen: true)),
        ConfigKey("train.seed", .int, .int(0), "Seed of the document order.", range: .atLeast(0)),
        ConfigKey("train.log_every", .int, .int(100), "Print the mean loss every N steps.", range: .atLeast(1)),
        ConfigKey("out.dir", .string, .string("models/toyworld"), "Output model directory."),
        ConfigKey("out.dtype", .string, .string("f32"), "Weights on disk: f32, bf16 or f16.", range: .oneOf(["f32", "float32", "bf16", "bfloat16", "f16", "float16"])),
        ConfigKey("eval.known", .int, .int(100), "Known people asked their questions after training (each group; 0: none).", range: .atLeast(0)),
        ConfigKey("eval.new", .int, .int(100), "New people asked their questions after training (0: none).", range: .atLeast(0)),
        ConfigKey("eval.self_edits", .int, .int(20), "New people whose passage gets sampled self-edits after training (0: none).", range: .atLeast(0)),
        ConfigKey("eval.samples", .int, .int(3), "Self-edits sampled per passage.", range: .ints(1, 4096)),
        ConfigKey("run.threads", .int, .int(0), "Threads (0: SLURM_CPUS_PER_TASK, else all cores).", range: .ints(0, EngineConfig.maxThreads)),
    ]

    public static func corpusOptions(_ c: ResolvedConfig) -> CorpusOptions {
        var o = CorpusOptions()
        o.bioVariants = c.int("corpus.bio_variants")
        o.qaFraction = c.double("corpus.qa_fraction")
        o.qaPhrasings = c.int("corpus.qa_phrasings")
        o.implicationsRate = c.double("corpus.implications_rate")
        o.implicationsCoverage = c.double("corpus.implications_coverage")
        o.derivedRate = c.double("corpus.derived_rate")
        for st in ImplicationsStyle.allCases { o.styleWeights[st] = c.double("corpus.style_\(st.rawValue)") }
        o.rewriteRate = c.double("corpus.rewrite_rate")
        o.rewriteCount = c.int("corpus.rewrite_count")
        o.completionLoss = c.bool("corpus.completion_loss")
        return o
    }

    public static func world(_ c: ResolvedConfig) throws -> ToyWorld {
        return try ToyWorld(seed: UInt64(max(0, c.int("world.seed"))), known: c.int("world.known"), new: c.int("world.new"), practice: c.int("world.practice"))
    }

    /// The HF config.json of the model the configuration describes.
    public static func modelConfigJSON(_ c: ResolvedConfig, vocabSize: Int) throws -> [String: Any] {
        let h = c.int("model.hidden_size"), heads = c.int("model.heads"), kv = c.int("model.kv_heads")
        guard h > 0, heads > 0, kv > 0, c.int("model.layers") > 0, c.int("model.intermediate_size") > 0, c.int("model.context") > 1 else {
            throw ToyWorldError("model.hidden_size, model.intermediate_size, model.layers, model.heads and model.kv_heads must be ≥ 1 and model.context ≥ 2")
        }
        guard h % heads == 0, heads % kv == 0, (h / heads) % 2 == 0 else {
            throw ToyWorldError("model.hidden_size (\(h)) must split into model.heads (\(heads)) of even size, and heads into model.kv_heads (\(kv)) groups")
        }
        return [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": h, "intermediate_size": c.int("model.intermediate_size"),
            "num_hidden_layers": c.int("model.layers"), "num_attention_heads": heads, "num_key_value_heads": kv,
            "head_dim": h / heads, "vocab_size": vocabSize, "rms_norm_eps": 1e-5, "rope_theta": c.double("model.rope_theta"),
            "max_position_embeddings": c.int("model.context"), "tie_word_embeddings": c.bool("model.tie_embeddings"),
            "hidden_act": "silu", "attention_bias": false, "mlp_bias": false, "initializer_range": c.double("model.init_std"),
            "bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0,
        ]
    }

    public struct Summary {
        public var documents: Int
        public var tokens: Int
        public var vocab: Int
        public var parameters: Int
        public var steps: Int
        public var firstLoss: Double
        public var lastLoss: Double
        public var seconds: Double
        public var report: [String: Any]
    }

    static func dtype(_ s: String) throws -> DType {
        switch s.lowercased() {
        case "f32", "float32": return .f32
        case "bf16", "bfloat16": return .bf16
        case "f16", "float16": return .f16
        default: throw ToyWorldError("out.dtype must be f32, bf16 or f16, got \(s)")
        }
    }

    /// Checks what the schema's ranges cannot (relations between keys; the ranges again, for a config built
    /// without `resolve`); every message names its key.
    public static func validate(_ c: ResolvedConfig) throws {
        func need(_ ok: Bool, _ key: String, _ rule: String) throws {
            if !ok { throw ToyWorldError("\(key) must be \(rule), got \(c.values[key].map { "\($0)" } ?? "nothing")") }
        }
        for k in ["world.seed", "world.known", "world.new", "world.practice", "world.eval", "model.seed", "train.seed",
                  "train.warmup_steps", "eval.known", "eval.new", "eval.self_edits"] {
            try need(c.int(k) >= 0, k, "≥ 0")
        }
        try need(c.int("world.eval") <= c.int("world.new"), "world.eval", "at most world.new (\(c.int("world.new")))")
        try need(c.int("world.known") > 0, "world.known", "≥ 1")
        try need(c.int("tokenizer.vocab_size") >= 257, "tokenizer.vocab_size", "≥ 257 (the special token and 256 bytes)")
        try need(c.int("tokenizer.min_frequency") >= 1, "tokenizer.min_frequency", "≥ 1")
        try need(c.double("model.init_std") > 0, "model.init_std", "> 0")
        try need(c.double("model.rope_theta") > 0, "model.rope_theta", "> 0")
        try need(c.double("train.lr") > 0 && c.double("train.lr").isFinite, "train.lr", "> 0")
        try need(c.double("train.epochs") > 0, "train.epochs", "> 0")
        try need(c.int("train.batch_size") >= 1, "train.batch_size", "≥ 1")
        try need(c.double("train.weight_decay") >= 0, "train.weight_decay", "≥ 0")
        try need(c.double("train.max_grad_norm") >= 0, "train.max_grad_norm", "≥ 0 (0: no clipping)")
        try need(c.double("train.beta2") > 0 && c.double("train.beta2") < 1, "train.beta2", "in (0, 1)")
        try need(c.int("eval.samples") >= 1, "eval.samples", "≥ 1")
        try need(!c.string("out.dir").isEmpty, "out.dir", "a directory")
        _ = try dtype(c.string("out.dtype"))
        guard LRSchedule(rawValue: c.string("train.schedule")) != nil else { throw ToyWorldError("train.schedule must be constant, linear or cosine, got \(c.string("train.schedule"))") }
        _ = try modelConfigJSON(c, vocabSize: c.int("tokenizer.vocab_size"))
        try corpusOptions(c).validate()
    }

    public static func run(_ c: ResolvedConfig, log: (String) -> Void) throws -> Summary {
        try validate(c)
        let t0 = KernelStats.now()
        let outDir = URL(fileURLWithPath: c.string("out.dir"))
        let dt = try dtype(c.string("out.dtype"))
        guard let sched = LRSchedule(rawValue: c.string("train.schedule")) else { throw ToyWorldError("train.schedule must be constant, linear or cosine") }

        // 1. World and corpus.
        let w = try world(c)
        let opts = corpusOptions(c)
        let files = try ToyWorldFiles.write(w, options: opts, evalCount: c.int("world.eval"), to: outDir.appendingPathComponent("world"), corpus: false)
        for f in files { log("world/\(f.file): \(f.summary)") }
        let examples = try w.corpusExamples(options: opts)
        let docs = examples.map { ($0.prompt ?? "") + $0.text }

        // 2. Tokenizer.
        let tt = KernelStats.now()
        let tok = try BPETrainer(vocabSize: c.int("tokenizer.vocab_size"), minFrequency: c.int("tokenizer.min_frequency")).train(docs)
        try tok.save(to: outDir, modelMaxLength: c.int("model.context"))
        let tokenizer = try Tokenizer(directory: outDir)
        log(String(format: "tokenizer: %d tokens (%d merges) from %d words, %.1f s", tok.tokens.count, tok.merges.count, tok.words, KernelStats.now() - tt))

        // 3. Model.
        let cfgJSON = try modelConfigJSON(c, vocabSize: tok.tokens.count)
        let cfgData = Data(JSONWriter.serialize(cfgJSON).utf8)
        let mc = try ModelConfig.parse(data: cfgData, path: "pretrain config")
        let model = TransformerModel(config: mc)
        model.initializeForTraining(seed: UInt64(max(0, c.int("model.seed"))), std: c.double("model.init_std"))
        log("model: \(mc.numLayers) layers, hidden \(mc.hiddenSize), MLP \(mc.intermediateSize), heads \(mc.numHeads)/\(mc.numKVHeads), vocab \(mc.vocabSize): \(model.parameterCount) parameters")

        // 4. Training.
        let (encoded, cut) = try Dataset.encode(examples, tokenizer: tokenizer, lossOn: .completion, maxLength: mc.maxPositionEmbeddings,
                                                eosID: 0, appendEOS: true, source: "corpus")
        let tokens = encoded.reduce(0) { $0 + $1.ids.count }
        log("corpus: \(docs.count) documents, \(tokens) tokens (\(String(format: "%.1f", Double(tokens) / Double(docs.count))) per document), \(cut) cut to \(mc.maxPositionEmbeddings)")
        var tc = TrainConfig()
        tc.learningRate = c.double("train.lr")
        tc.epochs = c.double("train.epochs")
        tc.batchSize = c.int("train.batch_size")
        tc.schedule = sched
        tc.warmupSteps = c.int("train.warmup_steps")
        tc.weightDecay = c.double("train.weight_decay")
        tc.maxGradNorm = c.double("train.max_grad_norm") > 0 ? c.double("train.max_grad_norm") : nil
        tc.beta2 = c.double("train.beta2")
        tc.seed = UInt64(max(0, c.int("train.seed")))
        let trainer = try Trainer(model: model, lora: nil, config: tc)
        let total = trainer.totalSteps(rows: encoded.count)
        let every = max(1, c.int("train.log_every"))
        var window = 0.0, windowTokens = 0, windowSteps = 0
        var first = Double.nan, last = Double.nan
        let trainStart = KernelStats.now()
        try trainer.train(encoded) { s in
            window += s.loss * Double(s.tokens); windowTokens += s.tokens; windowSteps += 1
            if s.step == 1 { first = s.loss }
            if windowSteps == every || s.step == total {
                last = window / Double(max(1, windowTokens))
                let el = KernelStats.now() - trainStart
                log(String(format: "step %d/%d  loss %.4f  lr %.2e  %.0f tok/s  %.0f s (ETA %.0f s)", s.step, total, last, s.learningRate,
                           Double(windowTokens) / max(1e-9, s.seconds * Double(windowSteps)), el, el / Double(s.step) * Double(total - s.step)))
                window = 0; windowTokens = 0; windowSteps = 0
            }
        }
        let trainSeconds = KernelStats.now() - trainStart

        // 5. Save and measure.
        try model.save(to: outDir, configJSON: cfgJSON, dtype: dt)
        try Data(c.json.utf8).write(to: outDir.appendingPathComponent("pretrain_config.json"), options: .atomic)
        // Measure the model as saved (a bf16/f16 file rounds the weights).
        let saved = try TransformerModel.load(directory: outDir)
        let gen = Generator(model: saved, tokenizer: tokenizer, maxBatch: 32)
        var report: [String: Any] = [
            "documents": docs.count, "tokens": tokens, "vocab": tok.tokens.count, "parameters": model.parameterCount,
            "steps": total, "first_loss": first, "last_loss": last, "train_seconds": trainSeconds,
        ]
        let (kq, kb) = w.knownPassages(options: opts)
        let newP = w.newPassages()
        func ask(_ name: String, _ ps: [SEALPassage]) throws {
            if ps.isEmpty { return }
            let r = try ToyWorldEval.questions(ps, generator: gen)
            report[name] = ["accuracy": r.accuracy, "questions": r.total,
                            "by_attribute": Dictionary(uniqueKeysWithValues: r.byAttribute.map { ($0.attribute, Double($0.correct) / Double(max(1, $0.total))) })]
            log(String(format: "%@: %.3f of %d questions (%@)", name, r.accuracy, r.total,
                       r.byAttribute.map { String(format: "%@ %.2f", $0.attribute, Double($0.correct) / Double(max(1, $0.total))) }.joined(separator: ", ")))
        }
        let nk = max(0, c.int("eval.known")), nn = max(0, c.int("eval.new"))
        try ask("known_qa", Array(kq.prefix(nk)))
        try ask("known_bio_only", Array(kb.prefix(nk)))
        try ask("new", Array(newP.prefix(nn)))
        let ns = max(0, c.int("eval.self_edits"))
        if ns > 0, !newP.isEmpty {
            let r = try ToyWorldEval.selfEdits(Array(newP.prefix(ns)), generator: gen, k: max(1, c.int("eval.samples")))
            report["self_edits"] = ["coverage": r.coverage, "lines": r.lines, "finished": r.finished, "samples": r.samples.count,
                                    "example": r.samples.first.map { "\($0.title): \($0.selfEdit)" } ?? ""]
            log(String(format: "self-edits on new passages: %.3f of the facts restated on average, %.1f lines, %.0f%% ended with EOS (%d samples)",
                       r.coverage, r.lines, 100 * r.finished, r.samples.count))
            if let s = r.samples.first { log("example self-edit for \(s.title) (\(s.covered)/\(s.of) facts):\n\(s.selfEdit)") }
        }
        report["seconds"] = KernelStats.now() - t0
        try Data(JSONWriter.serialize(report).utf8).write(to: outDir.appendingPathComponent("pretrain_report.json"), options: .atomic)
        return Summary(documents: docs.count, tokens: tokens, vocab: tok.tokens.count, parameters: model.parameterCount, steps: total,
                       firstLoss: first, lastLoss: last, seconds: KernelStats.now() - t0, report: report)
    }
}
