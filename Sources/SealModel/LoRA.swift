import Foundation
import SealCore
import SealKernels

/// The projections LoRA can adapt, by their HF module names.
public enum LoRATarget: String, CaseIterable, Sendable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj", gate = "gate_proj", up = "up_proj", down = "down_proj"

    /// "self_attn" or "mlp": the HF submodule the projection lives in.
    public var block: String {
        switch self { case .q, .k, .v, .o: "self_attn"; case .gate, .up, .down: "mlp" }
    }

    /// Parses a comma-separated list such as "q_proj,v_proj"; an unknown name is an error naming it.
    public static func parseList(_ s: String) throws -> [LoRATarget] {
        var out: [LoRATarget] = []
        for part in s.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            guard let t = LoRATarget(rawValue: part) else {
                throw ModelError.invalidInput("unknown LoRA target module '\(part)' (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if !out.contains(t) { out.append(t) }
        }
        if out.isEmpty { throw ModelError.invalidInput("no LoRA target modules given") }
        return allCases.filter { out.contains($0) }
    }
}

public struct LoRAConfig: Sendable, Equatable {
    public var rank: Int
    public var alpha: Double
    public var targets: [LoRATarget]
    public init(rank: Int, alpha: Double, targets: [LoRATarget]) {
        self.rank = rank; self.alpha = alpha; self.targets = LoRATarget.allCases.filter { targets.contains($0) }
    }
    /// PEFT's scaling of the low-rank update: alpha / r.
    public var scale: Float { Float(alpha / Double(rank)) }
}

/// A LoRA adapter over a base model: for each adapted projection W[out, in], matrices A[r, in] and B[out, r], and
/// the projection becomes y = x Wᵀ + (α/r) (x Aᵀ) Bᵀ. The base weights are never copied or changed (until `merge`).
///
/// All A and B matrices live in one contiguous buffer, their gradients in another of the same layout (one
/// allreduce, one optimizer loop, one reset between inner loops without reallocating).
public final class LoRAAdapter: @unchecked Sendable {
    public struct Module: Sendable {
        public var layer: Int
        public var target: LoRATarget
        public var inDim: Int
        public var outDim: Int
        /// Offsets of A[r, in] and B[out, r] in `params` (and `grads`).
        public var a: Int
        public var b: Int
    }

    public let config: LoRAConfig
    public let modelConfig: ModelConfig
    public let modules: [Module]
    public let params: FloatBuffer
    public let grads: FloatBuffer
    private let lookup: [[Int?]]  // [layer][target index] → module index

    public init(modelConfig c: ModelConfig, config: LoRAConfig) {
        self.config = config
        self.modelConfig = c
        var mods: [Module] = []
        var lookup = [[Int?]](repeating: [Int?](repeating: nil, count: LoRATarget.allCases.count), count: c.numLayers)
        var off = 0
        for l in 0..<c.numLayers {
            for t in config.targets {
                let (i, o) = Self.dims(t, c)
                lookup[l][LoRATarget.allCases.firstIndex(of: t)!] = mods.count
                mods.append(Module(layer: l, target: t, inDim: i, outDim: o, a: off, b: off + config.rank * i))
                off += config.rank * (i + o)
            }
        }
        self.modules = mods
        self.lookup = lookup
        self.params = FloatBuffer(count: off)
        self.grads = FloatBuffer(count: off)
    }

    /// (in, out) of a projection.
    public static func dims(_ t: LoRATarget, _ c: ModelConfig) -> (Int, Int) {
        switch t {
        case .q: (c.hiddenSize, c.qDim)
        case .k, .v: (c.hiddenSize, c.kvDim)
        case .o: (c.qDim, c.hiddenSize)
        case .gate, .up: (c.hiddenSize, c.intermediateSize)
        case .down: (c.intermediateSize, c.hiddenSize)
        }
    }

    public func module(layer: Int, target: LoRATarget) -> Module? {
        lookup[layer][LoRATarget.allCases.firstIndex(of: target)!].map { modules[$0] }
    }

    public var parameterCount: Int { params.count }

    /// PEFT's tensor names for a module's A and B.
    public func peftNames(_ m: Module) -> (a: String, b: String) {
        let p = "base_model.model.model.layers.\(m.layer).\(m.target.block).\(m.target.rawValue)"
        return (p + ".lora_A.weight", p + ".lora_B.weight")
    }

    /// Re-initialises in place as PEFT does: A ~ Kaiming-uniform(a = √5), i.e. U(−1/√in, 1/√in); B = 0; so the
    /// adapted model starts equal to the base. Counter-based random numbers: the same seed gives the same A on any
    /// rank and at any thread count.
    public func reset(seed: UInt64) {
        let rng = CounterRNG(seed: seed)
        for (i, m) in modules.enumerated() {
            let bound = 1 / Double(m.inDim).squareRoot()
            let a = params.pointer + m.a
            for j in 0..<(config.rank * m.inDim) {
                a[j] = Float((2 * rng.uniform(stream: UInt64(i + 1), index: UInt64(j)) - 1) * bound)
            }
            (params.pointer + m.b).update(repeating: 0, count: m.outDim * config.rank)
        }
        grads.pointer.update(repeating: 0, count: grads.count)
    }

    /// Adds (α/r) B A into the base model's weights: afterwards the base model alone computes the adapted function.
    public func merge(into model: TransformerModel) {
        for m in modules {
            let w = model.projectionWeight(layer: m.layer, target: m.target)
            // W[out, in] += scale · B[out, r] · A[r, in]
            sgemm(M: m.outDim, N: m.inDim, K: config.rank, alpha: config.scale, A: params.pointer + m.b, lda: config.rank,
                  B: params.pointer + m.a, ldb: m.inDim, beta: 1, C: w, ldc: m.inDim)
        }
    }
}

/// Rows [start, start + count) of a packed batch and the adapter that adapts them: one forward or training pass
/// can carry many adapters over the same frozen base, each on its own rows (multi-adapter batching).
public struct LoRASpan: Sendable {
    public let adapter: LoRAAdapter
    public let start: Int
    public let count: Int
    public init(adapter: LoRAAdapter, start: Int, count: Int) {
        self.adapter = adapter; self.start = start; self.count = count
    }

    /// One adapter over all N rows, or none.
    static func whole(_ lora: LoRAAdapter?, _ N: Int) -> [LoRASpan] {
        lora.map { [LoRASpan(adapter: $0, start: 0, count: N)] } ?? []
    }

    /// The spans of packed segments of the given lengths, segment i adapted by `adapters[i]` (consecutive
    /// segments of one adapter become one span). The adapters must share rank and targets: one scratch layout
    /// serves them all.
    static func spans(_ adapters: [LoRAAdapter?], lengths: [Int]) throws -> [LoRASpan] {
        var out: [LoRASpan] = []
        var start = 0
        for (a, n) in zip(adapters, lengths) {
            defer { start += n }
            guard let a, n > 0 else { continue }
            if let first = out.first?.adapter, first.config != a.config || first.modelConfig != a.modelConfig {
                throw ModelError.invalidInput("adapters of one batch must share rank and targets: rank \(first.config.rank) \(first.config.targets.map(\.rawValue)) vs rank \(a.config.rank) \(a.config.targets.map(\.rawValue))")
            }
            if let last = out.last, last.adapter === a, last.start + last.count == start {
                out[out.count - 1] = LoRASpan(adapter: a, start: last.start, count: last.count + n)
            } else {
                out.append(LoRASpan(adapter: a, start: start, count: n))
            }
        }
        return out
    }
}

extension TransformerModel {
    /// The base weight W[out, in] of a projection.
    public func projectionWeight(layer l: Int, target: LoRATarget) -> FloatPtr {
        let L = layout.layers[l]
        let off: Int
        switch target {
        case .q: off = L.q
        case .k: off = L.k
        case .v: off = L.v
        case .o: off = L.o
        case .gate: off = L.gate
        case .up: off = L.up
        case .down: off = L.down
        }
        return params.pointer + off
    }
}

/// out[N, outDim] += scale · (x[N, in] · Aᵀ) · Bᵀ, keeping u = x Aᵀ [N, r] (needed by backward).
@inline(__always)
func loraForward(_ out: FloatPtr, _ x: ConstFloatPtr, lora: LoRAAdapter, _ m: LoRAAdapter.Module, N: Int, u: FloatPtr) {
    let r = lora.config.rank
    sgemm(transB: true, M: N, N: r, K: m.inDim, A: x, lda: m.inDim, B: lora.params.pointer + m.a, ldb: m.inDim,
          C: u, ldc: r)
    sgemm(transB: true, M: N, N: m.outDim, K: r, alpha: lora.config.scale, A: u, lda: r,
          B: lora.params.pointer + m.b, ldb: r, beta: 1, C: out, ldc: m.outDim)
}

/// Backward of `loraForward` given dy[N, out], x[N, in] and u = x Aᵀ:
///   dB += s · dyᵀ u;  du = s · dy B;  dA += duᵀ x;  dx += du A (when dx is given).
@inline(__always)
func loraBackward(dy: ConstFloatPtr, x: ConstFloatPtr, u: ConstFloatPtr, dx: FloatPtr?, lora: LoRAAdapter,
                  _ m: LoRAAdapter.Module, N: Int, du: FloatPtr) {
    let r = lora.config.rank, s = lora.config.scale
    let P = lora.params.pointer, G = lora.grads.pointer
    sgemm(transA: true, M: m.outDim, N: r, K: N, alpha: s, A: dy, lda: m.outDim, B: u, ldb: r, beta: 1, C: G + m.b, ldc: r)
    sgemm(M: N, N: r, K: m.outDim, alpha: s, A: dy, lda: m.outDim, B: P + m.b, ldb: r, C: du, ldc: r)
    sgemm(transA: true, M: r, N: m.inDim, K: N, A: du, lda: r, B: x, ldb: m.inDim, beta: 1, C: G + m.a, ldc: m.inDim)
    if let dx {
        sgemm(M: N, N: m.inDim, K: r, A: du, lda: r, B: P + m.a, ldb: m.inDim, beta: 1, C: dx, ldc: m.inDim)
    }
}
