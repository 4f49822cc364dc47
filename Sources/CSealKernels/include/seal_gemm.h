// A matrix product for few rows, beside OpenBLAS.
//
// Why: a decode step of a batch of sequences (or a short training row) multiplies M ≈ 1–64 rows of activations by
// every weight matrix. OpenBLAS's sgemm packs the weight matrix into its panel layout on every call; with so few
// rows to reuse each packed panel that copy costs ~40 % of the call (measured with perf: sgemm_incopy 17 % vs
// sgemm_kernel 26 % of a batched-sampling run), and its products run at about a third of the sgemm ceiling.
// This kernel reads the weights where they lie (row-major, as HF stores them) once, in tiles of 6 weight rows
// kept in L1 while all the rows of A pass over them (dot products along K, 16 lanes at a time), and prefetches the
// next tile while it works. x86-64 with AVX-512 only (an AVX2 version lost to OpenBLAS: gemm.c); elsewhere
// `seal_gemm_nt_available` is 0 and callers use BLAS (the functions below still work there, by a slow portable loop:
// never an illegal instruction).
#ifndef SEAL_GEMM_H
#define SEAL_GEMM_H

/// The kernels: AVX-512, or a portable loop (any CPU; slow).
enum { SEAL_GEMM_PORTABLE = 0, SEAL_GEMM_AVX512 = 1 };

/// 1 when this CPU has the AVX-512 kernel for the products below.
int seal_gemm_nt_available(void);

/// 1 when this CPU can run kernel `path`.
int seal_gemm_supports(int path);

/// The kernel the products below use now.
int seal_gemm_path(void);

/// Tests and benchmarks: use kernel `path` (-1: the best this CPU has again); -1 when the CPU cannot run it.
int seal_gemm_force_path(int path);

/// C[m, n] = (accumulate ? C[m, n] : 0) + Σ_k A[m, k] · W[n, k], for m < M and n in [n0, n1).
/// A: [M, K] row stride lda; W: [N, K] row stride ldw; C: [M, N] row stride ldc. Disjoint n ranges may run on
/// different threads; every output is computed by the same arithmetic whatever the range, M or thread.
void seal_gemm_nt(float *C, long ldc, const float *A, long lda, const float *W, long ldw,
                  long M, long K, long n0, long n1, int accumulate);

/// The weight rows of one tile: split n ranges between threads at multiples of this.
long seal_gemm_nt_tile_rows(void);

/// C[m, k] = (accumulate ? C[m, k] : 0) + Σ_n A[m, n] · W[n, k], for m < M and k in [k0, k1): a linear layer's
/// input gradient (dx = dy · W) for few rows. A: [M, N] row stride lda; W: [N, K] row stride ldw; C: [M, K] row
/// stride ldc. Disjoint k ranges may run on different threads; outputs do not depend on the range, M or thread.
void seal_gemm_nn(float *C, long ldc, const float *A, long lda, const float *W, long ldw,
                  long M, long N, long k0, long k1, int accumulate);

/// The columns of one tile: split k ranges between threads at multiples of this.
long seal_gemm_nn_tile_columns(void);

#endif
