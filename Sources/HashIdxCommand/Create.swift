import ArgumentParser
import HashIdx

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an empty index for B-bit codes.",
        usage: "hashidx create <index> (--bits <bits> | --encoder <model>) [<options>]")

    @OptionGroup var target: IndexArgument

    @Option(name: .long, parsing: .unconditional, help: "Code width B in bits (8…1024); taken from the encoder when one is given.")
    var bits: Int?

    @Option(name: .long, help: "An encoder model (from 'hashidx train') to store in the index; vectors are then encoded with it.")
    var encoder: String?

    @Option(name: .long, parsing: .unconditional, help: "Substring count m (default: round(B / log2 N), substrings ≤ 32 bits).")
    var substrings: Int?

    @Option(name: .long, parsing: .unconditional, help: "Expected number of codes N, used only to choose the default m.")
    var expectedCount: Int = 1_000_000

    @Option(name: .customLong("map-mib"), parsing: .unconditional, help: "Initial map size in MiB; the map grows by doubling when full.")
    var mapMiB: Int = 1024

    func validate() throws {
        guard (bits == nil) != (encoder == nil) else { throw ValidationError("give exactly one of --bits B or --encoder MODEL") }
        if let bits {
            guard (8...1024).contains(bits) else { throw ValidationError("--bits must be between 8 and 1024, found \(bits)") }
            if let substrings, !(1...bits).contains(substrings) {
                throw ValidationError("--substrings must be between 1 and \(bits) for \(bits)-bit codes, found \(substrings)")
            }
        }
        guard expectedCount >= 1 else { throw ValidationError("--expected-count must be at least 1, found \(expectedCount)") }
        guard (1...(1 << 26)).contains(mapMiB) else {
            throw ValidationError("--map-mib must be between 1 and 67108864 (64 TiB), found \(mapMiB)")
        }
    }

    func run() throws {
        var blob: [UInt8]?
        var width = bits ?? 0
        if let encoder {
            let model = try loadModel(encoder)
            blob = model.archive().encoded()
            width = model.bits
        }
        let index = try HashIndex.create(at: target.index, .init(
            bits: width, substringCount: substrings, expectedCount: expectedCount, initialMapSize: mapMiB << 20, encoder: blob))
        diagnose("created \(target.index): \(width)-bit codes, \(index.layout.count) substrings of \(index.layout.widths.map(String.init).joined(separator: ",")) bits")
    }
}
