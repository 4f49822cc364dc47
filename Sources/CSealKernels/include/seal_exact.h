// Exact, order-independent sums of float32 vectors (the gradient sums of data-parallel training).
//
// Why: float addition is not associative, so summing the same per-sample gradients on 1, 2 or 4 ranks (different
// groupings, different MPI reduction trees) gives different bits and training runs diverge with the rank count.
// Here every float is converted exactly to a signed 128-bit fixed-point integer with scale 2^100 and integers are
// added; integer addition is associative and commutative, so any grouping and any order gives the same integer, and
// the float32 result (the exact sum, correctly rounded once) is bit-identical whatever the partition.
//
// Layout of an accumulator of `count` elements: count + SEAL_EXACT_STATUS_WORDS 16-byte words, each a little-endian
// two's-complement 128-bit integer stored as two uint64_t (lo, hi) — the memory layout of __int128 on x86-64 and
// aarch64; Swift cannot import __int128, so everything is passed as void * or uint64_t *.
//   words[0 ..< count]      the sums, in units of 2^-100
//   words[count]            status: lo = out-of-range events (|v| >= 2^26 or a sum leaving the range),
//                                   hi = non-finite values seen (NaN, +-Inf)
//   words[count + 1]        scratch for reductions: a bound on the magnitudes, see seal_exact_max_magnitude_high
// All count + 2 words are summed element-wise as wrapping 128-bit integers by a reduction (MPI or local), so the
// status counters add up across ranks like the sums do and every rank ends with the same flags.
//
// Range: a float v is converted exactly when 2^-77 <= |v| < 2^26; smaller magnitudes are rounded to the nearest
// multiple of 2^-100 (ties to even), which is deterministic per value and so keeps order independence. |v| >= 2^26,
// NaN and Inf are not added: they count as events instead of corrupting the sum. A sum is representable while its
// magnitude stays below 2^27; because the arithmetic wraps (is exact modulo 2^128), the integer result is right
// whenever the true total is in range, whatever the partial sums did. Local additions flag any partial sum that
// leaves the range (never missing a real overflow); reductions use the magnitude bound, which is the same on every
// rank.
#ifndef SEAL_EXACT_H
#define SEAL_EXACT_H
#include <stdint.h>

/// Status words after the `count` sum words.
#define SEAL_EXACT_STATUS_WORDS 2
/// Bytes per word (one 128-bit integer).
#define SEAL_EXACT_WORD_BYTES 16

// The kernels below work on runs of sum words only; the status words are kept by the caller (ExactAccumulator),
// which may split a long run across threads and add up each part's `events`.

/// sums[i] += fixed(values[i]) for i < n. events[0] += values with |v| >= 2^26 (not added) plus sums whose partial
/// value left the range; events[1] += NaN/Inf values (not added).
void seal_exact_add_floats(void *sums, const float *values, long n, uint64_t events[2]);

/// dst[i] += src[i], i < n (a local reduction of two accumulators); events[0] += sums that left the range.
void seal_exact_add_words(void *dst, const void *src, long n, uint64_t events[2]);

/// out[i] = sums[i] * 2^-100 as float32, correctly rounded (to nearest, ties to even) from the exact integer.
void seal_exact_result(float *out, const void *sums, long n);

/// max over i < n of floor(|sums[i]| / 2^64), i.e. the high word of the magnitude (0 when n == 0). Before a
/// wrapping reduction across ranks each rank stores B = this + 1 in its scratch word, so |sums[i]| < B * 2^64; the
/// reduced B bounds every reduced magnitude (|a + b| <= |a| + |b|), and a reduced B below 2^63 proves no sum wrapped.
uint64_t seal_exact_max_magnitude_high(const void *sums, long n);

/// inout[i] += in[i], i < n, wrapping 128-bit addition: associative and commutative, so any reduction tree gives
/// the same words (the MPI operator does exactly this; see CMPI's shim.h).
void seal_exact_wrapping_sum(void *inout, const void *in, long n);
#endif
