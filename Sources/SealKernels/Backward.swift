import COpenBLAS
import CSealKernels

// Backward kernels: each takes the gradient of its forward's output and the activations the forward kept, and
// accumulates (+=) into input gradients that may receive several contributions (the residual stream, weights
// shared across rows); it overwrites (=) buffers that have exactly one producer. Each doc comment says which.

/// RMSNorm backward. dinp[N, D] += ∂/∂inp; dweight[D] += ∂/∂weight (when given). rstd[N] from the forward pass.
public func rmsnormBackward(_ dinp: FloatPtr, dweight: FloatPtr?, _ dout: ConstFloatPtr, _ inp: ConstFloatPtr,
                            weight: ConstFloatPtr, rstd: ConstFloatPtr, N: Int, D: Int) {
    if dweight != nil {
        // Rows write to one shared dweight: stay on one thread, rows in order (deterministic sums).
        seal_rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, D)
        return
    }
    Parallel.chunks(N, costPerItem: 4 * D) { s, e in
        seal_rmsnorm_backward(dinp + s * D, nil, dout + s * D, inp + s * D, weight, rstd + s, e - s, D)
    }
}

/// SwiGLU backward: dgate = dh · up · silu'(gate), dup = dh · silu(gate) (=). dgate may alias dh.
public func swigluBackward(dgate: FloatPtr, dup: FloatPtr, dh: ConstFloatPtr, gate: ConstFloatPtr, up: ConstFloatPtr, count n: Int) {
    Parallel.chunks(n, costPerItem: 8) { s, e in
        seal_swiglu_backward(dgate + s, dup + s, dh + s, gate + s, up + s, e - s)
    }
}

/// Cross-entropy of rows of logits[N, V] against targets[N]: loss[n] (nats) and, in place,
/// logits := scale · (softmax − onehot), the gradient of scale · Σ loss.
public func crossEntropyForwardBackward(_ loss: UnsafeMutablePointer<Double>, _ logits: FloatPtr, targets: UnsafePointer<Int32>,
                                        N: Int, V: Int, scale: Float) {
    Parallel.chunks(N, costPerItem: 8 * V) { s, e in
        seal_cross_entropy_forward_backward(loss + s, logits + s * V, targets + s, e - s, V, scale)
    }
}

/// Backward of one sequence's causal attention (`attentionForward` with Lq = Lk = L), recomputing the
/// probabilities instead of keeping them:
///   P = softmax(scale · Q Kᵀ);  dV += Pᵀ dO;  dP = dO Vᵀ;  dS = P ⊙ (dP − rowsum(P ⊙ dP));
///   dQ = scale · dS K (=);  dK += scale · dSᵀ Q.
/// q, dq, dout: [L, Hq·hd]; k, v, dk, dv: [L, Hkv·hd]; p, dp: scratch [L, L].
public func attentionBackward(dq: FloatPtr, dk: FloatPtr, dv: FloatPtr, dout: ConstFloatPtr, q: ConstFloatPtr,
                              k: ConstFloatPtr, v: ConstFloatPtr, p: FloatPtr, dp: FloatPtr, L: Int,
                              Hq: Int, Hkv: Int, headDim hd: Int) {
    let group = Hq / Hkv
    let scale = 1 / Float(hd).squareRoot()
    let ldq = Hq * hd, ldkv = Hkv * hd
    for h in 0..<Hq {
        let kh = h / group
        let qh = q + h * hd, kk = k + kh * hd, vv = v + kh * hd, doh = dout + h * hd
        sgemm(transB: true, M: L, N: L, K: hd, alpha: scale, A: qh, lda: ldq, B: kk, ldb: ldkv, C: p, ldc: L)
        seal_softmax_causal(p, L, L, 1)
        sgemm(transA: true, M: L, N: hd, K: L, A: p, lda: L, B: doh, ldb: ldq, beta: 1, C: dv + kh * hd, ldc: ldkv)
        sgemm(transB: true, M: L, N: L, K: hd, A: doh, lda: ldq, B: vv, ldb: ldkv, C: dp, ldc: L)
        seal_softmax_causal_backward(dp, p, L, L, 1)
        sgemm(M: L, N: hd, K: L, alpha: scale, A: dp, lda: L, B: kk, ldb: ldkv, C: dq + h * hd, ldc: ldq)
        sgemm(transA: true, M: L, N: hd, K: L, alpha: scale, A: dp, lda: L, B: qh, ldb: ldq, beta: 1, C: dk + kh * hd, ldc: ldkv)
    }
}
