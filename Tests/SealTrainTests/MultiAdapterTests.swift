import Foundation
import SealCore
import SealKernels
import XCTest
import SealModel
import SealTrain

/// Many LoRA adapters trained in one pass over the frozen base (`MultiAdapterTrainer`) against each trained alone
/// (`Trainer`): same steps, losses, gradient norms and final adapters.
///
/// Tolerances: where every product of both paths has at most `SkinnyGEMM.maxRows` rows and seal's few-row kernel is
/// available (AVX-512), its per-row results do not depend on the row count, so the two paths must give the same
/// bits. Otherwise the batched pass's base products go to OpenBLAS, whose per-row sums depend on the number of rows:
/// step losses then agree within 1e-6 relative, gradient norms within 1e-5, and the trained adapters' loss on
/// their rows within 1e-5. (Their entries are not compared one by one: AdamW's first steps move each entry by
/// about ±lr whatever its gradient's size, so a float32 rounding of a near-zero gradient can move one entry by
/// up to 2·lr while the function the adapter computes does not change.)
final class MultiAdapterTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The training fixtures' random Qwen2 shape (biases on q, k, v; GQA 8/2), weights from `randomize`.
    func randomQwen2() throws -> TransformerModel {
        let url = Self.root.appendingPathComponent("Tests/Fixtures/training/qwen2-train/model.json")
        let spec = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let cfg = (spec["init"] as! [String: Any])["config"]!
        let config = try ModelConfig.parse(data: try JSONSerialization.data(withJSONObject: cfg), path: url.path)
        let m = TransformerModel(config: config)
        m.randomize(seed: 7)
        return m
    }

    func toyWorld() throws -> TransformerModel {
        try TransformerModel.load(directory: Self.root.appendingPathComponent("models/toyworld"))
    }

    /// Deterministic rows: token ids below `vocab`, lengths in `lengths`, the loss on the second half of each.
    func rows(count: Int, lengths: ClosedRange<Int>, vocab: Int, seed: UInt64) -> [EncodedExample] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let n = lengths.lowerBound + Int(rng.next() % UInt64(lengths.count))
            let ids = (0..<n).map { _ in Int32(rng.next() % UInt64(vocab)) }
            return EncodedExample(ids: ids, targets: (0..<n).map { $0 >= n / 2 })
        }
    }

    func jobs(model m: TransformerModel, lengths: ClosedRange<Int>) -> [AdapterJob] {
        // Different row counts, epochs, learning rates, schedules, warmups, batch sizes and accumulation: the jobs
        // end at different steps and later ones join the pass as earlier ones finish.
        let recipes: [(rows: Int, epochs: Double, lr: Double, schedule: LRSchedule, warmup: Int, batch: Int, accum: Int)] = [
            (3, 3, 3e-3, .linear, 0, 1, 1), (6, 2, 1e-3, .cosine, 2, 1, 1), (2, 5, 5e-3, .constant, 0, 1, 1),
            (5, 2, 2e-3, .linear, 1, 2, 1), (4, 3, 3e-3, .linear, 0, 1, 2), (2, 1, 1e-2, .constant, 0, 1, 1),
        ]
        return recipes.enumerated().map { i, r in
            var c = TrainConfig()
            c.learningRate = r.lr; c.epochs = r.epochs; c.schedule = r.schedule; c.warmupSteps = r.warmup
            c.batchSize = r.batch; c.gradAccum = r.accum; c.seed = UInt64(100 + i)
            return AdapterJob(rows: rows(count: r.rows, lengths: lengths, vocab: m.config.vocabSize, seed: UInt64(i + 1)),
                              config: c, loraSeed: UInt64(1000 + i))
        }
    }

    struct Outcome { var losses: [Double] = []; var norms: [Double] = []; var params: [Float] = []; var failed = false; var finalLoss = 0.0 }

    /// The mean loss of an adapter over all of a job's rows.
    func finalLoss(_ m: TransformerModel, _ adapter: LoRAAdapter, _ job: AdapterJob) throws -> Double {
        let b = TrainingBatch(sequences: job.rows.map(\.ids), targets: job.rows.map(\.targets))
        let r = try m.lossAndGradients(b, lora: adapter, fullGradients: nil, lossScale: 0, workspace: TrainingWorkspace())
        return r.lossSum / Double(r.tokens)
    }

    func serial(_ m: TransformerModel, _ lora: LoRAConfig, _ jobs: [AdapterJob]) throws -> [Outcome] {
        let adapter = LoRAAdapter(modelConfig: m.config, config: lora)
        let ws = TrainingWorkspace()
        return try jobs.map { job in
            adapter.reset(seed: job.loraSeed)
            let t = try Trainer(model: m, lora: adapter, config: job.config, workspace: ws)
            var o = Outcome()
            do {
                try t.train(job.rows) { o.losses.append($0.loss); o.norms.append($0.gradNorm) }
            } catch let e as TrainingError where e.isDivergence { o.failed = true }
            o.params = Array(UnsafeBufferPointer(start: adapter.params.pointer, count: adapter.params.count))
            o.finalLoss = try finalLoss(m, adapter, job)
            return o
        }
    }

    func batched(_ m: TransformerModel, _ lora: LoRAConfig, _ jobs: [AdapterJob], slots: Int) throws -> [Outcome] {
        var out = [Outcome](repeating: Outcome(), count: jobs.count)
        var order: [Int] = []
        let t = try MultiAdapterTrainer(model: m, lora: lora, slots: slots)
        try t.run(jobs, onStep: { j, log in
            out[j].losses.append(log.loss); out[j].norms.append(log.gradNorm)
        }, finished: { j, adapter, result in
            order.append(j)
            if case .failure = result { out[j].failed = true }
            out[j].params = Array(UnsafeBufferPointer(start: adapter.params.pointer, count: adapter.params.count))
            out[j].finalLoss = try finalLoss(m, adapter, jobs[j])
        })
        XCTAssertEqual(order.sorted(), Array(jobs.indices), "every job finishes once")
        return out
    }

    func compare(_ a: [Outcome], _ b: [Outcome], exact: Bool, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (j, (x, y)) in zip(a, b).enumerated() {
            XCTAssertEqual(x.failed, y.failed, "job \(j) failure", file: file, line: line)
            XCTAssertEqual(x.losses.count, y.losses.count, "job \(j) steps", file: file, line: line)
            XCTAssertGreaterThan(x.losses.count, 0, file: file, line: line)
            if exact {
                XCTAssertEqual(x.losses, y.losses, "job \(j) losses", file: file, line: line)
                XCTAssertEqual(x.norms, y.norms, "job \(j) gradient norms", file: file, line: line)
                XCTAssertTrue(x.params == y.params, "job \(j) adapter bits", file: file, line: line)
                continue
            }
            for (s, (l1, l2)) in zip(x.losses, y.losses).enumerated() {
                XCTAssertLessThanOrEqual(abs(l1 - l2), 1e-6 * abs(l1), "job \(j) step \(s + 1): loss \(l1) vs \(l2)", file: file, line: line)
            }
            for (s, (n1, n2)) in zip(x.norms, y.norms).enumerated() {
                XCTAssertLessThanOrEqual(abs(n1 - n2), 1e-5 * abs(n1), "job \(j) step \(s + 1): gradient norm \(n1) vs \(n2)", file: file, line: line)
            }
            if !x.failed {
                XCTAssertLessThanOrEqual(abs(x.finalLoss - y.finalLoss), 1e-5 * abs(x.finalLoss),
                                         "job \(j): trained adapter's loss \(x.finalLoss) vs \(y.finalLoss)", file: file, line: line)
            }
        }
    }

    /// Short rows, three adapters at a time: every pass has at most 3 × 2 × 9 = 54 rows.
    func testRandomQwen2AllSevenProjectionsSameBitsAsAlone() throws {
        let m = try randomQwen2()
        let lora = LoRAConfig(rank: 4, alpha: 8, targets: LoRATarget.allCases)
        let jobs = jobs(model: m, lengths: 4...9)
        let alone = try serial(m, lora, jobs)
        let together = try batched(m, lora, jobs, slots: 3)
        compare(alone, together, exact: SkinnyGEMM.available)
        if !SkinnyGEMM.available { compare(alone, together, exact: false) }
    }

    /// Long rows and all six jobs at once: the pass has more rows than the few-row kernel takes (OpenBLAS).
    func testRandomQwen2ManyRowsWithinTolerance() throws {
        let m = try randomQwen2()
        let lora = LoRAConfig(rank: 8, alpha: 16, targets: LoRATarget.allCases)
        let jobs = jobs(model: m, lengths: 30...60)
        compare(try serial(m, lora, jobs), try batched(m, lora, jobs, slots: 6), exact: false)
    }

    /// The toy world's model with make-run's inner-loop targets, one and two adapters per pass.
    func testToyWorldSameAsAlone() throws {
        let m = try toyWorld()
        let lora = LoRAConfig(rank: 16, alpha: 32, targets: [.q, .v, .gate, .up, .down])
        let jobs = jobs(model: m, lengths: 5...12)
        let alone = try serial(m, lora, jobs)
        compare(alone, try batched(m, lora, jobs, slots: 1), exact: true)
        compare(alone, try batched(m, lora, jobs, slots: 2), exact: SkinnyGEMM.available)
    }

    /// A job that diverges fails alone: its update is not applied, the others in its pass are unchanged.
    func testDivergingJobFailsAloneOthersUnchanged() throws {
        let m = try randomQwen2()
        let lora = LoRAConfig(rank: 4, alpha: 8, targets: [.q, .v])
        var jobs = jobs(model: m, lengths: 4...9)
        jobs[1].config.learningRate = 1e30
        jobs[1].config.maxGradNorm = nil
        let alone = try serial(m, lora, jobs)
        XCTAssertTrue(alone[1].failed, "the learning rate 1e30 must make job 1 diverge for this test to mean anything")
        let together = try batched(m, lora, jobs, slots: 3)
        XCTAssertTrue(together[1].failed)
        compare(alone, together, exact: SkinnyGEMM.available)
    }

    func testRejectsBadSetup() throws {
        let m = try randomQwen2()
        let lora = LoRAConfig(rank: 4, alpha: 8, targets: [.q])
        XCTAssertThrowsError(try MultiAdapterTrainer(model: m, lora: lora, slots: 0))
        var jobs = jobs(model: m, lengths: 4...6)
        jobs[2].config.learningRate = -1
        let t = try MultiAdapterTrainer(model: m, lora: lora, slots: 2)
        XCTAssertThrowsError(try t.run(jobs, finished: { _, _, _ in XCTFail("nothing may run before every job is checked") })) { e in
            XCTAssertTrue("\(e)".contains("adapter job 2"), "\(e)")
        }
        // One adapter twice in a pass would mix two gradients in one buffer.
        let a = LoRAAdapter(modelConfig: m.config, config: lora)
        let b = TrainingBatch(allTokens: [[1, 2, 3]])
        XCTAssertThrowsError(try m.lossAndGradients([AdapterBatch(batch: b, lora: a, lossScale: 1), AdapterBatch(batch: b, lora: a, lossScale: 1)],
                                                    workspace: TrainingWorkspace()))
        let other = LoRAAdapter(modelConfig: m.config, config: LoRAConfig(rank: 2, alpha: 8, targets: [.q]))
        XCTAssertThrowsError(try m.lossAndGradients([AdapterBatch(batch: b, lora: a, lossScale: 1), AdapterBatch(batch: b, lora: other, lossScale: 1)],
                                                    workspace: TrainingWorkspace())) { e in
            XCTAssertTrue("\(e)".contains("share rank"), "\(e)")
        }
    }
}
