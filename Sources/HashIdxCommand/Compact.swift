import ArgumentParser
import HashIdx

struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge recent writes into the sealed base, drop removed codes, shrink the file.",
        discussion: """
        The merge is one write transaction: codes are rewritten in id order and every \
        substring table is sealed, so every look-up reads the bucket directory in place. \
        Readers see the index before or after, never between. Then, if no other process has \
        the index open, a compacted copy of the file (free pages dropped) is written beside \
        it and renamed over it; otherwise the free pages stay in the file for later writes.
        """)

    @OptionGroup var target: IndexArgument

    func run() throws {
        let before = try statistics()
        let shrink = try HashIndex.shrink(at: target.index)
        let after = try statistics()
        diagnose("compacted: \(after.count) codes, \(before.rows) rows before, \(after.rows) after; file \(shrink.bytesBefore) bytes before, \(shrink.bytesAfter) after"
                 + (shrink.shrunk ? "" : " (not shrunk: \(shrink.reason ?? "unknown"))"))
    }

    /// Statistics from an instance that is closed again before the next one opens.
    private func statistics() throws -> IndexStatistics {
        try HashIndex.open(at: target.index, mode: .readOnly).statistics()
    }
}
