import ArgumentParser
import HashIdx

struct Knn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knn",
        abstract: "Exact k nearest neighbours by Hamming distance.",
        usage: "hashidx knn <index> -k <k> (--query <hex> | --queries <file> |\n  --vector-queries <file>) [<options>]",
        discussion: "Results are sorted by (distance, id); ties at the k-th distance go to the smaller id.")

    @OptionGroup var target: IndexArgument

    @Option(name: .short, parsing: .unconditional, help: "The number of neighbours k (≥ 1).")
    var k: Int

    @OptionGroup var queries: QueryOptions

    func validate() throws {
        guard k >= 1 else { throw ValidationError("-k must be at least 1, found \(k)") }
    }

    func run() throws {
        let index = try HashIndex.open(at: target.index, mode: .readOnly)
        let codes = try queries.load(index)
        if queries.prefault { index.prefault() }
        let results = try index.nearest(codes, k: k, path: queries.path.choice, threads: queries.threads)
        try ResultPrinter.print(results, format: queries.format)
    }
}
