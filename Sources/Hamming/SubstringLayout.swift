import Foundation

/// How a B-bit code is cut into m substrings of consecutive bits.
///
/// When B is not a multiple of m, the first B − m·(⌈B/m⌉ − 1) substrings are ⌈B/m⌉ bits wide and
/// the rest one bit narrower, so every bit belongs to exactly one substring. Substring k of a code
/// is the integer whose bit j is code bit `starts[k] + j`.
public struct SubstringLayout: Hashable, Sendable {
    /// Code width B in bits.
    public let bits: Int
    /// First bit of each substring.
    public let starts: [Int]
    /// Width of each substring in bits (1…32).
    public let widths: [Int]

    /// The number of substrings m.
    public var count: Int { widths.count }

    /// Splits `bits` into `substringCount` substrings.
    /// - Throws: ``CodeError`` if `bits` is outside 8…1024, `substringCount` outside 1…bits, or a
    ///   substring would be wider than 32 bits.
    public init(bits: Int, substringCount m: Int) throws(CodeError) {
        try CodeError.validate(bits: bits)
        guard m >= 1 && m <= bits else { throw .invalidSubstringCount(m, bits: bits) }
        let wide = (bits + m - 1) / m
        guard wide <= 32 else { throw .substringTooWide(widestBits: wide, substringCount: m, bits: bits) }
        let wideCount = bits - m * (wide - 1)
        var starts = [Int](), widths = [Int]()
        var at = 0
        for k in 0..<m {
            let w = k < wideCount ? wide : wide - 1
            starts.append(at); widths.append(w)
            at += w
        }
        self.bits = bits
        self.starts = starts
        self.widths = widths
    }

    /// The default substring count for `bits`-bit codes and about `expectedCount` stored codes:
    /// max(1, round(B / log2 N)), raised so no substring exceeds 32 bits and lowered to at most B.
    public static func defaultSubstringCount(bits: Int, expectedCount: Int) -> Int {
        let logN = Swift.max(1.0, log2(Double(Swift.max(expectedCount, 2))))
        var m = Swift.max(1, Int((Double(bits) / logN).rounded()))
        m = Swift.max(m, (bits + 31) / 32)
        return Swift.min(m, bits)
    }

    /// Substring `k` of the packed code at `code` (⌈B/8⌉ readable bytes).
    @inlinable @inline(__always)
    public func value(_ k: Int, of code: UnsafeRawPointer) -> UInt32 {
        let start = starts[k], width = widths[k]
        let firstByte = start >> 3
        let lastByte = (start + width - 1) >> 3
        var acc: UInt64 = 0
        for i in 0...(lastByte - firstByte) {
            acc |= UInt64(code.load(fromByteOffset: firstByte + i, as: UInt8.self)) << UInt64(8 * i)
        }
        acc >>= UInt64(start & 7)
        return UInt32(truncatingIfNeeded: acc & ((1 << UInt64(width)) - 1))
    }

    /// All substrings of `code`.
    public func values(of code: BinaryCode) -> [UInt32] {
        precondition(code.bits == bits)
        return code.bytes.withUnsafeBytes { p in (0..<count).map { value($0, of: p.baseAddress!) } }
    }
}

