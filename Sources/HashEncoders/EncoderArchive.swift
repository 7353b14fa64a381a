import Foundation
import Hamming

/// The serialised form of an encoder: self-describing and versioned.
///
/// Layout: the 16 bytes `hashidx-encoder\n`, a u32 little-endian length L, L bytes of UTF-8
/// JSON (`{"method", "version", "bits", "dimension", "settings", "tensors": [{"name", "rows",
/// "columns"}]}`), then each tensor's rows×columns float64 values, little-endian, row-major, in
/// the order listed.
public struct EncoderArchive: Equatable, Sendable {
    public static let magic = Array("hashidx-encoder\n".utf8)

    public var method: String
    /// Version of this method's archive layout.
    public var version: Int
    public var bits: Int
    public var dimension: Int
    /// Training settings and results, for the record (seed, epochs, losses, …).
    public var settings: [String: String]
    public var tensors: [(name: String, matrix: Matrix)]

    public init(method: String, version: Int, bits: Int, dimension: Int, settings: [String: String], tensors: [(name: String, matrix: Matrix)]) {
        self.method = method
        self.version = version
        self.bits = bits
        self.dimension = dimension
        self.settings = settings
        self.tensors = tensors
    }

    public static func == (a: EncoderArchive, b: EncoderArchive) -> Bool {
        a.method == b.method && a.version == b.version && a.bits == b.bits && a.dimension == b.dimension
            && a.settings == b.settings && a.tensors.map(\.name) == b.tensors.map(\.name) && a.tensors.map(\.matrix) == b.tensors.map(\.matrix)
    }

    /// What an archive holds, without its tensor values: for `hashidx model inspect` and `stat`.
    public struct Summary: Codable, Equatable, Sendable {
        public struct Tensor: Codable, Equatable, Sendable {
            public var name: String
            public var rows: Int
            public var columns: Int
        }
        public var method: String
        public var archiveVersion: Int
        public var bits: Int
        public var dimension: Int
        public var settings: [String: String]
        public var tensors: [Tensor]
        /// Float64 parameters in all tensors.
        public var parameters: Int
    }

    public var summary: Summary {
        Summary(method: method, archiveVersion: version, bits: bits, dimension: dimension, settings: settings,
                tensors: tensors.map { .init(name: $0.name, rows: $0.matrix.rows, columns: $0.matrix.columns) },
                parameters: tensors.reduce(0) { $0 + $1.matrix.rows * $1.matrix.columns })
    }

    /// The tensor called `name`.
    public func tensor(_ name: String) throws(EncoderError) -> Matrix {
        guard let t = tensors.first(where: { $0.name == name }) else { throw .invalidArchive("the \(method) archive has no tensor '\(name)'") }
        return t.matrix
    }

    private struct Header: Codable {
        var method: String
        var version: Int
        var bits: Int
        var dimension: Int
        var settings: [String: String]
        var tensors: [TensorHeader]
    }

    private struct TensorHeader: Codable {
        var name: String
        var rows: Int
        var columns: Int
    }

    public func encoded() -> [UInt8] {
        let header = Header(method: method, version: version, bits: bits, dimension: dimension, settings: settings,
                            tensors: tensors.map { TensorHeader(name: $0.name, rows: $0.matrix.rows, columns: $0.matrix.columns) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try! encoder.encode(header)
        var out = Self.magic
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for t in tensors {
            for v in t.matrix.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        }
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(EncoderError) -> EncoderArchive {
        guard bytes.count >= 20, Array(bytes[0..<16]) == magic else { throw .invalidArchive("it does not start with 'hashidx-encoder'") }
        let length = Int(UInt32(bytes[16]) | UInt32(bytes[17]) << 8 | UInt32(bytes[18]) << 16 | UInt32(bytes[19]) << 24)
        guard bytes.count >= 20 + length else { throw .invalidArchive("truncated header") }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(bytes[20..<20 + length])) } catch {
            throw .invalidArchive("unreadable JSON header: \(explainJSON(error, document: "the header"))")
        }
        guard (8...1024).contains(header.bits) else { throw .invalidArchive("expected a code width of 8…1024 bits, found \(header.bits)") }
        guard header.dimension >= 1 else { throw .invalidArchive("expected an input dimension of at least 1, found \(header.dimension)") }
        var at = 20 + length
        var tensors: [(name: String, matrix: Matrix)] = []
        for t in header.tensors {
            let (n, o1) = t.rows.multipliedReportingOverflow(by: t.columns)
            let (size, o2) = n.multipliedReportingOverflow(by: 8)
            guard t.rows >= 0, t.columns >= 0, !o1, !o2, size <= bytes.count - at else {
                throw .invalidArchive("tensor '\(t.name)' of \(t.rows) × \(t.columns) values needs more bytes than the \(bytes.count - at) left in the archive")
            }
            var values = [Double](repeating: 0, count: n)
            bytes.withUnsafeBytes { p in
                for i in 0..<n { values[i] = Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: at + 8 * i, as: UInt64.self))) }
            }
            at += 8 * n
            tensors.append((t.name, Matrix(rows: t.rows, columns: t.columns, values: values)))
        }
        guard at == bytes.count else { throw .invalidArchive("\(bytes.count - at) stray bytes after the tensors") }
        return EncoderArchive(method: header.method, version: header.version, bits: header.bits, dimension: header.dimension,
                              settings: header.settings, tensors: tensors)
    }

    /// Rebuilds the encoder this archive describes.
    public static func decodeEncoder(_ bytes: [UInt8]) throws(EncoderError) -> any HashEncoder {
        let a = try decode(bytes)
        guard let method = HashingMethod(rawValue: a.method) else { throw .unknownMethod(a.method) }
        return method.isNetwork ? try NeuralHashEncoder(archive: a) : try LinearHashEncoder(archive: a)
    }
}
