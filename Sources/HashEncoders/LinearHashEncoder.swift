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
