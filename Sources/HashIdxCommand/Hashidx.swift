import ArgumentParser

@main
struct Hashidx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hashidx",
        abstract: "An embedded, persistent multi-index-hashing index for binary codes.",
        discussion: """
        Codes are written in hex, two digits per byte, byte 0 first; bit i is bit (i & 7) of
        byte (i >> 3). Range queries are inclusive (distance ≤ R). Data goes to standard output,
        diagnostics to standard error.
        """,
        version: "0.1.0",
        subcommands: [Demo.self, Create.self, Add.self, Remove.self, Search.self, Knn.self, Stat.self, Verify.self, Compact.self, Upgrade.self, Train.self, Encode.self, Eval.self]
    )
}
