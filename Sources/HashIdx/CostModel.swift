import Dispatch
import Hamming

/// The planner's cost estimates, in microseconds; only the ratios matter, and either path
/// returns the same exact answer. The look-up and verification costs were measured with
/// 1M-code indexes (forced-probe batches of range and kNN queries) (a look-up reads a directory cell, low bits and rows: a few
/// cache misses; a candidate reads one code at a random row). The scan costs depend on the
/// instruction set, so an index measures them when it is opened (``calibrated(kernel:)``).
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

    public init() {}

    /// This model with the scan costs measured on this CPU: the best of three timed passes of
    /// `kernel` over 4 MiB of codes (about 0.3 ms in all), roughly the cache-resident case of a
    /// million 64-bit codes. Scans of indexes far larger than the caches run slower per code
    /// than this, so the planner then leans towards probing.
    public func calibrated(kernel: DistanceKernel) -> CostModel {
        let cb = kernel.codeBytes, n = max(1024, (4 << 20) / cb)
        let codes = UnsafeMutableRawPointer.allocate(byteCount: n * cb, alignment: 64)
        let out = UnsafeMutablePointer<UInt16>.allocate(capacity: n)
        let picked = UnsafeMutablePointer<UInt32>.allocate(capacity: n)
        defer { codes.deallocate(); out.deallocate(); picked.deallocate() }
        var x: UInt64 = 0x9e37_79b9_7f4a_7c15
        for i in 0..<(n * cb) {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            codes.storeBytes(of: UInt8(truncatingIfNeeded: x >> 56), toByteOffset: i, as: UInt8.self)
        }
        var best = Double.infinity
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            kernel.distances(query: codes, base: codes, count: n, into: out)
            _ = DistanceKernel.select(out, count: n, atMost: kernel.codeBytes * 2, into: picked)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1000 / Double(n))
        }
        guard best.isFinite, best > 0 else { return self }
        var model = self
        // Split the per-code cost between the fixed part and the per-word part as 1 : words.
        let words = Double((cb + 7) / 8)
        model.scanMicrosecondsPerCode = best / (1 + words)
        model.scanMicrosecondsPerWord = best / (1 + words)
        return model
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
