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
    HX_ISA_COUNT = 4
};

/// 1 if this CPU can run kernels written for `isa`, else 0.
int hx_isa_supported(int isa);

/// The fastest instruction set this CPU supports (decided once, on first call).
int hx_best_isa(void);

/// A short name for `isa` ("portable", "popcnt", "avx2", "avx512-vpopcntdq").
const char *hx_isa_name(int isa);

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

#ifdef __cplusplus
}
#endif

#endif
