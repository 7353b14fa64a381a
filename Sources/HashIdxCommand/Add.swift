import ArgumentParser
import Foundation
import HashData
import HashIdx
import HashIdxVectors
import Hamming

struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add (or replace) codes, one transaction per batch (default: the whole input, if it fits in half the memory).",
        usage: "hashidx add <index> [<file>] [--input-format hex|raw|npy] [<options>]\nhashidx add <index> --vectors <file> [--ids <file>] [<options>]",
        discussion: """
        hex: one '<id> <hex>' per line, or '<hex>' alone on every line (blank lines and lines \
        starting with '#' are skipped). raw: packed codes back to back, ⌈B/8⌉ bytes each. npy: a \
        uint8 array of shape (N, ⌈B/8⌉). Codes without ids get 0, 1, 2, … in input order, or the \
        lines of --ids. The format is detected from the npy magic or the file name (.npy; .raw, \
        .bin, .u8), else hex; --input-format overrides.

        The whole input is checked before anything is written (standard input is copied to a \
        temporary file first), so a bad line leaves the index unchanged. An existing id gets the \
        new code.
        """
    )

    @OptionGroup var target: IndexArgument

    @Argument(help: "Input file, or '-' for standard input.")
    var file: String = "-"

    @Option(name: .long, help: "Input format: hex, raw or npy (default: detected).")
    var inputFormat: CodeFormat?

    @Option(name: .long, parsing: .unconditional, help: """
        Codes per write transaction (default: as many as fit in half of physical memory, about \
        90 bytes per 64-bit code: the whole input on most machines). A load of up to this many \
        codes is atomic: all of it or none. Fewer, larger transactions load faster.
        """)
    var batchSize: Int?

    @Flag(name: .long, help: "Skip fsync at each commit (faster; a power loss may drop the last batches).")
    var noSync = false

    @Option(name: .long, help: "Vectors to encode with the index's encoder instead of codes (.fvecs, .bvecs, .npy, IDX).")
    var vectors: String?

    @Option(name: .long, help: "Ids for codes or vectors that carry none, one decimal UInt64 per line (default: row numbers).")
    var ids: String?

    @OptionGroup var report: ReportOptions

    /// `add --format json`.
    struct Summary: Encodable {
        var inserted: Int
        var replaced: Int
        var count: Int
        var seconds: Double
    }

    func validate() throws {
        if let batchSize, !(1...Self.largestBatch).contains(batchSize) {
            throw ValidationError("--batch-size must be between 1 and \(Self.largestBatch), found \(batchSize)")
        }
    }

    /// The largest batch accepted: far beyond any machine's memory for one transaction, small
    /// enough that sizes derived from it never overflow.
    static let largestBatch = 1 << 40

    func run() throws {
        let index = try HashIndex.open(at: target.index, noSync: noSync)
        let batchSize = self.batchSize ?? index.largestWriteBatch()
        let start = Date()
        var total = InsertSummary()
        let sink: ([UInt64], [UInt8]) throws -> Void = { ids, packed in
            let s = try index.insert(ids: ids, packedCodes: packed)
            total.inserted += s.inserted
            total.replaced += s.replaced
        }
        if let vectors {
            try addVectors(index, path: vectors, batchSize: batchSize, sink)
        } else {
            let checking = report.progress("checking \(file == "-" ? "standard input" : file)", total: nil)
            let input = try CodeInput(path: file, bits: index.bits, format: inputFormat, idFile: ids) { n in
                checking.update(to: n)
            }
            checking.finish()
            let loading = report.progress("adding", total: input.count)
            try input.forEachBatch(of: batchSize) { ids, packed in
                try sink(ids, packed)
                loading.advance(by: ids.count)
            }
            loading.finish()
        }
        if noSync { try index.sync() }
        let seconds = Date().timeIntervalSince(start)
        let count = try index.count
        try report.finish(Summary(inserted: total.inserted, replaced: total.replaced, count: count, seconds: jsonSeconds(seconds)),
                          text: "added \(total.inserted) new and replaced \(total.replaced) codes in \(String(format: "%.2f", seconds)) s; the index holds \(count)")
    }

    /// Encodes vectors with the index's encoder a batch at a time (one batch of vectors in memory,
    /// the codes of one write transaction). A load that spans several transactions reads every
    /// vector once first, so a bad vector is found before anything is written.
    private func addVectors(_ index: HashIndex, path: String, batchSize: Int, _ sink: ([UInt64], [UInt8]) throws -> Void) throws {
        guard let encoder = try index.encoder() else {
            throw DataError(file: target.index, "the index has no encoder; create it with --encoder MODEL to add vectors")
        }
        let vectors = try VectorEncoding(path: path, encoder: encoder)
        let idList = try ids.map { try CodeText.ids($0, count: vectors.count, oneEach: "vector") }
        if vectors.count > batchSize {
            let checking = report.progress("checking \(path)", total: nil)
            try vectors.check()
            checking.finish()
        }
        let progress = report.progress("adding", total: vectors.count)
        var pendingIDs: [UInt64] = [], pendingCodes: [UInt8] = []
        func flush() throws {
            guard !pendingIDs.isEmpty else { return }
            try sink(pendingIDs, pendingCodes)
            progress.advance(by: pendingIDs.count)
            pendingIDs.removeAll(keepingCapacity: true)
            pendingCodes.removeAll(keepingCapacity: true)
        }
        let n = index.codeBytes
        try vectors.forEachBatch { rows, packed in
            var first = rows.lowerBound
            while first < rows.upperBound {
                let end = min(rows.upperBound, first + batchSize - pendingIDs.count)
                pendingIDs += idList.map { Array($0[first..<end]) } ?? (UInt64(first)..<UInt64(end)).map { $0 }
                pendingCodes += packed[(first - rows.lowerBound) * n ..< (end - rows.lowerBound) * n]
                if pendingIDs.count == batchSize { try flush() }
                first = end
            }
        }
        try flush()
        progress.finish()
    }
}
