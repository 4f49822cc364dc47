import Foundation
import SealKernels
import SealModel
import SealTokenizer

/// One prompt to complete `samples` times.
public struct GenerationRequest: Sendable {
    public var prompt: [Int32]
    /// Identity of the prompt for the random streams (default: a hash of its tokens). The engine passes a key
    /// derived from the context id so that a context samples the same self-edits on any rank.
    public var key: UInt64
    public var samples: Int
    /// What every sample of this prompt may contain (nil: anything, the model's own distribution).
    public var constraint: (any DecodingConstraint)?
    /// The LoRA adapter this prompt is answered with (nil: the generator's `lora`). Requests with different
    /// adapters decode in one batch over the frozen base, each row with its own adapter's delta (the answers of
    /// many inner loops at once); the adapters of one call must share rank and targets.
    public var adapter: LoRAAdapter?

    public init(prompt: [Int32], samples: Int = 1, key: UInt64? = nil, constraint: (any DecodingConstraint)? = nil,
                adapter: LoRAAdapter? = nil) {
        self.prompt = prompt
        self.samples = samples
        self.key = key ?? promptKey(prompt)
        self.constraint = constraint
        self.adapter = adapter
    }
}

public enum FinishReason: String, Sendable { case eos, stop, length }

public struct Completion: Sendable {
    public var promptIndex: Int
    public var sampleIndex: Int
    /// New tokens only; includes the EOS token when generation ended on one.
    public var tokenIDs: [Int]
    /// The completion's text: EOS excluded, cut before a stop string.
    public var text: String
    public var finishReason: FinishReason
    /// Sum of log p(token) under the model's own distribution (temperature 1, no truncation).
    public var logprob: Double
}

/// Batched, KV-cached generation with continuous batching: up to `maxBatch` sequences decode together; when one
/// finishes, its cache slot takes the next waiting (prompt, sample) at once.
public final class Generator: @unchecked Sendable {
    public let model: TransformerModel
    public let tokenizer: Tokenizer
    public let maxBatch: Int
    /// Token ids that end a completion: the model's EOS ids (config.json and generation_config.json).
    public var eosTokenIDs: Set<Int>
    /// A LoRA adapter applied on top of the model (unmerged), or nil.
    public var lora: LoRAAdapter?
    private let workspace = ForwardWorkspace()

    /// The most completions one `generate` call makes (prompts × samples).
    public static let maxSamples = 1 << 24

    public init(model: TransformerModel, tokenizer: Tokenizer, maxBatch: Int = 16) {
        self.model = model
        self.tokenizer = tokenizer
        self.maxBatch = max(1, maxBatch)
        self.eosTokenIDs = Set(model.eosTokenIDs)
    }

    private struct Active {
        var promptIndex: Int
        var sampleIndex: Int
        var stream: SampleStream
        var tokens: [Int] = []
        var logprob = 0.0
        var pending: Int32 = 0
        /// Where the sample stands in its request's constraint (nil: unconstrained).
        var cursor: ConstraintCursor?
    }

    /// Completes every request `samples` times. Results come back ordered by (prompt index, sample index),
    /// whatever order they finished in. `onToken`, when given, is called on the calling thread after each new
    /// token of a sample with (prompt index, sample index, the sample's tokens so far, EOS included): for streaming.
    /// `isCancelled`, when given, is asked before each decoding step; true ends the call with `GenerationError.cancelled`.
    public func generate(_ requests: [GenerationRequest], params: SamplingParams,
                         onToken: ((_ promptIndex: Int, _ sampleIndex: Int, _ tokenIDs: [Int]) -> Void)? = nil,
                         isCancelled: (() -> Bool)? = nil) throws -> [Completion] {
        try params.validate()
        var total = 0
        for (i, r) in requests.enumerated() {
            if r.prompt.isEmpty { throw GenerationError.invalid("prompt \(i) is empty (no tokens)") }
            if r.samples < 1 { throw GenerationError.invalid("prompt \(i): samples must be ≥ 1, got \(r.samples)") }
            // Each (prompt, sample) waits in a queue: bound the total before it is built.
            total = r.samples > Self.maxSamples - total ? Self.maxSamples + 1 : total + r.samples
            if total > Self.maxSamples {
                throw GenerationError.invalid("prompt \(i): samples \(r.samples) brings the total past \(Self.maxSamples) completions in one call")
            }
            // Written as a subtraction: prompt + max-new-tokens may overflow Int (max-new-tokens 2^63-1).
            if params.maxNewTokens > model.config.maxPositionEmbeddings - r.prompt.count {
                throw GenerationError.invalid("prompt \(i) has \(r.prompt.count) tokens; with max-new-tokens \(params.maxNewTokens) it exceeds the model's context of \(model.config.maxPositionEmbeddings) (shorten the prompt or lower max-new-tokens)")
            }
        }
        try model.validate(requests.map(\.prompt))
        var queue: [(Int, Int)] = []
        for (i, r) in requests.enumerated() { for s in 0..<r.samples { queue.append((i, s)) } }
        queue.reverse()  // pop from the end in (prompt, sample) order
        let longest = requests.map(\.prompt.count).max() ?? 0
        let slots = min(maxBatch, queue.count)
        if slots == 0 { return [] }
        let cache = KVCache(config: model.config, slots: slots, capacity: longest + params.maxNewTokens)
        var active = [Active?](repeating: nil, count: slots)
        var done: [Completion] = []
        var sampler = Sampler()
        var samplers = [Sampler](repeating: Sampler(), count: max(1, Parallel.threads))
        // Constrained samples: the allowed ids of the current step (reused), and EOS ids in a fixed order.
        var allowed: [Int32] = []
        allowed.reserveCapacity(1024)
        let eosIDs = eosTokenIDs.sorted().map(Int32.init)

        while true {
            if let isCancelled, isCancelled() { throw GenerationError.cancelled }
            // Fill free slots with waiting samples: their prompts are prefilled in the same pass as the others'
            // next token. Samples of one prompt starting together share one prefill: the prompt runs once in the
            // first slot, and its keys and values are copied into the others' slots after the pass.
            var segments: [(tokens: [Int32], slot: Int)] = []
            var adapters: [LoRAAdapter?] = []
            var rowOfSlot: [Int: Int] = [:]
            var prefillSlotOfPrompt: [Int: Int] = [:]
            var clones: [(slot: Int, source: Int)] = []
            for slot in 0..<slots {
                if active[slot] == nil, let (p, s) = queue.popLast() {
                    cache.reset(slot: slot)
                    active[slot] = Active(promptIndex: p, sampleIndex: s,
                                          stream: SampleStream(seed: params.seed, promptKey: requests[p].key, sampleIndex: s),
                                          cursor: requests[p].constraint?.makeCursor())
                    if let source = prefillSlotOfPrompt[p] {
                        clones.append((slot, source))
                    } else {
                        prefillSlotOfPrompt[p] = slot
                        rowOfSlot[slot] = segments.count
                        segments.append((requests[p].prompt, slot))
                        adapters.append(requests[p].adapter ?? lora)
                    }
                } else if let a = active[slot] {
                    rowOfSlot[slot] = segments.count
                    segments.append(([a.pending], slot))
                    adapters.append(requests[a.promptIndex].adapter ?? lora)
                }
            }
            if segments.isEmpty { break }
            let logits = try model.forwardCached(segments, cache: cache, adapters: adapters, workspace: workspace)
            for (slot, source) in clones {
                cache.copy(from: source, to: slot)
                rowOfSlot[slot] = rowOfSlot[source]
            }
            // Unconstrained draws first, rows split between threads (one sampler each): a draw depends only on its
            // row of logits and its own counter-based uniform, so the split changes nothing but the time. Over a
            // 152k vocabulary with top-p a draw is ~1 ms; 40 of them a step on one thread idled the others.
            let order = rowOfSlot.keys.sorted()
            let free = order.filter { active[$0]!.cursor == nil }
            var drawn = [(token: Int, logprob: Double)](repeating: (0, 0), count: free.count)
            let parts = max(1, min(samplers.count, free.count))
            drawn.withUnsafeMutableBufferPointer { out in
                samplers.withUnsafeMutableBufferPointer { sp in
                    Parallel.forEach(parts) { c in
                        for i in free.count * c / parts ..< free.count * (c + 1) / parts {
                            let a = active[free[i]]!
                            out[i] = sp[c].sample(logits: logits.row(rowOfSlot[free[i]]!), params: params,
                                                  uniform: a.stream.uniform(step: a.tokens.count))
                        }
                    }
                }
            }
            var nextDrawn = 0
            for slot in order {
                let row = rowOfSlot[slot]!
                var a = active[slot]!
                let tok: Int, lp: Double
                if let cursor = a.cursor {
                    allowed.removeAll(keepingCapacity: true)
                    cursor.allowedTokens(remaining: params.maxNewTokens - a.tokens.count, into: &allowed)
                    if cursor.isComplete { allowed.append(contentsOf: eosIDs) }
                    if allowed.isEmpty {
                        throw GenerationError.invalid("prompt \(a.promptIndex) sample \(a.sampleIndex): the decoding constraint allows no token after \(a.tokens.count) new tokens"
                            + (cursor.isComplete ? " (the text is complete, but the model has no EOS token to end it)" : ""))
                    }
                    (tok, lp) = sampler.sample(logits: logits.row(row), params: params,
                                               uniform: a.stream.uniform(step: a.tokens.count), among: allowed)
                    if !eosTokenIDs.contains(tok) { cursor.advance(token: tok) }
                } else {
                    (tok, lp) = drawn[nextDrawn]
                    nextDrawn += 1
                }
                a.tokens.append(tok)
                a.logprob += lp
                a.pending = Int32(tok)
                onToken?(a.promptIndex, a.sampleIndex, a.tokens)
                var reason: FinishReason? = nil
                var text: String? = nil
                if eosTokenIDs.contains(tok) {
                    reason = .eos
                } else if !params.stop.isEmpty {
                    let t = tokenizer.decode(a.tokens)
                    if let cut = params.stop.compactMap({ t.range(of: $0)?.lowerBound }).min() {
                        reason = .stop
                        text = String(t[..<cut])
                    }
                }
                if reason == nil && a.tokens.count >= params.maxNewTokens { reason = .length }
                if let reason {
                    let body = reason == .eos ? Array(a.tokens.dropLast()) : a.tokens
                    done.append(Completion(promptIndex: a.promptIndex, sampleIndex: a.sampleIndex, tokenIDs: a.tokens,
                                           text: text ?? tokenizer.decode(body), finishReason: reason, logprob: a.logprob))
                    active[slot] = nil
                } else {
                    active[slot] = a
                }
            }
        }
        return done.sorted { ($0.promptIndex, $0.sampleIndex) < ($1.promptIndex, $1.sampleIndex) }
    }
}
