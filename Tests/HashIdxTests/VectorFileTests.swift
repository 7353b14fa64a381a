import Foundation
import Testing
import HashData

@Suite struct VectorFileTests {
    func write(_ bytes: [UInt8], _ dir: TemporaryDirectory, _ name: String) throws -> String {
        let path = dir.sub(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func fvecs(_ rows: [[Float]]) -> [UInt8] {
        var out = [UInt8]()
        for r in rows {
            withUnsafeBytes(of: UInt32(r.count).littleEndian) { out += $0 }
            for v in r { withUnsafeBytes(of: v.bitPattern.littleEndian) { out += $0 } }
        }
        return out
    }

    @Test func everyFormatReadsTheSameVectors() throws {
        let dir = TemporaryDirectory()
        let rows: [[Float]] = [[0, 1, 2], [3, 4, 255]]
        let f = try VectorFile.read(try write(fvecs(rows), dir, "a.fvecs"))
        #expect(f == VectorSet(count: 2, dimension: 3, values: [0, 1, 2, 3, 4, 255]))
        var bvecs = [UInt8]()
        for r in rows { bvecs += [3, 0, 0, 0] + r.map { UInt8($0) } }
        #expect(try VectorFile.read(try write(bvecs, dir, "a.bvecs")) == f)
        let f32 = rows.flatMap { $0 }.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        #expect(try VectorFile.read(try write(NpyWriter.file(descr: "<f4", shape: [2, 3], data: f32), dir, "a.npy")) == f)
        let f64 = rows.flatMap { $0 }.flatMap { v in withUnsafeBytes(of: Double(v).bitPattern.littleEndian) { Array($0) } }
        #expect(try VectorFile.read(try write(NpyWriter.file(descr: "<f8", shape: [2, 3], data: f64), dir, "b.npy")) == f)
        let u8 = rows.flatMap { $0 }.map { UInt8($0) }
        #expect(try VectorFile.read(try write(NpyWriter.file(descr: "|u1", shape: [2, 3], data: u8), dir, "c.npy")) == f)
        // IDX: uint8 scaled to [0, 1].
        let idx: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3] + u8
        #expect(try VectorFile.read(try write(idx, dir, "images-idx3-ubyte")).values == f.values.map { $0 / 255 })
        // Labels in three forms.
        #expect(try VectorFile.readLabels(try write([0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9], dir, "labels-idx1-ubyte")) == [7, 0, 9])
        #expect(try VectorFile.readLabels(try write(Array("7\n0\n9\n".utf8), dir, "labels.txt")) == [7, 0, 9])
        let i64 = [7, 0, -9].flatMap { v in withUnsafeBytes(of: Int64(v).littleEndian) { Array($0) } }
        #expect(try VectorFile.readLabels(try write(NpyWriter.file(descr: "<i8", shape: [3], data: i64), dir, "l.npy")) == [7, 0, -9])
    }

    /// Debian's dataset-fashion-mnist, installed by tools/setup.sh.
    @Test func realFashionMNISTReads() throws {
        let labels = try VectorFile.readLabels("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
        #expect(labels.count == 10_000 && Set(labels) == Set(0..<10))
    }

    @Test func gzipIsDetectedByContent() throws {
        let dir = TemporaryDirectory()
        let raw: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 2, 4, 5]
        let plain = try write(raw, dir, "l")
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = ["-k", plain]
        try gz.run(); gz.waitUntilExit()
        #expect(try VectorFile.readLabels(plain + ".gz") == [4, 5])
    }

    @Test func malformedFilesAreClearErrors() throws {
        let dir = TemporaryDirectory()
        func fails(_ bytes: [UInt8], _ name: String, _ message: String) throws {
            let path = try write(bytes, dir, name)
            #expect { try VectorFile.read(path) } throws: { ($0 as? DataError)?.message.contains(message) ?? false }
        }
        var truncated = fvecs([[1, 2, 3], [4, 5, 6]]); truncated.removeLast(2)
        try fails(truncated, "t.fvecs", "truncated")
        try fails(fvecs([[1, 2, 3], [4, 5]]), "r.fvecs", "truncated")
        var ragged = fvecs([[1, 2], [3, 4, 5, 6]]).prefix(12 + 12)   // second record claims 4 dims in a 2-dim file
        try fails(Array(ragged), "g.fvecs", "dimension")
        ragged = []
        try fails(fvecs([[1, .nan, 3]]), "n.fvecs", "NaN or infinite value at dimension 1")
        try fails(fvecs([[1, 2, .infinity]]), "i.fvecs", "NaN or infinite")
        try fails(Array(NpyWriter.file(descr: "<f4", shape: [2, 3], data: [UInt8](repeating: 0, count: 20))), "t.npy", "truncated")
        try fails(Array(NpyWriter.file(descr: "<i2", shape: [1, 1], data: [0, 0])), "d.npy", "expected dtype float32, float64 or uint8")
        try fails([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2], "x-idx3-ubyte", "truncated")
        try fails([1, 2, 3, 4, 5], "junk", "unknown format")
        try fails([0x1f, 0x8b, 8, 0, 1, 2, 3], "bad.gz", "gzip")
    }
}
