import Foundation
import SealKernels
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

/// Picks next tokens from rows of logits; holds the scratch buffers so that sampling allocates nothing per token.
public struct Sampler {
    private var order: [Int] = []
    private var probs: [Float] = []
    private var shifted: [Float] = []
    /// The allowed tokens' logits of a constrained step, packed.
    private var packed: [Float] = []

    public init() {}

    /// Samples among `allowed` ids only (a constrained step): the other tokens get probability exactly 0, and
    /// temperature, top-k and top-p act on the allowed tokens, as transformers' warpers do after a logits mask.
    /// The draw runs over the allowed tokens in the order given. The log-probability returned is still the
    /// token's under the model's own, unconstrained distribution (temperature 1, no truncation).
    ///
    /// Why packed rather than a −inf mask: seal's vectorised exp clamps its input at −87, so a masked token would
    /// keep a probability of ~1e-38 relative to the best, tiny but not zero; packing also makes the step's
    /// sampling cost O(allowed) instead of O(vocabulary).
    public mutating func sample(logits: ArraySlice<Float>, params: SamplingParams, uniform: Double, among allowed: [Int32]) -> (token: Int, logprob: Double) {
        precondition(!allowed.isEmpty, "a constrained step needs at least one allowed token")
        let n = allowed.count
        if packed.count < n { packed = [Float](repeating: 0, count: max(n, 2 * packed.count)) }
        let base = logits.startIndex
        packed.withUnsafeMutableBufferPointer { pk in
            logits.withUnsafeBufferPointer { l in
                for i in 0..<n { pk[i] = l[Int(allowed[i])] }
            }
        }
        let (j, _) = sample(logits: packed[0..<n], params: params, uniform: uniform)
        let token = Int(allowed[j])
        let logZ = logits.withUnsafeBufferPointer { l -> Double in
            var lse = 0.0
            logSumExpRows(&lse, l.baseAddress!, N: 1, V: logits.count)
            return lse
        }
        return (token, Double(logits[base + token]) - logZ)
    }

    /// Returns the token and its log-probability under the model's own distribution (temperature 1, no
    /// truncation), the quantity a ReSTEM analysis wants whatever the sampling settings.
    ///
    /// Sampling follows transformers' warpers in their order: temperature, top-k (ties with the k-th logit kept),
    /// top-p (the smallest most-likely prefix reaching the mass, at least one token); then an inverse-CDF draw
    /// over the kept tokens, ordered by logit (ties by id), with the caller's uniform number.
    public mutating func sample(logits: ArraySlice<Float>, params: SamplingParams, uniform: Double) -> (token: Int, logprob: Double) {
        let V = logits.count
        // Grown, never shrunk: constrained steps sample over fewer tokens than the vocabulary.
        if shifted.count < V { shifted = [Float](repeating: 0, count: V); probs = shifted }
        var m = -Float.infinity
        var best = 0
        logits.withUnsafeBufferPointer { l in
            for j in 0..<V where l[j] > m { m = l[j]; best = j }
        }
        let logZ = logits.withUnsafeBufferPointer { l -> Double in
            var lse = 0.0
            logSumExpRows(&lse, l.baseAddress!, N: 1, V: V)
            return lse
        }
        func logprob(_ t: Int) -> Double { Double(logits[logits.startIndex + t]) - logZ }
        if params.temperature == 0 { return (best, logprob(best)) }

        // p_j = exp((l_j - max) / T), relative to the most likely token (in (0, 1]).
        let invT = Float(1 / params.temperature)
        var total = 0.0
        logits.withUnsafeBufferPointer { l in
            shifted.withUnsafeMutableBufferPointer { sh in
                probs.withUnsafeMutableBufferPointer { pr in
                    for j in 0..<V { sh[j] = (l[j] - m) * invT }
                    vectorExp(pr.baseAddress!, sh.baseAddress!, count: V)
                    var acc = SIMD8<Double>()
                    var j = 0
                    while j + 8 <= V {
                        for q in 0..<8 { acc[q] += Double(pr[j + q]) }
                        j += 8
                    }
                    total = acc.sum()
                    while j < V { total += Double(pr[j]); j += 1 }
                }
            }
        }
        let k = params.topK > 0 ? min(params.topK, V) : V
        order.removeAll(keepingCapacity: true)
        if k == V && params.topP >= 1 {
            // No truncation: draw over the whole vocabulary in id order.
            let target = uniform * total
            var acc = 0.0
            for j in 0..<V {
                acc += Double(probs[j])
                if target < acc { return (j, logprob(j)) }
            }
            return (best, logprob(best))
        }
        // Which tokens survive top-k and top-p depends only on their probabilities' order, and the probabilities
        // relative to the max lie in (0, 1]: bucketing them by float exponent (one pass) finds the bucket where the
        // kept count (top-k) or mass (top-p) is crossed; every token in higher buckets is kept, and only the
        // boundary bucket is sorted (by probability, ties by id, as a full sort would order them). The draw then
        // runs over the kept tokens in id order, a fixed order that does not change the distribution.
        order.removeAll(keepingCapacity: true)
        probs.withUnsafeBufferPointer { pr in
            var candidates = Array(0..<V)
            if k < V { candidates = Self.head(pr, candidates, count: k, mass: nil) }
            if params.topP < 1 {
                var mass = 0.0
                for j in candidates { mass += Double(pr[j]) }
                candidates = Self.head(pr, candidates, count: nil, mass: params.topP * mass)
            }
            order = candidates.sorted()
        }
        var kept = 0.0
        for j in order { kept += Double(probs[j]) }
        let target = uniform * kept
        var acc = 0.0
        for j in order {
            acc += Double(probs[j])
            if target < acc { return (j, logprob(j)) }
        }
        return (order[order.count - 1], logprob(order[order.count - 1]))
    }

    /// The most likely members of `ids` (probabilities `p`): the first `count` (plus any tied with the last), or the
    /// smallest most-likely prefix whose mass reaches `mass` (at least one), by exponent buckets (see `sample`).
    static func head(_ p: UnsafeBufferPointer<Float>, _ ids: [Int], count: Int?, mass: Double?) -> [Int] {
        var bucketMass = [Double](repeating: 0, count: 256)
        var bucketCount = [Int](repeating: 0, count: 256)
        for j in ids {
            let e = Int((p[j].bitPattern >> 23) & 0xFF)
            bucketMass[e] += Double(p[j]); bucketCount[e] += 1
        }
        var cumMass = 0.0, cumCount = 0
        var boundary = 0
        for e in stride(from: 255, through: 0, by: -1) {
            let crossed = count.map { cumCount + bucketCount[e] >= $0 } ?? (cumMass + bucketMass[e] >= mass!)
            if crossed { boundary = e; break }
            cumMass += bucketMass[e]; cumCount += bucketCount[e]
        }
        var out: [Int] = [], edge: [Int] = []
        for j in ids {
            let e = Int((p[j].bitPattern >> 23) & 0xFF)
            if e > boundary { out.append(j) } else if e == boundary { edge.append(j) }
        }
        edge.sort { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
        var i = 0
        if let count {
            var need = count - out.count
            while need > 0 && i < edge.count { out.append(edge[i]); i += 1; need -= 1 }
            // Keep ties with the k-th value, as transformers' `scores < topk[..., -1]` does.
            while i < edge.count && i > 0 && p[edge[i]] == p[edge[i - 1]] { out.append(edge[i]); i += 1 }
        } else if let mass {
            var m = cumMass
            while i < edge.count && (m < mass || out.isEmpty) { m += Double(p[edge[i]]); out.append(edge[i]); i += 1 }
        }
        return out
    }
}
