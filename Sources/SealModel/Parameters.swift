import Foundation

/// Where every weight lives in the one contiguous parameter buffer (llm.c style).
///
/// One buffer means one allreduce of the gradients, one optimizer loop, one checkpoint write. Each entry has the
/// HuggingFace tensor name, so loading, saving and LoRA targeting speak the same names as the checkpoint. A tied
/// `lm_head` has no entry: it is a view of `model.embed_tokens.weight`.
public struct ParameterLayout: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var shape: [Int]
        public var offset: Int
        public var count: Int { shape.reduce(1, *) }
    }

    /// Offsets (in floats) of one decoder layer's tensors; nil where the architecture has no such bias.
    public struct Layer: Sendable {
        public var inputNorm = 0, q = 0, k = 0, v = 0, o = 0, postNorm = 0, gate = 0, up = 0, down = 0
        public var qBias: Int?, kBias: Int?, vBias: Int?, oBias: Int?
        public var gateBias: Int?, upBias: Int?, downBias: Int?
    }

    public private(set) var entries: [Entry] = []
    public private(set) var index: [String: Int] = [:]
    public private(set) var layers: [Layer] = []
    public private(set) var embed = 0
    public private(set) var finalNorm = 0
    /// Offset of the output projection: the embedding's when tied.
    public private(set) var lmHead = 0
    public private(set) var count = 0

    public init(config c: ModelConfig) {
        func add(_ name: String, _ shape: [Int]) -> Int {
            let off = count
            index[name] = entries.count
            entries.append(Entry(name: name, shape: shape, offset: off))
            count += shape.reduce(1, *)
            return off
        }
        let D = c.hiddenSize, I = c.intermediateSize
        embed = add("model.embed_tokens.weight", [c.vocabSize, D])
        for l in 0..<c.numLayers {
            let p = "model.layers.\(l)."
            var L = Layer()
            L.inputNorm = add(p + "input_layernorm.weight", [D])
            L.q = add(p + "self_attn.q_proj.weight", [c.qDim, D])
            if c.qkvBias { L.qBias = add(p + "self_attn.q_proj.bias", [c.qDim]) }
            L.k = add(p + "self_attn.k_proj.weight", [c.kvDim, D])
            if c.qkvBias { L.kBias = add(p + "self_attn.k_proj.bias", [c.kvDim]) }
            L.v = add(p + "self_attn.v_proj.weight", [c.kvDim, D])
            if c.qkvBias { L.vBias = add(p + "self_attn.v_proj.bias", [c.kvDim]) }
            L.o = add(p + "self_attn.o_proj.weight", [D, c.qDim])
            if c.oBias { L.oBias = add(p + "self_attn.o_proj.bias", [D]) }
            L.postNorm = add(p + "post_attention_layernorm.weight", [D])
            L.gate = add(p + "mlp.gate_proj.weight", [I, D])
            if c.mlpBias { L.gateBias = add(p + "mlp.gate_proj.bias", [I]) }
            L.up = add(p + "mlp.up_proj.weight", [I, D])
            if c.mlpBias { L.upBias = add(p + "mlp.up_proj.bias", [I]) }
            L.down = add(p + "mlp.down_proj.weight", [D, I])
            if c.mlpBias { L.downBias = add(p + "mlp.down_proj.bias", [D]) }
            layers.append(L)
        }
        finalNorm = add("model.norm.weight", [D])
        lmHead = c.tieWordEmbeddings ? embed : add("lm_head.weight", [c.vocabSize, D])
    }

    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The number of floats the layout of `c` holds, or nil when it overflows Int: computed without building the
    /// layout, so a config can be checked before anything is allocated.
    public static func parameterCount(_ c: ModelConfig) -> Int? {
        func mul(_ a: Int, _ b: Int) -> Int? {
            let (r, o) = a.multipliedReportingOverflow(by: b); return o ? nil : r
        }
        func add(_ xs: Int?...) -> Int? {
            var t = 0
            for x in xs {
                guard let x else { return nil }
                let (r, o) = t.addingReportingOverflow(x); if o { return nil }; t = r
            }
            return t
        }
        let D = c.hiddenSize, I = c.intermediateSize
        guard D > 0, I > 0, c.numLayers > 0, c.vocabSize > 0, c.numHeads > 0, c.numKVHeads > 0, c.headDim > 0,
              let q = mul(c.numHeads, c.headDim), let kv = mul(c.numKVHeads, c.headDim) else { return nil }
        let perLayer = add(D, mul(q, D), mul(kv, D), mul(kv, D), mul(D, q), D, mul(I, D), mul(I, D), mul(D, I),
                           c.qkvBias ? add(q, kv, kv) : 0, c.oBias ? D : 0, c.mlpBias ? add(I, I, D) : 0)
        let embed = mul(c.vocabSize, D)
        return add(embed, perLayer.flatMap { mul($0, c.numLayers) }, D, c.tieWordEmbeddings ? 0 : embed)
    }
}
