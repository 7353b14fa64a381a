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
        let x = try loadVectors(input)
        let start = Date()
        let n = (encoder.bits + 7) / 8
        // In batches, with progress; the codes are the same as in one call.
        var packed: [UInt8] = []
        packed.reserveCapacity(x.rows * n)
        let progress = report.progress("encoding", total: x.rows)
        let batch = 16_384
        for first in stride(from: 0, to: x.rows, by: batch) {
            packed += try encoder.encode(x.rows(first..<min(first + batch, x.rows)))
            progress.update(to: min(first + batch, x.rows))
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        let bytes: [UInt8]
        let format = outputFormat ?? output.map({ CodeFormat.detect(path: $0, head: []) }) ?? .hex
        switch format {
        case .raw: bytes = packed
        case .npy: bytes = NpyWriter.file(descr: "|u1", shape: [x.rows, n], data: packed)
        case .hex: bytes = CodeText.lines(ids: 0..<UInt64(x.rows), packed: packed, codeBytes: n)
        }
        if let output { try AtomicOutputFile.write(bytes, to: output) } else { try StandardStream.output(bytes: bytes) }
        let rate = Double(x.rows) / max(seconds, 1e-9)
        try report.finish(Summary(vectors: x.rows, bits: encoder.bits, seconds: jsonSeconds(seconds), vectorsPerSecond: rate.rounded(),
                                  output: output ?? "-", outputFormat: format),
                          text: "encoded \(x.rows) vectors in \(String(format: "%.3f", seconds)) s (\(Int(rate)) vectors/s)")
    }
}
