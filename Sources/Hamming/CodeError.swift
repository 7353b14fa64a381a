/// Why a code or a code layout was rejected. Each case says what was expected and what was found.
public enum CodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A code width outside 8…1024 bits.
    case unsupportedBits(Int)
    /// A code whose byte count is not ⌈bits/8⌉.
    case wrongLength(expectedBytes: Int, foundBytes: Int, bits: Int)
    /// Hex text with the wrong number of digits.
    case wrongHexLength(expectedDigits: Int, foundDigits: Int, bits: Int)
    /// A character that is not a hex digit, at 0-based `position` of the text.
    case invalidHex(String, position: Int)
    /// A code with a one bit at or above `bits` in its last byte.
    case paddingBitsSet(bits: Int)
    /// A substring count outside 1…B.
    case invalidSubstringCount(Int, bits: Int)
    /// A substring wider than 32 bits.
    case substringTooWide(widestBits: Int, substringCount: Int, bits: Int)

    public var description: String {
        switch self {
        case .unsupportedBits(let b):
            return "code width must be between 8 and 1024 bits, found \(b)"
        case .wrongLength(let e, let f, let b):
            return "a \(b)-bit code takes \(e) bytes (\(2 * e) hex digits), found \(f) bytes"
        case .wrongHexLength(let e, let f, let b):
            return "a \(b)-bit code takes \(e) hex digits, found \(f)"
        case .invalidHex(let text, let p):
            let shown = text.count > 80 ? String(text.prefix(80)) + "…" : text
            return "expected hex digits 0-9a-f, found '\(Array(text)[min(p, text.count - 1)])' at position \(p) of '\(shown)'"
        case .paddingBitsSet(let b):
            return "a \(b)-bit code must have the top \(8 - b & 7) bits of its last byte zero, found a one there"
        case .invalidSubstringCount(let m, let b):
            return "substring count must be between 1 and \(b) for \(b)-bit codes, found \(m)"
        case .substringTooWide(let w, let m, let b):
            return "\(m) substrings of a \(b)-bit code are up to \(w) bits wide; at most 32 are supported (use at least \((b + 31) / 32) substrings)"
        }
    }

    static func validate(bits: Int) throws(CodeError) {
        guard BinaryCode.supportedBits.contains(bits) else { throw .unsupportedBits(bits) }
    }
}
