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
    /// returned bound, and at least min(k, N) of them. Grows per-table thresholds one shell at
    /// a time (``nearestByShells(_:need:model:deferScan:)``) and switches to a scan when the
    /// next shell would cost more than scanning; a forced probe grows the tables in turn, as
    /// multi-index hashing does (``nearestInTurn(_:need:)``). No radius cap.
    /// - Parameter deferScan: instead of scanning, return nil (with ``stats`` describing the
    ///   probe given up, if any) so that the caller scans this query together with others.
    func nearest(_ query: UnsafeRawPointer, k: Int, choice: PathChoice, model: CostModel,
                 deferScan: Bool = false) throws -> Int? {
        let model = measured(model)
        let B = bits
        let need = min(k, count)
        if need == 0 { stats.radiusReached = B; return B }
        if choice == .scan { return scanNearest(query, k: need, deferScan: deferScan) }
        // Measured costs in use: skip the attempt where this reader's recent attempts say it
        // would most likely be abandoned for a scan anyway.
        if choice == .automatic && model.adaptsToMeasurements && probeHistory.skipsProbe(k: need) {
            return scanNearest(query, k: need, deferScan: deferScan)
        }
        loadSubstrings(of: query)
        if choice == .automatic { return try nearestByShells(query, need: need, model: model, deferScan: deferScan) }
        return try nearestInTurn(query, need: need)
    }

    /// The automatic k-NN probe, by the generalised pigeonhole principle: table j has verified
    /// its shells 0…τ_j (τ_j = −1: none yet), and every code within Σ (τ_j + 1) − 1 of the
    /// query has then been found — an unfound code differs by more than τ_j in every table j.
    /// Each step verifies one more shell, in whichever table it costs least: multi-index
    /// hashing's turn by turn is one order among many, and on learned codes a query's own
    /// bucket in one table can hold twenty times the rows it holds in another (Fashion-MNIST
    /// ITQ codes: the median query's largest own bucket over its smallest). A shell is compared
    /// at its true size once located (its look-ups made: a directory cell and a short search
    /// each, no row read) and by estimate before; a table's next shell is located when its
    /// estimate is the least, so a crowded shell waits, located, while the other tables' shells
    /// are located and compared with it. The own buckets (shell 0 of every table) are found
    /// together first. The query goes to a scan when the next look-ups or rows would pass what
    /// probing may spend (``QueryPlanner/nearestAllowance(committed:located:finishing:)``).
    private func nearestByShells(_ query: UnsafeRawPointer, need: Int, model: CostModel, deferScan: Bool) throws -> Int? {
        let m = layout.count, B = bits, widths = tableWidths, values = queryValues
        let planner = QueryPlanner(layout: layout, rows: rows, codeBytes: codeBytes, hasDelta: hasDelta, model: model)
        let tables = nearestTables
        var progress = NearestProgress(bits: B)
        var shellsDone = 0        // Σ (τ_j + 1)
        var spent = 0.0
        var committed = false     // the remaining shells were costed below a scan: finish probing
        var open = 0              // located shells not yet verified
        var checkedKth = B + 1, checkedShells = 0   // the last commitment check's bound and shells
        let finishing = model.adaptsToMeasurements ? probeHistory.finishRate(k: need) : 0
        var wideLookups = 0, wideRows = 0   // look-ups and rows located past the own buckets

        // Rows a located shell of table j will verify (sealed rows, and the delta tables' estimate).
        @inline(__always) func rowsToVerify(_ j: Int) -> Double {
            let shell = tables[j].located
            return Double(shell.rows) + (hasDelta ? deltaRowsEstimate(lookups: shell.keys.count, width: widths[j]) : 0)
        }
        // Rows per look-up past the own buckets: table j's own so far, else every table's, else
        // the uniform estimate (in nearestShellCost). Own buckets are left out: on clustered and
        // learned codes they are far fuller than their neighbours.
        @inline(__always) func density(_ j: Int) -> Double {
            if tables[j].wideLookups > 0 { return Double(tables[j].wideRows) / Double(tables[j].wideLookups) }
            return wideLookups > 0 ? Double(wideRows) / Double(wideLookups) : 0
        }
        // The cost of shell w of table j: its rows if it is table j's located next shell, else
        // the estimate of its look-ups and rows (C(b, w) from the reader's table of binomials:
        // this is evaluated m times a step).
        let binomials = self.binomials, shellSlots = Reader.maxShell + 1
        @inline(__always) func shellCost(_ j: Int, _ w: Int) -> Double {
            if w == tables[j].next && tables[j].located.rows >= 0 { return model.probeCost(lookups: 0, candidates: rowsToVerify(j)) }
            let lookups = w <= Reader.maxShell ? binomials[j * shellSlots + w] : HammingBall.binomial(widths[j], w)
            return planner.nearestShellCost(lookups: lookups, width: widths[j], observed: density(j))
        }

        // Every table's own bucket, found together (their cache misses overlap): shell 0, located.
        findOwnBuckets { _ in true }
        keys.removeAll()
        locatedRanges.removeAll()
        for j in 0..<m {
            let first = keys.count, firstRange = locatedRanges.count
            keys.append(values[j])
            let rows = cellHi[j] - cellLo[j]
            if rows > 0 { locatedRanges.append(cellLo[j]); locatedRanges.append(cellHi[j]) }
            tables[j] = NearestTable(next: 0, located: LocatedShell(keys: first..<first + 1, ranges: firstRange..<locatedRanges.count, rows: rows))
        }
        open = m
        // Tables by ascending own bucket: the order ties are broken in. A crowded own bucket
        // says the query sits in a dense region of that table, whose next shells are likely
        // crowded too, while estimates of unlocated shells cannot tell the tables apart.
        sortTablesByOwnBucket()
        let order = tableOrder
        stats.lookups += m
        spent += model.probeCost(lookups: Double(m), candidates: 0, delta: hasDelta)

        while true {
            // The table whose next shell costs least (ties: the smaller own bucket).
            var j = -1, least = Double.infinity
            for p in 0..<m {
                let t = order[p]
                guard tables[t].next <= widths[t] else { continue }
                let c = shellCost(t, tables[t].next)
                if c < least { j = t; least = c }
            }
            // A table past its width has had every key looked up, so every code is found.
            guard j >= 0 else { throw HashIdxError.corrupt("the substring tables list \(stats.candidates) of \(count) codes") }
            let w = tables[j].next
            if tables[j].located.rows < 0 {
                // Locate it (look-ups only) and compare again at its true size.
                let lookupCost = model.probeCost(lookups: HammingBall.binomial(widths[j], w), candidates: 0, delta: hasDelta)
                if spent + lookupCost > planner.nearestAllowance(committed: committed) {
                    abandonProbe()
                    return scanNearest(query, k: need, deferScan: deferScan)
                }
                if open == 0 { keys.removeAll(); locatedRanges.removeAll() }
                let first = keys.count, firstRange = locatedRanges.count
                appendBallKeys(value: values[j], width: widths[j], weights: w...w)
                let rows = locate(table: j, keys: first..<keys.count)
                tables[j].located = LocatedShell(keys: first..<keys.count, ranges: firstRange..<locatedRanges.count, rows: rows)
                open += 1
                spent += lookupCost
                // What this shell holds informs every estimate from now on (were the others
                // estimated sparser than the shells located, each would be located in turn
                // and found as full: look-ups for shells never verified).
                tables[j].wideLookups += keys.count - first
                tables[j].wideRows += rows
                wideLookups += keys.count - first
                wideRows += rows
                continue
            }
            let verifyCost = model.probeCost(lookups: 0, candidates: rowsToVerify(j))
            if spent + verifyCost > planner.nearestAllowance(committed: committed, located: true, finishing: finishing) {
                abandonProbe()
                return scanNearest(query, k: need, deferScan: deferScan)
            }
            spent += verifyCost
            let shell = tables[j].located
            let before = hits.count
            try verifyLocated(table: j, keys: shell.keys, ranges: shell.ranges, query: query, limit: B)
            try checkDamage()
            tables[j].located = .unlocated
            tables[j].next = w + 1
            open -= 1
            shellsDone += 1
            if let radius = nearestStep(&progress, hitsFrom: before, proven: min(shellsDone - 1, B), need: need) { return radius }
            // With k candidates in hand, the k-th smallest distance among them bounds the
            // radius still needed: cost the shells up to it, and commit to probing if that is
            // below a scan. If not, probing goes on within the uncommitted allowances (the
            // first candidates bound the radius loosely; later shells tighten it), and the
            // check is made again when they do.
            if !committed && stats.candidates >= need {
                let kth = progress.kth(need)
                // Costed again when the bound has tightened, or after m more shells.
                guard kth < checkedKth || shellsDone >= checkedShells + m else { continue }
                checkedKth = kth
                checkedShells = shellsDone
                // The answer's radius lies past `covered` and at most at `kth`, which only
                // shrinks as probing goes on: the estimate runs to the middle of that range
                // (a committed probe still stops at one scan's worth of spending, above).
                let likely = (progress.covered + 1 + kth + 1) / 2
                // The cheapest likely − covered shells still to verify, chosen as the steps
                // choose them: each table's next cost is kept (`heads`), so a pick costs one
                // estimate, not m.
                for t in 0..<m {
                    tables[t].trial = tables[t].next
                    tables[t].head = tables[t].trial <= widths[t] ? shellCost(t, tables[t].trial) : .infinity
                }
                var remaining = 0.0
                for _ in 0..<max(0, likely - progress.covered) {
                    var u = -1, c = Double.infinity
                    for p in 0..<m where tables[order[p]].head < c { u = order[p]; c = tables[u].head }
                    if u < 0 { break }
                    remaining += c
                    if remaining > planner.scanCost { break }
                    tables[u].trial += 1
                    tables[u].head = tables[u].trial <= widths[u] ? shellCost(u, tables[u].trial) : .infinity
                }
                if remaining <= planner.scanCost { committed = true }
            }
        }
    }

    /// The forced k-NN probe: the substring radius s = 0, 1, … grows table by table, as in
    /// multi-index hashing, every ball probed whatever it costs, until the last-chance rule
    /// proves the k-th distance.
    private func nearestInTurn(_ query: UnsafeRawPointer, need: Int) throws -> Int {
        let layout = self.layout
        let m = layout.count, B = bits
        var progress = NearestProgress(bits: B)
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
                let b = layout.widths[j], before = hits.count
                if s <= b {
                    try probeBall(table: j, value: values[j], width: b, weights: s...s, query: query, limit: B)
                    try checkDamage()
                }
                // After step (s, position) every code at distance ≤ s·m + position has been
                // found: an unfound one differs by > s in the position + 1 tables visited at
                // weight s and by > s−1 in the others.
                if let radius = nearestStep(&progress, hitsFrom: before, proven: min(s * m + position, B), need: need) { return radius }
            }
            s += 1
            if s > widest + 1 {
                // Every code is found by then in an intact index: postings must be missing.
                throw HashIdxError.corrupt("the substring tables list \(stats.candidates) of \(count) codes")
            }
        }
    }

    /// After a k-NN probe step: counts the hits from `before` on, records that every code
    /// within `bound` has been found, and returns the radius proven if the answer is complete —
    /// `need` hits within it, or every code a candidate (then B) — noting it in ``stats``; nil
    /// if the probe must go on.
    private func nearestStep(_ progress: inout NearestProgress, hitsFrom before: Int, proven bound: Int, need: Int) -> Int? {
        progress.count(UnsafeBufferPointer(start: hits.base + before, count: hits.count - before))
        progress.prove(bound)
        guard progress.within >= need || stats.candidates == count else { return nil }
        let radius = stats.candidates == count ? bits : bound
        stats.radiusReached = radius
        return radius
    }

    /// Sorts ``tableOrder`` by the rows of each table's own bucket, ascending (ties in table
    /// order), as ``findOwnBuckets(_:)`` left them: table t's in cellHi[t] − cellLo[t].
    private func sortTablesByOwnBucket() {
        let cellLo = self.cellLo, cellHi = self.cellHi, order = tableOrder
        for j in 0..<layout.count {
            let rows = cellHi[j] - cellLo[j]
            var p = j
            while p > 0 && cellHi[order[p - 1]] - cellLo[order[p - 1]] > rows { order[p] = order[p - 1]; p -= 1 }
            order[p] = j
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
        sortTablesByOwnBucket()
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

/// What a k-NN probe has proven so far: its hits counted by distance, the radius up to which
/// every code has been found (`covered`, −1: none yet), and how many hits lie within it.
struct NearestProgress {
    private var countAt: [Int]
    private(set) var covered = -1
    private(set) var within = 0

    init(bits: Int) { countAt = [Int](repeating: 0, count: bits + 1) }

    /// Counts new hits by distance.
    mutating func count(_ new: UnsafeBufferPointer<Reader.Hit>) {
        for h in new {
            countAt[Int(h.distance)] += 1
            if Int(h.distance) <= covered { within += 1 }
        }
    }

    /// Every code within `bound` has been found.
    mutating func prove(_ bound: Int) {
        while covered < bound { covered += 1; within += countAt[covered] }
    }

    /// The `need`-th smallest distance among the hits (bits + 1 if there are fewer): the
    /// radius the answer needs is at most this.
    func kth(_ need: Int) -> Int {
        var seen = 0, d = 0
        while d < countAt.count { seen += countAt[d]; if seen >= need { break }; d += 1 }
        return d
    }
}
