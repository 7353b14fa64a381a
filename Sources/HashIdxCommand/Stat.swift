import ArgumentParser
import Foundation
import HashData
import HashEncoders
import HashIdxVectors
import HashIdx

/// `stat --format json`: the index statistics, plus the stored encoder's summary if it has one.
struct StatOutput: Encodable {
    var statistics: IndexStatistics
    var encoder: EncoderArchive.Summary?
    /// With `--buckets`: each substring table's bucket statistics.
    var buckets: [BucketStatistics]?

    enum Keys: String, CodingKey { case encoder, buckets }

    func encode(to encoder: any Encoder) throws {
        try statistics.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(self.encoder, forKey: .encoder)
        try c.encodeIfPresent(buckets, forKey: .buckets)
    }
}

struct Stat: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the shape and size of an index.")

    @OptionGroup var target: IndexArgument

    @Option(name: .long, help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Flag(name: .long, help: "Also count how the codes spread over each substring table's buckets (one pass over the postings).")
    var buckets = false

    @Option(name: .long, help: ArgumentHelp("With --buckets: how many of each table's largest buckets to list.", valueName: "n"))
    var largest = 5

    func validate() throws {
        guard largest >= 0 else { throw ValidationError("--largest must be at least 0, found \(largest)") }
    }

    func run() throws {
        let index = try HashIndex.open(at: target.index, mode: .readOnly)
        let s = try index.statistics()
        let spread = buckets ? try index.bucketStatistics(largest: largest) : nil
        let model: EncoderArchive.Summary?
        do { model = try index.encoderBlob().map { try EncoderArchive.decode($0).summary } } catch {
            throw DataError(file: target.index, "the stored encoder cannot be read: \(error)")
        }
        switch format {
        case .json, .jsonl:
            try emitJSON(StatOutput(statistics: s, encoder: model, buckets: spread))
        case .text:
            try emit("format version   \(s.formatVersion)")
            try emit("bits             \(s.bits)")
            try emit("substrings       \(s.substringCount) (\(s.substringWidths.map(String.init).joined(separator: ", ")) bits)")
            try emit("codes            \(s.count)")
            try emit("rows             \(s.rows) (\(s.sealedRows) sealed, \(s.rows - s.sealedRows) since the last merge, \(s.rows - s.count) removed or replaced)")
            try emit("rows per chunk   \(s.rowsPerChunk)")
            try emit("file bytes       \(s.fileBytes)")
            try emit("used bytes       \(s.usedBytes)\(s.count > 0 ? String(format: " (%.1f per code)", Double(s.usedBytes) / Double(s.count)) : "")")
            try emit("free bytes       \(s.freeBytes) (free pages inside the file, reused by later writes)")
            try emit("map bytes        \(s.mapBytes)")
            for t in s.tables {
                try emit("table \(t.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(t.entries) entries, \(t.pages) pages")
            }
            for b in spread ?? [] {
                try emit(String(format: "buckets of table %ld (%ld bits): %ld holding %ld rows, %.1f rows each on average; a stored code's bucket holds %.1f",
                                b.table, b.bits, b.buckets, b.rows, b.meanRows, b.rowsSharingABucket))
                let levels = b.histogram.enumerated().filter { $0.element > 0 }.map { level, n in
                    level == 0 ? "1 row: \(n)" : "\(1 << level)-\((2 << level) - 1) rows: \(n)"
                }
                try emit("  sizes          " + levels.joined(separator: ", "))
                if !b.largest.isEmpty {
                    try emit("  largest        " + b.largest.map { "\($0.rows) (key 0x\(String($0.key, radix: 16)))" }.joined(separator: ", "))
                }
            }
            if let model {
                try emit("encoder:")
                try printSummary(model, format: .text, indent: "  ")
            } else {
                try emit("encoder          none (an index of codes)")
            }
        }
    }
}
