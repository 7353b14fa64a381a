import Hamming

/// A hash function learned from data: a vector of `dimension` Floats in, a `bits`-bit code out.
///
/// Encoders are deterministic (the same vector always gives the same code), binarise with
/// bit = 1 iff the real output is > 0, and serialise to a versioned, self-describing archive
/// (``EncoderArchive``) that ``EncoderArchive/decodeEncoder(_:)`` reads back.
public protocol HashEncoder: Sendable {
    /// The method name stored in the archive: a ``HashingMethod`` raw value.
    var method: String { get }
    /// Input dimension d.
    var dimension: Int { get }
    /// Code width B in bits.
    var bits: Int { get }
    /// The real-valued outputs (N × B) whose signs are the code bits.
    func project(_ x: Matrix) -> Matrix
    /// The archive of this encoder.
    func archive() -> EncoderArchive
    /// Codes of `rows` vectors stored back to back as Floats (row-major, `rows × dimension`),
    /// packed as ``encode(_:)-(Matrix)`` packs them, and the same codes. The streaming path:
    /// callers read a file a batch at a time and hand each batch over without a Double copy of
    /// their own. A default implementation goes through ``project(_:)``.
    /// - Throws: ``EncoderError/nonFinite(row:column:)``.
    func encode(rows: Int, floats: UnsafeBufferPointer<Float>) throws(EncoderError) -> [UInt8]
}

/// Why an encoder could not be trained, loaded or applied.
public enum EncoderError: Error, Equatable, Sendable, CustomStringConvertible {
    case dimensionMismatch(expected: Int, found: Int)
    case nonFinite(row: Int, column: Int)
    case invalidArchive(String)
    case newerArchive(method: String, found: Int, supported: Int)
    case unknownMethod(String)
    case invalidConfiguration(String)
    /// A training option out of range or malformed, named by its key (`learning_rate`): refused
    /// before any work.
    case invalidOption(String)
    case labelsMismatch(expected: Int, found: Int)
    case linearAlgebra(String)

    public var description: String {
        switch self {
        case .dimensionMismatch(let e, let f): return "the encoder takes \(e)-dimensional vectors, found \(f) dimensions"
        case .nonFinite(let r, let c): return "vector \(r) has a NaN or infinite value at dimension \(c); expected finite numbers"
        case .invalidArchive(let why): return "not a valid encoder archive: \(why)"
        case .newerArchive(let m, let f, let s): return "the \(m) encoder has archive version \(f), newer than the newest this build reads (\(s))"
        case .unknownMethod(let m): return "unknown encoder method '\(m)'; expected one of \(HashingMethod.names)"
        case .invalidConfiguration(let why): return why
        case .invalidOption(let why): return why
        case .labelsMismatch(let e, let f): return "expected one label per training vector (\(e)), found \(f)"
        case .linearAlgebra(let why): return why
        }
    }
}

extension HashEncoder {
    /// Codes of every row of `x`, packed back to back (⌈B/8⌉ bytes each, bit i = bit (i & 7) of byte i >> 3).
    /// - Throws: ``EncoderError/dimensionMismatch(expected:found:)``, ``EncoderError/nonFinite(row:column:)``.
    public func encode(_ x: Matrix) throws(EncoderError) -> [UInt8] {
        try check(x)
        return Self.binarise(project(x))
    }

    public func encode(rows: Int, floats: UnsafeBufferPointer<Float>) throws(EncoderError) -> [UInt8] {
        try checkFloats(rows: rows, floats)
        return Self.binarise(project(Matrix(rows: rows, columns: dimension, values: floats.map(Double.init))))
    }

    /// Checks that `floats` holds `rows` finite vectors of this encoder's dimension.
    func checkFloats(rows: Int, _ floats: UnsafeBufferPointer<Float>) throws(EncoderError) {
        guard rows >= 0, floats.count == rows * dimension else {
            throw .dimensionMismatch(expected: dimension, found: rows > 0 ? floats.count / rows : floats.count)
        }
        if let bad = firstNonFinite(floats) { throw .nonFinite(row: bad / dimension, column: bad % dimension) }
    }

    /// The code of one vector.
    public func encode(_ vector: [Float]) throws(EncoderError) -> BinaryCode {
        let packed = try encode(Matrix(rows: 1, columns: vector.count, values: vector.map(Double.init)))
        return try! BinaryCode(bytes: packed, bits: bits)
    }

    /// Checks the width and finiteness of `x`.
    public func check(_ x: Matrix) throws(EncoderError) {
        guard x.columns == dimension else { throw .dimensionMismatch(expected: dimension, found: x.columns) }
        if let bad = x.values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: bad / x.columns, column: bad % x.columns) }
    }

    /// Packs signs: bit = 1 iff the value is > 0.
    static func binarise(_ h: Matrix) -> [UInt8] {
        let bytes = (h.columns + 7) / 8
        var out = [UInt8](repeating: 0, count: h.rows * bytes)
        for i in 0..<h.rows {
            for j in 0..<h.columns where h.values[i * h.columns + j] > 0 {
                out[i * bytes + (j >> 3)] |= 1 << UInt8(j & 7)
            }
        }
        return out
    }
}
