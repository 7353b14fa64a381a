/// Enumerates the masks of a Hamming ball: every `width`-bit mask of a given weight.
public enum HammingBall {
    /// Calls `body` with every `width`-bit mask of exactly `weight` one bits, in increasing
    /// numeric order (Gosper's hack). C(width, weight) calls; none if `weight > width`.
    /// `body` returns false to stop early; the function then returns false. Inlinable, so
    /// that callers in other modules get the loop with their body inlined, no closure call per
    /// mask (the index enumerates its probe keys with it).
    @inlinable @inline(__always) @discardableResult
    public static func forEachMask(width: Int, weight: Int, _ body: (UInt32) throws -> Bool) rethrows -> Bool {
        precondition(width >= 0 && width <= 32 && weight >= 0)
        if weight > width { return true }
        if weight == 0 { return try body(0) }
        let limit: UInt64 = 1 << UInt64(width)
        var x: UInt64 = (1 << UInt64(weight)) - 1
        while x < limit {
            if try !body(UInt32(truncatingIfNeeded: x)) { return false }
            let c = x & (0 &- x)
            let r = x &+ c
            x = (((r ^ x) >> 2) / c) | r
        }
        return true
    }

    /// C(n, k) as a Double (exact up to 2^53), 0 when k > n or k < 0.
    public static func binomial(_ n: Int, _ k: Int) -> Double {
        if k < 0 || k > n { return 0 }
        let k = min(k, n - k)
        var r = 1.0
        if k > 0 { for i in 1...k { r = r * Double(n - k + i) / Double(i) } }
        return r.rounded()
    }

    /// Number of masks of weight 0…radius over `width` bits: Σ_{i≤radius} C(width, i).
    public static func volume(width: Int, radius: Int) -> Double {
        if radius < 0 { return 0 }
        var v = 0.0
        for i in 0...min(radius, width) { v += binomial(width, i) }
        return v
    }
}
