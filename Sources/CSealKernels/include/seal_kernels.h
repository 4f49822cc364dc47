// Elementwise and row-wise kernels of seal, in C so that the compiler vectorises them for the CPU it runs on.
//
// Why C: Swift compiles for baseline x86-64 and lowers SIMD min/max/select and float<->int conversions lane by
// lane, which made SwiGLU ~20x slower than this loop. Each function here is compiled three times (AVX-512,
// AVX2, baseline) and the dynamic loader picks the best one for the CPU at start-up (target_clones), so one binary
// runs at full speed on any node of a heterogeneous cluster. Shapes are in the comments, row-major.
#ifndef SEAL_KERNELS_H
#define SEAL_KERNELS_H
#include <stddef.h>

/// out[i] = silu(gate[i]) * up[i], i < n. out may alias gate.
void seal_swiglu_forward(float *out, const float *gate, const float *up, long n);

/// In place over p[rows, stride]: row r becomes softmax of its first (valid0 + r) entries, the rest 0 (a causal
/// mask whose first row sees valid0 + 1 keys: pass valid0 = Lk - Lq + 1 - 1). Rows with no valid entry become 0.
void seal_softmax_causal(float *p, long rows, long stride, long firstValid);

/// out[N, D] = inp * rsqrt(mean(inp^2) + eps) * weight[D]; rstd[N] saved when non-null. The sum of squares is
/// accumulated in double, in a fixed order.
void seal_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, long N, long D, float eps);

/// lse[n] = log(sum_j exp(logits[n, j])) for n < N, over V columns, accumulated in double per 16-lane partials.
void seal_logsumexp_rows(double *lse, const float *logits, long N, long V);

/// y[i] = exp(x[i]) with seal's vectorised expf (max error ~1 ulp).
void seal_exp(float *y, const float *x, long n);
#endif
