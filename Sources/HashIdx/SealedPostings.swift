import CHammingKernels
import Hamming
internal import LMDB

/// The sealed postings of one substring table, read in place through the memory map: a
/// directory of 2^D + 1 entry offsets over the top D bits of the substring value, then one
/// posting per sealed row, sorted by (value, row): its low b − D bits and its row. Every array
/// is cut into chunks of E entries. Valid while the snapshot that loaded it lives.
///
/// A plain value (pointers and numbers), copied freely on the query path without reference
/// counting; its owner (the reader) calls ``free()`` once when the snapshot changes.
struct SealedPostings {
    private let directory: UnsafeMutablePointer<UnsafeRawPointer>
    private let lows: UnsafeMutablePointer<UnsafeRawPointer>
    private let rows: UnsafeMutablePointer<UnsafeRawPointer>
    /// b − D: the value's low bits, below the directory prefix.
    let lowBits: Int
    let lowMask: UInt32
    let lowBytes: Int
    private let entryShift: Int
    private let entryMask: Int
    /// Sealed postings (= sealed rows).
    let count: Int

    /// No sealed postings.
    init() {
        directory = .allocate(capacity: 0); lows = .allocate(capacity: 0); rows = .allocate(capacity: 0)
        lowBits = 0; lowMask = 0; lowBytes = 4; entryShift = 0; entryMask = 0; count = 0
    }

    /// Releases the chunk pointer arrays (the chunks themselves belong to the map).
    func free() {
        directory.deallocate()
        lows.deallocate()
        rows.deallocate()
    }

    /// Loads and size-checks the chunk pointers of table `k` from the `sealed` table; appends
    /// the in-map byte range of every chunk to `ranges` (for prefaulting).
    init(transaction txn: Transaction, database: Database, table k: Int, width b: Int, state: SealedState,
         ranges: inout [(start: UnsafeRawPointer, count: Int)]) throws {
        let n = state.rows, d = state.prefixBits[k], e = state.entriesPerChunk
        count = n
        lowBits = b - d
        lowMask = lowBits >= 32 ? .max : (UInt32(1) << UInt32(lowBits)) - 1
        lowBytes = state.lowBytes[k]
        entryShift = e.trailingZeroBitCount
        entryMask = e - 1
        var found: [(start: UnsafeRawPointer, count: Int)] = []
        func load(_ kind: Format.SealedKind, entries: Int, bytesPerEntry: Int) throws -> UnsafeMutablePointer<UnsafeRawPointer> {
            let chunks = n == 0 ? 0 : (entries + e - 1) / e
            let out = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: chunks)
            for c in 0..<chunks {
                let expected = min(e, entries - c * e) * bytesPerEntry
                guard let v = try Format.sealedChunkKey(table: k, kind: kind, chunk: c).withUnsafeBytes({ try txn.get(database, key: $0) }),
                      v.count == expected else {
                    out.deallocate()
                    throw HashIdxError.corrupt("sealed table \(k) lacks \(kind) chunk \(c) of \(expected) bytes")
                }
                out[c] = v.baseAddress!
                found.append((v.baseAddress!, v.count))
            }
            return out
        }
        directory = try load(.directory, entries: (1 << d) + 1, bytesPerEntry: 4)
        do {
            lows = try load(.lows, entries: n, bytesPerEntry: lowBytes)
        } catch { directory.deallocate(); throw error }
        do {
            rows = try load(.rows, entries: n, bytesPerEntry: 4)
        } catch { directory.deallocate(); lows.deallocate(); throw error }
        // The directory's ends bound every look-up; a damaged directory must not send one past them.
        if n > 0 {
            guard start(0) == 0, start(1 << d) == n else {
                free()
                throw HashIdxError.corrupt("sealed table \(k) has a directory spanning \(start(0))..<\(start(1 << d)), expected 0..<\(n)")
            }
        }
        ranges += found
    }

    /// Offset of the first posting whose value has directory prefix `p`.
    @inline(__always)
    func start(_ p: Int) -> Int {
        Int(UInt32(littleEndian: directory[p >> entryShift].loadUnaligned(fromByteOffset: (p & entryMask) << 2, as: UInt32.self)))
    }

    @inline(__always)
    func low(_ i: Int) -> UInt32 {
        let chunk = lows[i >> entryShift], at = i & entryMask
        switch lowBytes {
        case 1: return UInt32(chunk.load(fromByteOffset: at, as: UInt8.self))
        case 2: return UInt32(UInt16(littleEndian: chunk.loadUnaligned(fromByteOffset: at << 1, as: UInt16.self)))
        default: return UInt32(littleEndian: chunk.loadUnaligned(fromByteOffset: at << 2, as: UInt32.self))
        }
    }

    @inline(__always)
    func row(_ i: Int) -> UInt32 {
        UInt32(littleEndian: rows[i >> entryShift].loadUnaligned(fromByteOffset: (i & entryMask) << 2, as: UInt32.self))
    }

    /// The range of postings whose value has the directory prefix of `value`.
    @inline(__always)
    func cell(_ value: UInt32) -> (lo: Int, hi: Int) {
        let p = lowBits >= 32 ? 0 : Int(value >> UInt32(lowBits))
        return (start(p), min(start(p + 1), count))
    }

    /// The postings of directory cell `p` (< 2^D) of table `k`, checked to lie within the
    /// postings (walks over every cell read them all, not only through ``cell(_:)``).
    /// - Throws: ``HashIdxError/corrupt(_:)`` naming the cell.
    func checkedCell(_ p: Int, table k: Int) throws(HashIdxError) -> Range<Int> {
        let lo = start(p), hi = start(p + 1)
        guard lo <= hi, hi <= count else {
            throw .corrupt("sealed table \(k) has directory cell \(p) spanning \(lo)..<\(hi) of \(count)")
        }
        return lo..<hi
    }

    /// The substring value of a posting in directory cell `p` with low part `low`.
    @inline(__always)
    func value(cell p: Int, low: UInt32) -> UInt32 {
        (lowBits >= 32 ? 0 : UInt32(p) << UInt32(lowBits)) | low
    }

    /// Prefetches the directory entries of `value`.
    @inline(__always)
    func prefetchCell(_ value: UInt32) {
        let p = lowBits >= 32 ? 0 : Int(value >> UInt32(lowBits))
        hx_prefetch(directory[p >> entryShift] + ((p & entryMask) << 2))
    }

    /// Prefetches the first low part and row of posting `i` (< count).
    @inline(__always)
    func prefetchPostings(_ i: Int) {
        hx_prefetch(lows[i >> entryShift] + (i & entryMask) * lowBytes)
        hx_prefetch(rows[i >> entryShift] + ((i & entryMask) << 2))
    }

    /// Cells up to this many postings are searched linearly.
    static let linearCell = 32

    /// The postings in `lo..<hi` (one directory cell) whose value is `value`: two binary
    /// searches (a linear pass in a short cell), so a bucket is sized without reading its rows.
    @inline(__always)
    func postings(_ value: UInt32, in lo: Int, _ hi: Int) -> Range<Int> {
        let target = value & lowMask
        if hi - lo <= SealedPostings.linearCell && lowBytes == 1 && (lo >> entryShift) == ((hi - 1) >> entryShift) {
            // A short cell in one chunk (the usual case: about 8 postings): a linear pass over
            // one-byte low parts costs less than two binary searches.
            let bytes = lows[lo >> entryShift].assumingMemoryBound(to: UInt8.self) + (lo & entryMask)
            let n = hi - lo, t = UInt8(truncatingIfNeeded: target)
            var a = 0
            while a < n && bytes[a] < t { a += 1 }
            var b = a
            while b < n && bytes[b] == t { b += 1 }
            return (lo + a)..<(lo + b)
        }
        let a = firstPosting(atLeast: target, lo, hi)
        if a == hi || low(a) != target { return a..<a }
        return a..<(target == lowMask ? hi : firstPosting(atLeast: target + 1, a, hi))
    }

    /// The first posting in `lo..<hi` whose low part is ≥ `target` (hi if none).
    @inline(__always)
    private func firstPosting(atLeast target: UInt32, _ lo: Int, _ hi: Int) -> Int {
        var lo = lo, n = hi - lo
        while n > 0 {
            let half = n >> 1
            if low(lo + half) < target { lo += half + 1; n -= half + 1 } else { n = half }
        }
        return lo
    }

}

/// Builds and writes the sealed postings of one substring table.
enum SealedPostingsWriter {
    /// Writes table `k`'s chunks for `values[row]` (the substring value of every sealed row).
    /// Postings are ordered by (value, row) with a stable radix sort on the value.
    static func write(_ txn: Transaction, tables: HashIndex.Tables, table k: Int, values: [UInt32],
                      width b: Int, prefixBits d: Int, lowBytes: Int, entriesPerChunk e: Int) throws {
        let order = stableOrder(values, width: b)
        let lowBits = b - d
        let lowMask: UInt32 = lowBits >= 32 ? .max : (UInt32(1) << UInt32(lowBits)) - 1
        // Directory: offsets of the first posting of each prefix, then n.
        var directory = [UInt32](repeating: 0, count: (1 << d) + 1)
        for v in values { directory[(lowBits >= 32 ? 0 : Int(v >> UInt32(lowBits))) + 1] += 1 }
        for p in 0..<(1 << d) { directory[p + 1] += directory[p] }
        try writeChunks(txn, tables, k, .directory, directory, e)
        switch lowBytes {
        case 1: try writeChunks(txn, tables, k, .lows, order.map { UInt8(truncatingIfNeeded: values[Int($0)] & lowMask) }, e)
        case 2: try writeChunks(txn, tables, k, .lows, order.map { UInt16(truncatingIfNeeded: values[Int($0)] & lowMask) }, e)
        default: try writeChunks(txn, tables, k, .lows, order.map { values[Int($0)] & lowMask }, e)
        }
        try writeChunks(txn, tables, k, .rows, order, e)
    }

    /// Writes `items` as chunks of `e` little-endian entries under (k, kind, chunk).
    private static func writeChunks<T: FixedWidthInteger>(_ txn: Transaction, _ tables: HashIndex.Tables, _ k: Int, _ kind: Format.SealedKind,
                                                          _ items: [T], _ e: Int) throws {
        let size = MemoryLayout<T>.size
        try items.withUnsafeBufferPointer { all in
            var c = 0
            while c * e < all.count {
                let first = c * e, n = min(e, all.count - first)
                try Format.sealedChunkKey(table: k, kind: kind, chunk: c).withUnsafeBytes { key in
                    try Checksums.putReserved(txn, tables, .sealed, key: key, count: n * size) { out in
                        #if _endian(little)
                        out.baseAddress!.copyMemory(from: all.baseAddress! + first, byteCount: n * size)
                        #else
                        for i in 0..<n { out.storeBytes(of: all[first + i].littleEndian, toByteOffset: i * size, as: T.self) }
                        #endif
                    }
                }
                c += 1
            }
        }
    }

    /// Rows 0..<n ordered by value, ties in row order: a least-significant-digit radix sort in
    /// passes of 11 bits (stable, so rows stay ascending within a value).
    static func stableOrder(_ values: [UInt32], width b: Int) -> [UInt32] {
        let n = values.count
        var order = [UInt32](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = UInt32(i) }
            count = n
        }
        var scratch = [UInt32](repeating: 0, count: n)
        var shift = 0
        while shift < b {
            let bits = min(11, b - shift)
            let mask = UInt32((1 << bits) - 1)
            var counts = [Int](repeating: 0, count: (1 << bits) + 1)
            for v in values { counts[Int((v >> UInt32(shift)) & mask) + 1] += 1 }
            for i in 0..<(1 << bits) { counts[i + 1] += counts[i] }
            for r in order {
                let digit = Int((values[Int(r)] >> UInt32(shift)) & mask)
                scratch[counts[digit]] = r
                counts[digit] += 1
            }
            swap(&order, &scratch)
            shift += bits
        }
        return order
    }
}
