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

    /// Parses `<id> <hex>`: a decimal UInt64 id, whitespace, the packed code in hex.
    public static func entry(_ line: ArraySlice<UInt8>, bits: Int, file: String, lineNumber: Int) throws(DataError) -> (id: UInt64, code: BinaryCode) {
        let f = fields(line)
        guard f.count == 2 else {
            throw DataError(file: file, line: lineNumber, "expected '<id> <hex code>', found \(f.count) field\(f.count == 1 ? "" : "s"): '\(String(decoding: line.prefix(120), as: UTF8.self))'")
        }
        let idText = String(decoding: f[0], as: UTF8.self)
        guard let id = UInt64(idText) else {
            throw DataError(file: file, line: lineNumber, "expected an id between 0 and \(UInt64.max), found '\(idText.prefix(40))'")
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
