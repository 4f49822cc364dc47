#include "seal_kernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <float.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define SEAL_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SEAL_MULTIVERSION
#endif

// Cephes' single-precision exp: round(x / ln 2) splits off a power of two, a degree-6 polynomial covers the
// remainder. Written branch-free so that loops calling it vectorise.
static inline float seal_expf(float x) {
    x = x < -87.33654f ? -87.33654f : (x > 88.37626f ? 88.37626f : x);
    float fx = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    x = x - fx * 0.693359375f;
    x = x - fx * -2.12194440e-4f;
    float z = x * x;
    float y = 1.9875691500e-4f;
    y = y * x + 1.3981999507e-3f;
    y = y * x + 8.3334519073e-3f;
    y = y * x + 4.1665795894e-2f;
    y = y * x + 1.6666665459e-1f;
    y = y * x + 5.0000001201e-1f;
    y = y * z + x + 1.0f;
    int32_t n = (int32_t)fx;
    uint32_t bits = (uint32_t)(n + 127) << 23;
    float p;
    memcpy(&p, &bits, 4);
    return y * p;
}

SEAL_MULTIVERSION
void seal_exp(float *y, const float *x, long n) {
    for (long i = 0; i < n; i++) y[i] = seal_expf(x[i]);
}

SEAL_MULTIVERSION
void seal_swiglu_forward(float *out, const float *gate, const float *up, long n) {
    // out may be gate itself (element i is read before it is written): safe to vectorise, which the compiler's
    // runtime overlap check would otherwise refuse.
#if defined(__clang__)
#pragma clang loop vectorize(assume_safety)
#endif
    for (long i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + seal_expf(-g)) * up[i];
    }
}

SEAL_MULTIVERSION
void seal_softmax_causal(float *p, long rows, long stride, long firstValid) {
    for (long r = 0; r < rows; r++) {
        float *row = p + r * stride;
        long valid = firstValid + r;
        if (valid > stride) valid = stride;
        if (valid <= 0) { memset(row, 0, sizeof(float) * stride); continue; }
        float m = row[0];
        for (long j = 1; j < valid; j++) m = row[j] > m ? row[j] : m;
        float acc[16] = {0};
        long j = 0;
        for (; j + 16 <= valid; j += 16)
            for (int l = 0; l < 16; l++) { float e = seal_expf(row[j + l] - m); row[j + l] = e; acc[l] += e; }
        float sum = 0;
        for (int l = 0; l < 16; l++) sum += acc[l];
        for (; j < valid; j++) { float e = seal_expf(row[j] - m); row[j] = e; sum += e; }
        float inv = 1.0f / sum;
        // Probabilities below FLT_MIN become 0, not denormals: a denormal operand makes the next matrix product
        // (P·V, or the backward's products) run ~100x slower on x86.
        for (j = 0; j < valid; j++) { float v = row[j] * inv; row[j] = v < FLT_MIN ? 0.0f : v; }
        if (valid < stride) memset(row + valid, 0, sizeof(float) * (stride - valid));
    }
}

SEAL_MULTIVERSION
void seal_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, long N, long D, float eps) {
    for (long n = 0; n < N; n++) {
        const float *x = inp + n * D;
        float *y = out + n * D;
        double acc[8] = {0};
        long i = 0;
        for (; i + 8 <= D; i += 8)
            for (int l = 0; l < 8; l++) acc[l] += (double)x[i + l] * (double)x[i + l];
        double ss = 0;
        for (int l = 0; l < 8; l++) ss += acc[l];
        for (; i < D; i++) ss += (double)x[i] * (double)x[i];
        float r = (float)(1.0 / sqrt(ss / (double)D + (double)eps));
        if (rstd) rstd[n] = r;
        for (i = 0; i < D; i++) y[i] = weight[i] * (x[i] * r);
    }
}

SEAL_MULTIVERSION
void seal_logsumexp_rows(double *lse, const float *logits, long N, long V) {
    for (long n = 0; n < N; n++) {
        const float *row = logits + n * V;
        float m = row[0];
        for (long j = 1; j < V; j++) m = row[j] > m ? row[j] : m;
        float acc[16] = {0};
        long j = 0;
        for (; j + 16 <= V; j += 16)
            for (int l = 0; l < 16; l++) acc[l] += seal_expf(row[j + l] - m);
        double s = 0;
        for (int l = 0; l < 16; l++) s += acc[l];
        for (; j < V; j++) s += seal_expf(row[j] - m);
        lse[n] = (double)m + log(s);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Backward kernels

SEAL_MULTIVERSION
void seal_swiglu_backward(float *dgate, float *dup, const float *dh, const float *gate, const float *up, long n) {
#if defined(__clang__)
#pragma clang loop vectorize(assume_safety)
#endif
    for (long i = 0; i < n; i++) {
        float g = gate[i], u = up[i], d = dh[i];
        float s = 1.0f / (1.0f + seal_expf(-g));
        float silu = g * s;
        dgate[i] = d * u * s * (1.0f + g * (1.0f - s));
        dup[i] = d * silu;
    }
}

SEAL_MULTIVERSION
void seal_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                           const float *rstd, long N, long D) {
    for (long n = 0; n < N; n++) {
        const float *x = inp + n * D, *dy = dout + n * D;
        float *dx = dinp + n * D;
        float r = rstd[n];
        double dot = 0;
        for (long i = 0; i < D; i++) dot += (double)weight[i] * dy[i] * x[i];
        float c = (float)(dot * (double)r * r * r / (double)D);
        for (long i = 0; i < D; i++) dx[i] += r * weight[i] * dy[i] - c * x[i];
        if (dweight)
            for (long i = 0; i < D; i++) dweight[i] += dy[i] * x[i] * r;
    }
}

SEAL_MULTIVERSION
void seal_softmax_causal_backward(float *dp, const float *p, long rows, long stride, long firstValid) {
    for (long r = 0; r < rows; r++) {
        float *d = dp + r * stride;
        const float *pr = p + r * stride;
        long valid = firstValid + r;
        if (valid > stride) valid = stride;
        if (valid < 0) valid = 0;
        float dot = 0;
        for (long j = 0; j < valid; j++) dot += pr[j] * d[j];
        for (long j = 0; j < valid; j++) { float v = pr[j] * (d[j] - dot); d[j] = fabsf(v) < FLT_MIN ? 0.0f : v; }
        for (long j = valid; j < stride; j++) d[j] = 0;
    }
}

SEAL_MULTIVERSION
void seal_cross_entropy_forward_backward(double *loss, float *logits, const int *targets, long N, long V, float scale) {
    for (long n = 0; n < N; n++) {
        float *row = logits + n * V;
        int t = targets[n];
        float target = row[t];
        float m = row[0];
        for (long j = 1; j < V; j++) m = row[j] > m ? row[j] : m;
        float acc[16] = {0};
        long j = 0;
        for (; j + 16 <= V; j += 16)
            for (int l = 0; l < 16; l++) { float e = seal_expf(row[j + l] - m); row[j + l] = e; acc[l] += e; }
        double s = 0;
        for (int l = 0; l < 16; l++) s += acc[l];
        for (; j < V; j++) { float e = seal_expf(row[j] - m); row[j] = e; s += e; }
        loss[n] = log(s) + (double)m - (double)target;
        float inv = (float)(1.0 / s) * scale;
        // Tiny probabilities become 0 rather than denormals (see seal_softmax_causal): the logits gradient feeds
        // a [rows, vocab] x [vocab, hidden] product that denormals would slow ~100x.
        for (j = 0; j < V; j++) { float v = row[j] * inv; row[j] = v < FLT_MIN ? 0.0f : v; }
        row[t] -= scale;
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Optimizer

SEAL_MULTIVERSION
void seal_adamw(float *p, const float *g, float *m, float *v, long n, float lr, float b1, float b2, float eps,
                float wd, float bc1, float bc2sqrt) {
    float decay = 1.0f - lr * wd, step = lr / bc1;
    for (long i = 0; i < n; i++) {
        float gi = g[i];
        float mi = m[i] + (1.0f - b1) * (gi - m[i]);   // torch: exp_avg.lerp_(grad, 1 - beta1)
        float vi = v[i] * b2 + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2sqrt + eps;
        p[i] = p[i] * decay - step * mi / denom;
    }
}

SEAL_MULTIVERSION
double seal_sum_squares(const float *x, long n) {
    double acc[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += (double)x[i + l] * (double)x[i + l];
    double s = 0;
    for (int l = 0; l < 8; l++) s += acc[l];
    for (; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

SEAL_MULTIVERSION
void seal_scale(float *x, long n, float s) {
    for (long i = 0; i < n; i++) x[i] *= s;
}

void seal_flush_denormals_on_this_thread(void) {
#if defined(__x86_64__)
    _mm_setcsr(_mm_getcsr() | 0x8040);  // FTZ (bit 15) and DAZ (bit 6)
#endif
}

SEAL_MULTIVERSION
float seal_stream_sum(const float *x, long n) {
    float acc[32] = {0};
    long i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 32; l++) acc[l] += x[i + l];
    float s = 0;
    for (int l = 0; l < 32; l++) s += acc[l];
    for (; i < n; i++) s += x[i];
    return s;
}

// One query row against Lk cached keys for one head (decoding): out[hd] = softmax(scale * K q) V, with
// q[hd], k and v rows of stride ldkv, scratch[Lk]. No BLAS call: a decoding step has one of these per (sequence,
// head), thousands per step, each too small to pay for a BLAS call.
SEAL_MULTIVERSION
static void seal_attention_row_generic(float *out, const float *q, const float *k, const float *v, long Lk, long hd,
                                       long ldkv, float scale, float *scratch) {
    float m = -INFINITY;
    for (long j = 0; j < Lk; j++) {
        const float *kj = k + j * ldkv;
        // q·k in 16 lane-wise partial sums, then a fixed halving tree: the compiler keeps the lanes in one vector
        // register. A plain `s += q[d] * k[d]` loop stays scalar (the compiler may not reorder a float sum) and
        // was a chain of hd dependent adds per key: 14 % of a batched-sampling run.
        float part[16] = {0};
        long d = 0;
        for (; d + 16 <= hd; d += 16)
            for (int l = 0; l < 16; l++) part[l] += q[d + l] * kj[d + l];
        for (int l = 0; d + l < hd; l++) part[l] += q[d + l] * kj[d + l];
        for (int l = 0; l < 8; l++) part[l] += part[l + 8];
        for (int l = 0; l < 4; l++) part[l] += part[l + 4];
        for (int l = 0; l < 2; l++) part[l] += part[l + 2];
        float s = part[0] + part[1];
        s *= scale;
        scratch[j] = s;
        m = s > m ? s : m;
    }
    float sum = 0;
    for (long j = 0; j < Lk; j++) { float e = seal_expf(scratch[j] - m); scratch[j] = e; sum += e; }
    float inv = 1.0f / sum;
    for (long d = 0; d < hd; d++) out[d] = 0;
    for (long j = 0; j < Lk; j++) {
        float p = scratch[j] * inv;
        if (p < FLT_MIN) continue;
        const float *vj = v + j * ldkv;
        for (long d = 0; d < hd; d++) out[d] += p * vj[d];
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

// The decode attention of one query row with the head's vectors in registers: NV = hd / 16 vectors of q, of the
// output accumulator, and per key one product q·k reduced by one fixed tree. `always_inline` with a constant NV
// (4 and 8: head sizes 64 and 128) lets the compiler unroll and keep everything in registers.
__attribute__((target("avx512f"), always_inline))
static inline void seal_attention_row_nv(int NV, float *out, const float *q, const float *k, const float *v, long Lk,
                                         long ldkv, float scale, float *scratch) {
    __m512 qv[16], o[16];
    for (int i = 0; i < NV; i++) { qv[i] = _mm512_loadu_ps(q + 16 * i); o[i] = _mm512_setzero_ps(); }
    float m = -INFINITY;
    for (long j = 0; j < Lk; j++) {
        const float *kj = k + j * ldkv;
        __m512 acc = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kj));
        for (int i = 1; i < NV; i++) acc = _mm512_fmadd_ps(qv[i], _mm512_loadu_ps(kj + 16 * i), acc);
        float sc = _mm512_reduce_add_ps(acc) * scale;
        scratch[j] = sc;
        m = sc > m ? sc : m;
    }
    for (long j = 0; j < Lk; j++) scratch[j] -= m;
    seal_exp(scratch, scratch, Lk);
    __m512 vsum = _mm512_setzero_ps();
    long j = 0;
    for (; j + 16 <= Lk; j += 16) vsum = _mm512_add_ps(vsum, _mm512_loadu_ps(scratch + j));
    if (j < Lk) vsum = _mm512_add_ps(vsum, _mm512_maskz_loadu_ps((__mmask16)((1u << (Lk - j)) - 1), scratch + j));
    float inv = 1.0f / _mm512_reduce_add_ps(vsum);
    for (j = 0; j < Lk; j++) {
        float p = scratch[j] * inv;
        if (p < FLT_MIN) continue;  // no denormal operands (see seal_softmax_causal)
        __m512 pb = _mm512_set1_ps(p);
        const float *vj = v + j * ldkv;
        for (int i = 0; i < NV; i++) o[i] = _mm512_fmadd_ps(pb, _mm512_loadu_ps(vj + 16 * i), o[i]);
    }
    for (int i = 0; i < NV; i++) _mm512_storeu_ps(out + 16 * i, o[i]);
}

__attribute__((target("avx512f")))
static void seal_attention_row_avx512_64(float *out, const float *q, const float *k, const float *v, long Lk, long ldkv,
                                         float scale, float *scratch) {
    seal_attention_row_nv(4, out, q, k, v, Lk, ldkv, scale, scratch);
}

__attribute__((target("avx512f")))
static void seal_attention_row_avx512_128(float *out, const float *q, const float *k, const float *v, long Lk, long ldkv,
                                          float scale, float *scratch) {
    seal_attention_row_nv(8, out, q, k, v, Lk, ldkv, scale, scratch);
}

static int seal_has_avx512(void) {
    static int known = -1;
    if (known < 0) { __builtin_cpu_init(); known = __builtin_cpu_supports("avx512f") ? 1 : 0; }
    return known;
}
#endif

void seal_attention_row(float *out, const float *q, const float *k, const float *v, long Lk, long hd, long ldkv,
                        float scale, float *scratch) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (Lk > 0 && seal_has_avx512()) {
        if (hd == 64) { seal_attention_row_avx512_64(out, q, k, v, Lk, ldkv, scale, scratch); return; }
        if (hd == 128) { seal_attention_row_avx512_128(out, q, k, v, Lk, ldkv, scale, scratch); return; }
    }
#endif
    seal_attention_row_generic(out, q, k, v, Lk, hd, ldkv, scale, scratch);
}
