// The limits a scan is measured against, on this machine, for every kernel it can run:
//   - memory bandwidth: one pass summing a buffer far larger than the caches;
//   - the popcount limit: XOR and popcount of every code against a query, summed, nothing kept
//     (the least work any exact scan does), per instruction set;
//   - hashidx's fused scan (hx_scan) over the same codes: range r = 0 and r = 6, and k = 10.
// Codes are uniform random, 64 and 256 bits; one thread; the best of five passes is kept.
//
//     cc -O2 -I Sources/CHammingKernels/include -o /tmp/scan_limit
//        Sources/CHammingKernels/kernels.c Benchmarks/ScanLimit/scan_limit.c && /tmp/scan_limit
#include "hamming_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void) {
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static volatile uint64_t sink;

/// The popcount limit: every 8-byte word of the codes XORed with the matching word of the query
/// and popcounted, summed; no per-code result, no branch. Scalar: portable bit arithmetic or
/// POPCNT; vector: AVX2 (nibble tables, VPSADBW) or AVX-512 VPOPCNTDQ, whole registers at a time.
static uint64_t popcount_portable_pass(const uint64_t *q, const uint64_t *w, size_t words, size_t per) {
    uint64_t total = 0;
    for (size_t i = 0; i < words; i++) {
        uint64_t x = w[i] ^ q[i & (per - 1)];
        x = x - ((x >> 1) & 0x5555555555555555ULL);
        x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
        total += (((x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL) * 0x0101010101010101ULL) >> 56;
    }
    return total;
}

#if defined(__x86_64__)
__attribute__((target("popcnt")))
static uint64_t popcount_popcnt_pass(const uint64_t *q, const uint64_t *w, size_t words, size_t per) {
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 3 < words; i += 4) {   // per is 1 or 4 words: a power of two
        a += (uint64_t)__builtin_popcountll(w[i] ^ q[i & (per - 1)]);
        b += (uint64_t)__builtin_popcountll(w[i + 1] ^ q[(i + 1) & (per - 1)]);
        c += (uint64_t)__builtin_popcountll(w[i + 2] ^ q[(i + 2) & (per - 1)]);
        d += (uint64_t)__builtin_popcountll(w[i + 3] ^ q[(i + 3) & (per - 1)]);
    }
    return a + b + c + d;
}

/// One read pass over `bytes` bytes with 256-bit loads, four accumulators: the bandwidth.
__attribute__((target("avx2")))
static uint64_t read_pass_avx2(const uint8_t *p, size_t bytes) {
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i + 128 <= bytes; i += 128) {
        a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)(p + i)));
        b = _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        c = _mm256_xor_si256(c, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        d = _mm256_xor_si256(d, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    a = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
    return (uint64_t)_mm256_extract_epi64(a, 0) ^ (uint64_t)_mm256_extract_epi64(a, 3);
}

__attribute__((target("avx2")))
static uint64_t popcount_avx2_pass(const uint8_t *q, const uint8_t *codes, size_t bytes_total, size_t per) {
    // Two nibble tables, 4 + popcount(low nibble) and 4 − popcount(high nibble): VPSADBW of
    // the two looks-ups sums each byte's popcount (no byte add), as the kernels do.
    const __m256i plus = _mm256_setr_epi8(4, 5, 5, 6, 5, 6, 6, 7, 5, 6, 6, 7, 6, 7, 7, 8, 4, 5, 5, 6, 5, 6, 6, 7, 5, 6, 6, 7, 6, 7, 7, 8);
    const __m256i minus = _mm256_setr_epi8(4, 3, 3, 2, 3, 2, 2, 1, 3, 2, 2, 1, 2, 1, 1, 0, 4, 3, 3, 2, 3, 2, 2, 1, 3, 2, 2, 1, 2, 1, 1, 0);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i qv = per == 8 ? _mm256_set1_epi64x(*(const long long *)q) : _mm256_loadu_si256((const __m256i *)q);
    __m256i acc = _mm256_setzero_si256();
    for (size_t i = 0; i + 32 <= bytes_total; i += 32) {
        __m256i v = _mm256_xor_si256(qv, _mm256_loadu_si256((const __m256i *)(codes + i)));
        acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_shuffle_epi8(plus, _mm256_and_si256(v, low)),
                                                    _mm256_shuffle_epi8(minus, _mm256_and_si256(_mm256_srli_epi16(v, 4), low))));
    }
    return (uint64_t)(_mm256_extract_epi64(acc, 0) + _mm256_extract_epi64(acc, 1) + _mm256_extract_epi64(acc, 2) + _mm256_extract_epi64(acc, 3));
}

__attribute__((target("avx512f,avx512vpopcntdq")))
static uint64_t popcount_avx512_pass(const uint8_t *q, const uint8_t *codes, size_t bytes_total, size_t per) {
    __m512i qv = per == 8 ? _mm512_set1_epi64(*(const long long *)q) : _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)q));
    __m512i acc = _mm512_setzero_si512();
    for (size_t i = 0; i + 64 <= bytes_total; i += 64)
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(qv, _mm512_loadu_si512((const void *)(codes + i)))));
    return (uint64_t)_mm512_reduce_add_epi64(acc);
}
#endif

static uint64_t popcount_pass(int isa, const uint8_t *q, const uint8_t *codes, size_t n, size_t bytes) {
#if defined(__x86_64__)
    if (isa == HX_ISA_AVX512) return popcount_avx512_pass(q, codes, n * bytes, bytes);
    if (isa == HX_ISA_AVX2) return popcount_avx2_pass(q, codes, n * bytes, bytes);
    if (isa == HX_ISA_POPCNT) return popcount_popcnt_pass((const uint64_t *)q, (const uint64_t *)codes, n * bytes / 8, bytes / 8);
#endif
    (void)isa;
    return popcount_portable_pass((const uint64_t *)q, (const uint64_t *)codes, n * bytes / 8, bytes / 8);
}

int main(void) {
    const size_t big = (size_t)1 << 30;  // 1 GiB: far past every cache
    uint64_t *buffer = malloc(big);
    for (size_t i = 0; i < big / 8; i++) buffer[i] = i * 0x9e3779b97f4a7c15ULL;
    double best = 1e9;
    for (int pass = 0; pass < 5; pass++) {
        double t = now();
#if defined(__x86_64__)
        sink = read_pass_avx2((const uint8_t *)buffer, big);
#else
        uint64_t s = 0;
        for (size_t i = 0; i < big / 8; i += 4) s += buffer[i] ^ buffer[i + 1] ^ buffer[i + 2] ^ buffer[i + 3];
        sink = s;
#endif
        t = now() - t;
        if (t < best) best = t;
    }
    printf("memory bandwidth (one read pass over 1 GiB): %.1f GB/s\n", (double)big / best / 1e9);
    free(buffer);

    const size_t widths[] = {8, 32};
    const size_t counts[] = {1000000, 10000000};
    for (int wi = 0; wi < 2; wi++) {
        for (int ci = 0; ci < 2; ci++) {
            size_t bytes = widths[wi], n = counts[ci];
            uint8_t *codes = malloc(n * bytes), q[64] __attribute__((aligned(8)));
            for (size_t i = 0; i < n * bytes; i += 8) { uint64_t v = next(); memcpy(codes + i, &v, 8); }
            for (size_t i = 0; i < sizeof q; i++) q[i] = (uint8_t)next();
            hx_hit *hits = malloc((n + 64) * sizeof *hits);
            uint32_t *count_at = calloc(bytes * 8 + 1, sizeof *count_at);
            printf("\n%zu × %zu-bit codes (%.0f MB):\n", n, bytes * 8, (double)(n * bytes) / 1e6);
            for (int isa = 0; isa < HX_ISA_COUNT; isa++) {
                if (!hx_isa_supported(isa)) continue;
                double limit = 1e9, r0 = 1e9, r6 = 1e9, k10 = 1e9;
                for (int pass = 0; pass < 5; pass++) {
                    double t = now();
                    sink = popcount_pass(isa, q, codes, n, bytes);
                    t = now() - t; if (t < limit) limit = t;
                    hx_scan_state st = {0, 0, 0, NULL, 0};
                    t = now(); sink = hx_scan(isa, q, codes, n, bytes, 0, NULL, &st, hits); t = now() - t; if (t < r0) r0 = t;
                    hx_scan_state st6 = {(uint32_t)(bytes * 8 / 2 - bytes * 2), 0, 0, NULL, 0};
                    t = now(); sink = hx_scan(isa, q, codes, n, bytes, 0, NULL, &st6, hits); t = now() - t; if (t < r6) r6 = t;
                    memset(count_at, 0, (bytes * 8 + 1) * sizeof *count_at);
                    hx_scan_state stk = {(uint32_t)(bytes * 8), 10, 0, count_at, 0};
                    t = now(); sink = hx_scan(isa, q, codes, n, bytes, 0, NULL, &stk, hits); t = now() - t; if (t < k10) k10 = t;
                }
                printf("  %-17s popcount limit %7.3f ms (%5.2f GB/s) | fused scan: r=0 %7.3f ms (%.2f× limit), "
                       "r=B/2-2w %7.3f ms, k=10 %7.3f ms (%.2f× limit)\n",
                       hx_isa_name(isa), limit * 1e3, (double)(n * bytes) / limit / 1e9, r0 * 1e3, r0 / limit, r6 * 1e3, k10 * 1e3, k10 / limit);
            }
            free(codes); free(hits); free(count_at);
        }
    }
    return 0;
}
