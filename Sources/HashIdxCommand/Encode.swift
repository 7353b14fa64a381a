import ArgumentParser
import Foundation
import HashData
import HashEncoders
import HashIdxVectors

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode vectors with a trained model.",
        usage: "hashidx encode <model> --input <file> [--output <file>] [<options>]")

    @Argument(help: "The model file.")
    var model: String
    @Option(name: .long, help: "Vectors to encode.")
    var input: String
    @Option(name: .long, help: "Output file (default: standard output).")
    var output: String?
    @Option(name: .long, help: "hex ('<row> <hex>' lines, ready for 'hashidx add' and '--queries'), raw or npy (default: from the --output name, else hex).")
    var outputFormat: CodeFormat?
    @OptionGroup var report: ReportOptions

    /// `encode --format json`.
    struct Summary: Encodable {
        var vectors: Int
        var bits: Int
        var seconds: Double
        var vectorsPerSecond: Double
        var output: String
        var outputFormat: CodeFormat
    }

    func validate() throws {
        if report.format != .text && output == nil {
            throw ValidationError("--format json needs --output FILE: without it, standard output carries the codes")
        }
    }

    func run() throws {
        let encoder = try loadModel(model)
        let start = Date()
        let vectors = try VectorEncoding(path: input, encoder: encoder)
        let n = (encoder.bits + 7) / 8
        let format = outputFormat ?? output.map({ CodeFormat.detect(path: $0, head: []) }) ?? .hex
        // A file is written aside as the batches come and renamed at the end; standard output
        // gets the codes once every vector was read, so a bad vector leaves no partial output.
        let file = try output.map { try AtomicOutputFile(path: $0) }
        var held: [UInt8] = []
        func emit(_ bytes: [UInt8]) throws {
            if let file { try file.write(bytes) } else { held += bytes }
        }
        if format == .npy { try emit(NpyWriter.header(descr: "|u1", shape: [vectors.count, n])) }
        let progress = report.progress("encoding", total: vectors.count)
        try vectors.forEachBatch { rows, packed in
            switch format {
            case .raw, .npy: try emit(packed)
            case .hex: try emit(CodeText.lines(ids: UInt64(rows.lowerBound)..<UInt64(rows.upperBound), packed: packed, codeBytes: n))
            }
            progress.update(to: rows.upperBound)
        }
        progress.finish()
        if let file { try file.commit() } else { try StandardStream.output(bytes: held) }
        let seconds = Date().timeIntervalSince(start)
        let rate = Double(vectors.count) / max(seconds, 1e-9)
        try report.finish(Summary(vectors: vectors.count, bits: encoder.bits, seconds: jsonSeconds(seconds), vectorsPerSecond: rate.rounded(),
                                  output: output ?? "-", outputFormat: format),
                          text: "encoded \(vectors.count) vectors in \(String(format: "%.3f", seconds)) s (\(Int(rate)) vectors/s, reading included)")
    }
}
