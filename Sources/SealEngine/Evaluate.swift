import Foundation
import SealKernels
import SealModel
import SealRuntime
import SealTrain

/// How an evaluation arm adapts the model to each held-out context before its questions are asked.
public enum ArmKind: String, Sendable {
    /// The policy as it is (no inner loop): the paper's "base" row.
    case none
    /// An inner loop on the context alone ("train on passage").
    case context
    /// K self-edits sampled from the current policy, each with its own inner loop; the arm's accuracy is the mean
    /// over contexts × self-edits × questions ("passage + self-edits", and SEAL after ReSTEM).
    case selfEdits = "self_edits"
    /// Self-edits written outside the run (the domain's file, e.g. GPT-4.1's), each with its own inner loop
    /// ("passage + GPT-4.1 self-edits").
    case external
}

/// The evaluation arms of a run: each adapts the policy to every context of a split (or not), asks the context's
/// questions, and rank 0 writes `/evals/<arm>`. The work is cut into units — a context, or one (context,
/// self-edit) — run under dynamic scheduling and journaled, so a killed evaluation resumes where it was.
struct ArmEvaluator {
    let policy: Policy
    let run: RunContext
    var settings: EngineSettings { policy.settings }

    /// The configured arms not yet in the run's file, in order.
    func evaluateMissing(_ arms: [EvalArm]) throws {
        let have = try run.armsDone()
        for a in arms where !have.contains(a.name) { try evaluate(arm: a.name, kind: a.kind) }
    }

    /// With `eval.retention`: the policy after `rounds` rounds, unadapted, on the retention split, as arm
    /// `retention_round_<rounds>` (unless already written).
    func evaluateRetention(after rounds: Int) throws {
        guard settings.eval.retention else { return }
        let arm = "retention_round_\(rounds)"
        if try run.armsDone().contains(arm) { return }
        try evaluate(arm: arm, kind: .none, split: "retention", round: rounds)
    }

    /// Evaluates one arm on a split (the domain's "eval" by default); rank 0 writes it, every rank gets the
    /// accuracy. `round`: the ReSTEM rounds behind the policy (the seed stream of its self-edits).
    @discardableResult
    func evaluate(arm: String, kind: ArmKind, split: String = "eval", round: Int = 0) throws -> Double {
        let start = KernelStats.now()
        let domain = policy.domain
        let contexts = try domain.contexts(split: split)
        let runSeed = settings.run.seed
        let work = try JournaledWork(run, .arm(arm))
        var times = PhaseTimes()
        var edits: [String: [String]] = [:]
        var units: [InnerLoopUnit] = []
        switch kind {
        case .selfEdits, .external:
            if kind == .selfEdits {
                edits = try run.selfEdits(contexts, policy: policy, round: 1_000 + round, work: work, times: &times, samples: settings.eval.samples)
            } else {
                for c in contexts {
                    guard let e = try domain.externalSelfEdits(contextID: c.id) else {
                        throw EngineError.domain("arm \(arm): the domain has no external self-edits for context \(c.id) (set the domain's self-edit file)")
                    }
                    edits[c.id] = e
                }
            }
            units = InnerLoopUnit.selfEdits(contexts, edits: edits, policy: policy).sorted(by: InnerLoopUnit.expensiveFirst)
        case .none, .context:
            units = contexts.map { InnerLoopUnit(context: $0.id, sample: 0, cost: $0.cost) }.sorted(by: InnerLoopUnit.expensiveFirst)
        }
        units = units.filter { work.done[.eval($0.context, $0.sample)] == nil }
        let entries = try work.run(units, progress: "eval \(arm)", stopLabel: "evaluation arm \(arm)", times: &times) { u in
            let ev = try evaluateUnit(u, arm: arm, kind: kind, edits: edits, round: round, runSeed: runSeed)
            let records = ev.items.map { EvalRecord(contextID: u.context, question: $0.question, gold: $0.gold, prediction: $0.prediction, correct: $0.correct, note: $0.note) }
            return [JournalEntry(evals: records, context: u.context, sample: u.sample)]
        }
        var accuracy = 0.0
        if let entries {
            // Contexts in id order; within a context, samples in index order: the same on any rank count.
            var all: [EvalRecord] = []
            for c in contexts.map(\.id).sorted() {
                let samples = kind == .selfEdits || kind == .external ? Array((edits[c] ?? []).indices) : [0]
                for k in samples {
                    guard let e = entries[.eval(c, k)]?.evals else { throw EngineError.missingResult("arm \(arm): no result for context \(c) sample \(k)") }
                    all += e
                }
            }
            accuracy = all.isEmpty ? 0 : Double(all.filter(\.correct).count) / Double(all.count)
            var extra = ["seconds": KernelStats.now() - start]
            // What the arm's self-edits state of their contexts' answers (the writing the accuracy comes from).
            if let c = try policy.meanCoverage(contexts.map(\.id).sorted().flatMap { id in (edits[id] ?? []).map { (id, $0) } }) {
                extra["self_edit_coverage"] = c
            }
            try run.metrics?.writeEval(arm: arm, records: all, accuracy: accuracy, extraAttributes: extra)
            run.log(String(format: "eval %@: accuracy %.4f on %d answers (%.1f s)", arm, accuracy, all.count, KernelStats.now() - start))
        }
        let shared = try run.fromRoot(accuracy)
        if run.metrics != nil { work.remove() }
        return shared
    }

    /// One unit of an arm: the context's questions asked of the policy adapted as the arm says.
    func evaluateUnit(_ u: InnerLoopUnit, arm: String, kind: ArmKind, edits: [String: [String]], round: Int, runSeed: UInt64) throws -> Evaluation {
        let domain = policy.domain
        switch kind {
        case .none:
            return try policy.evaluateUnadapted(u.context, purpose: .evaluation)
        case .context:
            guard let plan = try domain.contextOnlyPlan(contextID: u.context) else { throw EngineError.domain("arm \(arm): the domain has no context-only inner loop") }
            do {
                return try policy.innerLoop(contextID: u.context, plan: plan, seed: Seeds.key([runSeed, 7, Seeds.hash(u.context)]), purpose: .evaluation).0
            } catch let e as TrainingError {
                // No self-edit to blame: the inner-loop recipe of the config itself does not train.
                throw EngineError.setting(key: "inner.lr", "arm \(arm), context \(u.context): the inner loop on the context alone failed (\(e)); check inner.lr and the other inner.* keys")
            }
        case .selfEdits, .external:
            do {
                guard let list = edits[u.context], list.indices.contains(u.sample) else {
                    throw EngineError.missingResult("arm \(arm): no self-edit \(u.sample) for context \(u.context)")
                }
                let plan = try domain.innerLoopPlan(contextID: u.context, selfEdit: list[u.sample])
                let seed = Seeds.key([runSeed, 8, UInt64(round), Seeds.hash(u.context), UInt64(u.sample)])
                return try policy.innerLoop(contextID: u.context, plan: plan, seed: seed, purpose: .evaluation).0
            } catch let e as InvalidSelfEdit {
                // An unusable self-edit trains nothing: its questions are asked of the un-adapted model.
                var base = try policy.evaluateUnadapted(u.context, purpose: .evaluation)
                base.items = base.items.map { var i = $0; i.prediction = "[self-edit unusable: \(e.reason)] " + i.prediction; return i }
                return base
            } catch let e as TrainingError {
                // The inner loop diverged: the adapted model is broken, so it is not asked; every question of
                // the context counts as wrong, and the record says why.
                guard e.isDivergence else { throw e }
                var base = try policy.evaluateUnadapted(u.context, purpose: .evaluation)
                base.items = base.items.map { var i = $0; i.prediction = "[inner loop diverged: \(e)]"; i.correct = false; return i }
                return base
            }
        }
    }
}
