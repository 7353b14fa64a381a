import HashData
import HashEncoders

// Streaming vector ingest, shared by the command (`add --vectors`, `encode`) and any program that
// loads a vector file into an index: one batch of floats in memory at a time.

/// Vectors of a file encoded a batch at a time: only one batch of Floats is in memory, and
/// `body` gets each batch's rows and packed codes in order.
public struct VectorEncoding {
    /// Rows per batch: 4,096 rows of 784 dimensions are 12.5 MiB of Floats, and small enough
    /// for a progress line to move.
    public static let batchRows = 4_096

    public let reader: VectorReader
    public let encoder: any HashEncoder

    /// Opens `path` and checks that its vectors have the encoder's dimension.
    public init(path: String, encoder: any HashEncoder) throws {
        reader = try VectorReader(path: path)
        self.encoder = encoder
        guard reader.dimension == encoder.dimension else {
            throw DataError(file: path, "\(EncoderError.dimensionMismatch(expected: encoder.dimension, found: reader.dimension))")
        }
    }

    public var count: Int { reader.count }

    /// Encodes every vector from the first, in order.
    public func forEachBatch(_ body: (Range<Int>, [UInt8]) throws -> Void) throws {
        reader.rewind()
        var buffer: [Float] = []
        while let rows = try reader.next(maxRows: Self.batchRows, into: &buffer) {
            let packed: [UInt8]
            do {
                packed = try buffer.withUnsafeBufferPointer { p throws(EncoderError) in try encoder.encode(rows: rows.count, floats: p) }
            } catch { throw DataError(file: reader.path, "\(error)") }
            try body(rows, packed)
        }
    }

    /// Reads every vector once without encoding, so a bad value is found before anything is
    /// written.
    public func check() throws {
        reader.rewind()
        var buffer: [Float] = []
        while try reader.next(maxRows: Self.batchRows, into: &buffer) != nil {}
    }
}
