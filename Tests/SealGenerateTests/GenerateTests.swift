import Foundation
import SealCore
import XCTest
import SealTestSupport
import SealGenerate
import SealKernels
import SealModel
import SealTokenizer

enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shared = root.deletingLastPathComponent().appendingPathComponent("shared")
    static let tiny = shared.appendingPathComponent("models/tinystories-656k")
}

func loadFixture(_ name: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: Repo.root.appendingPathComponent("Tests/Fixtures/generation/\(name).json"))) as! [String: Any]
}

/// The model directory a fixture was made on (random models rebuilt from their recorded spec).
func fixtureModel(_ fx: [String: Any]) throws -> URL {
    guard let spec = fx["init"] as? [String: Any] else { return Repo.tiny }
    let dir = scratchRoot.appendingPathComponent("seal-gen-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let cfg = dir.appendingPathComponent("cfg.json")
    try JSONSerialization.data(withJSONObject: spec["config"]!).write(to: cfg)
    let dtype: DType = ["bf16": .bf16, "f16": .f16, "f32": .f32][spec["dtype"] as! String]!
    let out = dir.appendingPathComponent("m")
    _ = try TransformerModel.initDirectory(configURL: cfg, out: out, seed: UInt64(spec["seed"] as! Int), dtype: dtype,
                                           tokenizerDirectory: Repo.root.appendingPathComponent(spec["tokenizer"] as! String),
                                           maxShardBytes: (spec["max_shard_mb"] as? Double).map { Int($0 * 1e6) })
    return out
}

final class GenerateTests: XCTestCase {
    /// Greedy decoding equals transformers' generate(do_sample=False) token for token, singly and batched.
    func checkGreedy(_ name: String) throws {
        let fx = try loadFixture(name)
        let dir = try fixtureModel(fx)
        let model = try TransformerModel.load(directory: dir)
        let tok = try Tokenizer(directory: dir)
        let cases = fx["cases"] as! [[String: Any]]
        var requests: [GenerationRequest] = []
        for c in cases {
            let ids = (c["prompt_ids"] as! [Int]).map(Int32.init)
            XCTAssertEqual(tok.encode(c["prompt"] as! String).map(Int32.init), ids, "tokenization of \(c["prompt"]!)")
            requests.append(GenerationRequest(prompt: ids))
        }
        let n = cases[0]["max_new_tokens"] as! Int
        for batch in [1, 4] {
            let gen = Generator(model: model, tokenizer: tok, maxBatch: batch)
            let out = try gen.generate(requests, params: SamplingParams(temperature: 0, maxNewTokens: n))
            for (i, c) in cases.enumerated() {
                XCTAssertEqual(out[i].tokenIDs, c["new_ids"] as! [Int], "\(name) prompt \(i) (batch \(batch))")
                if (c["new_ids"] as! [Int]).count < n { XCTAssertEqual(out[i].finishReason, .eos) } else { XCTAssertEqual(out[i].finishReason, .length) }
            }
        }
    }

    func testGreedyTinyStoriesEqualsTransformers() throws { try checkGreedy("tinystories-656k") }
    func testGreedyRandomQwen2EqualsTransformers() throws { try checkGreedy("qwen2-random") }

    /// The logits of every cached decoding step equal a full forward pass over the whole sequence so far.
    func testKVCacheEqualsRecomputation() throws {
        let model = try TransformerModel.load(directory: Repo.tiny)
        let cache = KVCache(config: model.config, slots: 2, capacity: 64)
        var seqs: [[Int32]] = [[1, 300, 301, 302], [1, 50]]
        var step = try model.forwardCached([(seqs[0], 0), (seqs[1], 1)], cache: cache)
        for _ in 0..<12 {
            let full = try model.forward(seqs, rows: .last)
            for s in 0..<2 {
                let a = Array(step.row(s)), b = Array(full.row(s))
                let worst = zip(a, b).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 1e-4, "step with \(seqs[s].count) tokens, sequence \(s)")
            }
            let next = (0..<2).map { s -> Int32 in
                let r = Array(step.row(s)); return Int32(r.indices.max { r[$0] < r[$1] }!)
            }
            for s in 0..<2 { seqs[s].append(next[s]) }
            step = try model.forwardCached([([next[0]], 0), ([next[1]], 1)], cache: cache)
        }
    }

    /// Same seed → same samples whatever the batch size and the order of prompts; sample indices differ.
    func testSeededSamplingInvariance() throws {
        let model = try TransformerModel.load(directory: Repo.tiny)
        let tok = try Tokenizer(directory: Repo.tiny)
        let prompts = ["Once upon a time", "The cat", "Lily and Ben", "A big red ball"].map { tok.encode($0).map(Int32.init) }
        let params = SamplingParams(temperature: 1, topP: 0.95, maxNewTokens: 24, seed: 42)
        func run(_ order: [Int], batch: Int) throws -> [String: [Int]] {
            let gen = Generator(model: model, tokenizer: tok, maxBatch: batch)
            let out = try gen.generate(order.map { GenerationRequest(prompt: prompts[$0], samples: 3) }, params: params)
            var d: [String: [Int]] = [:]
            for c in out { d["\(order[c.promptIndex]).\(c.sampleIndex)"] = c.tokenIDs }
            return d
        }
        let ref = try run([0, 1, 2, 3], batch: 1)
        XCTAssertEqual(ref.count, 12)
        XCTAssertEqual(try run([0, 1, 2, 3], batch: 3), ref)
        XCTAssertEqual(try run([0, 1, 2, 3], batch: 8), ref)
        XCTAssertEqual(try run([2, 0, 3, 1], batch: 3), ref)
        for p in 0..<4 {
            XCTAssertNotEqual(ref["\(p).0"], ref["\(p).1"], "prompt \(p): samples 0 and 1 are identical")
            XCTAssertNotEqual(ref["\(p).1"], ref["\(p).2"], "prompt \(p): samples 1 and 2 are identical")
        }
        let other = SamplingParams(temperature: 1, topP: 0.95, maxNewTokens: 24, seed: 43)
        let gen = Generator(model: model, tokenizer: tok, maxBatch: 4)
        let o = try gen.generate([GenerationRequest(prompt: prompts[0], samples: 1)], params: other)
        XCTAssertNotEqual(o[0].tokenIDs, ref["0.0"], "another seed gives another sample")
    }

    /// Truncation semantics: top-k 1 and a vanishing top-p leave only the argmax, so sampling equals greedy; the
    /// sampler's empirical distribution over a small vocabulary follows the tempered, truncated softmax.
    func testTopKTopPSemantics() throws {
        let model = try TransformerModel.load(directory: Repo.tiny)
        let tok = try Tokenizer(directory: Repo.tiny)
        let gen = Generator(model: model, tokenizer: tok)
        let p = [GenerationRequest(prompt: tok.encode("Once upon a time").map(Int32.init))]
        let greedy = try gen.generate(p, params: SamplingParams(maxNewTokens: 20))[0].tokenIDs
        XCTAssertEqual(try gen.generate(p, params: SamplingParams(temperature: 1, topK: 1, maxNewTokens: 20, seed: 5))[0].tokenIDs, greedy)
        XCTAssertEqual(try gen.generate(p, params: SamplingParams(temperature: 1, topP: 1e-6, maxNewTokens: 20, seed: 5))[0].tokenIDs, greedy)
        var sampler = Sampler()
        let logits: [Float] = [2, 1, 0, -1, 3, 0.5]
        let probs = logits.map { exp(Double($0)) }
        // top-k 3 keeps ids 4, 0, 1; top-p 0.8 of those keeps 4 and 0 (0.665 + 0.245 ≥ 0.8 · 1).
        var counts = [Int](repeating: 0, count: 6)
        let n = 20_000
        for i in 0..<n {
            let (t, _) = sampler.sample(logits: logits[...], params: SamplingParams(temperature: 1, topP: 0.8, topK: 3), uniform: (Double(i) + 0.5) / Double(n))
            counts[t] += 1
        }
        let z = probs[4] + probs[0]
        XCTAssertEqual(counts[1] + counts[2] + counts[3] + counts[5], 0, "\(counts)")
        XCTAssertEqual(Double(counts[4]) / Double(n), probs[4] / z, accuracy: 1e-3)
        XCTAssertEqual(Double(counts[0]) / Double(n), probs[0] / z, accuracy: 1e-3)
    }

    /// Top-p alone takes a fast path (a radix select over the probabilities' bits, no sort): its draws equal a
    /// plain reference — sort by (probability desc, id asc), keep the shortest prefix reaching the mass (at least
    /// one), draw over the kept tokens in id order — on flat, peaked and tied distributions, 200 uniforms each.
    func testTopPFastPathMatchesSortedReference() throws {
        var rng = SplitMix64(seed: 11)
        func normal() -> Float {
            let u1 = max(rng.unit(), 1e-300), u2 = rng.unit()
            return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
        }
        var sampler = Sampler()
        var cases: [(String, [Float])] = []
        cases.append(("flat", (0..<20_000).map { _ in 0.05 * normal() }))
        cases.append(("peaked", (0..<20_000).map { _ in 4 * normal() }))
        cases.append(("ties", (0..<5_000).map { _ in (2 * normal()).rounded() / 2 }))
        cases.append(("all equal", [Float](repeating: 0.25, count: 300)))
        cases.append(("one", [1.5]))
        for (name, logits) in cases {
            for T in [1.0, 0.7] {
                for topP in [1e-6, 0.3, 0.9, 0.95, 0.999] {
                    // The sampler's own probabilities: exp((l - max) / T) by seal's vectorised exp.
                    let mx = logits.max()!
                    var shifted = logits.map { ($0 - mx) * Float(1 / T) }
                    var p = [Float](repeating: 0, count: logits.count)
                    vectorExp(&p, &shifted, count: logits.count)
                    let total = p.reduce(0.0) { $0 + Double($1) }
                    let byProb = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
                    var kept = Set<Int>(), m = 0.0
                    for j in byProb where m < topP * total || kept.isEmpty { kept.insert(j); m += Double(p[j]) }
                    let inOrder = kept.sorted()
                    let keptMass = inOrder.reduce(0.0) { $0 + Double(p[$1]) }
                    for i in 0..<200 {
                        let u = (Double(i) + 0.5) / 200
                        var want = inOrder.last!, acc = 0.0
                        for j in inOrder { acc += Double(p[j]); if u * keptMass < acc { want = j; break } }
                        let got = sampler.sample(logits: logits[...], params: SamplingParams(temperature: T, topP: topP), uniform: u).token
                        XCTAssertEqual(got, want, "\(name), T \(T), top-p \(topP), u \(u) (\(kept.count) kept)")
                        if got != want { return }
                    }
                }
            }
        }
    }

    func testStopStringsAndLogprob() throws {
        let model = try TransformerModel.load(directory: Repo.tiny)
        let tok = try Tokenizer(directory: Repo.tiny)
        let gen = Generator(model: model, tokenizer: tok)
        let p = tok.encode("Once upon a time").map(Int32.init)
        let full = try gen.generate([GenerationRequest(prompt: p)], params: SamplingParams(maxNewTokens: 40))[0]
        XCTAssertTrue(full.text.contains("Lily"), full.text)
        let cut = try gen.generate([GenerationRequest(prompt: p)], params: SamplingParams(maxNewTokens: 40, stop: ["Lily"]))[0]
        XCTAssertEqual(cut.finishReason, .stop)
        XCTAssertFalse(cut.text.contains("Lily"))
        XCTAssertTrue(full.text.hasPrefix(cut.text))
        // logprob is the sum of log-softmax of the chosen tokens under the model.
        var seq = p
        var expected = 0.0
        for t in full.tokenIDs {
            let l = Array(try model.forward([seq], rows: .last).row(0))
            let m = l.max()!
            let z = l.reduce(0.0) { $0 + exp(Double($1 - m)) }
            expected += Double(l[t] - m) - log(z)
            seq.append(Int32(t))
        }
        XCTAssertEqual(full.logprob, expected, accuracy: 1e-3)
        XCTAssertLessThan(full.logprob, 0)
    }

    func testBadInputs() throws {
        let model = try TransformerModel.load(directory: Repo.tiny)
        let tok = try Tokenizer(directory: Repo.tiny)
        let gen = Generator(model: model, tokenizer: tok)
        let p = GenerationRequest(prompt: [1, 300])
        func expect(_ params: SamplingParams, _ req: GenerationRequest = GenerationRequest(prompt: [1, 300]), mentions: String) {
            XCTAssertThrowsError(try gen.generate([req], params: params)) { e in
                XCTAssertTrue("\(e)".contains(mentions), "'\(e)' should mention \(mentions)")
            }
        }
        expect(SamplingParams(temperature: -1), mentions: "temperature")
        expect(SamplingParams(topP: 0), mentions: "top-p")
        expect(SamplingParams(topP: 1.5), mentions: "top-p")
        expect(SamplingParams(topK: -2), mentions: "top-k")
        expect(SamplingParams(maxNewTokens: 0), mentions: "max-new-tokens")
        expect(SamplingParams(stop: [""]), mentions: "stop")
        expect(SamplingParams(), GenerationRequest(prompt: []), mentions: "empty")
        expect(SamplingParams(maxNewTokens: 100), GenerationRequest(prompt: [Int32](repeating: 5, count: 500)), mentions: "context")
        _ = p
    }

    /// Issue 14: every out-of-range sampling value is refused by name, whatever its kind (negative, NaN, infinite).
    func testSamplingValuesAreRefusedByName() throws {
        let model = try TransformerModel.load(directory: Repo.tiny)
        let gen = Generator(model: model, tokenizer: try Tokenizer(directory: Repo.tiny))
        func expect(_ params: SamplingParams, _ req: GenerationRequest = GenerationRequest(prompt: [1, 300]), mentions: String,
                    line: UInt = #line) {
            XCTAssertThrowsError(try gen.generate([req], params: params), line: line) { e in
                XCTAssertTrue("\(e)".contains(mentions), "'\(e)' should mention \(mentions)", line: line)
            }
        }
        for t in [-1e-9, -1, -Double.infinity, Double.infinity, Double.nan] { expect(SamplingParams(temperature: t), mentions: "temperature") }
        for p in [0, -0.5, 1.0000001, 2, Double.nan, Double.infinity, -Double.infinity] { expect(SamplingParams(topP: p), mentions: "top-p") }
        for k in [-1, -100, Int.min] { expect(SamplingParams(topK: k), mentions: "top-k") }
        for n in [0, -1, Int.min] { expect(SamplingParams(maxNewTokens: n), mentions: "max-new-tokens") }
        for s in [0, -1, -1000, Int.min] { expect(SamplingParams(), GenerationRequest(prompt: [1, 300], samples: s), mentions: "samples") }
        // More completions than one call can queue: refused before the queue is built (no hang, no allocation).
        for s in [Generator.maxSamples + 1, Int.max] { expect(SamplingParams(), GenerationRequest(prompt: [1, 300], samples: s), mentions: "samples") }
        let two = [GenerationRequest(prompt: [1, 300], samples: Int.max), GenerationRequest(prompt: [1, 300], samples: Int.max)]
        XCTAssertThrowsError(try gen.generate(two, params: SamplingParams()))
    }

    /// Issue 14: `isCancelled` (a streaming client that went away) stops decoding at the next step with
    /// GenerationError.cancelled, instead of decoding every remaining token for nobody; never asked: no change.
    func testCancelledGenerationStopsAtTheNextStep() throws {
        let model = try TransformerModel.load(directory: Repo.tiny)
        let gen = Generator(model: model, tokenizer: try Tokenizer(directory: Repo.tiny))
        let req = [GenerationRequest(prompt: [1, 300], samples: 3)]
        let params = SamplingParams(temperature: 0, maxNewTokens: 200, seed: 5)
        let plain = try gen.generate(req, params: params)
        var asked = 0
        let same = try gen.generate(req, params: params, isCancelled: { asked += 1; return false })
        XCTAssertEqual(same.map(\.tokenIDs), plain.map(\.tokenIDs))
        XCTAssertGreaterThan(asked, 1)
        for after in [0, 1, 5] {
            var tokens = 0, steps = 0
            XCTAssertThrowsError(try gen.generate(req, params: params, onToken: { _, _, _ in tokens += 1 },
                                                  isCancelled: { steps += 1; return steps > after })) { e in
                XCTAssertEqual(e as? GenerationError, .cancelled)
            }
            XCTAssertEqual(tokens, 3 * after, "tokens decoded after cancelling at step \(after)")
        }
    }

    /// Issue 14: a max-new-tokens so large that prompt length + max-new-tokens overflows Int gives the context error
    /// (before the fix: an overflow trap), for every huge value and every prompt length.
    func testHugeMaxNewTokensGivesTheContextError() throws {
        let model = try TransformerModel.load(directory: Repo.tiny)
        let gen = Generator(model: model, tokenizer: try Tokenizer(directory: Repo.tiny))
        let ctx = model.config.maxPositionEmbeddings
        for n in [Int.max, Int.max - 1, Int.max - 511, 1 << 62, ctx - 1, ctx] {
            for len in [1, 2, 511, 512] where n > ctx - len {
                XCTAssertThrowsError(try gen.generate([GenerationRequest(prompt: [Int32](repeating: 5, count: len))],
                                                      params: SamplingParams(maxNewTokens: n))) { e in
                    XCTAssertTrue("\(e)".contains("context"), "max-new-tokens \(n), prompt \(len): \(e)")
                }
            }
        }
        // The boundary is still usable: prompt + max-new-tokens == context.
        let out = try gen.generate([GenerationRequest(prompt: [Int32](repeating: 5, count: ctx - 2))], params: SamplingParams(maxNewTokens: 2))
        XCTAssertEqual(out.count, 1)
    }

    func testChatFormats() throws {
        let q = ChatFormat.qwen2.prompt(user: "Hi")
        XCTAssertEqual(q, "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        let qt = try Tokenizer(directory: Repo.shared.appendingPathComponent("models/qwen2.5-tokenizer"))
        XCTAssertEqual(ChatFormat.detect(qt), .qwen2)
        XCTAssertEqual(qt.encode(q).first, qt.tokenID("<|im_start|>"), "Qwen adds no BOS")
        let lt = try Tokenizer(directory: Repo.shared.appendingPathComponent("models/llama3-tokenizer"))
        XCTAssertEqual(ChatFormat.detect(lt), .llama3)
        let ids = lt.encode(ChatFormat.llama3.prompt(user: "Hi"))
        XCTAssertEqual(ids.first, 128000)
        XCTAssertEqual(ids.filter { $0 == 128000 }.count, 1, "exactly one BOS")
    }
}
