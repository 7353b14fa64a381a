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

    /// The streaming path: each Float minus the mean goes straight into one Double buffer, which
    /// is projected and binarised — the arithmetic of ``project(_:)`` (so the same codes) without
    /// a Double copy of the input before centring.
    public func encode(rows n: Int, floats x: UnsafeBufferPointer<Float>) throws(EncoderError) -> [UInt8] {
        try checkFloats(rows: n, x)
        let d = dimension
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
        return Self.binarise(Matrix(rows: n, columns: d, values: centred) * projection)
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
