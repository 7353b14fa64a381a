import Testing
import Hamming
@testable import HashIdx

/// When a k-nearest query skips its probe attempt, from what recent attempts cost; and that the
/// queries sent straight to a scan answer exactly.
@Suite struct ProbeHistoryTests {
    /// `n` attempts with `k`, each finished by probing or abandoned, at `cost` µs, after one scan.
    func history(k: Int, scan: Double, attempts: [(finished: Bool, cost: Double)]) -> ProbeHistory {
        var h = ProbeHistory()
        _ = h.skipsProbe(k: k)
        h.scanned(k: k, microseconds: scan)
        for a in attempts { h.attempted(k: k, finished: a.finished, microseconds: a.cost) }
        return h
    }

    /// A history of thirty attempts with `k` abandoned after 5 µs each, scans costing 10 µs.
    func abandoning(k: Int) -> ProbeHistory {
        history(k: k, scan: 10, attempts: Array(repeating: (false, 5), count: 30))
    }

    @Test func noSkipBeforeEnoughAttempts() {
        var h = history(k: 10, scan: 10, attempts: Array(repeating: (false, 5), count: ProbeHistory.evidence - 1))
        let skip1 = h.skipsProbe(k: 10)
        #expect(!skip1)
        h.attempted(k: 10, finished: false, microseconds: 5)
        let skip2 = h.skipsProbe(k: 10)
        #expect(skip2)
    }

    @Test func abandonedAttemptsSkipButExploreEveryFewQueries() {
        var h = abandoning(k: 10)
        var decisions: [Bool] = []
        for _ in 0..<(3 * ProbeHistory.explore) { decisions.append(h.skipsProbe(k: 10)) }
        // One attempt in every `explore` queries, the rest skip.
        #expect(decisions.filter { !$0 }.count == 3)
        #expect(decisions.prefix(ProbeHistory.explore - 1).allSatisfy { $0 })
    }

    /// The finish rate that widens a probe's allowance for rows it has located: none before
    /// enough attempts, then the recent share of attempts that finished, for that k only.
    @Test func finishRateFollowsTheAttemptsOfItsK() {
        let few = history(k: 1, scan: 10, attempts: Array(repeating: (true, 2), count: ProbeHistory.evidence - 1))
        #expect(few.finishRate(k: 1) == 0)
        let finishing = history(k: 1, scan: 10, attempts: Array(repeating: (true, 2), count: 30))
        #expect(finishing.finishRate(k: 1) > 0.99)
        #expect(finishing.finishRate(k: 10) == 0, "another k has no history")
        #expect(abandoning(k: 1).finishRate(k: 1) < 0.01)
        let mixed = history(k: 1, scan: 10, attempts: (0..<40).map { ($0 % 2 == 0, 2) })
        #expect(mixed.finishRate(k: 1) > 0.3 && mixed.finishRate(k: 1) < 0.7)
    }

    @Test func probesThatFinishCheaplyAreAlwaysAttempted() {
        var h = history(k: 1, scan: 10, attempts: Array(repeating: (true, 1), count: 30))
        var skips = 0
        for _ in 0..<100 where h.skipsProbe(k: 1) { skips += 1 }
        #expect(skips == 0)
        // Mostly finished: a saving of 9 µs four times in five outweighs 5 µs lost once in five.
        let mixed = (0..<40).map { i in (finished: i % 5 != 0, cost: i % 5 != 0 ? 1.0 : 5.0) }
        var m = history(k: 1, scan: 10, attempts: mixed)
        let skip3 = m.skipsProbe(k: 1)
        #expect(!skip3)
    }

    /// A run of skips ends after a handful of explored attempts that finish cheaply.
    @Test func finishedExplorationsEndASkipRun() {
        var h = abandoning(k: 10)
        let before = h.skipsProbe(k: 10)
        #expect(before)
        for _ in 0..<5 { h.attempted(k: 10, finished: true, microseconds: 1) }
        let after = h.skipsProbe(k: 10)
        #expect(!after)
    }

    @Test func anotherKStartsAfresh() {
        var h = abandoning(k: 10)
        let skip4 = h.skipsProbe(k: 10)
        #expect(skip4)
        let skip5 = h.skipsProbe(k: 100)
        #expect(!skip5)
        // Records for the old k are ignored now.
        for _ in 0..<30 { h.attempted(k: 10, finished: false, microseconds: 5) }
        let skip6 = h.skipsProbe(k: 100)
        #expect(!skip6)
    }

    /// One attempt held up for a millisecond (preempted, page faults) counts as two scans, so
    /// it does not turn a probe that finishes nine times in ten into a skip.
    @Test func oneSlowAttemptDoesNotTipTheBalance() {
        var h = history(k: 1, scan: 10, attempts: Array(repeating: (true, 1), count: 20) + [(false, 1000)])
        let skip7 = h.skipsProbe(k: 1)
        #expect(!skip7)
    }

    /// Far queries on clustered codes: the planner abandons their probes, the history then
    /// sends most of them straight to a scan and lets a few attempt; every answer matches the
    /// oracle, and near queries afterwards are exact and still explored.
    @Test(arguments: [1, 10])
    func skippedQueriesAreExact(k: Int) throws {
        let dir = TemporaryDirectory()
        // Two 32-bit substrings: a ball around a far query is far too wide to enumerate.
        let index = try HashIndex.create(at: dir.path, .init(bits: 64, substringCount: 2))
        let data = dataset(bits: 64, count: 20000, .clustered, seed: 17)
        try index.insert(data)
        var oracle = Oracle()
        oracle.insert(data)
        var rng = SeededRandom(seed: 1017)   // not the data's seed: its first draws are the centres
        let far = (0..<200).map { _ in randomCode(bits: 64, using: &rng) }
        let results = try index.nearest(far, k: k, threads: 1)
        for (q, r) in zip(far, results) { #expect(r.neighbors == oracle.nearest(q, k: k)) }
        let skipped = results.filter { $0.statistics.path == .scan && !$0.statistics.switchedToScan }.count
        let attempted = results.filter { $0.statistics.switchedToScan || $0.statistics.path == .probe }.count
        #expect(skipped > 100, "skipped \(skipped) of \(far.count)")
        #expect(attempted >= far.count / ProbeHistory.explore, "attempted \(attempted)")
        // Stored codes as queries: still exact, and still explored (whether probing wins them
        // back depends on what probes and scans cost on this build and machine).
        let near = (0..<200).map { data[($0 * 13) % data.count].code }
        let again = try index.nearest(near, k: k, threads: 1)
        for (q, r) in zip(near, again) { #expect(r.neighbors == oracle.nearest(q, k: k)) }
        #expect(again.filter { $0.statistics.path == .probe || $0.statistics.switchedToScan }.count >= near.count / ProbeHistory.explore)
    }
}
