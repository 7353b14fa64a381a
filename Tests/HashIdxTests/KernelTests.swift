import Testing
@testable import Hamming

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
