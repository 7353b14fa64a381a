import ArgumentParser
import Foundation
import HashData
import HashEval

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw a line chart (SVG) from a JSON description.",
        usage: "hashidx plot <spec.json> --output <file.svg>",
        discussion: """
            The JSON holds "title", "x_label", "y_label" and "series": a list of {"name", "x", \
            "y", optional "labels"}; optional "x_range", "y_range" ([low, high]) and "x_ticks". \
            The same plotter draws 'eval --svg'.
            """)

    @Argument(help: "The plot description (JSON); - for standard input.")
    var spec: String
    @Option(name: .long, help: "Where to write the SVG.")
    var output: String

    func run() throws {
        let bytes = try InputFile.contents(of: spec == "-" ? "/dev/stdin" : spec)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let plot: LinePlot
        do { plot = try decoder.decode(LinePlot.self, from: Data(bytes)) } catch {
            throw DataError(file: spec == "-" ? "standard input" : spec, "not a plot description: \(describe(error))")
        }
        let svg: String
        do { svg = try plot.svg() } catch { throw DataError(file: spec == "-" ? "standard input" : spec, error.description) }
        try AtomicOutputFile.write(Array(svg.utf8), to: output)
    }

    private func describe(_ error: any Error) -> String {
        guard let e = error as? DecodingError else { return "not valid JSON" }
        switch e {
        case .keyNotFound(let key, _): return "the field '\(key.stringValue)' is missing"
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            return "'\(c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: "."))' has the wrong type"
        default: return "not valid JSON"
        }
    }
}
