import ArgumentParser
import HashIdx

struct Upgrade: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rewrite an index of an older format version in the current one.",
        discussion: """
        One write transaction: a crash leaves the index as it was. Older builds cannot read the \
        upgraded index. An index already in the current format is left alone.
        """)

    @OptionGroup var target: IndexArgument

    func run() throws {
        let found = try HashIndex.upgrade(at: target.index)
        let now = try HashIndex.open(at: target.index, mode: .readOnly).statistics().formatVersion
        diagnose(found == UInt32(now) ? "already at format version \(now)" : "upgraded from format version \(found) to \(now)")
    }
}
