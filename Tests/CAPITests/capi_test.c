/*
 * The C API against a brute-force oracle, and every function's error paths.
 * Build: cc -std=c99 -Wall -Werror -I include Tests/CAPITests/capi_test.c -L<dir> -lhashidx_c -lpthread
 * Prints "capi: N checks passed, N checks failed" and exits nonzero on a failure.
 */
#define _POSIX_C_SOURCE 200809L
#include "hashidx.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond, ...) do { \
    if (cond) passed++; \
    else { failed++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
           fprintf(stderr, " (last error: %s)\n", hashidx_last_error()); } \
} while (0)

#define EXPECT_STATUS(call, want) do { \
    int got_ = (call); \
    CHECK(got_ == (want), "%s returned %s, expected %s", #call, hashidx_status_name(got_), hashidx_status_name(want)); \
    if ((want) != HASHIDX_OK) CHECK(strlen(hashidx_last_error()) > 0, "%s: no message", #call); \
} while (0)

static uint64_t rng_state;
static uint64_t next_random(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static char directory[256];
static char *path_in(const char *name) {
    static char buffers[8][512];
    static int next;
    char *b = buffers[next++ & 7];
    snprintf(b, 512, "%s/%s", directory, name);
    return b;
}

static int distance(const uint8_t *a, const uint8_t *b, size_t bytes) {
    int d = 0;
    for (size_t i = 0; i < bytes; i++) d += __builtin_popcount((unsigned)(a[i] ^ b[i]));
    return d;
}

/* Random codes: clustered around a few centres (ties at the k-th distance are common). */
static void random_codes(uint8_t *codes, size_t n, int bits, int clustered) {
    size_t bytes = (size_t)(bits + 7) / 8;
    uint8_t centres[4][128];
    for (int c = 0; c < 4; c++) for (size_t j = 0; j < bytes; j++) centres[c][j] = (uint8_t)next_random();
    for (size_t i = 0; i < n; i++) {
        uint8_t *code = codes + i * bytes;
        if (clustered) {
            memcpy(code, centres[next_random() % 4], bytes);
            int flips = (int)(next_random() % 4);
            for (int f = 0; f < flips; f++) { int b = (int)(next_random() % (uint64_t)bits); code[b >> 3] ^= (uint8_t)(1u << (b & 7)); }
        } else {
            for (size_t j = 0; j < bytes; j++) code[j] = (uint8_t)next_random();
        }
        if (bits & 7) code[bytes - 1] &= (uint8_t)((1u << (bits & 7)) - 1);
    }
}

typedef struct { int distance; uint64_t id; } ranked;
static int by_distance_then_id(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->distance != y->distance) return x->distance < y->distance ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The oracle's ranking of `n` live codes for one query. */
static ranked *rank_all(const uint8_t *codes, const uint64_t *ids, const int *live, size_t n, const uint8_t *query, size_t bytes, size_t *count) {
    ranked *r = malloc((n + 1) * sizeof *r);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) if (live[i]) { r[m].distance = distance(codes + i * bytes, query, bytes); r[m].id = ids[i]; m++; }
    qsort(r, m, sizeof *r, by_distance_then_id);
    *count = m;
    return r;
}

/* kNN and range search of one index against the oracle, for several k and r. */
static void compare_with_oracle(hashidx_index index, const uint8_t *codes, const uint64_t *ids, const int *live, size_t n,
                                int bits, const uint8_t *queries, size_t nq, const char *label) {
    size_t bytes = (size_t)(bits + 7) / 8;
    int ks[] = {1, 3, 10, (int)n + 2};
    for (int t = 0; t < 4; t++) {
        int k = ks[t];
        int32_t *D = malloc(nq * (size_t)k * sizeof *D);
        int64_t *I = malloc(nq * (size_t)k * sizeof *I);
        hashidx_query_stats *stats = calloc(nq, sizeof *stats);
        EXPECT_STATUS(hashidx_search(index, queries, nq, bytes, k, t % 2 ? 2 : 1, D, I, stats), HASHIDX_OK);
        int all = 1;
        for (size_t q = 0; q < nq; q++) {
            size_t m;
            ranked *want = rank_all(codes, ids, live, n, queries + q * bytes, bytes, &m);
            for (int j = 0; j < k; j++) {
                int32_t wd = (size_t)j < m ? want[j].distance : -1;
                int64_t wi = (size_t)j < m ? (int64_t)want[j].id : -1;
                if (D[q * (size_t)k + (size_t)j] != wd || I[q * (size_t)k + (size_t)j] != wi) all = 0;
            }
            if (stats[q].radius_reached < 0 || stats[q].seconds < 0) all = 0;
            free(want);
        }
        CHECK(all, "%s: kNN k=%d differs from the oracle", label, k);
        /* The forced scan gives the same answer (a forced probe of far neighbours of wide codes
         * enumerates huge balls: the Swift oracle suites cover it). */
        int32_t *D2 = malloc(nq * (size_t)k * sizeof *D2);
        int64_t *I2 = malloc(nq * (size_t)k * sizeof *I2);
        EXPECT_STATUS(hashidx_force_path(index, HASHIDX_PATH_SCAN), HASHIDX_OK);
        EXPECT_STATUS(hashidx_search(index, queries, nq, bytes, k, 1, D2, I2, NULL), HASHIDX_OK);
        EXPECT_STATUS(hashidx_force_path(index, HASHIDX_PATH_AUTO), HASHIDX_OK);
        CHECK(memcmp(D, D2, nq * (size_t)k * sizeof *D) == 0 && memcmp(I, I2, nq * (size_t)k * sizeof *I) == 0,
              "%s: kNN k=%d on the forced scan differs", label, k);
        free(D2); free(I2);
        free(D); free(I); free(stats);
    }
    int radii[] = {0, 1, bits / 8, bits / 8 + 1, bits / 4};
    for (int t = 0; t < 5; t++) {
        int r = radii[t];
        size_t *lims = malloc((nq + 1) * sizeof *lims);
        hashidx_range_result result = 0;
        EXPECT_STATUS(hashidx_range_search(index, queries, nq, bytes, r, 0, lims, &result, NULL), HASHIDX_OK);
        const int32_t *D = NULL; const int64_t *I = NULL; size_t total = 0;
        EXPECT_STATUS(hashidx_range_result_get(result, &D, &I, &total), HASHIDX_OK);
        int all = lims[0] == 0 && lims[nq] == total;
        for (size_t q = 0; q < nq && all; q++) {
            size_t m;
            ranked *want = rank_all(codes, ids, live, n, queries + q * bytes, bytes, &m);
            size_t within = 0;
            while (within < m && want[within].distance <= r) within++;
            if (lims[q + 1] - lims[q] != within) all = 0;
            for (size_t j = 0; j < within && all; j++)
                if (D[lims[q] + j] != want[j].distance || I[lims[q] + j] != (int64_t)want[j].id) all = 0;
            free(want);
        }
        CHECK(all, "%s: range r=%d differs from the oracle", label, r);
        if (t % 2) {
            EXPECT_STATUS(hashidx_range_result_free(result), HASHIDX_OK);
        } else {
            /* The one-call copy gives the same entries and releases the result. */
            int32_t *D2 = calloc(total + 1, sizeof *D2), *wantD = malloc((total + 1) * sizeof *wantD);
            int64_t *I2 = calloc(total + 1, sizeof *I2), *wantI = malloc((total + 1) * sizeof *wantI);
            int same = 1;
            for (size_t j = 0; j < total; j++) { wantD[j] = D[j]; wantI[j] = I[j]; }
            EXPECT_STATUS(hashidx_range_result_take(result, D2, I2), HASHIDX_OK);
            for (size_t j = 0; j < total; j++) same &= D2[j] == wantD[j] && I2[j] == wantI[j];
            CHECK(same, "%s: range_result_take", label);
            free(D2); free(I2); free(wantD); free(wantI);
            EXPECT_STATUS(hashidx_range_result_take(result, NULL, NULL), HASHIDX_CLOSED);
        }
        EXPECT_STATUS(hashidx_range_result_free(result), HASHIDX_CLOSED);
        EXPECT_STATUS(hashidx_range_result_get(result, &D, &I, &total), HASHIDX_CLOSED);
        free(lims);
    }
}

/* Sweeps of width, substring count and distribution, with upserts and removes. */
static void oracle_sweep(void) {
    int widths[] = {8, 13, 64, 100, 256};
    int substrings[] = {1, 2, 4, 5, 8};
    for (int w = 0; w < 5; w++) for (int clustered = 0; clustered < 2; clustered++) {
        int bits = widths[w];
        size_t bytes = (size_t)(bits + 7) / 8, n = 400, nq = 12;
        rng_state = (uint64_t)(w * 2 + clustered + 1);
        char name[64]; snprintf(name, sizeof name, "sweep-%d-%d", bits, clustered);
        hashidx_index index = 0;
        EXPECT_STATUS(hashidx_create(path_in(name), bits, substrings[w], n, &index), HASHIDX_OK);
        uint8_t *codes = malloc(n * bytes), *queries = malloc(nq * bytes);
        uint64_t *ids = malloc(n * sizeof *ids);
        int *live = malloc(n * sizeof *live);
        random_codes(codes, n, bits, clustered);
        random_codes(queries, nq, bits, clustered);
        for (size_t i = 0; i < n; i++) { ids[i] = 1000 + 7 * i; live[i] = 1; }
        uint64_t inserted = 0, replaced = 0;
        EXPECT_STATUS(hashidx_add(index, ids, codes, n, bytes, &inserted, &replaced), HASHIDX_OK);
        CHECK(inserted == n && replaced == 0, "%s: inserted %llu replaced %llu", name, (unsigned long long)inserted, (unsigned long long)replaced);
        compare_with_oracle(index, codes, ids, live, n, bits, queries, nq, name);
        /* Upsert the first 50 with new codes, remove 40 others; compact; compare again. */
        random_codes(codes, 50, bits, clustered);
        EXPECT_STATUS(hashidx_add(index, ids, codes, 50, bytes, &inserted, &replaced), HASHIDX_OK);
        CHECK(inserted == 0 && replaced == 50, "%s: upsert counted %llu/%llu", name, (unsigned long long)inserted, (unsigned long long)replaced);
        uint64_t removed = 0;
        EXPECT_STATUS(hashidx_remove(index, ids + 100, 40, &removed), HASHIDX_OK);
        CHECK(removed == 40, "%s: removed %llu", name, (unsigned long long)removed);
        for (size_t i = 100; i < 140; i++) live[i] = 0;
        compare_with_oracle(index, codes, ids, live, n, bits, queries, nq, name);
        uint64_t count = 0;
        EXPECT_STATUS(hashidx_compact(index, &count), HASHIDX_OK);
        CHECK(count == n - 40, "%s: compact left %llu", name, (unsigned long long)count);
        compare_with_oracle(index, codes, ids, live, n, bits, queries, nq, name);
        EXPECT_STATUS(hashidx_verify(index, &count), HASHIDX_OK);
        CHECK(count == n - 40, "%s: verify checked %llu", name, (unsigned long long)count);
        EXPECT_STATUS(hashidx_close(index), HASHIDX_OK);
        free(codes); free(queries); free(ids); free(live);
    }
}

typedef struct { size_t rows; uint64_t id_sum; int stop_after; int calls; } export_state;
static int export_callback(void *context, const uint64_t *ids, const uint8_t *codes, size_t n) {
    export_state *s = context;
    (void)codes;
    s->calls++;
    s->rows += n;
    for (size_t i = 0; i < n; i++) s->id_sum += ids[i];
    return s->stop_after && s->calls >= s->stop_after;
}

/* Every index function's success and error paths. */
static void index_functions(void) {
    CHECK(strlen(hashidx_version()) >= 5, "version '%s'", hashidx_version());
    CHECK(hashidx_format_version() >= 1, "format version %d", hashidx_format_version());
    CHECK(strcmp(hashidx_status_name(HASHIDX_CLOSED), "CLOSED") == 0, "status name");
    CHECK(strcmp(hashidx_status_name(999), "UNKNOWN") == 0, "unknown status name");
    hashidx_free(NULL);

    hashidx_index index = 0, other = 0;
    EXPECT_STATUS(hashidx_create(NULL, 64, 0, 0, &index), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_create(path_in("a"), 64, 0, 0, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_create(path_in("a"), 7, 0, 0, &index), HASHIDX_BAD_CODE);
    EXPECT_STATUS(hashidx_create(path_in("a"), 2000, 0, 0, &index), HASHIDX_BAD_CODE);
    EXPECT_STATUS(hashidx_create(path_in("a"), 64, -1, 0, &index), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_create(path_in("a"), 64, 65, 0, &index), HASHIDX_BAD_CODE);
    EXPECT_STATUS(hashidx_create(path_in("a"), 12, 2, 100, &index), HASHIDX_OK);
    CHECK(strlen(hashidx_last_error()) == 0, "a success clears the last error");
    EXPECT_STATUS(hashidx_create(path_in("a"), 12, 2, 100, &other), HASHIDX_ALREADY_EXISTS);
    EXPECT_STATUS(hashidx_open(path_in("a"), 0, &other), HASHIDX_ALREADY_OPEN);
    EXPECT_STATUS(hashidx_open(path_in("missing"), 0, &other), HASHIDX_NOT_AN_INDEX);
    EXPECT_STATUS(hashidx_open(NULL, 0, &other), HASHIDX_INVALID_ARGUMENT);

    int bits = 0, m = 0, ro = 1; size_t bytes = 0;
    EXPECT_STATUS(hashidx_info(index, &bits, &m, &bytes, &ro), HASHIDX_OK);
    CHECK(bits == 12 && m == 2 && bytes == 2 && ro == 0, "info %d %d %zu %d", bits, m, bytes, ro);
    EXPECT_STATUS(hashidx_info(index, NULL, NULL, NULL, NULL), HASHIDX_OK);
    EXPECT_STATUS(hashidx_info(12345, &bits, &m, &bytes, &ro), HASHIDX_INVALID_ARGUMENT);
    /* A handle of the library's numbering that it never gave out is not a closed one. */
    EXPECT_STATUS(hashidx_info(index + ((uint64_t)1 << 40), &bits, &m, &bytes, &ro), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_force_path(index, 3), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_force_path(index, -1), HASHIDX_INVALID_ARGUMENT);

    uint8_t codes[6] = {0x01, 0x00, 0xFF, 0x0F, 0x0F, 0x00};
    uint64_t ids[3] = {5, 9, 7};
    uint64_t inserted = 0, replaced = 0, count = 0;
    EXPECT_STATUS(hashidx_add(index, ids, codes, 3, 3, &inserted, &replaced), HASHIDX_CODE_WIDTH);
    EXPECT_STATUS(hashidx_add(index, ids, NULL, 3, 2, &inserted, &replaced), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_add(index, ids, codes, (size_t)-1, 2, &inserted, &replaced), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_add(index, ids, codes, ((size_t)1 << 62), 2, &inserted, &replaced), HASHIDX_INVALID_ARGUMENT);
    uint8_t padded[2] = {0x00, 0x10};
    EXPECT_STATUS(hashidx_add(index, ids, padded, 1, 2, &inserted, &replaced), HASHIDX_BAD_CODE);
    EXPECT_STATUS(hashidx_count(index, &count), HASHIDX_OK);
    CHECK(count == 0, "failed adds left %llu codes", (unsigned long long)count);
    EXPECT_STATUS(hashidx_add(index, ids, NULL, 0, 2, &inserted, &replaced), HASHIDX_OK);
    EXPECT_STATUS(hashidx_add(index, ids, codes, 3, 2, &inserted, &replaced), HASHIDX_OK);
    CHECK(inserted == 3 && replaced == 0, "add counts");
    /* Without ids: sequential from the count (3, 4). */
    EXPECT_STATUS(hashidx_add(index, NULL, codes, 2, 2, NULL, NULL), HASHIDX_OK);
    EXPECT_STATUS(hashidx_count(index, &count), HASHIDX_OK);
    CHECK(count == 5, "count %llu", (unsigned long long)count);
    EXPECT_STATUS(hashidx_count(index, NULL), HASHIDX_INVALID_ARGUMENT);

    uint8_t got[2] = {0xAA, 0xAA}; int found = -1;
    EXPECT_STATUS(hashidx_get(index, 9, got, 2, &found), HASHIDX_OK);
    CHECK(found == 1 && got[0] == 0xFF && got[1] == 0x0F, "get 9");
    EXPECT_STATUS(hashidx_get(index, 4, got, 2, &found), HASHIDX_OK);
    CHECK(found == 1 && got[0] == 0xFF && got[1] == 0x0F, "get 4 (sequential id)");
    EXPECT_STATUS(hashidx_get(index, 999, got, 2, &found), HASHIDX_OK);
    CHECK(found == 0, "get of a missing id");
    EXPECT_STATUS(hashidx_get(index, 9, got, 1, &found), HASHIDX_CODE_WIDTH);
    EXPECT_STATUS(hashidx_get(index, 9, NULL, 2, &found), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_get(index, 9, got, 2, NULL), HASHIDX_INVALID_ARGUMENT);

    int32_t D[8]; int64_t I[8]; size_t lims[3]; hashidx_range_result result = 0;
    uint8_t query[2] = {0xFF, 0x0F};
    EXPECT_STATUS(hashidx_search(index, query, 1, 2, 0, 1, D, I, NULL), HASHIDX_INVALID_K);
    EXPECT_STATUS(hashidx_search(index, query, 1, 2, -3, 1, D, I, NULL), HASHIDX_INVALID_K);
    EXPECT_STATUS(hashidx_search(index, query, 1, 2, 2, -1, D, I, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_search(index, query, 1, 2, 2, 1, NULL, I, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_search(index, query, 1, 2, 2, 1, D, NULL, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_search(index, NULL, 1, 2, 2, 1, D, I, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_search(index, query, 1, 8, 2, 1, D, I, NULL), HASHIDX_CODE_WIDTH);
    EXPECT_STATUS(hashidx_search(index, padded, 1, 2, 2, 1, D, I, NULL), HASHIDX_BAD_CODE);
    EXPECT_STATUS(hashidx_search(index, query, 0, 2, 2, 1, NULL, NULL, NULL), HASHIDX_OK);
    EXPECT_STATUS(hashidx_search(index, query, 1, 2, 7, 1, D, I, NULL), HASHIDX_OK);
    CHECK(D[0] == 0 && I[0] == 4 && D[1] == 0 && I[1] == 9 && D[5] == -1 && I[5] == -1 && D[6] == -1,
          "kNN with padding: %d/%lld %d/%lld %d/%lld", D[0], (long long)I[0], D[1], (long long)I[1], D[5], (long long)I[5]);
    EXPECT_STATUS(hashidx_range_search(index, query, 1, 2, -1, 1, lims, &result, NULL), HASHIDX_INVALID_RADIUS);
    EXPECT_STATUS(hashidx_range_search(index, query, 1, 2, 13, 1, lims, &result, NULL), HASHIDX_INVALID_RADIUS);
    EXPECT_STATUS(hashidx_range_search(index, query, 1, 2, 2, 1, NULL, &result, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_range_search(index, query, 1, 2, 2, 1, lims, NULL, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_range_result_get(777, NULL, NULL, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_range_result_get(index, NULL, NULL, NULL), HASHIDX_INVALID_ARGUMENT);  /* an index, not a result */

    char *json = NULL;
    EXPECT_STATUS(hashidx_stat_json(index, &json), HASHIDX_OK);
    CHECK(json && strstr(json, "\"bits\":12") && strstr(json, "\"count\":5"), "stat json: %s", json ? json : "(null)");
    hashidx_free(json);
    EXPECT_STATUS(hashidx_stat_json(index, NULL), HASHIDX_INVALID_ARGUMENT);
    /* Five codes (0x001 and 0xFFF twice, 0x00F), two 6-bit tables: table 0's fullest bucket
     * (the smaller key of two) holds two rows, table 1's three. */
    EXPECT_STATUS(hashidx_bucket_stats_json(index, 1, &json), HASHIDX_OK);
    CHECK(json && json[0] == '[' && strstr(json, "\"table\":0") && strstr(json, "\"rows\":5") && strstr(json, "\"largest\":[{")
              && strstr(json, "\"rows\":2}") && strstr(json, "\"rows\":3}"), "bucket stats json: %s", json ? json : "(null)");
    hashidx_free(json);
    EXPECT_STATUS(hashidx_bucket_stats_json(index, -1, &json), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_bucket_stats_json(index, 1, NULL), HASHIDX_INVALID_ARGUMENT);

    export_state s = {0, 0, 0, 0};
    EXPECT_STATUS(hashidx_export(index, export_callback, &s), HASHIDX_OK);
    CHECK(s.rows == 5 && s.id_sum == 5 + 9 + 7 + 3 + 4, "export %zu rows, id sum %llu", s.rows, (unsigned long long)s.id_sum);
    export_state stop = {0, 0, 1, 0};
    EXPECT_STATUS(hashidx_export(index, export_callback, &stop), HASHIDX_OK);
    CHECK(stop.calls == 1, "a nonzero return stops the export");
    EXPECT_STATUS(hashidx_export(index, NULL, NULL), HASHIDX_INVALID_ARGUMENT);

    uint64_t removed = 0, gone[2] = {9, 12345};
    EXPECT_STATUS(hashidx_remove(index, gone, 2, &removed), HASHIDX_OK);
    CHECK(removed == 1, "remove counted %llu", (unsigned long long)removed);
    EXPECT_STATUS(hashidx_remove(index, NULL, 2, &removed), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_remove(index, NULL, 0, &removed), HASHIDX_OK);

    /* Closed, closed twice, used after close. */
    EXPECT_STATUS(hashidx_close(index), HASHIDX_OK);
    EXPECT_STATUS(hashidx_close(index), HASHIDX_CLOSED);
    EXPECT_STATUS(hashidx_count(index, &count), HASHIDX_CLOSED);
    EXPECT_STATUS(hashidx_search(index, query, 1, 2, 1, 1, D, I, NULL), HASHIDX_CLOSED);
    EXPECT_STATUS(hashidx_add(index, ids, codes, 1, 2, NULL, NULL), HASHIDX_CLOSED);
    EXPECT_STATUS(hashidx_close(0), HASHIDX_INVALID_ARGUMENT);

    /* Read-only: queries work, writes are refused and change nothing. */
    EXPECT_STATUS(hashidx_open(path_in("a"), 1, &index), HASHIDX_OK);
    EXPECT_STATUS(hashidx_add(index, ids, codes, 1, 2, NULL, NULL), HASHIDX_READ_ONLY);
    EXPECT_STATUS(hashidx_add(index, NULL, codes, 1, 2, NULL, NULL), HASHIDX_READ_ONLY);
    EXPECT_STATUS(hashidx_remove(index, ids, 1, NULL), HASHIDX_READ_ONLY);
    EXPECT_STATUS(hashidx_count(index, &count), HASHIDX_OK);
    CHECK(count == 4, "read-only count %llu", (unsigned long long)count);
    EXPECT_STATUS(hashidx_close(index), HASHIDX_OK);

    /* A damaged file: a clear status, no crash. */
    FILE *f = fopen(path_in("a/data.mdb"), "r+b");
    if (f) { fseek(f, 0, SEEK_SET); fputs("this is not an LMDB meta page........", f); fclose(f); }
    int st = hashidx_open(path_in("a"), 0, &index);
    CHECK(st == HASHIDX_NOT_AN_INDEX || st == HASHIDX_CORRUPT, "a damaged index opened with %s", hashidx_status_name(st));
    if (st == HASHIDX_OK) hashidx_close(index);
}

/* Encoders, indexes that store them, and evaluation. */
static void encoder_functions(void) {
    size_t n = 300, dim = 24;
    float *x = malloc(n * dim * sizeof *x);
    int64_t *labels = malloc(n * sizeof *labels);
    rng_state = 77;
    for (size_t i = 0; i < n; i++) {
        labels[i] = (int64_t)(i % 3);
        for (size_t j = 0; j < dim; j++) x[i * dim + j] = (float)((double)(next_random() % 1000) / 1000.0 + (double)labels[i] * (j == labels[i] ? 2.0 : 0.0));
    }
    hashidx_encoder enc = 0, loaded = 0;
    EXPECT_STATUS(hashidx_train("nonsense", x, n, dim, NULL, 16, NULL, 0, &enc), HASHIDX_ENCODER);
    EXPECT_STATUS(hashidx_train(NULL, x, n, dim, NULL, 16, NULL, 0, &enc), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_train("itq", NULL, n, dim, NULL, 16, NULL, 0, &enc), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_train("itq", x, n, dim, NULL, 7, NULL, 0, &enc), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_train("center", x, n, dim, NULL, 16, NULL, 0, &enc), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_train("dh", x, n, dim, NULL, 16, "{\"learning_rate\": 1e999}", 0, &enc), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_train("dh", x, n, dim, NULL, 16, "{\"lambda1\": -1}", 0, &enc), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_train("dh", x, n, dim, NULL, 16, "{\"hidden\": [4000000], \"epochs\": 1}", 0, &enc), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_train("dh", x, n, dim, NULL, 16, "{\"epoch\": 1}", 0, &enc), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_train("dh", x, n, dim, NULL, 16, "not json", 0, &enc), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_train("itq", x, n, dim, NULL, 16, NULL, -2, &enc), HASHIDX_INVALID_ARGUMENT);
    float saved = x[5]; x[5] = NAN;
    EXPECT_STATUS(hashidx_train("itq", x, n, dim, NULL, 16, NULL, 0, &enc), HASHIDX_INVALID_ARGUMENT);
    x[5] = saved;
    EXPECT_STATUS(hashidx_train("itq", x, n, dim, NULL, 16, "{\"epochs\": 5, \"seed\": 3}", 1, &enc), HASHIDX_OK);
    int bits = 0; size_t edim = 0; const char *method = NULL;
    EXPECT_STATUS(hashidx_encoder_info(enc, &bits, &edim, &method), HASHIDX_OK);
    CHECK(bits == 16 && edim == dim && method && strcmp(method, "itq") == 0, "encoder info %d %zu %s", bits, edim, method ? method : "");

    uint8_t *codes = malloc(n * 2);
    EXPECT_STATUS(hashidx_encode(enc, x, n, dim, codes, 2), HASHIDX_OK);
    EXPECT_STATUS(hashidx_encode(enc, x, n, dim + 1, codes, 2), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_encode(enc, x, n, dim, codes, 3), HASHIDX_CODE_WIDTH);
    EXPECT_STATUS(hashidx_encode(enc, x, n, dim, NULL, 2), HASHIDX_INVALID_ARGUMENT);
    x[7] = INFINITY;
    EXPECT_STATUS(hashidx_encode(enc, x, 1, dim, codes, 2), HASHIDX_ENCODER);
    x[7] = 0.5f;

    EXPECT_STATUS(hashidx_encoder_save(enc, path_in("model.hxm")), HASHIDX_OK);
    EXPECT_STATUS(hashidx_encoder_save(enc, path_in("no/such/dir/model.hxm")), HASHIDX_FILE);
    EXPECT_STATUS(hashidx_encoder_load(path_in("model.hxm"), &loaded), HASHIDX_OK);
    EXPECT_STATUS(hashidx_encoder_load(path_in("missing.hxm"), &loaded), HASHIDX_FILE);
    FILE *f = fopen(path_in("junk.hxm"), "wb"); fputs("junk", f); fclose(f);
    EXPECT_STATUS(hashidx_encoder_load(path_in("junk.hxm"), &loaded), HASHIDX_FILE);
    uint8_t *again = malloc(n * 2);
    EXPECT_STATUS(hashidx_encode(loaded, x, n, dim, again, 2), HASHIDX_OK);
    x[7] = 0.5f;
    EXPECT_STATUS(hashidx_encode(enc, x, n, dim, codes, 2), HASHIDX_OK);
    CHECK(memcmp(codes, again, n * 2) == 0, "a saved and loaded encoder gives the same codes");

    hashidx_index vindex = 0, plain = 0;
    EXPECT_STATUS(hashidx_create_with_encoder(path_in("v"), enc, 0, 0, &vindex), HASHIDX_OK);
    EXPECT_STATUS(hashidx_add_vectors(vindex, NULL, x, n, dim, NULL, NULL), HASHIDX_OK);
    EXPECT_STATUS(hashidx_add_vectors(vindex, NULL, x, n, dim - 1, NULL, NULL), HASHIDX_INVALID_ARGUMENT);
    int32_t D[10]; int64_t I[10];
    EXPECT_STATUS(hashidx_search_vectors(vindex, x, 1, dim, 10, 1, D, I, NULL), HASHIDX_OK);
    int32_t Dc[10]; int64_t Ic[10];
    EXPECT_STATUS(hashidx_search(vindex, codes, 1, 2, 10, 1, Dc, Ic, NULL), HASHIDX_OK);
    CHECK(memcmp(D, Dc, sizeof D) == 0 && memcmp(I, Ic, sizeof I) == 0 && D[0] == 0, "search by vector = search by its code");
    size_t lims[2]; hashidx_range_result result = 0; size_t total = 0;
    EXPECT_STATUS(hashidx_range_search_vectors(vindex, x, 1, dim, 2, 1, lims, &result, NULL), HASHIDX_OK);
    EXPECT_STATUS(hashidx_range_result_get(result, NULL, NULL, &total), HASHIDX_OK);
    CHECK(total == lims[1] && total >= 1, "range by vector: %zu results", total);
    hashidx_range_result_free(result);
    hashidx_encoder stored = 0;
    EXPECT_STATUS(hashidx_index_encoder(vindex, &stored), HASHIDX_OK);
    EXPECT_STATUS(hashidx_encoder_info(stored, &bits, &edim, NULL), HASHIDX_OK);
    CHECK(bits == 16 && edim == dim, "the stored encoder");
    EXPECT_STATUS(hashidx_encoder_free(stored), HASHIDX_OK);
    EXPECT_STATUS(hashidx_encoder_free(stored), HASHIDX_CLOSED);
    EXPECT_STATUS(hashidx_encode(stored, x, 1, dim, codes, 2), HASHIDX_CLOSED);
    EXPECT_STATUS(hashidx_close(vindex), HASHIDX_OK);
    EXPECT_STATUS(hashidx_create(path_in("plain"), 16, 0, 0, &plain), HASHIDX_OK);
    EXPECT_STATUS(hashidx_index_encoder(plain, &stored), HASHIDX_ENCODER);
    EXPECT_STATUS(hashidx_search_vectors(plain, x, 1, dim, 10, 1, D, I, NULL), HASHIDX_ENCODER);
    EXPECT_STATUS(hashidx_close(plain), HASHIDX_OK);

    /* Evaluation: codes equal to their label's centre give mAP 1. */
    uint8_t *db = malloc(n * 2), *q = malloc(30 * 2);
    int64_t *ql = malloc(30 * sizeof *ql);
    for (size_t i = 0; i < n; i++) { db[2 * i] = (uint8_t)(0x11 * (labels[i] + 1)); db[2 * i + 1] = 0; }
    for (size_t i = 0; i < 30; i++) { ql[i] = (int64_t)(i % 3); q[2 * i] = (uint8_t)(0x11 * (ql[i] + 1)); q[2 * i + 1] = 0; }
    hashidx_evaluation ev; size_t cuts[2] = {10, 100}; double map_at[2], p_at[2], within[17];
    EXPECT_STATUS(hashidx_evaluate(db, n, q, 30, 16, labels, ql, cuts, 2, 1, &ev, map_at, p_at, within), HASHIDX_OK);
    CHECK(fabs(ev.map_tie_aware - 1) < 1e-9 && fabs(map_at[0] - 1) < 1e-9 && fabs(p_at[1] - 1) < 1e-9 && fabs(within[0] - 1) < 1e-9
          && ev.queries == 30 && ev.database == (int64_t)n, "evaluation: mAP %f", ev.map_tie_aware);
    char *json = NULL;
    EXPECT_STATUS(hashidx_evaluate_json(db, n, q, 30, 16, labels, ql, cuts, 2, 1, &json), HASHIDX_OK);
    CHECK(json && strstr(json, "\"mean_average_precision_tie_aware\":1") && strstr(json, "\"recall_within_radius\""), "evaluation JSON: %s", json ? json : "");
    hashidx_free(json);
    EXPECT_STATUS(hashidx_evaluate_json(db, n, q, 30, 16, labels, ql, cuts, 2, 1, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_evaluate_json(db, n, q, 30, 16, labels, NULL, cuts, 2, 1, &json), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_evaluate(db, n, q, 30, 16, NULL, ql, cuts, 2, 1, &ev, NULL, NULL, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_evaluate(db, n, q, 30, 7, labels, ql, cuts, 2, 1, &ev, NULL, NULL, NULL), HASHIDX_INVALID_ARGUMENT);
    size_t zero = 0;
    EXPECT_STATUS(hashidx_evaluate(db, n, q, 30, 16, labels, ql, &zero, 1, 1, &ev, NULL, NULL, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_evaluate(db, 0, q, 30, 16, labels, ql, NULL, 0, 1, &ev, NULL, NULL, NULL), HASHIDX_INVALID_ARGUMENT);
    EXPECT_STATUS(hashidx_evaluate(db, n, q, 30, 16, labels, ql, NULL, 0, 1, NULL, NULL, NULL, NULL), HASHIDX_INVALID_ARGUMENT);

    EXPECT_STATUS(hashidx_encoder_free(enc), HASHIDX_OK);
    EXPECT_STATUS(hashidx_encoder_free(loaded), HASHIDX_OK);
    free(x); free(labels); free(codes); free(again); free(db); free(q); free(ql);
}

/* Threads: many searching while one writes and another closes; every call returns a status. */
typedef struct { hashidx_index index; int failures; int seed; } worker;
static void *search_worker(void *p) {
    worker *w = p;
    uint8_t query[8]; int32_t D[5]; int64_t I[5];
    uint64_t state = (uint64_t)w->seed;
    for (int i = 0; i < 300; i++) {
        for (int j = 0; j < 8; j++) { state = state * 6364136223846793005ull + 1442695040888963407ull; query[j] = (uint8_t)(state >> 56); }
        int st = hashidx_search(w->index, query, 1, 8, 5, 1, D, I, NULL);
        if (st == HASHIDX_CLOSED) break;
        if (st != HASHIDX_OK) w->failures++;
        for (int j = 1; j < 5 && st == HASHIDX_OK; j++) if (D[j] >= 0 && D[j] < D[j - 1]) w->failures++;
    }
    return NULL;
}
static void *write_worker(void *p) {
    worker *w = p;
    uint8_t codes[8 * 64];
    for (int i = 0; i < 40; i++) {
        for (size_t j = 0; j < sizeof codes; j++) codes[j] = (uint8_t)(j * 31 + (size_t)i);
        int st = hashidx_add(w->index, NULL, codes, 64, 8, NULL, NULL);
        if (st == HASHIDX_CLOSED) break;
        if (st != HASHIDX_OK) w->failures++;
    }
    return NULL;
}
static void threads(void) {
    hashidx_index index = 0;
    EXPECT_STATUS(hashidx_create(path_in("threads"), 64, 0, 0, &index), HASHIDX_OK);
    worker workers[5];
    pthread_t t[5];
    for (int i = 0; i < 5; i++) {
        workers[i] = (worker){index, 0, i + 1};
        pthread_create(&t[i], NULL, i == 0 ? write_worker : search_worker, &workers[i]);
    }
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    EXPECT_STATUS(hashidx_close(index), HASHIDX_OK);
    int failures = 0;
    for (int i = 0; i < 5; i++) { pthread_join(t[i], NULL); failures += workers[i].failures; }
    CHECK(failures == 0, "%d calls failed while another thread closed the index", failures);
    EXPECT_STATUS(hashidx_open(path_in("threads"), 1, &index), HASHIDX_OK);
    EXPECT_STATUS(hashidx_verify(index, NULL), HASHIDX_OK);
    EXPECT_STATUS(hashidx_close(index), HASHIDX_OK);
}

/* Resident memory of this process in KiB (0 where /proc is missing). */
static long resident_kib(void) {
    long pages = 0, size = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &size, &pages) != 2) pages = 0;
    fclose(f);
    return pages * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Handles given out and freed by the hundred thousand (a service answering one query per call)
 * leave nothing behind: the library keeps no record per freed handle. */
static void many_handles(void) {
    hashidx_index index = 0;
    EXPECT_STATUS(hashidx_create(path_in("handles"), 64, 0, 0, &index), HASHIDX_OK);
    uint8_t codes[64 * 8];
    uint64_t ids[64];
    random_codes(codes, 64, 64, 0);
    for (int i = 0; i < 64; i++) ids[i] = (uint64_t)i;
    EXPECT_STATUS(hashidx_add(index, ids, codes, 64, 8, NULL, NULL), HASHIDX_OK);
    size_t lims[2];
    int bad = 0;
    long before = 0;
    for (int i = 0; i < 300000; i++) {
        if (i == 50000) before = resident_kib();
        hashidx_range_result result = 0;
        if (hashidx_range_search(index, codes + (i % 64) * 8, 1, 8, 0, 1, lims, &result, NULL) != HASHIDX_OK ||
            lims[1] < 1 || hashidx_range_result_free(result) != HASHIDX_OK) bad++;
    }
    long after = resident_kib();
    CHECK(bad == 0, "%d of 300000 range calls failed", bad);
    CHECK(after - before < 2048, "250000 range results made and freed grew resident memory by %ld KiB", after - before);
    EXPECT_STATUS(hashidx_close(index), HASHIDX_OK);
}

int main(void) {
    snprintf(directory, sizeof directory, "/tmp/hashidx-capi-test-XXXXXX");
    if (!mkdtemp(directory)) { perror("mkdtemp"); return 2; }
    index_functions();
    oracle_sweep();
    encoder_functions();
    threads();
    many_handles();
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", directory);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", directory);
    printf("capi: %d checks passed, %d checks failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
