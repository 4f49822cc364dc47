// Exact fixed-point sums of float32 values: see seal_exact.h for the format and why.
//
// The 128-bit words are handled as (lo, hi) pairs of uint64_t with branch-free integer code (shifts, compares and
// selects), so the loops vectorise with AVX2/AVX-512 64-bit lanes; like kernels.c each kernel is compiled per ISA
// and picked at load time (target_clones).
#include "seal_exact.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define SEAL_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SEAL_MULTIVERSION
#endif

// float v (bits u) -> v * 2^100 as a 128-bit two's-complement integer (lo, hi), rounded to nearest-even below the
// grid; 0 when |v| >= 2^26 or v is not finite (the caller counts those). With biased exponent e and 24-bit
// significand m, v = m * 2^(max(e,1) - 150), so v * 2^100 = m * 2^s with s = max(e,1) - 50, s in [-49, 102].
static inline void seal_fixed_from_bits(uint32_t u, uint64_t *lo_out, uint64_t *hi_out) {
    uint32_t e = (u >> 23) & 0xffu;
    uint64_t m = (uint64_t)((u & 0x7fffffu) | (e != 0 ? 0x800000u : 0u));
    int64_t s = (int64_t)(e != 0 ? e : 1u) - 50;
    // s >= 0: m << s spread over two words (every shift count kept in 0..63).
    uint64_t sl = s < 0 ? 0 : (uint64_t)s;
    uint64_t lo_pos = sl < 64 ? m << (sl & 63) : 0;
    uint64_t hi_pos = sl == 0 ? 0 : (sl < 64 ? m >> ((64 - sl) & 63) : m << ((sl - 64) & 63));
    // s < 0 (|v| < 2^-77): m * 2^s rounded to the nearest integer, ties to even.
    uint64_t k = s < 0 ? (uint64_t)(-s) : 1;   // 1..49
    uint64_t q = m >> k;
    uint64_t rem = m & ((1ull << k) - 1);
    uint64_t half = 1ull << (k - 1);
    q += (uint64_t)((rem > half) | ((rem == half) & (q & 1)));
    uint64_t ok = e < 153 ? ~0ull : 0;          // |v| < 2^26 (e = 153 is 2^26)
    uint64_t lo = (s < 0 ? q : lo_pos) & ok;
    uint64_t hi = (s < 0 ? 0 : hi_pos) & ok;
    // Two's-complement negation of the 128-bit value when the sign bit is set.
    uint64_t neg = 0 - (uint64_t)(u >> 31);
    *lo_out = (lo ^ neg) - neg;
    *hi_out = (hi ^ neg) + (neg & (uint64_t)(lo == 0));
}

SEAL_MULTIVERSION
void seal_exact_add_floats(void *sums, const float *values, long n, uint64_t events[2]) {
    uint64_t *w = (uint64_t *)sums;
    uint64_t over = 0, nonfinite = 0;
    for (long i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, values + i, 4);
        uint32_t e = (u >> 23) & 0xffu;
        nonfinite += e == 255;
        over += (e >= 153) & (e != 255);
        uint64_t vlo, vhi;
        seal_fixed_from_bits(u, &vlo, &vhi);
        uint64_t alo = w[2 * i], ahi = w[2 * i + 1];
        uint64_t rlo = alo + vlo;
        uint64_t rhi = ahi + vhi + (uint64_t)(rlo < alo);
        // Signed overflow: both operands have the same sign and the result the other one.
        over += ((ahi ^ rhi) & (vhi ^ rhi)) >> 63;
        w[2 * i] = rlo;
        w[2 * i + 1] = rhi;
    }
    events[0] += over;
    events[1] += nonfinite;
}

SEAL_MULTIVERSION
void seal_exact_add_words(void *dst, const void *src, long n, uint64_t events[2]) {
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *s = (const uint64_t *)src;
    uint64_t over = 0;
    for (long i = 0; i < n; i++) {
        uint64_t alo = d[2 * i], ahi = d[2 * i + 1], blo = s[2 * i], bhi = s[2 * i + 1];
        uint64_t rlo = alo + blo;
        uint64_t rhi = ahi + bhi + (uint64_t)(rlo < alo);
        over += ((ahi ^ rhi) & (bhi ^ rhi)) >> 63;
        d[2 * i] = rlo;
        d[2 * i + 1] = rhi;
    }
    events[0] += over;
}

SEAL_MULTIVERSION
void seal_exact_wrapping_sum(void *inout, const void *in, long n) {
    uint64_t *d = (uint64_t *)inout;
    const uint64_t *s = (const uint64_t *)in;
    for (long i = 0; i < n; i++) {
        uint64_t rlo = d[2 * i] + s[2 * i];
        d[2 * i + 1] = d[2 * i + 1] + s[2 * i + 1] + (uint64_t)(rlo < s[2 * i]);
        d[2 * i] = rlo;
    }
}

SEAL_MULTIVERSION
uint64_t seal_exact_max_magnitude_high(const void *sums, long n) {
    const uint64_t *w = (const uint64_t *)sums;
    uint64_t best = 0;
    for (long i = 0; i < n; i++) {
        uint64_t lo = w[2 * i], hi = w[2 * i + 1];
        uint64_t neg = 0 - (hi >> 63);
        // High word of |x|: for negative x, -x = (~lo + 1, ~hi + (lo == 0)).
        uint64_t mh = (hi ^ neg) + (neg & (uint64_t)(lo == 0));
        best = mh > best ? mh : best;
    }
    return best;
}

// The exact integer x (units of 2^-100) to float32 with one rounding: normalise |x| so its top bit is bit 127, keep
// the top 64 bits with every lower bit folded into bit 0 (a sticky bit: the 40 bits float32 drops still tell
// below/at/above half exactly), and let the uint64 -> float conversion round to nearest-even. The scaling by a
// power of two afterwards is exact (the result is at least 2^-100, far inside float32's normal range). Converting
// each half with (double) and adding would round twice and can be off by one ulp.
static inline float seal_fixed_to_float(uint64_t lo, uint64_t hi) {
    uint64_t neg = 0 - (hi >> 63);
    uint64_t mlo = (lo ^ neg) - neg;
    uint64_t mhi = (hi ^ neg) + (neg & (uint64_t)(lo == 0));
    if ((mlo | mhi) == 0) return 0.0f;
    int lz = mhi != 0 ? __builtin_clzll(mhi) : 64 + __builtin_clzll(mlo);
    uint64_t top, rest;
    if (lz >= 64) {
        top = mlo << (lz - 64);
        rest = 0;
    } else if (lz == 0) {
        top = mhi;
        rest = mlo;
    } else {
        top = (mhi << lz) | (mlo >> (64 - lz));
        rest = mlo << lz;
    }
    float f = (float)(top | (uint64_t)(rest != 0));
    // |x| * 2^-100 = top * 2^(64 - lz) * 2^-100.
    int k = -36 - lz;
    uint64_t pbits = (uint64_t)(k + 1023) << 52;
    double p;
    memcpy(&p, &pbits, 8);
    float r = (float)((double)f * p);
    return neg ? -r : r;
}

SEAL_MULTIVERSION
void seal_exact_result(float *out, const void *sums, long n) {
    const uint64_t *w = (const uint64_t *)sums;
    for (long i = 0; i < n; i++) out[i] = seal_fixed_to_float(w[2 * i], w[2 * i + 1]);
}
