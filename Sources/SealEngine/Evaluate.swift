import Foundation
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

extension ReSTEMEngine {
    /// The mean of the domain's coverage measure over (context, self-edit) pairs, or nil when it has none.
    func meanCoverage(_ edits: [(context: String, text: String)]) throws -> Double? {
        var sum = 0.0, n = 0
        for e in edits {
            if let c = try domain.selfEditCoverage(contextID: e.context, selfEdit: e.text) { sum += c; n += 1 }
        }
        return n == 0 ? nil : sum / Double(n)
    }

    /// Evaluates one arm on the domain's "eval" split; rank 0 writes `/evals/<arm>` (when a metrics file is given)
    /// and every rank gets the accuracy. The work is cut into units — a context, or one (context, self-edit) — run
    /// under dynamic scheduling and journaled beside `out` (when given), so a killed evaluation resumes where it was.
    @discardableResult
    public func evaluate(arm: String, kind: ArmKind, split: String = "eval", metrics: MetricsFile?, round: Int = 0,
                         out: String? = nil) throws -> Double {
        let start = Self.now()
        let contexts = try domain.contexts(split: split)
        let runSeed = UInt64(bitPattern: Int64(config.int("run.seed")))
        let journalDir = out.map { Journal(run: $0, name: "eval_\(arm)") }
        let journal = try journalDir.map { try loadJournal($0) } ?? [:]
        let writer = try journalDir.map { try JournalWriter($0, rank: mpi.rank) }
        var times = PhaseTimes()
        var edits: [String: [String]] = [:]
        var units: [Unit] = []
        if kind == .selfEdits || kind == .external {
            if kind == .selfEdits {
                edits = try allSelfEdits(contexts, round: 1_000 + round, journal: journal, writer: writer, times: &times,
                                      samples: config.int("eval.samples") > 0 ? config.int("eval.samples") : nil)
            } else {
                for c in contexts {
                    guard let e = try domain.externalSelfEdits(contextID: c.id) else {
                        throw EngineError("arm \(arm): the domain has no external self-edits for context \(c.id) (set the domain's self-edit file)")
                    }
                    edits[c.id] = e
                }
            }
            units = pendingUnits(contexts, edits: edits, journal: [:]).filter { $0.sample >= 0 }
        } else {
            units = contexts.map { Unit(context: $0.id, sample: 0, cost: $0.cost) }
                .sorted { ($0.cost, $1.context) > ($1.cost, $0.context) }
        }
        units = units.filter { journal["eval|\($0.context)|\($0.sample)"] == nil }
        let progress = ProgressReporter(label: "eval \(arm)", total: units.count, enabled: mpi.isRoot && verbose, sink: log)
        var local: [JournalEntry] = []
        try mpi.forEachDynamic(count: units.count) { i in
            try Preemption.check("evaluation arm \(arm)")
            let u = units[i]
            let ev: Evaluation
            switch kind {
            case .none:
                ev = try domain.evaluate(contextID: u.context, with: scorer(nil), purpose: .evaluation)
            case .context:
                guard let plan = try domain.contextOnlyPlan(contextID: u.context) else { throw EngineError("arm \(arm): the domain has no context-only inner loop") }
                do {
                    ev = try innerLoop(contextID: u.context, plan: plan, seed: Seeds.key([runSeed, 7, Seeds.hash(u.context)]), purpose: .evaluation).0
                } catch let e as TrainingError {
                    // No self-edit to blame: the inner-loop recipe of the config itself does not train.
                    throw EngineError("arm \(arm), context \(u.context): the inner loop on the context alone failed (\(e)); check inner.lr and the other inner.* keys")
                }
            case .selfEdits, .external:
                do {
                    guard let list = edits[u.context], list.indices.contains(u.sample) else {
                        throw EngineError("arm \(arm): no self-edit \(u.sample) for context \(u.context)")
                    }
                    let plan = try domain.innerLoopPlan(contextID: u.context, selfEdit: list[u.sample])
                    let seed = Seeds.key([runSeed, 8, UInt64(round), Seeds.hash(u.context), UInt64(u.sample)])
                    ev = try innerLoop(contextID: u.context, plan: plan, seed: seed, purpose: .evaluation).0
                } catch let e as InvalidSelfEdit {
                    // An unusable self-edit trains nothing: its questions are asked of the un-adapted model.
                    var base = try domain.evaluate(contextID: u.context, with: scorer(nil), purpose: .evaluation)
                    base.items = base.items.map { var i = $0; i.prediction = "[self-edit unusable: \(e.reason)] " + i.prediction; return i }
                    ev = base
                } catch let e as TrainingError {
                    // The inner loop diverged: the adapted model is broken, so it is not asked; every question of
                    // the context counts as wrong, and the record says why.
                    guard e.isDivergence else { throw e }
                    var base = try domain.evaluate(contextID: u.context, with: scorer(nil), purpose: .evaluation)
                    base.items = base.items.map { var i = $0; i.prediction = "[inner loop diverged: \(e)]"; i.correct = false; return i }
                    ev = base
                }
            }
            let records = ev.items.map { EvalRecord(contextID: u.context, question: $0.question, gold: $0.gold, prediction: $0.prediction, correct: $0.correct, note: $0.note) }
            let entry = JournalEntry(kind: .eval, context: u.context, sample: u.sample, evals: records)
            try writer?.append(entry)
            local.append(entry)
            if mpi.isRoot { progress.advance() }
        }
        let gathered = try mpi.gather(try Wire.bytes(local))
        var accuracy = 0.0
        if mpi.isRoot, let gathered {
            var entries = journal
            for blob in gathered {
                for e in try Wire.decode([JournalEntry].self, blob) where entries[e.key] == nil { entries[e.key] = e }
            }
            // Contexts in id order; within a context, samples in index order: the same on any rank count.
            var all: [EvalRecord] = []
            for c in contexts.map(\.id).sorted() {
                let samples = kind == .selfEdits || kind == .external ? Array((edits[c] ?? []).indices) : [0]
                for k in samples {
                    guard let e = entries["eval|\(c)|\(k)"]?.evals else { throw EngineError("arm \(arm): no result for context \(c) sample \(k)") }
                    all += e
                }
            }
            accuracy = all.isEmpty ? 0 : Double(all.filter(\.correct).count) / Double(all.count)
            var extra = ["seconds": Self.now() - start]
            // What the arm's self-edits state of their contexts' answers (the writing the accuracy comes from).
            if let c = try meanCoverage(contexts.map(\.id).sorted().flatMap { id in (edits[id] ?? []).map { (id, $0) } }) {
                extra["self_edit_coverage"] = c
            }
            try metrics?.writeEval(arm: arm, records: all, accuracy: accuracy, extraAttributes: extra)
            log(String(format: "eval %@: accuracy %.4f on %d answers (%.1f s)", arm, accuracy, all.count, Self.now() - start))
        }
        let bytes = try mpi.broadcast(try Wire.bytes([accuracy]))
        if mpi.isRoot && metrics != nil { journalDir?.remove() }
        return try Wire.decode([Double].self, bytes)[0]
    }
}
