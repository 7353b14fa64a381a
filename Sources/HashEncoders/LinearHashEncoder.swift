import CLinearAlgebra

/// A linear hash: bit k = [(x − μ)·w_k > 0]. LSH, PCAH and PCA-ITQ all take this form; they
/// differ in how the projection W (d × B) is learned.
public struct LinearHashEncoder: HashEncoder {
    public static let archiveVersion = 1

    public let method: String
    public let mean: [Double]
    /// d × B projection.
    public let projection: Matrix
    public let settings: [String: String]

    public var dimension: Int { projection.rows }
    public var bits: Int { projection.columns }

    public init(method: String, mean: [Double], projection: Matrix, settings: [String: String] = [:]) {
        precondition(mean.count == projection.rows)
        self.method = method
        self.mean = mean
        self.projection = projection
        self.settings = settings
    }

    public func project(_ x: Matrix) -> Matrix {
        x.subtractingRow(mean) * projection
    }

    /// The streaming path: each Float minus the mean goes straight into one Double buffer, one
    /// `dgemm` projects the batch, and the signs are packed — the arithmetic of ``project(_:)``
    /// (so the same codes) without its intermediate matrices.
    public func encode(rows n: Int, floats x: UnsafeBufferPointer<Float>) throws(EncoderError) -> [UInt8] {
        try checkFloats(rows: n, x)
        let d = dimension, b = bits
        if n == 0 { return [] }
        let centred = [Double](unsafeUninitializedCapacity: n * d) { p, initialized in
            mean.withUnsafeBufferPointer { mu in
                for i in 0..<n {
                    let row = x.baseAddress! + i * d, out = p.baseAddress! + i * d
                    for j in 0..<d { out[j] = Double(row[j]) - mu[j] }
                }
            }
            initialized = n * d
        }
        let h = [Double](unsafeUninitializedCapacity: n * b) { p, initialized in
            centred.withUnsafeBufferPointer { a in
                projection.values.withUnsafeBufferPointer { w in
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(b), Int32(d), 1,
                                a.baseAddress, Int32(d), w.baseAddress, Int32(b), 0, p.baseAddress, Int32(b))
                }
            }
            initialized = n * b
        }
        return Self.binarise(Matrix(rows: n, columns: b, values: h))
    }

    public func archive() -> EncoderArchive {
        EncoderArchive(method: method, version: Self.archiveVersion, bits: bits, dimension: dimension, settings: settings,
                       tensors: [("mean", Matrix(rows: 1, columns: mean.count, values: mean)), ("projection", projection)])
    }

    init(archive a: EncoderArchive) throws(EncoderError) {
        guard a.version <= Self.archiveVersion else { throw .newerArchive(method: a.method, found: a.version, supported: Self.archiveVersion) }
        let mean = try a.tensor("mean"), projection = try a.tensor("projection")
        guard mean.rows == 1, mean.columns == a.dimension, projection.rows == a.dimension, projection.columns == a.bits else {
            throw .invalidArchive("tensor shapes do not match \(a.dimension) dimensions and \(a.bits) bits")
        }
        self.init(method: a.method, mean: mean.values, projection: projection, settings: a.settings)
    }
}
