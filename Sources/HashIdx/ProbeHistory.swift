/// What one reader's recent k-nearest probe attempts cost, for one k: how often a probe
/// finished, what a finished probe cost, what an abandoned one spent before its scan, and what a
/// scan costs, as moving averages. A batch asks one k of many similar queries: once a few
/// attempts are known, a query goes straight to a scan when the expected saving of an attempt,
/// P(finish) × (scan − finished probe), is below its expected waste, (1 − P(finish)) × spent
/// before giving up. Every ``explore``-th such query attempts anyway, so the averages follow the
/// queries when they change. The answer is exact either way; only the path differs.
struct ProbeHistory {
    /// The k the averages are for; another k starts afresh.
    private(set) var k = 0
    private var attempts = 0
    /// Moving average of 1 for a probe that finished, 0 for one abandoned (a neutral start).
    private var finishing = 0.5
    /// Microseconds: a finished probe, the time an abandoned one spent, a scan (per query).
    private var finishedCost: Double?
    private var abandonedCost: Double?
    private var scanCost: Double?
    /// Queries sent straight to a scan since the last attempt.
    private var skipped = 0

    /// Attempts needed before a query may skip probing.
    static let evidence = 8
    /// Of the queries that would skip probing, every this many attempts anyway.
    static let explore = 8

    /// Whether the next query with `k` should scan without attempting a probe.
    mutating func skipsProbe(k: Int) -> Bool {
        if k != self.k { self = ProbeHistory(); self.k = k; return false }
        guard attempts >= ProbeHistory.evidence, let abandoned = abandonedCost, let scan = scanCost else { return false }
        // No probe finished yet: its cost is unknown, taken as nothing (the case for attempting).
        let saving = finishing * (scan - (finishedCost ?? 0)), waste = (1 - finishing) * abandoned
        if saving >= waste || skipped + 1 >= ProbeHistory.explore {
            skipped = 0
            return false
        }
        skipped += 1
        return true
    }

    /// How often recent attempts with `k` finished by probing (0 until ``evidence`` attempts).
    func finishRate(k: Int) -> Double {
        k == self.k && attempts >= ProbeHistory.evidence ? finishing : 0
    }

    /// Records an attempt with `k` that finished by probing or was abandoned for a scan, and
    /// the time it took (for an abandoned one: before its scan).
    mutating func attempted(k: Int, finished: Bool, microseconds: Double) {
        guard k == self.k else { return }
        attempts += 1
        // A fifth for the newest: a handful of explored attempts that finish ends a run of skips.
        finishing = 0.8 * finishing + (finished ? 0.2 : 0)
        // A query preempted or faulting pages would hold a skip in place for many queries:
        // one sample counts for at most two scans (the planner abandons a probe within about
        // one scan's spending).
        let sample = min(microseconds, 2 * (scanCost ?? microseconds))
        if finished { finishedCost = Reader.average(finishedCost, sample) }
        else { abandonedCost = Reader.average(abandonedCost, sample) }
    }

    /// Records what a query with `k` answered by a scan cost.
    mutating func scanned(k: Int, microseconds: Double) {
        guard k == self.k else { return }
        scanCost = Reader.average(scanCost, microseconds)
    }
}
