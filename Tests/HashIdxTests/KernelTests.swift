import Testing
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
