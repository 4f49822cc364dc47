import Foundation
import SealCore
import SealGenerate
import SealModel
import SealRuntime
import SealTrain

// The two experiments of SEAL's knowledge section besides the ReSTEM rounds, generic over the domain:
//  * continued pretraining (CPT): self-edits for N contexts at once, one data-parallel finetune over the union,
//    then every context's questions — does the self-edit data still help when passages are absorbed in bulk?
//  * continual learning: sequences of contexts, each self-edit applied and merged in turn, every context seen so
//    far re-evaluated after each update — the forgetting matrix.
// Both shard their work over ranks with the same rules as the rounds: results depend on (seed, coordinates) only.

extension ReSTEMEngine {
    /// The experiment `run.experiment` names: restem (the rounds), cpt or continual.
    public func runExperiment(out: String, overwrite: Bool) throws {
        try checkSplits(forTrain: true)
        switch config.string("run.experiment") {
        case "restem": try train(out: out, overwrite: overwrite)
        case "cpt": try continuedPretraining(out: out, overwrite: overwrite)
        case "continual": try continualLearning(out: out, overwrite: overwrite)
        case let other: throw EngineError("run.experiment must be restem, cpt or continual (got '\(other)')")
        }
    }

    /// Before any work: every split this command will use has contexts (the domain's error names its file and
    /// filter otherwise), so that a run never evaluates arms for hours and then finds no training context, and
    /// never ends with exit 0 having run nothing.
    func checkSplits(forTrain: Bool) throws {
        let arms = !config.strings("eval.arms").isEmpty
        var splits: [String] = []
        if forTrain {
            switch config.string("run.experiment") {
            case "restem":
                let rounds = config.int("run.rounds")
                if rounds > 0 { splits.append("train") }
                if (config.bool("eval.before_train") && arms) || (rounds > 0 && (config.bool("eval.after_train") || config.bool("eval.each_round"))) {
                    splits.append("eval")
                }
            default: splits.append("eval")
            }
        } else if arms {
            splits.append("eval")
        }
        if forTrain && config.bool("eval.retention") && config.string("run.experiment") == "restem" { splits.append("retention") }
        for split in splits {
            let n = try domain.contexts(split: split).count
            if n == 0 { throw EngineError("the \(split) split has no contexts: nothing to run") }
        }
    }

    /// Opens (resuming) or creates the run's metrics file on rank 0; every rank learns which rounds are complete.
    func openRun(out: String, overwrite: Bool) throws -> (MetricsFile?, completed: [Int]) {
        var metrics: MetricsFile? = nil
        var completed: [Int] = []
        if mpi.isRoot {
            if FileManager.default.fileExists(atPath: out) && !overwrite {
                // A run of another configuration is refused before its file is opened for writing (resume counts
                // itself in the file).
                if let stored = try? MetricsReader(path: out).config(), !config.sameRun(asStored: stored) {
                    throw EngineError("\(out) belongs to a run with a different configuration; use another --out, or --overwrite to start over")
                }
                let (m, done) = try MetricsFile.resume(path: out)
                guard config.sameRun(asStored: try m.config) else {
                    throw EngineError("\(out) belongs to a run with a different configuration; use another --out, or --overwrite to start over")
                }
                metrics = m
                completed = done.sorted()
                // One line a batch log (and scripts/test-slurm.sh) can rely on: which run, from where.
                if let last = completed.last {
                    log("resuming \(out) after round \(last)")
                } else {
                    log("resuming \(out): no round complete yet")
                }
            } else {
                let ckpt = out + ".ckpt"
                metrics = try MetricsFile.create(path: out, config: try config.json, seed: config.int("run.seed"),
                                                 worldSize: mpi.size, model: modelDir.path, overwrite: overwrite) {
                    // Under the writers' lock (a live run of this --out holds it, and is refused before this runs):
                    // the replaced run's checkpoints and journals go; without --overwrite, checkpoints beside a
                    // missing metrics file belong to some other run and are not mixed into this one.
                    guard FileManager.default.fileExists(atPath: ckpt) else { return }
                    guard overwrite else {
                        throw EngineError("\(ckpt) holds checkpoints or journals but \(out) does not exist (the metrics file was removed?); remove \(ckpt), or pass --overwrite to start over")
                    }
                    do { try FileManager.default.removeItem(atPath: ckpt) } catch {
                        throw EngineError("--overwrite: cannot remove \(ckpt): \(error.localizedDescription)")
                    }
                }
            }
        }
        completed = try Wire.decode([Int].self, try mpi.broadcast(try Wire.bytes(completed)))
        return (metrics, completed)
    }

    // MARK: continued pretraining

    /// CPT over the eval split: self-edits from `cpt.source` (the policy's samples, the domain's external ones, or
    /// the contexts alone), one data-parallel finetune over the union of their training rows (LoRA or full, the
    /// `cpt.*` recipe), then arm `cpt.arm` evaluates every context's questions with the finetuned model. The
    /// finetune is recorded as round 0 (its samples are the self-edits used; rewards are NaN) and checkpointed, so
    /// a killed run resumes at the evaluation. `eval.before_train` runs `eval.arms` with the starting policy first.
    public func continuedPretraining(out: String, overwrite: Bool) throws {
        Preemption.install()
        let (metrics, completed) = try openRun(out: out, overwrite: overwrite)
        let contexts = try domain.contexts(split: "eval").sorted { $0.id < $1.id }
        let arm = config.string("cpt.arm")
        if config.bool("eval.before_train") && !completed.contains(0) {
            let have = try armsDone(metrics)
            for a in config.strings("eval.arms") where !have.contains(a) {
                try evaluate(arm: a, kind: try EngineConfig.armKind(a), metrics: metrics, out: out)
            }
        }
        let full = config.bool("cpt.full")
        let ckpt = checkpointURL(out, round: 0)
        if completed.contains(0) {
            if full {
                policy = try TransformerModel.load(directory: ckpt)
            } else if FileManager.default.fileExists(atPath: ckpt.path) {
                try PEFTAdapter.load(from: ckpt, for: policy).merge(into: policy)
            }
        } else {
            var times = PhaseTimes()
            let start = Self.now()
            let source = config.string("cpt.source")
            let perContext = max(1, config.int("cpt.samples"))
            var edits: [String: [String]] = [:]
            switch source {
            case "policy":
                let journal = Journal(run: out, name: "cpt")
                edits = try allSelfEdits(contexts, round: 0, journal: try loadJournal(journal), writer: try JournalWriter(journal, rank: mpi.rank), times: &times)
            case "external":
                for c in contexts {
                    guard let e = try domain.externalSelfEdits(contextID: c.id) else {
                        throw EngineError("cpt.source = external: the domain has no external self-edits for context \(c.id) (set the domain's self-edit file)")
                    }
                    edits[c.id] = e
                }
            case "context": break
            default: throw EngineError("cpt.source must be policy, external or context (got '\(source)')")
            }
            // The union of the training rows, in (context, sample) order. SEAL's CPT.py concatenates every self-edit's
            // rows, so each plan's copy of the passage stays (the passage weighs once per self-edit); with
            // cpt.distinct_rows each distinct row is kept once.
            let distinct = config.bool("cpt.distinct_rows")
            var seen = Set<String>()
            // Rows grouped by how they are encoded (loss on, EOS appended), each group in union order.
            var byLoss: [String: (LossOn, Bool, [TextExample])] = [:]
            var records: [SampleRecord] = []
            func add(_ plan: InnerLoopPlan) {
                for r in plan.rows where !distinct || seen.insert("\(plan.lossOn)|\(plan.appendEOS)|\(r.prompt ?? "")|\(r.text)").inserted {
                    byLoss["\(plan.lossOn)|\(plan.appendEOS)", default: (plan.lossOn, plan.appendEOS, [])].2.append(r)
                }
            }
            for c in contexts {
                if source == "context" {
                    guard let plan = try domain.contextOnlyPlan(contextID: c.id) else { throw EngineError("cpt.source = context: the domain has no context-only plan") }
                    add(plan)
                    continue
                }
                for (k, text) in (edits[c.id] ?? []).prefix(perContext).enumerated() {
                    var rec = SampleRecord(contextID: c.id, sampleIndex: k, rank: mpi.rank, reward: .nan, baselineScore: .nan,
                                           adaptedScore: .nan, innerLoss: .nan, tokens: 0, seconds: 0, selfEdit: text)
                    do { add(try domain.innerLoopPlan(contextID: c.id, selfEdit: text)) } catch let e as InvalidSelfEdit { rec.status = "invalid: \(e.reason)" }
                    records.append(rec)
                }
            }
            let maxLength = min(config.int("inner.max_length"), policy.config.maxPositionEmbeddings)
            var rows: [EncodedExample] = []
            for (_, group) in byLoss.sorted(by: { $0.key < $1.key }) {
                let (lossOn, eos, r) = group
                rows += try Dataset.encode(r, tokenizer: tokenizer, lossOn: lossOn, maxLength: maxLength, eosID: policy.eosTokenIDs.first,
                                           appendEOS: eos, source: "cpt rows").0
            }
            if mpi.isRoot { log("cpt: \(rows.count) training rows from \(contexts.count) contexts (source \(source))") }
            let runSeed = UInt64(bitPattern: Int64(config.int("run.seed")))
            let recipe = try FinetuneRecipe(config, prefix: "cpt", full: full, seed: Seeds.key([runSeed, 0xC97]), label: "continued pretraining")
            let (steps, adapter) = try dataParallelFinetune(rows, recipe: recipe, times: &times)
            if mpi.isRoot, let metrics {
                if full {
                    let tmp = URL(fileURLWithPath: ckpt.path + ".tmp")
                    try? FileManager.default.removeItem(at: tmp)
                    try saveFullModel(to: tmp)
                    try? FileManager.default.removeItem(at: ckpt)
                    try FileManager.default.moveItem(at: tmp, to: ckpt)
                } else {
                    try saveCheckpoint(adapter, out: out, round: 0)
                }
                try metrics.writeRound(0, samples: records, sftSteps: steps, attributes: [
                    "seconds_sampling": times.sampling, "seconds_sft": times.sft, "seconds_comm": times.comm,
                    "seconds_wait": times.wait, "seconds_total": Self.now() - start, "rows": Double(rows.count),
                    "row_tokens": Double(rows.reduce(0) { $0 + $1.ids.count }), "epochs": recipe.epochs,
                    "world_size": Double(mpi.size),
                ])
                log(String(format: "cpt: %d rows, %d steps, final loss %.4f, %.1f s", rows.count, steps.count, steps.last?.loss ?? .nan, Self.now() - start))
            }
            try mpi.barrier()
            if mpi.isRoot { Journal(run: out, name: "cpt").remove() }
            adapter?.merge(into: policy)
        }
        if try !armsDone(metrics).contains(arm) { try evaluate(arm: arm, kind: .none, metrics: metrics, out: out) }
        if mpi.isRoot, let metrics {
            try metrics.finish()
            log(try summaryTable(metrics))
        }
    }

    /// Writes the policy as a model directory (config.json, safetensors, tokenizer files): the checkpoint of a
    /// full-finetuning CPT run.
    func saveFullModel(to dir: URL) throws {
        try policy.saveDirectory(to: dir, base: modelDir)
    }

    // MARK: continual learning

    /// The forgetting experiment: `continual.sequences` sequences of `continual.length` contexts from the eval split
    /// (a seeded shuffle, cut in order). Each sequence starts from the starting policy; step 0 evaluates all its
    /// contexts; step t samples one self-edit for context t−1 with the current model, trains it (the inner-loop
    /// recipe; with `sft.replay_*`, replay rows mixed in at that share), merges it, and evaluates contexts 0..<t. Arm `continual_seq<s>_step_<t>` holds step t's answers.
    /// Sequences are the units of work (dynamic scheduling; each is journaled when done).
    public func continualLearning(out: String, overwrite: Bool) throws {
        Preemption.install()
        let (metrics, _) = try openRun(out: out, overwrite: overwrite)
        let all = try domain.contexts(split: "eval").sorted { $0.id < $1.id }
        let nSeq = config.int("continual.sequences"), len = config.int("continual.length")
        guard nSeq >= 1, len >= 1 else { throw EngineError("continual.sequences and continual.length must be at least 1") }
        guard nSeq * len <= all.count else {
            throw EngineError("continual: \(nSeq) sequences × \(len) contexts need \(nSeq * len) contexts; the eval split has \(all.count)")
        }
        let runSeed = UInt64(bitPattern: Int64(config.int("run.seed")))
        var ids = all.map(\.id)
        let rng = CounterRNG(seed: Seeds.key([runSeed, 0xC0_47]))
        for i in stride(from: ids.count - 1, to: 0, by: -1) { ids.swapAt(i, Int(rng.uniform(stream: 1, index: UInt64(i)) * Double(i + 1))) }
        let sequences = (0..<nSeq).map { Array(ids[($0 * len)..<(($0 + 1) * len)]) }
        let journal = Journal(run: out, name: "continual")
        let done = try loadJournal(journal)
        let writer = try JournalWriter(journal, rank: mpi.rank)
        let armName = { (s: Int, t: Int) in "continual_seq\(s)_step_\(t)" }
        let pending = (0..<nSeq).filter { s in (0...len).contains { done["eval|\(armName(s, $0))|0"] == nil } }
        let start = Self.now()
        let base = FloatBuffer(count: policy.params.count, zeroed: false)
        base.pointer.update(from: policy.params.pointer, count: policy.params.count)
        let progress = ProgressReporter(label: "continual sequences", total: pending.count, enabled: mpi.isRoot && verbose, sink: log)
        var local: [JournalEntry] = []
        try mpi.forEachDynamic(count: pending.count) { i in
            let s = pending[i]
            policy.params.pointer.update(from: base.pointer, count: base.count)
            var steps: [[EvalRecord]] = []
            func evaluateSeen(_ n: Int) throws -> [EvalRecord] {
                try sequences[s].prefix(n).flatMap { c in
                    try domain.evaluate(contextID: c, with: scorer(nil), purpose: .evaluation).items.map {
                        EvalRecord(contextID: c, question: $0.question, gold: $0.gold, prediction: $0.prediction, correct: $0.correct, note: $0.note)
                    }
                }
            }
            steps.append(try evaluateSeen(len))
            for t in 1...len {
                try Preemption.check("continual sequence \(s)")
                let c = sequences[s][t - 1]
                let text = try sampleSelfEdits([c], round: 2_000 + 100 * s + t, samples: 1)[c]?.first ?? ""
                if let plan = try? domain.innerLoopPlan(contextID: c, selfEdit: text) {
                    // Replay (sft.replay_*): rows the policy knew, mixed into each update that is merged into it.
                    let extra = replay(mixedWith: plan.rows.count, seed: Seeds.key([runSeed, 0xC0_47, UInt64(s), UInt64(t), 11]))
                    _ = try trainInner(contextID: c, plan: plan, seed: Seeds.key([runSeed, 0xC0_47, UInt64(s), UInt64(t)]), replay: extra)
                    innerLoRA.merge(into: policy)
                }
                steps.append(try evaluateSeen(t))
            }
            for (t, recs) in steps.enumerated() {
                let e = JournalEntry(kind: .eval, context: armName(s, t), evals: recs)
                try writer.append(e)
                local.append(e)
            }
            if mpi.isRoot { progress.advance() }
        }
        policy.params.pointer.update(from: base.pointer, count: base.count)
        let gathered = try mpi.gather(try Wire.bytes(local))
        if mpi.isRoot, let gathered, let metrics {
            var entries = done
            for blob in gathered { for e in try Wire.decode([JournalEntry].self, blob) { entries[e.key] = e } }
            // The mean matrix over sequences: row t = after t updates, column j = the sequence's j-th context.
            var sum = [[Double]](repeating: [Double](repeating: 0, count: len), count: len + 1)
            var count = sum
            let have = Set(try metrics.evalArms())
            for s in 0..<nSeq {
                for t in 0...len {
                    guard let recs = entries["eval|\(armName(s, t))|0"]?.evals else { throw EngineError("continual: no result for sequence \(s) step \(t)") }
                    for (j, c) in sequences[s].enumerated() {
                        let mine = recs.filter { $0.contextID == c }
                        if mine.isEmpty { continue }
                        sum[t][j] += Double(mine.filter(\.correct).count) / Double(mine.count)
                        count[t][j] += 1
                    }
                    if !have.contains(armName(s, t)) {
                        let acc = recs.isEmpty ? 0 : Double(recs.filter(\.correct).count) / Double(recs.count)
                        try metrics.writeEval(arm: armName(s, t), records: recs, accuracy: acc,
                                              extraAttributes: ["sequence": Double(s), "step": Double(t)])
                    }
                }
            }
            var lines = ["continual: mean accuracy over \(nSeq) sequences (row: after t updates; column: j-th context)"]
            for t in 0...len {
                lines.append("t=\(t) " + (0..<len).map { j in count[t][j] > 0 ? String(format: "%5.2f", sum[t][j] / count[t][j]) : "    ." }.joined(separator: " "))
            }
            lines.append(String(format: "%.1f s", Self.now() - start))
            log(lines.joined(separator: "\n"))
            try metrics.finish()
        }
        try mpi.barrier()
        if mpi.isRoot { journal.remove() }
    }
}
