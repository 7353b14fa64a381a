import ArgumentParser
import Foundation
import HashData
import HashEval
import Hamming

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
        let file = spec == "-" ? "standard input" : spec
        let plot: LinePlot
        do { plot = try decoder.decode(LinePlot.self, from: Data(bytes)) } catch {
            throw DataError(file: file, "not a plot description: \(explainJSON(error, document: "the description"))")
        }
        let svg: String
        do { svg = try plot.svg() } catch { throw DataError(file: file, error.description) }
        try AtomicOutputFile.write(Array(svg.utf8), to: output)
    }
}
