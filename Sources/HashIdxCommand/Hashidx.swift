import ArgumentParser
import CFaultGuard
import HashData
import HashIdx

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
enum Entry {
    static func main() {
        singleThreadedBLASIfUnused()
        // A file-size limit (ulimit -f) then fails a write with EFBIG instead of killing the process.
        signal(SIGXFSZ, SIG_IGN)
        hx_fault_guard_install(ExitStatus.dataError.rawValue)
        do {
            var command = try Hashidx.parseAsRoot()
            try command.run()
        } catch {
            guard let status = ExitStatus.of(error) else { Hashidx.exit(withError: error) }
            StandardStream.error("Error: \(error)\n")
            exit(status.rawValue)
        }
    }

    /// OpenBLAS starts its worker threads when the library loads, and they spin for about a
    /// tenth of a second: long enough to preempt a whole run of microsecond queries on a small
    /// machine. Commands that never call BLAS re-run themselves once with one BLAS thread.
    static func singleThreadedBLASIfUnused() {
        let args = CommandLine.arguments
        let blasFree: Set<String> = ["create", "add", "remove", "search", "knn", "stat", "verify", "compact", "upgrade"]
        guard args.count > 1, blasFree.contains(args[1]), !args.contains(where: { $0.hasPrefix("--vector") }),
              getenv("OPENBLAS_NUM_THREADS") == nil else { return }
        setenv("OPENBLAS_NUM_THREADS", "1", 1)
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        // If the re-run fails, carry on as we are.
    }
}

struct Hashidx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hashidx",
        abstract: "An embedded, persistent multi-index-hashing index for binary codes.",
        discussion: """
        Codes are written in hex, two digits per byte, byte 0 first; bit i is bit (i & 7) of \
        byte (i >> 3). Range queries are inclusive (distance ≤ R). Data goes to standard output, \
        diagnostics to standard error.
        """,
        version: "\(HashIndex.version) (format version \(HashIndex.formatVersion))",
        subcommands: [Demo.self, Create.self, Add.self, Remove.self, Search.self, Knn.self, Export.self, Stat.self, Verify.self, Compact.self, Upgrade.self, Train.self, Encode.self, Model.self, Eval.self, Plot.self]
    )
}
