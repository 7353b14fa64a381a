import Testing
import CHammingKernels
@testable import Hamming
@testable import HashIdx

/// Every instruction set's kernels against a byte-at-a-time reference, at every code width
/// 1…128 bytes (8…1024 bits), for counts that exercise the vector bodies and their tails.
@Suite struct KernelTests {
    static let supported = InstructionSet.allCases.filter(\.isSupported)

    @Test func portableAndBestAreAlwaysAvailable() {
        #expect(InstructionSet.portable.isSupported)
        #expect(InstructionSet.best.isSupported)
        #expect(Self.supported.allSatisfy { $0.rawValue <= InstructionSet.best.rawValue })
        // HASHIDX_ISA may lower the kernels in use, never raise them past the CPU's.
        #expect(InstructionSet.active.isSupported)
        #expect(InstructionSet.active.rawValue <= InstructionSet.best.rawValue)
    }

    /// The fused scan (distance and limit test in one pass) on every instruction set: in range
    /// mode it emits exactly the live codes within the radius, in row order; in k-nearest mode
    /// its final limit is the k-th smallest live distance and every live code within it is emitted.
    @Test(arguments: supported)
    func fusedScanMatchesTheReference(isa: InstructionSet) {
        var rng = SeededRandom(seed: 91 + UInt64(isa.rawValue))
        for codeBytes in [1, 3, 8, 9, 16, 24, 32, 40, 64, 65, 128] {
            let kernel = DistanceKernel(codeBytes: codeBytes, instructionSet: isa)
            let count = 203, first = 130
            let query = (0..<codeBytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
            // Half the codes near the query, so that small limits have hits.
            var codes = [UInt8]()
            for i in 0..<count {
                for b in 0..<codeBytes {
                    codes.append(i % 2 == 0 ? query[b] ^ (UInt8.random(in: 0...255, using: &rng) & UInt8.random(in: 0...255, using: &rng) & 0x11) : UInt8.random(in: 0...255, using: &rng))
                }
            }
            var dead = [UInt64](repeating: 0, count: (first + count) / 64 + 1)
            for i in 0..<count where i % 5 == 3 { dead[(first + i) >> 6] |= 1 << UInt64((first + i) & 63) }
            let reference = (0..<count).map { i in (0..<codeBytes).reduce(0) { $0 + (query[$1] ^ codes[i * codeBytes + $1]).nonzeroBitCount } }
            let live = (0..<count).filter { $0 % 5 != 3 }
            var hits = [hx_hit](repeating: hx_hit(), count: count)
            for radius in [0, 2, codeBytes * 2, codeBytes * 8] {
                var state = hx_scan_state(limit: UInt32(radius), k: 0, kept: 0, count_at: nil, ordered_rows: 0)
                let n = query.withUnsafeBytes { q in codes.withUnsafeBytes { c in dead.withUnsafeBufferPointer { d in
                    kernel.scan(query: q.baseAddress!, base: c.baseAddress!, count: count, firstRow: UInt32(first), dead: d.baseAddress!,
                                state: &state, hits: &hits)
                } } }
                let want = live.filter { reference[$0] <= radius }
                #expect(hits[0..<n].map(\.row) == want.map { UInt32(first + $0) }, "\(isa) \(codeBytes) bytes r=\(radius)")
                #expect(hits[0..<n].map(\.distance) == want.map { UInt32(reference[$0]) })
            }
            for k in [1, 7, 50] {
                var counts = [UInt32](repeating: 0, count: codeBytes * 8 + 1)
                let (n, limit) = counts.withUnsafeMutableBufferPointer { counts in
                    var state = hx_scan_state(limit: UInt32(codeBytes * 8), k: UInt32(k), kept: 0, count_at: counts.baseAddress, ordered_rows: 0)
                    let n = query.withUnsafeBytes { q in codes.withUnsafeBytes { c in dead.withUnsafeBufferPointer { d in
                        kernel.scan(query: q.baseAddress!, base: c.baseAddress!, count: count, firstRow: UInt32(first), dead: d.baseAddress!,
                                    state: &state, hits: &hits)
                    } } }
                    return (n, Int(state.limit))
                }
                let kth = live.map { reference[$0] }.sorted()[k - 1]
                #expect(limit == kth, "\(isa) \(codeBytes) bytes k=\(k)")
                let kept = hits[0..<n].filter { Int($0.distance) <= limit }.map(\.row)
                #expect(kept == live.filter { reference[$0] <= kth }.map { UInt32(first + $0) })
            }
        }
    }

    @Test(arguments: supported)
    func distancesMatchTheReferenceAtEveryWidth(isa: InstructionSet) {
        var rng = SeededRandom(seed: 77 + UInt64(isa.rawValue))
        for codeBytes in 1...128 {
            let kernel = DistanceKernel(codeBytes: codeBytes, instructionSet: isa)
            for count in [0, 1, 7, 8, 9, 17, 64, 70] {
                // Mostly random codes, plus the extremes: all equal and all bits differing.
                var base = (0..<(count * codeBytes)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let query = (0..<codeBytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if count > 2 {
                    for j in 0..<codeBytes { base[j] = query[j]; base[codeBytes + j] = ~query[j] }
                }
                var out = [UInt16](repeating: 0xffff, count: count + 1)
                query.withUnsafeBytes { q in
                    base.withUnsafeBytes { b in
                        out.withUnsafeMutableBufferPointer { o in
                            kernel.distances(query: q.baseAddress!, base: b.baseAddress ?? q.baseAddress!, count: count, into: o.baseAddress!)
                        }
                        for i in 0..<count {
                            var expected = 0
                            for j in 0..<codeBytes { expected += (query[j] ^ base[i * codeBytes + j]).nonzeroBitCount }
                            #expect(Int(out[i]) == expected, "\(isa) \(codeBytes) bytes, code \(i) of \(count)")
                            #expect(kernel.distance(q.baseAddress!, b.baseAddress! + i * codeBytes) == expected)
                        }
                    }
                }
                #expect(out[count] == 0xffff, "\(isa) wrote past the end at \(codeBytes) bytes")
            }
        }
    }

    @Test func selectKeepsExactlyTheIndicesWithinTheLimit() {
        var rng = SeededRandom(seed: 5)
        for n in [0, 1, 13, 200] {
            let d = (0..<n).map { _ in UInt16.random(in: 0...64, using: &rng) }
            for limit in [0, 10, 32, 64] {
                var idx = [UInt32](repeating: 0, count: max(n, 1))
                let k = DistanceKernel.select(d, count: n, atMost: limit, into: &idx)
                #expect(Array(idx[0..<k]) == (0..<n).filter { Int(d[$0]) <= limit }.map(UInt32.init))
            }
        }
    }
}

/// The sealed postings' building blocks, without LMDB.
@Suite struct SealedLayoutTests {
    @Test func radixOrderIsByValueThenRow() {
        var rng = SeededRandom(seed: 12)
        for width in [1, 5, 11, 12, 21, 32] {
            let values = (0..<3000).map { _ in UInt32.random(in: 0...UInt32(truncatingIfNeeded: (UInt64(1) << UInt64(width)) - 1), using: &rng) / UInt32(Int.random(in: 1...3, using: &rng)) }
            let order = SealedPostingsWriter.stableOrder(values, width: width)
            let expected = (0..<values.count).sorted { (values[$0], $0) < (values[$1], $1) }.map(UInt32.init)
            #expect(order == expected, "width \(width)")
        }
    }

    @Test func directoryShapeFollowsTheRule() {
        #expect(SealedState.prefixBits(rows: 0, width: 21) == 0)
        #expect(SealedState.prefixBits(rows: 1_000_000, width: 21) == 17)   // ⌈log2 1M⌉ − 3
        #expect(SealedState.prefixBits(rows: 1_000_000, width: 8) == 8)     // never wider than b
        #expect(SealedState.lowBytes(width: 21, prefixBits: 17) == 1)
        #expect(SealedState.lowBytes(width: 32, prefixBits: 16) == 2)
        #expect(SealedState.lowBytes(width: 32, prefixBits: 0) == 4)
        let state = SealedState(rows: 5, idBase: 9, denseIDs: true, entriesPerChunk: 65536, prefixBits: [3, 0], lowBytes: [1, 1])
        let layout = try! SubstringLayout(bits: 16, substringCount: 2)
        #expect(state.encoded().withUnsafeBytes { try? SealedState.decode($0, layout: layout) } == state)
        // Fields that do not fit the layout are refused, not trusted.
        var bad = state.encoded()
        bad[24] = 9   // 9 directory bits for an 8-bit substring
        #expect(throws: HashIdxError.self) { try bad.withUnsafeBytes { try SealedState.decode($0, layout: layout) } }
        bad = state.encoded()
        bad[23] = 3   // 2^24 + 3 entries per chunk: not a power of two
        #expect(throws: HashIdxError.self) { try bad.withUnsafeBytes { try SealedState.decode($0, layout: layout) } }
    }
}
