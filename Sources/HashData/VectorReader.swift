import Hamming

/// Vectors read from a file a batch at a time, as Floats, without holding the file in memory:
/// TEXMEX `.fvecs` / `.bvecs`, numpy `.npy` (float32, float64, uint8; C order) and IDX (uint8
/// scaled to [0, 1]), chosen by extension (`.fvecs`, `.bvecs`, `.npy`, else IDX).
///
/// The header is read and checked when the reader is made: `count` and `dimension` are known
/// before any vector is read, and the file is checked to hold all of them. A regular,
/// uncompressed file is read in place with `pread`; gzip files and standard input ("-") are read
/// into memory first. Every value read is checked to be finite, and every `.fvecs`/`.bvecs` row's
/// own dimension against the first: a bad row is reported when the batch holding it is read.
public final class VectorReader {
    /// The file (or "-" for standard input).
    public let path: String
    /// Number of vectors.
    public let count: Int
    /// Floats per vector.
    public let dimension: Int
    /// The next row ``next(maxRows:into:)`` returns.
    public private(set) var position = 0

    private enum Element { case float32, float64, uint8, unitUInt8 }
    private enum Source { case file(InputFile), memory([UInt8]) }

    private let element: Element
    private let source: Source
    /// Byte offset of row 0.
    private let dataOffset: Int
    /// Bytes per row: d values, plus the 4-byte dimension of each `.fvecs`/`.bvecs` row.
    private let recordSize: Int
    private let rowHeader: Bool
    /// Raw rows of a format that needs converting, reused from batch to batch.
    private var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    /// Opens `path` and checks its header.
    /// - Throws: ``DataError`` naming the file and what is wrong with it.
    public init(path: String) throws(DataError) {
        self.path = path
        let file = try InputFile(path: path)
        // The first bytes tell gzip apart and hold every header (an npy header is at most 64 KiB).
        let source: Source
        var head: [UInt8] = []
        if let size = file.size {
            head = try file.read(upTo: min(size, 65_536 + 12))
            if head.count >= 2 && head[0] == 0x1f && head[1] == 0x8b {
                try file.seek(to: 0)
                source = .memory(try VectorFile.gunzip(try file.readToEnd(), path: path))
            } else {
                source = .file(file)
            }
        } else {
            var bytes = try file.readToEnd()
            if bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b { bytes = try VectorFile.gunzip(bytes, path: path) }
            source = .memory(bytes)
        }
        let header: [UInt8], total: Int
        switch source {
        case .file(let f): header = head; total = f.size ?? 0
        case .memory(let bytes): header = Array(bytes.prefix(65_536 + 12)); total = bytes.count
        }
        let shape = try Self.parseHeader(header, fileSize: total, path: path)
        self.source = source
        (count, dimension, element, dataOffset, rowHeader) = (shape.count, shape.dimension, shape.element, shape.offset, shape.rowHeader)
        recordSize = shape.dimension * Self.size(of: shape.element) + (shape.rowHeader ? 4 : 0)
        guard dimension >= 1 else {
            throw DataError(file: path, "expected vectors of at least 1 dimension, found \(count) vectors of dimension 0")
        }
    }

    deinit { scratch.deallocate() }

    private static func size(of e: Element) -> Int {
        switch e {
        case .float32: return 4
        case .float64: return 8
        case .uint8, .unitUInt8: return 1
        }
    }

    private struct Shape {
        var count: Int, dimension: Int, element: Element, offset: Int, rowHeader: Bool
    }

    private static func parseHeader(_ bytes: [UInt8], fileSize: Int, path: String) throws(DataError) -> Shape {
        if path.hasSuffix(".fvecs") || path.hasSuffix(".bvecs") {
            let elementSize = path.hasSuffix(".fvecs") ? 4 : 1
            guard bytes.count >= 4 else { throw DataError(file: path, "empty or truncated: no dimension header") }
            let d = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
            guard d >= 1 else { throw DataError(file: path, "dimension must be at least 1, found \(d)") }
            let record = 4 + d * elementSize
            guard record <= fileSize else {
                throw DataError(file: path, "truncated or lying header: dimension \(d) needs \(record)-byte records, the file has \(fileSize) bytes")
            }
            guard fileSize % record == 0 else {
                throw DataError(file: path, "truncated: \(fileSize) bytes is not a whole number of \(record)-byte records of dimension \(d)")
            }
            return Shape(count: fileSize / record, dimension: d, element: elementSize == 4 ? .float32 : .uint8, offset: 0, rowHeader: true)
        }
        if path.hasSuffix(".npy") {
            let h = try NpyHeader.parse(bytes, file: path)
            guard !h.fortranOrder else { throw DataError(file: path, "expected a C-order array, found fortran_order True") }
            guard h.shape.count == 2 else { throw DataError(file: path, "expected a 2-D array (N, d), found shape \(h.shape)") }
            let n = h.shape[0], d = h.shape[1]
            let element: Element
            switch h.descr {
            case "<f4", "=f4": element = .float32
            case "<f8", "=f8": element = .float64
            case "|u1", "u1", "<u1": element = .uint8
            default: throw DataError(file: path, "expected dtype float32, float64 or uint8 (little-endian), found '\(h.descr)'")
            }
            let total = try SizeCheck.product([n, d, size(of: element)], file: path, what: "shape (\(n), \(d))")
            try SizeCheck.fits(total, at: h.dataOffset, in: fileSize, file: path, what: "\(n) × \(d) values of \(size(of: element)) bytes")
            return Shape(count: n, dimension: d, element: element, offset: h.dataOffset, rowHeader: false)
        }
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
            throw DataError(file: path, "unknown format: expected .fvecs, .bvecs, .npy or an IDX file")
        }
        guard bytes[2] == 0x08 else { throw DataError(file: path, "expected IDX type 0x08 (unsigned byte), found 0x\(String(bytes[2], radix: 16))") }
        let dims = Int(bytes[3])
        guard dims >= 1, bytes.count >= 4 + 4 * dims else { throw DataError(file: path, "truncated IDX header") }
        let shape = (0..<dims).map { VectorFile.bigEndian(bytes, 4 + 4 * $0) }
        let n = shape[0]
        let d = try SizeCheck.product(Array(shape.dropFirst()), file: path, what: "IDX dimensions \(shape)")
        let start = 4 + 4 * dims
        try SizeCheck.fits(try SizeCheck.product([n, d], file: path, what: "IDX dimensions \(shape)"), at: start, in: fileSize, file: path, what: "IDX dimensions \(shape)")
        return Shape(count: n, dimension: d, element: .unitUInt8, offset: start, rowHeader: false)
    }

    /// Reads rows `rows` into `out` (`rows.count × dimension` Floats, row-major).
    /// - Throws: ``DataError`` for a non-finite value, a row of another dimension, or a failed read.
    public func read(_ rows: Range<Int>, into out: UnsafeMutableBufferPointer<Float>) throws(DataError) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= count && out.count >= rows.count * dimension)
        if rows.isEmpty { return }
        let d = dimension
        let offset = dataOffset + rows.lowerBound * recordSize
        let length = rows.count * recordSize
        // float32 rows without per-row headers go straight into `out`.
        if element == .float32 && !rowHeader {
            try fill(UnsafeMutableRawBufferPointer(start: out.baseAddress, count: length), from: offset)
            #if _endian(big)
            for i in 0..<rows.count * d { out[i] = Float(bitPattern: UInt32(littleEndian: out[i].bitPattern)) }
            #endif
        } else {
            if scratch.count < length {
                scratch.deallocate()
                scratch = .allocate(byteCount: length, alignment: 16)
            }
            do {
                let p = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length])
                try fill(p, from: offset)
                let skip = rowHeader ? 4 : 0
                for r in 0..<rows.count {
                    let record = r * recordSize
                    if rowHeader {
                        let dim = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: record, as: UInt32.self)))
                        guard dim == d else { throw DataError(file: path, "vector \(rows.lowerBound + r) has dimension \(dim), expected \(d) like the first") }
                    }
                    let o = out.baseAddress! + r * d, at = record + skip
                    switch element {
                    case .float32: for j in 0..<d { o[j] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: at + 4 * j, as: UInt32.self))) }
                    case .float64: for j in 0..<d { o[j] = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: at + 8 * j, as: UInt64.self)))) }
                    case .uint8: for j in 0..<d { o[j] = Float(p[at + j]) }
                    case .unitUInt8: for j in 0..<d { o[j] = Float(p[at + j]) / 255 }
                    }
                }
            }
        }
        if let bad = firstNonFinite(UnsafeBufferPointer(rebasing: out[0..<rows.count * d])) {
            throw DataError(file: path, "vector \(rows.lowerBound + bad / d) has a NaN or infinite value at dimension \(bad % d); expected finite numbers")
        }
    }

    /// The next up to `maxRows` vectors, after those already returned: `buffer` is resized to
    /// hold them and the range of their rows is returned; nil once every vector was read.
    public func next(maxRows: Int, into buffer: inout [Float]) throws(DataError) -> Range<Int>? {
        precondition(maxRows >= 1)
        guard position < count else { return nil }
        let rows = position..<min(count, position + maxRows)
        if buffer.count != rows.count * dimension { buffer = [Float](repeating: 0, count: rows.count * dimension) }
        try buffer.withUnsafeMutableBufferPointer { (p: inout UnsafeMutableBufferPointer<Float>) throws(DataError) in try read(rows, into: p) }
        position = rows.upperBound
        return rows
    }

    /// Starts again from the first vector.
    public func rewind() { position = 0 }

    /// Every vector, as one set.
    public func readAll() throws(DataError) -> VectorSet {
        var values = [Float](repeating: 0, count: count * dimension)
        try values.withUnsafeMutableBufferPointer { (p: inout UnsafeMutableBufferPointer<Float>) throws(DataError) in
            // In steps of about 8 MiB, so the scratch buffer of a converted format stays small.
            let step = max(1, (8 << 20) / max(recordSize, 1))
            for first in stride(from: 0, to: count, by: step) {
                let rows = first..<min(count, first + step)
                try read(rows, into: UnsafeMutableBufferPointer(rebasing: p[rows.lowerBound * dimension ..< rows.upperBound * dimension]))
            }
        }
        scratch.deallocate()
        scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        return VectorSet(count: count, dimension: dimension, values: values)
    }

    private func fill(_ buffer: UnsafeMutableRawBufferPointer, from offset: Int) throws(DataError) {
        switch source {
        case .memory(let bytes):
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + buffer.count])) }
        case .file(let f):
            try f.read(at: offset, into: buffer)
        }
    }
}
