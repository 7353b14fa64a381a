/// Stable least-significant-digit radix sorts for the merge and bulk-insert paths, where a
/// comparison sort of millions of keys through a closure dominates the load time.
enum RadixSort {
    /// Sorts `keys` ascending, carrying `values` along; equal keys keep their order (stable).
    /// Passes of 16 bits; a pass whose digit is the same for every key is skipped, so ids below
    /// 2^32 take two passes.
    static func sort(keys: inout [UInt64], values: inout [UInt32]) {
        precondition(keys.count == values.count)
        let n = keys.count
        if n < 2 { return }
        var orKeys: UInt64 = 0, andKeys: UInt64 = .max
        for k in keys { orKeys |= k; andKeys &= k }
        let varying = orKeys ^ andKeys
        var keys2 = [UInt64](repeating: 0, count: n)
        var values2 = [UInt32](repeating: 0, count: n)
        var counts = [Int](repeating: 0, count: 65537)
        for pass in 0..<4 {
            let shift = UInt64(16 * pass)
            if (varying >> shift) & 0xffff == 0 { continue }
            for i in 0..<counts.count { counts[i] = 0 }
            for k in keys { counts[Int((k >> shift) & 0xffff) + 1] += 1 }
            for i in 0..<65536 { counts[i + 1] += counts[i] }
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    keys2.withUnsafeMutableBufferPointer { k2 in
                        values2.withUnsafeMutableBufferPointer { v2 in
                            counts.withUnsafeMutableBufferPointer { c in
                                for i in 0..<n {
                                    let d = Int((k[i] >> shift) & 0xffff)
                                    let at = c[d]
                                    c[d] = at + 1
                                    k2[at] = k[i]
                                    v2[at] = v[i]
                                }
                            }
                        }
                    }
                }
            }
            swap(&keys, &keys2)
            swap(&values, &values2)
        }
    }

    /// Sorts `ids` ascending in place: nothing to do if they already are (checked first), an
    /// insertion sort for a few, else a least-significant-digit radix sort in byte passes that
    /// skips the bytes every id shares.
    static func sortIfNeeded(_ ids: UnsafeMutableBufferPointer<UInt64>) {
        let n = ids.count
        var sorted = true
        var i = 1
        while i < n { if ids[i - 1] > ids[i] { sorted = false; break }; i += 1 }
        if sorted { return }
        if n <= 32 {
            for i in 1..<n {
                let x = ids[i]
                var j = i
                while j > 0 && ids[j - 1] > x { ids[j] = ids[j - 1]; j -= 1 }
                ids[j] = x
            }
            return
        }
        var orIDs: UInt64 = 0, andIDs: UInt64 = .max
        for x in ids { orIDs |= x; andIDs &= x }
        let varying = orIDs ^ andIDs
        let scratch = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: n)
        defer { scratch.deallocate() }
        var from = ids, to = scratch
        var counts = [Int](repeating: 0, count: 257)
        counts.withUnsafeMutableBufferPointer { c in
            for pass in 0..<8 {
                let shift = UInt64(8 * pass)
                if (varying >> shift) & 0xff == 0 { continue }
                for d in 0..<257 { c[d] = 0 }
                for x in from { c[Int((x >> shift) & 0xff) + 1] += 1 }
                for d in 0..<256 { c[d + 1] += c[d] }
                for x in from {
                    let d = Int((x >> shift) & 0xff)
                    to[c[d]] = x
                    c[d] += 1
                }
                swap(&from, &to)
            }
        }
        if from.baseAddress != ids.baseAddress { _ = ids.update(fromContentsOf: from) }
    }

    /// The indices of the last occurrence of every distinct id, in index order: "the last code
    /// of an id wins" for a batch, without a hash set.
    static func lastOccurrences(_ ids: [UInt64]) -> [Int] {
        var keys = ids
        var positions = (0..<UInt32(ids.count)).map { $0 }
        sort(keys: &keys, values: &positions)
        var keep = [Bool](repeating: false, count: ids.count)
        var i = 0
        while i < keys.count {
            var j = i
            while j + 1 < keys.count && keys[j + 1] == keys[i] { j += 1 }
            keep[Int(positions[j])] = true   // stable: the last of the run is the last in the batch
            i = j + 1
        }
        return (0..<ids.count).filter { keep[$0] }
    }
}
