import Hamming

/// The on-disk format: table names, the header record and byte helpers. FORMAT.md is the
/// normative description; this file implements it.
enum Format {
    /// The format version this build writes and the newest it reads.
    static let version: UInt32 = 3
    /// The oldest version this build reads (and can upgrade).
    static let oldestReadable: UInt32 = 1
    /// The first 8 bytes of the header record.
    static let magic: [UInt8] = Array("hashidx\0".utf8)

    static let metaTable = "meta"
    static let codesTable = "codes"
    static let rowIDsTable = "rowids"
    static let idsTable = "ids"
    static func substringTable(_ k: Int) -> String { "sub.\(k)" }
    /// Version 2: the sealed postings of every substring table, read in place.
    static let sealedTable = "sealed"
    /// Version 2: rows that no longer hold a live code (removed or replaced).
    static let deadTable = "dead"
    /// Version 3: CRC-32 checksums of the values of the meta, codes, rowids and sealed tables.
    static let sumsTable = "sums"

    static let headerKey = Array("header".utf8)
    static let countKey = Array("count".utf8)
    static let encoderKey = Array("encoder".utf8)
    /// Version 2: total rows in the code chunks, live or dead (u64 BE); absent means `count`.
    static let rowsKey = Array("rows".utf8)
    /// Version 2: the shape of the sealed base (``SealedState``); absent means no sealed rows.
    static let sealedKey = Array("sealed".utf8)

    /// Entries per chunk of the sealed arrays (directory, low bits, rows).
    /// (A chunk's bytes plus LMDB's 16-byte overflow header round up to whole pages: larger
    /// chunks waste a smaller share of their last page.)
    static let sealedEntriesPerChunk = 65536

    /// What a sealed-table chunk holds.
    enum SealedKind: UInt8 {
        case directory = 0
        case lows = 1
        case rows = 2
    }

    /// Key of one chunk in the `sealed` table: substring table u8, kind u8, chunk u32 BE.
    static func sealedChunkKey(table: Int, kind: SealedKind, chunk: Int) -> [UInt8] {
        var key: [UInt8] = [UInt8(table), kind.rawValue]
        key.appendBigEndian(UInt32(chunk))
        return key
    }

    /// Target size of one code chunk in bytes; rows per chunk is the largest power of two
    /// with rows × codeBytes ≤ this (at least 64).
    static let chunkTargetBytes = 262_144

    static func rowsPerChunk(codeBytes: Int) -> Int {
        var r = 64
        while r * 2 * codeBytes <= chunkTargetBytes { r *= 2 }
        return r
    }

    /// The decoded header record.
    struct Header: Equatable {
        var version: UInt32
        var layout: SubstringLayout
        var rowsPerChunk: Int

        var bits: Int { layout.bits }

        func encoded() -> [UInt8] {
            var out = Format.magic
            out.appendBigEndian(version)
            out.appendBigEndian(UInt32(layout.bits))
            out.appendBigEndian(UInt32(layout.count))
            out.appendBigEndian(UInt32(rowsPerChunk))
            for k in 0..<layout.count {
                out.appendBigEndian(UInt16(layout.starts[k]))
                out.appendBigEndian(UInt16(layout.widths[k]))
            }
            return out
        }

        /// Decodes and checks a header record; refuses a newer version before reading the rest.
        static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(HashIdxError) -> Header {
            guard bytes.count >= 24, Array(bytes[0..<8]) == Format.magic else {
                throw .notAnIndex(path: path, reason: "its header record does not start with the hashidx magic")
            }
            let version = bytes.bigEndianUInt32(at: 8)
            guard version <= Format.version else { throw .newerFormat(found: version, supported: Format.version) }
            guard version >= Format.oldestReadable else { throw .corrupt("header format version \(version)") }
            let bits = Int(bytes.bigEndianUInt32(at: 12))
            let m = Int(bytes.bigEndianUInt32(at: 16))
            let rows = Int(bytes.bigEndianUInt32(at: 20))
            guard bytes.count == 24 + 4 * m else {
                throw .corrupt("header of \(bytes.count) bytes, expected \(24 + 4 * m) for \(m) substrings")
            }
            let layout: SubstringLayout
            do { layout = try SubstringLayout(bits: bits, substringCount: m) } catch { throw .corrupt("header layout: \(error)") }
            for k in 0..<m {
                let s = Int(bytes.bigEndianUInt16(at: 24 + 4 * k)), w = Int(bytes.bigEndianUInt16(at: 26 + 4 * k))
                guard s == layout.starts[k], w == layout.widths[k] else {
                    throw .corrupt("substring \(k) covers bits \(s)..<\(s + w), expected \(layout.starts[k])..<\(layout.starts[k] + layout.widths[k])")
                }
            }
            guard rows >= 1, rows & (rows - 1) == 0 else { throw .corrupt("rows per chunk \(rows) is not a power of two") }
            return Header(version: version, layout: layout, rowsPerChunk: rows)
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.bigEndian) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always) func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always) func bigEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inline(__always) func bigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

/// The big-endian bytes of `value`.
func bigEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    Swift.withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

/// Calls `body` with the big-endian bytes of `value` (the key encoding of every integer key).
@inline(__always)
func withBigEndian<T: FixedWidthInteger, R>(_ value: T, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try Swift.withUnsafeBytes(of: value.bigEndian, body)
}
