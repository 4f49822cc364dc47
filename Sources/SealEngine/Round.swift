import Foundation
import SealGenerate
import SealKernels
import SealModel
import SealRuntime
import SealTokenizer
import SealTrain

/// Timings of one round's phases on this rank (seconds).
public struct PhaseTimes: Codable, Sendable {
    public var sampling = 0.0, inner = 0.0, comm = 0.0, sft = 0.0, io = 0.0
}

extension ReSTEMEngine {
    static func now() -> Double { KernelStats.now() }

    /// Samples, inner loops and rewards for this rank's share of `contexts`. Returns one record per self-edit.
    func localSamples(_ mine: [ContextInfo], round: Int, times: inout PhaseTimes) throws -> [SampleRecord] {
        let runSeed = UInt64(bitPattern: Int64(config.int("run.seed")))
        var t0 = Self.now()
        let edits = try sampleSelfEdits(mine.map(\.id), round: round)
        times.sampling += Self.now() - t0
        t0 = Self.now()
        var records: [SampleRecord] = []
        let repeats = max(1, config.int("inner.repeats"))
        let gain = config.string("reward.kind") == "gain"
        let progress = ProgressReporter(label: "round \(round) inner loops (rank 0: \(mine.count) contexts)",
                                        total: edits.values.reduce(0) { $0 + $1.count }, enabled: mpi.isRoot && verbose, sink: log)
        for c in mine {
            let baseline = try domain.evaluate(contextID: c.id, with: scorer(nil)).score
            for (k, text) in (edits[c.id] ?? []).enumerated() {
                let start = Self.now()
                var rec = SampleRecord(contextID: c.id, sampleIndex: k, rank: mpi.rank, reward: 0, baselineScore: baseline,
                                       adaptedScore: baseline, innerLoss: .nan, tokens: 0, seconds: 0, selfEdit: text,
                                       status: "ok", kept: false)
                do {
                    let plan = try domain.innerLoopPlan(contextID: c.id, selfEdit: text)
                    var scores: [Double] = [], losses: [Double] = [], tokens = 0
                    for r in 0..<repeats {
                        let seed = Seeds.key([runSeed, UInt64(round), Seeds.hash(c.id), UInt64(k), UInt64(r)])
                        let (ev, loss, n) = try innerLoop(contextID: c.id, plan: plan, seed: seed)
                        scores.append(ev.score); losses.append(loss); tokens += n
                    }
                    rec.adaptedScore = scores.reduce(0, +) / Double(scores.count)
                    rec.innerLoss = losses.reduce(0, +) / Double(losses.count)
                    rec.tokens = tokens
                    rec.reward = gain ? rec.adaptedScore - baseline : rec.adaptedScore
                } catch let e as InvalidSelfEdit {
                    rec.status = "invalid: \(e.reason)"
                    rec.reward = 0
                } catch let e as DatasetError {
                    rec.status = "invalid: \(e)"
                    rec.reward = 0
                }
                rec.seconds = Self.now() - start
                records.append(rec)
                progress.advance()
            }
        }
        times.inner += Self.now() - t0
        return records
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

    /// The policy update on the kept pairs, data-parallel and rank-count invariant: pairs are cut into fixed
    /// micro-batches in a fixed order; micro-batch j is computed by rank j mod size; each micro-batch's gradient is
    /// added exactly (fixed point) into an accumulator; the accumulators are summed across ranks exactly; every
    /// rank applies the same clipped AdamW step. Returns (step, loss) per optimizer step and the trained adapter.
    public func policyUpdate(_ pairs: [TextExample], round: Int, times: inout PhaseTimes) throws -> (steps: [(step: Int, loss: Double)], adapter: LoRAAdapter?) {
        if pairs.isEmpty { return ([], nil) }
        let targets = try LoRATarget.parseList(config.strings("sft.lora_targets").joined(separator: ","))
        let lora = LoRAAdapter(modelConfig: policy.config, config: LoRAConfig(rank: config.int("sft.lora_rank"),
                                                                            alpha: config.double("sft.lora_alpha"), targets: targets))
        let runSeed = UInt64(bitPattern: Int64(config.int("run.seed")))
        lora.reset(seed: Seeds.key([runSeed, UInt64(round), 2]))
        let (rows, _) = try Dataset.encode(pairs, tokenizer: tokenizer, lossOn: .completion,
                                           maxLength: min(config.int("inner.max_length"), policy.config.maxPositionEmbeddings),
                                           eosID: policy.eosTokenIDs.first, appendEOS: true, source: "kept pairs")
        let micro = max(1, config.int("sft.micro_batch"))
        let perStep = max(micro, config.int("sft.batch"))
        // Row order: epoch after epoch, each a seeded permutation (identical on every rank).
        var tc = TrainConfig()
        tc.seed = Seeds.key([runSeed, UInt64(round), 3])
        tc.epochs = config.double("sft.epochs")
        tc.batchSize = perStep
        let probe = try Trainer(model: policy, lora: nil, config: tc, workspace: trainWorkspace)
        let totalRows = Int((Double(rows.count) * tc.epochs).rounded(.up))
        let order = probe.rowOrder(rows: rows.count, count: totalRows)
        let totalSteps = max(1, (totalRows + perStep - 1) / perStep)
        let schedule = LRSchedule(rawValue: config.string("sft.schedule"))!
        let adam = AdamW(count: lora.params.count)
        let acc = ExactAccumulator(count: lora.grads.count)
        let maxNorm = config.double("sft.max_grad_norm")
        var log: [(Int, Double)] = []
        for step in 0..<totalSteps {
            let stepRows = Array(order[(step * perStep)..<min((step + 1) * perStep, order.count)])
            let microBatches = stride(from: 0, to: stepRows.count, by: micro).map { Array(stepRows[$0..<min($0 + micro, stepRows.count)]) }
            let stepTokens = stepRows.reduce(0) { $0 + rows[$1].targets.dropFirst().filter { $0 }.count }
            let scale = stepTokens > 0 ? 1 / Float(stepTokens) : 0
            acc.reset()
            var localLoss: [Double] = []
            var t0 = Self.now()
            for (j, mb) in microBatches.enumerated() where j % mpi.size == mpi.rank {
                lora.grads.pointer.update(repeating: 0, count: lora.grads.count)
                let batch = TrainingBatch(sequences: mb.map { rows[$0].ids }, targets: mb.map { rows[$0].targets })
                let r = try policy.lossAndGradients(batch, lora: lora, fullGradients: nil, lossScale: scale, workspace: trainWorkspace)
                acc.add(lora.grads.pointer, count: lora.grads.count)
                localLoss.append(r.lossSum)
            }
            times.sft += Self.now() - t0
            t0 = Self.now()
            try mpi.allreduce(acc)
            // Micro-batch losses summed in micro-batch order, whichever rank computed them.
            let blobs = try mpi.allgather(try JSONEncoder().encode(localLoss).map { $0 })
            times.comm += Self.now() - t0
            var perMicro = [Double](repeating: 0, count: microBatches.count)
            for (r, blob) in blobs.enumerated() {
                let l = try JSONDecoder().decode([Double].self, from: Data(blob))
                for (i, v) in l.enumerated() { perMicro[r + i * mpi.size] = v }
            }
            let loss = stepTokens > 0 ? perMicro.reduce(0, +) / Double(stepTokens) : 0
            if acc.overflowed { throw EngineError("round \(round) policy update step \(step + 1): gradient overflow or non-finite value") }
            acc.result(into: lora.grads.pointer)
            t0 = Self.now()
            let norm = maxNorm > 0 ? clipGradients(lora.grads, maxNorm: maxNorm) : gradientNorm(lora.grads)
            guard loss.isFinite, norm.isFinite else {
                throw EngineError("round \(round) policy update step \(step + 1): loss \(loss), gradient norm \(norm) not finite")
            }
            let lr = config.double("sft.lr") * schedule.multiplier(step: step, totalSteps: totalSteps, warmupSteps: 0)
            adam.step(params: lora.params, grads: lora.grads, lr: lr)
            times.sft += Self.now() - t0
            log.append((step + 1, loss))
        }
        return (log, lora)
    }
}
