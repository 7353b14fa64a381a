import ArgumentParser
import HashData
import HashIdx

struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove codes by id, in one transaction (ids not stored are ignored).")

    @OptionGroup var target: IndexArgument

    @Argument(help: "A file of ids, one decimal UInt64 per line, or '-' for standard input.")
    var file: String = "-"

    func run() throws {
        let index = try HashIndex.open(at: target.index)
        let ids = try CodeText.ids(try LineReader(path: file))
        let removed = try index.remove(ids: ids)
        diagnose("removed \(removed) of \(ids.count) ids; the index holds \(try index.count)")
    }
}
