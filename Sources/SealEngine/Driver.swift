import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SealKernels
import SealModel
import SealRuntime
import SealTrain

extension ReSTEMEngine {
    /// Where round n's policy update is checkpointed: `<run>.ckpt/round_NNN/` (a PEFT adapter), or a
    /// `round_NNN.empty` marker when nothing was kept. Written to a temporary name and renamed, so a checkpoint
    /// either exists whole or not at all.
    func checkpointURL(_ out: String, round: Int) -> URL {
        URL(fileURLWithPath: out + ".ckpt").appendingPathComponent(String(format: "round_%03d", round))
    }

    func saveCheckpoint(_ adapter: LoRAAdapter?, out: String, round: Int) throws {
        let final = checkpointURL(out, round: round)
        let fm = FileManager.default
        try fm.createDirectory(at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
        let empty = URL(fileURLWithPath: final.path + ".empty")
        try? fm.removeItem(at: final)
        try? fm.removeItem(at: empty)
        guard let adapter else {
            try Data().write(to: empty, options: .atomic)
            return
        }
        let tmp = URL(fileURLWithPath: final.path + ".tmp-\(getpid())")
        try? fm.removeItem(at: tmp)
        try PEFTAdapter.save(adapter, to: tmp, baseModel: modelDir.path)
        try fm.moveItem(at: tmp, to: final)
    }

    /// Applies round n's policy update to the policy held in memory.
    func applyUpdate(_ adapter: LoRAAdapter?, round: Int) throws {
        guard let adapter else { return }
        adapter.merge(into: policy)
    }

    /// Reloads the base weights (ReSTEM as published trains every improve step from the base model).
    func reloadBase() throws {
        let base = try TransformerModel.load(directory: modelDir)
        policy.params.pointer.update(from: base.params.pointer, count: policy.params.count)
    }

    /// Runs the ReSTEM rounds, writing `out` (HDF5, rank 0) and checkpoints beside it. A run started again with the
    /// same command resumes after its last completed round; with a different configuration it is an error unless
    /// `overwrite` is set.
    public func train(out: String, overwrite: Bool) throws {
        Preemption.install()
        let rounds = config.int("run.rounds")
        let (metrics, completed) = try openRun(out: out, overwrite: overwrite)
        var next = 0
        while completed.contains(next) { next += 1 }
        // Replay the completed rounds' updates from their checkpoints (every rank reads them).
        for r in 0..<next {
            let url = checkpointURL(out, round: r)
            if FileManager.default.fileExists(atPath: url.path) {
                if config.bool("run.restart_from_base") { try reloadBase() }
                try applyUpdate(try PEFTAdapter.load(from: url, for: policy), round: r)
            } else if !FileManager.default.fileExists(atPath: url.path + ".empty") {
                throw EngineError("round \(r) is complete in \(out) but its checkpoint \(url.path) is missing")
            }
        }
        if next > 0 && mpi.isRoot {
            log("rounds 0...\(next - 1) complete: their policy updates are replayed from the checkpoints")
            for r in 0..<next { Journal(run: out, name: String(format: "round_%03d", r)).remove() }
        }
        let eachRound = config.bool("eval.each_round")
        // The arms of the starting policy (base, passage, self_edit) come first: the rounds change the policy.
        if config.bool("eval.before_train") && next == 0 {
            let have = try armsDone(metrics)
            for arm in config.strings("eval.arms") where !have.contains(arm) {
                try evaluate(arm: arm, kind: try EngineConfig.armKind(arm), metrics: metrics, out: out)
            }
            try evaluateRetention(0, out: out, metrics: metrics)
        }
        // A resumed run whose last completed round lacks its evaluation (killed during it) does it now, while the
        // policy is that round's.
        if next > 0 && next <= rounds && (eachRound || next == rounds) { try evaluateRound(next, out: out, metrics: metrics) }
        for round in next..<max(next, rounds) {
            try runRound(round, out: out, metrics: metrics)
            if eachRound || round == rounds - 1 { try evaluateRound(round + 1, out: out, metrics: metrics) }
        }
        if mpi.isRoot, let metrics {
            try metrics.finish()
            log(try summaryTable(metrics))
        }
    }

    /// The arms already in the run's file (every rank gets rank 0's list).
    func armsDone(_ metrics: MetricsFile?) throws -> [String] {
        var have: [String] = []
        if mpi.isRoot, let metrics { have = try metrics.evalArms() }
        return try Wire.decode([String].self, try mpi.broadcast(try Wire.bytes(have)))
    }

    /// Evaluates the policy after `rounds` ReSTEM rounds as arm `seal_round_<rounds>` (unless already written or
    /// switched off).
    func evaluateRound(_ rounds: Int, out: String, metrics: MetricsFile?) throws {
        guard config.bool("eval.after_train") || config.bool("eval.each_round") else { return }
        let arm = "seal_round_\(rounds)"
        if try !armsDone(metrics).contains(arm) {
            try evaluate(arm: arm, kind: .selfEdits, metrics: metrics, round: rounds, out: out)
        }
        try evaluateRetention(rounds, out: out, metrics: metrics)
    }

    /// With `eval.retention`: the policy after `rounds` rounds, unadapted, on the retention split, as arm
    /// `retention_round_<rounds>` (unless already written).
    func evaluateRetention(_ rounds: Int, out: String, metrics: MetricsFile?) throws {
        guard config.bool("eval.retention") else { return }
        let arm = "retention_round_\(rounds)"
        if try armsDone(metrics).contains(arm) { return }
        try evaluate(arm: arm, kind: .none, split: "retention", metrics: metrics, round: rounds, out: out)
    }

    /// The paper's Table 2 shape: one line per arm with accuracy, questions and seconds.
    func summaryTable(_ metrics: MetricsFile) throws -> String {
        let arms = try metrics.evalArms()
        // Configured arms first, in config order, then the SEAL rounds in order.
        let rounds = 0...max(0, config.int("run.rounds"))
        let order = config.strings("eval.arms") + rounds.map { "seal_round_\($0)" } + rounds.map { "retention_round_\($0)" }
        let sorted = arms.sorted { (order.firstIndex(of: $0) ?? .max, $0) < (order.firstIndex(of: $1) ?? .max, $1) }
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        let width = max(16, (sorted.map(\.count).max() ?? 0) + 2)
        var lines = ["", pad("arm", width, left: true) + pad("accuracy", 10) + pad("questions", 11) + pad("seconds", 10)]
        for a in sorted {
            let at = try metrics.evalAttributes(a)
            let acc = at["accuracy"]?.doubleValue ?? .nan, n = at["n_questions"]?.intValue ?? 0
            let secs = at["seconds"]?.doubleValue ?? .nan
            lines.append(pad(a, width, left: true) + pad(String(format: "%.1f%%", 100 * acc), 10)
                         + pad("\(n)", 11) + pad(String(format: "%.1f", secs), 10))
        }
        return lines.joined(separator: "\n")
    }

    /// Runs the configured evaluation arms with the starting policy. A file of the same configuration is resumed:
    /// arms already in it are kept, the others run (resuming from their journals); a different configuration is an
    /// error unless `overwrite` is set.
    public func evaluateArms(out: String, overwrite: Bool) throws {
        Preemption.install()
        let arms = try config.strings("eval.arms").map { ($0, try EngineConfig.armKind($0)) }
        if arms.isEmpty { throw EngineError("eval.arms is empty: nothing to evaluate") }
        try checkSplits(forTrain: false)
        let (metrics, _) = try openRun(out: out, overwrite: overwrite)
        var done: [String] = try metrics?.evalArms() ?? []
        if mpi.isRoot && !done.isEmpty { log("arms already done: \(done.joined(separator: ", "))") }
        done = try Wire.decode([String].self, try mpi.broadcast(try Wire.bytes(done)))
        for (name, kind) in arms where !done.contains(name) { try evaluate(arm: name, kind: kind, metrics: metrics, out: out) }
        if mpi.isRoot, let metrics {
            try metrics.finish()
            log(try summaryTable(metrics))
        }
    }

    /// The training contexts of round `round`: all of them, or with `run.contexts_per_round` = n the round's own
    /// n, taken in order and wrapping around (SEAL draws 50 new training passages each round).
    func roundContexts(_ all: [ContextInfo], round: Int) -> [ContextInfo] {
        let n = config.int("run.contexts_per_round")
        guard n > 0, n < all.count else { return all }
        return (0..<n).map { all[(round * n + $0) % all.count] }
    }

    /// One ReSTEM round (see the type's documentation).
    func runRound(_ round: Int, out: String, metrics: MetricsFile?) throws {
        var times = PhaseTimes()
        let roundStart = Self.now()
        let contexts = roundContexts(try domain.contexts(split: "train"), round: round)
        let records = try roundRecords(contexts, round: round, out: out, times: &times)
        // Test hook: SEAL_DEBUG_KILL_IN_ROUND=n makes rank 0 die by SIGKILL in the middle of round n (after its
        // inner loops, before the round is recorded), as a preempted or OOM-killed job would.
        if mpi.isRoot, let k = ProcessInfo.processInfo.environment["SEAL_DEBUG_KILL_IN_ROUND"], Int(k) == round {
            raise(SIGKILL)
        }
        var all = records ?? []
        var t0 = Self.now()
        var keptBytes: [UInt8] = []
        if mpi.isRoot { keptBytes = try Wire.bytes(keep(all)) }
        keptBytes = try mpi.broadcast(keptBytes)
        times.comm += Self.now() - t0
        let kept = try Wire.decode([SampleRecord].self, keptBytes)
        let pairs = try kept.map { try selfEditPair(contextID: $0.contextID, selfEdit: $0.selfEdit) }

        if config.bool("run.restart_from_base") { try reloadBase() }
        let (steps, adapter) = try policyUpdate(pairs, round: round, times: &times)

        t0 = Self.now()
        if mpi.isRoot, let metrics {
            try saveCheckpoint(adapter, out: out, round: round)
            let keptKeys = Set(kept.map { "\($0.contextID)#\($0.sampleIndex)" })
            for i in all.indices { all[i].kept = keptKeys.contains("\(all[i].contextID)#\(all[i].sampleIndex)") }
            let mean = all.isEmpty ? 0 : all.map(\.reward).reduce(0, +) / Double(all.count)
            var attributes: [String: Double] = [
                "seconds_sampling": times.sampling, "seconds_inner": times.inner, "seconds_comm": times.comm,
                "seconds_sft": times.sft, "seconds_wait": times.wait,
                "mean_reward": mean, "world_size": Double(mpi.size),
                "replay_rows": Double(replay(forKept: pairs.count, round: round).count),
            ]
            // What the round's self-edits state of their contexts' answers (all of them, and those kept).
            if let c = try meanCoverage(all.map { ($0.contextID, $0.selfEdit) }) { attributes["mean_coverage"] = c }
            if let c = try meanCoverage(all.filter(\.kept).map { ($0.contextID, $0.selfEdit) }) { attributes["mean_kept_coverage"] = c }
            try metrics.writeRound(round, samples: all, sftSteps: steps, attributes: attributes)
            // The checkpoint and this round's own HDF5 write, known only once written.
            try metrics.addRoundAttributes(round, ["seconds_io": Self.now() - t0, "seconds_total": Self.now() - roundStart])
            log(String(format: "round %d: %d self-edits on %d contexts, mean reward %.4f, kept %d, %d SFT steps, %.1f s",
                       round, all.count, contexts.count, mean, kept.count, steps.count, Self.now() - roundStart))
        }
        times.io += Self.now() - t0
        // Every rank waits for the checkpoint before the policy moves on (a kill after this point resumes here).
        try mpi.barrier()
        if mpi.isRoot { Journal(run: out, name: String(format: "round_%03d", round)).remove() }
        try applyUpdate(adapter, round: round)
    }
}
