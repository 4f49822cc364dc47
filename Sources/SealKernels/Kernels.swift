import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

// The numeric kernels of the decoder, llm.c style: plain functions `out, inputs, dims` over unsafe float buffers,
// shapes in the doc comments (row-major, last index fastest), no allocation inside. Matrix work goes to BLAS;
// elementwise work is written so that the compiler vectorises it (SIMD16 where it does not on its own).

public typealias FloatPtr = UnsafeMutablePointer<Float>
public typealias ConstFloatPtr = UnsafePointer<Float>

/// C[M,N] = alpha · op(A) · op(B) + beta · C, row-major, with op(X) = Xᵀ when the flag is set.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, M: Int, N: Int, K: Int,
                  alpha: Float = 1, A: ConstFloatPtr, lda: Int, B: ConstFloatPtr, ldb: Int,
                  beta: Float = 0, C: FloatPtr, ldc: Int) {
    if M == 0 || N == 0 { return }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
}

/// Linear layer as HF stores it: out[N, outDim] = inp[N, inDim] · weight[outDim, inDim]ᵀ + bias[outDim].
/// With `accumulate` the product is added to what `out` holds (the residual stream), bias included.
public func linearForward(_ out: FloatPtr, _ inp: ConstFloatPtr, _ weight: ConstFloatPtr, _ bias: ConstFloatPtr?,
                          N: Int, inDim: Int, outDim: Int, accumulate: Bool = false) {
    var beta: Float = accumulate ? 1 : 0
    if let bias {
        // Seed the output with the bias and let sgemm add the product onto it.
        for n in 0..<N {
            let row = out + n * outDim
            if accumulate { for o in 0..<outDim { row[o] += bias[o] } } else { row.update(from: bias, count: outDim) }
        }
        beta = 1
    }
    sgemm(transB: true, M: N, N: outDim, K: inDim, A: inp, lda: inDim, B: weight, ldb: inDim,
          beta: beta, C: out, ldc: outDim)
}

/// out[N, D] = table[tokens[n], D] (token embedding lookup).
public func embeddingForward(_ out: FloatPtr, tokens: UnsafePointer<Int32>, table: ConstFloatPtr, N: Int, D: Int) {
    for n in 0..<N {
        (out + n * D).update(from: table + Int(tokens[n]) * D, count: D)
    }
}

/// RMSNorm as HF computes it: out[N, D] = inp · rsqrt(mean(inp²) + eps) · weight[D]. Saves rstd[N] for backward
/// when given. The sum of squares is accumulated in Double: the result is the correctly rounded float32 mean that
/// PyTorch's pairwise reduction approximates.
public func rmsnormForward(_ out: FloatPtr, rstd: FloatPtr?, _ inp: ConstFloatPtr, weight: ConstFloatPtr,
                           N: Int, D: Int, eps: Float) {
    Parallel.chunks(N, costPerItem: D) { start, end in
        for n in start..<end {
            let x = inp + n * D
            let y = out + n * D
            var ss: Double = 0
            for i in 0..<D { let v = Double(x[i]); ss += v * v }
            let r = Float(1.0 / (ss / Double(D) + Double(eps)).squareRoot())
            rstd?[n] = r
            for i in 0..<D { y[i] = weight[i] * (x[i] * r) }
        }
    }
}

/// Rotary position embedding, HF's rotate-half layout, in place on x[N, H, hd]: for i < hd/2 the pair
/// (x[i], x[i + hd/2]) is rotated by angle positions[n] · invFreq[i]. cos/sin[N, hd/2] come from `ropeTables`.
public func ropeForward(_ x: FloatPtr, cos: ConstFloatPtr, sin: ConstFloatPtr, N: Int, H: Int, headDim hd: Int) {
    let half = hd / 2
    Parallel.chunks(N, costPerItem: H * hd) { start, end in
        for n in start..<end {
            let c = cos + n * half, s = sin + n * half
            for h in 0..<H {
                let v = x + (n * H + h) * hd
                for i in 0..<half {
                    let a = v[i], b = v[i + half]
                    v[i] = a * c[i] - b * s[i]
                    v[i + half] = b * c[i] + a * s[i]
                }
            }
        }
    }
}

/// Backward of `ropeForward`, in place on the gradient: the rotation is orthogonal, so its transpose rotates by
/// the opposite angle.
public func ropeBackward(_ dx: FloatPtr, cos: ConstFloatPtr, sin: ConstFloatPtr, N: Int, H: Int, headDim hd: Int) {
    let half = hd / 2
    Parallel.chunks(N, costPerItem: H * hd) { start, end in
        for n in start..<end {
            let c = cos + n * half, s = sin + n * half
            for h in 0..<H {
                let v = dx + (n * H + h) * hd
                for i in 0..<half {
                    let a = v[i], b = v[i + half]
                    v[i] = a * c[i] + b * s[i]
                    v[i + half] = b * c[i] - a * s[i]
                }
            }
        }
    }
}

/// cos/sin[N, hd/2] for the given positions, computed as HF does: the angle is the float32 product
/// float(position) · invFreq[i], then cos and sin of that float.
public func ropeTables(cos: FloatPtr, sin: FloatPtr, positions: UnsafePointer<Int32>, invFreq: ConstFloatPtr,
                       N: Int, half: Int) {
    for n in 0..<N {
        let p = Float(positions[n])
        for i in 0..<half {
            let angle = p * invFreq[i]
            cos[n * half + i] = Glibc.cos(angle)
            sin[n * half + i] = Glibc.sin(angle)
        }
    }
}

/// out[n] = silu(gate[n]) · up[n] over n elements (SwiGLU).
public func swigluForward(_ out: FloatPtr, gate: ConstFloatPtr, up: ConstFloatPtr, count n: Int) {
    Parallel.chunks(n / 16, costPerItem: 16 * 8) { start, end in
        for c in start..<end {
            let g = UnsafeRawPointer(gate + c * 16).loadUnaligned(as: SIMD16<Float>.self)
            let u = UnsafeRawPointer(up + c * 16).loadUnaligned(as: SIMD16<Float>.self)
            let s = g / (1 + fastExp(-g))
            UnsafeMutableRawPointer(out + c * 16).storeBytes(of: s * u, as: SIMD16<Float>.self)
        }
    }
    for i in (n / 16 * 16)..<n {
        let g = gate[i]
        out[i] = g / (1 + expf(-g)) * up[i]
    }
}

/// exp on 16 lanes: Cephes' single-precision polynomial (max error ≈ 1 ulp on the normal range); inputs below
/// -87.3 give 0 and above 88.7 give +inf like expf.
@inline(__always)
public func fastExp(_ xIn: SIMD16<Float>) -> SIMD16<Float> {
    let hi = SIMD16<Float>(repeating: 88.72283)
    let lo = SIMD16<Float>(repeating: -87.33654)
    var x = xIn.replacing(with: hi, where: xIn .> hi)
    x = x.replacing(with: lo, where: x .< lo)
    let fx = (x * 1.44269504088896341 + 0.5).rounded(.down)
    x = x - fx * 0.693359375
    x = x - fx * -2.12194440e-4
    let z = x * x
    var y = SIMD16<Float>(repeating: 1.9875691500e-4)
    y = y * x + 1.3981999507e-3
    y = y * x + 8.3334519073e-3
    y = y * x + 4.1665795894e-2
    y = y * x + 1.6666665459e-1
    y = y * x + 5.0000001201e-1
    y = y * z + x + 1
    let n = SIMD16<Int32>(fx, rounding: .towardZero) &+ 127
    let pow2 = unsafeBitCast(n &<< 23, to: SIMD16<Float>.self)
    var r = y * pow2
    r.replace(with: 0, where: xIn .< lo)
    r.replace(with: .infinity, where: xIn .> hi)
    return r
}

/// Softmax in place over each row's first `valid[r]` entries of a [rows, stride] matrix (entries past `valid` are
/// set to 0: a causal or padding mask). Returns nothing; rows with valid = 0 become all zero.
@inline(__always)
public func softmaxRowPrefix(_ row: FloatPtr, valid: Int, stride: Int) {
    var m = -Float.infinity
    for j in 0..<valid where row[j] > m { m = row[j] }
    var sum: Float = 0
    var j = 0
    let mv = SIMD16<Float>(repeating: m)
    var acc = SIMD16<Float>(repeating: 0)
    while j + 16 <= valid {
        let v = fastExp(UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self) - mv)
        UnsafeMutableRawPointer(row + j).storeBytes(of: v, as: SIMD16<Float>.self)
        acc += v
        j += 16
    }
    sum = acc.sum()
    while j < valid { let e = expf(row[j] - m); row[j] = e; sum += e; j += 1 }
    let inv = 1 / sum
    for j in 0..<valid { row[j] *= inv }
    for j in valid..<stride { row[j] = 0 }
}

/// One sequence's causal multi-head attention with grouped KV heads.
///   q[Lq, Hq·hd] (row stride ldq), k, v[Lk, Hkv·hd] (row stride ldkv) → out[Lq, Hq·hd] (row stride ldo).
/// The queries are the last Lq positions of the Lk keys (Lq = Lk for a prompt; Lq < Lk when decoding against a
/// KV cache), so query i sees keys 0 ... Lk - Lq + i. Head h's probabilities P_h[Lq, Lk] are written at
/// `probs + h * probsHeadStride`: stride Lq·Lk keeps them all for backward, stride 0 reuses one scratch matrix.
public func attentionForward(out: FloatPtr, ldo: Int, q: ConstFloatPtr, ldq: Int, k: ConstFloatPtr,
                             v: ConstFloatPtr, ldkv: Int, probs: FloatPtr, probsHeadStride: Int,
                             Lq: Int, Lk: Int, Hq: Int, Hkv: Int, headDim hd: Int) {
    let group = Hq / Hkv
    let scale = 1 / Float(hd).squareRoot()
    let offset = Lk - Lq
    for h in 0..<Hq {
        let kh = h / group
        let p = probs + h * probsHeadStride
        // scores[Lq, Lk] = scale · Q_h K_hᵀ
        sgemm(transB: true, M: Lq, N: Lk, K: hd, alpha: scale, A: q + h * hd, lda: ldq,
              B: k + kh * hd, ldb: ldkv, C: p, ldc: Lk)
        for i in 0..<Lq { softmaxRowPrefix(p + i * Lk, valid: offset + i + 1, stride: Lk) }
        // out_h[Lq, hd] = P V_h
        sgemm(M: Lq, N: hd, K: Lk, A: p, lda: Lk, B: v + kh * hd, ldb: ldkv, C: out + h * hd, ldc: ldo)
    }
}

/// Per-row log-sum-exp of logits[N, V] → lse[N], accumulated in Double after subtracting the row max.
public func logSumExpRows(_ lse: UnsafeMutablePointer<Double>, _ logits: ConstFloatPtr, N: Int, V: Int) {
    Parallel.chunks(N, costPerItem: V * 4) { start, end in
        for n in start..<end {
            let row = logits + n * V
            var m = -Float.infinity
            for j in 0..<V where row[j] > m { m = row[j] }
            var s: Double = 0
            for j in 0..<V { s += Double(expf(row[j] - m)) }
            lse[n] = Double(m) + log(s)
        }
    }
}
