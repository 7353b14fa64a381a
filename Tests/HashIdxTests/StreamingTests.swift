import Foundation
import Testing
import Hamming
import HashData
import HashEncoders
import HashIdxVectors

/// Vectors read a batch at a time and encoded as they come: the same vectors and codes as the
/// whole-file path, bad values found in the batch that holds them, and `add --vectors` in
/// several transactions all or nothing with respect to bad input.
@Suite struct StreamingTests {
    static let rows = 37, columns = 5

    /// Seeded values k/8 (exact in every format, uint8 included after scaling by 8).
    static func values(seed: UInt64) -> [Float] {
        var rng = SeededRandom(seed: seed)
        return (0..<rows * columns).map { _ in Float(rng.next() % 32) }
    }

    /// The same vectors in every format the reader takes; IDX holds them scaled by 1/255.
    static func writeEveryFormat(_ v: [Float], _ dir: TemporaryDirectory) throws -> [(path: String, scale: Float)] {
        func put(_ bytes: [UInt8], _ name: String) throws -> String {
            try Data(bytes).write(to: URL(fileURLWithPath: dir.sub(name)))
            return dir.sub(name)
        }
        let u8 = v.map { UInt8($0) }
        var fvecs = [UInt8](), bvecs = [UInt8]()
        for i in 0..<rows {
            withUnsafeBytes(of: UInt32(columns).littleEndian) { fvecs += $0; bvecs += $0 }
            for j in 0..<columns {
                withUnsafeBytes(of: v[i * columns + j].bitPattern.littleEndian) { fvecs += $0 }
                bvecs.append(u8[i * columns + j])
            }
        }
        let f32 = v.flatMap { x in withUnsafeBytes(of: x.bitPattern.littleEndian) { Array($0) } }
        let f64 = v.flatMap { x in withUnsafeBytes(of: Double(x).bitPattern.littleEndian) { Array($0) } }
        let idx: [UInt8] = [0, 0, 8, 2] + [0, 0, 0, UInt8(rows)] + [0, 0, 0, UInt8(columns)] + u8
        let idxPath = try put(idx, "images-idx")
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = ["-k", idxPath]
        try gz.run(); gz.waitUntilExit()
        return [
            (try put(NpyWriter.file(descr: "<f4", shape: [rows, columns], data: f32), "a.npy"), 1),
            (try put(NpyWriter.file(descr: "<f8", shape: [rows, columns], data: f64), "b.npy"), 1),
            (try put(NpyWriter.file(descr: "|u1", shape: [rows, columns], data: u8), "c.npy"), 1),
            (try put(fvecs, "a.fvecs"), 1),
            (try put(bvecs, "a.bvecs"), 1),
            (idxPath, 1 / 255),
            (idxPath + ".gz", 1 / 255),
        ]
    }

    @Test(arguments: [1, 4, 36, 37, 100])
    func batchesEqualTheWholeFileInEveryFormat(batch: Int) throws {
        let dir = TemporaryDirectory()
        let v = Self.values(seed: UInt64(batch))
        for (path, scale) in try Self.writeEveryFormat(v, dir) {
            let whole = try VectorFile.read(path)
            #expect(whole.count == Self.rows && whole.dimension == Self.columns, "\(path)")
            #expect(whole.values == v.map { scale == 1 ? $0 : $0 / 255 }, "\(path)")
            let reader = try VectorReader(path: path)
            for pass in 0..<2 {
                var seen: [Float] = [], buffer: [Float] = [], next = 0
                while let rows = try reader.next(maxRows: batch, into: &buffer) {
                    #expect(rows.lowerBound == next && rows.count <= batch && buffer.count == rows.count * Self.columns)
                    next = rows.upperBound
                    seen += buffer
                }
                #expect(seen == whole.values, "\(path) pass \(pass)")
                #expect(reader.position == Self.rows)
                reader.rewind()
            }
        }
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func aBadValueIsReportedInTheBatchThatHoldsIt(bad: Float) throws {
        let dir = TemporaryDirectory()
        var v = Self.values(seed: 9)
        v[33 * Self.columns + 2] = bad
        let f32 = v.flatMap { x in withUnsafeBytes(of: x.bitPattern.littleEndian) { Array($0) } }
        let path = dir.sub("x.npy")
        try Data(NpyWriter.file(descr: "<f4", shape: [Self.rows, Self.columns], data: f32)).write(to: URL(fileURLWithPath: path))
        let reader = try VectorReader(path: path)
        var buffer: [Float] = [], batches = 0
        do {
            while try reader.next(maxRows: 8, into: &buffer) != nil { batches += 1 }
            Issue.record("no error for \(bad)")
        } catch {
            #expect(batches == 4, "rows 0..<32 read before the bad batch")
            #expect(error.message.contains("vector 33 has a NaN or infinite value at dimension 2"), "\(error)")
        }
        #expect(throws: DataError.self) { try VectorFile.read(path) }
    }

    @Test func aRaggedRowAndAShortFileAreErrors() throws {
        let dir = TemporaryDirectory()
        var fvecs = [UInt8]()
        for i in 0..<30 {
            let d = i == 20 ? 4 : 5
            withUnsafeBytes(of: UInt32(d).littleEndian) { fvecs += $0 }
            for _ in 0..<5 { withUnsafeBytes(of: Float(1).bitPattern.littleEndian) { fvecs += $0 } }
        }
        try Data(fvecs).write(to: URL(fileURLWithPath: dir.sub("r.fvecs")))
        let reader = try VectorReader(path: dir.sub("r.fvecs"))
        var buffer: [Float] = []
        #expect(try reader.next(maxRows: 16, into: &buffer) == 0..<16)
        #expect { try reader.next(maxRows: 16, into: &buffer) } throws: { ($0 as? DataError)?.message.contains("vector 20 has dimension 4, expected 5") == true }
        // An npy header that promises more rows than the file holds is refused up front.
        try Data(NpyWriter.header(descr: "<f4", shape: [1000, 5]) + [UInt8](repeating: 0, count: 40)).write(to: URL(fileURLWithPath: dir.sub("s.npy")))
        #expect { try VectorReader(path: dir.sub("s.npy")) } throws: { ($0 as? DataError)?.message.contains("truncated or lying header") == true }
    }

    /// Linear encoders override the Float path; networks use the default through `project`.
    static func encoders(d: Int, bits: Int) -> [any HashEncoder] {
        var rng = SeededGenerator(seed: UInt64(d * bits))
        let mean = (0..<d).map { _ in rng.gaussian() }
        let linear = LinearHashEncoder(method: "itq", mean: mean, projection: rng.gaussianMatrix(rows: d, columns: bits))
        let network = NeuralHashEncoder(method: "center", layers: [
            DenseLayer(weights: rng.gaussianMatrix(rows: d, columns: 20), bias: (0..<20).map { _ in rng.gaussian() }, activation: .relu),
            DenseLayer(weights: rng.gaussianMatrix(rows: 20, columns: bits), bias: (0..<bits).map { _ in rng.gaussian() }),
        ])
        return [linear, network]
    }

    @Test(arguments: [(7, 8), (40, 13), (784, 32), (30, 64)])
    func floatBatchesGiveTheCodesOfTheMatrixPath(d: Int, bits: Int) throws {
        var rng = SeededGenerator(seed: UInt64(d + bits))
        let n = 257
        let floats = (0..<n * d).map { _ in Float(rng.gaussian()) }
        let x = Matrix(rows: n, columns: d, values: floats.map(Double.init))
        for e in Self.encoders(d: d, bits: bits) {
            let whole = try e.encode(x)
            // Any batching gives the same codes.
            for batch in [1, 100, n] {
                var streamed: [UInt8] = []
                for first in stride(from: 0, to: n, by: batch) {
                    let end = min(n, first + batch)
                    streamed += try floats[first * d ..< end * d].withUnsafeBufferPointer { try e.encode(rows: end - first, floats: $0) }
                }
                #expect(streamed == whole, "\(e.method) batch \(batch)")
            }
            var bad = floats
            bad[100 * d + d - 1] = .nan
            #expect(throws: EncoderError.nonFinite(row: 100, column: d - 1)) { try bad.withUnsafeBufferPointer { try e.encode(rows: n, floats: $0) } }
            #expect(throws: EncoderError.self) { try floats.withUnsafeBufferPointer { try e.encode(rows: n - 1, floats: $0) } }
            #expect(try [Float]().withUnsafeBufferPointer { try e.encode(rows: 0, floats: $0) } == [])
        }
    }

    /// `add --vectors` in transactions of 64 codes: the codes `encode` writes, and a bad last
    /// vector leaves the index as it was.
    @Test func addVectorsInSeveralTransactionsIsAllOrNothing() throws {
        let dir = TemporaryDirectory()
        try writeRandomVectors(dir.sub("x.npy"), rows: 500, columns: 24, seed: 5)
        let model = dir.sub("itq.model"), idx = dir.sub("idx")
        #expect(try CLI.run(["train", "--method", "itq", "--bits", "16", "--input", dir.sub("x.npy"), "--output", model]).status == 0)
        #expect(try CLI.run(["create", idx, "--encoder", model]).status == 0)
        let add = try CLI.run(["add", idx, "--vectors", dir.sub("x.npy"), "--batch-size", "64"])
        #expect(add.status == 0 && add.stderr.contains("added 500 new"), "\(add.stderr)")
        let encoded = try CLI.run(["encode", model, "--input", dir.sub("x.npy")])
        let exported = try CLI.run(["export", idx, "--format", "hex"])
        #expect(encoded.status == 0 && exported.status == 0)
        func lines(_ s: String) -> [String] { s.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init).sorted() }
        #expect(lines(encoded.stdout).count == 500 && lines(encoded.stdout) == lines(exported.stdout))
        // npy output holds the same codes as hex.
        #expect(try CLI.run(["encode", model, "--input", dir.sub("x.npy"), "--output", dir.sub("codes.npy")]).status == 0)
        let npy = try CodeInput(path: dir.sub("codes.npy"), bits: 16, format: nil, idFile: nil) { _ in }
        var fromNpy: [String] = []
        try npy.forEachBatch(of: 1000) { ids, packed in
            for (i, id) in ids.enumerated() { fromNpy.append("\(id) " + packed[2 * i ..< 2 * i + 2].map { String(format: "%02x", $0) }.joined()) }
        }
        #expect(fromNpy.sorted() == lines(encoded.stdout))

        // The last vector is NaN: nothing is written, whatever the transaction size.
        var values = try VectorFile.read(dir.sub("x.npy")).values
        values[values.count - 1] = .nan
        try Data(NpyWriter.file(descr: "<f4", shape: [500, 24], data: values.withUnsafeBytes { Array($0) })).write(to: URL(fileURLWithPath: dir.sub("bad.npy")))
        #expect(try CLI.run(["create", dir.sub("fresh"), "--encoder", model]).status == 0)
        for batch in ["64", "10000000"] {
            for target in [idx, dir.sub("fresh")] {
                let r = try CLI.run(["add", target, "--vectors", dir.sub("bad.npy"), "--batch-size", batch])
                #expect(r.status != 0 && r.stderr.contains("vector 499 has a NaN"), "\(r.stderr)")
            }
            #expect(lines(try CLI.run(["export", idx, "--format", "hex"]).stdout) == lines(encoded.stdout))
            #expect(lines(try CLI.run(["export", dir.sub("fresh"), "--format", "hex"]).stdout).isEmpty)
        }
        let bad = try CLI.run(["encode", model, "--input", dir.sub("bad.npy"), "--output", dir.sub("codes.npy")])
        #expect(bad.status != 0 && bad.stderr.contains("vector 499 has a NaN"))
        let still = try CodeInput(path: dir.sub("codes.npy"), bits: 16, format: nil, idFile: nil) { _ in }
        #expect(still.count == 500, "a failed encode leaves the old output file")
    }
}
