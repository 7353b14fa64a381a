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
    /// Reads vectors, choosing the format by extension (`.fvecs`, `.bvecs`, `.npy`, else IDX).
    public static func read(_ path: String) throws(DataError) -> VectorSet {
        let bytes = try load(path)
        let set: VectorSet
        if path.hasSuffix(".fvecs") { set = try texmex(bytes, path: path, elementSize: 4) }
        else if path.hasSuffix(".bvecs") { set = try texmex(bytes, path: path, elementSize: 1) }
        else if path.hasSuffix(".npy") { set = try npy(bytes, path: path) }
        else { set = try idxVectors(bytes, path: path) }
        guard set.dimension >= 1 else { throw DataError(file: path, "expected vectors of at least 1 dimension, found \(set.count) vectors of dimension 0") }
        if let bad = set.values.firstIndex(where: { !$0.isFinite }) {
            throw DataError(file: path, "vector \(bad / max(set.dimension, 1)) has a NaN or infinite value at dimension \(bad % max(set.dimension, 1)); expected finite numbers")
        }
        return set
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

    static func texmex(_ bytes: [UInt8], path: String, elementSize: Int) throws(DataError) -> VectorSet {
        guard bytes.count >= 4 else { throw DataError(file: path, "empty or truncated: no dimension header") }
        let d = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard d >= 1 else { throw DataError(file: path, "dimension must be at least 1, found \(d)") }
        let record = 4 + d * elementSize
        guard record <= bytes.count else {
            throw DataError(file: path, "truncated or lying header: dimension \(d) needs \(record)-byte records, the file has \(bytes.count) bytes")
        }
        guard bytes.count % record == 0 else {
            throw DataError(file: path, "truncated: \(bytes.count) bytes is not a whole number of \(record)-byte records of dimension \(d)")
        }
        let n = bytes.count / record
        var values = [Float](repeating: 0, count: n * d)
        var ragged: (Int, Int)?
        bytes.withUnsafeBytes { p in
            for i in 0..<n {
                let dim = Int(p.loadUnaligned(fromByteOffset: i * record, as: UInt32.self).littleEndian)
                if dim != d { ragged = (i, dim); return }
                for j in 0..<d {
                    let at = i * record + 4 + j * elementSize
                    values[i * d + j] = elementSize == 4
                        ? Float(bitPattern: p.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian)
                        : Float(p[at])
                }
            }
        }
        if let (i, dim) = ragged { throw DataError(file: path, "vector \(i) has dimension \(dim), expected \(d) like the first") }
        return VectorSet(count: n, dimension: d, values: values)
    }

    static func npy(_ bytes: [UInt8], path: String) throws(DataError) -> VectorSet {
        let h = try NpyHeader.parse(bytes, file: path)
        guard !h.fortranOrder else { throw DataError(file: path, "expected a C-order array, found fortran_order True") }
        guard h.shape.count == 2 else { throw DataError(file: path, "expected a 2-D array (N, d), found shape \(h.shape)") }
        let n = h.shape[0], d = h.shape[1]
        let size: Int
        switch h.descr {
        case "<f4", "=f4": size = 4
        case "<f8", "=f8": size = 8
        case "|u1", "u1", "<u1": size = 1
        default: throw DataError(file: path, "expected dtype float32, float64 or uint8 (little-endian), found '\(h.descr)'")
        }
        let total = try SizeCheck.product([n, d, size], file: path, what: "shape (\(n), \(d))")
        try SizeCheck.fits(total, at: h.dataOffset, in: bytes.count, file: path, what: "\(n) × \(d) values of \(size) bytes")
        var values = [Float](repeating: 0, count: n * d)
        bytes.withUnsafeBytes { p in
            let base = h.dataOffset
            for i in 0..<(n * d) {
                switch size {
                case 4: values[i] = Float(bitPattern: p.loadUnaligned(fromByteOffset: base + 4 * i, as: UInt32.self).littleEndian)
                case 8: values[i] = Float(Double(bitPattern: p.loadUnaligned(fromByteOffset: base + 8 * i, as: UInt64.self).littleEndian))
                default: values[i] = Float(p[base + i])
                }
            }
        }
        return VectorSet(count: n, dimension: d, values: values)
    }

    /// IDX unsigned-byte tensors (magic 0x00000803 for images): rows = first dimension, the rest
    /// flattened, values scaled to [0, 1].
    static func idxVectors(_ bytes: [UInt8], path: String) throws(DataError) -> VectorSet {
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(file: path, "unknown format: expected .fvecs, .bvecs, .npy or an IDX file")
        }
        guard bytes[2] == 0x08 else { throw DataError(file: path, "expected IDX type 0x08 (unsigned byte), found 0x\(String(bytes[2], radix: 16))") }
        let dims = Int(bytes[3])
        guard dims >= 1, bytes.count >= 4 + 4 * dims else { throw DataError(file: path, "truncated IDX header") }
        let shape = (0..<dims).map { bigEndian(bytes, 4 + 4 * $0) }
        let n = shape[0]
        let d = try SizeCheck.product(Array(shape.dropFirst()), file: path, what: "IDX dimensions \(shape)")
        let start = 4 + 4 * dims
        try SizeCheck.fits(try SizeCheck.product([n, d], file: path, what: "IDX dimensions \(shape)"), at: start, in: bytes.count, file: path, what: "IDX dimensions \(shape)")
        return VectorSet(count: n, dimension: d, values: bytes[start..<start + n * d].map { Float($0) / 255 })
    }
}
