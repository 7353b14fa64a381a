import ArgumentParser
import HashData
import HashIdx

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every stored code with its id, in a format 'hashidx add' reads back.",
        usage: "hashidx export <index> [--format hex|raw|npy] [<options>]",
        discussion: """
        hex: '<id> <hex>' lines. raw: packed codes back to back, ⌈B/8⌉ bytes each. npy: a uint8 \\
        array of shape (N, ⌈B/8⌉). Raw and npy carry no ids: --ids FILE writes them, one per \\
        line in the same order (give the same file to 'hashidx add --ids'). Codes come in row \\
        order (id order after a merge), all from one snapshot. Output files are written aside \\
        and renamed.
        """)

    @OptionGroup var target: IndexArgument

    @Option(name: .long, help: "Output format: hex, raw or npy (default: from the --output name, else hex).")
    var format: CodeFormat?

    @Option(name: .long, help: "Output file (default: standard output).")
    var output: String?

    @Option(name: .long, help: "With raw or npy: write the ids here, one per line.")
    var ids: String?

    @OptionGroup var verbosity: VerbosityOptions
    var quiet: Bool { verbosity.quiet }

    func validate() throws {
        if let output, output == ids { throw ValidationError("--output and --ids must be different files") }
    }

    func run() throws {
        let format = self.format ?? output.map { CodeFormat.detect(path: $0, head: []) } ?? .hex
        if format == .hex && ids != nil { throw ValidationError("--ids goes with raw or npy output; hex lines carry their ids") }
        if format != .hex && ids == nil && !quiet {
            diagnose("note: \(format.rawValue) output carries no ids; add --ids FILE to keep them (without it, 'add' numbers the codes 0, 1, 2, …)")
        }
        let index = try HashIndex.open(at: target.index, mode: .readOnly)
        let codeBytes = index.codeBytes
        let count = try index.count
        let out = try output.map { try AtomicOutputFile(path: $0) }
        let idOut = try ids.map { try AtomicOutputFile(path: $0) }
        func write(_ bytes: [UInt8]) throws {
            if let out { try out.write(bytes) } else { try StandardStream.output(bytes: bytes) }
        }
        if format == .npy { try write(NpyWriter.header(descr: "|u1", shape: [count, codeBytes])) }
        var written = 0
        let shown = verbosity.progress("exporting", total: count)
        try index.forEachCode { batchIDs, packed in
            switch format {
            case .hex:
                try write(CodeText.lines(ids: batchIDs, packed: packed, codeBytes: codeBytes))
            case .raw, .npy:
                try write(packed)
                if let idOut { try idOut.write(Array(batchIDs.map { String($0) }.joined(separator: "\n").utf8) + [0x0A]) }
            }
            written += batchIDs.count
            shown.advance(by: batchIDs.count)
        }
        shown.finish()
        guard written == count else {
            throw HashIdxError.corrupt("the index counts \(count) codes but \(written) were read")
        }
        try idOut?.commit()
        try out?.commit()
        if !quiet { diagnose("exported \(written) codes (\(format.rawValue))\(output.map { " to \($0)" } ?? "")") }
    }
}
