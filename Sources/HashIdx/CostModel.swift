/// The planner's cost estimates, in microseconds. Defaults were measured on this project's
/// benchmark machine; only the ratios matter, and either path returns the same exact answer.
public struct CostModel: Sendable, Equatable {
    /// One look-up in the sealed postings (directory plus a short binary search, in place).
    public var lookupMicroseconds = 0.03
    /// One look-up in the delta tables of rows written since the last merge (a B-tree seek).
    public var deltaLookupMicroseconds = 0.6
    /// Verifying one candidate (de-duplication plus one full-code distance).
    public var verifyMicroseconds = 0.02
    /// Scanning one stored code, per 8 bytes of code.
    public var scanMicrosecondsPerWord = 0.0003
    /// Scanning one stored code, fixed part.
    public var scanMicrosecondsPerCode = 0.0003
    /// The share of a scan's cost that a k-nearest-neighbour probe may spend before it gives up
    /// and scans. Bounds the worst case at (1 + share) scans while letting near queries finish
    /// by probing.
    public var nearestProbeBudget = 0.3

    public init() {}

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
