import Foundation

/// The architecture of a Llama- or Qwen2-family decoder, read from a HuggingFace `config.json`.
///
/// Both families are the same network (RMSNorm, rotary attention with grouped KV heads, SwiGLU MLP); they differ
/// only in which projections carry a bias: Qwen2 always has q/k/v biases and no o bias, Llama has biases on all four
/// exactly when `attention_bias` is true (and on the MLP when `mlp_bias` is).
public struct ModelConfig: Sendable, Equatable {
    public enum Family: String, Sendable { case llama, qwen2 }

    /// Llama 3.x's frequency-dependent rescaling of the rotary frequencies ("rope_type": "llama3").
    public struct Llama3RopeScaling: Sendable, Equatable {
        public var factor: Double
        public var lowFreqFactor: Double
        public var highFreqFactor: Double
        public var originalMaxPositionEmbeddings: Int
    }

    public var family: Family
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var numKVHeads: Int
    public var headDim: Int
    public var vocabSize: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    /// Linear position interpolation ("rope_type": "linear"); 1 when absent.
    public var ropeLinearFactor: Double = 1
    public var llama3Scaling: Llama3RopeScaling?
    public var tieWordEmbeddings: Bool
    public var qkvBias: Bool
    public var oBias: Bool
    public var mlpBias: Bool
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]
    public var padTokenID: Int?
    public var maxPositionEmbeddings: Int
    /// The `torch_dtype` (or newer `dtype`) recorded in the config, e.g. "bfloat16"; informational.
    public var torchDtype: String?

    public init(family: Family, hiddenSize: Int, intermediateSize: Int, numLayers: Int, numHeads: Int,
                numKVHeads: Int, headDim: Int? = nil, vocabSize: Int, rmsNormEps: Double = 1e-6,
                ropeTheta: Double = 10000, llama3Scaling: Llama3RopeScaling? = nil, tieWordEmbeddings: Bool = false,
                qkvBias: Bool? = nil, oBias: Bool = false, mlpBias: Bool = false, bosTokenID: Int? = nil,
                eosTokenIDs: [Int] = [], maxPositionEmbeddings: Int = 2048) {
        self.family = family
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.numKVHeads = numKVHeads
        self.headDim = headDim ?? hiddenSize / numHeads
        self.vocabSize = vocabSize
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.llama3Scaling = llama3Scaling
        self.tieWordEmbeddings = tieWordEmbeddings
        self.qkvBias = qkvBias ?? (family == .qwen2)
        self.oBias = oBias
        self.mlpBias = mlpBias
        self.bosTokenID = bosTokenID
        self.eosTokenIDs = eosTokenIDs
        self.maxPositionEmbeddings = maxPositionEmbeddings
    }

    public var qDim: Int { numHeads * headDim }
    public var kvDim: Int { numKVHeads * headDim }

    /// Reads `config.json`. Keys HF would default are defaulted the way HF's config classes do; keys without a
    /// sensible default are required and their absence is an error naming them.
    public static func load(from url: URL) throws -> ModelConfig {
        let j = try JSONObject.load(url)
        return try parse(j)
    }

    public static func parse(data: Data, path: String) throws -> ModelConfig {
        try parse(JSONObject(data: data, path: path))
    }

    static func parse(_ j: JSONObject) throws -> ModelConfig {
        let path = j.path
        let type = try j.string("model_type")
        guard let family = Family(rawValue: type) else {
            throw ModelError.unsupported(path: path, reason: "model_type '\(type)' (seal supports 'llama' and 'qwen2')")
        }
        if let act = j.dict["hidden_act"] as? String, act != "silu" {
            throw ModelError.unsupported(path: path, reason: "hidden_act '\(act)' (only 'silu')")
        }
        if try j.bool("use_sliding_window", default: false) {
            throw ModelError.unsupported(path: path, reason: "use_sliding_window true (sliding-window attention)")
        }
        // Every size is checked against a bound before any arithmetic on it: the bounds are far above any real
        // model's (Llama 3.1 405B: hidden 16384, intermediate 53248, 126 layers, vocab 128256) and keep every
        // product below Int.max, so the parameter count below cannot overflow.
        func size(_ key: String, default d: Int? = nil) throws -> Int {
            let v = try d.map { try j.int(key, default: $0) } ?? j.int(key)
            guard v > 0 else { throw ModelError.badValue(path: path, key: key, reason: "must be positive, found \(v)") }
            let bound = Self.sizeBounds[key] ?? Int(1) << 40
            guard v <= bound else {
                throw ModelError.badValue(path: path, key: key, reason: "\(v) is absurdly large (seal accepts at most \(bound))")
            }
            return v
        }
        let hidden = try size("hidden_size")
        let heads = try size("num_attention_heads")
        let kvHeads = try size("num_key_value_heads", default: heads)
        if !j.has("head_dim"), hidden % heads != 0 {
            throw ModelError.badValue(path: path, key: "num_attention_heads",
                                      reason: "\(heads) does not divide hidden_size \(hidden) (and there is no head_dim)")
        }
        let headDim = try size("head_dim", default: hidden / heads)
        func positive(_ v: Int, _ key: String) throws {
            if v <= 0 { throw ModelError.badValue(path: path, key: key, reason: "must be positive, found \(v)") }
        }
        if heads % kvHeads != 0 {
            throw ModelError.badValue(path: path, key: "num_key_value_heads",
                                      reason: "\(kvHeads) does not divide num_attention_heads \(heads)")
        }
        if headDim % 2 != 0 {
            throw ModelError.badValue(path: path, key: "head_dim", reason: "rotary embedding needs an even head_dim")
        }
        var c = ModelConfig(
            family: family, hiddenSize: hidden, intermediateSize: try size("intermediate_size"),
            numLayers: try size("num_hidden_layers"), numHeads: heads, numKVHeads: kvHeads, headDim: headDim,
            vocabSize: try size("vocab_size"),
            rmsNormEps: try j.double("rms_norm_eps", default: 1e-6),
            ropeTheta: try j.double("rope_theta", default: 10000),
            tieWordEmbeddings: try j.bool("tie_word_embeddings", default: false),
            qkvBias: family == .qwen2 ? true : try j.bool("attention_bias", default: false),
            oBias: family == .llama ? try j.bool("attention_bias", default: false) : false,
            mlpBias: family == .llama ? try j.bool("mlp_bias", default: false) : false,
            bosTokenID: j.has("bos_token_id") ? try j.int("bos_token_id") : nil,
            eosTokenIDs: try j.intList("eos_token_id"),
            maxPositionEmbeddings: try size("max_position_embeddings", default: family == .qwen2 ? 32768 : 2048))
        guard let n = ParameterLayout.parameterCount(c), n <= Self.maxParameters else {
            let n = ParameterLayout.parameterCount(c).map(String.init) ?? "more than Int.max"
            throw ModelError.badValue(path: path, key: "num_hidden_layers",
                                      reason: "with hidden_size \(hidden), intermediate_size \(c.intermediateSize) and vocab_size \(c.vocabSize), \(c.numLayers) layers imply \(n) parameters (seal accepts at most \(Self.maxParameters))")
        }
        func finite(_ v: Double, _ key: String, positive strict: Bool) throws {
            guard v.isFinite, strict ? v > 0 : v >= 0 else {
                throw ModelError.badValue(path: path, key: key, reason: "must be a finite number \(strict ? ">" : ">=") 0, found \(v)")
            }
        }
        try finite(c.rmsNormEps, "rms_norm_eps", positive: false)
        c.padTokenID = j.has("pad_token_id") ? try j.int("pad_token_id") : nil
        c.torchDtype = (j.dict["torch_dtype"] as? String) ?? (j.dict["dtype"] as? String)

        // Rotary scaling: `rope_scaling` (transformers 4.x) or `rope_parameters` (5.x, which also carries theta).
        var scaling = try j.object("rope_scaling")
        if let params = try j.object("rope_parameters") {
            if params.has("rope_theta") { c.ropeTheta = try params.double("rope_theta") }
            if scaling == nil { scaling = params }
        }
        if let s = scaling {
            let kind = (s.dict["rope_type"] as? String) ?? (s.dict["type"] as? String) ?? "default"
            switch kind {
            case "default": break
            case "linear":
                c.ropeLinearFactor = try s.double("factor")
                try finite(c.ropeLinearFactor, "rope_scaling.factor", positive: true)
            case "llama3":
                let l = Llama3RopeScaling(
                    factor: try s.double("factor"), lowFreqFactor: try s.double("low_freq_factor"),
                    highFreqFactor: try s.double("high_freq_factor"),
                    originalMaxPositionEmbeddings: try s.int("original_max_position_embeddings"))
                try finite(l.factor, "rope_scaling.factor", positive: true)
                try finite(l.lowFreqFactor, "rope_scaling.low_freq_factor", positive: true)
                try finite(l.highFreqFactor, "rope_scaling.high_freq_factor", positive: true)
                if l.highFreqFactor <= l.lowFreqFactor {
                    throw ModelError.badValue(path: path, key: "rope_scaling.high_freq_factor",
                                              reason: "must exceed low_freq_factor \(l.lowFreqFactor), found \(l.highFreqFactor)")
                }
                if l.originalMaxPositionEmbeddings <= 0 {
                    throw ModelError.badValue(path: path, key: "rope_scaling.original_max_position_embeddings",
                                              reason: "must be positive, found \(l.originalMaxPositionEmbeddings)")
                }
                c.llama3Scaling = l
            default:
                throw ModelError.unsupported(path: path, reason: "rope_scaling type '\(kind)' (supported: default, linear, llama3)")
            }
        }
        try finite(c.ropeTheta, "rope_theta", positive: true)
        return c
    }

    /// Upper bounds on config.json's sizes (see `parse`); a key not listed is bounded by 2^40.
    static let sizeBounds: [String: Int] = [
        "hidden_size": 1 << 20, "intermediate_size": 1 << 22, "num_hidden_layers": 1 << 16,
        "num_attention_heads": 1 << 14, "num_key_value_heads": 1 << 14, "head_dim": 1 << 14,
        "vocab_size": 1 << 24, "max_position_embeddings": 1 << 30,
    ]
    /// The most parameters a config may imply (2^40, 4 TB in float32): beyond it the config is surely wrong.
    public static let maxParameters = 1 << 40

    /// The rotary inverse frequencies invFreq[headDim/2], computed in float32 exactly as transformers does
    /// (including Llama 3's scaling), so that angles match to the bit.
    public func ropeInverseFrequencies() -> [Float] {
        let half = headDim / 2
        var inv = (0..<half).map { i -> Float in
            // torch: 1.0 / (base ** (arange(0, dim, 2).float() / dim)) in float32
            let exponent = Float(2 * i) / Float(headDim)
            return 1.0 / Float(powf(Float(ropeTheta), exponent))
        }
        if ropeLinearFactor != 1 { inv = inv.map { $0 / Float(ropeLinearFactor) } }
        if let s = llama3Scaling {
            let factor = Float(s.factor), lowF = Float(s.lowFreqFactor), highF = Float(s.highFreqFactor)
            let old = Float(s.originalMaxPositionEmbeddings)
            let lowWavelen = old / lowF
            let highWavelen = old / highF
            inv = inv.map { f in
                let wavelen = 2 * Float.pi / f
                var scaled = wavelen > lowWavelen ? f / factor : f
                let smooth = (old / wavelen - lowF) / (highF - lowF)
                let smoothed = (1 - smooth) * scaled / factor + smooth * scaled
                let medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen)
                if medium { scaled = smoothed }
                return scaled
            }
        }
        return inv
    }
}
