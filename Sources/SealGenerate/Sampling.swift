import Foundation
import SealCore
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
    /// The caller's `isCancelled` said stop (a streaming client went away).
    case cancelled
    public var description: String {
        switch self {
        case .invalid(let m): return m
        case .cancelled: return "generation cancelled"
        }
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
    // Each id's four bytes, least significant first.
    fnv1a64(tokens.lazy.flatMap { t in (0..<4).lazy.map { UInt8(truncatingIfNeeded: UInt32(bitPattern: t) >> (8 * $0)) } })
}

/// Picks next tokens from rows of logits; holds the scratch buffers so that sampling allocates nothing per token.
public struct Sampler {
    private var order: [Int] = []
    private var probs: [Float] = []
    private var shifted: [Float] = []
    /// The allowed tokens' logits of a constrained step, packed.
    private var packed: [Float] = []
    /// Probability mass and token count per float exponent (top-p).
    private var bucketMass: [Double] = [], bucketCount: [Int] = []

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
        if k == V { return topP(params.topP, vocabulary: V, total: total, uniform: uniform, logprob: logprob) }
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

    /// Top-p alone over `probs[0..<V]` (total mass `total`): the smallest most-likely set reaching `topP · total`
    /// (ties by id, at least one token), then an inverse-CDF draw over it in id order — the general path's result,
    /// found without id lists or a sort.
    ///
    /// A radix select on the probabilities' bit patterns (for positive floats their order is the values' order):
    /// 8 bits at a time from the top (exponent, then mantissa), a histogram of mass per digit finds the digit where
    /// the remaining mass is crossed; higher digits are kept, lower ones dropped, and only the crossing digit's
    /// tokens go on to the next 8 bits. What is left at the end are equal probabilities, taken in id order. The
    /// kept set is then "bits above a threshold, or equal to it with id ≤ a last id": one comparison per token.
    /// Why: with a flat distribution (random weights, or a high temperature) one exponent bucket holds tens of
    /// thousands of tokens, and sorting them took more time than the model's forward pass for the row.
    private mutating func topP(_ topP: Double, vocabulary vocab: Int, total: Double, uniform: Double,
                               logprob: (Int) -> Double) -> (token: Int, logprob: Double) {
        if bucketMass.isEmpty { bucketMass = [Double](repeating: 0, count: 256); bucketCount = [Int](repeating: 0, count: 256) }
        return bucketMass.withUnsafeMutableBufferPointer { bucketMass in
        bucketCount.withUnsafeMutableBufferPointer { bucketCount in
        probs.withUnsafeBufferPointer { pr -> (token: Int, logprob: Double) in
            let mass = topP * total
            var m = 0.0                  // mass of the tokens kept so far
            var keptCount = 0
            var threshold: UInt32 = 0    // bit pattern: tokens above are kept
            var lastID = -1              // tokens equal to `threshold` with id ≤ lastID are kept too
            var prefix: UInt32 = 0       // bits fixed so far (candidates share them)
            var crossed = true
            order.removeAll(keepingCapacity: true)
            for (level, shift) in [UInt32(23), 15, 7, 0].enumerated() {
                let width: UInt32 = shift == 0 ? 0x7F : 0xFF
                for e in 0..<256 { bucketMass[e] = 0; bucketCount[e] = 0 }
                if level == 0 {
                    for j in 0..<vocab {
                        let e = Int((pr[j].bitPattern >> 23) & 0xFF)
                        bucketMass[e] += Double(pr[j]); bucketCount[e] += 1
                    }
                } else {
                    for j in order {
                        let e = Int((pr[j].bitPattern >> shift) & width)
                        bucketMass[e] += Double(pr[j]); bucketCount[e] += 1
                    }
                }
                var digit = -1
                for e in stride(from: Int(width), through: 0, by: -1) where bucketCount[e] > 0 {
                    if m + bucketMass[e] >= mass { digit = e; break }
                    m += bucketMass[e]; keptCount += bucketCount[e]
                }
                if digit < 0 { crossed = false; break }  // rounding: every candidate fits; all are kept
                prefix |= UInt32(digit) << shift
                // The crossing digit's tokens, in id order, go on to the next digit.
                if level == 0 {
                    for j in 0..<vocab where Int((pr[j].bitPattern >> 23) & 0xFF) == digit { order.append(j) }
                } else {
                    var w = 0
                    for i in 0..<order.count where Int((pr[order[i]].bitPattern >> shift) & width) == digit { order[w] = order[i]; w += 1 }
                    order.removeLast(order.count - w)
                }
            }
            if crossed {
                // `order` holds tokens of one probability, in id order: take them while the mass is short (at
                // least one token in all).
                threshold = prefix
                var taken = 0
                while taken < order.count && (m < mass || keptCount + taken == 0) { m += Double(pr[order[taken]]); taken += 1 }
                lastID = taken > 0 ? order[taken - 1] : -1
            } else {
                // Keep everything at or above the bits fixed so far (the candidates of the level that ran out).
                threshold = prefix
                lastID = Int.max
                if order.isEmpty { threshold = 0 }
            }
            @inline(__always) func kept(_ j: Int) -> Bool {
                let b = pr[j].bitPattern
                return b > threshold || (b == threshold && j <= lastID)
            }
            var keptMass = 0.0, lastKept = -1
            for j in 0..<vocab where kept(j) { keptMass += Double(pr[j]); lastKept = j }
            let target = uniform * keptMass
            var acc = 0.0
            for j in 0..<vocab where kept(j) {
                acc += Double(pr[j])
                if target < acc { return (j, logprob(j)) }
            }
            return (lastKept, logprob(lastKept))
        }
        }
        }
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
