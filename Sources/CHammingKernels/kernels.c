// Hamming-distance kernels: one function per instruction set, selected at run time.
// No build flags are needed: each function carries its own target attribute, and the CPU's
// feature flags decide which one runs.
#include "hamming_kernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define HX_X86 1
#include <immintrin.h>
#else
#define HX_X86 0
#endif

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

// MARK: - Emitting scan hits (shared by every instruction set)

/// Emits (row, d) if d is within the state's limit and the row is live; for k nearest, then
/// shrinks the limit while the hits below it already number k. Returns the new output count.
static inline size_t scan_emit(hx_scan_state *st, uint32_t row, uint32_t d, const uint64_t *dead,
                               hx_hit *hits, size_t n) {
    if (d > st->limit) return n;
    // A tie at the limit among rows in id order, with k hits already within it: a larger id.
    if (st->k && d == st->limit && row < st->ordered_rows && st->kept >= st->k) return n;
    if (dead && ((dead[row >> 6] >> (row & 63)) & 1)) return n;
    hits[n].row = row;
    hits[n].distance = d;
    if (st->k) {
        st->count_at[d]++;
        st->kept++;
        while (st->limit > 0 && st->kept - st->count_at[st->limit] >= st->k) {
            st->kept -= st->count_at[st->limit];
            st->count_at[st->limit] = 0;
            st->limit--;
        }
    }
    return n + 1;
}

/// k nearest: the largest distance a code may have to be emitted: the limit, or, among rows in
/// id order (`strict`) once k hits lie within the limit, one less (−1: none). Signed, so that
/// the vector comparisons take −1 as "no code".
static inline int64_t knn_threshold(const hx_scan_state *st, int strict) {
    return (int64_t)st->limit - (strict && st->kept >= st->k ? 1 : 0);
}

/// k nearest: how many of the `count` codes from row `first` lie in whole 8-code groups below
/// st->ordered_rows (a multiple of 8).
static inline size_t knn_ordered_groups(const hx_scan_state *st, uint32_t first, size_t count) {
    size_t split = st->ordered_rows > first ? (size_t)(st->ordered_rows - first) : 0;
    if (split > count) split = count;
    return split & ~(size_t)7;
}

/// Emits the codes of an 8-code group whose bit is set in `mask` (code j of the group at
/// row first + j, distance dist[j]), in ascending row order.
static inline size_t scan_emit_mask(hx_scan_state *st, unsigned mask, uint32_t first, const uint32_t *dist,
                                    const uint64_t *dead, hx_hit *hits, size_t n) {
    while (mask) {
        unsigned j = (unsigned)__builtin_ctz(mask);
        mask &= mask - 1;
        n = scan_emit(st, first + j, dist[j], dead, hits, n);
    }
    return n;
}

/// A mask with code j at bit 2j and code j + 4 at bit 2j + 1 (j < 4) in code order.
static inline unsigned deinterleave8(unsigned x) {
    unsigned even = x & 0x55u, odd = (x >> 1) & 0x55u;
    even = (even | even >> 1) & 0x33u;
    even = (even | even >> 2) & 0x0fu;
    odd = (odd | odd >> 1) & 0x33u;
    odd = (odd | odd >> 2) & 0x0fu;
    return even | odd << 4;
}

/// Bits j < 8 set where row first + j is dead (`dead` may be NULL: none).
static inline unsigned dead_mask8(const uint64_t *dead, uint32_t first) {
    if (!dead) return 0;
    uint32_t w = first >> 6, b = first & 63;
    uint64_t bits = dead[w] >> b;
    if (b > 56) bits |= dead[w + 1] << (64 - b);
    return (unsigned)(bits & 0xff);
}

// MARK: - Portable

static inline uint32_t popcount64_portable(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (uint32_t)((x * 0x0101010101010101ULL) >> 56);
}

static uint32_t distance_portable(const uint8_t *a, const uint8_t *b, size_t n) {
    uint32_t d = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) d += popcount64_portable(load64(a + i) ^ load64(b + i));
    for (; i < n; i++) d += popcount64_portable((uint64_t)(a[i] ^ b[i]));
    return d;
}

static void distances_portable(const uint8_t *q, const uint8_t *base, size_t count, size_t n, uint16_t *out) {
    for (size_t i = 0; i < count; i++) out[i] = (uint16_t)distance_portable(q, base + i * n, n);
}

static size_t scan_portable(const uint8_t *q, const uint8_t *base, size_t count, size_t n, uint32_t first,
                            const uint64_t *dead, hx_scan_state *st, hx_hit *hits) {
    size_t out = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t d = distance_portable(q, base + i * n, n);
        if (d <= st->limit) out = scan_emit(st, first + (uint32_t)i, d, dead, hits, out);
    }
    return out;
}

// MARK: - POPCNT

#if HX_X86
#define HX_POPCNT __attribute__((target("popcnt")))

HX_POPCNT static inline uint32_t words_popcnt(const uint8_t *a, const uint8_t *b, size_t words) {
    uint64_t d = 0;
    for (size_t w = 0; w < words; w++) d += (uint64_t)__builtin_popcountll(load64(a + 8 * w) ^ load64(b + 8 * w));
    return (uint32_t)d;
}

HX_POPCNT static uint32_t distance_popcnt(const uint8_t *a, const uint8_t *b, size_t n) {
    switch (n) {
    case 8: return (uint32_t)__builtin_popcountll(load64(a) ^ load64(b));
    case 16: return words_popcnt(a, b, 2);
    case 32: return words_popcnt(a, b, 4);
    case 64: return words_popcnt(a, b, 8);
    default: {
        uint32_t d = words_popcnt(a, b, n / 8);
        for (size_t i = n & ~(size_t)7; i < n; i++) d += (uint32_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
        return d;
    }
    }
}

// One loop per common width, so that each inner loop is straight-line code.
#define HX_FIXED_LOOP(WORDS)                                                                  \
    for (size_t i = 0; i < count; i++) {                                                      \
        const uint8_t *p = base + i * (8 * WORDS);                                            \
        uint64_t d = 0;                                                                       \
        for (size_t w = 0; w < WORDS; w++) d += (uint64_t)__builtin_popcountll(qw[w] ^ load64(p + 8 * w)); \
        out[i] = (uint16_t)d;                                                                 \
    }

HX_POPCNT static void distances_popcnt(const uint8_t *q, const uint8_t *base, size_t count, size_t n, uint16_t *out) {
    uint64_t qw[8];
    if (n == 8 || n == 16 || n == 32 || n == 64) for (size_t w = 0; w < n / 8; w++) qw[w] = load64(q + 8 * w);
    switch (n) {
    case 8: HX_FIXED_LOOP(1) break;
    case 16: HX_FIXED_LOOP(2) break;
    case 32: HX_FIXED_LOOP(4) break;
    case 64: HX_FIXED_LOOP(8) break;
    default:
        for (size_t i = 0; i < count; i++) out[i] = (uint16_t)distance_popcnt(q, base + i * n, n);
    }
}

// The distance and the limit test in one loop per common width; only hits leave the loop.
// Range mode without dead rows stores every code and advances by its test: no branch per code.
#define HX_FIXED_SCAN(WORDS)                                                                  \
    if (st->k == 0 && !dead) {                                                                \
        const uint64_t limit = st->limit;                                                     \
        for (size_t i = 0; i < count; i++) {                                                  \
            const uint8_t *p = base + i * (8 * WORDS);                                        \
            uint64_t d = 0;                                                                   \
            for (size_t w = 0; w < WORDS; w++) d += (uint64_t)__builtin_popcountll(qw[w] ^ load64(p + 8 * w)); \
            hits[out].row = first + (uint32_t)i;                                              \
            hits[out].distance = (uint32_t)d;                                                 \
            out += d <= limit;                                                                \
        }                                                                                     \
    } else for (size_t i = 0; i < count; i++) {                                               \
        const uint8_t *p = base + i * (8 * WORDS);                                            \
        uint64_t d = 0;                                                                       \
        for (size_t w = 0; w < WORDS; w++) d += (uint64_t)__builtin_popcountll(qw[w] ^ load64(p + 8 * w)); \
        if (d <= st->limit) out = scan_emit(st, first + (uint32_t)i, (uint32_t)d, dead, hits, out); \
    }

HX_POPCNT static size_t scan_popcnt(const uint8_t *q, const uint8_t *base, size_t count, size_t n, uint32_t first,
                                    const uint64_t *dead, hx_scan_state *st, hx_hit *hits) {
    uint64_t qw[8];
    size_t out = 0;
    if (n == 8 || n == 16 || n == 32 || n == 64) for (size_t w = 0; w < n / 8; w++) qw[w] = load64(q + 8 * w);
    switch (n) {
    case 8: HX_FIXED_SCAN(1) break;
    case 16: HX_FIXED_SCAN(2) break;
    case 32: HX_FIXED_SCAN(4) break;
    case 64: HX_FIXED_SCAN(8) break;
    default:
        for (size_t i = 0; i < count; i++) {
            uint32_t d = distance_popcnt(q, base + i * n, n);
            if (d <= st->limit) out = scan_emit(st, first + (uint32_t)i, d, dead, hits, out);
        }
    }
    return out;
}

// MARK: - AVX2 (nibble look-up table, summed with VPSADBW), POPCNT for short codes and tails

#define HX_AVX2 __attribute__((target("avx2,popcnt")))

/// The two nibble tables of ``popcount_sums_avx2``: 4 + popcount(i) and 4 − popcount(i), i < 16.
HX_AVX2 static inline __m256i nibble_plus_avx2(void) {
    return _mm256_setr_epi8(4, 5, 5, 6, 5, 6, 6, 7, 5, 6, 6, 7, 6, 7, 7, 8, 4, 5, 5, 6, 5, 6, 6, 7, 5, 6, 6, 7, 6, 7, 7, 8);
}
HX_AVX2 static inline __m256i nibble_minus_avx2(void) {
    return _mm256_setr_epi8(4, 3, 3, 2, 3, 2, 2, 1, 3, 2, 2, 1, 2, 1, 1, 0, 4, 3, 3, 2, 3, 2, 2, 1, 3, 2, 2, 1, 2, 1, 1, 0);
}

/// Popcounts of x summed over each 8-byte lane (four 64-bit sums), by nibble look-ups: one
/// table gives 4 + popcount of each byte's low nibble, the other 4 − popcount of its high
/// nibble, and VPSADBW's |a − b| of the two is their sum, so no byte add is needed.
HX_AVX2 static inline __m256i popcount_sums_avx2(__m256i x) {
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i a = _mm256_shuffle_epi8(nibble_plus_avx2(), _mm256_and_si256(x, low));
    __m256i b = _mm256_shuffle_epi8(nibble_minus_avx2(), _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
    return _mm256_sad_epu8(a, b);
}

/// ``popcount_sums_avx2`` of x and y together (their sums added), one VPSADBW for both: the
/// tables' offsets add up to 8 on each side.
HX_AVX2 static inline __m256i popcount_sums2_avx2(__m256i x, __m256i y) {
    const __m256i low = _mm256_set1_epi8(0x0f), plus = nibble_plus_avx2(), minus = nibble_minus_avx2();
    __m256i a = _mm256_add_epi8(_mm256_shuffle_epi8(plus, _mm256_and_si256(x, low)),
                                _mm256_shuffle_epi8(plus, _mm256_and_si256(y, low)));
    __m256i b = _mm256_add_epi8(_mm256_shuffle_epi8(minus, _mm256_and_si256(_mm256_srli_epi16(x, 4), low)),
                                _mm256_shuffle_epi8(minus, _mm256_and_si256(_mm256_srli_epi16(y, 4), low)));
    return _mm256_sad_epu8(a, b);
}

HX_AVX2 static uint32_t distance_avx2_long(const uint8_t *a, const uint8_t *b, size_t n) {
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i x = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(a + i)), _mm256_loadu_si256((const __m256i *)(b + i)));
        acc = _mm256_add_epi64(acc, popcount_sums_avx2(x));
    }
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    uint64_t d = (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_extract_epi64(s, 1);
    for (; i + 8 <= n; i += 8) d += (uint64_t)__builtin_popcountll(load64(a + i) ^ load64(b + i));
    for (; i < n; i++) d += (uint64_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
    return (uint32_t)d;
}

HX_AVX2 static void distances_avx2(const uint8_t *q, const uint8_t *base, size_t count, size_t n, uint16_t *out) {
    if (n < 32) {
        distances_popcnt(q, base, count, n, out);
        return;
    }
    if (n == 32) {
        const __m256i qv = _mm256_loadu_si256((const __m256i *)q);
        for (size_t i = 0; i < count; i++) {
            __m256i x = _mm256_xor_si256(qv, _mm256_loadu_si256((const __m256i *)(base + 32 * i)));
            __m256i s = popcount_sums_avx2(x);
            __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            out[i] = (uint16_t)(_mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1));
        }
        return;
    }
    for (size_t i = 0; i < count; i++) out[i] = (uint16_t)distance_avx2_long(q, base + i * n, n);
}

/// For each 4-bit mask, the 32-bit lane indices that move the 64-bit lanes whose bit is set
/// to the front, in order (the rest repeat lane 0: overwritten later).
static const int32_t left_pack4[16][8] __attribute__((aligned(32))) = {
    {0, 1, 0, 1, 0, 1, 0, 1}, {0, 1, 0, 1, 0, 1, 0, 1}, {2, 3, 0, 1, 0, 1, 0, 1}, {0, 1, 2, 3, 0, 1, 0, 1},
    {4, 5, 0, 1, 0, 1, 0, 1}, {0, 1, 4, 5, 0, 1, 0, 1}, {2, 3, 4, 5, 0, 1, 0, 1}, {0, 1, 2, 3, 4, 5, 0, 1},
    {6, 7, 0, 1, 0, 1, 0, 1}, {0, 1, 6, 7, 0, 1, 0, 1}, {2, 3, 6, 7, 0, 1, 0, 1}, {0, 1, 2, 3, 6, 7, 0, 1},
    {4, 5, 6, 7, 0, 1, 0, 1}, {0, 1, 4, 5, 6, 7, 0, 1}, {2, 3, 4, 5, 6, 7, 0, 1}, {0, 1, 2, 3, 4, 5, 6, 7},
};

/// Two codes' 64-bit popcount sums (``popcount_sums_avx2``: code a in lanes 0–1, code b in
/// 2–3) → their distances in lanes 0 and 2 (64-bit) by a fold of each 128-bit half.
HX_AVX2 static inline __m256i fold_pairs_avx2(__m256i s) {
    return _mm256_add_epi64(s, _mm256_srli_si256(s, 8));
}

/// Eight distances in order, as 32-bit lanes, from four vectors that each hold two codes'
/// distances in their 64-bit lanes 0 and 2 (codes 2i and 2i + 1 in vector i).
HX_AVX2 static inline __m256i order_pairs_avx2(__m256i t0, __m256i t1, __m256i t2, __m256i t3) {
    __m256i u = _mm256_or_si256(t0, _mm256_slli_epi64(t1, 32));   // c0 c2 . . | c1 c3 . .
    __m256i w = _mm256_or_si256(t2, _mm256_slli_epi64(t3, 32));   // c4 c6 . . | c5 c7 . .
    __m256i x = _mm256_unpacklo_epi64(u, w);                      // c0 c2 c4 c6 | c1 c3 c5 c7
    return _mm256_permutevar8x32_epi32(x, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/// Eight 8-byte codes at p against the query q0 (broadcast): their distances, one per 64-bit
/// lane, codes 0–3 in *s0 and 4–7 in *s1 (VPSADBW leaves each code's sum alone in its lane).
HX_AVX2 static inline __attribute__((always_inline)) void eight_sums8_avx2(__m256i q0, const uint8_t *p, __m256i *s0, __m256i *s1) {
    *s0 = popcount_sums_avx2(_mm256_xor_si256(q0, _mm256_loadu_si256((const __m256i *)p)));
    *s1 = popcount_sums_avx2(_mm256_xor_si256(q0, _mm256_loadu_si256((const __m256i *)(p + 32))));
}

/// The codes of ``eight_sums8_avx2`` above `limit` (in every 32-bit lane), one bit per code:
/// each sum shifted into its lane's high half, compared there, and the lane's sign taken. No
/// shuffle (the shuffle port bounds these loops on Intel).
HX_AVX2 static inline __attribute__((always_inline)) unsigned far_mask8_avx2(__m256i s0, __m256i s1, __m256i limit) {
    return (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi32(_mm256_slli_epi64(s0, 32), limit)))
           | (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi32(_mm256_slli_epi64(s1, 32), limit))) << 4;
}

/// The sums of ``eight_sums8_avx2`` as eight 32-bit lanes where VPSADBW leaves them: codes j
/// and j + 4 side by side in 64-bit lane j (``deinterleave8`` orders a mask of them).
HX_AVX2 static inline __attribute__((always_inline)) __m256i interleave_sums8_avx2(__m256i s0, __m256i s1) {
    return _mm256_or_si256(s0, _mm256_slli_epi64(s1, 32));
}

/// ``interleave_sums8_avx2``'s lanes in code order.
HX_AVX2 static inline __attribute__((always_inline)) __m256i order_sums8_avx2(__m256i t) {
    return _mm256_permutevar8x32_epi32(t, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
}

/// Eight distances (32-bit lanes, in code order) of the codes at p against the query q0 (q1:
/// its second 32 bytes for 64-byte codes): 16-, 32- and 64-byte codes (8-byte codes have loops
/// of their own). `n` is a constant where this is inlined.
HX_AVX2 static inline __attribute__((always_inline)) __m256i eight_distances_avx2(__m256i q0, __m256i q1, const uint8_t *p, const size_t n) {
    if (n == 16) {
        __m256i t[4];
        for (int v = 0; v < 4; v++)
            t[v] = fold_pairs_avx2(popcount_sums_avx2(_mm256_xor_si256(q0, _mm256_loadu_si256((const __m256i *)(p + 32 * v)))));
        return order_pairs_avx2(t[0], t[1], t[2], t[3]);
    }
    // 32 or 64 bytes: each code's four 64-bit sums (each < 2^8), four codes side by side in
    // the 16-bit fields of every lane (shifts and adds), then the lanes added: two unpacks and
    // one cross-half permute for eight codes (the shuffle port bounds this loop on Intel).
    __m256i s[8];
    for (int v = 0; v < 8; v++) {
        __m256i x = _mm256_xor_si256(q0, _mm256_loadu_si256((const __m256i *)(p + v * n)));
        s[v] = n == 64 ? popcount_sums2_avx2(x, _mm256_xor_si256(q1, _mm256_loadu_si256((const __m256i *)(p + v * n + 32))))
                       : popcount_sums_avx2(x);
    }
    __m256i u = _mm256_add_epi64(_mm256_add_epi64(s[0], _mm256_slli_epi64(s[1], 16)),
                                 _mm256_add_epi64(_mm256_slli_epi64(s[2], 32), _mm256_slli_epi64(s[3], 48)));
    __m256i w = _mm256_add_epi64(_mm256_add_epi64(s[4], _mm256_slli_epi64(s[5], 16)),
                                 _mm256_add_epi64(_mm256_slli_epi64(s[6], 32), _mm256_slli_epi64(s[7], 48)));
    // Lanes 0 and 1 of y: codes 0–3 and 4–7 in 16-bit fields; widened to 32-bit lanes.
    __m256i x = _mm256_add_epi64(_mm256_unpacklo_epi64(u, w), _mm256_unpackhi_epi64(u, w));
    __m256i y = _mm256_add_epi64(x, _mm256_permute2x128_si256(x, x, 0x01));
    return _mm256_cvtepu16_epi32(_mm256_castsi256_si128(y));
}

/// Range: the eight codes at p as hits (row | distance << 32 in 64-bit lanes: codes 0–3 in
/// *h0, 4–7 in *h1, the first at row `row`), and the mask of those within `limit` (in every
/// 32-bit lane). `n` is a constant where this is inlined.
HX_AVX2 static inline __attribute__((always_inline)) unsigned eight_hits_avx2(__m256i q0, __m256i q1, const uint8_t *p, const size_t n,
                                                                             uint32_t row, __m256i limit, __m256i *h0, __m256i *h1) {
    if (n == 8) {
        // Each code's sum shifted up is its hit's high half, the row the low half: no shuffle
        // beyond the popcount's.
        __m256i s0, s1;
        eight_sums8_avx2(q0, p, &s0, &s1);
        __m256i r0 = _mm256_add_epi64(_mm256_set1_epi64x((long long)row), _mm256_setr_epi64x(0, 1, 2, 3));
        *h0 = _mm256_or_si256(_mm256_slli_epi64(s0, 32), r0);
        *h1 = _mm256_or_si256(_mm256_slli_epi64(s1, 32), _mm256_add_epi64(r0, _mm256_set1_epi64x(4)));
        return far_mask8_avx2(s0, s1, limit) ^ 0xffu;
    }
    __m256i d = eight_distances_avx2(q0, q1, p, n);
    __m256i rows = _mm256_add_epi32(_mm256_set1_epi32((int)row), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i lo = _mm256_unpacklo_epi32(rows, d), hi = _mm256_unpackhi_epi32(rows, d);
    *h0 = _mm256_permute2x128_si256(lo, hi, 0x20);
    *h1 = _mm256_permute2x128_si256(lo, hi, 0x31);
    return (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(d, limit))) ^ 0xffu;
}

/// The limit in every 32-bit lane, as the loops compare distances with it (signed): a limit
/// past INT32_MAX is the same test as INT32_MAX (distances are at most 65528), and −1 fits.
HX_AVX2 static inline __m256i limit_avx2(int64_t limit) {
    return _mm256_set1_epi32((int)(limit > INT32_MAX ? INT32_MAX : limit));
}

/// The fused AVX2 loop for one code width `n` (8, 16, 32 or 64: a constant where inlined):
/// eight codes a step, compared with the limit in registers; a step with no code within the
/// limit costs one test of its mask. Returns the codes done (a multiple of 8).
HX_AVX2 static inline __attribute__((always_inline)) size_t scan_avx2_fixed(const uint8_t *q, const uint8_t *base, size_t count, const size_t n,
                                                                            uint32_t first, const uint64_t *dead, hx_scan_state *st,
                                                                            hx_hit *hits, size_t *out) {
    uint32_t dist[8];
    __m256i lim = limit_avx2(st->limit);
    __m256i q0, q1 = _mm256_setzero_si256();
    if (n == 8) q0 = _mm256_set1_epi64x((long long)load64(q));
    else if (n == 16) q0 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)q));
    else { q0 = _mm256_loadu_si256((const __m256i *)q); if (n == 64) q1 = _mm256_loadu_si256((const __m256i *)(q + 32)); }
    size_t i = 0;
    if (st->k == 0) {
        // Range: the limit is fixed. Each half of a group (four hits of 64 bits: row | distance
        // << 32) is packed to the left by a permutation from a 16-entry table and stored whole.
        // Sparse hits: a group is stored only if it has one; dense (more than 3 groups of the
        // last 64): every group, so that no branch is mispredicted.
#define HX_STORE_HITS_AVX2                                                                                     \
        unsigned m0 = mask & 15, m1 = mask >> 4;                                                               \
        _mm256_storeu_si256((__m256i *)(hits + o), _mm256_permutevar8x32_epi32(h0, _mm256_load_si256((const __m256i *)left_pack4[m0]))); \
        o += (size_t)__builtin_popcount(m0);                                                                   \
        _mm256_storeu_si256((__m256i *)(hits + o), _mm256_permutevar8x32_epi32(h1, _mm256_load_si256((const __m256i *)left_pack4[m1]))); \
        o += (size_t)__builtin_popcount(m1);
        // The output count in a local: through `out` it would be reloaded after every store
        // to `hits` (the compiler cannot rule out that they overlap).
        size_t o = *out;
        unsigned dense = 0;
        const size_t whole = count & ~(size_t)7;
        while (i < whole) {
            // Windows of 64 groups; the next window's loop follows this one's density.
            size_t end = whole - i < 512 ? whole : i + 512;
            unsigned busy = 0;
            if (dense) {
                for (; i < end; i += 8) {
                    __m256i h0, h1;
                    unsigned mask = eight_hits_avx2(q0, q1, base + i * n, n, first + (uint32_t)i, lim, &h0, &h1)
                                    & ~dead_mask8(dead, first + (uint32_t)i);
                    busy += mask != 0;
                    HX_STORE_HITS_AVX2
                }
            } else {
                for (; i < end; i += 8) {
                    __m256i h0, h1;
                    unsigned mask = eight_hits_avx2(q0, q1, base + i * n, n, first + (uint32_t)i, lim, &h0, &h1)
                                    & ~dead_mask8(dead, first + (uint32_t)i);
                    if (mask) {
                        busy++;
                        HX_STORE_HITS_AVX2
                    }
                }
            }
            dense = busy > 3;
        }
#undef HX_STORE_HITS_AVX2
        *out = o;
        return i;
    }
    const size_t split = knn_ordered_groups(st, first, count);
    for (int stretch = 0; stretch < 2; stretch++) {
        const size_t end = stretch == 0 ? split : (count & ~(size_t)7);
        const int strict = stretch == 0;
        lim = limit_avx2(knn_threshold(st, strict));
        if (n == 8) {
            // 8-byte codes: the eight sums compared where VPSADBW leaves them; put in code
            // order only when one is near.
            for (; i + 8 <= end; i += 8) {
                __m256i s0, s1;
                eight_sums8_avx2(q0, base + i * n, &s0, &s1);
                __m256i t = interleave_sums8_avx2(s0, s1);
                unsigned near = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(t, lim))) ^ 0xffu;
                if (near) {
                    _mm256_storeu_si256((__m256i *)dist, order_sums8_avx2(t));
                    *out = scan_emit_mask(st, deinterleave8(near), first + (uint32_t)i, dist, dead, hits, *out);
                    lim = limit_avx2(knn_threshold(st, strict));
                }
            }
            continue;
        }
        for (; i + 8 <= end; i += 8) {
            __m256i d = eight_distances_avx2(q0, q1, base + i * n, n);
            unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(d, lim))) ^ 0xffu;
            if (mask) {
                _mm256_storeu_si256((__m256i *)dist, d);
                *out = scan_emit_mask(st, mask, first + (uint32_t)i, dist, dead, hits, *out);
                lim = limit_avx2(knn_threshold(st, strict));
            }
        }
    }
    return i;
}

/// Fused AVX2 scan: popcounts vectorised across codes (8 codes a step for 8-, 16-, 32- and
/// 64-byte codes, one loop per width), the rest one code at a time.
HX_AVX2 static size_t scan_avx2(const uint8_t *q, const uint8_t *base, size_t count, size_t n, uint32_t first,
                                const uint64_t *dead, hx_scan_state *st, hx_hit *hits) {
    size_t out = 0, i = 0;
    switch (n) {
    case 8: i = scan_avx2_fixed(q, base, count, 8, first, dead, st, hits, &out); break;
    case 16: i = scan_avx2_fixed(q, base, count, 16, first, dead, st, hits, &out); break;
    case 32: i = scan_avx2_fixed(q, base, count, 32, first, dead, st, hits, &out); break;
    case 64: i = scan_avx2_fixed(q, base, count, 64, first, dead, st, hits, &out); break;
    default: break;
    }
    for (; i < count; i++) {
        uint32_t d = n >= 32 ? distance_avx2_long(q, base + i * n, n) : distance_popcnt(q, base + i * n, n);
        if (d <= st->limit) out = scan_emit(st, first + (uint32_t)i, d, dead, hits, out);
    }
    return out;
}

// MARK: - AVX-512 VPOPCNTDQ

#define HX_AVX512 __attribute__((target("avx512f,avx512bw,avx512vpopcntdq,popcnt")))

/// Lane j of the result is lane 2j + lane 2j+1 of the 16 lanes of (a, b).
HX_AVX512 static inline __m512i pair_sums(__m512i a, __m512i b) {
    const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
    return _mm512_add_epi64(_mm512_permutex2var_epi64(a, even, b), _mm512_permutex2var_epi64(a, odd, b));
}

HX_AVX512 static inline __m512i popcnt_xor(__m512i q, const uint8_t *p) {
    return _mm512_popcnt_epi64(_mm512_xor_si512(q, _mm512_loadu_si512((const void *)p)));
}

HX_AVX512 static uint32_t distance_avx512_long(const uint8_t *a, const uint8_t *b, size_t n) {
    __m512i acc = _mm512_setzero_si512();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) acc = _mm512_add_epi64(acc, popcnt_xor(_mm512_loadu_si512((const void *)(a + i)), b + i));
    if (i < n) {
        __mmask64 m = (n - i) >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (n - i)) - 1);
        __m512i x = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, a + i), _mm512_maskz_loadu_epi8(m, b + i));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
    }
    return (uint32_t)_mm512_reduce_add_epi64(acc);
}

HX_AVX512 static void distances_avx512(const uint8_t *q, const uint8_t *base, size_t count, size_t n, uint16_t *out) {
    size_t i = 0;
    switch (n) {
    case 8: {
        const __m512i qv = _mm512_set1_epi64((long long)load64(q));
        for (; i + 8 <= count; i += 8)
            _mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi64_epi16(popcnt_xor(qv, base + 8 * i)));
        break;
    }
    case 16: {
        const __m512i qv = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)q));
        for (; i + 8 <= count; i += 8) {
            const uint8_t *p = base + 16 * i;
            __m512i s = pair_sums(popcnt_xor(qv, p), popcnt_xor(qv, p + 64));
            _mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi64_epi16(s));
        }
        break;
    }
    case 32: {
        const __m512i qv = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)q));
        for (; i + 8 <= count; i += 8) {
            const uint8_t *p = base + 32 * i;
            __m512i s01 = pair_sums(popcnt_xor(qv, p), popcnt_xor(qv, p + 64));
            __m512i s23 = pair_sums(popcnt_xor(qv, p + 128), popcnt_xor(qv, p + 192));
            _mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi64_epi16(pair_sums(s01, s23)));
        }
        break;
    }
    case 64: {
        const __m512i qv = _mm512_loadu_si512((const void *)q);
        for (; i + 8 <= count; i += 8) {
            const uint8_t *p = base + 64 * i;
            __m512i a = pair_sums(popcnt_xor(qv, p), popcnt_xor(qv, p + 64));
            __m512i b = pair_sums(popcnt_xor(qv, p + 128), popcnt_xor(qv, p + 192));
            __m512i c = pair_sums(popcnt_xor(qv, p + 256), popcnt_xor(qv, p + 320));
            __m512i d = pair_sums(popcnt_xor(qv, p + 384), popcnt_xor(qv, p + 448));
            _mm_storeu_si128((__m128i *)(out + i), _mm512_cvtepi64_epi16(pair_sums(pair_sums(a, b), pair_sums(c, d))));
        }
        break;
    }
    default:
        if (n < 8) break;  // very short codes: the scalar loop below
        for (; i < count; i++) out[i] = (uint16_t)distance_avx512_long(q, base + i * n, n);
        return;
    }
    for (; i < count; i++) out[i] = (uint16_t)distance_popcnt(q, base + i * n, n);
}

/// Eight distances (64-bit lanes, in code order) of the codes at p against the query in qv
/// (broadcast to fill the register): 8- and 16-byte codes. `n` is a constant where this is inlined.
HX_AVX512 static inline __attribute__((always_inline)) __m512i eight_distances_avx512(__m512i qv, const uint8_t *p, const size_t n) {
    if (n == 8) return popcnt_xor(qv, p);
    return pair_sums(popcnt_xor(qv, p), popcnt_xor(qv, p + 64));
}

/// a + b·2^16 + c·2^32 + d·2^48 in every 64-bit lane: four lanes' popcounts (each < 2^16 once
/// summed) side by side in 16-bit fields, by shifts and adds rather than lane permutes.
HX_AVX512 static inline __attribute__((always_inline)) __m512i fields4(__m512i a, __m512i b, __m512i c, __m512i d) {
    return _mm512_add_epi64(_mm512_add_epi64(a, _mm512_slli_epi64(b, 16)),
                            _mm512_add_epi64(_mm512_slli_epi64(c, 32), _mm512_slli_epi64(d, 48)));
}

/// 32- and 64-byte codes: the eight codes' distances against qv, packed in 16-bit fields.
/// Each code's 64-bit popcounts are summed across lanes only after four codes share every
/// lane (``fields4``), so eight codes take two or three lane shuffles instead of six or
/// fourteen permutes: the shuffle port, which also runs VPOPCNTQ, bounds these loops on Intel.
/// n = 32: code 2j in field j, code 2j + 1 in field 16 + j (``packed_mask``); n = 64: code j in
/// field j. Other fields hold partial sums. `n` is a constant where this is inlined.
HX_AVX512 static inline __attribute__((always_inline)) __m512i eight_packed_avx512(__m512i qv, const uint8_t *p, const size_t n) {
    if (n == 32) {
        // Lanes 0–3: the four qwords of codes 0, 2, 4, 6 (one per field); lanes 4–7: codes 1, 3, 5, 7.
        __m512i u = fields4(popcnt_xor(qv, p), popcnt_xor(qv, p + 64), popcnt_xor(qv, p + 128), popcnt_xor(qv, p + 192));
        __m512i v = _mm512_add_epi64(u, _mm512_shuffle_i64x2(u, u, _MM_SHUFFLE(2, 3, 0, 1)));
        return _mm512_add_epi64(v, _mm512_shuffle_epi32(v, _MM_PERM_BADC));
    }
    // Lane l of u (w): qword l of codes 0–3 (4–7).
    __m512i u = fields4(popcnt_xor(qv, p), popcnt_xor(qv, p + 64), popcnt_xor(qv, p + 128), popcnt_xor(qv, p + 192));
    __m512i w = fields4(popcnt_xor(qv, p + 256), popcnt_xor(qv, p + 320), popcnt_xor(qv, p + 384), popcnt_xor(qv, p + 448));
    __m512i x = _mm512_add_epi64(_mm512_unpacklo_epi64(u, w), _mm512_unpackhi_epi64(u, w));
    __m512i y = _mm512_add_epi64(x, _mm512_shuffle_i64x2(x, x, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm512_add_epi64(y, _mm512_shuffle_i64x2(y, y, _MM_SHUFFLE(1, 0, 3, 2)));
}

/// The 16-bit fields of ``eight_packed_avx512`` that hold distances.
static inline __mmask32 packed_mask(size_t n) { return n == 32 ? 0x000f000fu : 0xffu; }

/// Bits 0–3 of x moved to the even bits 0, 2, 4, 6.
static inline unsigned spread4(unsigned x) {
    x = (x | (x << 2)) & 0x33u;
    return (x | (x << 1)) & 0x55u;
}

/// The comparison mask of ``eight_packed_avx512``'s fields as one bit per code, in code order.
static inline unsigned packed_codes(unsigned m, size_t n) {
    return n == 32 ? spread4(m & 0xfu) | spread4((m >> 16) & 0xfu) << 1 : m;
}

/// ``eight_packed_avx512``'s distances as eight 16-bit lanes in code order.
HX_AVX512 static inline __attribute__((always_inline)) __m128i packed_ordered(__m512i s, size_t n) {
    if (n == 64) return _mm512_castsi512_si128(s);
    // 16-bit indices 0, 16, 1, 17, 2, 18, 3, 19 in the low eight lanes.
    const __m512i order = _mm512_setr_epi64(0x0011000100100000LL, 0x0013000300120002LL, 0, 0, 0, 0, 0, 0);
    return _mm512_castsi512_si128(_mm512_permutexvar_epi16(order, s));
}

/// A group of eight codes: their distances in whatever layout the width's loop computes
/// (``eight_distances_avx512`` for 8 and 16 bytes, ``eight_packed_avx512`` for 32 and 64).
HX_AVX512 static inline __attribute__((always_inline)) __m512i eight_avx512(__m512i qv, const uint8_t *p, const size_t n) {
    return n <= 16 ? eight_distances_avx512(qv, p, n) : eight_packed_avx512(qv, p, n);
}

/// The limit as ``eight_within_avx512`` compares it: in every 64-bit lane (8 and 16 bytes) or
/// every 16-bit lane (32 and 64 bytes: distances are at most 512, so a limit above 32767 is
/// the same test as 32767, and −1 fits).
HX_AVX512 static inline __attribute__((always_inline)) __m512i limit_avx512(int64_t limit, const size_t n) {
    return n <= 16 ? _mm512_set1_epi64((long long)limit) : _mm512_set1_epi16((short)(limit > 0x7fff ? 0x7fff : limit));
}

/// The fields (8 and 16 bytes: lanes) of the group whose distance is ≤ the limit: nonzero
/// when a code is; ``within_codes`` turns it into one bit per code.
HX_AVX512 static inline __attribute__((always_inline)) unsigned eight_within_avx512(__m512i s, __m512i lim, const size_t n) {
    if (n <= 16) return (unsigned)_mm512_cmple_epi64_mask(s, lim);
    return (unsigned)_mm512_mask_cmple_epi16_mask(packed_mask(n), s, lim);
}

/// ``eight_within_avx512``'s mask as one bit per code, in code order.
static inline unsigned within_codes(unsigned m, const size_t n) {
    return n <= 16 ? m : packed_codes(m, n);
}

/// The group's distances in code order, one per 64-bit lane.
HX_AVX512 static inline __attribute__((always_inline)) __m512i eight_ordered_avx512(__m512i s, const size_t n) {
    return n <= 16 ? s : _mm512_cvtepu16_epi64(packed_ordered(s, n));
}

/// The group's distances in code order into dist[0..7].
HX_AVX512 static inline __attribute__((always_inline)) void eight_store_avx512(__m512i s, const size_t n, uint32_t *dist) {
    if (n <= 16) _mm256_storeu_si256((__m256i *)dist, _mm512_cvtepi64_epi32(s));
    else _mm256_storeu_si256((__m256i *)dist, _mm256_cvtepu16_epi32(packed_ordered(s, n)));
}

/// The fused AVX-512 loop for one code width `n` (8, 16, 32 or 64: a constant where inlined),
/// sixteen codes a step in two independent halves; hits are picked from the comparison masks.
/// Returns the codes done (a multiple of 8).
HX_AVX512 static inline __attribute__((always_inline)) size_t scan_avx512_fixed(const uint8_t *q, const uint8_t *base, size_t count, const size_t n,
                                                                                uint32_t first, const uint64_t *dead, hx_scan_state *st,
                                                                                hx_hit *hits, size_t *out) {
    uint32_t dist[8];
    __m512i lim = limit_avx512(st->limit, n);
    __m512i qv;
    if (n == 8) qv = _mm512_set1_epi64((long long)load64(q));
    else if (n == 16) qv = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)q));
    else if (n == 32) qv = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)q));
    else qv = _mm512_loadu_si512((const void *)q);
    size_t i = 0;
    if (st->k == 0) {
        // Range: the limit is fixed; each group's hits are packed (row | distance << 32) in a
        // register and stored whole (lanes past the hits are overwritten by later groups).
        // Where hits are sparse a group is stored only if it has one (a well-predicted branch);
        // where they are dense (more than 3 groups of the last 64), every group is stored, so
        // no branch is mispredicted.
        const __m512i lane = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
#define HX_STORE_HITS_AVX512                                                                                   \
        __m512i row = _mm512_add_epi64(_mm512_set1_epi64((long long)(first + (uint32_t)i)), lane);            \
        __m512i d = eight_ordered_avx512(s, n);                                                                \
        _mm512_storeu_si512((void *)(hits + o), _mm512_maskz_compress_epi64((__mmask8)mask, _mm512_or_si512(row, _mm512_slli_epi64(d, 32)))); \
        o += (size_t)__builtin_popcount(mask);
        // The output count in a local: through `out` it would be reloaded after every store
        // to `hits` (the compiler cannot rule out that they overlap).
        size_t o = *out;
        unsigned dense = 0;
        const size_t whole = count & ~(size_t)7;
        while (i < whole) {
            // Windows of 64 groups; the next window's loop follows this one's density.
            size_t end = whole - i < 512 ? whole : i + 512;
            unsigned busy = 0;
            if (dense) {
                for (; i < end; i += 8) {
                    __m512i s = eight_avx512(qv, base + i * n, n);
                    unsigned mask = within_codes(eight_within_avx512(s, lim, n), n) & ~dead_mask8(dead, first + (uint32_t)i);
                    busy += mask != 0;
                    HX_STORE_HITS_AVX512
                }
            } else {
                for (; i < end; i += 8) {
                    __m512i s = eight_avx512(qv, base + i * n, n);
                    unsigned mask = eight_within_avx512(s, lim, n);
                    if (mask) mask = within_codes(mask, n) & ~dead_mask8(dead, first + (uint32_t)i);
                    if (mask) {
                        busy++;
                        HX_STORE_HITS_AVX512
                    }
                }
            }
            dense = busy > 3;
        }
#undef HX_STORE_HITS_AVX512
        *out = o;
        return i;
    }
    // Two stretches: groups wholly among rows in id order (ties at the limit past k dropped in
    // registers), then the rest. The threshold is recomputed only after a group emitted.
    const size_t split = knn_ordered_groups(st, first, count);
    for (int stretch = 0; stretch < 2; stretch++) {
        const size_t end = stretch == 0 ? split : (count & ~(size_t)7);
        const int strict = stretch == 0;
        lim = limit_avx512(knn_threshold(st, strict), n);
        while (i + 16 <= end) {
            // Groups with no code within the limit, the common case once the limit is tight:
            // a loop of its own with nothing else in it.
            __m512i s0, s1;
            unsigned m0 = 0, m1 = 0;
            for (; i + 16 <= end; i += 16) {
                s0 = eight_avx512(qv, base + i * n, n);
                s1 = eight_avx512(qv, base + (i + 8) * n, n);
                m0 = eight_within_avx512(s0, lim, n);
                m1 = eight_within_avx512(s1, lim, n);
                if (m0 | m1) break;
            }
            if (!(m0 | m1)) break;
            if (m0) {
                eight_store_avx512(s0, n, dist);
                *out = scan_emit_mask(st, within_codes(m0, n), first + (uint32_t)i, dist, dead, hits, *out);
            }
            if (m1) {
                eight_store_avx512(s1, n, dist);
                *out = scan_emit_mask(st, within_codes(m1, n), first + (uint32_t)i + 8, dist, dead, hits, *out);
            }
            lim = limit_avx512(knn_threshold(st, strict), n);
            i += 16;
        }
        for (; i + 8 <= end; i += 8) {
            __m512i s = eight_avx512(qv, base + i * n, n);
            unsigned mask = eight_within_avx512(s, lim, n);
            if (mask) {
                eight_store_avx512(s, n, dist);
                *out = scan_emit_mask(st, within_codes(mask, n), first + (uint32_t)i, dist, dead, hits, *out);
                lim = limit_avx512(knn_threshold(st, strict), n);
            }
        }
    }
    return i;
}

/// Fused AVX-512 scan: one loop per common width (8, 16, 32, 64 bytes), the rest one code at
/// a time.
HX_AVX512 static size_t scan_avx512(const uint8_t *q, const uint8_t *base, size_t count, size_t n, uint32_t first,
                                    const uint64_t *dead, hx_scan_state *st, hx_hit *hits) {
    size_t out = 0, i = 0;
    switch (n) {
    case 8: i = scan_avx512_fixed(q, base, count, 8, first, dead, st, hits, &out); break;
    case 16: i = scan_avx512_fixed(q, base, count, 16, first, dead, st, hits, &out); break;
    case 32: i = scan_avx512_fixed(q, base, count, 32, first, dead, st, hits, &out); break;
    case 64: i = scan_avx512_fixed(q, base, count, 64, first, dead, st, hits, &out); break;
    default: break;
    }
    for (; i < count; i++) {
        uint32_t d = n >= 128 ? distance_avx512_long(q, base + i * n, n) : distance_popcnt(q, base + i * n, n);
        if (d <= st->limit) out = scan_emit(st, first + (uint32_t)i, d, dead, hits, out);
    }
    return out;
}
#endif

// MARK: - NEON (aarch64): CNT per byte, pairwise widening sums

#if defined(__aarch64__)
#include <arm_neon.h>
#define HX_ARM 1

static uint32_t distance_neon(const uint8_t *a, const uint8_t *b, size_t n) {
    size_t i = 0;
    uint64_t d = 0;
    while (i + 16 <= n) {
        // Byte counts are at most 8 per block: 31 blocks fit a byte before it is widened.
        uint8x16_t acc = vdupq_n_u8(0);
        size_t stop = i + 16 * 31 < n ? i + 16 * 31 : n;
        for (; i + 16 <= stop; i += 16) acc = vaddq_u8(acc, vcntq_u8(veorq_u8(vld1q_u8(a + i), vld1q_u8(b + i))));
        d += vaddlvq_u8(acc);
    }
    if (i + 8 <= n) {
        d += vaddv_u8(vcnt_u8(veor_u8(vld1_u8(a + i), vld1_u8(b + i))));
        i += 8;
    }
    for (; i < n; i++) d += (uint64_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
    return (uint32_t)d;
}

static void distances_neon(const uint8_t *q, const uint8_t *base, size_t count, size_t n, uint16_t *out) {
    size_t i = 0;
    if (n == 8) {
        // Two codes per register: per-byte counts, then pairwise sums down to one per code.
        const uint8x16_t qv = vcombine_u8(vld1_u8(q), vld1_u8(q));
        for (; i + 2 <= count; i += 2) {
            uint64x2_t s = vpaddlq_u32(vpaddlq_u16(vpaddlq_u8(vcntq_u8(veorq_u8(qv, vld1q_u8(base + 8 * i))))));
            out[i] = (uint16_t)vgetq_lane_u64(s, 0);
            out[i + 1] = (uint16_t)vgetq_lane_u64(s, 1);
        }
    }
    for (; i < count; i++) out[i] = (uint16_t)distance_neon(q, base + i * n, n);
}

static size_t scan_neon(const uint8_t *q, const uint8_t *base, size_t count, size_t n, uint32_t first,
                        const uint64_t *dead, hx_scan_state *st, hx_hit *hits) {
    size_t out = 0, i = 0;
    if (n == 8) {
        const uint8x16_t qv = vcombine_u8(vld1_u8(q), vld1_u8(q));
        for (; i + 2 <= count; i += 2) {
            uint64x2_t s = vpaddlq_u32(vpaddlq_u16(vpaddlq_u8(vcntq_u8(veorq_u8(qv, vld1q_u8(base + 8 * i))))));
            uint32_t d0 = (uint32_t)vgetq_lane_u64(s, 0), d1 = (uint32_t)vgetq_lane_u64(s, 1);
            if (d0 <= st->limit) out = scan_emit(st, first + (uint32_t)i, d0, dead, hits, out);
            if (d1 <= st->limit) out = scan_emit(st, first + (uint32_t)i + 1, d1, dead, hits, out);
        }
    }
    for (; i < count; i++) {
        uint32_t d = distance_neon(q, base + i * n, n);
        if (d <= st->limit) out = scan_emit(st, first + (uint32_t)i, d, dead, hits, out);
    }
    return out;
}
#else
#define HX_ARM 0
#endif

// MARK: - Dispatch

int hx_isa_supported(int isa) {
    switch (isa) {
    case HX_ISA_PORTABLE: return 1;
#if HX_X86
    case HX_ISA_POPCNT:
        __builtin_cpu_init();
        return __builtin_cpu_supports("popcnt") ? 1 : 0;
    case HX_ISA_AVX2:
        __builtin_cpu_init();
        return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) ? 1 : 0;
    case HX_ISA_AVX512:
        __builtin_cpu_init();
        return (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("popcnt")) ? 1 : 0;
#endif
#if HX_ARM
    case HX_ISA_NEON: return 1;
#endif
    default: return 0;
    }
}

int hx_best_isa(void) {
    static int best = -1;
    int b = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (b >= 0) return b;
    b = HX_ISA_PORTABLE;
    for (int isa = HX_ISA_COUNT - 1; isa > HX_ISA_PORTABLE; isa--) {
        if (hx_isa_supported(isa)) { b = isa; break; }
    }
    __atomic_store_n(&best, b, __ATOMIC_RELAXED);
    return b;
}

int hx_active_isa(void) {
    static int active = -1;
    int a = __atomic_load_n(&active, __ATOMIC_RELAXED);
    if (a >= 0) return a;
    a = hx_best_isa();
    const char *want = getenv("HASHIDX_ISA");
    if (want) {
        static const char *const names[HX_ISA_COUNT] = {"portable", "popcnt", "avx2", "avx512", "neon"};
        for (int isa = 0; isa < HX_ISA_COUNT; isa++) {
            if (strcmp(want, names[isa]) != 0) continue;
            if (hx_isa_supported(isa)) a = isa;
            else if (isa != HX_ISA_NEON)  // the x86 levels are ordered: cap at the best one below
                for (int lower = isa - 1; lower >= HX_ISA_PORTABLE; lower--)
                    if (hx_isa_supported(lower) && lower != HX_ISA_NEON) { a = lower; break; }
            break;
        }
    }
    __atomic_store_n(&active, a, __ATOMIC_RELAXED);
    return a;
}

const char *hx_isa_name(int isa) {
    switch (isa) {
    case HX_ISA_PORTABLE: return "portable";
    case HX_ISA_POPCNT: return "popcnt";
    case HX_ISA_AVX2: return "avx2";
    case HX_ISA_AVX512: return "avx512-vpopcntdq";
    case HX_ISA_NEON: return "neon";
    default: return "unknown";
    }
}

uint32_t hx_distance(int isa, const uint8_t *a, const uint8_t *b, size_t code_bytes) {
#if HX_X86
    switch (isa) {
    case HX_ISA_POPCNT:
    case HX_ISA_AVX2: return distance_popcnt(a, b, code_bytes);
    case HX_ISA_AVX512: return code_bytes >= 128 ? distance_avx512_long(a, b, code_bytes) : distance_popcnt(a, b, code_bytes);
    default: break;
    }
#elif HX_ARM
    if (isa == HX_ISA_NEON) return distance_neon(a, b, code_bytes);
#else
    (void)isa;
#endif
    return distance_portable(a, b, code_bytes);
}

void hx_distances(int isa, const uint8_t *query, const uint8_t *base, size_t count, size_t code_bytes, uint16_t *out) {
#if HX_X86
    switch (isa) {
    case HX_ISA_POPCNT: distances_popcnt(query, base, count, code_bytes, out); return;
    case HX_ISA_AVX2: distances_avx2(query, base, count, code_bytes, out); return;
    case HX_ISA_AVX512: distances_avx512(query, base, count, code_bytes, out); return;
    default: break;
    }
#elif HX_ARM
    if (isa == HX_ISA_NEON) { distances_neon(query, base, count, code_bytes, out); return; }
#else
    (void)isa;
#endif
    distances_portable(query, base, count, code_bytes, out);
}

size_t hx_scan(int isa, const uint8_t *query, const uint8_t *base, size_t count, size_t code_bytes, uint32_t first_row,
               const uint64_t *dead, hx_scan_state *state, hx_hit *out) {
#if HX_X86
    switch (isa) {
    case HX_ISA_POPCNT: return scan_popcnt(query, base, count, code_bytes, first_row, dead, state, out);
    case HX_ISA_AVX2: return scan_avx2(query, base, count, code_bytes, first_row, dead, state, out);
    case HX_ISA_AVX512: return scan_avx512(query, base, count, code_bytes, first_row, dead, state, out);
    default: break;
    }
#elif HX_ARM
    if (isa == HX_ISA_NEON) return scan_neon(query, base, count, code_bytes, first_row, dead, state, out);
#else
    (void)isa;
#endif
    return scan_portable(query, base, count, code_bytes, first_row, dead, state, out);
}

#if HX_X86
HX_AVX512 static size_t select_avx512(const uint16_t *distances, size_t count, uint16_t limit, uint32_t *indices) {
    size_t k = 0, i = 0;
    const __m512i lim = _mm512_set1_epi16((short)limit);
    const __m512i step = _mm512_set1_epi32(16);
    __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 32 <= count; i += 32) {
        __mmask32 keep = _mm512_cmple_epu16_mask(_mm512_loadu_si512((const void *)(distances + i)), lim);
        if (keep) {
            _mm512_mask_compressstoreu_epi32(indices + k, (__mmask16)keep, idx);
            k += (size_t)__builtin_popcount((unsigned)(keep & 0xffff));
            _mm512_mask_compressstoreu_epi32(indices + k, (__mmask16)(keep >> 16), _mm512_add_epi32(idx, step));
            k += (size_t)__builtin_popcount((unsigned)(keep >> 16));
        }
        idx = _mm512_add_epi32(idx, _mm512_add_epi32(step, step));
    }
    for (; i < count; i++) {
        indices[k] = (uint32_t)i;
        k += distances[i] <= limit;
    }
    return k;
}
#endif

size_t hx_select_at_most(const uint16_t *distances, size_t count, uint16_t limit, uint32_t *indices) {
#if HX_X86
    if (hx_active_isa() == HX_ISA_AVX512) return select_avx512(distances, count, limit, indices);
#endif
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        indices[k] = (uint32_t)i;
        k += distances[i] <= limit;
    }
    return k;
}

void hx_histogram(const uint16_t *distances, size_t count, uint32_t *histogram) {
    for (size_t i = 0; i < count; i++) histogram[distances[i]]++;
}
