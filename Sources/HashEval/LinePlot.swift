import Foundation

/// A line chart rendered as a standalone SVG document: title, labelled axes with round tick
/// values and grid lines, one coloured line with markers per series, a legend, and optional text
/// labels at chosen points (for example the Hamming radius of each point of a precision–recall
/// curve). `eval --svg`, `hashidx plot` and the benchmark plots all go through it.
public struct LinePlot: Sendable, Codable, Equatable {
    /// One line.
    public struct Series: Sendable, Codable, Equatable {
        public var name: String
        public var x: [Double]
        public var y: [Double]
        /// Text written beside point i when `labels[i]` is not empty (nil: no labels).
        public var labels: [String]?

        public init(name: String, x: [Double], y: [Double], labels: [String]? = nil) {
            self.name = name
            self.x = x
            self.y = y
            self.labels = labels
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Fixed axis ranges; nil: from the data (the y axis starts at 0 unless data go below it).
    public var xRange: [Double]?
    public var yRange: [Double]?
    /// Tick positions for the x axis (nil: round values chosen automatically).
    public var xTicks: [Double]?

    public init(title: String, xLabel: String, yLabel: String, series: [Series],
                xRange: [Double]? = nil, yRange: [Double]? = nil, xTicks: [Double]? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.xRange = xRange
        self.yRange = yRange
        self.xTicks = xTicks
    }

    /// Why a plot cannot be drawn.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Checks that every series has as many x as y values (and labels), all finite.
    public func validate() throws(Invalid) {
        guard !series.isEmpty else { throw Invalid(description: "expected at least one series, found none") }
        for s in series {
            guard s.x.count == s.y.count, !s.x.isEmpty else {
                throw Invalid(description: "series '\(s.name)' has \(s.x.count) x and \(s.y.count) y values; expected the same number, at least 1")
            }
            if let l = s.labels, l.count != s.x.count {
                throw Invalid(description: "series '\(s.name)' has \(l.count) labels for \(s.x.count) points")
            }
            guard (s.x + s.y).allSatisfy(\.isFinite) else { throw Invalid(description: "series '\(s.name)' has a NaN or infinite value") }
        }
        for (name, r) in [("x", xRange), ("y", yRange)] {
            if let r, r.count != 2 || !(r[0] < r[1]) { throw Invalid(description: "the \(name) range must be two increasing numbers, found \(r)") }
        }
    }

    static let colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// Round tick values covering `lo…hi`: steps of 1, 2 or 5 × 10ⁿ, about `count` of them.
    /// Ticks are computed from their index, never by adding steps, so a span below the values'
    /// precision (1e300 to 1e300 + 1e284) cannot loop; an infinite span gives its two ends.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        let span = hi - lo
        guard span > 0 else { return [lo] }
        guard span.isFinite else { return [lo, hi] }
        let raw = span / Double(max(1, count - 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let first = (lo / step).rounded(.up)
        var out: [Double] = []
        for i in 0...(2 * count) {
            let t = (first + Double(i)) * step
            guard t <= hi + step * 1e-9 else { break }
            if out.last != t { out.append(abs(t) < step * 1e-9 ? 0 : t) }
        }
        return out
    }

    /// A tick value without float noise: 0.2, not 0.20000000000000001.
    static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        var s = String(format: "%.6f", v)
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// The SVG document.
    public func svg(width: Double = 640, height: Double = 440) throws(Invalid) -> String {
        try validate()
        let allX = series.flatMap(\.x), allY = series.flatMap(\.y)
        var x0 = xRange?[0] ?? allX.min()!, x1 = xRange?[1] ?? allX.max()!
        var y0 = yRange?[0] ?? min(0, allY.min()!), y1 = yRange?[1] ?? allY.max()!
        if x0 == x1 { x0 -= 1; x1 += 1 }
        if y0 == y1 { y1 = y0 + 1 }
        let yTicks = Self.ticks(y0, y1)
        if yRange == nil { y1 = max(y1, yTicks.last!) }
        let xTicks = self.xTicks ?? Self.ticks(x0, x1)
        let left = 64.0, right = 170.0, top = 44.0, bottom = 56.0
        let plotW = width - left - right, plotH = height - top - bottom
        func sx(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func sy(_ y: Double) -> Double { top + plotH - (y - y0) / (y1 - y0) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            // The title is centred on the whole chart and shrunk to fit its width (about 0.62 em per character).
            "<text x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"\(f(min(15, (width - 16) / (0.62 * Double(max(title.count, 1))))))\" font-weight=\"bold\">\(Self.escape(title))</text>",
        ]
        for t in yTicks where t >= y0 - 1e-12 && t <= y1 + 1e-12 {
            out.append("<line x1=\"\(f(left))\" y1=\"\(f(sy(t)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(sy(t)))\" stroke=\"#e0e0e0\"/>")
            out.append("<text x=\"\(f(left - 8))\" y=\"\(f(sy(t) + 4))\" text-anchor=\"end\">\(Self.format(t))</text>")
        }
        for t in xTicks where t >= x0 - 1e-12 && t <= x1 + 1e-12 {
            out.append("<line x1=\"\(f(sx(t)))\" y1=\"\(f(top))\" x2=\"\(f(sx(t)))\" y2=\"\(f(top + plotH))\" stroke=\"#e0e0e0\"/>")
            out.append("<text x=\"\(f(sx(t)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(Self.format(t))</text>")
        }
        out.append("<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"black\"/>")
        out.append("<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 14))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>")
        out.append("<text x=\"18\" y=\"\(f(top + plotH / 2))\" transform=\"rotate(-90 18 \(f(top + plotH / 2)))\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>")
        for (i, s) in series.enumerated() {
            let colour = Self.colours[i % Self.colours.count]
            let points = zip(s.x, s.y).map { "\(f(sx($0))),\(f(sy($1)))" }.joined(separator: " ")
            out.append("<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>")
            for (x, y) in zip(s.x, s.y) { out.append("<circle cx=\"\(f(sx(x)))\" cy=\"\(f(sy(y)))\" r=\"3\" fill=\"\(colour)\"/>") }
            if let labels = s.labels {
                // A label closer than 28 px to one already written is left out.
                var placed: [(Double, Double)] = []
                for (k, label) in labels.enumerated() where !label.isEmpty {
                    let p = (sx(s.x[k]), sy(s.y[k]))
                    if placed.contains(where: { abs($0.0 - p.0) < 28 && abs($0.1 - p.1) < 14 }) { continue }
                    placed.append(p)
                    out.append("<text x=\"\(f(sx(s.x[k]) + 5))\" y=\"\(f(sy(s.y[k]) - 6))\" fill=\"\(colour)\" font-size=\"10\">\(Self.escape(label))</text>")
                }
            }
            let ly = top + 10 + 20 * Double(i)
            out.append("<line x1=\"\(f(left + plotW + 16))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 40))\" y2=\"\(f(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"/>")
            out.append("<text x=\"\(f(left + plotW + 46))\" y=\"\(f(ly + 4))\">\(Self.escape(s.name))</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// The precision–recall curve of `report` by Hamming radius r = 0…B, with the radius written
    /// at r = 0, 1, 2, 3, 4, 6, 8, and every 4th radius beyond.
    public static func precisionRecall(_ report: EvaluationReport, name: String = "codes") -> LinePlot {
        let labels = (0...report.bits).map { r in r <= 4 || r == 6 || r == 8 || (r > 8 && r % 4 == 0 && r < report.bits) ? "r=\(r)" : "" }
        return LinePlot(title: "Precision and recall within radius r (\(report.bits) bits, \(report.queries) queries)",
                        xLabel: "recall within radius r", yLabel: "precision within radius r (empty = 0)",
                        series: [Series(name: name, x: report.recallWithinRadius, y: report.precisionWithinRadius, labels: labels)],
                        xRange: [0, 1], yRange: [0, 1])
    }
}
