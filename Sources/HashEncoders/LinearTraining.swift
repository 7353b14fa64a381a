/// Training of the linear encoders: LSH, PCAH and PCA-ITQ.
public enum LinearTraining {
    /// Principal components of `x`: the column means and the top-`count` unit eigenvectors of
    /// the covariance (d × count, descending eigenvalue), with their eigenvalues.
    public static func pca(_ x: Matrix, components count: Int) throws(EncoderError) -> (mean: [Double], directions: Matrix, variances: [Double]) {
        guard x.rows >= 2 else { throw .invalidConfiguration("PCA needs at least 2 training vectors, found \(x.rows)") }
        guard count <= x.columns else {
            throw .invalidConfiguration("cannot take \(count) principal directions of \(x.columns)-dimensional data; use at most \(x.columns) bits")
        }
        let mean = x.columnMeans
        let centred = x.subtractingRow(mean)
        let covariance = Matrix.product(centred, transposeA: true, centred, scale: 1 / Double(x.rows))
        let eig: (values: [Double], vectors: Matrix)
        do { eig = try covariance.symmetricEigen() } catch { throw .linearAlgebra(error.description) }
        var directions = Matrix(rows: x.columns, columns: count)
        for i in 0..<x.columns { for j in 0..<count { directions[i, j] = eig.vectors[i, j] } }
        return (mean, directions, Array(eig.values.prefix(count)))
    }

    /// LSH: seeded Gaussian projections of the centred data.
    public static func lsh(_ x: Matrix, bits: Int, seed: UInt64) throws(EncoderError) -> LinearHashEncoder {
        try validate(x, bits: bits)
        var rng = SeededGenerator(seed: seed)
        return LinearHashEncoder(method: "lsh", mean: x.columnMeans, projection: rng.gaussianMatrix(rows: x.columns, columns: bits),
                                 settings: ["seed": String(seed)])
    }

    /// PCAH: the signs of the top-B principal components.
    public static func pcah(_ x: Matrix, bits: Int) throws(EncoderError) -> LinearHashEncoder {
        try validate(x, bits: bits)
        let p = try pca(x, components: bits)
        return LinearHashEncoder(method: "pcah", mean: p.mean, projection: p.directions)
    }

    /// One ITQ run: the rotation, and the quantisation loss ‖B − VR‖²_F after each iteration.
    public struct ITQResult {
        public var encoder: LinearHashEncoder
        public var rotation: Matrix
        /// Quantisation loss after each iteration; never increases.
        public var losses: [Double]
    }

    /// PCA-ITQ (Gong & Lazebnik): V = PCA_B(x − μ); from a seeded random rotation R, repeat
    /// B = sgn(VR); BᵀV = UΣŴᵀ (SVD); R = ŴUᵀ.
    public static func itq(_ x: Matrix, bits: Int, iterations: Int = 50, seed: UInt64) throws(EncoderError) -> ITQResult {
        try validate(x, bits: bits)
        guard iterations >= 0 else { throw .invalidConfiguration("ITQ iterations must be at least 0, found \(iterations)") }
        let p = try pca(x, components: bits)
        let v = x.subtractingRow(p.mean) * p.directions
        var rng = SeededGenerator(seed: seed)
        var rotation: Matrix
        do {
            let g = try rng.gaussianMatrix(rows: bits, columns: bits).svd()
            rotation = g.u * g.vt
        } catch { throw .linearAlgebra(error.description) }
        var losses: [Double] = []
        for _ in 0..<iterations {
            let signs = signMatrix(v * rotation)
            let m = Matrix.product(signs, transposeA: true, v)     // BᵀV, B × B
            do {
                let s = try m.svd()
                rotation = Matrix.product(s.vt, transposeA: true, s.u, transposeB: true)  // Ŵ Uᵀ
            } catch { throw .linearAlgebra(error.description) }
            losses.append((signs - v * rotation).squaredNorm)
        }
        let encoder = LinearHashEncoder(method: "itq", mean: p.mean, projection: p.directions * rotation,
                                        settings: ["seed": String(seed), "iterations": String(iterations),
                                                   "quantization_loss": losses.last.map { String($0) } ?? "n/a"])
        return ITQResult(encoder: encoder, rotation: rotation, losses: losses)
    }

    /// ±1 per element: +1 iff the value is > 0.
    static func signMatrix(_ h: Matrix) -> Matrix {
        Matrix(rows: h.rows, columns: h.columns, values: h.values.map { $0 > 0 ? 1 : -1 })
    }

    static func validate(_ x: Matrix, bits: Int) throws(EncoderError) {
        guard (8...1024).contains(bits) else { throw .invalidConfiguration("bits must be between 8 and 1024, found \(bits)") }
        guard x.rows >= 1, x.columns >= 1 else { throw .invalidConfiguration("no training vectors") }
        if let bad = x.values.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(row: bad / x.columns, column: bad % x.columns) }
    }
}
