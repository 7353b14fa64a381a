/// A Hamming-distance kernel for one code width, chosen once per call so that inner loops stay
/// monomorphic. Codes are read as unaligned 64-bit words; the module is compiled with hardware
/// popcount.
public enum DistanceKernel: Sendable {
    case bytes8, bytes16, bytes32, bytes64
    /// Any other width: whole 64-bit words, then the remaining bytes.
    case generic(words: Int, tailBytes: Int)

    /// The kernel for codes of `codeBytes` bytes.
    public init(codeBytes: Int) {
        switch codeBytes {
        case 8: self = .bytes8
        case 16: self = .bytes16
        case 32: self = .bytes32
        case 64: self = .bytes64
        default: self = .generic(words: codeBytes / 8, tailBytes: codeBytes % 8)
        }
    }

    /// popcount(a XOR b) over the code width.
    @inline(__always)
    public func distance(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> Int {
        switch self {
        case .bytes8: return Self.words(a, b, 1)
        case .bytes16: return Self.words(a, b, 2)
        case .bytes32: return Self.words(a, b, 4)
        case .bytes64: return Self.words(a, b, 8)
        case .generic(let w, let t):
            var d = Self.words(a, b, w)
            var i = w * 8
            while i < w * 8 + t {
                d &+= (a.load(fromByteOffset: i, as: UInt8.self) ^ b.load(fromByteOffset: i, as: UInt8.self)).nonzeroBitCount
                i &+= 1
            }
            return d
        }
    }

    @inline(__always)
    static func words(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Int {
        var d = 0
        var i = 0
        while i < n {
            d &+= (a.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)
                   ^ b.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)).nonzeroBitCount
            i &+= 1
        }
        return d
    }

    /// Writes the distance from `query` to each of `count` codes stored back to back at `base`
    /// (stride `codeBytes`) into `out[0..<count]`. The width switch happens once; each loop is a
    /// plain load–xor–popcount–store.
    public func distances(query: UnsafeRawPointer, base: UnsafeRawPointer, count: Int, codeBytes: Int,
                          into out: UnsafeMutablePointer<UInt16>) {
        switch self {
        case .bytes8:
            let q = query.loadUnaligned(as: UInt64.self)
            var i = 0
            while i < count {
                out[i] = UInt16(truncatingIfNeeded: (q ^ base.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)).nonzeroBitCount)
                i &+= 1
            }
        case .bytes16:
            let q0 = query.loadUnaligned(as: UInt64.self), q1 = query.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            var i = 0
            while i < count {
                let p = base + i &* 16
                out[i] = UInt16(truncatingIfNeeded: (q0 ^ p.loadUnaligned(as: UInt64.self)).nonzeroBitCount
                                &+ (q1 ^ p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)).nonzeroBitCount)
                i &+= 1
            }
        case .bytes32:
            var i = 0
            while i < count { out[i] = UInt16(truncatingIfNeeded: Self.words(query, base + i &* 32, 4)); i &+= 1 }
        case .bytes64:
            var i = 0
            while i < count { out[i] = UInt16(truncatingIfNeeded: Self.words(query, base + i &* 64, 8)); i &+= 1 }
        case .generic:
            var i = 0
            while i < count { out[i] = UInt16(truncatingIfNeeded: distance(query, base + i &* codeBytes)); i &+= 1 }
        }
    }
}
