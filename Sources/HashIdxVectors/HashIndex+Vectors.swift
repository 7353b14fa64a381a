import Hamming
import HashData
import HashEncoders
import HashIdx

extension HashIndex {
    /// Creates an index whose codes come from `encoder`; the encoder is stored inside it.
    public static func create(at path: String, encoder: any HashEncoder, substringCount: Int? = nil,
                              expectedCount: Int = 1_000_000) throws(HashIdxError) -> HashIndex {
        try create(at: path, .init(bits: encoder.bits, substringCount: substringCount, expectedCount: expectedCount,
                                   encoder: encoder.archive().encoded()))
    }

    /// The encoder stored in the index, or nil for an index of raw codes.
    /// - Throws: ``HashIdxError/encoder(_:)`` if the stored archive cannot be read.
    public func encoder() throws(HashIdxError) -> (any HashEncoder)? {
        guard let blob = try encoderBlob() else { return nil }
        do { return try EncoderArchive.decodeEncoder(blob) } catch { throw .encoder("the index's stored encoder: \(error)") }
    }

    private func requireEncoder() throws(HashIdxError) -> any HashEncoder {
        guard let e = try encoder() else { throw .encoder("the index at '\(path)' has no encoder; give codes, not vectors") }
        return e
    }

    /// Encodes each row of `vectors` with the stored encoder and inserts it under `ids[i]`.
    /// - Throws: ``HashIdxError`` only: encoder failures are ``HashIdxError/encoder(_:)``.
    @discardableResult
    public func insert(vectors: Matrix, ids: [UInt64]) throws(HashIdxError) -> InsertSummary {
        guard ids.count == vectors.rows else { throw .encoder("expected one id per vector (\(vectors.rows)), found \(ids.count)") }
        let packed: [UInt8]
        do { packed = try requireEncoder().encode(vectors) } catch let e as HashIdxError { throw e } catch { throw .encoder("\(error)") }
        return try insert(ids: ids, packedCodes: packed)
    }

    /// The stored encoder's codes for each row of `vectors`.
    /// - Throws: ``HashIdxError/encoder(_:)``.
    public func encode(vectors: Matrix) throws(HashIdxError) -> [BinaryCode] {
        let e = try requireEncoder()
        let packed: [UInt8]
        do { packed = try e.encode(vectors) } catch { throw .encoder("\(error)") }
        do { return try PackedCodes.codes(packed, bits: e.bits, file: "the encoder's output") } catch { throw .encoder("\(error)") }
    }
}

extension Matrix {
    /// The vectors of a file, as a matrix.
    public init(_ set: VectorSet) {
        self.init(rows: set.count, columns: set.dimension, values: set.values.map(Double.init))
    }
}

extension EncoderArchive {
    /// Reads the encoder saved at `path` (by ``save(_:to:)`` or `hashidx train`).
    /// - Throws: ``HashData/DataError`` naming the file and what is wrong with it.
    public static func load(from path: String) throws(DataError) -> any HashEncoder {
        let bytes = try InputFile.contents(of: path)
        do { return try decodeEncoder(bytes) } catch { throw DataError(file: path, "\(error)") }
    }

    /// Saves `encoder` to `path`, written aside and renamed: the file is either the old one or
    /// the whole new one.
    public static func save(_ encoder: any HashEncoder, to path: String) throws(DataError) {
        try AtomicOutputFile.write(encoder.archive().encoded(), to: path)
    }
}
