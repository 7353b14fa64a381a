import CHammingKernels
import Hamming

/// One query's state during a scan: what it asks for, and the hits kept so far. A scan can
/// serve several queries in one pass over the codes (``Reader/scan(_:_:)``), each with its own
/// state, so that every block of codes is read from memory once for the whole group.
final class ScanQuery {
    /// A range query of a radius, or a k-nearest-neighbour query.
    enum Goal: Sendable {
        case range(Int)
        case nearest(Int)
    }

    let goal: Goal
    /// Hits with distance ≤ ``limit`` (for k nearest: possibly some farther ones not yet
    /// dropped), in ascending row order: the fused kernel writes them here directly.
    @exclusivity(unchecked) private var buffer: UnsafeMutablePointer<Reader.Hit>
    @exclusivity(unchecked) private var count = 0
    @exclusivity(unchecked) private var capacity = 0
    /// The fused kernel's state: the limit, and for k nearest the per-distance counts.
    /// (Not checked for exclusive access: one worker owns a state, and the scan loop passes it
    /// inout to the kernel once per block.)
    @exclusivity(unchecked) private var state: hx_scan_state
    private let countAt: UnsafeMutablePointer<UInt32>?

    /// The largest distance still wanted: the radius, or the k-th smallest distance so far.
    var limit: Int { Int(state.limit) }
    /// The hits kept so far, valid until the next ``scan(_:kernel:base:count:firstRow:dead:)``.
    var hits: UnsafeBufferPointer<Reader.Hit> { UnsafeBufferPointer(start: buffer, count: count) }

    /// A query state for `goal` over codes of `bits` bits; rows below `orderedRows` are stored
    /// in id order (the sealed base), so a k-nearest scan need not keep their ties past k.
    init(_ goal: Goal, bits: Int, orderedRows: Int) {
        self.goal = goal
        buffer = .allocate(capacity: 0)
        switch goal {
        case .range(let r):
            countAt = nil
            state = hx_scan_state(limit: UInt32(r), k: 0, kept: 0, count_at: nil, ordered_rows: 0)
        case .nearest(let k):
            // k ≤ the stored count < 2^32; k = 0 (nothing stored) keeps every code, of which there are none.
            let counts = UnsafeMutablePointer<UInt32>.allocate(capacity: bits + 1)
            counts.initialize(repeating: 0, count: bits + 1)
            countAt = counts
            state = hx_scan_state(limit: UInt32(bits), k: UInt32(k), kept: 0, count_at: counts,
                                  ordered_rows: UInt32(clamping: orderedRows))
        }
    }

    deinit {
        buffer.deallocate()
        countAt?.deallocate()
    }

    /// Scans `count` codes at `base` (rows `firstRow`…) with `kernel`, keeping the hits within
    /// the limit.
    @inline(__always)
    func scan(_ query: UnsafeRawPointer, kernel: DistanceKernel, base: UnsafeRawPointer, count n: Int, firstRow: Int,
              dead: UnsafePointer<UInt64>?) {
        if capacity - count < n {
            // Room for every code of the block; grown geometrically.
            let grown = max(2 * capacity, count + n)
            let moved = UnsafeMutablePointer<Reader.Hit>.allocate(capacity: grown)
            moved.moveInitialize(from: buffer, count: count)
            buffer.deallocate()
            buffer = moved
            capacity = grown
        }
        count += kernel.scan(query: query, base: base, count: n, firstRow: UInt32(firstRow), dead: dead,
                             state: &state, hits: buffer + count)
        // k nearest: drop hits past the limit once they outnumber the kept ones.
        if state.k != 0 && count > 4 * Int(state.kept) + 1024 {
            let l = state.limit
            var kept = 0
            for i in 0..<count where buffer[i].distance <= l {
                buffer[kept] = buffer[i]
                kept += 1
            }
            count = kept
        }
    }
}

extension Reader {
    /// Bytes of codes scanned by all the queries of a group before the next block: small
    /// enough to stay in the first-level cache while every query of the group passes over it.
    static let scanBlockBytes = 16 << 10

    /// Scans every live code once for all `queries` (their states in `states`, same order):
    /// block by block, every query's fused kernel runs over the block while it is in cache,
    /// and only the codes within that query's limit reach Swift.
    func scan(_ queries: [UnsafeRawPointer], _ states: [ScanQuery]) {
        guard !queries.isEmpty else { return }
        let block = max(8, Reader.scanBlockBytes / codeBytes) & ~7
        let kernel = self.kernel
        let started = System.nanoseconds()
        defer {
            if rows >= 4096 {
                let perCode = Double(System.nanoseconds() - started) / 1000 / Double(rows * queries.count)
                measuredScan.add(perCode)
            }
        }
        let codeBytes = self.codeBytes, chunks = codeChunks
        let deadRows = hasDead ? UnsafePointer(dead.baseAddress) : nil
        for c in 0..<chunks.count {
            let first = c * rowsPerChunk, n = rowsInChunk(c), base = chunks[c]
            var start = 0
            while start < n {
                let len = min(block, n - start)
                // The next block (in this chunk or the next), fetched from memory a share
                // per query while this one is scanned from cache: its first pass would
                // otherwise wait on memory.
                let next: UnsafeRawPointer?, nextBytes: Int
                if start + len < n {
                    next = base + (start + len) * codeBytes
                    nextBytes = min(block, n - start - len) * codeBytes
                } else if c + 1 < chunks.count {
                    next = chunks[c + 1]
                    nextBytes = min(block, rowsInChunk(c + 1)) * codeBytes
                } else {
                    next = nil
                    nextBytes = 0
                }
                let share = (nextBytes / queries.count + 63) & ~63
                for q in 0..<queries.count {
                    if let next, q * share < nextBytes {
                        hx_prefetch_range(next + q * share, min(share, nextBytes - q * share))
                    }
                    // `states` holds every state for the whole call: no retain per block.
                    Unmanaged.passUnretained(states[q])._withUnsafeGuaranteedRef {
                        $0.scan(queries[q], kernel: kernel, base: base + start * codeBytes, count: len,
                                firstRow: first + start, dead: deadRows)
                    }
                }
                start += len
            }
        }
    }

    /// Up to this many hits are sorted by insertion, in the answer's own storage.
    static let fewHits = 24

    /// ``writeNeighbors(_:maxDistance:limit:into:)`` into an array of its own.
    func neighbors(_ hits: UnsafeBufferPointer<Hit>, maxDistance: Int, limit: Int = .max) -> [Neighbor] {
        writeNeighbors(hits, maxDistance: maxDistance, limit: limit) { capacity, fill in
            capacity == 0 ? [] : [Neighbor](unsafeUninitializedCapacity: capacity) { out, count in count = fill(out.baseAddress!) }
        }
    }

    /// Turns `hits` with distance ≤ `maxDistance` into neighbours sorted by (distance, id), at
    /// most `limit`, written where `storage` says: `storage(capacity, fill)` provides room for
    /// `capacity` neighbours (capacity 0: no hit is kept) and calls `fill` with it, which
    /// returns how many of them are the answer (the first ones; the rest are plain values).
    ///
    /// A counting sort by distance (stable) writes each neighbour, id read in place, straight
    /// into the answer, then each distance level is put in id order — nothing to do for a level
    /// already ascending (a scan of sealed rows, which are stored in id order), a radix sort
    /// otherwise. Levels past the `limit`-th neighbour are not touched. At most ``fewHits``
    /// hits are sorted by insertion instead.
    @inline(__always)
    func writeNeighbors<R>(_ hits: UnsafeBufferPointer<Hit>, maxDistance: Int, limit: Int,
                           into storage: (Int, (UnsafeMutablePointer<Neighbor>) -> Int) -> R) -> R {
        let top = min(maxDistance, bits)
        if top < 0 || limit <= 0 || hits.isEmpty { return storage(0) { _ in 0 } }
        // The reader's id chunks and constants in locals: the loops then read no class property.
        let idBase = sealed.idBase, rowShift = self.rowShift, rowMask = self.rowMask, chunks = UnsafeBufferPointer(idChunks)
        if hits.count <= Reader.fewHits {
            return storage(hits.count) { out in
                var n = 0
                for h in hits where Int(h.distance) <= top {
                    let x = Neighbor(id: Reader.id(ofRow: Int(h.row), chunks: chunks, idBase: idBase, rowShift: rowShift, rowMask: rowMask),
                                     distance: Int(h.distance))
                    // Insertion by (distance, id).
                    var j = n
                    while j > 0 && (out[j - 1].distance, out[j - 1].id) > (x.distance, x.id) {
                        (out + j).initialize(to: out[j - 1])
                        j -= 1
                    }
                    (out + j).initialize(to: x)
                    n += 1
                }
                return min(n, limit)
            }
        }
        // The hits are cut into four lanes (consecutive quarters) with their own counts and
        // their own next positions per distance, and the lanes are taken in turn: consecutive
        // hits of one distance then update four counters, not one, so the loop does not wait
        // on the previous increment of the same counter in memory. Lane l's hits of distance d
        // go after those of lanes < l: the sort stays stable. In each lane's counts,
        // [d + 1] counts distance d and [top + 2] the hits past `top` (no branch).
        let slots = top + 3, h = hits.baseAddress!, count = hits.count, quarter = count / 4
        let memory = UnsafeMutablePointer<Int>.allocate(capacity: 9 * slots)
        defer { memory.deallocate() }
        memory.initialize(repeating: 0, count: 9 * slots)
        let counts = (memory, memory + slots, memory + 2 * slots, memory + 3 * slots)
        let start = memory + 4 * slots
        let next = (start + slots, start + 2 * slots, start + 3 * slots, start + 4 * slots)
        let past = top &+ 1
        for j in 0..<quarter {
            counts.0[min(Int(h[j].distance), past) &+ 1] &+= 1
            counts.1[min(Int(h[quarter &+ j].distance), past) &+ 1] &+= 1
            counts.2[min(Int(h[2 &* quarter &+ j].distance), past) &+ 1] &+= 1
            counts.3[min(Int(h[3 &* quarter &+ j].distance), past) &+ 1] &+= 1
        }
        for i in (4 * quarter)..<count { counts.3[min(Int(h[i].distance), past) &+ 1] &+= 1 }
        for d in 0...top {
            next.0[d] = start[d]
            next.1[d] = next.0[d] &+ counts.0[d + 1]
            next.2[d] = next.1[d] &+ counts.1[d + 1]
            next.3[d] = next.2[d] &+ counts.2[d + 1]
            start[d + 1] = next.3[d] &+ counts.3[d + 1]
        }
        // The last level needed: the first whose end reaches `limit`.
        var last = 0
        while last < top && start[last + 1] < limit { last += 1 }
        let placed = start[last + 1], n = min(placed, limit)
        if placed == 0 { return storage(0) { _ in 0 } }
        return storage(placed) { o in
            @inline(__always) func place(_ i: Int, _ next: UnsafeMutablePointer<Int>) {
                let d = Int(h[i].distance)
                if d > last { return }
                let id = Reader.id(ofRow: Int(h[i].row), chunks: chunks, idBase: idBase, rowShift: rowShift, rowMask: rowMask)
                (o + next[d]).initialize(to: Neighbor(id: id, distance: d))
                next[d] &+= 1
            }
            for j in 0..<quarter {
                place(j, next.0)
                place(quarter &+ j, next.1)
                place(2 &* quarter &+ j, next.2)
                place(3 &* quarter &+ j, next.3)
            }
            for i in (4 * quarter)..<count { place(i, next.3) }
            for d in 0...last where start[d + 1] - start[d] > 1 {
                Reader.sortLevel(o + start[d], count: start[d + 1] - start[d])
            }
            // Neighbours past `limit` (ties of the last level) stay uncounted: plain values.
            return n
        }
    }

    /// Puts `count` neighbours of one distance in id order: nothing to do if they already are
    /// (checked first), else their ids sorted aside and written back.
    private static func sortLevel(_ level: UnsafeMutablePointer<Neighbor>, count: Int) {
        var i = 1
        while i < count && level[i - 1].id <= level[i].id { i += 1 }
        if i == count { return }
        let ids = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: count)
        defer { ids.deallocate() }
        for j in 0..<count { ids[j] = level[j].id }
        RadixSort.sortIfNeeded(ids)
        let d = level[0].distance
        for j in 0..<count { level[j] = Neighbor(id: ids[j], distance: d) }
    }
}
