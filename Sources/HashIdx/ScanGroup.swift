import Hamming

/// One query's state during a scan: what it asks for, and the hits kept so far. A scan can
/// serve several queries in one pass over the codes (``Reader/scan(_:_:)``), each with its own
/// state, so that every chunk of codes is read from memory once for the whole group.
struct ScanQuery {
    /// A range query of a radius, or a k-nearest-neighbour query.
    enum Goal: Sendable {
        case range(Int)
        case nearest(Int)
    }

    let goal: Goal
    /// Hits with distance ≤ ``limit`` (for k nearest: possibly some farther ones not yet dropped).
    private(set) var hits: [Reader.Hit] = []
    /// Codes at distance d among the kept hits (k nearest only).
    private var countAt: [Int]
    /// The largest distance still wanted: the radius, or the k-th smallest distance so far.
    private(set) var limit: Int
    private var kept = 0

    init(_ goal: Goal, bits: Int) {
        self.goal = goal
        switch goal {
        case .range(let r):
            limit = r
            countAt = []
        case .nearest:
            limit = bits
            countAt = [Int](repeating: 0, count: bits + 1)
        }
    }

    /// Takes a code at `distance` ≤ ``limit``.
    @inline(__always)
    mutating func offer(row: Int, distance d: Int) {
        guard d <= limit else { return }
        hits.append(Reader.Hit(row: UInt32(row), distance: Int32(d)))
        guard case .nearest(let k) = goal else { return }
        countAt[d] += 1
        kept += 1
        // Drop the farthest level while the nearer ones alone still hold k codes (a counting
        // sort over the distances 0…B, no heap).
        while limit > 0 && kept - countAt[limit] >= k {
            kept -= countAt[limit]
            countAt[limit] = 0
            limit -= 1
        }
    }

    /// Drops hits past ``limit`` once they outnumber the kept ones (between chunks).
    mutating func trim() {
        if hits.count > 4 * kept + 1024 {
            let l = limit
            hits.removeAll { Int($0.distance) > l }
        }
    }
}

extension Reader {
    /// Scans every live code once for all `queries` (their states in `states`, same order):
    /// chunk by chunk, each query's distances are computed while the chunk is still in cache,
    /// and only the codes within that query's limit reach Swift.
    func scan(_ queries: [UnsafeRawPointer], _ states: inout [ScanQuery]) {
        for c in 0..<codeChunks.count {
            let first = c * rowsPerChunk, n = rowsInChunk(c)
            for q in 0..<queries.count {
                states[q].trim()
                kernel.distances(query: queries[q], base: codeChunks[c], count: n, into: chunkDistances)
                let kept = DistanceKernel.select(chunkDistances, count: n, atMost: states[q].limit, into: chunkSelected)
                for j in 0..<kept {
                    let i = Int(chunkSelected[j])
                    if !isDead(first + i) { states[q].offer(row: first + i, distance: Int(chunkDistances[i])) }
                }
            }
        }
    }

    /// Turns `hits` with distance ≤ `maxDistance` into neighbours sorted by (distance, id), at most `limit`.
    func neighbors(_ hits: [Hit], maxDistance: Int, limit: Int = .max) -> [Neighbor] {
        var out: [Neighbor] = []
        out.reserveCapacity(min(hits.count, limit))
        for h in hits where Int(h.distance) <= maxDistance {
            out.append(Neighbor(id: id(ofRow: Int(h.row)), distance: Int(h.distance)))
        }
        out.sort { ($0.distance, $0.id) < ($1.distance, $1.id) }
        if out.count > limit { out.removeSubrange(limit...) }
        return out
    }
}
