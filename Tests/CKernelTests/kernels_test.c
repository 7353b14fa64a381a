// Checks every kernel this CPU can run against a plain reference: distances, the fused scan in
// range and k-nearest mode (with dead rows), and the HASHIDX_ISA override. Built with any C
// compiler and no flags beside the kernels' own source, so CI also cross-compiles it for
// aarch64 and runs it under qemu-user (the NEON kernels):
//
//     cc -O2 -I Sources/CHammingKernels/include -o /tmp/kernels_test
//        Sources/CHammingKernels/kernels.c Tests/CKernelTests/kernels_test.c && /tmp/kernels_test
//
// Prints one line per failure and, last, "kernels: N checks passed, N checks failed"; exits 1 on a failure.
#include "hamming_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void) {  // splitmix64
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t reference(const uint8_t *a, const uint8_t *b, size_t n) {
    uint32_t d = 0;
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) d += ((a[i] ^ b[i]) >> bit) & 1;
    return d;
}

static int passed = 0, failed = 0;
static void check(int ok, const char *what, int isa, size_t width, size_t count, int k) {
    if (ok) { passed++; return; }
    failed++;
    printf("FAIL %s: isa %s, %zu-byte codes, %zu codes, k %d\n", what, hx_isa_name(isa), width, count, k);
}

/// Codes near the query (a few flipped bits) mixed with random ones, so every limit has hits.
static void fill(uint8_t *codes, const uint8_t *q, size_t count, size_t n) {
    for (size_t i = 0; i < count; i++) {
        uint8_t *c = codes + i * n;
        if (next() % 3) {
            memcpy(c, q, n);
            int flips = (int)(next() % (n * 2 + 1));
            for (int f = 0; f < flips; f++) { size_t bit = next() % (n * 8); c[bit >> 3] ^= (uint8_t)(1u << (bit & 7)); }
        } else {
            for (size_t j = 0; j < n; j++) c[j] = (uint8_t)next();
        }
    }
}

static void test_width(int isa, size_t n, size_t count) {
    uint8_t *codes = calloc(count * n + 1, 1), *q = malloc(n);
    uint16_t *dist = malloc(count * sizeof *dist);
    uint32_t *ref = malloc(count * sizeof *ref);
    hx_hit *out = malloc(count * sizeof *out);
    uint32_t *count_at = calloc(n * 8 + 1, sizeof *count_at);
    uint64_t dead[64] = {0};
    for (size_t j = 0; j < n; j++) q[j] = (uint8_t)next();
    // Unaligned on purpose: codes need no alignment.
    uint8_t *base = &codes[1];
    fill(base, q, count, n);
    for (size_t i = 0; i < count; i++) ref[i] = reference(q, base + i * n, n);

    hx_distances(isa, q, base, count, n, dist);
    int ok = 1;
    for (size_t i = 0; i < count; i++) ok &= dist[i] == ref[i] && hx_distance(isa, q, base + i * n, n) == ref[i];
    check(ok, "distances", isa, n, count, 0);

    const uint32_t first = 64 * 37;  // rows first…first + count − 1; dead bits relative to row 0
    uint64_t *dead_rows = calloc((first + count) / 64 + 1, 8);
    for (size_t i = 0; i < count; i++) if (next() % 7 == 0) { uint32_t r = first + (uint32_t)i; dead_rows[r >> 6] |= 1ULL << (r & 63); }
    (void)dead;
    for (int with_dead = 0; with_dead < 2; with_dead++) {
        const uint64_t *d = with_dead ? dead_rows : NULL;
        // Range mode at several radii, some past every distance (every live code within them).
        uint32_t radii[] = {0, 1, (uint32_t)n, (uint32_t)(n * 3), (uint32_t)(n * 8), 70000, UINT32_MAX};
        for (int ri = 0; ri < 7; ri++) {
            hx_scan_state st = {radii[ri], 0, 0, NULL, 0};
            size_t got = hx_scan(isa, q, base, count, n, first, d, &st, out);
            size_t want = 0;
            ok = 1;
            for (size_t i = 0; i < count; i++) {
                uint32_t r = first + (uint32_t)i;
                if (ref[i] > radii[ri] || (d && ((d[r >> 6] >> (r & 63)) & 1))) continue;
                ok &= want < got && out[want].row == r && out[want].distance == ref[i];
                want++;
            }
            check(ok && got == want, "range scan", isa, n, count, -(int)radii[ri]);
        }
        // k-nearest mode: the final limit is the k-th smallest live distance (the width while
        // fewer than k are live); without rows in id order every live code within it is emitted;
        // with every row in id order (rows stand for ids), at least the k smallest by (distance,
        // row) are, and nothing past the limit survives the caller's filter.
        int ks[] = {1, 3, 10, 100};
        for (int ki = 0; ki < 4; ki++) {
            for (int ordered = 0; ordered < 2; ordered++) {
                memset(count_at, 0, (n * 8 + 1) * sizeof *count_at);
                hx_scan_state st = {(uint32_t)(n * 8), (uint32_t)ks[ki], 0, count_at, ordered ? UINT32_MAX : 0};
                size_t got = hx_scan(isa, q, base, count, n, first, d, &st, out);
                uint32_t hist[8193] = {0};
                size_t live = 0;
                for (size_t i = 0; i < count; i++) {
                    uint32_t r = first + (uint32_t)i;
                    if (d && ((d[r >> 6] >> (r & 63)) & 1)) continue;
                    hist[ref[i]]++;
                    live++;
                }
                size_t need = (size_t)ks[ki] < live ? (size_t)ks[ki] : live, seen = 0;
                uint32_t kth = 0;
                while (kth <= n * 8) { seen += hist[kth]; if (seen >= need) break; kth++; }
                ok = st.limit == (live >= (size_t)ks[ki] ? kth : (uint32_t)(n * 8));
                // Every emitted hit has its true distance, rows ascending.
                for (size_t j = 0; j < got && ok; j++) {
                    ok &= out[j].row >= first && out[j].row < first + count && out[j].distance == ref[out[j].row - first];
                    ok &= j == 0 || out[j].row > out[j - 1].row;
                }
                // The codes that must be emitted: all within the limit, or, with rows in id
                // order, those below the limit and the first (k − below) at it.
                size_t below = 0;
                for (uint32_t x = 0; x < st.limit && x <= n * 8; x++) below += hist[x];
                size_t at_limit_wanted = need > below ? need - below : 0, at_limit_seen = 0;
                size_t j = 0;
                for (size_t i = 0; i < count && ok; i++) {
                    uint32_t r = first + (uint32_t)i;
                    if (ref[i] > st.limit || (d && ((d[r >> 6] >> (r & 63)) & 1))) continue;
                    int required = !ordered || ref[i] < st.limit || at_limit_seen < at_limit_wanted;
                    if (ref[i] == st.limit) at_limit_seen++;
                    while (j < got && out[j].row < r) j++;
                    if (required) ok &= j < got && out[j].row == r;
                }
                check(ok, ordered ? "nearest scan, rows in id order" : "nearest scan", isa, n, count, ks[ki]);
            }
        }
    }
    free(dead_rows);
    free(codes); free(q); free(dist); free(ref); free(out); free(count_at);
}

int main(void) {
    int isas = 0;
    for (int isa = 0; isa < HX_ISA_COUNT; isa++) {
        if (!hx_isa_supported(isa)) continue;
        isas++;
        for (size_t n = 1; n <= 128; n++) {
            size_t counts[] = {0, 1, 7, 8, 9, 65, 300};
            for (int c = 0; c < 7; c++) test_width(isa, n, counts[c]);
        }
    }
    // The override is capped at what the CPU supports, and defaults to the best.
    int active = hx_active_isa();
    check(hx_isa_supported(active) && active <= HX_ISA_COUNT, "active isa supported", active, 0, 0, 0);
    const char *want = getenv("HASHIDX_ISA");
    if (!want) check(active == hx_best_isa(), "active isa is the best without HASHIDX_ISA", active, 0, 0, 0);
    else if (!strcmp(want, "portable")) check(active == HX_ISA_PORTABLE, "HASHIDX_ISA=portable", active, 0, 0, 0);
    printf("kernels: %d instruction sets (best %s, active %s)\n", isas, hx_isa_name(hx_best_isa()), hx_isa_name(active));
    printf("kernels: %d checks passed, %d checks failed\n", passed, failed);
    return failed ? 1 : 0;
}
