import CLinearAlgebra

/// A dense row-major matrix of Doubles. Products go through OpenBLAS (`cblas_dgemm`).
public struct Matrix: Equatable, Sendable {
    public var rows: Int
    public var columns: Int
    /// Row-major storage: element (i, j) is `values[i * columns + j]`.
    public var values: [Double]

    public init(rows: Int, columns: Int, values: [Double]) {
        precondition(values.count == rows * columns, "\(values.count) values for \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public init(rows: Int, columns: Int, repeating value: Double = 0) {
        self.init(rows: rows, columns: columns, values: [Double](repeating: value, count: rows * columns))
    }

    /// The n×n identity, or the rectangular one (ones on the main diagonal).
    public static func identity(rows: Int, columns: Int) -> Matrix {
        var m = Matrix(rows: rows, columns: columns)
        for i in 0..<min(rows, columns) { m[i, i] = 1 }
        return m
    }

    public subscript(i: Int, j: Int) -> Double {
        get { values[i * columns + j] }
        set { values[i * columns + j] = newValue }
    }

    /// Row i as an array.
    public func row(_ i: Int) -> ArraySlice<Double> { values[i * columns ..< (i + 1) * columns] }

    /// Rows `range` as a new matrix.
    public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, columns: columns, values: Array(values[range.lowerBound * columns ..< range.upperBound * columns]))
    }

    /// Rows at `indices`, in that order.
    public func gather(_ indices: [Int]) -> Matrix {
        var out = [Double]()
        out.reserveCapacity(indices.count * columns)
        for i in indices { out.append(contentsOf: row(i)) }
        return Matrix(rows: indices.count, columns: columns, values: out)
    }

    public var transposed: Matrix {
        var t = Matrix(rows: columns, columns: rows)
        for i in 0..<rows { for j in 0..<columns { t.values[j * rows + i] = values[i * columns + j] } }
        return t
    }

    /// Sum of squares of all elements (the squared Frobenius norm).
    public var squaredNorm: Double { values.reduce(0) { $0 + $1 * $1 } }

    /// Mean of each column.
    public var columnMeans: [Double] {
        var m = [Double](repeating: 0, count: columns)
        for i in 0..<rows { for j in 0..<columns { m[j] += values[i * columns + j] } }
        return m.map { $0 / Double(max(rows, 1)) }
    }

    /// Each row minus `vector`.
    public func subtractingRow(_ vector: [Double]) -> Matrix {
        precondition(vector.count == columns)
        var out = self
        for i in 0..<rows { for j in 0..<columns { out.values[i * columns + j] -= vector[j] } }
        return out
    }

    /// Each row plus `vector`.
    public func addingRow(_ vector: [Double]) -> Matrix {
        subtractingRow(vector.map { -$0 })
    }

    public static func + (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns)
        return Matrix(rows: a.rows, columns: a.columns, values: zip(a.values, b.values).map(+))
    }

    public static func - (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.columns == b.columns)
        return Matrix(rows: a.rows, columns: a.columns, values: zip(a.values, b.values).map(-))
    }

    public static func * (s: Double, a: Matrix) -> Matrix {
        Matrix(rows: a.rows, columns: a.columns, values: a.values.map { s * $0 })
    }

    /// α·op(A)·op(B), where op transposes when asked (`cblas_dgemm`).
    public static func product(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false, scale alpha: Double = 1) -> Matrix {
        let m = transposeA ? a.columns : a.rows
        let k = transposeA ? a.rows : a.columns
        let k2 = transposeB ? b.columns : b.rows
        let n = transposeB ? b.rows : b.columns
        precondition(k == k2, "inner dimensions \(k) and \(k2) differ")
        var c = Matrix(rows: m, columns: n)
        if m == 0 || n == 0 { return c }
        if k == 0 { return c }
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                c.values.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, Int32(a.columns),
                                pb.baseAddress, Int32(b.columns), 0, pc.baseAddress, Int32(n))
                }
            }
        }
        return c
    }

    /// A·B.
    public static func * (a: Matrix, b: Matrix) -> Matrix { product(a, b) }
}

/// OpenBLAS's thread count, settable for reproducible timing.
public enum LinearAlgebraThreads {
    public static func set(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
}
