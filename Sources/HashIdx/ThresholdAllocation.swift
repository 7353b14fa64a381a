import Hamming

// The generalised pigeonhole principle (Qin et al., "GPH: Similarity Search in Hamming Space",
// ICDE 2018). Symbols inside this file only: m substrings of widths b_i, radius r, substring
// thresholds τ_i (−1: table i is not probed), shell w of table i = the keys at substring
// distance exactly w from the query's value in table i, n_{i,w} = rows under those keys.
//
// If d(q, x) ≤ r then some i has d_i(q, x) ≤ τ_i whenever Σ (τ_i + 1) ≥ r + 1: otherwise every
// d_i ≥ τ_i + 1 and d ≥ Σ (τ_i + 1) > r. Multi-index hashing's equal thresholds are one choice;
// here a small dynamic program picks, per query, the τ that minimises the estimated cost, and
// every choice it can make meets the sum, so the answer stays exact.

/// Where one located shell's keys and posting ranges lie in the reader's scratch, and its rows
/// (−1: not located in this query).
struct LocatedShell {
    var keys: Range<Int>
    var ranges: Range<Int>
    var rows: Int

    static let unlocated = LocatedShell(keys: 0..<0, ranges: 0..<0, rows: -1)
}

/// One table of an automatic k-NN probe: its next shell (τ + 1: the shells below are verified),
/// that shell if located and not yet verified (rows −1: not located), the look-ups and rows of
/// its located shells past the own bucket, and the commitment check's scratch (the table's next
/// shell in the costed plan, and that shell's cost).
struct NearestTable {
    var next: Int
    var located: LocatedShell
    var wideLookups = 0
    var wideRows = 0
    var trial = 0
    var head = 0.0
}

extension Reader {
    /// The widest shell a threshold may reach: past it, a shell's look-ups alone cost more than
    /// any scan this planner compares them with.
    static let maxShell = 7

    /// Shell `w` of table `i` (rows −1 if not located in this query).
    @inline(__always)
    func shell(_ i: Int, _ w: Int) -> LocatedShell { shells[i * (Reader.maxShell + 1) + w] }

    /// Chooses per-table thresholds for a range query of radius `r` (its substrings in
    /// ``queryValues``) and locates every shell they
    /// probe (see ``locate(table:keys:)``). First locates multi-index hashing's thresholds
    /// (`start`): if verifying their rows costs no more than their look-ups did, no allocation
    /// could save much, and they are kept (the usual case on uniform codes: no program is
    /// solved). Otherwise it solves the dynamic program over estimates — rows under a key as in
    /// a uniform index, or, next to a located shell, as dense as that shell — locates the shells
    /// the solution needs, and solves again with their true sizes (located look-ups cost
    /// nothing more), until the solution needs no new shell. On learned codes one table's
    /// buckets near the query may be full while another's are empty: the budget moves to the
    /// empty one.
    /// - Returns: false if no allocation is estimated cheaper than `scanCost` (the caller
    ///   scans); true with the thresholds in ``thresholds`` (−1: table not probed).
    func allocateThresholds(radius r: Int, start: UnsafeMutablePointer<Int>, model: CostModel, scanCost: Double) -> Bool {
        let m = layout.count
        // Shells past weight r are never read for this query (no threshold exceeds r).
        let reach = min(Reader.maxShell, r)
        for i in 0..<m { (shells + i * (Reader.maxShell + 1)).update(repeating: .unlocated, count: reach + 1) }
        keys.removeAll()
        locatedRanges.removeAll()
        let need = r + 1
        var spent = 0.0, startRows = 0.0
        @inline(__always) func locateShell(_ i: Int, _ w: Int) {
            let first = keys.count, firstRange = locatedRanges.count
            appendBallKeys(value: queryValues[i], width: tableWidths[i], weights: w...w)
            let rows = locate(table: i, keys: first..<keys.count)
            shells[i * (Reader.maxShell + 1) + w] = LocatedShell(keys: first..<keys.count, ranges: firstRange..<locatedRanges.count, rows: rows)
            spent += model.probeCost(lookups: Double(keys.count - first), candidates: 0)
        }
        @inline(__always) func locatedRows(_ i: Int, _ w: Int) -> Double {
            Double(shell(i, w).rows) + (hasDelta ? deltaRowsEstimate(lookups: shell(i, w).keys.count, width: tableWidths[i]) : 0)
        }
        var startFits = true
        for i in 0..<m where start[i] > Reader.maxShell { startFits = false }
        if startFits {
            // Shell 0 of the tables multi-index hashing probes first: if their buckets are
            // crowded, the program below sees it (the next shells are estimated as dense) before
            // the wider shells are looked up.
            spent += model.probeCost(lookups: Double(locateOwnBuckets(tables: start)), candidates: 0)
            for i in 0..<m where start[i] >= 0 { startRows += locatedRows(i, 0) }
            if model.probeCost(lookups: 0, candidates: startRows) <= spent {
                for i in 0..<m where start[i] >= 1 {
                    for w in 1...start[i] {
                        locateShell(i, w)
                        startRows += locatedRows(i, w)
                    }
                }
                if model.probeCost(lookups: 0, candidates: startRows) <= spent {
                    for i in 0..<m { thresholds[i] = start[i] }
                    return true
                }
            }
        }
        while true {
            // The cheapest allocation, located shells costing their rows only: if even that is
            // dearer than a scan, scan (the look-ups made so far are spent either way).
            guard let cheapest = solveThresholds(need: need, model: model, scanCost: scanCost), cheapest <= scanCost else { return false }
            var locatedNew = false
            for i in 0..<m where thresholds[i] >= 0 {
                for w in 0...thresholds[i] where shell(i, w).rows < 0 {
                    locateShell(i, w)
                    locatedNew = true
                }
            }
            if !locatedNew {
                // Every shell of the solution is located: what remains is verifying its rows.
                var rows = 0.0
                for i in 0..<m where thresholds[i] >= 0 {
                    for w in 0...thresholds[i] { rows += locatedRows(i, w) }
                }
                return model.probeCost(lookups: 0, candidates: rows, delta: false) <= scanCost
            }
            // Locating already cost more than a scan would: stop probing.
            if spent > scanCost { return false }
        }
    }

    /// Finds the query's own bucket in every table for which `wanted` holds, the tables
    /// interleaved: every directory cell is prefetched, then every cell's first postings, then
    /// each bucket is found, so that the tables' cache misses overlap instead of following one
    /// another. Leaves table i's posting range in cellLo[i]..<cellHi[i] (empty where not wanted
    /// or not found). Counts no look-up: the callers do.
    @inline(__always)
    func findOwnBuckets(_ wanted: (Int) -> Bool) {
        let m = layout.count, values = queryValues, postings = sealedPostings, cellLo = self.cellLo, cellHi = self.cellHi
        for i in 0..<m where wanted(i) && postings[i].count > 0 { postings[i].prefetchCell(values[i]) }
        for i in 0..<m {
            cellLo[i] = 0
            cellHi[i] = 0
            guard wanted(i), postings[i].count > 0 else { continue }
            let (lo, hi) = postings[i].cell(values[i])
            if lo < hi { postings[i].prefetchPostings(lo) }
            cellLo[i] = lo
            cellHi[i] = hi
        }
        for i in 0..<m where cellLo[i] < cellHi[i] {
            let found = postings[i].postings(values[i], in: cellLo[i], cellHi[i])
            cellLo[i] = found.lowerBound
            cellHi[i] = found.upperBound
        }
    }

    /// Locates shell 0 (the query's own bucket, one key) of every table with `thresholds[i] ≥ 0`
    /// (``findOwnBuckets(_:)``). Records the shells like ``locate(table:keys:)``; returns the
    /// number of look-ups.
    func locateOwnBuckets(tables thresholds: UnsafeMutablePointer<Int>) -> Int {
        findOwnBuckets { thresholds[$0] >= 0 }
        let m = layout.count, values = queryValues, cellLo = self.cellLo, cellHi = self.cellHi
        var keys = self.keys, ranges = locatedRanges, lookups = 0
        keys.reserve(extra: m)
        ranges.reserve(extra: 2 * m)
        for i in 0..<m where thresholds[i] >= 0 {
            let first = keys.count, firstRange = ranges.count
            keys.appendUnchecked(values[i])
            lookups += 1
            let rows = cellHi[i] - cellLo[i]
            if rows > 0 {
                ranges.appendUnchecked(cellLo[i])
                ranges.appendUnchecked(cellHi[i])
            }
            shells[i * (Reader.maxShell + 1)] = LocatedShell(keys: first..<keys.count, ranges: firstRange..<ranges.count, rows: rows)
        }
        self.keys = keys
        locatedRanges = ranges
        stats.lookups += lookups
        return lookups
    }

    /// The dynamic program over tables and covered budget: cost[i][t] is the least estimated
    /// cost of thresholds for tables 0..<i with Σ (τ + 1) = t (capped at `need`); a table's
    /// threshold stops at the widest shell whose look-ups still cost less than `scanCost`.
    /// O(m · need · maxShell). Writes the cheapest allocation that covers `need` to
    /// ``thresholds`` and returns its estimated cost; nil if none covers `need`.
    private func solveThresholds(need: Int, model: CostModel, scanCost: Double) -> Double? {
        let m = layout.count
        let width = need + 1
        if dpCapacity < (m + 1) * width {
            dpCost.deallocate(); dpChoice.deallocate(); dpFrom.deallocate()
            dpCapacity = (m + 1) * width
            dpCost = .allocate(capacity: dpCapacity)
            dpChoice = .allocate(capacity: dpCapacity)
            dpFrom = .allocate(capacity: dpCapacity)
        }
        let cost = dpCost, choice = dpChoice, from = dpFrom, shells = self.shells, shellCost = self.shellCost
        let binomials = self.binomials, hasDelta = self.hasDelta
        let deltaRows = Double(rows - sealed.rows), sealedRows = Double(sealed.rows)
        cost[0] = 0
        for t in 1..<width { cost[t] = .infinity }
        for i in 0..<m {
            let b = layout.widths[i]
            let row = (i + 1) * width, prev = i * width
            for t in 0..<width { cost[row + t] = .infinity }
            // shellCost[τ]: estimated cost of thresholds 0…τ of table i, look-ups already made free.
            let keysInTable = Double(UInt64(1) << UInt64(b))
            var density = sealedRows / keysInTable   // rows per key
            var total = 0.0, lookupsSoFar = 0.0
            var top = -1
            while top < min(b, Reader.maxShell, need - 1) {
                let w = top + 1
                let lookups = binomials[i * (Reader.maxShell + 1) + w]
                lookupsSoFar += lookups
                if w > 0 && model.probeCost(lookups: lookupsSoFar, candidates: 0) > scanCost { break }
                let s = shells[i * (Reader.maxShell + 1) + w]
                if s.rows >= 0 {
                    total += model.probeCost(lookups: 0, candidates: Double(s.rows))
                    density = Double(s.rows) / lookups
                } else {
                    total += model.probeCost(lookups: lookups, candidates: lookups * density)
                }
                if hasDelta {
                    total += lookups * model.deltaLookupMicroseconds + model.probeCost(lookups: 0, candidates: deltaRows * lookups / keysInTable)
                }
                shellCost[w] = total
                top = w
            }
            for t in 0..<width where cost[prev + t] < .infinity {
                let base = cost[prev + t]
                if base < cost[row + t] {
                    cost[row + t] = base
                    choice[row + t] = -1
                    from[row + t] = Int32(t)
                }
                if top < 0 { continue }
                for tau in 0...top {
                    let t2 = min(need, t + tau + 1)
                    let c = base + shellCost[tau]
                    if c < cost[row + t2] {
                        cost[row + t2] = c
                        choice[row + t2] = Int8(tau)
                        from[row + t2] = Int32(t)
                    }
                }
            }
        }
        let cheapest = cost[m * width + need]
        if cheapest == .infinity { return nil }
        var t = need
        for i in stride(from: m, to: 0, by: -1) {
            thresholds[i - 1] = Int(choice[i * width + t])
            t = Int(from[i * width + t])
        }
        return cheapest
    }
}
