import CHammingKernels
import Hamming

/// Probing in two phases, so that the planner sees what a probe will verify before it pays for
/// it: first every key is located (directory cell, then two binary searches: the size of its
/// bucket, no row read), then the located rows are admitted and verified. On learned codes a
/// query's buckets can hold thousands of rows (codes of one class share substrings), which no
/// estimate from the index's size foresees.
extension Reader {
    /// The keys of a Hamming ball around `value`: `value` XOR every `width`-bit mask whose weight
    /// is in `weights`, appended to ``keys``.
    func appendBallKeys(value: UInt32, width: Int, weights: ClosedRange<Int>) {
        for w in weights where w <= width {
            HammingBall.forEachMask(width: width, weight: w) { mask in
                keys.append(value ^ mask)
                return true
            }
        }
    }

    /// Locates the keys `keys[span]` in the sealed postings of table `table`, 16 at a time with
    /// their directory cells prefetched; appends the posting range (lower, upper) of every key
    /// that has rows to ``locatedRanges`` and returns how many rows they hold. Counts the look-ups.
    func locate(table: Int, keys span: Range<Int>) -> Int {
        stats.lookups += span.count
        let sealed = sealedPostings[table]
        if sealed.count == 0 { return 0 }
        var total = 0
        keys.withUnsafeBufferPointer { keys in
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
                        locatedRanges.append(found.lowerBound)
                        locatedRanges.append(found.upperBound)
                        total += found.count
                    }
                }
                g = e
            }
        }
        return total
    }

    /// Admits the rows of the posting ranges `locatedRanges[ranges]` of table `table`, and of
    /// the keys `keys[span]` in its delta tables, and calls `verify` with each admitted row;
    /// codes are prefetched 64 rows ahead.
    func verifyLocated(table: Int, keys span: Range<Int>, ranges: Range<Int>, _ verify: (UInt32) -> Void) throws {
        let hasDelta = self.hasDelta
        if ranges.isEmpty && !hasDelta { return }
        let sealed = sealedPostings[table]
        var pending = 0
        var r = ranges.lowerBound
        while r < ranges.upperBound {
            var i = locatedRanges[r]
            let end = locatedRanges[r + 1]
            if r + 2 < ranges.upperBound { sealed.prefetchPostings(locatedRanges[r + 2]) }
            while i < end {
                let row = sealed.row(i)
                i += 1
                guard admit(row) else { continue }
                hx_prefetch(codePointer(Int(row)))
                pendingRows[pending] = row
                pending += 1
                if pending == Reader.pendingCapacity {
                    for j in 0..<pending { verify(pendingRows[j]) }
                    pending = 0
                }
            }
            r += 2
        }
        for j in 0..<pending { verify(pendingRows[j]) }
        if hasDelta {
            for key in keys[span] {
                _ = try forEachDeltaRow(table: table, key: key) { row in if admit(row) { verify(row) } }
            }
        }
    }

    /// Estimated rows under `lookups` keys of a `width`-bit table among the rows written since
    /// the last merge (their B-tree tables are not sized before they are read).
    func deltaRowsEstimate(lookups: Int, width: Int) -> Double {
        Double(rows - sealed.rows) * Double(lookups) / Double(UInt64(1) << UInt64(width))
    }
}
