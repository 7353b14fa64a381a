/// One stored code found by a query.
public struct Neighbor: Hashable, Sendable, Codable {
    /// The external id given at insertion.
    public let id: UInt64
    /// Hamming distance to the query, in bits.
    public let distance: Int

    public init(id: UInt64, distance: Int) {
        self.id = id
        self.distance = distance
    }
}

/// How a query was answered.
public enum SearchPath: String, Sendable, Codable {
    /// Multi-index hashing: substring tables probed by Hamming-ball enumeration.
    case probe
    /// A linear scan of every stored code.
    case scan
}

/// What the caller lets the planner do.
public enum PathChoice: Sendable {
    /// The planner decides by its cost model (the default).
    case automatic
    /// Always probe (for tests and measurements), with multi-index hashing's thresholds: equal
    /// substring radii for a range query, every table grown in turn for k nearest. The answer
    /// is the same.
    case probe
    /// Always scan (for tests and measurements); the answer is the same.
    case scan
}

/// Per-query work counters, returned with every result (never kept globally).
public struct QueryStatistics: Sendable, Equatable, Codable {
    /// Substring-table look-ups (keys probed).
    public var lookups = 0
    /// Distinct stored codes whose full distance was computed (for a scan: every code).
    public var candidates = 0
    /// Posting entries skipped because their row was already a candidate.
    public var duplicates = 0
    /// Largest radius, in bits, up to which the answer is proven complete.
    public var radiusReached = 0
    /// The path that produced the answer.
    public var path: SearchPath = .probe
    /// True if probing was started and then abandoned for a scan.
    public var switchedToScan = false
    /// Engine time for this query, in seconds. In a batch it runs from the end of the previous
    /// query that the same worker answered (so it includes the worker's own work between
    /// queries); a query answered by a scan counts its share of the scan group's pass.
    public var seconds = 0.0

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case lookups, candidates, duplicates, radiusReached, path, switchedToScan, seconds
    }

    /// Encodes every field; `seconds` rounded to the nanosecond, so JSON shows `3.9e-05`, not
    /// `3.9000000000000006e-05`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(lookups, forKey: .lookups)
        try c.encode(candidates, forKey: .candidates)
        try c.encode(duplicates, forKey: .duplicates)
        try c.encode(radiusReached, forKey: .radiusReached)
        try c.encode(path, forKey: .path)
        try c.encode(switchedToScan, forKey: .switchedToScan)
        try c.encode((seconds * 1e9).rounded() / 1e9, forKey: .seconds)
    }
}

/// The answer to one query: neighbours sorted by (distance, id), ascending, and its statistics.
public struct SearchResult: Sendable, Equatable, Codable {
    public var neighbors: [Neighbor]
    public var statistics: QueryStatistics

    public init(neighbors: [Neighbor], statistics: QueryStatistics) {
        self.neighbors = neighbors
        self.statistics = statistics
    }
}
