import CHammingKernels
import Hamming

/// Probing in two phases, so that the planner sees what a probe will verify before it pays for
/// it: first every key is located (directory cell, then two binary searches: the size of its
/// bucket, no row read), then the located rows are admitted and verified. On learned codes a
/// query's buckets can hold thousands of rows (codes of one class share substrings), which no
/// estimate from the index's size foresees.
extension Reader {
    /// The keys of a Hamming ball around `value`: `value` XOR every `width`-bit mask whose weight
    /// is in `weights`, into `keys` (replacing its contents).
    func ballKeys(value: UInt32, width: Int, weights: ClosedRange<Int>, into keys: inout [UInt32]) {
        keys.removeAll(keepingCapacity: true)
        for w in weights where w <= width {
            HammingBall.forEachMask(width: width, weight: w) { mask in
                keys.append(value ^ mask)
                return true
            }
        }
    }

    /// Locates every key of `keys` in the sealed postings of table `table`, 16 at a time with
    /// their directory cells prefetched; appends the posting range (lower, upper) of every key
    /// that has rows to `ranges` and returns how many rows they hold. Counts the look-ups.
    func locate(table: Int, keys: [UInt32], into ranges: inout [Int]) -> Int {
        ranges.removeAll(keepingCapacity: true)
        stats.lookups += keys.count
        let sealed = sealedPostings[table]
        if sealed.count == 0 { return 0 }
        var total = 0
        keys.withUnsafeBufferPointer { keys in
            var g = 0
            while g < keys.count {
                let e = min(g + Reader.group, keys.count)
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

    /// Admits the rows of the located `ranges` of table `table`, and of `keys` in its delta
    /// tables, and calls `verify` with each admitted row; codes are prefetched 64 rows ahead.
    func verifyLocated(table: Int, keys: [UInt32], ranges: [Int], _ verify: (UInt32) -> Void) throws {
        let sealed = sealedPostings[table]
        var pending = 0
        var r = 0
        while r < ranges.count {
            var i = ranges[r]
            let end = ranges[r + 1]
            if r + 2 < ranges.count { sealed.prefetchPostings(ranges[r + 2]) }
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
            for key in keys {
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
