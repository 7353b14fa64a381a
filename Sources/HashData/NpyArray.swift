import Foundation

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
    public static func parse(_ data: Data, file: String) throws(DataError) -> NpyHeader {
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
        guard bytes.count >= start + headerLength else { throw DataError(file: file, "truncated .npy header") }
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

/// Reads a 2-D `uint8` `.npy` array of packed codes, `rows` × `columns`, in row batches.
public final class NpyCodeFile {
    public let header: NpyHeader
    public let rows: Int
    public let columns: Int
    private let handle: FileHandle
    private var nextRow = 0
    private let file: String

    /// Opens `path` and checks it holds a C-order uint8 array of shape (N, `expectedColumns`).
    public init(path: String, expectedColumns: Int) throws(DataError) {
        file = path
        guard let h = FileHandle(forReadingAtPath: path) else { throw DataError(file: path, "cannot open the file for reading") }
        handle = h
        let head: Data
        do { head = try h.read(upToCount: 65536 + 12) ?? Data() } catch { throw DataError(file: path, "cannot read: \(error)") }
        header = try NpyHeader.parse(head, file: path)
        guard header.descr == "|u1" || header.descr == "u1" || header.descr == "<u1" else {
            throw DataError(file: path, "expected a uint8 array (dtype '|u1'), found dtype '\(header.descr)'")
        }
        guard !header.fortranOrder else { throw DataError(file: path, "expected a C-order array, found fortran_order True") }
        guard header.shape.count == 2, header.shape[1] == expectedColumns else {
            throw DataError(file: path, "expected shape (N, \(expectedColumns)) for packed codes, found \(header.shape)")
        }
        rows = header.shape[0]
        columns = header.shape[1]
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size >= header.dataOffset + rows * columns else {
            throw DataError(file: path, "truncated: \(rows) × \(columns) bytes of data expected after the header, found \(max(0, size - header.dataOffset))")
        }
        do { try h.seek(toOffset: UInt64(header.dataOffset)) } catch { throw DataError(file: path, "cannot seek: \(error)") }
    }

    deinit { try? handle.close() }

    /// The next up to `maxRows` rows, packed back to back; empty at the end.
    public func next(maxRows: Int) throws(DataError) -> [UInt8] {
        let n = min(maxRows, rows - nextRow)
        if n <= 0 { return [] }
        let data: Data
        do { data = try handle.read(upToCount: n * columns) ?? Data() } catch { throw DataError(file: file, "cannot read: \(error)") }
        guard data.count == n * columns else { throw DataError(file: file, "truncated at row \(nextRow)") }
        nextRow += n
        return [UInt8](data)
    }
}

/// Writes a 2-D array as `.npy` (format version 1.0, C order).
public enum NpyWriter {
    /// The complete file: header for `descr` and `shape`, then `data` (already in C order).
    public static func file(descr: String, shape: [Int], data: [UInt8]) -> [UInt8] {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = 10 + text.utf8.count + 1
        text += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let len = text.utf8.count
        out += [UInt8(len & 0xff), UInt8(len >> 8)]
        out += Array(text.utf8)
        out += data
        return out
    }
}
