import ArgumentParser
import Foundation
import HashData
import HashEval
import HashIdx
import Hamming

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retrieval quality of codes: tie-aware and classic mAP, mAP@K, P@N, R@N, precision within radius.",
        usage: "hashidx eval (--database <codes.npy> | --index <index>)\n  --queries <codes.npy> --database-labels <file> --query-labels <file>\n  [<options>]",
        discussion: """
        Codes are uint8 .npy arrays of shape (N, ⌈B/8⌉) (as 'hashidx encode --output-format npy' \
        writes) or an index (--index, ids = database positions). Relevant = same label. With \
        --index, precision within --radius comes from real range queries on the index.
        """)

    @Option(name: .long, help: "Database codes (.npy).") var database: String?
    @Option(name: .long, help: "An index whose ids are database positions 0…N−1.") var index: String?
    @Option(name: .long, parsing: .unconditional, help: "Query codes (.npy).") var queries: String
    @Option(name: .long, parsing: .unconditional, help: "Code width B in bits (default: 8 × bytes per code, or the index's).") var bits: Int?
    @Option(name: .long, help: "Database labels (IDX, .npy or text).") var databaseLabels: String
    @Option(name: .long, parsing: .unconditional, help: "Query labels (IDX, .npy or text).") var queryLabels: String
    @Option(name: .long, parsing: .unconditional, help: "Radius for the headline precision (inclusive).") var radius: Int = 2
    @Option(name: .long, parsing: .unconditional, help: "Cutoffs N for P@N, R@N and mAP@N, comma-separated.") var cutoffs: String = "100,1000"
    @Option(name: .long, help: "Output format: text or json.") var format: OutputFormat = .text
    @OptionGroup var verbosity: VerbosityOptions
    @Option(name: .long, help: "Write the precision–recall curve by radius as SVG.") var svg: String?

    /// `eval --format json`: every field of the report, and the headline precision at --radius
    /// (from real range queries with --index).
    struct Summary: Encodable {
        var report: EvaluationReport
        var radius: Int
        var precisionAtRadius: Double
        var emptyAtRadius: Double
        var seconds: Double

        private enum Keys: String, CodingKey { case radius, precisionAtRadius, emptyAtRadius, seconds }

        func encode(to encoder: any Encoder) throws {
            try report.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(radius, forKey: .radius)
            try c.encode(precisionAtRadius, forKey: .precisionAtRadius)
            try c.encode(emptyAtRadius, forKey: .emptyAtRadius)
            try c.encode(seconds, forKey: .seconds)
        }
    }

    func validate() throws {
        guard (database == nil) != (index == nil) else { throw ValidationError("give exactly one of --database CODES or --index INDEX") }
        guard radius >= 0 else { throw ValidationError("--radius must be at least 0, found \(radius)") }
        _ = try Self.cutoffs(cutoffs)
    }

    func run() throws {
        let dbLabels = try VectorFile.readLabels(databaseLabels).map { [$0] }
        let qLabels = try VectorFile.readLabels(queryLabels).map { [$0] }
        var width = bits
        var dbCodes: [UInt8]
        var opened: HashIndex?
        if let index {
            let idx = try HashIndex.open(at: index, mode: .readOnly)
            width = idx.bits
            do { dbCodes = try Evaluation.databaseCodes(index: idx) } catch let e as EvaluationError {
                throw DataError(file: index, e.description)
            }
            opened = idx
        } else {
            width = try width ?? columns(database!) * 8
            dbCodes = try Self.packed(CodeInput(path: database!, bits: width!, format: .npy))
        }
        let codeBytes = (width! + 7) / 8
        let q = try CodeInput(path: queries, bits: width!, format: .npy)
        let qCodes = try Self.packed(q)
        guard dbLabels.count == dbCodes.count / codeBytes else { throw DataError(file: databaseLabels, "expected \(dbCodes.count / codeBytes) labels, found \(dbLabels.count)") }
        guard qLabels.count == q.count else { throw DataError(file: queryLabels, "expected \(q.count) labels, found \(qLabels.count)") }
        guard radius <= width! else { throw ValidationError("--radius must be at most \(width!), found \(radius)") }
        let cut = try Self.cutoffs(cutoffs)
        let start = Date()
        let progress = verbosity.progress("evaluating", total: q.count)
        let report = Evaluation.evaluate(database: dbCodes, databaseLabels: dbLabels, queries: qCodes, queryLabels: qLabels, bits: width!,
                                         cutoffs: cut, progress: { [progress] done in progress.update(to: done) })
        progress.finish()
        var precision = report.precisionWithinRadius[radius], empty = report.emptyWithinRadius[radius]
        if let opened {
            let codes = try PackedCodes.codes(qCodes, bits: width!, file: queries)
            (precision, empty) = try Evaluation.precisionWithinRadius(index: opened, queries: codes, queryLabels: qLabels, databaseLabels: dbLabels, radius: radius)
        }
        let seconds = Date().timeIntervalSince(start)
        if !verbosity.quiet { diagnose("evaluated \(q.count) queries against \(dbLabels.count) codes in \(String(format: "%.2f", seconds)) s") }
        if let svg { try AtomicOutputFile.write(Array(try LinePlot.precisionRecall(report, name: URL(fileURLWithPath: index ?? database ?? "codes").lastPathComponent).svg().utf8), to: svg) }
        switch format {
        case .json, .jsonl:
            try emitJSON(Summary(report: Self.tidy(report), radius: radius, precisionAtRadius: Self.tidy(precision),
                                 emptyAtRadius: Self.tidy(empty), seconds: jsonSeconds(seconds)))
        case .text:
            try emit(String(format: "mAP (tie-aware)      %.4f", report.meanAveragePrecisionTieAware))
            try emit(String(format: "mAP (ties by index)  %.4f", report.meanAveragePrecision))
            for k in cut { try emit(String(format: "mAP@%-6d           %.4f", k, report.meanAveragePrecisionAt[k]!)) }
            for k in cut { try emit(String(format: "P@%-6d R@%-6d    %.4f  %.4f", k, k, report.precisionAt[k]!, report.recallAt[k]!)) }
            try emit(String(format: "P@r≤%d                %.4f  (%.1f%% of queries retrieve nothing)", radius, precision, 100 * empty))
        }
    }

    private func columns(_ path: String) throws -> Int {
        let h = try NpyHeader.parse(try InputFile(path: path).read(upTo: 65536 + 12), file: path)
        guard h.shape.count == 2, (1...128).contains(h.shape[1]) else {
            throw DataError(file: path, "expected packed codes of shape (N, 1…128 bytes), found shape \(h.shape)")
        }
        return h.shape[1]
    }

    /// A mean for JSON, rounded to 12 decimals: `0.86097`, not the `0.8609700000000029` that
    /// summing a thousand per-query values leaves.
    static func tidy(_ x: Double) -> Double { (x * 1e12).rounded() / 1e12 }

    static func tidy(_ r: EvaluationReport) -> EvaluationReport {
        var t = r
        t.meanAveragePrecisionTieAware = tidy(r.meanAveragePrecisionTieAware)
        t.meanAveragePrecision = tidy(r.meanAveragePrecision)
        t.meanAveragePrecisionAt = r.meanAveragePrecisionAt.mapValues(tidy)
        t.precisionAt = r.precisionAt.mapValues(tidy)
        t.recallAt = r.recallAt.mapValues(tidy)
        t.precisionWithinRadius = r.precisionWithinRadius.map(tidy)
        t.recallWithinRadius = r.recallWithinRadius.map(tidy)
        t.emptyWithinRadius = r.emptyWithinRadius.map(tidy)
        return t
    }

    /// Every code of `input`, packed back to back.
    static func packed(_ input: CodeInput) throws -> [UInt8] {
        var out: [UInt8] = []
        try input.forEachBatch(of: 1 << 20) { _, p in out += p }
        return out
    }

    /// Parses `--cutoffs`: positive integers separated by commas.
    static func cutoffs(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [Int] = []
        for p in parts {
            guard let n = Int(p), n >= 1 else {
                throw ValidationError("--cutoffs must be positive integers separated by commas, like 100,1000; found '\(p)' in '\(text)'")
            }
            out.append(n)
        }
        return out
    }
}
