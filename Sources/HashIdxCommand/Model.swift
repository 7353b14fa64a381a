import ArgumentParser
import HashData
import HashEncoders
import HashIdxVectors

struct Model: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with encoder model files written by 'hashidx train'.",
        subcommands: [Inspect.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print what a model holds: method, code width, input dimension, training settings, tensor shapes.")

        @Argument(help: "The model file.")
        var model: String

        @Option(name: .long, help: "Output format: text or json.")
        var format: OutputFormat = .text

        func run() throws {
            let bytes = try InputFile.contents(of: model)
            let archive: EncoderArchive
            do { archive = try EncoderArchive.decode(bytes) } catch { throw DataError(file: model, "\(error)") }
            try printSummary(archive.summary, format: format)
        }
    }
}

/// Prints a model summary as text lines or one JSON document.
func printSummary(_ s: EncoderArchive.Summary, format: OutputFormat, indent: String = "") throws {
    if format != .text { return try emitJSON(s) }
    try emit("\(indent)method           \(s.method) (archive version \(s.archiveVersion))")
    try emit("\(indent)bits             \(s.bits)")
    try emit("\(indent)input dimension  \(s.dimension)")
    try emit("\(indent)parameters       \(s.parameters) in \(s.tensors.map { "\($0.name) \($0.rows)×\($0.columns)" }.joined(separator: ", "))")
    for (key, value) in s.settings.sorted(by: { $0.key < $1.key }) {
        try emit("\(indent)setting          \(key) = \(value)")
    }
}
