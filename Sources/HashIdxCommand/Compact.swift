import ArgumentParser
import HashIdx

struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge recent writes into the sealed base and drop removed codes.",
        discussion: """
        One write transaction: codes are rewritten in id order and every substring table is \
        sealed, so every look-up reads the bucket directory in place. Readers see the index \
        before or after, never between. Pages freed by the merge are reused by later writes.
        """)

    @OptionGroup var target: IndexArgument

    func run() throws {
        let index = try HashIndex.open(at: target.index)
        let before = try index.statistics()
        let n = try index.compact()
        let after = try index.statistics()
        diagnose("compacted: \(n) codes, \(before.rows) rows before, \(after.rows) after; \(after.usedBytes) bytes in use, \(after.freeBytes) free")
    }
}
