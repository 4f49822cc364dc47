import Foundation
import CSealKernels
import SealCore
import SealKernels

/// A Llama/Qwen2 decoder whose parameters live in one contiguous float32 buffer.
///
/// The forward pass takes a batch of sequences of different lengths. HF runs such a batch right-padded with an
/// attention mask; the logits at real positions do not depend on the padding, so seal packs the sequences end to
/// end instead (no FLOPs spent on padding): every matrix product runs over all tokens of the batch at once, and
/// attention runs per sequence with the causal mask.
public final class TransformerModel: @unchecked Sendable {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public let params: FloatBuffer
    /// Rotary inverse frequencies [headDim/2], computed once as transformers does.
    public let invFreq: [Float]
    /// What the checkpoint held on disk (nil for a model built in memory).
    public internal(set) var checkpoint: CheckpointInfo?
    /// `eos_token_id` of generation_config.json, which may list more ids than config.json.
    public internal(set) var generationEOSTokenIDs: [Int] = []

    /// A zero-initialised model of the given shape.
    public convenience init(config: ModelConfig) {
        self.init(config: config, layout: ParameterLayout(config: config))
    }

    /// A zero-initialised model over a layout already built (and checked) from `config`.
    init(config: ModelConfig, layout: ParameterLayout) {
        self.config = config
        self.layout = layout
        self.params = FloatBuffer(count: layout.count)
        self.invFreq = config.ropeInverseFrequencies()
    }

    /// Every id that ends generation: config.json's and generation_config.json's.
    public var eosTokenIDs: [Int] {
        var ids = config.eosTokenIDs
        for e in generationEOSTokenIDs where !ids.contains(e) { ids.append(e) }
        return ids
    }

    /// Number of distinct parameters (a tied head counted once).
    public var parameterCount: Int { layout.count }

    /// A pointer to the named tensor's first element.
    public func tensor(_ name: String) -> UnsafeMutablePointer<Float>? {
        if name == "lm_head.weight" && config.tieWordEmbeddings { return params.pointer + layout.lmHead }
        return layout.entry(name).map { params.pointer + $0.offset }
    }

    /// Which rows of logits a forward pass returns.
    public enum LogitRows: Sendable {
        /// Every position of every sequence.
        case all
        /// The last position of each sequence (the next-token distribution).
        case last
    }

    /// Logits of a forward pass: `rows × vocab` floats, row-major; `rowStart[s]` is the first row of sequence s.
    public struct Logits: Sendable {
        public var values: [Float]
        public var vocab: Int
        public var rowStart: [Int]
        public var rowCount: [Int]

        public func row(_ r: Int) -> ArraySlice<Float> { values[(r * vocab)..<((r + 1) * vocab)] }
        public func row(sequence s: Int, position t: Int) -> ArraySlice<Float> { row(rowStart[s] + t) }
    }

    /// Checks token ids and lengths before any work (a bad id would index outside the embedding table).
    public func validate(_ sequences: [[Int32]]) throws {
        for (s, seq) in sequences.enumerated() {
            if seq.count > config.maxPositionEmbeddings {
                throw ModelError.invalidInput("sequence \(s) has \(seq.count) tokens, more than the model's max_position_embeddings \(config.maxPositionEmbeddings)")
            }
            for t in seq where t < 0 || Int(t) >= config.vocabSize {
                throw ModelError.invalidInput("sequence \(s) contains token id \(t), outside the vocabulary 0..<\(config.vocabSize)")
            }
        }
    }

    /// The forward pass over a batch of sequences → logits.
    public func forward(_ sequences: [[Int32]], rows: LogitRows = .all, lora: LoRAAdapter? = nil,
                        workspace: ForwardWorkspace? = nil) throws -> Logits {
        try validate(sequences)
        let ws = workspace ?? ForwardWorkspace()
        let N = sequences.reduce(0) { $0 + $1.count }
        let maxL = sequences.map(\.count).max() ?? 0
        ws.reserve(config: config, tokens: N, attention: maxL * maxL)
        if let lora { ws.reserveLoRA(tokens: N, rank: lora.config.rank) }
        var starts: [Int] = []
        var t = 0
        for seq in sequences {
            starts.append(t)
            for (i, tok) in seq.enumerated() { ws.tokens[t] = tok; ws.positions[t] = Int32(i); t += 1 }
        }
        hiddenStates(ws, N: N, sequenceStarts: starts, lengths: sequences.map(\.count), loras: LoRASpan.whole(lora, N))

        let V = config.vocabSize, D = config.hiddenSize
        var rowStart: [Int] = [], rowCount: [Int] = []
        var selected: [Int] = []
        switch rows {
        case .all:
            for (s, seq) in sequences.enumerated() { rowStart.append(selected.count); rowCount.append(seq.count); selected += (0..<seq.count).map { starts[s] + $0 } }
        case .last:
            for (s, seq) in sequences.enumerated() { rowStart.append(selected.count); rowCount.append(seq.isEmpty ? 0 : 1); if !seq.isEmpty { selected.append(starts[s] + seq.count - 1) } }
        }
        let head = ConstFloatPtr(params.pointer + layout.lmHead)
        // Every element is written by the head's sgemm (beta = 0): no need to zero hundreds of MB first.
        let values = [Float](unsafeUninitializedCapacity: selected.count * V) { out, initialized in
            if case .all = rows {
                linearForward(out.baseAddress!, ws.xn, head, nil, N: N, inDim: D, outDim: V)
            } else {
                // Gather the selected rows first so the head runs one matrix product.
                for (i, r) in selected.enumerated() { (ws.x + i * D).update(from: ws.xn + r * D, count: D) }
                linearForward(out.baseAddress!, ws.x, head, nil, N: selected.count, inDim: D, outDim: V)
            }
            initialized = selected.count * V
        }
        return Logits(values: values, vocab: V, rowStart: rowStart, rowCount: rowCount)
    }

    /// Appends `segments[i].tokens` to KV-cache slot `segments[i].slot` (which holds `cache.length(slot)` positions
    /// already) and returns each segment's last-position logits. One call serves prefill (a whole prompt), decode
    /// (one token per sequence) and any mix of the two, in one batched pass.
    public func forwardCached(_ segments: [(tokens: [Int32], slot: Int)], cache: KVCache, lora: LoRAAdapter? = nil,
                              workspace: ForwardWorkspace? = nil) throws -> Logits {
        try forwardCached(segments, cache: cache, adapters: [LoRAAdapter?](repeating: lora, count: segments.count),
                          workspace: workspace)
    }

    /// `forwardCached` where segment i is adapted by `adapters[i]` (nil: the base model): the answers of many
    /// inner loops decoded in one batch over the frozen base, each row with its own adapter's LoRA delta. The
    /// adapters must share rank and targets.
    public func forwardCached(_ segments: [(tokens: [Int32], slot: Int)], cache: KVCache, adapters: [LoRAAdapter?],
                              workspace: ForwardWorkspace? = nil) throws -> Logits {
        try validate(segments.map(\.tokens))
        guard adapters.count == segments.count else {
            throw ModelError.invalidInput("\(adapters.count) adapters for \(segments.count) segments")
        }
        let spans = try LoRASpan.spans(adapters, lengths: segments.map(\.tokens.count))
        let ws = workspace ?? ForwardWorkspace()
        let N = segments.reduce(0) { $0 + $1.tokens.count }
        var maxAttn = 1
        var starts: [Int] = [], past: [Int] = []
        var t = 0
        for seg in segments {
            let p = cache.length(slot: seg.slot)
            if p + seg.tokens.count > cache.capacity {
                throw ModelError.invalidInput("KV cache slot \(seg.slot) would hold \(p + seg.tokens.count) positions, more than its capacity \(cache.capacity)")
            }
            if p + seg.tokens.count > config.maxPositionEmbeddings {
                throw ModelError.invalidInput("sequence would reach position \(p + seg.tokens.count), past max_position_embeddings \(config.maxPositionEmbeddings)")
            }
            starts.append(t); past.append(p)
            maxAttn = max(maxAttn, seg.tokens.count * (p + seg.tokens.count))
            t += seg.tokens.count
        }
        ws.reserve(config: config, tokens: N, attention: maxAttn)
        if let a = spans.first?.adapter { ws.reserveLoRA(tokens: N, rank: a.config.rank) }
        t = 0
        for seg in segments {
            let p = cache.length(slot: seg.slot)
            for (i, tok) in seg.tokens.enumerated() { ws.tokens[t] = tok; ws.positions[t] = Int32(p + i); t += 1 }
        }
        hiddenStates(ws, N: N, sequenceStarts: starts, lengths: segments.map(\.tokens.count),
                     cache: cache, slots: segments.map(\.slot), past: past, loras: spans)
        for seg in segments { cache.setLength(slot: seg.slot, cache.length(slot: seg.slot) + seg.tokens.count) }
        let D = config.hiddenSize, V = config.vocabSize
        var rowStart: [Int] = [], rowCount: [Int] = []
        var r = 0
        for (s, seg) in segments.enumerated() where !seg.tokens.isEmpty {
            (ws.x + r * D).update(from: ws.xn + (starts[s] + seg.tokens.count - 1) * D, count: D)
            r += 1
        }
        for seg in segments {
            rowStart.append(rowStart.isEmpty ? 0 : rowStart[rowStart.count - 1] + rowCount[rowCount.count - 1])
            rowCount.append(seg.tokens.isEmpty ? 0 : 1)
        }
        let head = ConstFloatPtr(params.pointer + layout.lmHead)
        let values = [Float](unsafeUninitializedCapacity: r * V) { out, n in
            linearForward(out.baseAddress!, ws.x, head, nil, N: r, inDim: D, outDim: V)
            n = r * V
        }
        return Logits(values: values, vocab: V, rowStart: rowStart, rowCount: rowCount)
    }

    /// Runs the decoder stack over the packed tokens in `ws.tokens`/`ws.positions`; leaves the final-normed hidden
    /// states in `ws.xn[N, D]`. With a KV cache, sequence s continues cache slot `slots[s]`, which already holds
    /// `past[s]` positions: its new keys and values are appended there and its queries attend to all of them.
    /// Each LoRA span adds its adapter's low-rank updates to the adapted projections of its rows (rows in no span
    /// see the base model; spans must not overlap and their adapters share rank and targets). With an activation
    /// store, every activation backward needs is kept there (training); otherwise the workspace's scratch is reused.
    func hiddenStates(_ ws: ForwardWorkspace, N: Int, sequenceStarts: [Int], lengths: [Int],
                      cache: KVCache? = nil, slots: [Int] = [], past: [Int] = [],
                      loras: [LoRASpan] = [], store: ActivationStore? = nil) {
        let c = config
        let D = c.hiddenSize, I = c.intermediateSize, hd = c.headDim
        let P = params.pointer
        let eps = Float(c.rmsNormEps)
        func opt(_ o: Int?) -> ConstFloatPtr? { o.map { ConstFloatPtr(P + $0) } }

        embeddingForward(ws.x, tokens: ws.tokens, table: P + layout.embed, N: N, D: D)
        invFreq.withUnsafeBufferPointer { inv in
            ropeTables(cos: ws.cos, sin: ws.sin, positions: ws.positions, invFreq: inv.baseAddress!, N: N, half: hd / 2)
        }
        /// y = x Wᵀ + b over all rows (one product), plus each span's LoRA update of (layer, target) on its rows.
        func project(_ y: FloatPtr, _ x: ConstFloatPtr, _ w: Int, _ bias: Int?, _ l: Int, _ t: LoRATarget,
                     inDim: Int, outDim: Int, accumulate: Bool = false) {
            linearForward(y, x, P + w, opt(bias), N: N, inDim: inDim, outDim: outDim, accumulate: accumulate)
            for span in loras {
                guard let m = span.adapter.module(layer: l, target: t) else { continue }
                let u = store?.loraU(layer: l, target: t) ?? ws.loraU!
                loraForward(y + span.start * outDim, x + span.start * inDim, lora: span.adapter, m, N: span.count,
                            u: u + span.start * span.adapter.config.rank)
            }
        }
        for (li, L) in layout.layers.enumerated() {
            let a = store?.layer(li)
            // Attention block: x += o_proj(attn(rope(q), rope(k), v)) over rmsnorm(x)
            if let a { a.xin.update(from: ws.x, count: N * D) }
            rmsnormForward(ws.xn, rstd: a?.rstd1, ws.x, weight: P + L.inputNorm, N: N, D: D, eps: eps)
            let q: FloatPtr = a?.q ?? ws.q!, k: FloatPtr = a?.k ?? ws.k!, v: FloatPtr = a?.v ?? ws.v!
            let att: FloatPtr = a?.att ?? ws.att!
            project(q, ws.xn, L.q, L.qBias, li, .q, inDim: D, outDim: c.qDim)
            project(k, ws.xn, L.k, L.kBias, li, .k, inDim: D, outDim: c.kvDim)
            project(v, ws.xn, L.v, L.vBias, li, .v, inDim: D, outDim: c.kvDim)
            ropeForward(q, cos: ws.cos, sin: ws.sin, N: N, H: c.numHeads, headDim: hd)
            ropeForward(k, cos: ws.cos, sin: ws.sin, N: N, H: c.numKVHeads, headDim: hd)
            if let cache {
                // KV-cache writes first, then attention: one-token segments (decoding) all go through one parallel
                // loop over (sequence, head) without BLAS; longer segments (prefill) use matrix products.
                for (s, start) in sequenceStarts.enumerated() where lengths[s] > 0 {
                    let kc = cache.keys(layer: li, slot: slots[s]), vc = cache.values(layer: li, slot: slots[s])
                    (kc + past[s] * c.kvDim).update(from: k + start * c.kvDim, count: lengths[s] * c.kvDim)
                    (vc + past[s] * c.kvDim).update(from: v + start * c.kvDim, count: lengths[s] * c.kvDim)
                }
                let single = sequenceStarts.indices.filter { lengths[$0] == 1 }
                if !single.isEmpty {
                    let H = c.numHeads, group = c.numHeads / c.numKVHeads, kvd = c.kvDim, qd = c.qDim
                    let scale = 1 / Float(hd).squareRoot()
                    let maxLk = single.map { past[$0] + 1 }.max()!
                    Parallel.forEach(single.count * H) { item in
                        let s = single[item / H], h = item % H, kh = h / group
                        let Lk = past[s] + 1, start = sequenceStarts[s]
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: maxLk) { scratch in
                            seal_attention_row(att + start * qd + h * hd, q + start * qd + h * hd,
                                               cache.keys(layer: li, slot: slots[s]) + kh * hd,
                                               cache.values(layer: li, slot: slots[s]) + kh * hd,
                                               Lk, hd, kvd, scale, scratch.baseAddress!)
                        }
                    }
                }
            }
            for (s, start) in sequenceStarts.enumerated() where lengths[s] > 0 && !(cache != nil && lengths[s] == 1) {
                var kp = ConstFloatPtr(k + start * c.kvDim), vp = ConstFloatPtr(v + start * c.kvDim)
                var Lk = lengths[s]
                if let cache {
                    kp = ConstFloatPtr(cache.keys(layer: li, slot: slots[s])); vp = ConstFloatPtr(cache.values(layer: li, slot: slots[s]))
                    Lk = past[s] + lengths[s]
                }
                attentionForward(out: att + start * c.qDim, ldo: c.qDim, q: q + start * c.qDim, ldq: c.qDim,
                                 k: kp, v: vp, ldkv: c.kvDim,
                                 probs: ws.probs, probsHeadStride: 0, Lq: lengths[s], Lk: Lk,
                                 Hq: c.numHeads, Hkv: c.numKVHeads, headDim: hd)
            }
            project(ws.x, att, L.o, L.oBias, li, .o, inDim: c.qDim, outDim: D, accumulate: true)
            // MLP block: x += down(silu(gate(h)) * up(h)), h = rmsnorm(x)
            if let a { a.xmid.update(from: ws.x, count: N * D) }
            rmsnormForward(ws.xn, rstd: a?.rstd2, ws.x, weight: P + L.postNorm, N: N, D: D, eps: eps)
            let gate: FloatPtr = a?.gate ?? ws.gate!, up: FloatPtr = a?.up ?? ws.up!
            project(gate, ws.xn, L.gate, L.gateBias, li, .gate, inDim: D, outDim: I)
            project(up, ws.xn, L.up, L.upBias, li, .up, inDim: D, outDim: I)
            let h: FloatPtr = a == nil ? ws.gate! : ws.h!
            swigluForward(h, gate: gate, up: up, count: N * I)
            project(ws.x, h, L.down, L.downBias, li, .down, inDim: I, outDim: D, accumulate: true)
        }
        if let store { store.xfinal.update(from: ws.x, count: N * D) }
        rmsnormForward(ws.xn, rstd: store?.rstdFinal, ws.x, weight: P + layout.finalNorm, N: N, D: D, eps: eps)
    }
}

/// Reusable activation buffers of the inference forward pass: grown when a larger batch arrives, never shrunk, so a
/// loop of forward passes allocates nothing after the first.
public final class ForwardWorkspace: @unchecked Sendable {
    private var tokenCapacity = 0
    private var attnCapacity = 0
    private var storage: FloatBuffer?
    private var probStorage: FloatBuffer?
    private var intStorage: UnsafeMutablePointer<Int32>?

    var x: FloatPtr!, xn: FloatPtr!, q: FloatPtr!, k: FloatPtr!, v: FloatPtr!, att: FloatPtr!
    var gate: FloatPtr!, up: FloatPtr!, cos: FloatPtr!, sin: FloatPtr!, probs: FloatPtr!
    /// SwiGLU output when gate must be kept (training), and LoRA's x·Aᵀ when not kept.
    var h: FloatPtr!, loraU: FloatPtr!
    private var loraCapacity = 0
    private var loraStorage: FloatBuffer?
    var tokens: UnsafeMutablePointer<Int32>!, positions: UnsafeMutablePointer<Int32>!

    public init() {}
    deinit { intStorage?.deallocate() }

    /// Scratch for LoRA's u = x·Aᵀ [N, rank] when the forward pass does not keep it.
    func reserveLoRA(tokens n: Int, rank: Int) {
        let need = max(1, n * rank)
        if need > loraCapacity {
            loraStorage = FloatBuffer(count: need, zeroed: false)
            loraU = loraStorage!.pointer
            loraCapacity = need
        }
    }

    /// Grows the buffers to hold N tokens and an attention score matrix of `attention` entries (Lq · Lk).
    func reserve(config c: ModelConfig, tokens N: Int, attention: Int) {
        let n = max(N, 1)
        if n > tokenCapacity {
            let D = c.hiddenSize, I = c.intermediateSize, half = c.headDim / 2
            let sizes = [n * D, n * D, n * c.qDim, n * c.kvDim, n * c.kvDim, n * c.qDim, n * I, n * I, n * half, n * half, n * I]
            let buf = FloatBuffer(count: sizes.reduce(0, +), zeroed: false)
            var p = buf.pointer
            var ptrs: [FloatPtr] = []
            for s in sizes { ptrs.append(p); p += s }
            (x, xn, q, k, v, att, gate, up, cos, sin) = (ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6], ptrs[7], ptrs[8], ptrs[9])
            h = ptrs[10]
            storage = buf
            intStorage?.deallocate()
            intStorage = .allocate(capacity: 2 * n)
            tokens = intStorage!
            positions = intStorage! + n
            tokenCapacity = n
        }
        reserveLoRA(tokens: n, rank: 0)
        let a = max(attention, 1)
        if a > attnCapacity {
            probStorage = FloatBuffer(count: a, zeroed: false)
            probs = probStorage!.pointer
            attnCapacity = a
        }
    }
}

/// Keys and values of past positions, per layer and per sequence slot: [layers][slots][capacity, kvDim] each.
///
/// A slot holds one sequence; when it finishes, `reset(slot:)` frees it for the next waiting prompt (continuous
/// batching). Memory is allocated once for all slots at their full capacity, so decoding allocates nothing.
public final class KVCache: @unchecked Sendable {
    public let slots: Int
    public let capacity: Int
    let layers: Int
    let kvDim: Int
    let storage: FloatBuffer
    private var lengths: [Int]

    public init(config: ModelConfig, slots: Int, capacity: Int) {
        self.slots = slots
        self.capacity = capacity
        self.layers = config.numLayers
        self.kvDim = config.kvDim
        self.storage = FloatBuffer(count: 2 * layers * slots * capacity * kvDim, zeroed: false)
        self.lengths = [Int](repeating: 0, count: slots)
    }

    /// Bytes held by the cache.
    public var bytes: Int { storage.count * 4 }

    @inline(__always) func keys(layer: Int, slot: Int) -> FloatPtr {
        storage.pointer + ((layer * slots + slot) * 2) * capacity * kvDim
    }
    @inline(__always) func values(layer: Int, slot: Int) -> FloatPtr {
        storage.pointer + ((layer * slots + slot) * 2 + 1) * capacity * kvDim
    }

    public func length(slot: Int) -> Int { lengths[slot] }
    func setLength(slot: Int, _ n: Int) { lengths[slot] = n }
    /// Forgets slot's sequence; the next `forwardCached` on it starts at position 0.
    public func reset(slot: Int) { lengths[slot] = 0 }

    /// Makes slot `to` hold a copy of slot `from`'s positions (samples of one prompt share its prefill).
    public func copy(from: Int, to: Int) {
        let n = lengths[from] * kvDim
        for l in 0..<layers {
            keys(layer: l, slot: to).update(from: keys(layer: l, slot: from), count: n)
            values(layer: l, slot: to).update(from: values(layer: l, slot: from), count: n)
        }
        lengths[to] = lengths[from]
    }
}
