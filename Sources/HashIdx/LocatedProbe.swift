import CHammingKernels
import Hamming

/// Probing in two phases, so that the planner sees what a probe will verify before it pays for
/// it: first every key is located (directory cell, then two binary searches: the size of its
/// bucket, no row read), then the located rows are admitted and verified. On learned codes a
/// query's buckets can hold thousands of rows (codes of one class share substrings), which no
/// estimate from the index's size foresees.
extension Reader {
    /// The keys of a Hamming ball around `value`: `value` XOR every `width`-bit mask whose weight
    /// is in `weights`, appended to ``keys`` (in increasing mask order within a weight).
    func appendBallKeys(value: UInt32, width: Int, weights: ClosedRange<Int>) {
        var keys = self.keys
        for w in weights where w <= width {
            HammingBall.forEachMask(width: width, weight: w) { mask in
                keys.append(value ^ mask)
                return true
            }
        }
        self.keys = keys
    }

    /// Probes table `table` with `value` XOR every `width`-bit mask whose weight is in `weights`,
    /// without a decision to make (a forced probe): keys are located and verified 4,096 at a
    /// time, so that a large ball is never held whole. Hits within `limit` join ``hits``.
    func probeBall(table: Int, value: UInt32, width: Int, weights: ClosedRange<Int>, query: UnsafeRawPointer, limit: Int) throws {
        func flush() throws {
            locatedRanges.removeAll()
            _ = locate(table: table, keys: 0..<keys.count)
            try verifyLocated(table: table, keys: 0..<keys.count, ranges: 0..<locatedRanges.count, query: query, limit: limit)
            keys.removeAll()
        }
        keys.removeAll()
        for w in weights where w <= width {
            try HammingBall.forEachMask(width: width, weight: w) { mask in
                keys.append(value ^ mask)
                if keys.count == 4096 { try flush() }
                return true
            }
        }
        if !keys.isEmpty { try flush() }
    }

    /// Locates the keys `keys[span]` in the sealed postings of table `table`, 16 at a time with
    /// their directory cells prefetched; appends the posting range (lower, upper) of every key
    /// that has rows to ``locatedRanges`` and returns how many rows they hold. Counts the look-ups.
    func locate(table: Int, keys span: Range<Int>) -> Int {
        stats.lookups += span.count
        let sealed = sealedPostings[table]
        if sealed.count == 0 { return 0 }
        var total = 0
        var ranges = locatedRanges
        let started = span.count >= 64 ? System.nanoseconds() : 0
        defer {
            locatedRanges = ranges
            if started > 0 {
                measuredLookup.add(Double(System.nanoseconds() - started) / 1000 / Double(span.count))
            }
        }
        do {
            let keys = self.keys.elements
            var g = span.lowerBound
            while g < span.upperBound {
                let e = min(g + Reader.group, span.upperBound)
                for i in g..<e { sealed.prefetchCell(keys[i]) }
                for i in g..<e {
                    let (lo, hi) = sealed.cell(keys[i])
                    if lo < hi { sealed.prefetchPostings(lo) }
                    cellLo[i - g] = lo
                    cellHi[i - g] = hi
                }
                for i in g..<e where cellLo[i - g] < cellHi[i - g] {
                    let found = sealed.postings(keys[i], in: cellLo[i - g], cellHi[i - g])
                    if !found.isEmpty {
                        ranges.append(found.lowerBound)
                        ranges.append(found.upperBound)
                        total += found.count
                    }
                }
                g = e
            }
        }
        return total
    }

    /// Verifies the rows of the posting ranges `locatedRanges[ranges]` of table `table`, and of
    /// the keys `keys[span]` in its delta tables: each row not seen before in this query and
    /// live is a candidate, its distance to `query` computed, and it joins ``hits`` if within
    /// `limit`. Codes are prefetched 64 rows ahead.
    func verifyLocated(table: Int, keys span: Range<Int>, ranges: Range<Int>, query: UnsafeRawPointer, limit: Int) throws {
        if !ranges.isEmpty {
            verifyList.removeAll()
            verifyList.append(table); verifyList.append(ranges.lowerBound); verifyList.append(ranges.upperBound)
            verifySealed(query: query, limit: limit)
        }
        if hasDelta { try verifyDelta(table: table, keys: span, query: query, limit: limit) }
    }

    /// Verifies every shell the range thresholds chose (``thresholds``, ``shell(_:_:)``) in one
    /// pass over their sealed rows, then their delta rows.
    func verifyThresholds(query: UnsafeRawPointer, limit: Int) throws {
        let m = layout.count
        verifyList.removeAll()
        for k in 0..<m where thresholds[k] >= 0 {
            for w in 0...thresholds[k] {
                let s = shell(k, w)
                if s.ranges.isEmpty { continue }
                verifyList.append(k); verifyList.append(s.ranges.lowerBound); verifyList.append(s.ranges.upperBound)
            }
        }
        if !verifyList.isEmpty { verifySealed(query: query, limit: limit) }
        if hasDelta {
            for k in 0..<m where thresholds[k] >= 0 {
                for w in 0...thresholds[k] { try verifyDelta(table: k, keys: shell(k, w).keys, query: query, limit: limit) }
            }
        }
    }

    /// Verifies the sealed posting ranges listed in ``verifyList`` (table, lower, upper triples
    /// of ``locatedRanges`` indices). The loop works on local copies of the scratch (plain
    /// memory), so no access in it is checked at run time.
    private func verifySealed(query: UnsafeRawPointer, limit: Int) {
        let located = self.locatedRanges.elements, list = verifyList.elements
        var bound = 0
        for t in stride(from: 0, to: list.count, by: 3) {
            for r in stride(from: list[t + 1], to: list[t + 2], by: 2) { bound += located[r + 1] - located[r] }
        }
        var touched = self.touched, hits = self.hits
        touched.reserve(extra: bound)
        hits.reserve(extra: bound)
        let limit32 = UInt32(clamping: limit)
        var counts = VerifyCounts()
        // Enough rows to time without the clock's own cost mattering much (two reads, ~40 ns).
        let started = bound >= 64 ? System.nanoseconds() : 0
        if let chunks = codeChunks.baseAddress {
            let deadRows = hasDead ? UnsafePointer(dead.baseAddress) : nil
            for t in stride(from: 0, to: list.count, by: 3) {
                Reader.verifyRows(located: located, ranges: list[t + 1]..<list[t + 2], sealed: sealedPostings[list[t]], chunks: chunks,
                                  dead: deadRows, visited: visited, pending: pendingRows,
                                  rowCount: rows, rowShift: rowShift, rowMask: rowMask, codeBytes: codeBytes,
                                  kernel: kernel, query: query, limit: limit32,
                                  touched: &touched, hits: &hits, counts: &counts)
            }
        }
        if started > 0 {
            measuredVerify.add(Double(System.nanoseconds() - started) / 1000 / Double(bound))
        }
        self.touched = touched
        self.hits = hits
        stats.candidates += counts.candidates
        stats.duplicates += counts.duplicates
        if let damaged = counts.damaged { damagedRow = damaged }
    }

    /// Verifies the rows under the keys `keys[span]` in table `table`'s delta tables.
    private func verifyDelta(table: Int, keys span: Range<Int>, query: UnsafeRawPointer, limit: Int) throws {
        for key in keys.elements[span] {
            _ = try forEachDeltaRow(table: table, key: key) { row in
                guard admit(row) else { return }
                stats.candidates += 1
                let d = kernel.distance(query, codePointer(Int(row)))
                if d <= limit { self.hits.append(Hit(row: row, distance: UInt32(d))) }
            }
        }
    }

    /// What ``verifyRows(located:ranges:sealed:chunks:dead:visited:pending:rowCount:rowShift:rowMask:codeBytes:kernel:query:limit:touched:hits:counts:)`` counted.
    struct VerifyCounts {
        var candidates = 0
        var duplicates = 0
        var damaged: UInt32?
    }

    /// The verification loop of ``verifySealed(query:limit:)`` over sealed
    /// posting ranges, with every input a parameter: nothing it touches is a class property or a
    /// captured variable, so none of its accesses is checked at run time. Each row not yet
    /// visited and live is a candidate; codes are prefetched ``pendingCapacity`` rows ahead of
    /// their distance.
    static func verifyRows(located: UnsafeBufferPointer<Int>, ranges: Range<Int>, sealed: SealedPostings,
                           chunks: UnsafePointer<UnsafeRawPointer>, dead: UnsafePointer<UInt64>?,
                           visited: UnsafeMutablePointer<UInt64>, pending pendingRows: UnsafeMutablePointer<UInt32>,
                           rowCount: Int, rowShift: Int, rowMask: Int, codeBytes: Int, kernel: DistanceKernel,
                           query: UnsafeRawPointer, limit: UInt32, touched: inout PlainBuffer<UInt32>,
                           hits: inout PlainBuffer<Hit>, counts: inout VerifyCounts) {
        var pending = 0, candidates = 0, duplicates = 0
        var r = ranges.lowerBound
        while r < ranges.upperBound {
            var i = located[r]
            let end = located[r + 1]
            if r + 2 < ranges.upperBound { sealed.prefetchPostings(located[r + 2]) }
            while i < end {
                let row = sealed.row(i)
                i += 1
                guard Int(row) < rowCount else { counts.damaged = row; continue }
                let w = Int(row >> 6), bit = UInt64(1) << UInt64(row & 63)
                if visited[w] & bit != 0 { duplicates += 1; continue }
                visited[w] |= bit
                touched.appendUnchecked(row)
                if let dead, dead[w] & bit != 0 { continue }
                hx_prefetch(chunks[Int(row) >> rowShift] + (Int(row) & rowMask) * codeBytes)
                pendingRows[pending] = row
                pending += 1
                if pending == Reader.pendingCapacity {
                    verifyPending(pending, pendingRows, chunks: chunks, rowShift: rowShift, rowMask: rowMask, codeBytes: codeBytes,
                                  kernel: kernel, query: query, limit: limit, hits: &hits)
                    candidates += pending
                    pending = 0
                }
            }
            r += 2
        }
        verifyPending(pending, pendingRows, chunks: chunks, rowShift: rowShift, rowMask: rowMask, codeBytes: codeBytes,
                      kernel: kernel, query: query, limit: limit, hits: &hits)
        candidates += pending
        counts.candidates += candidates
        counts.duplicates += duplicates
    }

    /// The distances of the first `n` prefetched rows of `pendingRows`; those within `limit`
    /// join `hits` (room already reserved).
    @inline(__always)
    private static func verifyPending(_ n: Int, _ pendingRows: UnsafeMutablePointer<UInt32>, chunks: UnsafePointer<UnsafeRawPointer>,
                                      rowShift: Int, rowMask: Int, codeBytes: Int, kernel: DistanceKernel,
                                      query: UnsafeRawPointer, limit: UInt32, hits: inout PlainBuffer<Hit>) {
        for j in 0..<n {
            let row = pendingRows[j]
            let d = UInt32(kernel.distance(query, chunks[Int(row) >> rowShift] + (Int(row) & rowMask) * codeBytes))
            if d <= limit { hits.appendUnchecked(Hit(row: row, distance: d)) }
        }
    }

    /// Estimated rows under `lookups` keys of a `width`-bit table among the rows written since
    /// the last merge (their B-tree tables are not sized before they are read).
    func deltaRowsEstimate(lookups: Int, width: Int) -> Double {
        Double(rows - sealed.rows) * Double(lookups) / Double(UInt64(1) << UInt64(width))
    }
}
