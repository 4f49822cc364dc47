// Matrix products with few rows: C[M, n] (+)= A[M, K] · W[n, K]ᵀ for a range of weight rows n, M small (a decode
// step of a batch of sequences, a short training row). See seal_gemm.h for why this exists beside OpenBLAS.
#include "seal_gemm.h"
#include <stdint.h>

// Portable references: what seal_gemm_nt / seal_gemm_nn compute where AVX-512 is absent (other CPUs, other
// architectures), so a caller never meets an illegal instruction; each output is still one fixed sequence of
// operations (k, resp. n, in order), independent of the range, M or thread. Production callers use BLAS there
// instead (SkinnyGEMM.available); tests reach these by seal_gemm_force_path(0).
static void seal_gemm_nt_portable(float *C, long ldc, const float *A, long lda, const float *W, long ldw,
                                  long M, long K, long n0, long n1, int accumulate) {
    for (long m = 0; m < M; m++)
        for (long n = n0; n < n1; n++) {
            float s = 0;
            for (long k = 0; k < K; k++) s += A[m * lda + k] * W[n * ldw + k];
            C[m * ldc + n] = accumulate ? C[m * ldc + n] + s : s;
        }
}

static void seal_gemm_nn_portable(float *C, long ldc, const float *A, long lda, const float *W, long ldw,
                                  long M, long N, long k0, long k1, int accumulate) {
    for (long m = 0; m < M; m++)
        for (long k = k0; k < k1; k++) {
            float s = accumulate ? C[m * ldc + k] : 0;
            for (long n = 0; n < N; n++) s += A[m * lda + n] * W[n * ldw + k];
            C[m * ldc + k] = s;
        }
}


#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define SEAL_AVX512 __attribute__((target("avx512f")))

enum { MR = 4, NR = 6 };

// One tile: rows m < mr (≤ MR) of A against weight rows j < nr (≤ NR), over k in [k0, k1). Each output is the sum
// of 16 lane-wise partial sums accumulated in k order, then reduced by one fixed tree (_mm512_reduce_add_ps): the
// arithmetic of an output does not depend on the tile, M, or the thread it falls in, so a row's result is the same
// bits whatever batch it is computed in. `pf`, when given, is the next tile's weights: touched one cache line per
// weight row and k step so that they are in L2 when that tile starts (the weights stream from memory once).
SEAL_AVX512
static inline void seal_nt_tile(float *C, long ldc, const float *A, long lda, const float *W, long ldw,
                                int mr, int nr, long k0, long k1, int add, const float *pf) {
    __m512 acc[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) acc[i][j] = _mm512_setzero_ps();
    long k = k0;
    if (mr == MR && nr == NR) {
        for (; k + 16 <= k1; k += 16) {
            __m512 w[NR];
            for (int j = 0; j < NR; j++) w[j] = _mm512_loadu_ps(W + j * ldw + k);
            if (pf)
                for (int j = 0; j < NR; j++) _mm_prefetch((const char *)(pf + j * ldw + k), _MM_HINT_T1);
            for (int i = 0; i < MR; i++) {
                __m512 a = _mm512_loadu_ps(A + i * lda + k);
                for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(a, w[j], acc[i][j]);
            }
        }
    } else {
        for (; k + 16 <= k1; k += 16) {
            __m512 w[NR];
            for (int j = 0; j < NR; j++) w[j] = j < nr ? _mm512_loadu_ps(W + j * ldw + k) : _mm512_setzero_ps();
            for (int i = 0; i < MR; i++) {
                if (i >= mr) break;
                __m512 a = _mm512_loadu_ps(A + i * lda + k);
                for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(a, w[j], acc[i][j]);
            }
        }
    }
    if (k < k1) {
        __mmask16 mask = (__mmask16)((1u << (k1 - k)) - 1);
        __m512 w[NR];
        for (int j = 0; j < NR; j++) w[j] = j < nr ? _mm512_maskz_loadu_ps(mask, W + j * ldw + k) : _mm512_setzero_ps();
        for (int i = 0; i < MR; i++) {
            if (i >= mr) break;
            __m512 a = _mm512_maskz_loadu_ps(mask, A + i * lda + k);
            for (int j = 0; j < NR; j++) acc[i][j] = _mm512_fmadd_ps(a, w[j], acc[i][j]);
        }
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float s = _mm512_reduce_add_ps(acc[i][j]);
            C[i * ldc + j] = add ? C[i * ldc + j] + s : s;
        }
}

SEAL_AVX512
static void seal_gemm_nt_avx512(float *C, long ldc, const float *A, long lda, const float *W, long ldw,
                                long M, long K, long n0, long n1, int accumulate) {
    // K in blocks of at most ~1024 so that a tile's weights (NR rows × block) stay in L1 while every row block of
    // A passes over them; blocks are equal and a multiple of 16, so that only the last has a masked tail.
    long blocks = (K + 1023) / 1024;
    long kc = ((K + blocks - 1) / blocks + 15) / 16 * 16;
    for (long n = n0; n < n1; n += NR) {
        int nr = (int)(n1 - n < NR ? n1 - n : NR);
        const float *next = (n + NR < n1) ? W + (n + NR) * ldw : 0;
        for (long k0 = 0; k0 < K; k0 += kc) {
            long k1 = k0 + kc < K ? k0 + kc : K;
            int add = accumulate || k0 > 0;
            for (long m = 0; m < M; m += MR) {
                int mr = (int)(M - m < MR ? M - m : MR);
                const float *pf = (m == 0 && nr == NR && next && n + 2 * NR <= n1) ? next : 0;
                seal_nt_tile(C + m * ldc + n, ldc, A + m * lda, lda, W + n * ldw, ldw, mr, nr, k0, k1, add, pf);
            }
        }
    }
}

#endif

// ---------------------------------------------------------------------------------------------------------------
// C[M, K] (+)= A[M, N] · W[N, K]: a linear layer's input gradient (dx = dy · W) for few rows.
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))

enum { NN_MR = 4, NN_NV = 6, NN_NB = 64 };

// One tile: rows m < mr of C, the 16·NN_NV columns of the packed panel P ([nb][16·NN_NV], zero-padded), over the
// panel's nb rows of W in order; C holds the running sum between blocks (`load`), and only the first `nv` vectors
// (the last masked by `last`) are stored. An output's arithmetic depends on nothing but its own row and column.
SEAL_AVX512
static inline void seal_nn_tile(float *C, long ldc, const float *A, long lda, const float *P, long nb,
                                int mr, int nv, __mmask16 last, int load) {
    __m512 acc[NN_MR][NN_NV];
    for (int i = 0; i < NN_MR; i++)
        for (int v = 0; v < NN_NV; v++)
            acc[i][v] = (load && i < mr && v < nv)
                ? _mm512_maskz_loadu_ps(v == nv - 1 ? last : (__mmask16)0xFFFF, C + i * ldc + 16 * v) : _mm512_setzero_ps();
    if (mr == NN_MR) {
        for (long n = 0; n < nb; n++) {
            const float *p = P + n * 16 * NN_NV;
            __m512 w[NN_NV];
            for (int v = 0; v < NN_NV; v++) w[v] = _mm512_load_ps(p + 16 * v);
            for (int i = 0; i < NN_MR; i++) {
                __m512 a = _mm512_set1_ps(A[i * lda + n]);
                for (int v = 0; v < NN_NV; v++) acc[i][v] = _mm512_fmadd_ps(a, w[v], acc[i][v]);
            }
        }
    } else {
        for (long n = 0; n < nb; n++) {
            const float *p = P + n * 16 * NN_NV;
            __m512 w[NN_NV];
            for (int v = 0; v < NN_NV; v++) w[v] = _mm512_load_ps(p + 16 * v);
            for (int i = 0; i < NN_MR; i++) {
                if (i >= mr) break;
                __m512 a = _mm512_set1_ps(A[i * lda + n]);
                for (int v = 0; v < NN_NV; v++) acc[i][v] = _mm512_fmadd_ps(a, w[v], acc[i][v]);
            }
        }
    }
    for (int i = 0; i < mr; i++)
        for (int v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(C + i * ldc + 16 * v, v == nv - 1 ? last : (__mmask16)0xFFFF, acc[i][v]);
}

SEAL_AVX512
static void seal_gemm_nn_avx512(float *C, long ldc, const float *A, long lda, const float *W, long ldw,
                                long M, long N, long k0, long k1, int accumulate) {
    // Blocks of 64 rows of W outermost (the rows of A they meet, M × 64, stay in cache across the column panels);
    // per block, each panel of 96 columns is copied into a contiguous, aligned buffer (24 KB: L1) that every row
    // tile of A then passes over. Reading W's rows in place instead (strided by the row length) ran at 0.7×
    // OpenBLAS: 64 rows × 6 lines at a large power-of-two-ish stride fall into few L1 sets.
    float P[NN_NB * 16 * NN_NV] __attribute__((aligned(64)));
    for (long n0 = 0; n0 < N; n0 += NN_NB) {
        long nb = N - n0 < NN_NB ? N - n0 : NN_NB;
        int load = accumulate || n0 > 0;
        for (long k = k0; k < k1; k += 16 * NN_NV) {
            long width = k1 - k < 16 * NN_NV ? k1 - k : 16 * NN_NV;
            int nv = (int)((width + 15) / 16);
            long rem = width - 16 * (nv - 1);
            __mmask16 last = (__mmask16)(rem == 16 ? 0xFFFF : ((1u << rem) - 1));
            for (long n = 0; n < nb; n++) {
                const float *src = W + (n0 + n) * ldw + k;
                for (int v = 0; v < NN_NV; v++)
                    _mm512_store_ps(P + n * 16 * NN_NV + 16 * v,
                                    v < nv ? _mm512_maskz_loadu_ps(v == nv - 1 ? last : (__mmask16)0xFFFF, src + 16 * v) : _mm512_setzero_ps());
            }
            for (long m = 0; m < M; m += NN_MR) {
                int mr = (int)(M - m < NN_MR ? M - m : NN_MR);
                seal_nn_tile(C + m * ldc + k, ldc, A + m * lda + n0, lda, P, nb, mr, nv, last, load);
            }
        }
    }
}

#endif


// ---------------------------------------------------------------------------------------------------------------
// Which kernel runs: AVX-512 where the CPU has it, else the portable loop, or one forced by seal_gemm_force_path
// (tests, benchmarks). An AVX2 + FMA version of both (3×4 and 4×24 tiles, 8 lanes) ran at 0.64–0.82× OpenBLAS's
// Haswell kernels on Qwen2.5-0.5B's layers at 40 rows (`seal bench few-rows`), so AVX2 CPUs use OpenBLAS.
static int seal_gemm_forced = -1;

int seal_gemm_supports(int path) {
    if (path == SEAL_GEMM_PORTABLE) return 1;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (path == SEAL_GEMM_AVX512) return __builtin_cpu_supports("avx512f");
#endif
    return 0;
}

static int seal_gemm_best(void) {
    static int best = -1;
    if (best < 0)
        best = seal_gemm_supports(SEAL_GEMM_AVX512) ? SEAL_GEMM_AVX512 : SEAL_GEMM_PORTABLE;
    return best;
}

int seal_gemm_path(void) { return seal_gemm_forced >= 0 ? seal_gemm_forced : seal_gemm_best(); }

int seal_gemm_force_path(int path) {
    if (path < 0) { seal_gemm_forced = -1; return 0; }
    if (!seal_gemm_supports(path)) return -1;
    seal_gemm_forced = path;
    return 0;
}

int seal_gemm_nt_available(void) { return seal_gemm_best() != SEAL_GEMM_PORTABLE; }

long seal_gemm_nt_tile_rows(void) { return 6; }

long seal_gemm_nn_tile_columns(void) { return 96; }

void seal_gemm_nt(float *C, long ldc, const float *A, long lda, const float *W, long ldw,
                  long M, long K, long n0, long n1, int accumulate) {
    switch (seal_gemm_path()) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    case SEAL_GEMM_AVX512: seal_gemm_nt_avx512(C, ldc, A, lda, W, ldw, M, K, n0, n1, accumulate); return;
#endif
    default: seal_gemm_nt_portable(C, ldc, A, lda, W, ldw, M, K, n0, n1, accumulate);
    }
}

void seal_gemm_nn(float *C, long ldc, const float *A, long lda, const float *W, long ldw,
                  long M, long N, long k0, long k1, int accumulate) {
    if (M <= 0 || k1 <= k0) return;
    if (N <= 0) {
        if (!accumulate)
            for (long m = 0; m < M; m++)
                for (long k = k0; k < k1; k++) C[m * ldc + k] = 0;
        return;
    }
    switch (seal_gemm_path()) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    case SEAL_GEMM_AVX512: seal_gemm_nn_avx512(C, ldc, A, lda, W, ldw, M, N, k0, k1, accumulate); return;
#endif
    default: seal_gemm_nn_portable(C, ldc, A, lda, W, ldw, M, N, k0, k1, accumulate);
    }
}
