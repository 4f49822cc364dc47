import Foundation
import SealCore
import SealKernels
import SealModel
import SealRuntime

/// The forgetting experiment of SEAL's knowledge section, generic over the domain: `continual.sequences` sequences
/// of `continual.length` contexts from the eval split (a seeded shuffle, cut in order). Each sequence starts from
/// the starting policy; step 0 evaluates all its contexts; step t samples one self-edit for context t−1 with the
/// current model, trains it (the inner-loop recipe; with `sft.replay_*`, replay rows mixed in at that share),
/// merges it, and evaluates contexts 0..<t. Arm `continual_seq<s>_step_<t>` holds step t's answers. Sequences are
/// the units of work (dynamic scheduling; each is journaled when done).
struct ContinualLearning {
    let policy: Policy
    let run: RunContext
    var settings: EngineSettings { policy.settings }

    static func armName(sequence s: Int, step t: Int) -> String { "continual_seq\(s)_step_\(t)" }

    func train() throws {
        let all = try policy.domain.contexts(split: "eval").sorted { $0.id < $1.id }
        let nSeq = settings.continual.sequences, len = settings.continual.length
        guard nSeq * len <= all.count else {
            throw EngineError.setting(key: "continual.sequences", "continual: \(nSeq) sequences × \(len) contexts need \(nSeq * len) contexts; the eval split has \(all.count)")
        }
        let runSeed = settings.run.seed
        var ids = all.map(\.id)
        let rng = CounterRNG(seed: Seeds.key([runSeed, 0xC0_47]))
        for i in stride(from: ids.count - 1, to: 0, by: -1) { ids.swapAt(i, Int(rng.uniform(stream: 1, index: UInt64(i)) * Double(i + 1))) }
        let sequences = (0..<nSeq).map { Array(ids[($0 * len)..<(($0 + 1) * len)]) }
        let work = try JournaledWork(run, .continual)
        let key = { (s: Int, t: Int) in JournalKey.eval(Self.armName(sequence: s, step: t), 0) }
        let pending = (0..<nSeq).filter { s in (0...len).contains { work.done[key(s, $0)] == nil } }
        let start = KernelStats.now()
        let model = policy.model
        let base = FloatBuffer(count: model.params.count, zeroed: false)
        base.pointer.update(from: model.params.pointer, count: model.params.count)
        var times = PhaseTimes()
        let entries = try work.run(pending, progress: "continual sequences", stopLabel: "continual sequence", times: &times) { s in
            model.params.pointer.update(from: base.pointer, count: base.count)
            func evaluateSeen(_ n: Int) throws -> [EvalRecord] {
                try sequences[s].prefix(n).flatMap { c in
                    try policy.evaluateUnadapted(c, purpose: .evaluation).items.map {
                        EvalRecord(contextID: c, question: $0.question, gold: $0.gold, prediction: $0.prediction, correct: $0.correct, note: $0.note)
                    }
                }
            }
            var steps = [try evaluateSeen(len)]
            for t in 1...len {
                try Preemption.check("continual sequence \(s)")
                let c = sequences[s][t - 1]
                let text = try policy.sampleSelfEdits([c], round: 2_000 + 100 * s + t, samples: 1)[c]?.first ?? ""
                if let plan = try? policy.domain.innerLoopPlan(contextID: c, selfEdit: text) {
                    // Replay (sft.replay_*): rows the policy knew, mixed into each update that is merged into it.
                    let extra = policy.replay(mixedWith: plan.rows.count, seed: Seeds.key([runSeed, 0xC0_47, UInt64(s), UInt64(t), 11]))
                    _ = try policy.trainInner(contextID: c, plan: plan, seed: Seeds.key([runSeed, 0xC0_47, UInt64(s), UInt64(t)]), replay: extra)
                    policy.innerLoRA.merge(into: model)
                }
                steps.append(try evaluateSeen(t))
            }
            return steps.enumerated().map { JournalEntry(evals: $1, context: Self.armName(sequence: s, step: $0)) }
        }
        model.params.pointer.update(from: base.pointer, count: base.count)
        if let entries, let metrics = run.metrics {
            // The mean matrix over sequences: row t = after t updates, column j = the sequence's j-th context.
            var sum = [[Double]](repeating: [Double](repeating: 0, count: len), count: len + 1)
            var count = sum
            let have = Set(try metrics.evalArms())
            for s in 0..<nSeq {
                for t in 0...len {
                    guard let recs = entries[key(s, t)]?.evals else { throw EngineError.missingResult("continual: no result for sequence \(s) step \(t)") }
                    for (j, c) in sequences[s].enumerated() {
                        let mine = recs.filter { $0.contextID == c }
                        if mine.isEmpty { continue }
                        sum[t][j] += Double(mine.filter(\.correct).count) / Double(mine.count)
                        count[t][j] += 1
                    }
                    let arm = Self.armName(sequence: s, step: t)
                    if !have.contains(arm) {
                        let acc = recs.isEmpty ? 0 : Double(recs.filter(\.correct).count) / Double(recs.count)
                        try metrics.writeEval(arm: arm, records: recs, accuracy: acc, extraAttributes: ["sequence": Double(s), "step": Double(t)])
                    }
                }
            }
            var lines = ["continual: mean accuracy over \(nSeq) sequences (row: after t updates; column: j-th context)"]
            for t in 0...len {
                lines.append("t=\(t) " + (0..<len).map { j in count[t][j] > 0 ? String(format: "%5.2f", sum[t][j] / count[t][j]) : "    ." }.joined(separator: " "))
            }
            lines.append(String(format: "%.1f s", KernelStats.now() - start))
            run.log(lines.joined(separator: "\n"))
            try metrics.finish()
        }
        try run.mpi.barrier()
        work.remove()
    }
}
