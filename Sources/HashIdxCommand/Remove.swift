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
        let reader = try LineReader(path: file)
        var ids: [UInt64] = []
        while let line = reader.nextLine() {
            if CodeText.isSkippable(line) { continue }
            guard let id = CodeText.idLine(line) else {
                throw DataError(file: reader.name, line: reader.lineNumber, "expected an id between 0 and \(UInt64.max), found '\(String(decoding: line.prefix(40), as: UTF8.self))'")
            }
            ids.append(id)
        }
        let index = try HashIndex.open(at: target.index)
        let removed = try index.remove(ids: ids)
        diagnose("removed \(removed) of \(ids.count) ids; the index holds \(try index.count)")
    }
}
