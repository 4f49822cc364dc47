import Foundation
import SealKernels
import SealModel
import SealRuntime
import SealTrain

/// Continued pretraining (CPT), SEAL's knowledge experiment with many passages at once, generic over the domain:
/// self-edits for every context of the eval split (`cpt.source`: the policy's samples, the domain's external ones,
/// or the contexts alone), one data-parallel finetune over the union of their training rows (LoRA or full, the
/// `cpt.*` recipe), then arm `cpt.arm` asks every context's questions of the finetuned model — does the self-edit
/// data still help when passages are absorbed in bulk? The finetune is recorded as round 0 (its samples are the
/// self-edits used; rewards are NaN) and checkpointed, so a killed run resumes at the evaluation.
/// `eval.before_train` runs `eval.arms` with the starting policy first.
struct ContinuedPretraining {
    let policy: Policy
    let run: RunContext
    var settings: EngineSettings { policy.settings }

    func train() throws {
        let cpt = settings.cpt
        let arms = ArmEvaluator(policy: policy, run: run)
        let contexts = try policy.domain.contexts(split: "eval").sorted { $0.id < $1.id }
        if settings.eval.beforeTrain && !run.completed.contains(0) { try arms.evaluateMissing(settings.eval.arms) }
        let ckpt = run.checkpointURL(round: 0)
        if run.completed.contains(0) {
            if cpt.full {
                policy.model = try TransformerModel.load(directory: ckpt)
            } else if FileManager.default.fileExists(atPath: ckpt.path) {
                try PEFTAdapter.load(from: ckpt, for: policy.model).merge(into: policy.model)
            }
        } else {
            try finetune(contexts, checkpoint: ckpt)
        }
        if try !run.armsDone().contains(cpt.arm) { try arms.evaluate(arm: cpt.arm, kind: .none) }
        try run.finish(rounds: settings.run.rounds)
    }

    /// The union of the contexts' training rows, one finetune over it, the checkpoint and round 0's record.
    func finetune(_ contexts: [ContextInfo], checkpoint ckpt: URL) throws {
        let cpt = settings.cpt, domain = policy.domain
        var times = PhaseTimes()
        let start = KernelStats.now()
        var edits: [String: [String]] = [:]
        let work = try JournaledWork(run, .cpt)
        switch cpt.source {
        case .policy:
            edits = try run.selfEdits(contexts, policy: policy, round: 0, work: work, times: &times)
        case .external:
            for c in contexts {
                guard let e = try domain.externalSelfEdits(contextID: c.id) else {
                    throw EngineError.domain("cpt.source = external: the domain has no external self-edits for context \(c.id) (set the domain's self-edit file)")
                }
                edits[c.id] = e
            }
        case .context: break
        }
        // The union of the training rows, in (context, sample) order. SEAL's CPT.py concatenates every self-edit's
        // rows, so each plan's copy of the passage stays (the passage weighs once per self-edit); with
        // cpt.distinct_rows each distinct row is kept once.
        var seen = Set<String>()
        // Rows grouped by how they are encoded (loss on, EOS appended), each group in union order.
        var byLoss: [String: (LossOn, Bool, [TextExample])] = [:]
        var records: [SampleRecord] = []
        func add(_ plan: InnerLoopPlan) {
            for r in plan.rows where !cpt.distinctRows || seen.insert("\(plan.lossOn)|\(plan.appendEOS)|\(r.prompt ?? "")|\(r.text)").inserted {
                byLoss["\(plan.lossOn)|\(plan.appendEOS)", default: (plan.lossOn, plan.appendEOS, [])].2.append(r)
            }
        }
        for c in contexts {
            if cpt.source == .context {
                guard let plan = try domain.contextOnlyPlan(contextID: c.id) else { throw EngineError.domain("cpt.source = context: the domain has no context-only plan") }
                add(plan)
                continue
            }
            for (k, text) in (edits[c.id] ?? []).prefix(cpt.samples).enumerated() {
                var rec = SampleRecord(contextID: c.id, sampleIndex: k, rank: run.mpi.rank, reward: .nan, baselineScore: .nan,
                                       adaptedScore: .nan, innerLoss: .nan, tokens: 0, seconds: 0, selfEdit: text)
                do { add(try domain.innerLoopPlan(contextID: c.id, selfEdit: text)) } catch let e as InvalidSelfEdit {
                    rec.status = SampleStatus.invalid(e.reason).description
                }
                records.append(rec)
            }
        }
        var rows: [EncodedExample] = []
        for (_, group) in byLoss.sorted(by: { $0.key < $1.key }) {
            let (lossOn, eos, r) = group
            rows += try Dataset.encode(r, tokenizer: policy.tokenizer, lossOn: lossOn, maxLength: policy.maxRowLength,
                                       eosID: policy.model.eosTokenIDs.first, appendEOS: eos, source: "cpt rows").0
        }
        if run.isRoot { run.log("cpt: \(rows.count) training rows from \(contexts.count) contexts (source \(cpt.source.rawValue))") }
        let (steps, adapter) = try dataParallelFinetune(rows, model: policy.model, recipe: cpt.recipe, seed: Seeds.key([settings.run.seed, 0xC97]),
                                                        label: "continued pretraining", mpi: run.mpi, workspace: policy.workspace, times: &times)
        if run.isRoot, let metrics = run.metrics {
            if cpt.full {
                let tmp = URL(fileURLWithPath: ckpt.path + ".tmp")
                try? FileManager.default.removeItem(at: tmp)
                // The policy as a model directory (config.json, safetensors, tokenizer files).
                try policy.model.saveDirectory(to: tmp, base: policy.modelDir)
                try? FileManager.default.removeItem(at: ckpt)
                try FileManager.default.moveItem(at: tmp, to: ckpt)
            } else {
                try run.saveCheckpoint(adapter, round: 0, baseModel: policy.modelDir.path)
            }
            try metrics.writeRound(0, samples: records, sftSteps: steps, attributes: [
                "seconds_sampling": times.sampling, "seconds_sft": times.sft, "seconds_comm": times.comm,
                "seconds_wait": times.wait, "seconds_total": KernelStats.now() - start, "rows": Double(rows.count),
                "row_tokens": Double(rows.reduce(0) { $0 + $1.ids.count }), "epochs": cpt.recipe.epochs,
                "world_size": Double(run.mpi.size),
            ])
            run.log(String(format: "cpt: %d rows, %d steps, final loss %.4f, %.1f s", rows.count, steps.count, steps.last?.loss ?? .nan, KernelStats.now() - start))
        }
        try run.mpi.barrier()
        work.remove()
        adapter?.merge(into: policy.model)
    }
}
