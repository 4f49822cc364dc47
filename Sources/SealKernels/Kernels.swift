import COpenBLAS
import CSealKernels
#if canImport(Glibc)
import Glibc
#endif

// The numeric kernels of the decoder, llm.c style: plain functions `out, inputs, dims` over unsafe float buffers,
// shapes in the doc comments (row-major, last index fastest), no allocation inside. Matrix work goes to BLAS;
// elementwise work is written so that the compiler vectorises it (SIMD16 where it does not on its own).

public typealias FloatPtr = UnsafeMutablePointer<Float>
public typealias ConstFloatPtr = UnsafePointer<Float>

/// Time and FLOPs spent in sgemm, for benchmarks: how much of a pass is matrix work, and how fast it runs
/// against the sgemm ceiling. Off by default (no cost beyond one branch); not thread-safe (sgemm is only called
/// from the driving thread).
public enum KernelStats {
    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) public static var gemmSeconds = 0.0
    nonisolated(unsafe) public static var gemmFlops = 0.0

    public static func reset() { gemmSeconds = 0; gemmFlops = 0 }

    /// Monotonic seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// C[M,N] = alpha · op(A) · op(B) + beta · C, row-major, with op(X) = Xᵀ when the flag is set.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, M: Int, N: Int, K: Int,
                  alpha: Float = 1, A: ConstFloatPtr, lda: Int, B: ConstFloatPtr, ldb: Int,
                  beta: Float = 0, C: FloatPtr, ldc: Int) {
    if M == 0 || N == 0 { return }
    if KernelStats.enabled {
        let t0 = KernelStats.now()
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
        KernelStats.gemmSeconds += KernelStats.now() - t0
        KernelStats.gemmFlops += 2 * Double(M) * Double(N) * Double(K)
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(M), Int32(N), Int32(K), alpha, A, Int32(lda), B, Int32(ldb), beta, C, Int32(ldc))
}

/// Products with few rows (decode steps of a batch, short training rows) by seal's own kernels (seal_gemm.h says
/// why): a linear layer's forward `C[M, N] (+)= A[M, K] · W[N, K]ᵀ` and its input gradient `A[M, N] · W[N, K]`.
public enum SkinnyGEMM {
    /// Up to this many rows the kernel beats OpenBLAS here (measured at 1 thread, Qwen2.5-0.5B shapes: 1.2–1.6×
    /// at 40–46 rows, even at ~128).
    public static let maxRows = 64
    /// AVX-512 present; otherwise BLAS does all products. `SEAL_SKINNY_GEMM=0` turns the kernel off (for
    /// benchmarks beside OpenBLAS).
    public static let available: Bool = seal_gemm_nt_available() != 0 && getenv("SEAL_SKINNY_GEMM").map { String(cString: $0) != "0" } ?? true

    /// The kernels behind both products (seal_gemm.h).
    public enum Path: Int32, CaseIterable, Sendable {
        case portable = 0, avx512 = 1
    }

    /// The kernels this CPU can run.
    public static var supportedPaths: [Path] { Path.allCases.filter { seal_gemm_supports($0.rawValue) != 0 } }

    /// The kernel in use: the best this CPU has, unless `forcing` says otherwise.
    public static var path: Path { Path(rawValue: seal_gemm_path()) ?? .portable }

    /// Runs `body` with both products on kernel `path` (which the CPU must support): for tests and benchmarks.
    /// Not thread-safe; restores the default afterwards.
    public static func forcing<T>(_ path: Path, _ body: () throws -> T) rethrows -> T {
        precondition(seal_gemm_force_path(path.rawValue) == 0, "this CPU cannot run the \(path) kernel")
        defer { _ = seal_gemm_force_path(-1) }
        return try body()
    }

    /// `C[M, N] (+)= A[M, K] · W[N, K]ᵀ` (a linear layer's forward), weight rows split between threads in whole
    /// tiles.
    public static func multiply(_ C: FloatPtr, ldc: Int, _ A: ConstFloatPtr, lda: Int, _ W: ConstFloatPtr, ldw: Int,
                                M: Int, N: Int, K: Int, accumulate: Bool) {
        split(N, tile: seal_gemm_nt_tile_rows(), multiplyAdds: M * N * K) { start, end in
            seal_gemm_nt(C, ldc, A, lda, W, ldw, M, K, start, end, accumulate ? 1 : 0)
        }
    }

    /// `C[M, K] (+)= A[M, N] · W[N, K]` (a linear layer's input gradient), columns split between threads in whole
    /// tiles.
    public static func multiplyNN(_ C: FloatPtr, ldc: Int, _ A: ConstFloatPtr, lda: Int, _ W: ConstFloatPtr, ldw: Int,
                                  M: Int, N: Int, K: Int, accumulate: Bool) {
        split(K, tile: seal_gemm_nn_tile_columns(), multiplyAdds: M * N * K) { start, end in
            seal_gemm_nn(C, ldc, A, lda, W, ldw, M, N, start, end, accumulate ? 1 : 0)
        }
    }

    /// Runs `body(start, end)` over `0..<count` cut into whole tiles between threads, timed into `KernelStats`.
    private static func split(_ count: Int, tile: Int, multiplyAdds: Int, _ body: (Int, Int) -> Void) {
        let t0 = KernelStats.enabled ? KernelStats.now() : 0
        let tiles = (count + tile - 1) / tile
        Parallel.chunks(tiles, costPerItem: multiplyAdds / max(1, tiles)) { s, e in body(s * tile, min(e * tile, count)) }
        if KernelStats.enabled {
            KernelStats.gemmSeconds += KernelStats.now() - t0
            KernelStats.gemmFlops += 2 * Double(multiplyAdds)
        }
    }
}

/// Input gradient of a linear layer as HF stores it: dx[N, inDim] (=, or += with `accumulate`) dy[N, outDim] ·
/// weight[outDim, inDim] — by seal's few-row kernel up to `SkinnyGEMM.maxRows` rows, else BLAS.
public func linearBackwardInput(_ dx: FloatPtr, _ dy: ConstFloatPtr, _ weight: ConstFloatPtr, N: Int, inDim: Int,
                                outDim: Int, accumulate: Bool = false) {
    if N <= SkinnyGEMM.maxRows && SkinnyGEMM.available {
        SkinnyGEMM.multiplyNN(dx, ldc: inDim, dy, lda: outDim, weight, ldw: inDim, M: N, N: outDim, K: inDim, accumulate: accumulate)
        return
    }
    sgemm(M: N, N: inDim, K: outDim, A: dy, lda: outDim, B: weight, ldb: inDim, beta: accumulate ? 1 : 0, C: dx, ldc: inDim)
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
    if N == 1 {
        // One row (single-stream decoding): a matrix-vector product, which OpenBLAS streams through the weights
        // at memory bandwidth; its sgemm path for M = 1 packs the weights first.
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outDim), Int32(inDim), 1, weight, Int32(inDim), inp, 1, beta, out, 1)
        return
    }
    if N <= SkinnyGEMM.maxRows && SkinnyGEMM.available {
        SkinnyGEMM.multiply(out, ldc: outDim, inp, lda: inDim, weight, ldw: inDim, M: N, N: outDim, K: inDim, accumulate: beta != 0)
        return
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
        seal_rmsnorm_forward(out + start * D, rstd.map { $0 + start }, inp + start * D, weight, start == end ? 0 : end - start, D, eps)
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

/// out[n] = silu(gate[n]) · up[n] over n elements (SwiGLU). out may alias gate.
public func swigluForward(_ out: FloatPtr, gate: ConstFloatPtr, up: ConstFloatPtr, count n: Int) {
    Parallel.chunks(n, costPerItem: 4) { start, end in
        seal_swiglu_forward(out + start, gate + start, up + start, end - start)
    }
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
        seal_softmax_causal(p, Lq, Lk, offset + 1)
        // out_h[Lq, hd] = P V_h
        sgemm(M: Lq, N: hd, K: Lk, A: p, lda: Lk, B: v + kh * hd, ldb: ldkv, C: out + h * hd, ldc: ldo)
    }
}

/// y[i] = exp(x[i]) for i < count (vectorised; ≈1 ulp).
public func vectorExp(_ y: FloatPtr, _ x: ConstFloatPtr, count: Int) {
    seal_exp(y, UnsafeMutablePointer(mutating: x), count)
}

/// Per-row log-sum-exp of logits[N, V] → lse[N], accumulated in double after subtracting the row max.
public func logSumExpRows(_ lse: UnsafeMutablePointer<Double>, _ logits: ConstFloatPtr, N: Int, V: Int) {
    Parallel.chunks(N, costPerItem: V * 4) { start, end in
        seal_logsumexp_rows(lse + start, logits + start * V, end - start, V)
    }
}
