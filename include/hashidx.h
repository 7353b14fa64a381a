/*
 * hashidx.h: the C API of hashidx, an embedded index of binary hash codes stored in LMDB and
 * searched exactly by Hamming distance (range and k-nearest-neighbour queries).
 *
 * Link with -lhashidx_c (built by tools/build-capi.sh; the Swift runtime is linked into it, so it
 * loads where Swift is not installed). Only hashidx_* symbols are exported. Once loaded, the
 * library stays in the process (it is linked -z nodelete): its runtime keeps worker threads
 * that a dlclose() must not unmap.
 *
 * Conventions, for every function below:
 *
 *  - Every function returns a status: HASHIDX_OK (0) or one of the codes below. On failure,
 *    hashidx_last_error() gives a message saying what was expected and what was found, and no
 *    output argument has been written unless the function says otherwise. A failed write leaves
 *    the index exactly as it was.
 *  - Handles (hashidx_index, hashidx_encoder, hashidx_range_result) are numbers, like file
 *    descriptors: 0 is never a handle, a handle is never reused within a process, and a handle
 *    that was closed or freed answers HASHIDX_CLOSED (never undefined behaviour). A number that
 *    was never a handle answers HASHIDX_INVALID_ARGUMENT.
 *  - Thread safety: every function may be called from any thread. An index handle may be used
 *    by many threads at once: queries run concurrently with each other and with one writer;
 *    writes are serialised. Closing a handle waits for the calls in flight on it.
 *  - Codes are packed: a B-bit code takes ceil(B/8) bytes, bit i is bit (i & 7) of byte i >> 3
 *    (numpy's packbits(bitorder="little"), faiss's layout); padding bits must be zero. Arrays of
 *    codes are row-major with `code_bytes` bytes per row, which must equal ceil(B/8).
 *  - Ids are 64-bit unsigned; result arrays give them as int64_t, bit for bit (faiss's type).
 *  - Pointers may be NULL only where a function says so; a NULL array with a count of 0 is
 *    accepted everywhere. Every count and size is checked before it is used or allocated.
 *  - `threads` arguments: 0 uses every core; otherwise the number of workers (1 or more).
 *  - Memory the library returns (hashidx_stat_json's string) is freed with hashidx_free().
 */
#ifndef HASHIDX_H
#define HASHIDX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status codes: stable, never renumbered. ---- */
#define HASHIDX_OK                 0
#define HASHIDX_INVALID_ARGUMENT   1  /* a NULL pointer, a count, a size, a thread count, an option */
#define HASHIDX_BAD_CODE           2  /* a malformed code or layout: padding bits set, bad width or m */
#define HASHIDX_CODE_WIDTH         3  /* codes of the wrong width for the index */
#define HASHIDX_INVALID_RADIUS     4  /* a radius outside 0..B */
#define HASHIDX_INVALID_K          5  /* k below 1 */
#define HASHIDX_NOT_AN_INDEX       6  /* the path holds no index */
#define HASHIDX_ALREADY_EXISTS     7  /* the path already holds an index */
#define HASHIDX_NEWER_FORMAT       8  /* written by a newer format than this library reads */
#define HASHIDX_OLDER_FORMAT       9  /* an older format: readable; upgrade it (hashidx upgrade) to write */
#define HASHIDX_READ_ONLY         10  /* a write to an index opened read-only */
#define HASHIDX_PERMISSION_DENIED 11  /* the operating system refused access */
#define HASHIDX_BUSY              12  /* every LMDB reader slot is held by live processes: retry */
#define HASHIDX_ENCODER           13  /* an encoder could not be trained, read or applied; bad vectors */
#define HASHIDX_ALREADY_OPEN      14  /* the index is already open in this process: share that handle */
#define HASHIDX_CLOSED            15  /* the handle was closed or freed */
#define HASHIDX_CORRUPT           16  /* the stored data is damaged */
#define HASHIDX_FULL              17  /* the disk is full or the map cannot grow */
#define HASHIDX_STORAGE           18  /* another LMDB or file-system failure */
#define HASHIDX_INTERNAL          19  /* a failure the library did not expect (a bug: please report it) */
#define HASHIDX_FILE              20  /* an encoder file is missing, unreadable, malformed or unwritable */

typedef uint64_t hashidx_index;
typedef uint64_t hashidx_encoder;
typedef uint64_t hashidx_range_result;

/* Per-query counters, filled on request by the search functions. */
typedef struct hashidx_query_stats {
    int64_t lookups;          /* substring-table look-ups */
    int64_t candidates;       /* stored codes whose full distance was computed */
    int64_t duplicates;       /* postings skipped because their row was already a candidate */
    int32_t radius_reached;   /* largest radius up to which the answer is proven complete */
    int32_t scanned;          /* 1 if answered by a scan of every code, 0 if by probing */
    int32_t switched_to_scan; /* 1 if probing started and the planner then scanned */
    int32_t reserved;
    double seconds;           /* engine time for this query (in a batch: from the end of the worker's previous query) */
} hashidx_query_stats;

/* Retrieval quality of codes against labels (hashidx_evaluate). */
typedef struct hashidx_evaluation {
    double map_tie_aware;     /* mean average precision, ties at equal distance averaged */
    double map;               /* mean average precision, ties broken by database order */
    int64_t queries;
    int64_t database;
} hashidx_evaluation;

/* ---- Versions and errors ---- */

/* The library version, "X.Y.Z" (static storage: never freed). */
const char *hashidx_version(void);
/* The newest on-disk format version this library reads, and the one it writes. */
int hashidx_format_version(void);
/* The message of the last failure on the calling thread ("" if none). Valid until the next
 * hashidx_* call on this thread. */
const char *hashidx_last_error(void);
/* The name of a status ("OK", "INVALID_ARGUMENT", ...; "UNKNOWN" otherwise), static storage. */
const char *hashidx_status_name(int status);
/* Frees memory the library returned (NULL is ignored). */
void hashidx_free(void *pointer);

/* ---- Indexes ---- */

/* Creates an empty index of `bits`-bit codes (8..1024) in directory `path` (made if missing; an
 * existing one must be empty) and opens it read-write. `substrings` is m (0: chosen from
 * `expected_count`, the number of codes expected, 0 meaning one million). The directory either
 * holds a whole index afterwards or is left as it was.
 * Errors: INVALID_ARGUMENT, BAD_CODE (bits or m), ALREADY_EXISTS, PERMISSION_DENIED, FULL, STORAGE. */
int hashidx_create(const char *path, int bits, int substrings, uint64_t expected_count, hashidx_index *out);

/* Opens the index in `path`; `read_only` nonzero opens it for queries only (several processes
 * may open one index; one writes at a time).
 * Errors: NOT_AN_INDEX, NEWER_FORMAT, CORRUPT, ALREADY_OPEN, PERMISSION_DENIED, BUSY, STORAGE. */
int hashidx_open(const char *path, int read_only, hashidx_index *out);

/* Closes the index: waits for calls in flight on it, then releases it; the handle then answers
 * HASHIDX_CLOSED (closing twice returns HASHIDX_CLOSED and does nothing else). */
int hashidx_close(hashidx_index index);

/* The code width B, the substring count m, ceil(B/8), and whether it is read-only. Any output
 * pointer may be NULL. */
int hashidx_info(hashidx_index index, int *bits, int *substrings, size_t *code_bytes, int *read_only);

/* The number of stored codes. */
int hashidx_count(hashidx_index index, uint64_t *count);

/* Inserts `n` codes (n x code_bytes bytes) in one transaction: all or none. With `ids` (n ids),
 * an id already stored gets the new code (upsert; a repeated id's last code wins). With `ids`
 * NULL, codes get the ids c, c+1, ..., c+n-1 where c is the count stored when the write begins
 * (faiss's sequential ids; after removals c may be an id in use, which is then replaced).
 * `inserted` and `replaced` (either may be NULL) count new ids and replaced codes.
 * Errors: INVALID_ARGUMENT, CODE_WIDTH, BAD_CODE (padding bits), READ_ONLY, FULL, CLOSED. */
int hashidx_add(hashidx_index index, const uint64_t *ids, const uint8_t *codes, size_t n, size_t code_bytes,
                uint64_t *inserted, uint64_t *replaced);

/* Removes the codes of `n` ids in one transaction; ids not stored are ignored. `removed` (may be
 * NULL) gets the number removed. */
int hashidx_remove(hashidx_index index, const uint64_t *ids, size_t n, uint64_t *removed);

/* Copies the stored code of `id` into `code` (code_bytes bytes); `found` gets 1, or 0 (and
 * `code` is untouched) when no code has that id. */
int hashidx_get(hashidx_index index, uint64_t id, uint8_t *code, size_t code_bytes, int *found);

/* Checks every invariant of the stored format; `checked` (may be NULL) gets the codes checked.
 * Errors: CORRUPT naming the first broken invariant. */
int hashidx_verify(hashidx_index index, uint64_t *checked);

/* Merges recent rows into the sealed base and drops removed rows (one transaction). `count`
 * (may be NULL) gets the number of live codes. */
int hashidx_compact(hashidx_index index, uint64_t *count);

/* Statistics as a JSON object, as `hashidx stat --format json` prints them (snake_case keys:
 * format_version, bits, substring_count, count, rows, file_bytes, used_bytes, tables, ...). `*json` is allocated by the library: free it with hashidx_free(). */
int hashidx_stat_json(hashidx_index index, char **json);

/* How the live codes spread over each substring table's buckets, as `hashidx stat --buckets
 * --format json` prints them: a JSON array, one object per table (table, bits, buckets, rows,
 * histogram — histogram[i] buckets hold 2^i to 2^(i+1) - 1 rows —, largest: the `largest`
 * fullest buckets as {key, rows}, rows_sharing_a_bucket). One pass over the postings. A negative
 * `largest` is HASHIDX_INVALID_ARGUMENT. `*json` is freed with hashidx_free(). */
int hashidx_bucket_stats_json(hashidx_index index, int largest, char **json);

/* Calls `callback` with every stored (id, code), in batches of at most 65536, from a consistent
 * snapshot: `ids` n ids and `codes` n x ceil(B/8) bytes, valid during the call only. A nonzero
 * return from the callback stops the export early; hashidx_export then returns HASHIDX_OK. */
typedef int (*hashidx_export_callback)(void *context, const uint64_t *ids, const uint8_t *codes, size_t n);
int hashidx_export(hashidx_index index, hashidx_export_callback callback, void *context);

/* ---- Search ---- */

#define HASHIDX_PATH_AUTO   0  /* the planner chooses (the default) */
#define HASHIDX_PATH_PROBE  1  /* always probe the substring tables */
#define HASHIDX_PATH_SCAN   2  /* always scan every code */

/* Forces the path of later searches through this handle, for measurements and tests; answers are
 * identical on every path. Errors: INVALID_ARGUMENT for another value. */
int hashidx_force_path(hashidx_index index, int path);

/* Exact k-nearest neighbours of `nq` packed queries (nq x code_bytes bytes). `distances` and
 * `ids` hold nq x k slots each (row-major: query i's j-th neighbour at i*k + j), sorted by
 * (distance, id); ties at the k-th distance go to the smaller id. Slots past the number of
 * stored codes get distance -1 and id -1. `stats` is NULL or nq slots.
 * Errors: INVALID_ARGUMENT, INVALID_K, CODE_WIDTH, BAD_CODE, CLOSED, BUSY. */
int hashidx_search(hashidx_index index, const uint8_t *queries, size_t nq, size_t code_bytes, int k, int threads,
                   int32_t *distances, int64_t *ids, hashidx_query_stats *stats);

/* Exact range search: every stored code within Hamming distance `radius` of each query,
 * INCLUSIVE (distance <= radius; faiss's binary range search is strict: distance < radius).
 * `lims` gets nq + 1 offsets: query i's results are entries lims[i] .. lims[i+1]-1 of the
 * result, sorted by (distance, id). `*result` is a handle to the distances and ids, read with
 * hashidx_range_result_get and released with hashidx_range_result_free. `stats` is NULL or nq slots.
 * Errors: INVALID_ARGUMENT, INVALID_RADIUS, CODE_WIDTH, BAD_CODE, CLOSED, BUSY. */
int hashidx_range_search(hashidx_index index, const uint8_t *queries, size_t nq, size_t code_bytes, int radius,
                         int threads, size_t *lims, hashidx_range_result *result, hashidx_query_stats *stats);

/* The result of a range search: `*count` entries (lims[nq]); `*distances` and `*ids` point into
 * memory the result owns, valid until hashidx_range_result_free. Any output may be NULL. */
int hashidx_range_result_get(hashidx_range_result result, const int32_t **distances, const int64_t **ids, size_t *count);
/* Releases a range result; later use answers HASHIDX_CLOSED. */
int hashidx_range_result_free(hashidx_range_result result);
/* Copies a range result's distances and ids into caller buffers of lims[nq] entries each (either
 * may be NULL to skip it) and releases the result, in one call. */
int hashidx_range_result_take(hashidx_range_result result, int32_t *distances, int64_t *ids);

/* ---- Encoders: float vectors to codes ---- */

/* Trains an encoder of `bits` bits on `n` float32 vectors of `dim` dimensions (row-major).
 * `method`: "lsh", "pcah", "itq", "lda-itq", "dh", "sdh", "center" or "pairwise". `labels` (n
 * class labels) is required by lda-itq, sdh, center and pairwise and may be NULL otherwise.
 * `options_json` is NULL or a JSON object with the options of `hashidx train`, snake_case:
 * {"seed": 1, "epochs": 20, "hidden": [256], "learning_rate": 0.001, "schedule": "cosine",
 *  "batch_size": 128, "optimizer": "adam", "quantization_weight": 0.1, "inner_product_scale": 0.5,
 *  "lambda1": 0.1, "lambda2": 0.001, "lambda3": 0.001, "alpha": 1, "pairs": "sampled",
 *  "paper_recipe": false, "paper_scaling": false, "initialization": "itq",
 *  "validation_queries": 0, "validation_database": 10000}. Unknown keys, values out of range and
 * networks too large for this machine's memory are refused before training starts.
 * `threads` sets the linear-algebra threads (0: leave as is).
 * Errors: INVALID_ARGUMENT (options, sizes, NaN or infinite values), ENCODER. */
int hashidx_train(const char *method, const float *vectors, size_t n, size_t dim, const int64_t *labels, int bits,
                  const char *options_json, int threads, hashidx_encoder *out);

/* Reads an encoder file (written by hashidx_encoder_save or `hashidx train`). Errors: FILE, ENCODER. */
int hashidx_encoder_load(const char *path, hashidx_encoder *out);
/* Writes the encoder to `path`, written aside and renamed (the file is the old one or the new one). */
int hashidx_encoder_save(hashidx_encoder encoder, const char *path);
/* Releases an encoder handle. */
int hashidx_encoder_free(hashidx_encoder encoder);
/* The encoder's code width, input dimension and method name (static storage). Any output may be NULL. */
int hashidx_encoder_info(hashidx_encoder encoder, int *bits, size_t *dim, const char **method);
/* Encodes `n` float32 vectors of `dim` dimensions into `codes` (n x code_bytes bytes).
 * Errors: INVALID_ARGUMENT (dim, code_bytes, sizes), ENCODER (a NaN or infinite value). */
int hashidx_encode(hashidx_encoder encoder, const float *vectors, size_t n, size_t dim, uint8_t *codes, size_t code_bytes);

/* ---- Indexes that store their encoder ---- */

/* Creates an index whose codes come from `encoder`, which is stored inside it. */
int hashidx_create_with_encoder(const char *path, hashidx_encoder encoder, int substrings, uint64_t expected_count,
                                hashidx_index *out);
/* The encoder stored in an index, as a new encoder handle. Errors: ENCODER if it has none. */
int hashidx_index_encoder(hashidx_index index, hashidx_encoder *out);
/* Encodes `n` vectors with the stored encoder and inserts them (ids as in hashidx_add). */
int hashidx_add_vectors(hashidx_index index, const uint64_t *ids, const float *vectors, size_t n, size_t dim,
                        uint64_t *inserted, uint64_t *replaced);
/* hashidx_search and hashidx_range_search for float32 query vectors, encoded by the stored encoder. */
int hashidx_search_vectors(hashidx_index index, const float *queries, size_t nq, size_t dim, int k, int threads,
                           int32_t *distances, int64_t *ids, hashidx_query_stats *stats);
int hashidx_range_search_vectors(hashidx_index index, const float *queries, size_t nq, size_t dim, int radius, int threads,
                                 size_t *lims, hashidx_range_result *result, hashidx_query_stats *stats);

/* ---- Evaluation ---- */

/* Retrieval quality of `nq` query codes against `n_db` database codes (both packed, `bits` bits),
 * with one class label per item; an item is relevant when its label equals the query's, and the
 * database is ranked by Hamming distance. Fills `out` with tie-aware and plain mAP and, for each
 * of the `n_cutoffs` cutoffs K: `map_at[i]` mAP@K and `precision_at[i]` P@K (either may be NULL).
 * `precision_within_radius` is NULL or bits + 1 slots: for each radius r, the mean precision of
 * the items within distance r (queries with none count 0), as `hashidx eval` reports it.
 * Errors: INVALID_ARGUMENT. */
int hashidx_evaluate(const uint8_t *database, size_t n_db, const uint8_t *queries, size_t nq, int bits,
                     const int64_t *database_labels, const int64_t *query_labels,
                     const size_t *cutoffs, size_t n_cutoffs, int threads,
                     hashidx_evaluation *out, double *map_at, double *precision_at, double *precision_within_radius);

/* Every metric of `hashidx eval --format json`, as a JSON object (snake_case keys:
 * mean_average_precision_tie_aware, mean_average_precision, mean_average_precision_at,
 * precision_at, recall_at (objects by cutoff), precision_within_radius, recall_within_radius,
 * empty_within_radius (arrays by radius 0..bits), queries, database_size, bits). Arguments as
 * hashidx_evaluate; `*json` is freed with hashidx_free(). */
int hashidx_evaluate_json(const uint8_t *database, size_t n_db, const uint8_t *queries, size_t nq, int bits,
                          const int64_t *database_labels, const int64_t *query_labels,
                          const size_t *cutoffs, size_t n_cutoffs, int threads, char **json);

#ifdef __cplusplus
}
#endif
#endif /* HASHIDX_H */
