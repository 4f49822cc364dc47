import Foundation
import SealGenerate
import SealKernels
import SealModel
import SealRuntime
import SealTokenizer
import SealTrain

/// The ReSTEM outer loop over a domain, SPMD over MPI ranks.
///
/// One round: contexts are sharded over ranks; each rank samples K self-edits per context with the current
/// policy and scores each by R inner loops (LoRA reset between); the records gather to rank 0, which keeps the
/// rewarded self-edits and broadcasts them; every rank then computes gradients on its share of fixed micro-batches
/// of the kept pairs, the gradients are summed exactly (order-independent fixed point) across ranks, and every rank
/// applies the same AdamW step — so every rank holds the same policy, whatever the rank count. Rank 0 writes the
/// round to HDF5 and checkpoints the policy update before the next round starts.
public final class ReSTEMEngine {
    public let domain: SelfEditDomain
    public let config: ResolvedConfig
    public let mpi: MPIRuntime
    public internal(set) var policy: TransformerModel
    public let tokenizer: Tokenizer
    let modelDir: URL
    let trainWorkspace = TrainingWorkspace()
    /// The inner loop's LoRA targets and schedule, read (and checked) once.
    let innerTargets: [LoRATarget]
    let innerSchedule: LRSchedule
    /// `sft.replay_file`'s rows (empty without replay), read and checked once.
    let replayRows: [TextExample]
    let replayFraction: Double
    /// With `model.chat`: the chat format the self-edit requests are written in (the tokenizer's), else nil.
    let chat: ChatFormat?
    /// Progress lines (rank 0 only), e.g. to stdout.
    public var log: (String) -> Void = { print($0) }
    /// Per-unit progress lines (rank 0); off with --quiet.
    public var verbose = true

    public init(domain: SelfEditDomain, config: ResolvedConfig, mpi: MPIRuntime) throws {
        self.domain = domain
        self.config = config
        self.mpi = mpi
        // The values were checked against the schema's ranges when the config was resolved; what the schema
        // cannot say (a key another schema left out, a list that parses to nothing) is checked here, before the
        // model is loaded.
        let path = config.string("model.path")
        if path.isEmpty { throw EngineError("model.path is not set (config key model.path or --set model.path=DIR)") }
        guard ["top1", "threshold", "positive_gain"].contains(config.string("filter.mode")) else {
            throw EngineError("filter.mode must be top1, threshold or positive_gain")
        }
        guard ["adapted", "gain"].contains(config.string("reward.kind")) else { throw EngineError("reward.kind must be adapted or gain") }
        func schedule(_ k: String) throws -> LRSchedule {
            guard let s = LRSchedule(rawValue: config.string(k)) else { throw EngineError("\(k) must be constant, linear or cosine") }
            return s
        }
        func targets(_ k: String) throws -> [LoRATarget] {
            do { return try LoRATarget.parseList(config.strings(k).joined(separator: ",")) } catch { throw EngineError("\(k): \(error)") }
        }
        innerSchedule = try schedule("inner.schedule")
        _ = try schedule("sft.schedule")
        _ = try schedule("cpt.schedule")
        replayFraction = config.double("sft.replay_fraction")
        let replayFile = config.string("sft.replay_file")
        switch (replayFile.isEmpty, replayFraction > 0) {
        case (true, true): throw EngineError("sft.replay_fraction is \(replayFraction) but sft.replay_file is not set")
        case (false, false): throw EngineError("sft.replay_file is set but sft.replay_fraction is 0: no replay row would be used (set a fraction, or leave the file out)")
        case (false, true):
            do { replayRows = try Dataset.load(replayFile) } catch { throw EngineError("sft.replay_file: \(error)") }
        case (true, false): replayRows = []
        }
        innerTargets = try targets("inner.lora_targets")
        _ = try targets("sft.lora_targets")
        _ = try targets("cpt.lora_targets")
        modelDir = URL(fileURLWithPath: path)
        policy = try TransformerModel.load(directory: modelDir)
        tokenizer = try Tokenizer(model: modelDir)
        if config.bool("model.chat") {
            guard let f = ChatFormat.detect(tokenizer) else { throw EngineError("model.chat: the tokenizer of \(path) has no known chat format") }
            chat = f
        } else {
            chat = nil
        }
    }

    // MARK: self-edits and inner loops

    /// A context's self-edit request as a prompt/completion pair: the domain's pair, and with `model.chat` its
    /// prompt as the user turn of the chat format (encoded as that format is) and the self-edit as the assistant's
    /// answer, ending with the end-of-turn token (the EOS the policy update appends, when it is that token; else
    /// written after the text). Sampling completes this prompt and the policy update trains on this pair, so the
    /// policy learns from exactly what it was asked.
    public func selfEditPair(contextID: String, selfEdit: String) throws -> TextExample {
        var pair = try domain.reinforcementPair(contextID: contextID, selfEdit: selfEdit)
        guard let chat, let prompt = pair.prompt else { return pair }
        pair.prompt = chat.prompt(user: prompt)
        pair.promptSpecialTokens = chat.addsSpecialTokens
        let eot = tokenizer.tokenID(chat.endOfTurn)
        if eot == nil || eot != policy.eosTokenIDs.first { pair.text += chat.endOfTurn }
        return pair
    }

    /// The prompt tokens of a context's self-edit request (the prompt of `selfEditPair`).
    public func promptTokens(_ id: String) throws -> [Int32] {
        let pair = try selfEditPair(contextID: id, selfEdit: "")
        guard let prompt = pair.prompt else { throw EngineError("context \(id): the domain's self-edit pair has no prompt") }
        return tokenizer.encode(prompt, addSpecialTokens: pair.promptSpecialTokens).map(Int32.init)
    }

    /// Samples K self-edits for each context with the current policy. Each (context, sample) has its own random
    /// stream keyed by (run seed, round, context id): independent of batch, order and rank.
    public func sampleSelfEdits(_ ids: [String], round: Int, samples: Int? = nil) throws -> [String: [String]] {
        if ids.isEmpty { return [:] }
        let gen = Generator(model: policy, tokenizer: tokenizer, maxBatch: config.int("sampling.batch"))
        if let chat, let eot = tokenizer.tokenID(chat.endOfTurn) { gen.eosTokenIDs.insert(eot) }
        let seed = UInt64(bitPattern: Int64(config.int("run.seed")))
        let params = SamplingParams(temperature: config.double("sampling.temperature"), topP: config.double("sampling.top_p"),
                                    maxNewTokens: config.int("sampling.max_new_tokens"), seed: Seeds.key([seed, UInt64(round), 1]))
        let constraint = try domain.selfEditConstraint()
        let requests = try ids.map { GenerationRequest(prompt: try promptTokens($0), samples: samples ?? config.int("sampling.samples"), key: Seeds.hash($0),
                                                       constraint: constraint) }
        var out: [String: [String]] = [:]
        for c in try gen.generate(requests, params: params) { out[ids[c.promptIndex], default: []].append(c.text) }
        return out
    }

    /// A model scorer over the current policy with an optional adapter.
    func scorer(_ lora: LoRAAdapter?) -> ScoredModel {
        let gen = Generator(model: policy, tokenizer: tokenizer, maxBatch: config.int("sampling.batch"))
        gen.lora = lora
        return ScoredModel(model: policy, lora: lora, tokenizer: tokenizer, generator: gen)
    }

    /// The inner-loop LoRA adapter and trainer of this rank (allocated once, reset per inner loop).
    lazy var innerLoRA: LoRAAdapter = {
        LoRAAdapter(modelConfig: policy.config, config: LoRAConfig(rank: config.int("inner.lora_rank"),
                                                                   alpha: config.double("inner.lora_alpha"), targets: innerTargets))
    }()

    /// Runs one inner loop: fresh adapter (seeded), finetune on the plan, evaluate (for a reward or an evaluation
    /// arm). Returns the evaluation, the final training loss and the number of target tokens.
    public func innerLoop(contextID: String, plan: InnerLoopPlan, seed: UInt64, purpose: EvaluationPurpose) throws -> (Evaluation, Double, Int) {
        let (lastLoss, tokens) = try trainInner(contextID: contextID, plan: plan, seed: seed)
        let ev = try domain.evaluate(contextID: contextID, with: scorer(innerLoRA), purpose: purpose)
        return (ev, lastLoss, tokens)
    }

    /// The inner loop's training alone: the rank's inner adapter is reset (seeded) and finetuned on the plan.
    /// Returns the final training loss and the number of target tokens.
    /// `replay`: rows mixed into the plan's (loss on the completion, EOS appended, as in a policy update).
    func trainInner(contextID: String, plan: InnerLoopPlan, seed: UInt64, replay: [TextExample] = []) throws -> (Double, Int) {
        let lora = innerLoRA
        lora.reset(seed: seed)
        var tc = TrainConfig()
        tc.learningRate = plan.learningRate ?? config.double("inner.lr")
        tc.epochs = plan.epochs ?? config.double("inner.epochs")
        tc.batchSize = config.int("inner.batch_size")
        tc.schedule = innerSchedule
        tc.warmupSteps = plan.warmupSteps ?? 0
        tc.seed = seed
        tc.shuffle = true
        let eos = policy.eosTokenIDs.first
        let maxLength = min(config.int("inner.max_length"), policy.config.maxPositionEmbeddings)
        var (rows, _) = try Dataset.encode(plan.rows, tokenizer: tokenizer, lossOn: plan.lossOn, maxLength: maxLength,
                                           eosID: eos, appendEOS: plan.appendEOS, source: contextID)
        if !replay.isEmpty {
            rows += try Dataset.encode(replay, tokenizer: tokenizer, lossOn: .completion, maxLength: maxLength,
                                       eosID: eos, appendEOS: true, source: "sft.replay_file").0
        }
        let trainer = try Trainer(model: policy, lora: lora, config: tc, workspace: trainWorkspace)
        var lastLoss = 0.0, tokens = 0
        if tc.epochs > 0 {
            try trainer.train(rows) { lastLoss = $0.loss; tokens += $0.tokens }
        }
        return (lastLoss, tokens)
    }
}
