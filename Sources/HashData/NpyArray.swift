/// The header of a numpy `.npy` file (format versions 1–3): element type, shape and where the
/// C-order data begins. Data is read in slices, never all at once.
public struct NpyHeader: Equatable, Sendable {
    /// The dtype descriptor, for example `|u1`, `<f4`, `<f8`.
    public var descr: String
    public var fortranOrder: Bool
    public var shape: [Int]
    /// Byte offset of the first element.
    public var dataOffset: Int

    /// Bytes per element of `descr` (from its trailing digits).
    public var elementSize: Int { Int(descr.drop { !$0.isNumber }) ?? 0 }

    /// Parses the header at the start of `data`.
    public static func parse(_ data: some Collection<UInt8>, file: String) throws(DataError) -> NpyHeader {
        let bytes = [UInt8](data.prefix(65536 + 12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else {
            throw DataError(file: file, "expected a .npy file (magic \\x93NUMPY), found other bytes")
        }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw DataError(file: file, "truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
        default: throw DataError(file: file, "expected .npy format version 1, 2 or 3, found \(major)")
        }
        guard bytes.count >= start + headerLength else {
            throw DataError(file: file, "truncated .npy header: \(headerLength) header bytes announced, \(bytes.count - start) found (at most 65,536 are read)")
        }
        let text = String(decoding: bytes[start..<start + headerLength], as: UTF8.self)
        func value(_ key: String) -> Substring? {
            guard let r = text.range(of: "'\(key)':") else { return nil }
            return text[r.upperBound...].drop { $0 == " " }
        }
        guard let d = value("descr"), d.first == "'", let close = d.dropFirst().firstIndex(of: "'") else {
            throw DataError(file: file, "the .npy header has no 'descr'")
        }
        let descr = String(d[d.index(after: d.startIndex)..<close])
        guard let f = value("fortran_order") else { throw DataError(file: file, "the .npy header has no 'fortran_order'") }
        let fortran = f.hasPrefix("True")
        guard let s = value("shape"), s.first == "(", let end = s.firstIndex(of: ")") else {
            throw DataError(file: file, "the .npy header has no 'shape'")
        }
        let dims = s[s.index(after: s.startIndex)..<end].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for dim in dims {
            guard let n = Int(dim.hasSuffix("L") ? String(dim.dropLast()) : dim), n >= 0 else {
                throw DataError(file: file, "the .npy shape has a bad dimension '\(dim)'")
            }
            shape.append(n)
        }
        return NpyHeader(descr: descr, fortranOrder: fortran, shape: shape, dataOffset: start + headerLength)
    }
}

/// Writes a 2-D array as `.npy` (format version 1.0, C order).
public enum NpyWriter {
    /// The complete file: header for `descr` and `shape`, then `data` (already in C order).
    public static func file(descr: String, shape: [Int], data: [UInt8]) -> [UInt8] {
        header(descr: descr, shape: shape) + data
    }

    /// The header alone (magic, version 1.0, the dictionary padded to 64 bytes): the data follows.
    public static func header(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = 10 + text.utf8.count + 1
        text += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let len = text.utf8.count
        out += [UInt8(len & 0xff), UInt8(len >> 8)]
        out += Array(text.utf8)
        return out
    }
}
