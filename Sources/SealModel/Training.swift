import Foundation
import SealCore
import SealKernels

/// A batch for training: sequences of different lengths, and for each the positions whose token is a target
/// (predicted from the tokens before it and counted in the loss). Position 0 is never a target.
public struct TrainingBatch: Sendable {
    public var sequences: [[Int32]]
    public var targets: [[Bool]]

    public init(sequences: [[Int32]], targets: [[Bool]]) {
        self.sequences = sequences
        self.targets = targets
    }

    /// Every token after the first is a target.
    public init(allTokens sequences: [[Int32]]) {
        self.sequences = sequences
        self.targets = sequences.map { s in s.indices.map { $0 > 0 } }
    }

    /// Number of loss-carrying tokens.
    public var targetCount: Int { targets.reduce(0) { $0 + $1.dropFirst().filter { $0 }.count } }
}

/// Activations the backward pass needs, kept by the training forward pass (one buffer, grown when a larger batch
/// arrives, reused otherwise). Normed inputs and the SwiGLU output are not kept: backward recomputes them from
/// what is here, which costs one RMSNorm and one SwiGLU per layer instead of three [N, D]/[N, I] buffers.
public final class ActivationStore: @unchecked Sendable {
    struct Layer {
        var xin: FloatPtr, xmid: FloatPtr, q: FloatPtr, k: FloatPtr, v: FloatPtr, att: FloatPtr
        var gate: FloatPtr, up: FloatPtr, rstd1: FloatPtr, rstd2: FloatPtr
        /// LoRA's u = x·Aᵀ [N, r] per target (indexed like LoRATarget.allCases).
        var loraU: [FloatPtr?]
    }
    private var storage: FloatBuffer?
    private var capacity = 0
    private var rank = -1
    private var targets: [LoRATarget] = []
    private var layers: [Layer] = []
    var xfinal: FloatPtr!
    var rstdFinal: FloatPtr!

    public init() {}

    /// Bytes held.
    public var bytes: Int { (storage?.count ?? 0) * 4 }

    func reserve(config c: ModelConfig, tokens N: Int, lora: LoRAAdapter?) {
        let r = lora?.config.rank ?? 0
        // The kept LoRA inputs depend on the adapter's rank and targets: an inner-loop adapter (q, v) and a
        // policy-update adapter (all seven) may share this store.
        if N <= capacity && r == rank && (lora?.config.targets ?? []) == targets { return }
        let n = max(N, capacity)
        let D = c.hiddenSize, I = c.intermediateSize
        var perLayer = n * (2 * D + 2 * c.qDim + 2 * c.kvDim + 2 * I + 2)
        let targets = lora?.config.targets ?? []
        perLayer += n * r * targets.count
        let total = perLayer * c.numLayers + n * (D + 1)
        let buf = FloatBuffer(count: total, zeroed: false)
        var p = buf.pointer
        func take(_ k: Int) -> FloatPtr { defer { p += k }; return p }
        layers = (0..<c.numLayers).map { _ in
            var L = Layer(xin: take(n * D), xmid: take(n * D), q: take(n * c.qDim), k: take(n * c.kvDim),
                          v: take(n * c.kvDim), att: take(n * c.qDim), gate: take(n * I), up: take(n * I),
                          rstd1: take(n), rstd2: take(n), loraU: [FloatPtr?](repeating: nil, count: LoRATarget.allCases.count))
            for t in targets { L.loraU[LoRATarget.allCases.firstIndex(of: t)!] = take(n * r) }
            return L
        }
        xfinal = take(n * D)
        rstdFinal = take(n)
        storage = buf
        capacity = n
        rank = r
        self.targets = targets
    }

    func layer(_ l: Int) -> Layer { layers[l] }
    func loraU(layer l: Int, target t: LoRATarget) -> FloatPtr? { layers[l].loraU[LoRATarget.allCases.firstIndex(of: t)!] }
}

/// Scratch of the backward pass (gradients of activations), grown like the forward workspace.
public final class BackwardWorkspace: @unchecked Sendable {
    private var storage: FloatBuffer?
    private var capacity = 0
    private var attnCapacity = 0
    private var attnStorage: FloatBuffer?
    var dx: FloatPtr!, dxn: FloatPtr!, xn: FloatPtr!, dq: FloatPtr!, dk: FloatPtr!, dv: FloatPtr!, datt: FloatPtr!
    var dgate: FloatPtr!, dup: FloatPtr!, h: FloatPtr!, du: FloatPtr!
    var p: FloatPtr!, dp: FloatPtr!
    /// Rows of the output head processed at once: bounds the [rows, vocab] logits buffer.
    static let headChunk = 128
    var headX: FloatPtr!, headLogits: FloatPtr!, headDX: FloatPtr!

    public init() {}

    func reserve(config c: ModelConfig, tokens N: Int, maxLength L: Int, rank: Int) {
        let n = max(N, 1)
        if n > capacity {
            let D = c.hiddenSize, I = c.intermediateSize, V = c.vocabSize, C = Self.headChunk
            let r = max(rank, c.hiddenSize)  // du is also scratch for dx of LoRA paths: size generously
            let sizes = [n * D, n * D, n * max(D, I), n * c.qDim, n * c.kvDim, n * c.kvDim, n * c.qDim,
                         n * I, n * I, n * I, n * r, C * D, C * V, C * D]
            let buf = FloatBuffer(count: sizes.reduce(0, +), zeroed: false)
            var p = buf.pointer
            var ptrs: [FloatPtr] = []
            for s in sizes { ptrs.append(p); p += s }
            (dx, dxn, xn, dq, dk, dv, datt) = (ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6])
            (dgate, dup, h, du) = (ptrs[7], ptrs[8], ptrs[9], ptrs[10])
            (headX, headLogits, headDX) = (ptrs[11], ptrs[12], ptrs[13])
            storage = buf
            capacity = n
        }
        let a = max(L * L, 1)
        if a > attnCapacity {
            attnStorage = FloatBuffer(count: 2 * a, zeroed: false)
            p = attnStorage!.pointer
            dp = p + a
            attnCapacity = a
        }
    }
}

/// Everything one training process reuses across steps: forward workspace, kept activations, backward scratch.
public final class TrainingWorkspace: @unchecked Sendable {
    public let forward = ForwardWorkspace()
    public let activations = ActivationStore()
    public let backward = BackwardWorkspace()
    public init() {}
}

/// One adapter's part of a multi-adapter training pass: its micro-batch, the adapter its gradients go to, and the
/// scale of its loss (1 / the target tokens of that adapter's optimizer step).
public struct AdapterBatch: Sendable {
    public var batch: TrainingBatch
    public var lora: LoRAAdapter
    public var lossScale: Float
    public init(batch: TrainingBatch, lora: LoRAAdapter, lossScale: Float) {
        self.batch = batch; self.lora = lora; self.lossScale = lossScale
    }
}

extension TransformerModel {
    /// Forward and backward over one (micro-)batch. Adds ∂(lossScale · Σ token losses)/∂θ into the LoRA adapter's
    /// gradient buffer (when given) and into `fullGradients` (laid out like `params`, when given); the caller zeroes
    /// them at the start of an optimizer step. Returns the unscaled sum of token losses and the number of targets.
    ///
    /// Transformers' loss of a batch is the mean over all its predicted tokens; with gradient accumulation the
    /// mean is over all tokens of the optimizer step, so the caller passes lossScale = 1 / (targets in the step).
    public func lossAndGradients(_ batch: TrainingBatch, lora: LoRAAdapter?, fullGradients: FloatBuffer?,
                                 lossScale: Float, workspace tw: TrainingWorkspace) throws -> (lossSum: Double, tokens: Int) {
        if let g = fullGradients, g.count != params.count {
            throw ModelError.invalidInput("full gradient buffer has \(g.count) floats, the model \(params.count)")
        }
        let r = try lossAndGradients(parts: [(batch, lora, lossScale)], fullGradients: fullGradients, workspace: tw)
        return r[0]
    }

    /// Many LoRA adapters over the frozen base in one pass: the rows of every part are packed end to end, each base
    /// projection is one matrix product over all of them, and each adapter's A and B act on its own rows only
    /// (attention stays within each sequence). Each adapter's gradient buffer receives exactly its own part's
    /// gradient (scaled by its `lossScale`); returns each part's unscaled loss sum and target count, in order.
    /// Each part's numbers equal a pass over that part alone up to the row-count dependence of the matrix
    /// kernels (none where seal's few-row kernel serves both: then they are the same bits).
    public func lossAndGradients(_ parts: [AdapterBatch], workspace tw: TrainingWorkspace) throws -> [(lossSum: Double, tokens: Int)] {
        for (i, p) in parts.enumerated() where parts[..<i].contains(where: { $0.lora === p.lora }) {
            throw ModelError.invalidInput("multi-adapter pass: part \(i) uses an adapter already in the pass")
        }
        return try lossAndGradients(parts: parts.map { ($0.batch, $0.lora, $0.lossScale) }, fullGradients: nil, workspace: tw)
    }

    private func lossAndGradients(parts: [(batch: TrainingBatch, lora: LoRAAdapter?, scale: Float)], fullGradients: FloatBuffer?,
                                  workspace tw: TrainingWorkspace) throws -> [(lossSum: Double, tokens: Int)] {
        for (i, p) in parts.enumerated() {
            do { try validate(p.batch.sequences) } catch ModelError.invalidInput(let m) where parts.count > 1 {
                throw ModelError.invalidInput("part \(i): \(m)")
            }
            guard p.batch.targets.count == p.batch.sequences.count,
                  zip(p.batch.sequences, p.batch.targets).allSatisfy({ $0.count == $1.count }) else {
                throw ModelError.invalidInput("training batch: every sequence needs a target mask of its own length")
            }
        }
        let c = config
        let sequences = parts.flatMap(\.batch.sequences)
        let N = sequences.reduce(0) { $0 + $1.count }
        let partTokens = parts.map { $0.batch.sequences.reduce(0) { $0 + $1.count } }
        let loras = try LoRASpan.spans(parts.map(\.lora), lengths: partTokens)
        let lora0 = loras.first?.adapter
        let maxL = sequences.map(\.count).max() ?? 0
        let ws = tw.forward, bw = tw.backward
        ws.reserve(config: c, tokens: N, attention: maxL * maxL)
        if let lora0 { ws.reserveLoRA(tokens: N, rank: lora0.config.rank) }
        tw.activations.reserve(config: c, tokens: N, lora: lora0)
        bw.reserve(config: c, tokens: N, maxLength: maxL, rank: lora0?.config.rank ?? 0)
        var starts: [Int] = []
        var t = 0
        for seq in sequences {
            starts.append(t)
            for (i, tok) in seq.enumerated() { ws.tokens[t] = tok; ws.positions[t] = Int32(i); t += 1 }
        }
        let lengths = sequences.map(\.count)
        hiddenStates(ws, N: N, sequenceStarts: starts, lengths: lengths, loras: loras, store: tw.activations)

        // Rows whose next token is a target: row (s, i) predicts token i+1; rowPart: which part it belongs to.
        var rows: [Int] = [], targets: [Int32] = [], rowPart: [Int] = []
        var s = 0
        for (pi, p) in parts.enumerated() {
            for (seq, mask) in zip(p.batch.sequences, p.batch.targets) {
                for i in 1..<max(seq.count, 1) where mask[i] {
                    rows.append(starts[s] + i - 1); targets.append(seq[i]); rowPart.append(pi)
                }
                s += 1
            }
        }
        let D = c.hiddenSize, V = c.vocabSize
        let P = params.pointer
        let G = fullGradients?.pointer
        let head = P + layout.lmHead
        bw.dxn.update(repeating: 0, count: N * D)
        var lossSums = [Double](repeating: 0, count: parts.count)
        var losses = [Double](repeating: 0, count: BackwardWorkspace.headChunk)
        var chunkTargets = [Int32](repeating: 0, count: BackwardWorkspace.headChunk)
        var r0 = 0
        while r0 < rows.count {
            let C = min(BackwardWorkspace.headChunk, rows.count - r0)
            for i in 0..<C {
                (bw.headX + i * D).update(from: ws.xn + rows[r0 + i] * D, count: D)
                chunkTargets[i] = targets[r0 + i]
            }
            linearForward(bw.headLogits, bw.headX, head, nil, N: C, inDim: D, outDim: V)
            // Each part's rows with its own loss scale (the kernel works row by row: the same bits as one call).
            var i0 = 0
            while i0 < C {
                let part = rowPart[r0 + i0]
                var i1 = i0 + 1
                while i1 < C && rowPart[r0 + i1] == part { i1 += 1 }
                losses.withUnsafeMutableBufferPointer { l in
                    chunkTargets.withUnsafeBufferPointer { tg in
                        crossEntropyForwardBackward(l.baseAddress! + i0, bw.headLogits + i0 * V, targets: tg.baseAddress! + i0,
                                                    N: i1 - i0, V: V, scale: parts[part].scale)
                    }
                }
                for i in i0..<i1 { lossSums[part] += losses[i] }
                i0 = i1
            }
            // dX[C, D] = dlogits · W_head;  dW_head += dlogitsᵀ · X
            linearBackwardInput(bw.headDX, bw.headLogits, head, N: C, inDim: D, outDim: V)
            if let G {
                sgemm(transA: true, M: V, N: D, K: C, A: bw.headLogits, lda: V, B: bw.headX, ldb: D, beta: 1,
                      C: G + layout.lmHead, ldc: D)
            }
            for i in 0..<C {
                let dst = bw.dxn + rows[r0 + i] * D, src = bw.headDX + i * D
                for j in 0..<D { dst[j] += src[j] }
            }
            r0 += C
        }
        // Final norm.
        bw.dx.update(repeating: 0, count: N * D)
        rmsnormBackward(bw.dx, dweight: G.map { $0 + layout.finalNorm }, bw.dxn, tw.activations.xfinal,
                        weight: P + layout.finalNorm, rstd: tw.activations.rstdFinal, N: N, D: D)
        for li in stride(from: c.numLayers - 1, through: 0, by: -1) {
            layerBackward(li, N: N, starts: starts, lengths: lengths, loras: loras, grads: G, tw: tw)
        }
        if let G {
            // Embedding: each token's row receives its input gradient.
            let E = G + layout.embed
            for n in 0..<N {
                let dst = E + Int(ws.tokens[n]) * D, src = bw.dx + n * D
                for j in 0..<D { dst[j] += src[j] }
            }
        }
        let counts = rowPart.reduce(into: [Int](repeating: 0, count: parts.count)) { $0[$1] += 1 }
        return parts.indices.map { (lossSums[$0], counts[$0]) }
    }

    /// Backward through layer `li`: on entry bw.dx holds ∂loss/∂(layer output), on exit ∂loss/∂(layer input).
    private func layerBackward(_ li: Int, N: Int, starts: [Int], lengths: [Int], loras: [LoRASpan],
                               grads G: FloatPtr?, tw: TrainingWorkspace) {
        let c = config
        let D = c.hiddenSize, I = c.intermediateSize, hd = c.headDim
        let P = params.pointer
        let L = layout.layers[li]
        let a = tw.activations.layer(li)
        let ws = tw.forward, bw = tw.backward
        let eps = Float(c.rmsNormEps)

        /// Backward of y = x Wᵀ + b (+ LoRA): dx (=, or += when accumulate) dy W; dW += dyᵀ x; db += Σ dy.
        func projBack(dy: FloatPtr, x: ConstFloatPtr, dx: FloatPtr, accumulate: Bool, w: Int, bias: Int?,
                      target: LoRATarget, inDim: Int, outDim: Int) {
            linearBackwardInput(dx, dy, P + w, N: N, inDim: inDim, outDim: outDim, accumulate: accumulate)
            if let G {
                sgemm(transA: true, M: outDim, N: inDim, K: N, A: dy, lda: outDim, B: x, ldb: inDim, beta: 1, C: G + w, ldc: inDim)
                if let bias { let gb = G + bias; for n in 0..<N { let row = dy + n * outDim; for o in 0..<outDim { gb[o] += row[o] } } }
            }
            for span in loras {
                guard let m = span.adapter.module(layer: li, target: target) else { continue }
                let r = span.adapter.config.rank, o = span.start
                loraBackward(dy: dy + o * outDim, x: x + o * inDim, u: tw.activations.loraU(layer: li, target: target)! + o * r,
                             dx: dx + o * inDim, lora: span.adapter, m, N: span.count, du: bw.du + o * r)
            }
        }

        // ---- MLP block: x_out = x_mid + down(swiglu(gate(xn2), up(xn2))) ----
        rmsnormForward(bw.xn, rstd: nil, a.xmid, weight: P + L.postNorm, N: N, D: D, eps: eps)   // xn2
        swigluForward(bw.h, gate: a.gate, up: a.up, count: N * I)                             // h
        // dh = dx · W_down  (into dgate's buffer, then split into dgate/dup)
        projBack(dy: bw.dx, x: bw.h, dx: bw.dgate, accumulate: false, w: L.down, bias: L.downBias, target: .down, inDim: I, outDim: D)
        swigluBackward(dgate: bw.dgate, dup: bw.dup, dh: bw.dgate, gate: a.gate, up: a.up, count: N * I)
        projBack(dy: bw.dgate, x: bw.xn, dx: bw.dxn, accumulate: false, w: L.gate, bias: L.gateBias, target: .gate, inDim: D, outDim: I)
        projBack(dy: bw.dup, x: bw.xn, dx: bw.dxn, accumulate: true, w: L.up, bias: L.upBias, target: .up, inDim: D, outDim: I)
        rmsnormBackward(bw.dx, dweight: G.map { $0 + L.postNorm }, bw.dxn, a.xmid, weight: P + L.postNorm, rstd: a.rstd2, N: N, D: D)

        // ---- Attention block: x_mid = x_in + o(attn(q, k, v)) ----
        projBack(dy: bw.dx, x: a.att, dx: bw.datt, accumulate: false, w: L.o, bias: L.oBias, target: .o, inDim: c.qDim, outDim: D)
        bw.dk.update(repeating: 0, count: N * c.kvDim)
        bw.dv.update(repeating: 0, count: N * c.kvDim)
        for (s, start) in starts.enumerated() where lengths[s] > 0 {
            attentionBackward(dq: bw.dq + start * c.qDim, dk: bw.dk + start * c.kvDim, dv: bw.dv + start * c.kvDim,
                              dout: bw.datt + start * c.qDim, q: a.q + start * c.qDim, k: a.k + start * c.kvDim,
                              v: a.v + start * c.kvDim, p: bw.p, dp: bw.dp, L: lengths[s],
                              Hq: c.numHeads, Hkv: c.numKVHeads, headDim: hd)
        }
        ropeBackward(bw.dq, cos: ws.cos, sin: ws.sin, N: N, H: c.numHeads, headDim: hd)
        ropeBackward(bw.dk, cos: ws.cos, sin: ws.sin, N: N, H: c.numKVHeads, headDim: hd)
        rmsnormForward(bw.xn, rstd: nil, a.xin, weight: P + L.inputNorm, N: N, D: D, eps: eps)   // xn1
        projBack(dy: bw.dq, x: bw.xn, dx: bw.dxn, accumulate: false, w: L.q, bias: L.qBias, target: .q, inDim: D, outDim: c.qDim)
        projBack(dy: bw.dk, x: bw.xn, dx: bw.dxn, accumulate: true, w: L.k, bias: L.kBias, target: .k, inDim: D, outDim: c.kvDim)
        projBack(dy: bw.dv, x: bw.xn, dx: bw.dxn, accumulate: true, w: L.v, bias: L.vBias, target: .v, inDim: D, outDim: c.kvDim)
        rmsnormBackward(bw.dx, dweight: G.map { $0 + L.inputNorm }, bw.dxn, a.xin, weight: P + L.inputNorm, rstd: a.rstd1, N: N, D: D)
    }
}
