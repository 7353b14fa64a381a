import Hamming

/// Parses the text forms of codes: `<id> <hex>` lines for loading, bare hex lines for queries.
public enum CodeText {
    /// Splits a line into whitespace-separated fields.
    static func fields(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 })
    }

    /// True for a blank line or a comment (first non-blank character '#'); such lines are skipped.
    public static func isSkippable(_ line: ArraySlice<UInt8>) -> Bool {
        guard let first = line.first(where: { $0 != 0x20 && $0 != 0x09 }) else { return true }
        return first == UInt8(ascii: "#")
    }

    /// Parses a decimal UInt64 id: digits only (no sign, no blanks), at most 2^64 − 1; nil otherwise.
    public static func id(_ text: ArraySlice<UInt8>) -> UInt64? {
        guard !text.isEmpty, text.count <= 20 else { return nil }
        var v: UInt64 = 0
        for c in text {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            let (times10, o1) = v.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(c - 0x30))
            if o1 || o2 { return nil }
            v = sum
        }
        return v
    }

    /// Parses a line holding one id (surrounding blanks ignored); nil if it is anything else.
    public static func idLine(_ line: ArraySlice<UInt8>) -> UInt64? {
        var lo = line.startIndex, hi = line.endIndex
        while lo < hi && (line[lo] == 0x20 || line[lo] == 0x09 || line[lo] == 0x0d) { lo += 1 }
        while hi > lo && (line[hi - 1] == 0x20 || line[hi - 1] == 0x09 || line[hi - 1] == 0x0d) { hi -= 1 }
        return id(line[lo..<hi])
    }

    /// Every id of a file of ids, one per line (blank and '#' lines skipped).
    /// - Throws: ``DataError`` naming the file, line and text of the first line that is not an id.
    public static func ids(_ reader: LineReader) throws(DataError) -> [UInt64] {
        var list: [UInt64] = []
        while let line = try reader.nextLine() {
            if isSkippable(line) { continue }
            guard let id = idLine(line) else {
                throw DataError(file: reader.name, line: reader.lineNumber, "expected an id between 0 and \(UInt64.max), found '\(String(decoding: line.prefix(40), as: UTF8.self))'")
            }
            list.append(id)
        }
        return list
    }

    /// The ids of the file at `idFile`, which must hold exactly `count`: one per `item` of `source`.
    /// - Throws: ``DataError`` for a line that is not an id, or a different number of ids.
    public static func ids(_ idFile: String, count: Int, oneEach item: String) throws(DataError) -> [UInt64] {
        let list = try ids(try LineReader(path: idFile))
        guard list.count == count else {
            throw DataError(file: idFile, "expected \(count) ids, one per \(item), found \(list.count)")
        }
        return list
    }

    /// `<id> <hex>` lines, one per code of `packed` (⌈B/8⌉ = `codeBytes` bytes each), the form
    /// `hashidx add` and `--queries` read.
    public static func lines(ids: some Sequence<UInt64>, packed: [UInt8], codeBytes: Int) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(packed.count / max(1, codeBytes) * (2 * codeBytes + 22))
        for (i, id) in ids.enumerated() {
            text += Array(String(id).utf8)
            text.append(0x20)
            for b in packed[i * codeBytes ..< (i + 1) * codeBytes] {
                text.append(digits[Int(b >> 4)])
                text.append(digits[Int(b & 15)])
            }
            text.append(0x0A)
        }
        return text
    }

    /// Parses `<id> <hex>`: a decimal UInt64 id, whitespace, the packed code in hex.
    public static func entry(_ line: ArraySlice<UInt8>, bits: Int, file: String, lineNumber: Int) throws(DataError) -> (id: UInt64, code: BinaryCode) {
        let f = fields(line)
        guard f.count == 2 else {
            throw DataError(file: file, line: lineNumber, "expected '<id> <hex code>', found \(f.count) field\(f.count == 1 ? "" : "s"): '\(String(decoding: line.prefix(120), as: UTF8.self))'")
        }
        guard let id = id(f[0]) else {
            throw DataError(file: file, line: lineNumber, "expected an id between 0 and \(UInt64.max), found '\(String(decoding: f[0].prefix(40), as: UTF8.self))'")
        }
        return (id, try code(f[1], bits: bits, file: file, lineNumber: lineNumber))
    }

    /// Parses one hex code (surrounding blanks ignored).
    public static func code(_ text: ArraySlice<UInt8>, bits: Int, file: String, lineNumber: Int) throws(DataError) -> BinaryCode {
        let f = fields(text)
        guard f.count == 1 else {
            throw DataError(file: file, line: lineNumber, "expected one hex code, found \(f.count) fields")
        }
        do { return try BinaryCode(hex: String(decoding: f[0], as: UTF8.self), bits: bits) } catch {
            throw DataError(file: file, line: lineNumber, error.description)
        }
    }
}
