/// A packed binary code of `bits` bits (8…1024).
///
/// Bit i is bit (i & 7) of byte (i >> 3), least significant first — numpy's
/// `packbits(bitorder="little")` and faiss's binary layout. The code occupies ⌈bits/8⌉ bytes;
/// the unused high bits of the last byte are always zero.
public struct BinaryCode: Hashable, Sendable, CustomStringConvertible {
    /// The packed bytes, byte 0 first.
    public let bytes: [UInt8]
    /// The width B in bits.
    public let bits: Int

    /// The smallest and largest supported code widths, in bits.
    public static let supportedBits = 8...1024

    /// Wraps packed bytes.
    /// - Throws: ``CodeError/unsupportedBits(_:)``, ``CodeError/wrongLength(expectedBytes:foundBytes:bits:)``
    ///   if `bytes.count != ⌈bits/8⌉`, ``CodeError/paddingBitsSet(bits:)`` if a bit at or above `bits` is one.
    public init(bytes: [UInt8], bits: Int) throws(CodeError) {
        try CodeError.validate(bits: bits)
        let expected = (bits + 7) >> 3
        guard bytes.count == expected else {
            throw .wrongLength(expectedBytes: expected, foundBytes: bytes.count, bits: bits)
        }
        if bits & 7 != 0, bytes[expected - 1] >> UInt8(bits & 7) != 0 {
            throw .paddingBitsSet(bits: bits)
        }
        self.bytes = bytes
        self.bits = bits
    }

    /// Parses the hex form: two hex digits per byte, byte 0 first (upper case accepted).
    /// - Throws: ``CodeError/invalidHex(_:position:)`` for a character that is not a hex digit,
    ///   ``CodeError/wrongHexLength(expectedDigits:foundDigits:bits:)`` for a wrong number of digits.
    public init(hex: some StringProtocol, bits: Int) throws(CodeError) {
        try CodeError.validate(bits: bits)
        let utf8 = Array(hex.utf8)
        let expected = (bits + 7) >> 3
        guard utf8.count == 2 * expected else {
            if let bad = utf8.firstIndex(where: { hexValue($0) == nil }) {
                throw .invalidHex(String(hex), position: bad)
            }
            throw .wrongHexLength(expectedDigits: 2 * expected, foundDigits: utf8.count, bits: bits)
        }
        var out = [UInt8](repeating: 0, count: expected)
        for i in 0..<expected {
            guard let hi = hexValue(utf8[2 * i]) else { throw .invalidHex(String(hex), position: 2 * i) }
            guard let lo = hexValue(utf8[2 * i + 1]) else { throw .invalidHex(String(hex), position: 2 * i + 1) }
            out[i] = hi << 4 | lo
        }
        try self.init(bytes: out, bits: bits)
    }

    /// Builds a code from one Bool per bit (bit i = `bitValues[i]`).
    public init(bitValues: [Bool]) throws(CodeError) {
        try CodeError.validate(bits: bitValues.count)
        var out = [UInt8](repeating: 0, count: (bitValues.count + 7) >> 3)
        for (i, b) in bitValues.enumerated() where b { out[i >> 3] |= 1 << UInt8(i & 7) }
        try self.init(bytes: out, bits: bitValues.count)
    }

    /// The hex form: two lower-case hex digits per byte, byte 0 first.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    /// Bit `i` (0-based) of the code.
    public subscript(bit i: Int) -> Bool {
        precondition(i >= 0 && i < bits, "bit \(i) out of range 0..<\(bits)")
        return bytes[i >> 3] >> UInt8(i & 7) & 1 == 1
    }

    /// The Hamming distance to `other`, which must have the same width.
    public func distance(to other: BinaryCode) -> Int {
        precondition(bits == other.bits, "codes of \(bits) and \(other.bits) bits")
        var d = 0
        for i in 0..<bytes.count { d += (bytes[i] ^ other.bytes[i]).nonzeroBitCount }
        return d
    }
}

@inline(__always)
func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x61...0x66: return c - 0x61 + 10
    case 0x41...0x46: return c - 0x41 + 10
    default: return nil
    }
}
