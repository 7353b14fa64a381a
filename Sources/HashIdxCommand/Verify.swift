import ArgumentParser
import HashIdx

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check every invariant of the on-disk format.")

    @OptionGroup var target: IndexArgument

    func run() throws {
        let index = try HashIndex.open(at: target.index, mode: .readOnly)
        let n = try index.verify()
        try emit("ok: \(n) codes, every table consistent")
    }
}
