import Testing
import Hamming
@testable import HashIdx

/// The planner's decisions as pure values: the pigeonhole plan, the cost comparison and the kNN
/// budget, with no index behind them.
@Suite struct PlannerTests {
    func planner(bits: Int, m: Int, rows: Int, delta: Bool = false, model: CostModel = CostModel()) throws -> QueryPlanner {
        QueryPlanner(layout: try SubstringLayout(bits: bits, substringCount: m), rows: rows, codeBytes: (bits + 7) / 8,
                     hasDelta: delta, model: model)
    }

    /// For every r the plan's radii satisfy the pigeonhole bound: a code missed by every probe
    /// differs by more than s_k in each table k, so by at least Σ (s_k + 1) = r + 1 in all.
    @Test(arguments: [(64, 3), (64, 4), (13, 3), (256, 13), (100, 7)])
    func pigeonholeRadiiCoverExactlyTheRadius(bits: Int, m: Int) throws {
        let p = try planner(bits: bits, m: m, rows: 1_000_000)
        for r in 0...bits {
            let radii = p.range(radius: r, choice: .probe).substringRadii
            #expect(radii.count == m)
            #expect(radii.reduce(0) { $0 + $1 + 1 } == r + 1, "r=\(r): \(radii)")
            #expect(radii.max()! - radii.min()! <= 1)
            // The larger radius goes to the narrower (last) substrings.
            #expect(radii == radii.sorted(), "r=\(r): \(radii)")
        }
    }

    @Test func smallRadiiProbeAndLargeOnesScan() throws {
        let p = try planner(bits: 64, m: 3, rows: 1_000_000)
        #expect(p.range(radius: 0, choice: .automatic).path == .probe)
        #expect(p.range(radius: 2, choice: .automatic).path == .probe)
        #expect(p.range(radius: 16, choice: .automatic).path == .scan)
        #expect(p.range(radius: 16, choice: .probe).path == .probe)
        #expect(p.range(radius: 0, choice: .scan).path == .scan)
        // The estimate grows with r; the scan cost does not depend on r.
        let costs = (0...12).map { p.range(radius: $0, choice: .probe).probeCost }
        #expect(costs == costs.sorted())
        #expect(p.range(radius: 3, choice: .probe).scanCost == p.scanCost)
        // A tiny index always scans: probing cannot beat reading a handful of codes.
        #expect(try planner(bits: 64, m: 3, rows: 10).range(radius: 4, choice: .automatic).path == .scan)
    }

    @Test func deltaLookupsMakeProbingDearer() throws {
        let sealed = try planner(bits: 64, m: 3, rows: 1_000_000)
        let recent = try planner(bits: 64, m: 3, rows: 1_000_000, delta: true)
        #expect(recent.range(radius: 4, choice: .probe).probeCost > sealed.range(radius: 4, choice: .probe).probeCost)
        #expect(recent.nearestStepCost(width: 21, weight: 1, observed: 0) > sealed.nearestStepCost(width: 21, weight: 1, observed: 0))
    }

    @Test func nearestBudgetIsAShareOfTheScan() throws {
        var model = CostModel()
        model.nearestProbeBudget = 0.1
        let p = try planner(bits: 64, m: 3, rows: 1_000_000, model: model)
        #expect(p.nearestAllowance(committed: false) == p.scanCost * 0.1)
        #expect(p.nearestAllowance(committed: true) == p.scanCost)
        // Rows already located are a known cost: a quarter of a scan before committing.
        #expect(p.nearestAllowance(committed: false, located: true) == p.scanCost * 0.25)
        #expect(p.nearestAllowance(committed: true, located: true) == p.scanCost)
        // Weight-s steps cost C(b, s) look-ups; observed candidates per look-up raise the estimate.
        #expect(p.nearestStepCost(width: 21, weight: 2, observed: 0) > p.nearestStepCost(width: 21, weight: 1, observed: 0))
        #expect(p.nearestStepCost(width: 21, weight: 1, observed: 50) > p.nearestStepCost(width: 21, weight: 1, observed: 0))
    }

    @Test func calibrationMeasuresAPositiveScanCost() {
        let model = CostModel().calibrated(kernel: DistanceKernel(codeBytes: 8))
        #expect(model.scanMicrosecondsPerCode > 0 && model.scanMicrosecondsPerCode < 0.01)
        #expect(model.lookupMicroseconds == CostModel().lookupMicroseconds)
    }
}

extension PlannerTests {
    /// A k-NN probe's allowance for rows it has located grows with its reader's finish rate:
    /// a quarter of a scan at least, one scan at most; look-ups keep their share.
    @Test func locatedRowsAllowanceFollowsTheFinishRate() throws {
        let p = try planner(bits: 64, m: 3, rows: 1_000_000)
        let quarter = p.nearestAllowance(committed: false, located: true)
        #expect(abs(quarter - p.scanCost * max(0.25, p.model.nearestProbeBudget)) < 1e-9)
        #expect(p.nearestAllowance(committed: false, located: true, finishing: 0.1) == quarter)
        #expect(abs(p.nearestAllowance(committed: false, located: true, finishing: 0.9) - 0.9 * p.scanCost) < 1e-9)
        #expect(abs(p.nearestAllowance(committed: false, located: true, finishing: 3) - p.scanCost) < 1e-9)
        #expect(p.nearestAllowance(committed: false, finishing: 0.9) == p.nearestAllowance(committed: false), "look-ups keep their share")
    }
}

/// The measured costs the planner uses: medians of recent samples, so one slow query does not
/// stand for the index.
@Suite struct CostEstimateTests {
    @Test func medianOfTheLastEightSamples() {
        var e = CostEstimate()
        #expect(e.value == nil)
        e.add(3)
        #expect(e.value == 3)
        e.add(1)
        #expect(e.value == 2)
        for x in [5.0, 2, 4] { e.add(x) }
        #expect(e.value == 3)   // 1 2 3 4 5
        // Past eight samples the oldest go: eight 10s leave no trace of the first five.
        for _ in 0..<8 { e.add(10) }
        #expect(e.value == 10)
        e.add(-1)
        e.add(.nan)
        #expect(e.value == 10, "negative and non-finite samples are dropped")
    }

    /// A page-faulting first query (a thousand times the usual cost) is forgotten as soon as
    /// most of the last eight samples are ordinary, where a moving average would carry it.
    @Test func aSpikeIsForgottenAfterAFewOrdinarySamples() {
        var e = CostEstimate()
        var average: Double?
        e.add(100)
        average = Reader.average(average, 100)
        for _ in 0..<5 {
            e.add(0.1)
            average = Reader.average(average, 0.1)
        }
        #expect(e.value == 0.1)
        #expect(average! > 50)
    }
}
