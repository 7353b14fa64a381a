import Hamming
import HashData
import HashIdx

extension HashIndex {
    /// Creates an index whose codes come from `encoder`; the encoder is stored inside it.
    public static func create(at path: String, encoder: any HashEncoder, substringCount: Int? = nil,
                              expectedCount: Int = 1_000_000) throws(HashIdxError) -> HashIndex {
        try create(at: path, .init(bits: encoder.bits, substringCount: substringCount, expectedCount: expectedCount,
                                   encoder: encoder.archive().encoded()))
    }

    /// The encoder stored in the index, or nil for an index of raw codes.
    public func encoder() throws -> (any HashEncoder)? {
        guard let blob = try encoderBlob() else { return nil }
        return try EncoderArchive.decodeEncoder(blob)
    }

    private func requireEncoder() throws -> any HashEncoder {
        guard let e = try encoder() else { throw EncoderError.invalidConfiguration("the index at '\(path)' has no encoder; give codes, not vectors") }
        return e
    }

    /// Encodes each row of `vectors` with the stored encoder and inserts it under `ids[i]`.
    @discardableResult
    public func insert(vectors: Matrix, ids: [UInt64]) throws -> InsertSummary {
        guard ids.count == vectors.rows else { throw EncoderError.labelsMismatch(expected: vectors.rows, found: ids.count) }
        return try insert(ids: ids, packedCodes: try requireEncoder().encode(vectors))
    }

    /// The stored encoder's codes for each row of `vectors`.
    public func encode(vectors: Matrix) throws -> [BinaryCode] {
        let e = try requireEncoder()
        let packed = try e.encode(vectors)
        let n = (e.bits + 7) / 8
        return (0..<vectors.rows).map { try! BinaryCode(bytes: Array(packed[$0 * n ..< ($0 + 1) * n]), bits: e.bits) }
    }
}

extension Matrix {
    /// The vectors of a file, as a matrix.
    public init(_ set: VectorSet) {
        self.init(rows: set.count, columns: set.dimension, values: set.values.map(Double.init))
    }
}
