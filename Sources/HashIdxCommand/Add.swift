import ArgumentParser
import Foundation
import HashData
import HashIdx
import Hamming

struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add (or replace) codes, one transaction per batch (default: the whole input, up to 10M codes).",
        discussion: """
        hex: one '<id> <hex>' per line (blank lines and lines starting with '#' are skipped).
        raw: packed codes back to back, ⌈B/8⌉ bytes each; ids are 0, 1, 2, … in file order, or
        the lines of --ids.
        npy: a uint8 array of shape (N, ⌈B/8⌉); ids are row numbers, or the lines of --ids.
        The whole input is checked before anything is written, so a bad line leaves the index
        unchanged. An existing id gets the new code.
        """
    )

    @OptionGroup var target: IndexArgument

    @Argument(help: "Input file, or '-' for standard input.")
    var file: String = "-"

    @Option(name: .long, help: "Input format: hex, raw or npy.")
    var inputFormat: InputFormat = .hex

    @Option(name: .long, help: "Codes per write transaction. A load of up to this many codes is atomic: all of it or none.")
    var batchSize: Int = 10_000_000

    @Flag(name: .long, help: "Skip fsync at each commit (faster; a power loss may drop the last batches).")
    var noSync = false

    @Option(name: .long, help: "Vectors to encode with the index's encoder instead of codes (.fvecs, .bvecs, .npy, IDX).")
    var vectors: String?

    @Option(name: .long, help: "With --vectors, raw or npy input: ids, one decimal UInt64 per line (default: row numbers).")
    var ids: String?

    enum InputFormat: String, ExpressibleByArgument, CaseIterable { case hex, raw, npy }

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1, found \(batchSize)") }
        if inputFormat == .npy && file == "-" { throw ValidationError("npy input needs a file, not standard input") }
        if ids != nil && vectors == nil && inputFormat == .hex {
            throw ValidationError("--ids goes with --vectors, raw or npy input; hex lines carry their own ids")
        }
    }

    func run() throws {
        let index = try HashIndex.open(at: target.index, noSync: noSync)
        let start = Date()
        var total = InsertSummary()
        let sink: ([UInt64], [UInt8]) throws -> Void = { ids, packed in
            let s = try index.insert(ids: ids, packedCodes: packed)
            total.inserted += s.inserted
            total.replaced += s.replaced
        }
        if let vectors {
            try addVectors(index, path: vectors, sink)
        } else {
        switch inputFormat {
        case .hex: try loadHex(index, sink)
        case .raw: try loadRaw(index, sink)
        case .npy: try loadNpy(index, sink)
        }
        }
        if noSync { try index.sync() }
        diagnose("added \(total.inserted) new and replaced \(total.replaced) codes in \(String(format: "%.2f", Date().timeIntervalSince(start))) s; the index holds \(try index.count)")
    }

    /// Encodes vectors with the index's encoder; every vector is checked before anything is written.
    private func addVectors(_ index: HashIndex, path: String, _ sink: ([UInt64], [UInt8]) throws -> Void) throws {
        guard let encoder = try index.encoder() else {
            throw DataError(file: target.index, "the index has no encoder; create it with --encoder MODEL to add vectors")
        }
        let x = try loadVectors(path)
        let idList = try readIDs(count: x.rows, what: "vector") ?? (0..<UInt64(x.rows)).map { $0 }
        let packed = try encoder.encode(x)
        let n = index.codeBytes
        for start in stride(from: 0, to: x.rows, by: batchSize) {
            let end = min(start + batchSize, x.rows)
            try sink(Array(idList[start..<end]), Array(packed[start * n ..< end * n]))
        }
    }

    /// The ids of --ids, checked to be exactly `count` (one per code or vector), or nil.
    private func readIDs(count: Int, what: String) throws -> [UInt64]? {
        guard let ids else { return nil }
        let list = try CodeText.ids(try LineReader(path: ids))
        guard list.count == count else { throw DataError(file: ids, "expected \(count) ids, one per \(what), found \(list.count)") }
        return list
    }

    /// Two passes: check every line first (spooling standard input to a temporary file), then load.
    private func loadHex(_ index: HashIndex, _ sink: ([UInt64], [UInt8]) throws -> Void) throws {
        var path = file
        var spool: String?
        if file == "-" {
            spool = FileManager.default.temporaryDirectory.appendingPathComponent("hashidx-add-\(UUID().uuidString)").path
            path = spool!
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        defer { if let spool { try? FileManager.default.removeItem(atPath: spool) } }
        do {
            let reader = try LineReader(path: file)
            let out = spool.flatMap { FileHandle(forWritingAtPath: $0) }
            var pending = Data()
            while let line = reader.nextLine() {
                if !CodeText.isSkippable(line) {
                    _ = try CodeText.entry(line, bits: index.bits, file: reader.name, lineNumber: reader.lineNumber)
                }
                if let out {
                    pending.append(contentsOf: line)
                    pending.append(0x0A)
                    if pending.count > 1 << 20 { out.write(pending); pending.removeAll(keepingCapacity: true) }
                }
            }
            out?.write(pending)
            try out?.close()
        }
        let reader = try LineReader(path: path)
        var ids: [UInt64] = [], packed: [UInt8] = []
        while let line = reader.nextLine() {
            if CodeText.isSkippable(line) { continue }
            let e = try CodeText.entry(line, bits: index.bits, file: file, lineNumber: reader.lineNumber)
            ids.append(e.id)
            packed.append(contentsOf: e.code.bytes)
            if ids.count == batchSize {
                try sink(ids, packed)
                ids.removeAll(keepingCapacity: true)
                packed.removeAll(keepingCapacity: true)
            }
        }
        if !ids.isEmpty { try sink(ids, packed) }
    }

    private func loadRaw(_ index: HashIndex, _ sink: ([UInt64], [UInt8]) throws -> Void) throws {
        let codeBytes = index.codeBytes
        let handle: FileHandle
        if file == "-" { handle = .standardInput } else {
            guard let h = FileHandle(forReadingAtPath: file) else { throw DataError(file: file, "cannot open the file for reading") }
            handle = h
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            guard size % codeBytes == 0 else {
                throw DataError(file: file, "\(size) bytes is not a whole number of \(codeBytes)-byte codes (\(index.bits) bits each)")
            }
            try checkPadding(file: file, index: index)
        }
        var idList: [UInt64]?
        if ids != nil {
            guard file != "-" else { throw ValidationError("--ids with raw input needs a file, not standard input") }
            let size = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            idList = try readIDs(count: size / codeBytes, what: "code")
        }
        var row: UInt64 = 0
        var carry = [UInt8]()
        while true {
            let data = handle.readData(ofLength: batchSize * codeBytes)
            if data.isEmpty { break }
            carry.append(contentsOf: data)
            let whole = carry.count / codeBytes
            if whole == 0 { continue }
            let packed = Array(carry[0..<whole * codeBytes])
            carry.removeSubrange(0..<whole * codeBytes)
            try sink(idList.map { Array($0[Int(row)..<Int(row) + whole]) } ?? (0..<UInt64(whole)).map { row + $0 }, packed)
            row += UInt64(whole)
        }
        guard carry.isEmpty else {
            throw DataError(file: file, "the input ends with \(carry.count) stray bytes, not a whole \(codeBytes)-byte code")
        }
    }

    /// For a B that is not a multiple of 8, checks every code's padding bits before loading.
    private func checkPadding(file: String, index: HashIndex) throws {
        guard index.bits & 7 != 0, let h = FileHandle(forReadingAtPath: file) else { return }
        let codeBytes = index.codeBytes
        var row = 0
        while true {
            let data = h.readData(ofLength: 1 << 20 / codeBytes * codeBytes)
            if data.isEmpty { break }
            for i in stride(from: codeBytes - 1, to: data.count, by: codeBytes) {
                if data[data.startIndex + i] >> UInt8(index.bits & 7) != 0 {
                    throw DataError(file: file, "code \(row + i / codeBytes): \(CodeError.paddingBitsSet(bits: index.bits))")
                }
            }
            row += data.count / codeBytes
        }
    }

    private func loadNpy(_ index: HashIndex, _ sink: ([UInt64], [UInt8]) throws -> Void) throws {
        let check = try NpyCodeFile(path: file, expectedColumns: index.codeBytes)
        if index.bits & 7 != 0 {
            var row = 0
            while true {
                let packed = try check.next(maxRows: batchSize)
                if packed.isEmpty { break }
                for i in 0..<(packed.count / index.codeBytes) where packed[i * index.codeBytes + index.codeBytes - 1] >> UInt8(index.bits & 7) != 0 {
                    throw DataError(file: file, "row \(row + i): \(CodeError.paddingBitsSet(bits: index.bits))")
                }
                row += packed.count / index.codeBytes
            }
        }
        let npy = try NpyCodeFile(path: file, expectedColumns: index.codeBytes)
        let idList = try readIDs(count: npy.rows, what: "code")
        var row = 0
        while true {
            let packed = try npy.next(maxRows: batchSize)
            if packed.isEmpty { break }
            let n = packed.count / index.codeBytes
            try sink(idList.map { Array($0[row..<row + n]) } ?? (0..<n).map { UInt64(row + $0) }, packed)
            row += n
        }
    }
}
