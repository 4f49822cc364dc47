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


// ---- backward kernels ----

/// SwiGLU backward: h = silu(g) * u. dgate[i] = dh[i] * u[i] * silu'(g[i]), dup[i] = dh[i] * silu(g[i]).
/// dgate may alias gate and dup may alias up (each element is read before it is written).
void seal_swiglu_backward(float *dgate, float *dup, const float *dh, const float *gate, const float *up, long n);

/// RMSNorm backward for y = w * x * r, r = rsqrt(mean(x^2) + eps):
/// dinp[N, D] += r * w * dy - x * r^3 / D * sum_j(w_j dy_j x_j); dweight[D] += sum_n dy * x * r (when non-null).
void seal_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                           const float *rstd, long N, long D);

/// Softmax backward in place over rows of a causal block: dp[r, j] := p[r, j] * (dp[r, j] - sum_k p[r, k] dp[r, k])
/// over j < firstValid + r, 0 beyond.
void seal_softmax_causal_backward(float *dp, const float *p, long rows, long stride, long firstValid);

/// Cross-entropy over rows of logits[N, V] with targets[N]: loss[n] = lse - logits[n, target] (double), and
/// in place logits[n, :] := scale * (softmax(logits[n, :]) - onehot(target)).
void seal_cross_entropy_forward_backward(double *loss, float *logits, const int *targets, long N, long V, float scale);

// ---- optimizer ----

/// One AdamW step with torch.optim.AdamW's semantics over n parameters:
/// p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= (lr/bc1) * m / (sqrt(v)/bc2sqrt + eps).
void seal_adamw(float *p, const float *g, float *m, float *v, long n, float lr, float b1, float b2, float eps,
                float wd, float bc1, float bc2sqrt);

/// Sum of squares of x[n], in double (for gradient norms).
double seal_sum_squares(const float *x, long n);

/// x[i] *= s.
void seal_scale(float *x, long n, float s);

/// Sets flush-to-zero and denormals-are-zero on the calling thread (x86): denormal operands make float
/// arithmetic ~100x slower, and values below 1e-38 carry no information a model needs.
void seal_flush_denormals_on_this_thread(void);

/// Sum of x[n] in 32 independent lanes: a pure streaming read, used to measure memory bandwidth.
float seal_stream_sum(const float *x, long n);

/// Attention of one query row over Lk keys of one head (decoding): out[hd] = softmax(scale * K q) V;
/// k and v rows have stride ldkv; scratch holds Lk floats.
void seal_attention_row(float *out, const float *q, const float *k, const float *v, long Lk, long hd, long ldkv,
                        float scale, float *scratch);
#endif
