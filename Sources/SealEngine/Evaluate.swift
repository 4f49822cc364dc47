import Foundation
import SealModel
import SealRuntime

/// How an evaluation arm adapts the model to each held-out context before its questions are asked.
public enum ArmKind: String, Sendable {
    /// The policy as it is (no inner loop): the paper's "base" row.
    case none
    /// An inner loop on the context alone ("train on passage").
    case context
    /// K self-edits sampled from the current policy, each with its own inner loop; the arm's accuracy is the mean
    /// over contexts × self-edits × questions ("passage + self-edits", and SEAL after ReSTEM).
    case selfEdits = "self_edits"
}

extension ReSTEMEngine {
    /// Evaluates one arm on the domain's "eval" split, sharded over ranks; rank 0 writes `/evals/<arm>` (when a
    /// metrics file is given) and gets the accuracy (every rank gets it).
    @discardableResult
    public func evaluate(arm: String, kind: ArmKind, split: String = "eval", metrics: MetricsFile?, round: Int = 0) throws -> Double {
        let start = Self.now()
        let contexts = try domain.contexts(split: split)
        let mine = shard(contexts, ranks: mpi.size)[mpi.rank]
        let runSeed = UInt64(bitPattern: Int64(config.int("run.seed")))
        var records: [EvalRecord] = []
        var edits: [String: [String]] = [:]
        if kind == .selfEdits { edits = try sampleSelfEdits(mine.map(\.id), round: 1_000 + round) }
        let progress = ProgressReporter(label: "eval \(arm) (rank 0: \(mine.count) contexts)", total: mine.count,
                                        enabled: mpi.isRoot && verbose, sink: log)
        for c in mine {
            var evaluations: [Evaluation] = []
            switch kind {
            case .none:
                evaluations.append(try domain.evaluate(contextID: c.id, with: scorer(nil)))
            case .context:
                guard let plan = try domain.contextOnlyPlan(contextID: c.id) else { throw EngineError("arm \(arm): the domain has no context-only inner loop") }
                let seed = Seeds.key([runSeed, 7, Seeds.hash(c.id)])
                evaluations.append(try innerLoop(contextID: c.id, plan: plan, seed: seed).0)
            case .selfEdits:
                for (k, text) in (edits[c.id] ?? []).enumerated() {
                    do {
                        let plan = try domain.innerLoopPlan(contextID: c.id, selfEdit: text)
                        let seed = Seeds.key([runSeed, 8, UInt64(round), Seeds.hash(c.id), UInt64(k)])
                        evaluations.append(try innerLoop(contextID: c.id, plan: plan, seed: seed).0)
                    } catch let e as InvalidSelfEdit {
                        // An unusable self-edit trains nothing: its questions are asked of the un-adapted model.
                        var ev = try domain.evaluate(contextID: c.id, with: scorer(nil))
                        ev.items = ev.items.map { var i = $0; i.prediction = "[self-edit unusable: \(e.reason)] " + i.prediction; return i }
                        evaluations.append(ev)
                    }
                }
            }
            for ev in evaluations {
                records += ev.items.map { EvalRecord(contextID: c.id, question: $0.question, gold: $0.gold, prediction: $0.prediction, correct: $0.correct) }
            }
            progress.advance()
        }
        let gathered = try mpi.gather(try JSONEncoder().encode(records).map { $0 })
        var accuracy = 0.0
        if mpi.isRoot, let gathered {
            // Contexts in id order; within a context, records in the order its rank produced them (the same on any
            // rank count).
            var byContext: [String: [EvalRecord]] = [:]
            for blob in gathered {
                for r in try JSONDecoder().decode([EvalRecord].self, from: Data(blob)) { byContext[r.contextID, default: []].append(r) }
            }
            let all = byContext.keys.sorted().flatMap { byContext[$0]! }
            accuracy = all.isEmpty ? 0 : Double(all.filter(\.correct).count) / Double(all.count)
            try metrics?.writeEval(arm: arm, records: all, accuracy: accuracy, extraAttributes: ["seconds": Self.now() - start])
            log(String(format: "eval %@: accuracy %.4f on %d answers (%.1f s)", arm, accuracy, all.count, Self.now() - start))
        }
        let bytes = try mpi.broadcast(try JSONEncoder().encode([accuracy]).map { $0 })
        return try JSONDecoder().decode([Double].self, from: Data(bytes))[0]
    }
}
