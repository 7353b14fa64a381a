import ArgumentParser
import Foundation
import HashData
import HashEncoders
import HashIdxVectors
import HashIdx
import Hamming

extension CodeFormat: ExpressibleByArgument {}

/// Output formats for query and statistics results.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    /// Lines for people.
    case text
    /// One JSON document.
    case json
    /// JSON Lines: one JSON object per query (search and knn only).
    case jsonl
}

/// The JSON encoder of every machine-readable output: snake_case keys, sorted.
func jsonEncoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    e.keyEncodingStrategy = .convertToSnakeCase
    return e
}

/// Writes `value` as one JSON document on standard output.
func emitJSON(_ value: some Encodable) throws {
    try emit(String(decoding: try jsonEncoder().encode(value), as: UTF8.self))
}

/// The index directory argument.
struct IndexArgument: ParsableArguments {
    @Argument(help: "The index directory.")
    var index: String
}

/// Where queries come from: one hex code, or a file of hex codes (one per line, '-' for stdin).
struct QueryOptions: ParsableArguments {
    @Option(name: .long, help: "One query code in hex.")
    var query: String?

    @Option(name: .long, help: "A file of query codes ('-' for standard input): hex lines ('<hex>' or '<id> <hex>'), raw or npy.")
    var queries: String?

    @Option(name: .long, help: "The format of --queries: hex, raw or npy (default: detected from the npy magic or the file name).")
    var queriesFormat: CodeFormat?

    @Option(name: .long, help: "A file of query vectors, encoded with the index's encoder (.fvecs, .bvecs, .npy, IDX).")
    var vectorQueries: String?

    @Option(name: .long, help: "Output format: text, json (one document: an array with one object per query) or jsonl (one object per query and line).")
    var format: OutputFormat = .text

    @Option(name: .long, help: "Force a search path: auto, probe or scan (the answer is the same).")
    var path: PathOption = .auto

    @Option(name: .long, parsing: .unconditional, help: "Worker threads for a file of queries (default: all cores).")
    var threads: Int?

    @Flag(name: .long, help: "Map the whole index into memory before the first query (worth it for large batches).")
    var prefault = false

    func validate() throws {
        guard [query == nil, queries == nil, vectorQueries == nil].filter({ !$0 }).count == 1 else {
            throw ValidationError("give exactly one of --query HEX, --queries FILE or --vector-queries FILE")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, found \(threads)") }
    }

    /// Reads every query code for `index`.
    func load(_ index: HashIndex) throws -> [BinaryCode] {
        if let vectorQueries {
            return try index.encode(vectors: loadVectors(vectorQueries))
        }
        return try load(bits: index.bits)
    }

    /// Reads every query code for an index of `bits` bits.
    func load(bits: Int) throws -> [BinaryCode] {
        if let query {
            do { return [try BinaryCode(hex: query.trimmingCharacters(in: .whitespaces), bits: bits)] } catch {
                throw DataError(file: "--query", error.description)
            }
        }
        return try CodeInput(path: queries!, bits: bits, format: queriesFormat).codes()
    }
}

enum PathOption: String, ExpressibleByArgument, CaseIterable {
    case auto, probe, scan
    var choice: PathChoice {
        switch self {
        case .auto: return .automatic
        case .probe: return .probe
        case .scan: return .scan
        }
    }
}

/// Prints query results in the chosen format.
enum ResultPrinter {
    /// One query's answer as JSON: `{"query", "neighbors": [{"id", "distance"}], "stats": {…}}`.
    struct QueryOutput: Encodable {
        var query: Int
        var neighbors: [Neighbor]
        var stats: QueryStatistics
    }

    static func print(_ results: [SearchResult], format: OutputFormat) throws {
        let encoder = jsonEncoder()
        var out = ""
        out.reserveCapacity(results.count * 64)
        if format == .json { out += "[" }
        for (i, r) in results.enumerated() {
            let s = r.statistics
            switch format {
            case .json, .jsonl:
                let object = String(decoding: try encoder.encode(QueryOutput(query: i, neighbors: r.neighbors, stats: s)), as: UTF8.self)
                out += format == .json ? (i == 0 ? "\n" : ",\n") + object : object + "\n"
            case .text:
                out += "# query \(i): \(r.neighbors.count) result\(r.neighbors.count == 1 ? "" : "s"), path \(s.path.rawValue), "
                out += "\(s.lookups) lookups, \(s.candidates) candidates, \(String(format: "%.6f", s.seconds)) s\n"
                for n in r.neighbors { out += "\(n.id) \(n.distance)\n" }
            }
            if out.utf8.count > 1 << 20 { try StandardStream.output(out); out = "" }
        }
        if format == .json { out += "\n]\n" }
        try StandardStream.output(out)
    }
}

/// What a command reports besides its data: a summary for people on standard error, or one
/// JSON document on standard output for scripts; `--quiet` silences the diagnostics.
struct ReportOptions: ParsableArguments {
    @Option(name: .long, help: "Summary format: text (on standard error) or json (one document on standard output).")
    var format: OutputFormat = .text

    @OptionGroup var verbosity: VerbosityOptions

    var quiet: Bool { verbosity.quiet }
    var progress: Bool { verbosity.progress }

    /// A progress line for `total` items (shown on a terminal, or with --progress; never with --quiet).
    func progress(_ label: String, total: Int?) -> Progress { verbosity.progress(label, total: total) }

    /// Says `line` on standard error unless quiet or the summary is JSON.
    func say(_ line: @autoclosure () -> String) {
        if !quiet && format == .text { diagnose(line()) }
    }

    /// Ends the command: the text line on standard error, or `summary` as JSON on standard output.
    func finish(_ summary: some Encodable, text: @autoclosure () -> String) throws {
        if format == .text {
            if !quiet { diagnose(text()) }
        } else {
            try emitJSON(summary)
        }
    }
}

/// `--quiet` and `--progress`.
struct VerbosityOptions: ParsableArguments {
    @Flag(name: .long, help: "Print nothing but errors (and a JSON summary, if asked for).")
    var quiet = false

    @Flag(name: .long, help: "Show progress on standard error even when it is not a terminal.")
    var progress = false

    /// A progress line for `total` items (shown on a terminal, or with --progress; never with --quiet).
    func progress(_ label: String, total: Int?) -> Progress {
        Progress(label, total: total, forced: progress, quiet: quiet)
    }
}

/// A duration for JSON: rounded to the microsecond, so it prints as `0.039`, not
/// `0.03900000000000009`.
func jsonSeconds(_ seconds: Double) -> Double { (seconds * 1e6).rounded() / 1e6 }

/// Writes a diagnostic line to standard error.
func diagnose(_ message: String) {
    StandardStream.error(message + "\n")
}


/// Writes a line to standard output; a failed write (a full disk, a closed descriptor) throws.
func emit(_ line: String) throws {
    try StandardStream.output(line + "\n")
}
