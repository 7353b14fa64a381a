import ArgumentParser
import Foundation
import HashData
import HashEncoders
import HashIdxVectors
import HashEval
import HashIdx
import Hamming

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Index Fashion-MNIST by hash codes and query it (or, with --synthetic, seeded clustered codes).",
        usage: "hashidx demo [--synthetic] [<options>]",
        discussion: """
        Default: trains PCA-ITQ (or --method) on the 60,000 Fashion-MNIST training images \
        (Debian's dataset-fashion-mnist), stores them in an index that keeps the encoder, then \
        searches it with test images given as vectors and prints the classes found. Every answer \
        is checked against a full scan. With another method, the mAP of 1,000 test images \
        against the training images is printed beside PCA-ITQ's.
        """)

    @Flag(name: .long, help: "Use seeded clustered random codes instead of Fashion-MNIST.")
    var synthetic = false

    @Option(name: .long, help: "Fashion-MNIST directory.")
    var dataset = "/usr/share/datasets/fashion-mnist"

    @Option(name: .long, parsing: .unconditional, help: "Number of codes (with --synthetic).")
    var count: Int = 200_000

    @Option(name: .long, parsing: .unconditional, help: "Number of Fashion-MNIST test images to search for.")
    var queries: Int = 8

    @Option(name: .long, parsing: .unconditional, help: "Code width in bits.")
    var bits: Int = 32

    @Option(name: .long, help: "The encoder: \(HashingMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: HashingMethod = .itq

    @Option(name: .long, help: "Directory for the index (default: a temporary one, removed afterwards).")
    var directory: String?

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1, found \(count)") }
        guard queries >= 1 else { throw ValidationError("--queries must be at least 1, found \(queries)") }
        guard (8...1024).contains(bits) else { throw ValidationError("--bits must be between 8 and 1024, found \(bits)") }
    }

    func run() throws {
        if synthetic { try runSynthetic() } else { try runFashionMNIST() }
    }

    private static let classes = ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]

    private func runFashionMNIST() throws {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("hashidx-demo-\(UUID().uuidString)").path
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: dir) } }
        var t = Date()
        let train = Matrix(try VectorFile.read(dataset + "/train-images-idx3-ubyte.gz"))
        let trainLabels = try VectorFile.readLabels(dataset + "/train-labels-idx1-ubyte.gz")
        let test = Matrix(try VectorFile.read(dataset + "/t10k-images-idx3-ubyte.gz"))
        let testLabels = try VectorFile.readLabels(dataset + "/t10k-labels-idx1-ubyte.gz")
        try emit("read \(train.rows) training and \(test.rows) test images of \(train.columns) pixels in \(String(format: "%.1f", Date().timeIntervalSince(t))) s")
        t = Date()
        let encoder = try method.train(train, labels: trainLabels, bits: bits, seed: 1)
        try emit("trained \(method.rawValue) (\(train.columns) → \(bits) bits) in \(String(format: "%.1f", Date().timeIntervalSince(t))) s")
        if method != .itq {
            // Retrieval quality beside PCA-ITQ's: 1,000 test images against the training images.
            let itq = try LinearTraining.itq(train, bits: bits, seed: 1)
            let q = test.rows(0..<min(1000, test.rows))
            func mAP(_ e: any HashEncoder) throws -> Double {
                Evaluation.evaluate(database: try e.encode(train), databaseLabels: trainLabels.map { [$0] }, queries: try e.encode(q),
                                    queryLabels: testLabels.prefix(q.rows).map { [$0] }, bits: bits, cutoffs: []).meanAveragePrecisionTieAware
            }
            let ours = try mAP(encoder), theirs = try mAP(itq)
            try emit("mAP of \(q.rows) test images against the training images: \(method.rawValue) "
                     + String(format: "%.1f %%, itq %.1f %%", 100 * ours, 100 * theirs))
        }
        t = Date()
        let index = try HashIndex.create(at: dir, encoder: encoder, expectedCount: train.rows)
        try index.insert(vectors: train, ids: (0..<UInt64(train.rows)).map { $0 })
        try emit("indexed \(try index.count) images in \(dir) in \(String(format: "%.1f", Date().timeIntervalSince(t))) s (m = \(index.layout.count) substrings)")
        var correct = 0, total = 0
        for q in 0..<min(queries, test.rows) {
            let code = try index.encode(vectors: test.rows(q..<(q + 1)))[0]
            t = Date()
            let knn = try index.nearest(code, k: 10)
            let near = try index.search(code, radius: 2)
            let ms = Date().timeIntervalSince(t) * 1000
            let agree = try knn.neighbors == index.nearest(code, k: 10, path: .scan).neighbors
                && near.neighbors == index.search(code, radius: 2, path: .scan).neighbors
            let found = knn.neighbors.map { Self.classes[trainLabels[Int($0.id)]] }
            let hits = knn.neighbors.filter { trainLabels[Int($0.id)] == testLabels[q] }.count
            correct += hits; total += knn.neighbors.count
            try emit("test image \(q) (\(Self.classes[testLabels[q]])): 10 nearest are \(found.joined(separator: ", ")) — \(hits)/10 same class; "
                  + "\(near.neighbors.count) images within radius 2 [\(String(format: "%.2f", ms)) ms, \(agree ? "matches a full scan" : "DIFFERS FROM A SCAN")]")
            if !agree { throw ExitCode.failure }
        }
        try emit("precision of the 10 nearest: \(correct)/\(total)")
    }

    private func runSynthetic() throws {
        let dir = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("hashidx-demo-\(UUID().uuidString)").path
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: dir) } }
        var rng = SeededGenerator(seed: 2024)
        let codeBytes = (bits + 7) / 8
        let centres = (0..<max(1, count / 100)).map { _ -> [UInt8] in
            var c = randomBytes(codeBytes, &rng)
            if bits & 7 != 0 { c[codeBytes - 1] &= UInt8((1 << (bits & 7)) - 1) }
            return c
        }
        var packed = [UInt8](), ids = [UInt64]()
        packed.reserveCapacity(count * codeBytes)
        for i in 0..<count {
            var c = centres[Int(rng.next() % UInt64(centres.count))]
            for _ in 0..<Int(rng.next() % 6) { let b = Int(rng.next() % UInt64(bits)); c[b >> 3] ^= 1 << UInt8(b & 7) }
            packed += c
            ids.append(UInt64(i))
        }
        let index = try HashIndex.create(at: dir, .init(bits: bits, expectedCount: count))
        var t = Date()
        try index.insert(ids: ids, packedCodes: packed)
        try emit("loaded \(count) \(bits)-bit codes into \(dir) in \(String(format: "%.2f", Date().timeIntervalSince(t))) s (m = \(index.layout.count))")
        let queries = (0..<5).map { q -> BinaryCode in
            let row = Int(rng.next() % UInt64(count))
            var c = Array(packed[row * codeBytes ..< (row + 1) * codeBytes])
            c[0] ^= 1
            return try! BinaryCode(bytes: c, bits: bits)
        }
        for (i, q) in queries.enumerated() {
            t = Date()
            let range = try index.search(q, radius: 3)
            let knn = try index.nearest(q, k: 5)
            let ms = Date().timeIntervalSince(t) * 1000
            let scanRange = try index.search(q, radius: 3, path: .scan).neighbors
            let scanKnn = try index.nearest(q, k: 5, path: .scan).neighbors
            let agree = range.neighbors == scanRange && knn.neighbors == scanKnn
            try emit("query \(i) \(q.hex): \(range.neighbors.count) codes within r=3 (\(range.statistics.path.rawValue), \(range.statistics.lookups) lookups); 5-NN ids \(knn.neighbors.map { "\($0.id)@\($0.distance)" }.joined(separator: " ")) [\(String(format: "%.2f", ms)) ms, \(agree ? "matches a full scan" : "DIFFERS FROM A SCAN")]")
            if !agree { throw ExitCode.failure }
        }
    }
}

private func randomBytes(_ n: Int, _ rng: inout SeededGenerator) -> [UInt8] {
    (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}
