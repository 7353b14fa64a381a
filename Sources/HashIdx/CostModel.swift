import CHammingKernels
import Hamming

/// The planner's cost estimates, in microseconds; only the ratios matter, and either path
/// returns the same exact answer. The look-up costs were measured with 1M-code indexes (a
/// look-up reads a directory cell, then binary-searches low bits: a few cache misses). The scan
/// and verification costs depend on the instruction set and the index, so an index calibrates
/// them on first use (``calibrated(kernel:)``) and its queries then replace them, and the
/// look-up cost, with what they measure (``adaptsToMeasurements``).
public struct CostModel: Sendable, Equatable {
    /// One look-up in the sealed postings (directory plus a short binary search, in place;
    /// look-ups are prefetched 16 at a time, so their cache misses overlap).
    public var lookupMicroseconds = 0.1
    /// One look-up in the delta tables of rows written since the last merge (a B-tree seek).
    public var deltaLookupMicroseconds = 0.6
    /// Verifying one candidate (de-duplication plus one full-code distance at a random row,
    /// prefetched 64 at a time).
    public var verifyMicroseconds = 0.03
    /// Scanning one stored code, per 8 bytes of code.
    public var scanMicrosecondsPerWord = 0.00005
    /// Scanning one stored code, fixed part (selection of the codes within the limit).
    public var scanMicrosecondsPerCode = 0.00005
    /// The share of a scan's cost that a k-nearest-neighbour probe may spend before it gives up
    /// and scans. Bounds the worst case at (1 + share) scans while letting near queries finish
    /// by probing.
    public var nearestProbeBudget = 0.1
    /// Whether the costs that queries measure on the index (per look-up, per verified row, per
    /// scanned code) replace the model's as they come in (default), and whether a k-nearest
    /// query may skip its probe attempt when the recent attempts with the same k were mostly
    /// abandoned for a scan. Off, the planner's decisions depend on this model alone: for
    /// tests and reproducible measurements.
    public var adaptsToMeasurements = true

    public init() {}

    /// This model with the scan and verification costs measured on this CPU, in well under a
    /// millisecond: the best of three fused range scans of `kernel` over 1 MiB of codes (the
    /// cache-resident case), and the best of three verifications of 4,096 random rows of them
    /// (a visited bit tested and set, the code prefetched 64 rows ahead, its distance computed),
    /// as a probe verifies its candidates. Indexes far larger than the caches scan and verify
    /// more slowly than this, about alike.
    public func calibrated(kernel: DistanceKernel) -> CostModel {
        let cb = kernel.codeBytes, n = max(1024, (1 << 20) / cb)
        let words = (n * cb + 7) / 8
        let codes = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        let hits = UnsafeMutablePointer<hx_hit>.allocate(capacity: n)
        let picked = UnsafeMutablePointer<UInt32>.allocate(capacity: 4096)
        let visited = UnsafeMutablePointer<UInt64>.allocate(capacity: (n + 63) / 64)
        defer { codes.deallocate(); hits.deallocate(); picked.deallocate(); visited.deallocate() }
        var x: UInt64 = 0x9e37_79b9_7f4a_7c15
        for i in 0..<words {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            codes[i] = x ^ (x >> 29)
        }
        for i in 0..<4096 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            picked[i] = UInt32((x >> 33) % UInt64(n))
        }
        let base = UnsafeRawPointer(codes)
        var scan = Double.infinity, verify = Double.infinity
        for _ in 0..<3 {
            var state = hx_scan_state(limit: UInt32(cb * 2), k: 0, kept: 0, count_at: nil, ordered_rows: 0)
            var start = System.nanoseconds()
            _ = kernel.scan(query: base, base: base, count: n, firstRow: 0, dead: nil, state: &state, hits: hits)
            scan = min(scan, Double(System.nanoseconds() - start) / 1000 / Double(n))
            visited.initialize(repeating: 0, count: (n + 63) / 64)
            start = System.nanoseconds()
            var kept = 0
            for g in stride(from: 0, to: 4096, by: 64) {
                for j in g..<(g + 64) {
                    let row = Int(picked[j]), bit = UInt64(1) << UInt64(row & 63)
                    if visited[row >> 6] & bit != 0 { continue }
                    visited[row >> 6] |= bit
                    hx_prefetch(base + row * cb)
                }
                for j in g..<(g + 64) { kept &+= kernel.distance(base, base + Int(picked[j]) * cb) }
            }
            verify = min(verify, Double(System.nanoseconds() - start) / 1000 / 4096)
            if kept == -1 { verify = 0 }   // keeps the distances from being optimised away
        }
        guard scan.isFinite, scan > 0, verify.isFinite, verify > 0 else { return self }
        var model = self
        model.setScanCost(scan, codeBytes: cb)
        model.verifyMicroseconds = verify
        return model
    }

    /// Sets the scan cost from a measured cost per code of `codeBytes` bytes, split between the
    /// fixed part and the per-word part as 1 : words.
    mutating func setScanCost(_ perCode: Double, codeBytes: Int) {
        let split = 1 + Double((codeBytes + 7) / 8)
        scanMicrosecondsPerCode = perCode / split
        scanMicrosecondsPerWord = perCode / split
    }

    /// Estimated cost of a linear scan over `count` codes of `codeBytes` bytes.
    public func scanCost(count: Int, codeBytes: Int) -> Double {
        Double(count) * (scanMicrosecondsPerCode + scanMicrosecondsPerWord * Double((codeBytes + 7) / 8))
    }

    /// Estimated cost of `lookups` look-ups that yield `candidates` candidates; with `delta`,
    /// every look-up also reads the delta tables.
    public func probeCost(lookups: Double, candidates: Double, delta: Bool = false) -> Double {
        lookups * (lookupMicroseconds + (delta ? deltaLookupMicroseconds : 0)) + candidates * verifyMicroseconds
    }
}
