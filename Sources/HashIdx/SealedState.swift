import Hamming

/// The shape of the sealed base (format version 2, meta record `sealed`): how many rows it
/// covers, how their ids are stored, and how each substring table's sealed postings are cut.
///
/// Rows 0 ..< `rows` are sealed: their ids strictly increase with the row, and every substring
/// table has one sealed posting per sealed row, sorted by (substring value, row). A sealed
/// table's value v is found through a directory over its top `prefixBits[k]` bits; the
/// remaining low bits are stored per posting in `lowBytes[k]` bytes.
struct SealedState: Equatable {
    /// Sealed rows S.
    var rows: Int
    /// With `denseIDs`, the id of sealed row i is `idBase + i` and the `rowids` chunks that
    /// hold only sealed rows are omitted.
    var idBase: UInt64
    var denseIDs: Bool
    /// Entries per chunk E of every sealed array (a power of two).
    var entriesPerChunk: Int
    /// Directory bits D_k per substring table (0…b_k).
    var prefixBits: [Int]
    /// Bytes per stored low part per substring table: 1, 2 or 4.
    var lowBytes: [Int]

    /// No sealed rows (a new index, or one written by format version 1).
    static func empty(substringCount m: Int) -> SealedState {
        SealedState(rows: 0, idBase: 0, denseIDs: false, entriesPerChunk: Format.sealedEntriesPerChunk,
                    prefixBits: [Int](repeating: 0, count: m), lowBytes: [Int](repeating: 4, count: m))
    }

    /// The directory bits for S sealed rows and a b-bit substring: about 8 postings per
    /// directory cell (fewer when b is narrow).
    static func prefixBits(rows: Int, width b: Int) -> Int {
        let log = rows <= 1 ? 0 : Int.bitWidth - (rows - 1).leadingZeroBitCount
        return max(0, min(b, log - 3))
    }

    /// Bytes needed for the low b − D bits.
    static func lowBytes(width b: Int, prefixBits d: Int) -> Int {
        b - d <= 8 ? 1 : (b - d <= 16 ? 2 : 4)
    }

    func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.appendBigEndian(UInt64(rows))
        out.appendBigEndian(idBase)
        out.appendBigEndian(UInt32(denseIDs ? 1 : 0))
        out.appendBigEndian(UInt32(entriesPerChunk))
        for k in 0..<prefixBits.count {
            out += [UInt8(prefixBits[k]), UInt8(lowBytes[k]), 0, 0]
        }
        return out
    }

    /// Decodes and checks the record against the layout; every field from disk is range-checked.
    static func decode(_ bytes: UnsafeRawBufferPointer, layout: SubstringLayout) throws(HashIdxError) -> SealedState {
        let m = layout.count
        guard bytes.count == 24 + 4 * m else {
            throw .corrupt("the sealed record has \(bytes.count) bytes, expected \(24 + 4 * m) for \(m) substrings")
        }
        let rows = bytes.bigEndianUInt64(at: 0)
        guard rows < UInt64(UInt32.max) else { throw .corrupt("the sealed record claims \(rows) rows, more than an index holds") }
        let flags = bytes.bigEndianUInt32(at: 16)
        guard flags <= 1 else { throw .corrupt("the sealed record has unknown flags \(flags)") }
        let e = Int(bytes.bigEndianUInt32(at: 20))
        guard e >= 64, e <= 1 << 24, e & (e - 1) == 0 else {
            throw .corrupt("the sealed record has \(e) entries per chunk, expected a power of two from 64 to 2^24")
        }
        var prefix: [Int] = [], low: [Int] = []
        for k in 0..<m {
            let d = Int(bytes[24 + 4 * k]), l = Int(bytes[25 + 4 * k])
            guard d <= layout.widths[k], l == lowBytes(width: layout.widths[k], prefixBits: d) else {
                throw .corrupt("sealed table \(k) has \(d) directory bits and \(l)-byte low parts, which do not fit its \(layout.widths[k]) bits")
            }
            prefix.append(d)
            low.append(l)
        }
        return SealedState(rows: Int(rows), idBase: bytes.bigEndianUInt64(at: 8), denseIDs: flags == 1,
                           entriesPerChunk: e, prefixBits: prefix, lowBytes: low)
    }
}
