import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SealKernels
import SealModel
import SealRuntime
import SealTrain

/// The ReSTEM outer loop, SPMD over MPI ranks.
///
/// One round: contexts are sharded over ranks; each rank samples K self-edits per context with the current
/// policy and scores each by R inner loops (LoRA reset between); the records gather to rank 0, which keeps the
/// rewarded self-edits and broadcasts them; every rank then computes gradients on its share of fixed micro-batches
/// of the kept pairs, the gradients are summed exactly (order-independent fixed point) across ranks, and every rank
/// applies the same AdamW step — so every rank holds the same policy, whatever the rank count. Rank 0 writes the
/// round to HDF5 and checkpoints the policy update before the next round starts.
struct ReSTEMRounds {
    let policy: Policy
    let run: RunContext
    var settings: EngineSettings { policy.settings }
    var arms: ArmEvaluator { ArmEvaluator(policy: policy, run: run) }

    /// Runs the rounds. A run started again with the same command resumes after its last completed round: the
    /// completed rounds' updates are replayed from their checkpoints, a round killed midway resumes from its journal.
    func train() throws {
        let rounds = settings.run.rounds, eval = settings.eval
        var next = 0
        while run.completed.contains(next) { next += 1 }
        // Replay the completed rounds' updates from their checkpoints (every rank reads them).
        for r in 0..<next {
            let url = run.checkpointURL(round: r)
            if FileManager.default.fileExists(atPath: url.path) {
                if settings.run.restartFromBase { try policy.reloadBase() }
                try PEFTAdapter.load(from: url, for: policy.model).merge(into: policy.model)
            } else if !FileManager.default.fileExists(atPath: url.path + ".empty") {
                throw EngineError.runFiles(path: url.path, "round \(r) is complete in \(run.out) but its checkpoint \(url.path) is missing")
            }
        }
        if next > 0 && run.isRoot {
            run.log("rounds 0...\(next - 1) complete: their policy updates are replayed from the checkpoints")
            for r in 0..<next { run.journal(.round(r)).remove() }
        }
        // The arms of the starting policy (base, passage, self_edit) come first: the rounds change the policy.
        if eval.beforeTrain && next == 0 {
            try arms.evaluateMissing(eval.arms)
            try arms.evaluateRetention(after: 0)
        }
        // A resumed run whose last completed round lacks its evaluation (killed during it) does it now, while the
        // policy is that round's.
        if next > 0 && next <= rounds && (eval.eachRound || next == rounds) { try evaluateRound(next) }
        for round in next..<max(next, rounds) {
            try runRound(round)
            if eval.eachRound || round == rounds - 1 { try evaluateRound(round + 1) }
        }
        try run.finish(rounds: rounds)
    }

    /// Evaluates the policy after `rounds` ReSTEM rounds as arm `seal_round_<rounds>` (unless already written or
    /// switched off), and its retention.
    func evaluateRound(_ rounds: Int) throws {
        guard settings.eval.afterTrain || settings.eval.eachRound else { return }
        let arm = "seal_round_\(rounds)"
        if try !run.armsDone().contains(arm) { try arms.evaluate(arm: arm, kind: .selfEdits, round: rounds) }
        try arms.evaluateRetention(after: rounds)
    }

    /// The training contexts of round `round`: all of them, or with `run.contexts_per_round` = n the round's own
    /// n, taken in order and wrapping around (SEAL draws 50 new training passages each round).
    func roundContexts(_ all: [ContextInfo], round: Int) -> [ContextInfo] {
        guard let n = settings.run.contextsPerRound, n < all.count else { return all }
        return (0..<n).map { all[(round * n + $0) % all.count] }
    }

    /// One ReSTEM round (see the type's documentation).
    func runRound(_ round: Int) throws {
        var times = PhaseTimes()
        let roundStart = KernelStats.now()
        let contexts = roundContexts(try policy.domain.contexts(split: "train"), round: round)
        let work = try JournaledWork(run, .round(round))
        if run.isRoot && !work.done.isEmpty { run.log("round \(round): \(work.done.count) finished units found in \(work.journal.directory.path)") }
        let records = try roundRecords(contexts, round: round, work: work, times: &times)
        // Test hook: SEAL_DEBUG_KILL_IN_ROUND=n makes rank 0 die by SIGKILL in the middle of round n (after its
        // inner loops, before the round is recorded), as a preempted or OOM-killed job would.
        if run.isRoot, let k = ProcessInfo.processInfo.environment["SEAL_DEBUG_KILL_IN_ROUND"], Int(k) == round {
            raise(SIGKILL)
        }
        var all = records ?? []
        var t0 = KernelStats.now()
        let kept = try run.fromRoot(run.isRoot ? Self.keep(all, filter: settings.filter) : [])
        times.comm += KernelStats.now() - t0
        let pairs = try kept.map { try policy.selfEditPair(contextID: $0.contextID, selfEdit: $0.selfEdit) }

        if settings.run.restartFromBase { try policy.reloadBase() }
        let (steps, adapter) = try policyUpdate(pairs, round: round, times: &times)

        t0 = KernelStats.now()
        if run.isRoot, let metrics = run.metrics {
            try run.saveCheckpoint(adapter, round: round, baseModel: policy.modelDir.path)
            let keptKeys = Set(kept.map { JournalKey.sample($0.contextID, $0.sampleIndex) })
            for i in all.indices { all[i].kept = keptKeys.contains(.sample(all[i].contextID, all[i].sampleIndex)) }
            let mean = all.isEmpty ? 0 : all.map(\.reward).reduce(0, +) / Double(all.count)
            var attributes: [String: Double] = [
                "seconds_sampling": times.sampling, "seconds_inner": times.inner, "seconds_comm": times.comm,
                "seconds_sft": times.sft, "seconds_wait": times.wait,
                "mean_reward": mean, "world_size": Double(run.mpi.size),
                "replay_rows": Double(policy.replay(forKept: pairs.count, round: round).count),
            ]
            // What the round's self-edits state of their contexts' answers (all of them, and those kept).
            if let c = try policy.meanCoverage(all.map { ($0.contextID, $0.selfEdit) }) { attributes["mean_coverage"] = c }
            if let c = try policy.meanCoverage(all.filter(\.kept).map { ($0.contextID, $0.selfEdit) }) { attributes["mean_kept_coverage"] = c }
            try metrics.writeRound(round, samples: all, sftSteps: steps, attributes: attributes)
            // The checkpoint and this round's own HDF5 write, known only once written.
            try metrics.addRoundAttributes(round, ["seconds_io": KernelStats.now() - t0, "seconds_total": KernelStats.now() - roundStart])
            run.log(String(format: "round %d: %d self-edits on %d contexts, mean reward %.4f, kept %d, %d SFT steps, %.1f s",
                           round, all.count, contexts.count, mean, kept.count, steps.count, KernelStats.now() - roundStart))
        }
        times.io += KernelStats.now() - t0
        // Every rank waits for the checkpoint before the policy moves on (a kill after this point resumes here).
        try run.mpi.barrier()
        work.remove()
        adapter?.merge(into: policy.model)
    }

    /// Every self-edit's record for the round, on rank 0 (nil elsewhere), sorted by (context, sample): the units in
    /// the journal plus the pending ones — each context's baseline and each self-edit's inner loops — run under
    /// dynamic scheduling and journaled one by one.
    func roundRecords(_ contexts: [ContextInfo], round: Int, work: JournaledWork, times: inout PhaseTimes) throws -> [SampleRecord]? {
        let edits = try run.selfEdits(contexts, policy: policy, round: round, work: work, times: &times)
        let units = (InnerLoopUnit.selfEdits(contexts, edits: edits, policy: policy).filter { work.done[.sample($0.context, $0.sample)] == nil }
                     + contexts.filter { work.done[.baseline($0.id)] == nil }.map { InnerLoopUnit(context: $0.id, sample: -1, cost: 0) })
            .sorted(by: InnerLoopUnit.expensiveFirst)
        // Test hook: SEAL_DEBUG_KILL_AFTER_UNITS=n makes rank 0 die by SIGKILL right after journaling its n-th unit
        // of the first round it runs (a preemption in the middle of the inner loops).
        let killAfter = Int(ProcessInfo.processInfo.environment["SEAL_DEBUG_KILL_AFTER_UNITS"] ?? "")
        let entries = try work.run(units, progress: "round \(round) inner loops", stopLabel: "round \(round)", killAfterUnits: killAfter,
                                   times: &times) { u in
            if u.sample < 0 {
                return [JournalEntry(baseline: try policy.evaluateUnadapted(u.context, purpose: .reward).score, context: u.context)]
            }
            return [JournalEntry(record: try runSample(context: u.context, index: u.sample, text: edits[u.context]![u.sample],
                                                       round: round))]
        }
        guard let entries else { return nil }
        var records: [SampleRecord] = []
        for c in contexts {
            guard let baseline = entries[.baseline(c.id)]?.score else { throw EngineError.missingResult("round \(round): no baseline for context \(c.id)") }
            for k in (edits[c.id] ?? []).indices {
                guard var rec = entries[.sample(c.id, k)]?.record else { throw EngineError.missingResult("round \(round): no record for \(c.id) sample \(k)") }
                rec.baselineScore = baseline
                switch rec.sampleStatus {
                case .ok: rec.reward = settings.reward == .gain ? rec.adaptedScore - baseline : rec.adaptedScore
                case .diverged: rec.reward = 0  // adapted_score stays NaN: the diverged model was not asked anything
                case .invalid:
                    rec.adaptedScore = baseline  // an unusable self-edit trains nothing: the model stays the base
                    rec.reward = 0
                }
                records.append(rec)
            }
        }
        return records.sorted { ($0.contextID, $0.sampleIndex) < ($1.contextID, $1.sampleIndex) }
    }

    /// Runs one self-edit's inner loops (R repeats, each with its own seeded adapter) and returns its record. The
    /// baseline and (for gain rewards) the reward are filled in by rank 0 once every baseline is known.
    func runSample(context id: String, index k: Int, text: String, round: Int) throws -> SampleRecord {
        let start = KernelStats.now()
        var rec = SampleRecord(contextID: id, sampleIndex: k, rank: run.mpi.rank, reward: 0, baselineScore: .nan,
                               adaptedScore: .nan, innerLoss: .nan, tokens: 0, seconds: 0, selfEdit: text,
                               status: SampleStatus.ok.description, kept: false)
        do {
            let plan = try policy.domain.innerLoopPlan(contextID: id, selfEdit: text)
            var scores: [Double] = [], losses: [Double] = [], tokens = 0
            for r in 0..<settings.inner.repeats {
                let seed = Seeds.key([settings.run.seed, UInt64(round), Seeds.hash(id), UInt64(k), UInt64(r)])
                let (ev, loss, n) = try policy.innerLoop(contextID: id, plan: plan, seed: seed, purpose: .reward)
                scores.append(ev.score); losses.append(loss); tokens += n
            }
            rec.adaptedScore = scores.reduce(0, +) / Double(scores.count)
            rec.innerLoss = losses.reduce(0, +) / Double(losses.count)
            rec.tokens = tokens
        } catch let e as InvalidSelfEdit {
            rec.status = SampleStatus.invalid(e.reason).description
        } catch let e as DatasetError {
            rec.status = SampleStatus.invalid("\(e)").description
        } catch let e as TrainingError {
            // A self-edit whose inner loop blows up (an ARC recipe's learning rate, say) is the policy's output
            // too: reward 0, recorded with the reason, and the round goes on. The inner adapter is reset before
            // the next unit, so nothing of it survives.
            guard case .nonFinite = e else { throw e }
            rec.status = SampleStatus.diverged("\(e)").description
        }
        rec.seconds = KernelStats.now() - start
        return rec
    }

    /// ReSTEM's filter: which self-edits are reinforced. Applied by rank 0 to all records, in a fixed order.
    static func keep(_ records: [SampleRecord], filter: FilterMode) -> [SampleRecord] {
        let valid = records.filter { $0.sampleStatus == .ok }
        switch filter {
        case .threshold(let th):
            return valid.filter { $0.reward > th }
        case .positiveGain:
            return valid.filter { $0.adaptedScore > $0.baselineScore }
        case .top1:
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

    /// The policy update on the kept pairs (loss on the completion only; replay rows mixed in), with the `sft.*`
    /// recipe, data-parallel over the ranks.
    func policyUpdate(_ pairs: [TextExample], round: Int, times: inout PhaseTimes) throws -> (steps: [(step: Int, loss: Double)], adapter: LoRAAdapter?) {
        if pairs.isEmpty { return ([], nil) }
        let mixed = pairs + policy.replay(forKept: pairs.count, round: round)
        let (rows, _) = try Dataset.encode(mixed, tokenizer: policy.tokenizer, lossOn: .completion, maxLength: policy.maxRowLength,
                                           eosID: policy.model.eosTokenIDs.first, appendEOS: true,
                                           source: policy.replayRows.isEmpty ? "kept pairs" : "kept pairs and sft.replay_file")
        return try dataParallelFinetune(rows, model: policy.model, recipe: settings.policyUpdate.recipe,
                                        seed: Seeds.key([settings.run.seed, UInt64(round), 2]),
                                        label: "round \(round)'s policy update", mpi: run.mpi, workspace: policy.workspace, times: &times)
    }
}

/// A unit of inner-loop work of a round or an arm: a context's baseline evaluation (sample -1) or one self-edit's
/// inner loops, with its estimated cost.
struct InnerLoopUnit {
    var context: String
    var sample: Int
    var cost: Double

    /// One unit per self-edit: a self-edit costs its training characters × epochs × repeats (+1; 0 when it has no
    /// plan). Baselines (one evaluation each, cost 0) end up last, as fillers of the dynamic schedule.
    static func selfEdits(_ contexts: [ContextInfo], edits: [String: [String]], policy: Policy) -> [InnerLoopUnit] {
        let s = policy.settings.inner
        var units: [InnerLoopUnit] = []
        for c in contexts {
            for (k, text) in (edits[c.id] ?? []).enumerated() {
                var cost = 0.0
                if let plan = try? policy.domain.innerLoopPlan(contextID: c.id, selfEdit: text) {
                    let chars = plan.rows.reduce(0) { $0 + ($1.prompt?.utf8.count ?? 0) + $1.text.utf8.count }
                    cost = Double(chars) * (plan.epochs ?? s.epochs) * Double(s.repeats) + 1
                }
                units.append(InnerLoopUnit(context: c.id, sample: k, cost: cost))
            }
        }
        return units
    }

    /// The order dynamic scheduling wants: the expensive units first; ties by context, then sample.
    static func expensiveFirst(_ a: InnerLoopUnit, _ b: InnerLoopUnit) -> Bool {
        (a.cost, b.context, b.sample) > (b.cost, a.context, a.sample)
    }
}
