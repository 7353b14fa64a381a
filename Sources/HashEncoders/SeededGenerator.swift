import Foundation

/// Seeded, reproducible random numbers (SplitMix64) with Gaussian draws (Box–Muller).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    private var spare: Double?

    public init(seed: UInt64) { state = seed ^ 0x5DEE_CE66_D1CE_4E5B }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal draw.
    public mutating func gaussian() -> Double {
        if let s = spare { spare = nil; return s }
        var u = 0.0
        repeat { u = Double.random(in: 0..<1, using: &self) } while u == 0
        let v = Double.random(in: 0..<1, using: &self)
        let r = (-2 * log(u)).squareRoot()
        spare = r * sin(2 * .pi * v)
        return r * cos(2 * .pi * v)
    }

    /// A rows×columns matrix of standard normal draws.
    public mutating func gaussianMatrix(rows: Int, columns: Int) -> Matrix {
        Matrix(rows: rows, columns: columns, values: (0..<(rows * columns)).map { _ in gaussian() })
    }
}
