import Foundation
import SealCore
import XCTest
import SealGenerate
import SealKernels
import SealModel
import SealTokenizer

/// Answers of many adapters decoded in one batch, each row with its own adapter's LoRA delta, against each adapter
/// decoding alone. Greedy tokens must be the same; logits within 1e-5 of their row's largest |entry| (the base
/// products run over more rows together, and OpenBLAS's per-row sums depend on the row count).
final class MultiAdapterGenerateTests: XCTestCase {
    /// An adapter with every A and B entry drawn (B = 0 would make it the base model and the test vacuous).
    func adapter(_ model: TransformerModel, seed: UInt64, targets: [LoRATarget]) -> LoRAAdapter {
        let a = LoRAAdapter(modelConfig: model.config, config: LoRAConfig(rank: 4, alpha: 16, targets: targets))
        var rng = SplitMix64(seed: seed)
        for i in 0..<a.params.count { a.params.pointer[i] = Float(Double(rng.next() % 2001) / 1000 - 1) * 0.3 }
        return a
    }

    func testForwardCachedPerSegmentAdaptersEqualsEachAlone() throws {
        let model = try TransformerModel.load(directory: Repo.tiny)
        let adapters = (0..<3).map { adapter(model, seed: UInt64($0 + 1), targets: LoRATarget.allCases) }
        let prompts: [[Int32]] = [[5, 9, 12, 40, 7], [3, 3, 8], [100, 200, 300, 17], [22, 1]]
        let which: [LoRAAdapter?] = [adapters[0], adapters[1], nil, adapters[2]]
        let cache = KVCache(config: model.config, slots: prompts.count, capacity: 16)
        let together = try model.forwardCached(prompts.enumerated().map { ($1, $0) }, cache: cache, adapters: which)
        for (i, p) in prompts.enumerated() {
            let alone = try model.forwardCached([(p, 0)], cache: KVCache(config: model.config, slots: 1, capacity: 16), lora: which[i])
            let a = Array(alone.row(0)), b = Array(together.row(i))
            let scale = a.map { abs($0) }.max()!
            let worst = zip(a, b).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-5 * scale, "prompt \(i): max |Δ| \(worst), scale \(scale)")
        }
        // The adapters matter: an adapted row differs from the base model's.
        let base = try model.forwardCached([(prompts[0], 0)], cache: KVCache(config: model.config, slots: 1, capacity: 16))
        XCTAssertGreaterThan(zip(Array(base.row(0)), Array(together.row(0))).map { abs($0 - $1) }.max()!, 1e-2)
    }

    func testGreedyAnswersOfManyAdaptersInOneBatch() throws {
        let model = try TransformerModel.load(directory: Repo.tiny)
        let tok = try Tokenizer(directory: Repo.tiny)
        let adapters = (0..<4).map { adapter(model, seed: UInt64(10 + $0), targets: [.q, .v, .gate, .up, .down]) }
        let prompts = ["Once upon a time", "The little dog", "Lily wanted to", "One day, Tom"].map { tok.encode($0).map(Int32.init) }
        // Each adapter answers every prompt: 16 requests in one call, in slots of 6 (continuous batching mixes them).
        var requests: [GenerationRequest] = []
        for a in adapters { for p in prompts { requests.append(GenerationRequest(prompt: p, adapter: a)) } }
        let params = SamplingParams(temperature: 0, maxNewTokens: 12)
        let together = try Generator(model: model, tokenizer: tok, maxBatch: 6).generate(requests, params: params)
        var distinct = Set<[Int]>()
        for (ai, a) in adapters.enumerated() {
            let gen = Generator(model: model, tokenizer: tok, maxBatch: 1)
            gen.lora = a
            let alone = try gen.generate(prompts.map { GenerationRequest(prompt: $0) }, params: params)
            for (pi, c) in alone.enumerated() {
                let t = together[ai * prompts.count + pi]
                XCTAssertEqual(t.tokenIDs, c.tokenIDs, "adapter \(ai) prompt \(pi)")
                XCTAssertEqual(t.logprob, c.logprob, accuracy: 1e-3 * max(1, abs(c.logprob)), "adapter \(ai) prompt \(pi)")
                distinct.insert(c.tokenIDs)
            }
        }
        XCTAssertGreaterThan(distinct.count, prompts.count, "the adapters must change the answers for the test to mean anything")
    }
}
