import Foundation
import Hamming

// The query planner. Symbols follow the multi-index-hashing papers, inside this file only:
//   B = code width in bits, m = substring count, b_k = width of substring k,
//   r = query radius, s = radius within one substring, N = stored codes.

extension Reader {
    /// Exact range query: every stored code within Hamming distance `radius` (inclusive) of
    /// `query`, as hits in ``hits``. Probes by the pigeonhole plan unless the cost model says a
    /// scan is cheaper (or `choice` forces a path); the answer is the same either way.
    /// - Parameter deferScan: instead of scanning, return false (with ``stats`` describing the
    ///   probe given up, if any) so that the caller scans this query together with others.
    /// - Returns: true if ``hits`` holds the answer.
    @discardableResult
    func range(_ query: UnsafeRawPointer, radius r: Int, choice: PathChoice, model: CostModel,
               deferScan: Bool = false) throws -> Bool {
        let layout = self.layout
        let m = layout.count
        // The plan depends on the radius and the index's shape only: a batch makes it once
        // (kept in plain memory: the per-query path copies no array).
        let key = QueryPlanner.RangePlanKey(rows: rows, hasDelta: hasDelta, radius: r, choice: choice, model: model)
        if planKey != key {
            let planner = QueryPlanner(layout: layout, rows: rows, codeBytes: codeBytes, hasDelta: hasDelta, model: model)
            let plan = planner.range(radius: r, choice: choice)
            for k in 0..<m { planRadii[k] = plan.substringRadii[k] }
            planPath = plan.path
            planKey = key
        }
        let radii = planRadii
        stats.radiusReached = r
        if planPath == .scan {
            return scanRange(query, radius: r, deferScan: deferScan)
        }
        loadSubstrings(of: query)
        if choice == .automatic {
            // Thresholds per table by the generalised pigeonhole principle, every shell they
            // probe located before a row is read; a scan if that costs less.
            let costs = measured(model)
            guard allocateThresholds(radius: r, start: radii, model: costs,
                                     scanCost: costs.scanCost(count: rows, codeBytes: codeBytes)) else {
                abandonProbe()
                stats.radiusReached = r
                return scanRange(query, radius: r, deferScan: deferScan)
            }
            try verifyThresholds(query: query, limit: r)
            try checkDamage()
            return true
        }
        for k in 0..<m {
            let s = radii[k]
            if s < 0 { continue }
            try probeBall(table: k, value: queryValues[k], width: tableWidths[k], weights: 0...s, query: query, limit: r)
        }
        try checkDamage()
        return true
    }

    /// Drops a probe's hits before a scan redoes the query, keeping its look-up count on record.
    private func abandonProbe() {
        let lookups = stats.lookups
        resetScratch()
        stats.lookups = lookups
        stats.switchedToScan = true
    }

    private func scanRange(_ query: UnsafeRawPointer, radius r: Int, deferScan: Bool) -> Bool {
        stats.path = .scan
        stats.candidates += count
        if deferScan { return false }
        let state = ScanQuery(.range(r), bits: bits, orderedRows: sealed.rows)
        scan([query], [state])
        hits.assign(state.hits)
        return true
    }

    /// Exact k nearest neighbours: on return, ``hits`` holds every code with distance ≤ the
    /// returned bound, and at least min(k, N) of them. Grows the substring radius s = 0, 1, …
    /// table by table and stops by the last-chance rule; switches to a scan when the next step
    /// would cost more than scanning (unless `choice` forces a path). No radius cap.
    /// - Parameter deferScan: instead of scanning, return nil (with ``stats`` describing the
    ///   probe given up, if any) so that the caller scans this query together with others.
    func nearest(_ query: UnsafeRawPointer, k: Int, choice: PathChoice, model: CostModel,
                 deferScan: Bool = false) throws -> Int? {
        let model = measured(model)
        let layout = self.layout
        let m = layout.count, B = bits
        let need = min(k, count)
        if need == 0 { stats.radiusReached = B; return B }
        if choice == .scan { return scanNearest(query, k: need, deferScan: deferScan) }
        // Measured costs in use: skip the attempt where this reader's recent attempts say it
        // would most likely be abandoned for a scan anyway.
        if choice == .automatic && model.adaptsToMeasurements && probeHistory.skipsProbe(k: need) {
            return scanNearest(query, k: need, deferScan: deferScan)
        }
        let planner = QueryPlanner(layout: layout, rows: rows, codeBytes: codeBytes, hasDelta: hasDelta, model: model)
        var countAt = [Int](repeating: 0, count: B + 1)
        var covered = -1          // distances 0…covered are proven complete
        var within = 0            // hits with distance ≤ covered
        var spent = 0.0
        var committed = false     // the remaining steps were costed below a scan: finish probing
        var wideLookups = 0, wideRows = 0   // look-ups and rows of the steps with s ≥ 1
        loadSubstrings(of: query)
        let values = queryValues
        // Any order of the tables proves the same radius (after t + 1 tables of step s every
        // code within s·m + t is found, whichever tables they were): see the order below.
        orderTablesByOwnBucket(need: need)
        let order = tableOrder
        let widest = layout.widths.max()!
        var s = 0
        while true {
            for position in 0..<m {
                let j = order[position]
                let b = layout.widths[j]
                if s <= b {
                    let before = hits.count
                    let lookupsBefore = stats.lookups, rowsBefore = stats.candidates + stats.duplicates
                    if choice == .automatic {
                        // The step's look-ups must fit what probing may still spend, and then so
                        // must the rows they located: a full bucket sends the query to a scan
                        // before one of its rows is read.
                        let allowance = planner.nearestAllowance(committed: committed)
                        let lookupCost = model.probeCost(lookups: HammingBall.binomial(b, s), candidates: 0, delta: hasDelta)
                        if spent + lookupCost > allowance {
                            abandonProbe()
                            return scanNearest(query, k: need, deferScan: deferScan)
                        }
                        keys.removeAll()
                        locatedRanges.removeAll()
                        appendBallKeys(value: values[j], width: b, weights: s...s)
                        var located = Double(locate(table: j, keys: 0..<keys.count))
                        if hasDelta { located += deltaRowsEstimate(lookups: keys.count, width: b) }
                        spent += lookupCost
                        let verifyCost = model.probeCost(lookups: 0, candidates: located)
                        if spent + verifyCost > planner.nearestAllowance(committed: committed, located: true) {
                            abandonProbe()
                            return scanNearest(query, k: need, deferScan: deferScan)
                        }
                        spent += verifyCost
                        try verifyLocated(table: j, keys: 0..<keys.count, ranges: 0..<locatedRanges.count, query: query, limit: B)
                    } else {
                        try probeBall(table: j, value: values[j], width: b, weights: s...s, query: query, limit: B)
                    }
                    try checkDamage()
                    if s > 0 {
                        wideLookups += stats.lookups - lookupsBefore
                        wideRows += stats.candidates + stats.duplicates - rowsBefore
                    }
                    // The step's new hits, counted by distance.
                    for h in UnsafeBufferPointer(start: hits.base + before, count: hits.count - before) {
                        countAt[Int(h.distance)] += 1
                        if Int(h.distance) <= covered { within += 1 }
                    }
                }
                // After step (s, position) every code at distance ≤ s·m + position has been
                // found: an unfound one differs by > s in the position + 1 tables visited at
                // weight s and by > s−1 in the others.
                let bound = min(s * m + position, B)
                while covered < bound { covered += 1; within += countAt[covered] }
                if within >= need || stats.candidates == count {
                    let radius = stats.candidates == count ? B : bound
                    stats.radiusReached = radius
                    return radius
                }
                // With k candidates in hand, the k-th smallest distance among them bounds the
                // radius still needed: cost the steps up to it, and commit to probing if that is
                // below a scan. If not, probing goes on within the uncommitted allowances (the
                // first candidates bound the radius loosely; later steps tighten it), and the
                // check is made again after every step.
                if choice == .automatic && !committed && stats.candidates >= need {
                    var seen = 0, kth = 0
                    while kth <= B { seen += countAt[kth]; if seen >= need { break }; kth += 1 }
                    // Rows per look-up seen past the query's own buckets (s ≥ 1): on clustered and
                    // learned codes those are far fuller than their neighbours, so they would
                    // overstate what the next steps cost (until then, the uniform estimate).
                    let observed = wideLookups > 0 ? Double(wideRows) / Double(wideLookups) : 0
                    // The answer's radius lies past `covered` and at most at `kth`, which only
                    // shrinks as probing goes on: the estimate runs to the middle of that range
                    // (a committed probe still stops at one scan's worth of spending, below).
                    let likely = (covered + 1 + kth + 1) / 2
                    let remaining = planner.nearestRemainingCost(afterWeight: s, table: position, radius: likely, observed: observed)
                    if remaining <= planner.scanCost { committed = true }
                }
            }
            s += 1
            if s > widest + 1 {
                // Every code is found by then in an intact index: postings must be missing.
                throw HashIdxError.corrupt("the substring tables list \(stats.candidates) of \(count) codes")
            }
        }
    }

    /// Orders the tables for a k-nearest query into ``tableOrder``: first the least crowded own
    /// bucket that holds at least `need` rows, then the others by ascending rows (ties in table
    /// order). A stored copy of the query, or a code near it, lies in every table's own bucket,
    /// so the least crowded finds it for the fewest rows; and once `need` candidates are in,
    /// their k-th distance bounds the radius, so the planner can commit to probing before it
    /// meets a crowded bucket (which, uncommitted, sends the query to a scan). Rows are those
    /// of the sealed postings (rows written since the last merge are not counted).
    private func orderTablesByOwnBucket(need: Int) {
        let m = layout.count, cellLo = self.cellLo, cellHi = self.cellHi
        findOwnBuckets { _ in true }
        // Table t's own bucket holds cellHi[t] − cellLo[t] rows (found just above).
        for j in 0..<m {
            let rows = cellHi[j] - cellLo[j]
            var p = j
            while p > 0 && cellHi[tableOrder[p - 1]] - cellLo[tableOrder[p - 1]] > rows { tableOrder[p] = tableOrder[p - 1]; p -= 1 }
            tableOrder[p] = j
        }
        var first = 0
        while first < m && cellHi[tableOrder[first]] - cellLo[tableOrder[first]] < need { first += 1 }
        if first > 0 && first < m {
            let t = tableOrder[first]
            for p in stride(from: first, to: 0, by: -1) { tableOrder[p] = tableOrder[p - 1] }
            tableOrder[0] = t
        }
    }

    /// k nearest by a scan that keeps only distances ≤ a shrinking limit (see ``ScanQuery``).
    private func scanNearest(_ query: UnsafeRawPointer, k: Int, deferScan: Bool) -> Int? {
        stats.path = .scan
        stats.candidates += count
        if deferScan { return nil }
        let state = ScanQuery(.nearest(k), bits: bits, orderedRows: sealed.rows)
        scan([query], [state])
        hits.assign(state.hits)
        stats.radiusReached = state.limit
        return state.limit
    }
}
