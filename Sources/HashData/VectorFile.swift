import CZlib
import Foundation

/// Real-valued vectors read from a file: `count` rows of `dimension` Floats, row-major.
public struct VectorSet: Sendable, Equatable {
    public var count: Int
    public var dimension: Int
    public var values: [Float]

    public init(count: Int, dimension: Int, values: [Float]) {
        precondition(values.count == count * dimension)
        self.count = count
        self.dimension = dimension
        self.values = values
    }
}

/// Readers for vector and label files: TEXMEX `.fvecs` / `.bvecs`, numpy `.npy` (float32,
/// float64, uint8; C order), IDX (the MNIST format, gzip or not; uint8 scaled to [0, 1]).
/// Every value is checked to be finite; truncated files and ragged dimensions are errors.
public enum VectorFile {
    /// Reads all vectors of a file, choosing the format by extension (`.fvecs`, `.bvecs`,
    /// `.npy`, else IDX). For large files, ``VectorReader`` reads a batch at a time instead.
    public static func read(_ path: String) throws(DataError) -> VectorSet {
        try VectorReader(path: path).readAll()
    }

    /// Reads integer labels: IDX label files (`*-labels-idx1-ubyte[.gz]`), `.npy` integer arrays,
    /// or text with one integer per line.
    public static func readLabels(_ path: String) throws(DataError) -> [Int] {
        let bytes = try load(path)
        if path.hasSuffix(".npy") {
            let header = try NpyHeader.parse(bytes, file: path)
            guard header.shape.count == 1 || (header.shape.count == 2 && header.shape[1] == 1) else {
                throw DataError(file: path, "expected a 1-D array of labels, found shape \(header.shape)")
            }
            let n = header.shape[0]
            let size = header.elementSize
            guard ["i", "u"].contains(header.descr.dropFirst().first.map(String.init) ?? ""), [1, 2, 4, 8].contains(size) else {
                throw DataError(file: path, "expected an integer dtype for labels, found '\(header.descr)'")
            }
            try SizeCheck.fits(try SizeCheck.product([n, size], file: path, what: "the labels"), at: header.dataOffset, in: bytes.count, file: path, what: "\(n) labels of \(size) bytes")
            let signed = header.descr.contains("i")
            return (0..<n).map { i in
                var v: UInt64 = 0
                for b in 0..<size { v |= UInt64(bytes[header.dataOffset + i * size + b]) << UInt64(8 * b) }
                if signed && size < 8 && v >> UInt64(8 * size - 1) & 1 == 1 { return Int(Int64(bitPattern: v | (~0 << UInt64(8 * size)))) }
                return Int(Int64(bitPattern: v))
            }
        }
        if bytes.count >= 8, bytes[0] == 0, bytes[1] == 0, bytes[2] == 0x08, bytes[3] == 1 {
            let n = bigEndian(bytes, 4)
            try SizeCheck.fits(n, at: 8, in: bytes.count, file: path, what: "\(n) labels")
            return bytes[8..<8 + n].map(Int.init)
        }
        var labels: [Int] = []
        for (i, line) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let v = Int(t) else { throw DataError(file: path, line: i + 1, "expected an integer label, found '\(t.prefix(40))'") }
            labels.append(v)
        }
        return labels
    }

    /// The file's bytes, gunzipped if it starts with the gzip magic.
    static func load(_ path: String) throws(DataError) -> [UInt8] {
        let bytes = try InputFile.contents(of: path)
        if bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b { return try gunzip(bytes, path: path) }
        return bytes
    }

    static func gunzip(_ input: [UInt8], path: String) throws(DataError) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError(file: path, "cannot start gzip decompression")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        var input = input
        input.withUnsafeMutableBufferPointer { inp in
            stream.next_in = inp.baseAddress
            stream.avail_in = UInt32(inp.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    output.append(contentsOf: out[0..<(out.count - Int(stream.avail_out))])
                }
            } while status == Z_OK
        }
        guard status == Z_STREAM_END else { throw DataError(file: path, "corrupt or truncated gzip data (zlib status \(status))") }
        return output
    }

    static func bigEndian(_ b: [UInt8], _ at: Int) -> Int {
        Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3])
    }
}
