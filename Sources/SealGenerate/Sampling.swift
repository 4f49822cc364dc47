import Foundation
import SealModel

/// How to choose each next token. Temperature 0 is greedy (argmax, first index on ties as torch.argmax).
public struct SamplingParams: Sendable, Equatable {
    public var temperature: Double = 0
    /// Nucleus sampling: keep the smallest set of top tokens whose probability reaches topP (1 = off).
    public var topP: Double = 1
    /// Keep the K most likely tokens (0 = off).
    public var topK: Int = 0
    public var maxNewTokens: Int = 64
    /// Generation stops when the decoded completion contains any of these; the text is cut before it.
    public var stop: [String] = []
    public var seed: UInt64 = 0

    public init(temperature: Double = 0, topP: Double = 1, topK: Int = 0, maxNewTokens: Int = 64,
                stop: [String] = [], seed: UInt64 = 0) {
        self.temperature = temperature; self.topP = topP; self.topK = topK
        self.maxNewTokens = maxNewTokens; self.stop = stop; self.seed = seed
    }

    /// Rejects values that have no meaning, with the flag's name in the message.
    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw GenerationError.invalid("temperature must be ≥ 0, got \(temperature)") }
        guard topP > 0, topP <= 1 else { throw GenerationError.invalid("top-p must be in (0, 1], got \(topP)") }
        guard topK >= 0 else { throw GenerationError.invalid("top-k must be ≥ 0, got \(topK)") }
        guard maxNewTokens >= 1 else { throw GenerationError.invalid("max-new-tokens must be ≥ 1, got \(maxNewTokens)") }
        if stop.contains("") { throw GenerationError.invalid("a stop string must not be empty") }
    }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String {
        switch self { case .invalid(let m): return m }
    }
}

/// Counter-based randomness for sampling: the uniform draw for step t of sample i of a prompt is a pure function of
/// (seed, prompt key, sample index, t). Batch size, the order prompts arrive in, and which MPI rank runs them
/// cannot change a sample: that is what makes runs rank-count invariant.
public struct SampleStream: Sendable {
    let rng: CounterRNG
    let stream: UInt64

    public init(seed: UInt64, promptKey: UInt64, sampleIndex: Int) {
        rng = CounterRNG(seed: seed)
        stream = CounterRNG.mix(promptKey ^ CounterRNG.mix(UInt64(sampleIndex) &+ 0x5EA1))
    }

    /// Uniform in [0, 1) for decoding step `step`.
    public func uniform(step: Int) -> Double { rng.uniform(stream: stream, index: UInt64(step)) }
}

/// A stable 64-bit key for a prompt (FNV-1a over its token ids): identical prompts share a key, so the same prompt
/// gets the same samples wherever it appears.
public func promptKey(_ tokens: [Int32]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for t in tokens {
        var v = UInt32(bitPattern: t)
        for _ in 0..<4 { h = (h ^ UInt64(v & 0xFF)) &* 0x100_0000_01B3; v >>= 8 }
    }
    return h
}

/// Picks the next token from one row of logits.
/// Returns the token and its log-probability under the model's own distribution (temperature 1, no truncation),
/// the quantity a ReSTEM analysis wants whatever the sampling settings.
public func sampleToken(logits: ArraySlice<Float>, params: SamplingParams, uniform: Double,
                        scratch: inout [Int]) -> (token: Int, logprob: Double) {
    let base = logits.startIndex
    let V = logits.count
    // log-softmax normaliser of the raw logits
    var m = -Float.infinity
    var best = 0
    for j in 0..<V where logits[base + j] > m { m = logits[base + j]; best = j }
    var z = 0.0
    for j in 0..<V { z += exp(Double(logits[base + j] - m)) }
    let logZ = Double(m) + log(z)
    if params.temperature == 0 {
        return (best, Double(logits[base + best]) - logZ)
    }
    // Candidates sorted by logit, descending (ties by id): top-k, then top-p, as transformers' warpers do.
    let T = params.temperature
    scratch.removeAll(keepingCapacity: true)
    scratch.append(contentsOf: 0..<V)
    let k = params.topK > 0 ? min(params.topK, V) : V
    if k < V || params.topP < 1 {
        scratch.sort { logits[base + $0] > logits[base + $1] || (logits[base + $0] == logits[base + $1] && $0 < $1) }
        if k < V {
            // Keep ties with the k-th value, as HF's `scores < topk[..., -1]` does.
            let kth = logits[base + scratch[k - 1]]
            var end = k
            while end < V && logits[base + scratch[end]] == kth { end += 1 }
            scratch.removeSubrange(end...)
        }
    }
    let mT = Double(logits[base + scratch[0]]) / T
    var probs = scratch.map { exp(Double(logits[base + $0]) / T - mT) }
    var total = probs.reduce(0, +)
    if params.topP < 1 {
        // Keep the smallest prefix whose mass reaches topP (at least one token).
        var cum = 0.0
        var keep = probs.count
        for (i, p) in probs.enumerated() {
            cum += p / total
            if cum >= params.topP { keep = i + 1; break }
        }
        probs.removeSubrange(keep...)
        scratch.removeSubrange(keep...)
        total = probs.reduce(0, +)
    }
    // Inverse CDF over the candidates in their fixed order.
    let target = uniform * total
    var acc = 0.0
    var chosen = scratch[scratch.count - 1]
    for (i, p) in probs.enumerated() {
        acc += p
        if target < acc { chosen = scratch[i]; break }
    }
    return (chosen, Double(logits[base + chosen]) - logZ)
}
