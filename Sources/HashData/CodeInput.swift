import Hamming
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file formats that hold packed codes.
public enum CodeFormat: String, Sendable, CaseIterable, Codable {
    /// Text, one code per line: `<id> <hex>`, or `<hex>` alone (ids are then 0, 1, 2, … or
    /// those of a separate id file). Blank lines and lines starting with '#' are skipped.
    case hex
    /// Packed codes back to back, ⌈B/8⌉ bytes each, no header.
    case raw
    /// A numpy `.npy` array of dtype uint8 and shape (N, ⌈B/8⌉).
    case npy

    /// The format of a file, from its first bytes (the npy magic) and then its name
    /// (`.npy`; `.raw`, `.bin`, `.u8`); anything else is hex text.
    public static func detect(path: String, head: [UInt8]) -> CodeFormat {
        if head.count >= 6, head[0] == 0x93, Array(head[1...5]) == Array("NUMPY".utf8) { return .npy }
        let lower = path.lowercased()
        if lower.hasSuffix(".npy") { return .npy }
        if lower.hasSuffix(".raw") || lower.hasSuffix(".bin") || lower.hasSuffix(".u8") { return .raw }
        return .hex
    }
}

/// Packed codes of one width: the one place that checks a packed code's length and padding bits.
public enum PackedCodes {
    /// Checks that every ⌈B/8⌉-byte code in `packed` has its padding bits (at and above bit B) zero.
    /// - Parameters:
    ///   - firstRow: the row number of the first code, for the message.
    public static func checkPadding(_ packed: some RandomAccessCollection<UInt8>, bits: Int, firstRow: Int, file: String) throws(DataError) {
        guard bits & 7 != 0 else { return }
        let codeBytes = (bits + 7) / 8
        let shift = UInt8(bits & 7)
        var i = codeBytes - 1
        var row = firstRow
        var at = packed.index(packed.startIndex, offsetBy: i, limitedBy: packed.endIndex) ?? packed.endIndex
        while at < packed.endIndex {
            if packed[at] >> shift != 0 {
                throw DataError(file: file, "code \(row): \(CodeError.paddingBitsSet(bits: bits))")
            }
            row += 1
            i += codeBytes
            at = packed.index(packed.startIndex, offsetBy: i, limitedBy: packed.endIndex) ?? packed.endIndex
        }
    }

    /// Splits `packed` into codes of `bits` bits (checked).
    public static func codes(_ packed: [UInt8], bits: Int, file: String) throws(DataError) -> [BinaryCode] {
        let n = (bits + 7) / 8
        guard packed.count % n == 0 else {
            throw DataError(file: file, "\(packed.count) bytes is not a whole number of \(n)-byte codes (\(bits) bits each)")
        }
        var out: [BinaryCode] = []
        out.reserveCapacity(packed.count / n)
        for row in 0..<(packed.count / n) {
            do { out.append(try BinaryCode(bytes: Array(packed[row * n ..< (row + 1) * n]), bits: bits)) } catch {
                throw DataError(file: file, "code \(row): \(error)")
            }
        }
        return out
    }
}

/// Codes with their ids, read from a hex, raw or npy file or from standard input.
///
/// Opening reads and checks the whole input — every line, code width, padding bit, id and the
/// id file's length — before any code is handed out, so a caller that writes batch by batch never
/// writes part of a bad input. Standard input is first copied to a temporary file (removed
/// afterwards) so that it can be read twice.
public final class CodeInput {
    /// The code width.
    public let bits: Int
    /// The format read.
    public let format: CodeFormat
    /// The number of codes.
    public private(set) var count = 0
    /// The name used in messages.
    public let name: String
    private let path: String
    private var staged: String?
    private var ids: [UInt64]?
    private var npyOffset = 0
    /// Hex text only: whether lines carry their own ids.
    private var linesHaveIDs: Bool?
    private let checked: ((Int) -> Void)?

    /// Opens and checks `path` ("-" for standard input).
    /// - Parameters:
    ///   - format: the format, or nil to detect it (``CodeFormat/detect(path:head:)``).
    ///   - idFile: a file of ids, one per line, one per code; for hex, only when the lines carry no ids.
    /// - Throws: ``DataError`` naming the file, line or row, what was expected and what was found.
    ///   - checked: called with the number of codes checked so far, every 65,536 codes.
    public init(path: String, bits: Int, format: CodeFormat? = nil, idFile: String? = nil,
                checked: ((Int) -> Void)? = nil) throws(DataError) {
        self.checked = checked
        guard BinaryCode.supportedBits.contains(bits) else { throw DataError(file: path, "\(CodeError.unsupportedBits(bits))") }
        self.bits = bits
        self.name = path
        var source = path
        if path == "-" {
            let s = try CodeInput.stageStandardInput()
            staged = s
            source = s
        }
        self.path = source
        let head = try InputFile(path: source).read(upTo: 8)
        self.format = format ?? CodeFormat.detect(path: path, head: head)
        let codeBytes = (bits + 7) / 8
        switch self.format {
        case .hex: try checkHex()
        case .raw:
            let file = try InputFile(path: source)
            let size = file.size ?? 0
            guard size % codeBytes == 0 else {
                throw DataError(file: name, "\(size) bytes is not a whole number of \(codeBytes)-byte codes (\(bits) bits each)")
            }
            count = size / codeBytes
            try checkPadding(file)
        case .npy:
            let file = try InputFile(path: source)
            let header = try NpyHeader.parse(try file.read(upTo: 65536 + 12), file: name)
            guard ["|u1", "u1", "<u1"].contains(header.descr) else {
                throw DataError(file: name, "expected a uint8 array (dtype '|u1') of packed codes, found dtype '\(header.descr)'")
            }
            guard !header.fortranOrder else { throw DataError(file: name, "expected a C-order array, found fortran_order True") }
            guard header.shape.count == 2, header.shape[1] == codeBytes else {
                throw DataError(file: name, "expected shape (N, \(codeBytes)) for packed \(bits)-bit codes, found \(header.shape)")
            }
            let bytes = try SizeCheck.product(header.shape, file: name, what: "the array")
            try SizeCheck.fits(bytes, at: header.dataOffset, in: file.size ?? 0, file: name, what: "shape \(header.shape)")
            count = header.shape[0]
            npyOffset = header.dataOffset
            try file.seek(to: npyOffset)
            try checkPadding(file)
        }
        if let idFile {
            guard self.format != .hex || linesHaveIDs != true else {
                throw DataError(file: idFile, "the hex lines of '\(name)' carry their own ids; give ids in one place only")
            }
            ids = try CodeText.ids(idFile, count: count, oneEach: "code of '\(name)'")
        }
    }

    deinit { if let staged { unlink(staged) } }

    /// Copies standard input to a new temporary file and returns its path.
    static func stageStandardInput() throws(DataError) -> String {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        guard let (fd, path) = makeTemporaryFile("\(directory)/hashidx-stdin-XXXXXX") else {
            throw DataError(file: "-", kind: .io, "cannot create a temporary file in \(directory) to hold standard input: \(systemErrorText(errno))")
        }
        defer { close(fd) }
        do {
            let input = try InputFile(path: "-")
            var buffer: [UInt8] = []
            while try input.read(appendingTo: &buffer, count: 1 << 20) > 0 {
                try writeAll(fd, buffer, name: "the temporary copy of standard input (\(directory))")
                buffer.removeAll(keepingCapacity: true)
            }
        } catch {
            unlink(path)
            throw error
        }
        return path
    }

    private func checkPadding(_ file: InputFile) throws(DataError) {
        guard bits & 7 != 0 else { return }
        let codeBytes = (bits + 7) / 8
        let step = max(1, (1 << 20) / codeBytes) * codeBytes
        var row = 0
        while row < count {
            let chunk = try file.read(upTo: min(step, (count - row) * codeBytes))
            guard !chunk.isEmpty else { break }
            try PackedCodes.checkPadding(chunk, bits: bits, firstRow: row, file: name)
            row += chunk.count / codeBytes
            checked?(row)
        }
    }

    private func checkHex() throws(DataError) {
        let reader = try LineReader(path: path)
        while let line = try reader.nextLine() {
            if CodeText.isSkippable(line) { continue }
            _ = try parse(line, lineNumber: reader.lineNumber)
            count += 1
            if count & 0xFFFF == 0 { checked?(count) }
        }
    }

    /// One hex line: `<id> <hex>` or `<hex>`, the same kind on every line.
    private func parse(_ line: ArraySlice<UInt8>, lineNumber: Int) throws(DataError) -> (id: UInt64?, code: BinaryCode) {
        let fieldCount = CodeText.fields(line).count
        let withID = fieldCount == 2
        if let linesHaveIDs, linesHaveIDs != withID, fieldCount <= 2 {
            throw DataError(file: name, line: lineNumber, linesHaveIDs
                ? "expected '<id> <hex code>' like the lines before, found a code without an id"
                : "expected a hex code alone like the lines before, found '<id> <hex code>'")
        }
        if withID {
            linesHaveIDs = true
            let e = try CodeText.entry(line, bits: bits, file: name, lineNumber: lineNumber)
            return (e.id, e.code)
        }
        guard fieldCount == 1 else {
            throw DataError(file: name, line: lineNumber, "expected '<id> <hex code>' or '<hex code>', found \(fieldCount) fields: '\(String(decoding: line.prefix(120), as: UTF8.self))'")
        }
        linesHaveIDs = false
        return (nil, try CodeText.code(line, bits: bits, file: name, lineNumber: lineNumber))
    }

    /// Calls `body` with consecutive batches of up to `size` codes: their ids (from the lines, the
    /// id file, or row numbers) and the codes packed back to back.
    public func forEachBatch(of size: Int, _ body: (_ ids: [UInt64], _ packed: [UInt8]) throws -> Void) throws {
        let size = max(1, size)
        let codeBytes = (bits + 7) / 8
        var row = 0
        func idsFor(_ n: Int) -> [UInt64] {
            ids.map { Array($0[row..<row + n]) } ?? (0..<n).map { UInt64(row + $0) }
        }
        switch format {
        case .hex:
            let reader = try LineReader(path: path)
            var batchIDs: [UInt64] = [], packed: [UInt8] = []
            var lineIDs = true
            func flush() throws {
                try body(lineIDs ? batchIDs : idsFor(batchIDs.count), packed)
                row += batchIDs.count
                batchIDs.removeAll(keepingCapacity: true)
                packed.removeAll(keepingCapacity: true)
            }
            while let line = try reader.nextLine() {
                if CodeText.isSkippable(line) { continue }
                let e = try parse(line, lineNumber: reader.lineNumber)
                lineIDs = e.id != nil
                batchIDs.append(e.id ?? 0)
                packed.append(contentsOf: e.code.bytes)
                if batchIDs.count == size { try flush() }
            }
            if !batchIDs.isEmpty { try flush() }
        case .raw, .npy:
            let file = try InputFile(path: path)
            if format == .npy { try file.seek(to: npyOffset) }
            while row < count {
                let n = min(size, count - row)
                let packed = try file.read(upTo: n * codeBytes)
                guard packed.count == n * codeBytes else {
                    throw DataError(file: name, kind: .io, "the file changed while it was read: expected \(n * codeBytes) more bytes at code \(row), found \(packed.count)")
                }
                try body(idsFor(n), packed)
                row += n
            }
        }
    }

    /// Every code, in input order.
    public func codes() throws -> [BinaryCode] {
        var out: [BinaryCode] = []
        out.reserveCapacity(count)
        try forEachBatch(of: 65536) { _, packed in out += try PackedCodes.codes(packed, bits: bits, file: name) }
        return out
    }
}
