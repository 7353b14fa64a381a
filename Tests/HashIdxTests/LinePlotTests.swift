import Testing
@testable import HashEval

@Suite struct LinePlotTests {
    /// Round ticks, and no endless loop or crash on spans the values cannot resolve.
    @Test func ticksAreRoundAndBounded() throws {
        #expect(LinePlot.ticks(0, 1) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        #expect(LinePlot.ticks(16, 64) == [20, 30, 40, 50, 60])
        #expect(LinePlot.ticks(1e300, 1e300 + 1e284).count <= 13)
        #expect(LinePlot.ticks(-1e308, 1e308) == [-1e308, 1e308])
        let plot = LinePlot(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "a", x: [1e300, 1e300 + 1e284], y: [-1e308, 1e308])])
        #expect(try plot.svg().hasPrefix("<svg"))
        #expect(throws: LinePlot.Invalid.self) { try LinePlot(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "a", x: [1], y: [])]).svg() }
    }
}
