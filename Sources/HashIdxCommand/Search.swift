import ArgumentParser
import HashIdx

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Range query: every stored code within Hamming distance R (inclusive).",
        usage: "hashidx search <index> --radius <r> (--query <hex> | --queries <file> |\n  --vector-queries <file>) [<options>]",
        discussion: "Results are sorted by (distance, id).")

    @OptionGroup var target: IndexArgument

    @Option(name: .long, parsing: .unconditional, help: "The radius R in bits, 0…B (inclusive).")
    var radius: Int

    @OptionGroup var queries: QueryOptions

    func validate() throws {
        guard radius >= 0 else { throw ValidationError("--radius must be at least 0, found \(radius)") }
    }

    func run() throws {
        let index = try HashIndex.open(at: target.index, mode: .readOnly)
        guard radius <= index.bits else { throw HashIdxError.invalidRadius(radius, bits: index.bits) }
        let codes = try queries.load(index)
        if queries.prefault { index.prefault() }
        let results = try index.search(codes, radius: radius, path: queries.path.choice, threads: queries.threads)
        try ResultPrinter.print(results, format: queries.format)
    }
}
