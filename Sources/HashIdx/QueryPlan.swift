import Foundation
import Hamming

// Symbols follow the multi-index-hashing papers, inside this file only: m substrings of widths
// b_k, radius r = m·r' + a (0 ≤ a < m), substring radius s, N rows.

/// What the planner knows before touching the index: the substring layout, the number of rows,
/// whether rows written since the last merge exist (their look-ups cost a B-tree search), and the
/// cost model. Decisions are pure functions of these, so they are tested without LMDB.
struct QueryPlanner: Equatable {
    let layout: SubstringLayout
    let rows: Int
    let codeBytes: Int
    let hasDelta: Bool
    let model: CostModel

    /// The cost of scanning every row once.
    var scanCost: Double { model.scanCost(count: rows, codeBytes: codeBytes) }

    /// What a range plan depends on besides the layout (fixed for a reader): a reader reuses
    /// its last plan while these stay the same, as they do over a batch.
    struct RangePlanKey: Equatable {
        var rows: Int
        var hasDelta: Bool
        var radius: Int
        var choice: PathChoice
        var model: CostModel
    }

    /// A range query's plan: the substring radius of each table (−1: not probed) by the
    /// pigeonhole rule, the estimated probe cost, and the path.
    struct RangePlan: Equatable {
        var substringRadii: [Int]
        var probeCost: Double
        var scanCost: Double
        var path: SearchPath
    }

    /// r = m·r' + a: a + 1 tables are probed at radius r', the other m − a − 1 at r' − 1. The
    /// a + 1 narrowest (the last ones) get the larger radius: fewer masks for the same proof.
    /// If every probe of that plan misses, the distance is at least (a+1)(r'+1) + (m−a−1)r' = r + 1.
    func range(radius r: Int, choice: PathChoice) -> RangePlan {
        let m = layout.count
        let rPrime = r / m, a = r % m
        let radii = (0..<m).map { k in k >= m - (a + 1) ? rPrime : rPrime - 1 }
        var estimate = 0.0
        for k in 0..<m {
            let volume = HammingBall.volume(width: layout.widths[k], radius: radii[k])
            estimate += model.probeCost(lookups: volume, candidates: volume * Double(rows) / exp2(Double(layout.widths[k])),
                                        delta: hasDelta)
        }
        let scan = scanCost
        let path: SearchPath = choice == .scan || (choice == .automatic && estimate > scan) ? .scan : .probe
        return RangePlan(substringRadii: radii, probeCost: estimate, scanCost: scan, path: path)
    }

    /// Estimated cost of the k-NN step that probes table j (width b) with every mask of weight s,
    /// given the candidates per look-up seen so far (`observed`, 0 before the first look-up).
    func nearestStepCost(width b: Int, weight s: Int, observed: Double) -> Double {
        nearestShellCost(lookups: HammingBall.binomial(b, s), width: b, observed: observed)
    }

    /// ``nearestStepCost(width:weight:observed:)`` for a shell of `lookups` keys (C(b, s), which
    /// the caller may have at hand): each key's look-up and the rows estimated under it — the
    /// uniform rows per key of a b-bit table, or `observed` if more.
    @inline(__always)
    func nearestShellCost(lookups: Double, width b: Int, observed: Double) -> Double {
        let perLookup = max(Double(rows) * Double(sign: .plus, exponent: -b, significand: 1), observed)
        return model.probeCost(lookups: lookups, candidates: lookups * perLookup, delta: hasDelta)
    }

    /// What a k-NN probe may spend in all before it scans instead. Look-ups (`located` false):
    /// the model's share of a scan until the remaining steps were costed below a scan
    /// (`committed`), then one scan. Rows already located (`located` true) are a known cost, not
    /// a guess: a quarter of a scan until committed — or `finishing`, the share of recent
    /// attempts that finished, if larger (verifying X rows, then scanning if the probe cannot
    /// finish, beats scanning at once when X < P(finish) × a scan) — then one scan. Bounds the
    /// worst case at about two scans while near queries finish by probing. (Half a scan let queries whose own
    /// buckets are crowded verify them, then scan anyway: 1.2–1.4× the better path on
    /// Fashion-MNIST ITQ codes, where a scan of 69,000 codes costs about 10 µs.)
    func nearestAllowance(committed: Bool, located: Bool = false, finishing: Double = 0) -> Double {
        scanCost * (committed ? 1 : located ? max(0.25, model.nearestProbeBudget, min(finishing, 1)) : model.nearestProbeBudget)
    }
}

