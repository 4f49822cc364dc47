import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SealGenerate
import SealKernels
import SealModel
import SealRuntime
import SealTokenizer
import SealTrain

/// Timings of one round's phases on this rank (seconds).
public struct PhaseTimes: Codable, Sendable {
    public var sampling = 0.0, inner = 0.0, comm = 0.0, sft = 0.0, io = 0.0
    /// Time spent waiting for other ranks at the round's meeting points (measured by a barrier before each
    /// exchange, so `comm` is only the data movement).
    public var wait = 0.0
}

extension ReSTEMEngine {
    static func now() -> Double { KernelStats.now() }

    /// The self-edits of every context: those in the journal, plus those this round still has to sample, sampled
    /// with contexts sharded statically by cost (sampling is batched, so it is not worth scheduling finer) and
    /// shared with every rank. Each context's self-edits are journaled as soon as they exist.
    func allSelfEdits(_ contexts: [ContextInfo], round: Int, journal: [String: JournalEntry], writer: JournalWriter?,
                      times: inout PhaseTimes, samples: Int? = nil) throws -> [String: [String]] {
        var edits: [String: [String]] = [:]
        for c in contexts { if let e = journal["edits|\(c.id)|0"]?.edits { edits[c.id] = e } }
        let missing = contexts.filter { edits[$0.id] == nil }
        if missing.isEmpty { return edits }
        var t0 = Self.now()
        let mine = shard(missing, ranks: mpi.size)[mpi.rank]
        let fresh = try sampleSelfEdits(mine.map(\.id), round: round, samples: samples)
        var list: [[String]] = []
        for c in mine {
            let e = fresh[c.id] ?? []
            try writer?.append(JournalEntry(kind: .edits, context: c.id, edits: e))
            list.append([c.id] + e)
        }
        times.sampling += Self.now() - t0
        t0 = Self.now()
        try mpi.barrier()
        times.wait += Self.now() - t0
        t0 = Self.now()
        for blob in try mpi.allgather(try Wire.bytes(list)) {
            for row in try Wire.decode([[String]].self, blob) { edits[row[0]] = Array(row.dropFirst()) }
        }
        times.comm += Self.now() - t0
        return edits
    }

    /// A unit of inner-loop work: a context's baseline evaluation (sample -1) or one self-edit's inner loops.
    struct Unit { var context: String; var sample: Int; var cost: Double }

    /// The units still to run, the expensive ones first (what dynamic scheduling wants): a self-edit costs its
    /// training characters × epochs × repeats; baselines (one evaluation each) come last as fillers.
    func pendingUnits(_ contexts: [ContextInfo], edits: [String: [String]], journal: [String: JournalEntry]) -> [Unit] {
        let repeats = Double(max(1, config.int("inner.repeats")))
        var units: [Unit] = []
        for c in contexts {
            if journal["baseline|\(c.id)|0"] == nil { units.append(Unit(context: c.id, sample: -1, cost: 0)) }
            for (k, text) in (edits[c.id] ?? []).enumerated() where journal["sample|\(c.id)|\(k)"] == nil {
                var cost = 0.0
                if let plan = try? domain.innerLoopPlan(contextID: c.id, selfEdit: text) {
                    let chars = plan.rows.reduce(0) { $0 + ($1.prompt?.utf8.count ?? 0) + $1.text.utf8.count }
                    cost = Double(chars) * (plan.epochs ?? config.double("inner.epochs")) * repeats + 1
                }
                units.append(Unit(context: c.id, sample: k, cost: cost))
            }
        }
        return units.sorted { ($0.cost, $1.context, $1.sample) > ($1.cost, $0.context, $0.sample) }
    }

    /// Runs one self-edit's inner loops (R repeats, each with its own seeded adapter) and returns its record. The
    /// baseline and (for gain rewards) the reward are filled in by rank 0 once every baseline is known.
    func runSample(context id: String, index k: Int, text: String, round: Int) throws -> SampleRecord {
        let runSeed = UInt64(bitPattern: Int64(config.int("run.seed")))
        let start = Self.now()
        var rec = SampleRecord(contextID: id, sampleIndex: k, rank: mpi.rank, reward: 0, baselineScore: .nan,
                               adaptedScore: .nan, innerLoss: .nan, tokens: 0, seconds: 0, selfEdit: text,
                               status: "ok", kept: false)
        do {
            let plan = try domain.innerLoopPlan(contextID: id, selfEdit: text)
            var scores: [Double] = [], losses: [Double] = [], tokens = 0
            for r in 0..<max(1, config.int("inner.repeats")) {
                let seed = Seeds.key([runSeed, UInt64(round), Seeds.hash(id), UInt64(k), UInt64(r)])
                let (ev, loss, n) = try innerLoop(contextID: id, plan: plan, seed: seed, purpose: .reward)
                scores.append(ev.score); losses.append(loss); tokens += n
            }
            rec.adaptedScore = scores.reduce(0, +) / Double(scores.count)
            rec.innerLoss = losses.reduce(0, +) / Double(losses.count)
            rec.tokens = tokens
        } catch let e as InvalidSelfEdit {
            rec.status = "invalid: \(e.reason)"
        } catch let e as DatasetError {
            rec.status = "invalid: \(e)"
        } catch let e as TrainingError {
            // A self-edit whose inner loop blows up (an ARC recipe's learning rate, say) is the policy's output
            // too: reward 0, recorded with the reason, and the round goes on. The inner adapter is reset before
            // the next unit, so nothing of it survives.
            guard case .nonFinite = e else { throw e }
            rec.status = "\(SampleRecord.divergedPrefix)\(e)"
        }
        rec.seconds = Self.now() - start
        return rec
    }

    /// Every self-edit's record for the round, on rank 0 (nil elsewhere), sorted by (context, sample): the units in
    /// the journal plus the pending ones, run under dynamic scheduling and journaled one by one.
    func roundRecords(_ contexts: [ContextInfo], round: Int, out: String, times: inout PhaseTimes) throws -> [SampleRecord]? {
        let journalDir = Journal(run: out, name: String(format: "round_%03d", round))
        let journal = try loadJournal(journalDir)
        if mpi.isRoot && !journal.isEmpty { log("round \(round): \(journal.count) finished units found in \(journalDir.directory.path)") }
        let writer = try JournalWriter(journalDir, rank: mpi.rank)
        let edits = try allSelfEdits(contexts, round: round, journal: journal, writer: writer, times: &times)
        let units = pendingUnits(contexts, edits: edits, journal: journal)
        let t0 = Self.now()
        var local: [JournalEntry] = []
        let progress = ProgressReporter(label: "round \(round) inner loops", total: units.count, enabled: mpi.isRoot && verbose, sink: log)
        // Test hook: SEAL_DEBUG_KILL_AFTER_UNITS=n makes rank 0 die by SIGKILL right after journaling its n-th unit
        // of the first round it runs (a preemption in the middle of the inner loops).
        let killAfter = mpi.isRoot ? Int(ProcessInfo.processInfo.environment["SEAL_DEBUG_KILL_AFTER_UNITS"] ?? "") : nil
        try mpi.forEachDynamic(count: units.count) { i in
            try Preemption.check("round \(round)")
            let u = units[i]
            let entry: JournalEntry
            if u.sample < 0 {
                let score = try domain.evaluate(contextID: u.context, with: scorer(nil), purpose: .reward).score
                entry = JournalEntry(kind: .baseline, context: u.context, score: score)
            } else {
                let rec = try runSample(context: u.context, index: u.sample, text: edits[u.context]![u.sample], round: round)
                entry = JournalEntry(kind: .sample, context: u.context, sample: u.sample, record: rec)
            }
            try writer.append(entry)
            local.append(entry)
            if mpi.isRoot { progress.advance() }
            if let killAfter, local.count == killAfter { raise(SIGKILL) }
        }
        times.inner += Self.now() - t0
        var t1 = Self.now()
        try mpi.barrier()
        times.wait += Self.now() - t1
        t1 = Self.now()
        let gathered = try mpi.gather(try Wire.bytes(local))
        times.comm += Self.now() - t1
        guard mpi.isRoot, let gathered else { return nil }
        var entries = journal
        for blob in gathered {
            for e in try Wire.decode([JournalEntry].self, blob) where entries[e.key] == nil { entries[e.key] = e }
        }
        let gain = config.string("reward.kind") == "gain"
        var records: [SampleRecord] = []
        for c in contexts {
            guard let baseline = entries["baseline|\(c.id)|0"]?.score else { throw EngineError("round \(round): no baseline for context \(c.id)") }
            for k in (edits[c.id] ?? []).indices {
                guard var rec = entries["sample|\(c.id)|\(k)"]?.record else { throw EngineError("round \(round): no record for \(c.id) sample \(k)") }
                rec.baselineScore = baseline
                if rec.status == "ok" {
                    rec.reward = gain ? rec.adaptedScore - baseline : rec.adaptedScore
                } else if rec.status.hasPrefix(SampleRecord.divergedPrefix) {
                    rec.reward = 0  // adapted_score stays NaN: the diverged model was not asked anything
                } else {
                    rec.adaptedScore = baseline  // an unusable self-edit trains nothing: the model stays the base
                    rec.reward = 0
                }
                records.append(rec)
            }
        }
        return records.sorted { ($0.contextID, $0.sampleIndex) < ($1.contextID, $1.sampleIndex) }
    }

    /// ReSTEM's filter: which self-edits are reinforced. Applied by rank 0 to all records, in a fixed order.
    public func keep(_ records: [SampleRecord]) -> [SampleRecord] {
        let valid = records.filter { $0.status == "ok" }
        switch config.string("filter.mode") {
        case "threshold":
            let th = config.double("filter.threshold")
            return valid.filter { $0.reward > th }
        case "positive_gain":
            return valid.filter { $0.adaptedScore > $0.baselineScore }
        default:
            // Top-1 per context: the highest reward, ties to the lowest sample index; a context whose best earned
            // nothing (reward ≤ 0) contributes nothing.
            var best: [String: SampleRecord] = [:]
            for r in valid where r.reward > 0 {
                if let b = best[r.contextID], b.reward > r.reward || (b.reward == r.reward && b.sampleIndex < r.sampleIndex) { continue }
                best[r.contextID] = r
            }
            return best.values.sorted { ($0.contextID, $0.sampleIndex) < ($1.contextID, $1.sampleIndex) }
        }
    }

    /// The policy update on the kept pairs (loss on the completion only), with the `sft.*` recipe.
    public func policyUpdate(_ pairs: [TextExample], round: Int, times: inout PhaseTimes) throws -> (steps: [(step: Int, loss: Double)], adapter: LoRAAdapter?) {
        if pairs.isEmpty { return ([], nil) }
        let runSeed = UInt64(bitPattern: Int64(config.int("run.seed")))
        let mixed = pairs + replay(forKept: pairs.count, round: round)
        let (rows, _) = try Dataset.encode(mixed, tokenizer: tokenizer, lossOn: .completion,
                                           maxLength: min(config.int("inner.max_length"), policy.config.maxPositionEmbeddings),
                                           eosID: policy.eosTokenIDs.first, appendEOS: true, source: replayRows.isEmpty ? "kept pairs" : "kept pairs and sft.replay_file")
        let recipe = try FinetuneRecipe(config, prefix: "sft", full: false, seed: Seeds.key([runSeed, UInt64(round), 2]),
                                        label: "round \(round)'s policy update")
        return try dataParallelFinetune(rows, recipe: recipe, times: &times)
    }

    /// The replay rows mixed into a policy update of `kept` pairs (`sft.replay_file`, `sft.replay_fraction` f):
    /// round(kept·f/(1−f)) of them, so that they are the share f of the update's rows, taken in a seeded
    /// permutation of the file that is new each round (and cycles through the file again when more are needed).
    /// The same on every rank; none without replay or without kept pairs.
    public func replay(forKept kept: Int, round: Int) -> [TextExample] {
        let runSeed = UInt64(bitPattern: Int64(config.int("run.seed")))
        return replay(mixedWith: kept, seed: Seeds.key([runSeed, UInt64(round), 11]))
    }

    /// round(n·f/(1−f)) replay rows for an update of n rows of its own, in the permutation `seed` draws.
    func replay(mixedWith n: Int, seed: UInt64) -> [TextExample] {
        guard n > 0, !replayRows.isEmpty, replayFraction > 0 else { return [] }
        let count = Int((Double(n) * replayFraction / (1 - replayFraction)).rounded())
        return trainingRowOrder(rows: replayRows.count, count: count, shuffle: true, seed: seed).map { replayRows[$0] }
    }

    /// A finetune of the policy on `rows`, data-parallel and rank-count invariant: the rows (epoch after epoch, each
    /// a seeded permutation, identical on every rank) are cut into optimizer steps and fixed micro-batches;
    /// micro-batch j of a step is computed by rank j mod size; each micro-batch's gradient is added exactly (fixed
    /// point) into an accumulator; the accumulators are summed across ranks exactly; every rank applies the same
    /// clipped AdamW step. With a LoRA recipe returns the trained adapter (the policy is untouched); a full
    /// finetune updates the policy's weights in place and returns nil. Also returns (step, loss) per step.
    func dataParallelFinetune(_ rows: [EncodedExample], recipe: FinetuneRecipe, times: inout PhaseTimes) throws -> (steps: [(step: Int, loss: Double)], adapter: LoRAAdapter?) {
        if rows.isEmpty { return ([], nil) }
        var lora: LoRAAdapter? = nil
        if let lc = recipe.lora {
            let adapter = LoRAAdapter(modelConfig: policy.config, config: lc)
            adapter.reset(seed: recipe.seed)
            lora = adapter
        }
        let wanted = (Double(rows.count) * recipe.epochs).rounded(.up)
        guard wanted.isFinite, wanted >= 0, wanted <= Double(1 << 40) else {
            throw EngineError("\(recipe.label): \(rows.count) rows × \(recipe.epochs) epochs is not a number of rows it can train on")
        }
        let totalRows = Int(wanted)
        let order = trainingRowOrder(rows: rows.count, count: totalRows, shuffle: true, seed: Seeds.key([recipe.seed, 3]))
        let perStep = max(recipe.micro, recipe.batch)
        let totalSteps = max(1, (totalRows + perStep - 1) / perStep)
        let trainable = lora?.params.count ?? policy.params.count
        let state = OptimizerState(model: policy, lora: lora, optimizer: AdamW(count: trainable, weightDecay: recipe.weightDecay),
                                   workspace: trainWorkspace)
        let reduction = MPIGradientReduction(mpi: mpi)
        var log: [(Int, Double)] = []
        for step in 0..<totalSteps {
            try Preemption.check(recipe.label)
            let stepRows = order[(step * perStep)..<min((step + 1) * perStep, order.count)]
            let microBatches = stride(from: stepRows.startIndex, to: stepRows.endIndex, by: recipe.micro).map { start in
                let mb = stepRows[start..<min(start + recipe.micro, stepRows.endIndex)]
                return TrainingBatch(sequences: mb.map { rows[$0].ids }, targets: mb.map { rows[$0].targets })
            }
            let lr = recipe.lr * recipe.schedule.multiplier(step: step, totalSteps: totalSteps, warmupSteps: recipe.warmupSteps)
            let t0 = Self.now()
            reduction.times = PhaseTimes()
            let r: StepResult
            do {
                r = try state.step(microBatches, learningRate: lr, maxGradNorm: recipe.maxGradNorm > 0 ? recipe.maxGradNorm : nil,
                                   index: step, reduction: reduction)
            } catch let e as TrainingError {
                throw EngineError("\(recipe.label): \(e)")
            }
            times.wait += reduction.times.wait
            times.comm += reduction.times.comm
            times.sft += Self.now() - t0 - reduction.times.wait - reduction.times.comm
            log.append((step + 1, r.loss))
        }
        return (log, lora)
    }
}

/// The data-parallel reduction of a policy update: gradients summed exactly over every rank (the same bits on 1,
/// 2 or 4 ranks), losses gathered; the time spent waiting for the other ranks (a barrier first) and moving data
/// recorded apart.
final class MPIGradientReduction: GradientReduction {
    let mpi: MPIRuntime
    var times = PhaseTimes()
    init(mpi: MPIRuntime) { self.mpi = mpi }
    var rank: Int { mpi.rank }
    var size: Int { mpi.size }
    var exact: Bool { true }

    func allreduce(_ accumulator: ExactAccumulator) throws {
        var t0 = KernelStats.now()
        try mpi.barrier()
        times.wait += KernelStats.now() - t0
        t0 = KernelStats.now()
        try mpi.allreduce(accumulator)
        times.comm += KernelStats.now() - t0
    }

    func allgather(_ values: [Double]) throws -> [[Double]] {
        let t0 = KernelStats.now()
        defer { times.comm += KernelStats.now() - t0 }
        return try mpi.allgather(try Wire.bytes(values)).map { try Wire.decode([Double].self, $0) }
    }
}

/// The recipe of a data-parallel finetune, read from a config section (`sft.*`, `cpt.*`).
struct FinetuneRecipe {
    var lora: LoRAConfig?
    var lr: Double
    var epochs: Double
    var batch: Int
    var micro: Int
    var schedule: LRSchedule
    var warmupSteps = 0
    var maxGradNorm: Double
    var weightDecay = 0.0
    var seed: UInt64
    var label: String

    init(_ config: ResolvedConfig, prefix p: String, full: Bool, seed: UInt64, label: String) throws {
        if !full {
            let targets: [LoRATarget]
            do { targets = try LoRATarget.parseList(config.strings("\(p).lora_targets").joined(separator: ",")) } catch {
                throw EngineError("\(p).lora_targets: \(error)")
            }
            lora = LoRAConfig(rank: config.int("\(p).lora_rank"), alpha: config.double("\(p).lora_alpha"), targets: targets)
        }
        lr = config.double("\(p).lr")
        epochs = config.double("\(p).epochs")
        micro = max(1, config.int("\(p).micro_batch"))
        batch = max(micro, config.int("\(p).batch"))
        guard let s = LRSchedule(rawValue: config.string("\(p).schedule")) else { throw EngineError("\(p).schedule must be constant, linear or cosine") }
        schedule = s
        maxGradNorm = config.double("\(p).max_grad_norm")
        self.seed = seed
        self.label = label
    }
}

extension SampleRecord {
    /// `status` of a sample whose inner loop produced a non-finite loss or gradient (reward 0, adapted_score NaN).
    static let divergedPrefix = "diverged: "
}
