// Hamming-distance kernels, written once per instruction set and chosen at run time.
//
// Codes are packed bytes (bit i is bit i & 7 of byte i >> 3); a distance is popcount(a XOR b)
// over `code_bytes` bytes. Every function takes the instruction set to use; `hx_best_isa()`
// names the fastest one this CPU supports (checked with the CPU's feature flags, never assumed
// at build time). Passing an unsupported instruction set is a programmer error: the call falls
// back to the portable kernel.
#ifndef HASHIDX_HAMMING_KERNELS_H
#define HASHIDX_HAMMING_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction sets a kernel can be written for, slowest first.
enum {
    HX_ISA_PORTABLE = 0,  ///< plain C, no popcount instruction
    HX_ISA_POPCNT = 1,    ///< scalar POPCNT
    HX_ISA_AVX2 = 2,      ///< AVX2 (nibble look-up) plus POPCNT
    HX_ISA_AVX512 = 3,    ///< AVX-512 F + BW + VPOPCNTDQ
    HX_ISA_NEON = 4,      ///< aarch64 Advanced SIMD (CNT); the only vector kernel on ARM
    HX_ISA_COUNT = 5
};

/// 1 if this CPU can run kernels written for `isa`, else 0.
int hx_isa_supported(int isa);

/// The fastest instruction set this CPU supports (decided once, on first call).
int hx_best_isa(void);

/// The instruction set kernels run with unless told otherwise: hx_best_isa(), or the one the
/// environment variable HASHIDX_ISA names (portable, popcnt, avx2, avx512, neon), read once on
/// first call. A name above what this CPU supports is capped at the best supported one below
/// it (avx512 on an AVX2 machine gives avx2); an unknown name, or neon on x86, gives hx_best_isa().
int hx_active_isa(void);

/// A short name for `isa` ("portable", "popcnt", "avx2", "avx512-vpopcntdq", "neon").
const char *hx_isa_name(int isa);

/// One query's state in a fused scan (hx_scan). The caller sets `limit` and `k`, zeroes `kept`
/// and, for k nearest, points `count_at` at code_bytes * 8 + 1 zeroed slots.
typedef struct {
    /// The largest distance still wanted: the radius of a range query; for k nearest, the
    /// current bound, which only shrinks.
    uint32_t limit;
    /// 0 for a range query. Otherwise k: after each emitted hit, the limit drops while the hits
    /// at distances below it already number at least k.
    uint32_t k;
    /// k nearest: emitted hits at distances <= limit.
    uint64_t kept;
    /// k nearest: emitted hits per distance (entries past `limit` are reset as it shrinks).
    uint32_t *count_at;
    /// k nearest: rows below this are stored in id order (a sealed base). Among them, once k
    /// hits lie within the limit, a later code at the limit itself would only tie with a larger
    /// id, so it is not emitted; rows from here on keep every tie. 0: no row is in id order.
    uint32_t ordered_rows;
} hx_scan_state;

/// One code found by a scan: its row and its distance.
typedef struct {
    uint32_t row;
    uint32_t distance;
} hx_hit;

/// Fused scan of `count` codes stored back to back at `base`, rows first_row, first_row + 1, …:
/// computes each code's distance to `query` and, in the same pass, emits (row, distance) for
/// every code whose distance is <= state->limit when it is met and whose row's bit is clear in
/// `dead` (one bit per row, bit r & 63 of word r >> 6; NULL when no row is dead). No distance
/// array is written. `out` must have room for `count` hits; rows are emitted in ascending
/// order. Returns how many were emitted. In k-nearest mode a hit emitted early may lie beyond
/// the final limit: the caller drops those. code_bytes <= 8191.
size_t hx_scan(int isa, const uint8_t *query, const uint8_t *base, size_t count, size_t code_bytes, uint32_t first_row,
               const uint64_t *dead, hx_scan_state *state, hx_hit *out);

/// Distance between the codes at `a` and `b`, `code_bytes` bytes each.
uint32_t hx_distance(int isa, const uint8_t *a, const uint8_t *b, size_t code_bytes);

/// out[i] = distance(query, base + i * code_bytes) for i < count. Codes need no alignment.
/// code_bytes is at most 8191 so that a distance fits in 16 bits.
void hx_distances(int isa, const uint8_t *query, const uint8_t *base, size_t count, size_t code_bytes,
                  uint16_t *out);

/// Writes the indices i < count with distances[i] <= limit to `indices`, in ascending order;
/// returns how many. `indices` must have room for `count` entries.
size_t hx_select_at_most(const uint16_t *distances, size_t count, uint16_t limit, uint32_t *indices);

/// Adds 1 to histogram[distances[i]] for each i < count (histogram has a slot per distance).
void hx_histogram(const uint16_t *distances, size_t count, uint32_t *histogram);

/// Asks the CPU to bring the cache line holding `p` closer (a hint; never faults).
static inline void hx_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// Asks the CPU to bring the `bytes` bytes at `p` into cache, a hint per 64-byte line (never
/// faults): a scan of several queries asks for the next block of codes a share at a time,
/// one share during each query's pass over the current block.
static inline void hx_prefetch_range(const void *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch((const char *)p + o, 0, 3);
}

#ifdef __cplusplus
}
#endif

#endif
