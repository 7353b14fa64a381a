import CLinearAlgebra

/// Why a linear-algebra routine failed.
public struct LinearAlgebraError: Error, CustomStringConvertible, Equatable {
    public var routine: String
    public var info: Int32
    public var description: String { "\(routine) failed (LAPACK info \(info))" }
}

extension Matrix {
    /// Eigen-decomposition of a symmetric matrix (`LAPACKE_dsyevd`): eigenvalues in descending
    /// order and the matching unit eigenvectors as the columns of a matrix.
    public func symmetricEigen() throws(LinearAlgebraError) -> (values: [Double], vectors: Matrix) {
        precondition(rows == columns, "eigen-decomposition of a \(rows)×\(columns) matrix")
        let n = rows
        var a = values
        var w = [Double](repeating: 0, count: n)
        let info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "U")), Int32(n), &a, Int32(n), &w)
        guard info == 0 else { throw LinearAlgebraError(routine: "dsyevd", info: info) }
        // LAPACK returns ascending order; reverse to descending.
        var vectors = Matrix(rows: n, columns: n)
        for j in 0..<n { for i in 0..<n { vectors[i, j] = a[i * n + (n - 1 - j)] } }
        return (w.reversed(), vectors)
    }

    /// Thin singular value decomposition A = U·diag(s)·Vᵀ (`LAPACKE_dgesvd`).
    public func svd() throws(LinearAlgebraError) -> (u: Matrix, s: [Double], vt: Matrix) {
        let m = rows, n = columns, k = Swift.min(m, n)
        var a = values
        var s = [Double](repeating: 0, count: k)
        var u = [Double](repeating: 0, count: m * k)
        var vt = [Double](repeating: 0, count: k * n)
        var superb = [Double](repeating: 0, count: Swift.max(1, k - 1))
        let info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "S")), Int8(UInt8(ascii: "S")), Int32(m), Int32(n),
                                  &a, Int32(n), &s, &u, Int32(k), &vt, Int32(n), &superb)
        guard info == 0 else { throw LinearAlgebraError(routine: "dgesvd", info: info) }
        return (Matrix(rows: m, columns: k, values: u), s, Matrix(rows: k, columns: n, values: vt))
    }
}
