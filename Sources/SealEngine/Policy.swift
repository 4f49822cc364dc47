import Foundation
import SealGenerate
import SealKernels
import SealModel
import SealTokenizer
import SealTrain

/// The policy and what SEAL asks of it, on one rank: it writes self-edits (sampling), is finetuned on one (the
/// inner loop: a LoRA adapter, reset per loop, over its weights) and answers (a scorer over its weights, with or
/// without that adapter). The ReSTEM rounds change its weights (`model`); it knows nothing of MPI or files beyond
/// its own model.
public final class Policy {
    public let domain: SelfEditDomain
    public let settings: EngineSettings
    /// The current policy weights: the starting model, then with every merged policy update.
    public internal(set) var model: TransformerModel
    public let tokenizer: Tokenizer
    /// Where the starting model came from (reloaded by `reloadBase`, named in checkpoints).
    let modelDir: URL
    let workspace = TrainingWorkspace()
    /// `sft.replay_file`'s rows (empty without replay), read and checked once.
    let replayRows: [TextExample]
    /// With `model.chat`: the chat format the self-edit requests are written in (the tokenizer's), else nil.
    let chat: ChatFormat?

    public init(domain: SelfEditDomain, settings: EngineSettings) throws {
        self.domain = domain
        self.settings = settings
        if let replay = settings.policyUpdate.replay {
            do { replayRows = try Dataset.load(replay.file) } catch { throw EngineError.setting(key: "sft.replay_file", "sft.replay_file: \(error)") }
        } else {
            replayRows = []
        }
        modelDir = URL(fileURLWithPath: settings.model.path)
        model = try TransformerModel.load(directory: modelDir)
        tokenizer = try Tokenizer(model: modelDir)
        if settings.model.chat {
            guard let f = ChatFormat.detect(tokenizer) else { throw EngineError.setting(key: "model.chat", "model.chat: the tokenizer of \(settings.model.path) has no known chat format") }
            chat = f
        } else {
            chat = nil
        }
    }

    /// Training rows are cut to `inner.max_length` tokens and to the model's context.
    var maxRowLength: Int { min(settings.inner.maxLength, model.config.maxPositionEmbeddings) }

    /// Reloads the starting weights (ReSTEM as published trains every improve step from the base model).
    func reloadBase() throws {
        let base = try TransformerModel.load(directory: modelDir)
        model.params.pointer.update(from: base.params.pointer, count: model.params.count)
    }

    // MARK: writing self-edits

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
        if eot == nil || eot != model.eosTokenIDs.first { pair.text += chat.endOfTurn }
        return pair
    }

    /// The prompt tokens of a context's self-edit request (the prompt of `selfEditPair`).
    public func promptTokens(_ id: String) throws -> [Int32] {
        let pair = try selfEditPair(contextID: id, selfEdit: "")
        guard let prompt = pair.prompt else { throw EngineError.domain("context \(id): the domain's self-edit pair has no prompt") }
        return tokenizer.encode(prompt, addSpecialTokens: pair.promptSpecialTokens).map(Int32.init)
    }

    /// Samples self-edits (`samples`, default `sampling.samples`) for each context. Each (context, sample) has its
    /// own random stream keyed by (run seed, round, context id): independent of batch, order and rank.
    public func sampleSelfEdits(_ ids: [String], round: Int, samples: Int? = nil) throws -> [String: [String]] {
        if ids.isEmpty { return [:] }
        let s = settings.sampling
        let gen = Generator(model: model, tokenizer: tokenizer, maxBatch: s.batch)
        if let chat, let eot = tokenizer.tokenID(chat.endOfTurn) { gen.eosTokenIDs.insert(eot) }
        let params = SamplingParams(temperature: s.temperature, topP: s.topP, maxNewTokens: s.maxNewTokens,
                                    seed: Seeds.key([settings.run.seed, UInt64(round), 1]))
        let constraint = try domain.selfEditConstraint()
        let requests = try ids.map { GenerationRequest(prompt: try promptTokens($0), samples: samples ?? s.samples, key: Seeds.hash($0),
                                                       constraint: constraint) }
        var out: [String: [String]] = [:]
        for c in try gen.generate(requests, params: params) { out[ids[c.promptIndex], default: []].append(c.text) }
        return out
    }

    /// The mean of the domain's coverage measure over (context, self-edit) pairs, or nil when it has none.
    func meanCoverage(_ edits: [(context: String, text: String)]) throws -> Double? {
        var sum = 0.0, n = 0
        for e in edits {
            if let c = try domain.selfEditCoverage(contextID: e.context, selfEdit: e.text) { sum += c; n += 1 }
        }
        return n == 0 ? nil : sum / Double(n)
    }

    // MARK: answering

    /// A scorer over the current weights with an optional adapter.
    func scorer(_ lora: LoRAAdapter?) -> ScoredModel {
        let gen = Generator(model: model, tokenizer: tokenizer, maxBatch: settings.sampling.batch)
        gen.lora = lora
        return ScoredModel(model: model, lora: lora, tokenizer: tokenizer, generator: gen)
    }

    /// The un-adapted policy's evaluation of a context.
    func evaluateUnadapted(_ id: String, purpose: EvaluationPurpose) throws -> Evaluation {
        try domain.evaluate(contextID: id, with: scorer(nil), purpose: purpose)
    }

    // MARK: the inner loop

    /// The inner-loop LoRA adapter of this rank (allocated once, reset per inner loop).
    lazy var innerLoRA: LoRAAdapter = LoRAAdapter(modelConfig: model.config, config: settings.inner.lora)

    /// One inner loop: fresh adapter (seeded), finetuned on the plan, then evaluated (for a reward or an
    /// evaluation arm). Returns the evaluation, the final training loss and the number of target tokens.
    func innerLoop(contextID: String, plan: InnerLoopPlan, seed: UInt64, purpose: EvaluationPurpose) throws -> (Evaluation, Double, Int) {
        let (lastLoss, tokens) = try trainInner(contextID: contextID, plan: plan, seed: seed)
        let ev = try domain.evaluate(contextID: contextID, with: scorer(innerLoRA), purpose: purpose)
        return (ev, lastLoss, tokens)
    }

    /// The inner loop's training alone: the inner adapter is reset (seeded) and finetuned on the plan with the
    /// `inner.*` recipe (the plan may choose its own learning rate, epochs and warmup). Returns the final training
    /// loss and the number of target tokens. `replay`: rows mixed into the plan's (loss on the completion, EOS
    /// appended, as in a policy update).
    func trainInner(contextID: String, plan: InnerLoopPlan, seed: UInt64, replay: [TextExample] = []) throws -> (Double, Int) {
        let lora = innerLoRA
        lora.reset(seed: seed)
        let s = settings.inner
        var tc = TrainConfig()
        tc.learningRate = plan.learningRate ?? s.lr
        tc.epochs = plan.epochs ?? s.epochs
        tc.batchSize = s.batchSize
        tc.schedule = s.schedule
        tc.warmupSteps = plan.warmupSteps ?? 0
        tc.seed = seed
        tc.shuffle = true
        let eos = model.eosTokenIDs.first
        var (rows, _) = try Dataset.encode(plan.rows, tokenizer: tokenizer, lossOn: plan.lossOn, maxLength: maxRowLength,
                                           eosID: eos, appendEOS: plan.appendEOS, source: contextID)
        if !replay.isEmpty {
            rows += try Dataset.encode(replay, tokenizer: tokenizer, lossOn: .completion, maxLength: maxRowLength,
                                       eosID: eos, appendEOS: true, source: "sft.replay_file").0
        }
        let trainer = try Trainer(model: model, lora: lora, config: tc, workspace: workspace)
        var lastLoss = 0.0, tokens = 0
        if tc.epochs > 0 {
            try trainer.train(rows) { lastLoss = $0.loss; tokens += $0.tokens }
        }
        return (lastLoss, tokens)
    }

    // MARK: replay

    /// The replay rows mixed into a policy update of `kept` pairs (`sft.replay_*`, fraction f): round(kept·f/(1−f))
    /// of them, so that they are the share f of the update's rows, taken in a seeded permutation of the file that is
    /// new each round (and cycles through the file again when more are needed). The same on every rank; none
    /// without replay or without kept pairs.
    public func replay(forKept kept: Int, round: Int) -> [TextExample] {
        replay(mixedWith: kept, seed: Seeds.key([settings.run.seed, UInt64(round), 11]))
    }

    /// round(n·f/(1−f)) replay rows for an update of n rows of its own, in the permutation `seed` draws.
    func replay(mixedWith n: Int, seed: UInt64) -> [TextExample] {
        guard n > 0, !replayRows.isEmpty, let f = settings.policyUpdate.replay?.fraction, f > 0 else { return [] }
        let count = Int((Double(n) * f / (1 - f)).rounded())
        return trainingRowOrder(rows: replayRows.count, count: count, shuffle: true, seed: seed).map { replayRows[$0] }
    }
}
