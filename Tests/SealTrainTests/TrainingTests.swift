import Foundation
import SealCore
import XCTest
import SealTestSupport
import SealModel
import SealTrain

/// Training against transformers + PEFT (fixtures from scripts/fixtures/make_training_fixtures.py).
///
/// Tolerances: gradients per tensor within 1e-3 × that tensor's largest |entry| (the 1e-3 relative; the
/// oracle itself is good to ~3e-6 in float32); losses within 1e-3 relative; adapters after 5 AdamW steps within
/// 1e-3 × their largest |entry|.
final class TrainingTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func fx(_ p: String) -> URL { root.appendingPathComponent("Tests/Fixtures/training").appendingPathComponent(p) }

    func json(_ p: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fx(p))) as! [String: Any]
    }

    /// The fixture's base model: the shared tinystories, or the random Qwen2 rebuilt from its spec.
    func model(_ name: String) throws -> TransformerModel {
        let m = try json("\(name)/model.json")
        if let path = m["path"] as? String { return try TransformerModel.load(directory: Self.root.appendingPathComponent(path)) }
        let spec = m["init"] as! [String: Any]
        let dir = scratchRoot.appendingPathComponent("seal-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cfg = dir.appendingPathComponent("cfg.json")
        try JSONSerialization.data(withJSONObject: spec["config"]!).write(to: cfg)
        _ = try TransformerModel.initDirectory(configURL: cfg, out: dir.appendingPathComponent("m"), seed: UInt64(spec["seed"] as! Int),
                                               dtype: .f32, tokenizerDirectory: nil)
        return try TransformerModel.load(directory: dir.appendingPathComponent("m"))
    }

    func sequences(_ list: [[String: Any]]) -> (ids: [[Int32]], targets: [[Bool]]) {
        (list.map { ($0["ids"] as! [Int]).map(Int32.init) }, list.map { ($0["loss_mask"] as! [Int]).map { $0 == 1 } })
    }

    func tensor(_ f: SafeTensorsFile, _ name: String) -> [Float] {
        let info = f.tensors[name]!
        var out = [Float](repeating: 0, count: info.count)
        out.withUnsafeMutableBufferPointer { f.read(info, into: $0.baseAddress!) }
        return out
    }

    func assertClose(_ mine: UnsafeBufferPointer<Float>, _ ref: [Float], rel: Double, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(mine.count, ref.count, what, file: file, line: line)
        let scale = Double(ref.map { abs($0) }.max() ?? 0)
        var worst = 0.0
        for (a, b) in zip(mine, ref) { worst = max(worst, abs(Double(a) - Double(b))) }
        XCTAssertLessThanOrEqual(worst, rel * max(scale, 1e-12), "\(what): max |Δ| \(worst), scale \(scale)", file: file, line: line)
    }

    // MARK: gradients

    func checkLoRAGradients(_ name: String) throws {
        let m = try model(name)
        let lora = try PEFTAdapter.load(from: Self.fx("\(name)/adapter_init"), for: m)
        XCTAssertEqual(lora.config.scale, 2.0)
        let b = try json("\(name)/batch.json")
        let (ids, targets) = sequences(b["sequences"] as! [[String: Any]])
        let batch = TrainingBatch(sequences: ids, targets: targets)
        XCTAssertEqual(batch.targetCount, b["n_loss_tokens"] as! Int)
        let tw = TrainingWorkspace()
        let r = try m.lossAndGradients(batch, lora: lora, fullGradients: nil, lossScale: 1 / Float(batch.targetCount), workspace: tw)
        let ref = try SafeTensorsFile(path: Self.fx("\(name)/lora_grads.safetensors").path)
        XCTAssertEqual(r.lossSum / Double(r.tokens), Double(tensor(ref, "loss")[0]), accuracy: 1e-5 * Double(tensor(ref, "loss")[0]))
        for mod in lora.modules {
            let (an, bn) = lora.peftNames(mod)
            assertClose(UnsafeBufferPointer(start: lora.grads.pointer + mod.a, count: lora.config.rank * mod.inDim), tensor(ref, an), rel: 1e-3, an)
            assertClose(UnsafeBufferPointer(start: lora.grads.pointer + mod.b, count: lora.config.rank * mod.outDim), tensor(ref, bn), rel: 1e-3, bn)
        }
    }

    func checkFullGradients(_ name: String) throws {
        let m = try model(name)
        let b = try json("\(name)/batch.json")
        let (ids, targets) = sequences(b["sequences"] as! [[String: Any]])
        let batch = TrainingBatch(sequences: ids, targets: targets)
        let grads = FloatBuffer(count: m.params.count)
        let r = try m.lossAndGradients(batch, lora: nil, fullGradients: grads, lossScale: 1 / Float(batch.targetCount), workspace: TrainingWorkspace())
        let ref = try SafeTensorsFile(path: Self.fx("\(name)/full_grads.safetensors").path)
        XCTAssertEqual(r.lossSum / Double(r.tokens), Double(tensor(ref, "loss")[0]), accuracy: 1e-5 * Double(tensor(ref, "loss")[0]))
        var names = Set(ref.tensors.keys); names.remove("loss")
        for e in m.layout.entries {
            XCTAssertTrue(names.remove(e.name) != nil, "oracle lacks \(e.name)")
            assertClose(UnsafeBufferPointer(start: grads.pointer + e.offset, count: e.count), tensor(ref, e.name), rel: 1e-3, e.name)
        }
        XCTAssertTrue(names.isEmpty, "seal has no parameter for \(names)")
    }

    func testLoRAGradientsTinyStories() throws { try checkLoRAGradients("tinystories-656k") }
    func testLoRAGradientsQwen2() throws { try checkLoRAGradients("qwen2-train") }
    func testFullGradientsTinyStories() throws { try checkFullGradients("tinystories-656k") }
    func testFullGradientsQwen2() throws { try checkFullGradients("qwen2-train") }

    // MARK: trajectories

    func trainConfig(_ c: [String: Any]) -> TrainConfig {
        var t = TrainConfig()
        t.learningRate = c["lr"] as! Double
        t.steps = c["steps"] as? Int
        t.weightDecay = c["weight_decay"] as! Double
        t.schedule = LRSchedule(rawValue: c["schedule"] as! String)!
        t.warmupSteps = c["warmup_steps"] as! Int
        t.maxGradNorm = c["max_grad_norm"] as? Double
        t.batchSize = c["micro_batch_size"] as! Int
        t.gradAccum = c["grad_accum"] as! Int
        t.eps = c["eps"] as! Double
        return t
    }

    func runTrajectory(_ name: String, file: String, lora: Bool) throws {
        let m = try model(name)
        let tj = try json("\(name)/\(file)")
        let cfg = trainConfig(tj["config"] as! [String: Any])
        let adapter = lora ? try PEFTAdapter.load(from: Self.fx("\(name)/adapter_init"), for: m) : nil
        let trainer = try Trainer(model: m, lora: adapter, config: cfg)
        // The full-finetuning trajectory reuses trajectory.json's sequences (its "sequences" names that file).
        let seqList = try tj["sequences"] as? [[String: Any]] ?? (json("\(name)/trajectory.json"))["sequences"] as! [[String: Any]]
        let (ids, targets) = sequences(seqList)
        let steps = tj["steps"] as! [[String: Any]]
        for s in steps {
            let i = s["step"] as! Int
            let rows = s["sequences"] as! [Int]
            let micro = stride(from: 0, to: rows.count, by: cfg.batchSize).map { j in
                TrainingBatch(sequences: rows[j..<(j + cfg.batchSize)].map { ids[$0] }, targets: rows[j..<(j + cfg.batchSize)].map { targets[$0] })
            }
            let lr = cfg.learningRate * cfg.schedule.multiplier(step: i, totalSteps: cfg.steps!, warmupSteps: cfg.warmupSteps)
            XCTAssertEqual(lr, s["lr"] as! Double, accuracy: 1e-12, "\(name) step \(i) learning rate")
            let r = try trainer.step(micro, learningRate: lr, index: i)
            XCTAssertEqual(r.tokens, s["n_loss_tokens"] as! Int)
            XCTAssertEqual(r.loss, s["loss"] as! Double, accuracy: 1e-3 * (s["loss"] as! Double), "\(name) step \(i) loss")
            XCTAssertEqual(r.gradNorm, s["grad_norm"] as! Double, accuracy: 1e-3 * (s["grad_norm"] as! Double), "\(name) step \(i) grad norm")
        }
        if let adapter, let final = tj["final"] as? String {
            let ref = try SafeTensorsFile(path: Self.fx("\(name)/\(final)/adapter_model.safetensors").path)
            for mod in adapter.modules {
                let (an, bn) = adapter.peftNames(mod)
                assertClose(UnsafeBufferPointer(start: adapter.params.pointer + mod.a, count: adapter.config.rank * mod.inDim), tensor(ref, an), rel: 1e-3, "final " + an)
                assertClose(UnsafeBufferPointer(start: adapter.params.pointer + mod.b, count: adapter.config.rank * mod.outDim), tensor(ref, bn), rel: 1e-3, "final " + bn)
            }
        }
        // Held-out log-likelihoods under the trained model (adapter unmerged, then merged into the base).
        for h in tj["held_out"] as! [[String: Any]] {
            let hid = (h["ids"] as! [Int]).map(Int32.init)
            let ref = h["nll_final"] as! [Double]
            let logits = try m.forward([hid], lora: adapter)
            for t in 0..<(hid.count - 1) {
                let row = Array(logits.row(t))
                let mx = row.max()!
                let lse = Double(mx) + log(row.reduce(0.0) { $0 + exp(Double($1 - mx)) })
                XCTAssertEqual(lse - Double(row[Int(hid[t + 1])]), ref[t], accuracy: 1e-3 * max(1, ref[t]), "\(name) held-out nll at \(t)")
            }
        }
    }

    /// One workspace serves adapters of the same rank but different targets (inner loop, then policy update).
    func testWorkspaceSharedByAdaptersWithOtherTargets() throws {
        let m = try model("qwen2-train")
        let tw = TrainingWorkspace()
        let batch = TrainingBatch(allTokens: [[5, 6, 7, 8, 9]])
        let qv = LoRAAdapter(modelConfig: m.config, config: LoRAConfig(rank: 4, alpha: 8, targets: [.q, .v]))
        let all = LoRAAdapter(modelConfig: m.config, config: LoRAConfig(rank: 4, alpha: 8, targets: LoRATarget.allCases))
        qv.reset(seed: 1); all.reset(seed: 2)
        _ = try m.lossAndGradients(batch, lora: qv, fullGradients: nil, lossScale: 0.25, workspace: tw)
        let r = try m.lossAndGradients(batch, lora: all, fullGradients: nil, lossScale: 0.25, workspace: tw)
        let fresh = try m.lossAndGradients(batch, lora: all, fullGradients: nil, lossScale: 0.25, workspace: TrainingWorkspace())
        XCTAssertEqual(r.lossSum, fresh.lossSum, accuracy: 1e-9)
    }

    /// Issue 14: a PEFT adapter file holding a tensor seal would not apply (a layer the model lacks, a module
    /// outside target_modules) is refused naming it, not silently dropped.
    func testAdapterWithUnexpectedTensorsIsRefused() throws {
        let m = try model("tinystories-656k")
        let src = Self.fx("tinystories-656k/adapter_init")
        let good = try PEFTAdapter.load(from: src, for: m)
        let st = try SafeTensorsFile(path: src.appendingPathComponent("adapter_model.safetensors").path)
        let extraNames = ["base_model.model.model.layers.\(m.config.numLayers).self_attn.q_proj.lora_A.weight",
                          "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector",
                          "base_model.model.model.embed_tokens.lora_embedding_A", "base_model.model.lm_head.weight"]
        for extra in extraNames {
            XCTAssertNil(st.tensors[extra], "the fixture already holds \(extra)")
            let dir = scratchRoot.appendingPathComponent("seal-peft-extra-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: src.appendingPathComponent("adapter_config.json"), to: dir.appendingPathComponent("adapter_config.json"))
            var flat: [Float] = []
            var spans: [(name: String, shape: [Int], start: Int)] = []
            for (name, info) in st.tensors.sorted(by: { $0.key < $1.key }) {
                var v = [Float](repeating: 0, count: info.shape.reduce(1, *))
                v.withUnsafeMutableBufferPointer { st.read(info, into: $0.baseAddress!) }
                spans.append((name, info.shape, flat.count))
                flat += v
            }
            spans.append((extra, [4, 4], flat.count))
            flat += [Float](repeating: 1, count: 16)
            try flat.withUnsafeBufferPointer { p in
                let entries = spans.enumerated().map { i, s in
                    let end = i + 1 < spans.count ? spans[i + 1].start : p.count
                    return SafeTensorsWriter.Entry(name: s.name, shape: s.shape, data: UnsafeBufferPointer(rebasing: p[s.start..<end]))
                }
                try SafeTensorsWriter.write(entries, dtype: .f32, to: dir.appendingPathComponent("adapter_model.safetensors"))
            }
            XCTAssertThrowsError(try PEFTAdapter.load(from: dir, for: m)) { e in
                XCTAssertTrue("\(e)".contains(extra) && "\(e)".contains("adapter_model.safetensors"), "\(e)")
            }
        }
        XCTAssertFalse(good.modules.isEmpty)
    }

    /// The one optimizer step (`OptimizerState.step`): with an exact reduction, the micro-batches' order does not
    /// change a bit of the update (what makes data-parallel runs rank-count invariant); float accumulation agrees
    /// with it to rounding; the row order is a seeded permutation per epoch, cut at the count (and empty for no rows).
    func testOptimizerStepExactIsOrderIndependent() throws {
        let ids = (try json("qwen2-train/batch.json")["sequences"] as! [[String: Any]]).map { ($0["ids"] as! [Int]).map(Int32.init) }
        XCTAssertGreaterThanOrEqual(ids.count, 2)
        let batches = ids.prefix(3).map { TrainingBatch(sequences: [$0], targets: [[Bool](repeating: true, count: $0.count)]) }
        func run(_ order: [Int], exact: Bool) throws -> ([Float], StepResult) {
            let m = try model("qwen2-train")
            let lora = try PEFTAdapter.load(from: Self.fx("qwen2-train/adapter_init"), for: m)
            let state = OptimizerState(model: m, lora: lora, optimizer: AdamW(count: lora.params.count), workspace: TrainingWorkspace())
            let r = try state.step(order.map { batches[$0] }, learningRate: 1e-3, maxGradNorm: 1, index: 0, reduction: LocalReduction(exact: exact))
            return (Array(UnsafeBufferPointer(start: lora.params.pointer, count: lora.params.count)), r)
        }
        let n = batches.count
        let (a, ra) = try run(Array(0..<n), exact: true)
        let (b, rb) = try run(Array((0..<n).reversed()), exact: true)
        XCTAssertEqual(a, b, "exact accumulation: the update depends on the micro-batches' order")
        XCTAssertEqual(ra.tokens, rb.tokens)
        XCTAssertEqual(ra.gradNorm, rb.gradNorm)
        XCTAssertEqual(ra.loss, rb.loss, accuracy: 1e-12 * ra.loss)
        let (f, rf) = try run(Array(0..<n), exact: false)
        XCTAssertEqual(rf.gradNorm, ra.gradNorm, accuracy: 1e-5 * ra.gradNorm)
        XCTAssertLessThan(zip(f, a).map { abs($0 - $1) }.max()!, 1e-5)
        // Row order.
        XCTAssertEqual(trainingRowOrder(rows: 0, count: 5, shuffle: true, seed: 1), [])
        XCTAssertEqual(trainingRowOrder(rows: 3, count: 7, shuffle: false, seed: 1), [0, 1, 2, 0, 1, 2, 0])
        let o = trainingRowOrder(rows: 5, count: 12, shuffle: true, seed: 9)
        XCTAssertEqual(o.count, 12)
        XCTAssertEqual(Set(o[0..<5]), Set(0..<5))
        XCTAssertEqual(Set(o[5..<10]), Set(0..<5))
        XCTAssertEqual(o, trainingRowOrder(rows: 5, count: 12, shuffle: true, seed: 9))
        XCTAssertNotEqual(o, trainingRowOrder(rows: 5, count: 12, shuffle: true, seed: 10))
    }

    /// Merging an adapter into the base weights gives the function the unmerged adapter computes.
    func testMergeEqualsUnmergedAdapter() throws {
        let m = try model("qwen2-train")
        let lora = try PEFTAdapter.load(from: Self.fx("qwen2-train/adapter_after_5_steps"), for: m)
        let ids = (try json("qwen2-train/batch.json")["sequences"] as! [[String: Any]]).map { ($0["ids"] as! [Int]).map(Int32.init) }
        let before = try m.forward(ids, lora: lora)
        lora.merge(into: m)
        let after = try m.forward(ids)
        let worst = zip(before.values, after.values).map { abs($0 - $1) }.max()!
        let scale = before.values.map { abs($0) }.max()!
        XCTAssertLessThan(worst, 1e-5 * scale, "merged logits differ from the adapter's by \(worst)")
    }

    func testLoRATrajectoryTinyStories() throws { try runTrajectory("tinystories-656k", file: "trajectory.json", lora: true) }
    func testLoRATrajectoryQwen2() throws { try runTrajectory("qwen2-train", file: "trajectory.json", lora: true) }
    func testFullTrajectoryQwen2() throws { try runTrajectory("qwen2-train", file: "full_trajectory.json", lora: false) }
}
