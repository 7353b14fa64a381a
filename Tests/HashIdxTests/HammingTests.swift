import Testing
@testable import Hamming

@Suite struct HammingTests {
    @Test func hexRoundTripAndBitOrder() throws {
        let c = try BinaryCode(hex: "01A0", bits: 16)
        #expect(c.hex == "01a0")
        #expect(c[bit: 0])           // bit 0 = least significant bit of byte 0
        #expect(!c[bit: 1])
        #expect(c[bit: 13] && c[bit: 15])
        let fromBits = try BinaryCode(bitValues: (0..<16).map { c[bit: $0] })
        #expect(fromBits == c)
    }

    @Test func badCodesAreRejectedWithWhatWasExpected() {
        #expect(throws: CodeError.wrongHexLength(expectedDigits: 4, foundDigits: 6, bits: 16)) { try BinaryCode(hex: "aabbcc", bits: 16) }
        #expect(throws: CodeError.wrongLength(expectedBytes: 2, foundBytes: 3, bits: 16)) { try BinaryCode(bytes: [1, 2, 3], bits: 16) }
        #expect(throws: CodeError.invalidHex("zz00", position: 0)) { try BinaryCode(hex: "zz00", bits: 16) }
        #expect(throws: CodeError.invalidHex("0g", position: 1)) { try BinaryCode(hex: "0g", bits: 8) }
        #expect(throws: CodeError.paddingBitsSet(bits: 13)) { try BinaryCode(hex: "ffff", bits: 13) }
        #expect(throws: CodeError.unsupportedBits(7)) { try BinaryCode(bytes: [0], bits: 7) }
        #expect(throws: CodeError.unsupportedBits(1025)) { try SubstringLayout(bits: 1025, substringCount: 40) }
        #expect(throws: CodeError.invalidSubstringCount(0, bits: 64)) { try SubstringLayout(bits: 64, substringCount: 0) }
        #expect(throws: CodeError.invalidSubstringCount(65, bits: 64)) { try SubstringLayout(bits: 64, substringCount: 65) }
        #expect(throws: CodeError.substringTooWide(widestBits: 33, substringCount: 2, bits: 65)) { try SubstringLayout(bits: 65, substringCount: 2) }
        let message = CodeError.wrongLength(expectedBytes: 8, foundBytes: 7, bits: 64).description
        #expect(message.contains("8 bytes") && message.contains("found 7"))
    }

    @Test(arguments: [(8, 1), (13, 2), (13, 3), (16, 3), (64, 3), (64, 5), (100, 7), (1024, 32), (1024, 1024)])
    func substringLayoutCoversEveryBitOnce(bits: Int, m: Int) throws {
        let layout = try SubstringLayout(bits: bits, substringCount: m)
        #expect(layout.count == m)
        #expect(layout.widths.reduce(0, +) == bits)
        #expect(layout.widths.max()! - layout.widths.min()! <= 1)
        #expect(layout.widths == layout.widths.sorted(by: >), "wider substrings come first")
        for k in 1..<m { #expect(layout.starts[k] == layout.starts[k - 1] + layout.widths[k - 1]) }
        // Substring values reassemble the code exactly.
        var rng = SeededRandom(seed: UInt64(bits * 31 + m))
        for _ in 0..<20 {
            let code = randomCode(bits: bits, using: &rng)
            let values = layout.values(of: code)
            for i in 0..<bits {
                let k = layout.starts.lastIndex { $0 <= i }!
                #expect((values[k] >> UInt32(i - layout.starts[k])) & 1 == (code[bit: i] ? 1 : 0))
            }
        }
    }

    @Test func defaultSubstringCount() {
        // m = round(B / log2 N): 64 bits, 1M codes → 64/19.93 ≈ 3.
        #expect(SubstringLayout.defaultSubstringCount(bits: 64, expectedCount: 1_000_000) == 3)
        #expect(SubstringLayout.defaultSubstringCount(bits: 8, expectedCount: 1_000_000) == 1)
        // Never wider than 32 bits per substring, never more than B.
        #expect(SubstringLayout.defaultSubstringCount(bits: 1024, expectedCount: 2) == 1024)
        #expect(SubstringLayout.defaultSubstringCount(bits: 1024, expectedCount: 1 << 40) >= 32)
    }

    @Test(arguments: [0, 1, 5, 13, 21, 32])
    func ballEnumeratesEachMaskOfEachWeightOnce(width: Int) {
        for weight in 0...min(width, 4) {
            var masks: [UInt32] = []
            HammingBall.forEachMask(width: width, weight: weight) { masks.append($0); return true }
            #expect(masks.count == Int(HammingBall.binomial(width, weight)))
            #expect(masks == masks.sorted() && Set(masks).count == masks.count)
            #expect(masks.allSatisfy { $0.nonzeroBitCount == weight && (width == 32 || $0 >> UInt32(width) == 0) })
        }
        var none = 0
        HammingBall.forEachMask(width: width, weight: width + 1) { _ in none += 1; return true }
        #expect(none == 0)
        #expect(HammingBall.volume(width: 21, radius: 2) == 232)
        #expect(HammingBall.volume(width: 21, radius: 3) == 1562)
    }

    @Test(arguments: [1, 2, 4, 7, 8, 13, 16, 32, 64, 100, 128])
    func kernelsMatchBytewiseDistance(codeBytes: Int) {
        var rng = SeededRandom(seed: UInt64(codeBytes))
        let kernel = DistanceKernel(codeBytes: codeBytes)
        let base = (0..<(codeBytes * 50)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let q = (0..<codeBytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var out = [UInt16](repeating: 0, count: 50)
        q.withUnsafeBytes { qp in
            base.withUnsafeBytes { bp in
                kernel.distances(query: qp.baseAddress!, base: bp.baseAddress!, count: 50, into: &out)
                for i in 0..<50 { #expect(kernel.distance(qp.baseAddress!, bp.baseAddress! + i * codeBytes) == Int(out[i])) }
            }
        }
        let scanned = out.map(Int.init)
        for i in 0..<50 {
            let expected = (0..<codeBytes).reduce(0) { $0 + (q[$1] ^ base[i * codeBytes + $1]).nonzeroBitCount }
            #expect(scanned[i] == expected)
        }
    }
}
