import Foundation
import Testing
import Hamming
import HashData
@testable import HashEncoders
@testable import HashIdx

/// Small seeded data: `n` points around `classes` centres in `d` dimensions, with labels.
func blobs(n: Int, d: Int, classes: Int, seed: UInt64) -> (Matrix, [Int]) {
    var rng = SeededGenerator(seed: seed)
    let centres = rng.gaussianMatrix(rows: classes, columns: d)
    var values = [Double](), labels = [Int]()
    for i in 0..<n {
        let c = i % classes
        for j in 0..<d { values.append(centres[c, j] * 2 + 0.5 * rng.gaussian()) }
        labels.append(c)
    }
    return (Matrix(rows: n, columns: d, values: values), labels)
}

@Suite struct EncoderTests {
    // MARK: Loss terms against hand-computed values

    @Test func lossTermsMatchHandComputedValues() {
        let h = Matrix(rows: 2, columns: 2, values: [0.5, -0.5, 0.25, 0.75])
        let b = Matrix(rows: 2, columns: 2, values: [1, -1, 1, 1])
        // ½((0.5)² + (0.5)² + (0.75)² + (0.25)²) = ½(0.25 + 0.25 + 0.5625 + 0.0625) = 0.5625
        #expect(abs(DeepHashingObjective.quantization(h, b) - 0.5625) < 1e-12)
        // Column means 0.375, 0.125; centred: ±0.125, ±0.625 → squared sum 2(0.015625 + 0.390625) = 0.8125;
        // −(1/(2·2))·0.8125 = −0.203125
        #expect(abs(DeepHashingObjective.balance(h) - -0.203125) < 1e-12)
        let w = DenseLayer(weights: Matrix(rows: 2, columns: 1, values: [1, 1]), bias: [2])
        // WᵀW = [2]; ½(2 − 1)² = 0.5
        #expect(abs(DeepHashingObjective.orthogonality([w]) - 0.5) < 1e-12)
        // ½(1 + 1 + 4) = 3
        #expect(abs(DeepHashingObjective.decay([w]) - 3) < 1e-12)
        // Same pair (0,1): ‖h0 − h1‖² = 0.0625 + 1.5625 = 1.625; different pairs none → ½·1.625
        #expect(abs(DeepHashingObjective.supervised(h, same: [(0, 1)], different: []) - 0.8125) < 1e-12)
        #expect(abs(DeepHashingObjective.supervised(h, same: [], different: [(0, 1)]) - -0.8125) < 1e-12)
    }

    /// The all-pairs spread from per-class sums equals the mean over every ordered pair listed.
    @Test(arguments: [(12, 3), (9, 1), (7, 7), (40, 5)])
    func allPairsSpreadEqualsThePairsListed(n: Int, classes: Int) {
        var rng = SeededGenerator(seed: UInt64(n * classes))
        let h = rng.gaussianMatrix(rows: n, columns: 6)
        let labels = (0..<n).map { _ in Int(rng.next() % UInt64(classes)) }
        var same: [(Int, Int)] = [], different: [(Int, Int)] = []
        for i in 0..<n { for j in 0..<n where i != j { if labels[i] == labels[j] { same.append((i, j)) } else { different.append((i, j)) } } }
        let listed = DeepHashingObjective.supervised(h, same: same, different: different)
        let all = DeepHashingObjective.supervised(h, pairs: .all(labels: labels))
        #expect(abs(listed - all) < 1e-9 * max(1, abs(listed)), "\(listed) vs \(all)")
    }

    @Test func orthogonalityVanishesForOrthonormalWeights() throws {
        var rng = SeededGenerator(seed: 4)
        let q = try rng.gaussianMatrix(rows: 6, columns: 4).svd().u      // 6 × 4, orthonormal columns
        let layer = DenseLayer(weights: q, bias: [0, 0, 0, 0])
        #expect(DeepHashingObjective.orthogonality([layer]) < 1e-20)
        #expect(DeepHashingObjective.orthogonality([DenseLayer(weights: .identity(rows: 5, columns: 5), bias: [Double](repeating: 0, count: 5))]) == 0)
    }

    // MARK: Gradients against finite differences

    @Test(arguments: [(0.0, true, false), (0.0, false, false), (3.0, true, false), (3.0, false, false), (3.0, true, true), (3.0, false, true)])
    func gradientsMatchFiniteDifferences(alpha: Double, perItem: Bool, allPairs: Bool) throws {
        let (x, labels) = blobs(n: 12, d: 5, classes: 3, seed: 7)
        var rng = SeededGenerator(seed: 9)
        var layers = [
            DenseLayer(weights: 0.5 * rng.gaussianMatrix(rows: 5, columns: 4), bias: (0..<4).map { _ in 0.1 * rng.gaussian() }),
            DenseLayer(weights: 0.5 * rng.gaussianMatrix(rows: 4, columns: 3), bias: (0..<3).map { _ in 0.1 * rng.gaussian() }),
        ]
        let w = DeepHashingObjective.Weights(lambda1: 0.7, lambda2: 0.3, lambda3: 0.2, alpha: alpha, perItem: perItem)
        let acts = NeuralHashEncoder(method: "dh", layers: layers).activations(x)
        let b = LinearTraining.signMatrix(acts.last!)
        var pairRng = SeededGenerator(seed: 3)
        let (same, different) = DeepHashingTraining.samplePairs(labels, using: &pairRng)
        #expect(!same.isEmpty && !different.isEmpty)
        let pairs: DeepHashingObjective.Pairs = allPairs ? .all(labels: labels) : .listed(same: same, different: different)
        let grads = DeepHashingObjective.gradients(layers, activations: acts, b: b, weights: w, pairs: pairs)
        func J(_ ls: [DenseLayer]) -> Double {
            let h = NeuralHashEncoder(method: "dh", layers: ls).project(x)
            return DeepHashingObjective.evaluate(ls, top: h, b: b, weights: w, pairs: pairs).total
        }
        let eps = 1e-6
        for m in 0..<layers.count {
            for i in 0..<layers[m].weights.values.count {
                let saved = layers[m].weights.values[i]
                layers[m].weights.values[i] = saved + eps; let up = J(layers)
                layers[m].weights.values[i] = saved - eps; let down = J(layers)
                layers[m].weights.values[i] = saved
                let numeric = (up - down) / (2 * eps)
                #expect(abs(numeric - grads[m].weights.values[i]) < 1e-6 * max(1, abs(numeric)), "W\(m + 1)[\(i)]")
            }
            for j in 0..<layers[m].bias.count {
                let saved = layers[m].bias[j]
                layers[m].bias[j] = saved + eps; let up = J(layers)
                layers[m].bias[j] = saved - eps; let down = J(layers)
                layers[m].bias[j] = saved
                #expect(abs((up - down) / (2 * eps) - grads[m].bias[j]) < 1e-6 * max(1, abs(up - down) / (2 * eps)), "c\(m + 1)[\(j)]")
            }
        }
    }

    // MARK: ITQ

    @Test func itqRotationStaysOrthogonalAndLossNeverIncreases() throws {
        let (x, _) = blobs(n: 400, d: 20, classes: 5, seed: 1)
        let p = try LinearTraining.pca(x, components: 8)
        var losses: [Double] = []
        let r = try LinearTraining.rotation(x.subtractingRow(p.mean) * p.directions, iterations: 30, seed: 2) { losses.append($1) }
        let gram = Matrix.product(r.rotation, transposeA: true, r.rotation)
        #expect((gram - .identity(rows: 8, columns: 8)).squaredNorm < 1e-18)
        #expect(losses.count == 30)
        for i in 1..<losses.count { #expect(losses[i] <= losses[i - 1] * (1 + 1e-12), "iteration \(i)") }
        #expect(losses.last! < losses.first!)
        #expect(r.loss == losses.last)
    }

    // MARK: Determinism and archives

    @Test(arguments: HashingMethod.allCases.map(\.rawValue))
    func sameSeedSameCodesAndArchivesRoundTrip(method: String) throws {
        let (x, labels) = blobs(n: 300, d: 12, classes: 4, seed: 5)
        func train() throws -> any HashEncoder {
            var c = DeepHashingConfiguration.defaults(bits: 8, supervised: method == "sdh")
            c.hiddenSizes = [10]
            c.epochs = 3
            c.batchSize = 64
            switch method {
            case "lsh": return try LinearTraining.lsh(x, bits: 8, seed: 3)
            case "pcah": return try LinearTraining.pcah(x, bits: 8)
            case "itq": return try LinearTraining.itq(x, bits: 8, iterations: 10, seed: 3)
            case "lda-itq": return try LinearTraining.ldaITQ(x, labels: labels, bits: 8, iterations: 10, seed: 3)
            case "dh": return try DeepHashingTraining.train(x, bits: 8, configuration: c)
            case "sdh": return try DeepHashingTraining.train(x, bits: 8, labels: labels, configuration: c)
            default:
                var s = SupervisedNetworkConfiguration.defaults(loss: method == "center" ? .center : .pairwise)
                s.hiddenSizes = [16]
                s.epochs = 3
                s.minimumSteps = 0
                s.batchSize = 64
                return try SupervisedNetworkTraining.train(x, labels: labels, bits: 8, configuration: s)
            }
        }
        let a = try train(), b = try train()
        #expect(a.method == method)
        #expect(try a.encode(x) == (try b.encode(x)))
        let reloaded = try EncoderArchive.decodeEncoder(a.archive().encoded())
        #expect(try reloaded.encode(x) == (try a.encode(x)))
        #expect(try EncoderArchive.decode(a.archive().encoded()) == a.archive())
        // Codes are not constant: the encoder separates the data.
        #expect(Set(try a.encode(x)).count > 2)
    }

    @Test func newerArchiveAndGarbageAreRefused() throws {
        let (x, _) = blobs(n: 50, d: 10, classes: 2, seed: 1)
        var archive = try LinearTraining.pcah(x, bits: 8).archive()
        archive.version = 2
        #expect(throws: EncoderError.newerArchive(method: "pcah", found: 2, supported: 1)) { try EncoderArchive.decodeEncoder(archive.encoded()) }
        #expect(throws: EncoderError.invalidArchive("it does not start with 'hashidx-encoder'")) { try EncoderArchive.decodeEncoder([1, 2, 3]) }
        var truncated = try LinearTraining.pcah(x, bits: 8).archive().encoded()
        truncated.removeLast(5)
        #expect(throws: EncoderError.self) { try EncoderArchive.decodeEncoder(truncated) }
    }

    @Test func badVectorsAreClearErrors() throws {
        let (x, labels) = blobs(n: 50, d: 10, classes: 2, seed: 1)
        let e = try LinearTraining.pcah(x, bits: 8)
        #expect(throws: EncoderError.dimensionMismatch(expected: 10, found: 3)) { try e.encode(Matrix(rows: 1, columns: 3, values: [1, 2, 3])) }
        var nan = [Double](repeating: 0, count: 20); nan[12] = .nan
        #expect(throws: EncoderError.nonFinite(row: 1, column: 2)) { try e.encode(Matrix(rows: 2, columns: 10, values: nan)) }
        #expect(throws: EncoderError.nonFinite(row: 0, column: 0)) { try LinearTraining.itq(Matrix(rows: 2, columns: 4, values: [.infinity, 0, 0, 0, 0, 0, 0, 0]), bits: 8, seed: 1) }
        #expect(throws: EncoderError.labelsMismatch(expected: 50, found: 49)) {
            try DeepHashingTraining.train(x, bits: 8, labels: Array(labels.dropLast()), configuration: .defaults(bits: 8, supervised: true))
        }
        #expect(throws: EncoderError.self) { try LinearTraining.pcah(x, bits: 16) }   // more bits than dimensions
    }

    @Test func itqInitialisationStartsFromTheITQCodes() throws {
        let (x, _) = blobs(n: 400, d: 20, classes: 5, seed: 8)
        let itq = try LinearTraining.itq(x, bits: 8, seed: 3)
        let layers = try DeepHashingTraining.itqLayers(x, bits: 8, sizes: [12, 10, 8], seed: 3)
        #expect(try NeuralHashEncoder(method: "dh", layers: layers).encode(x) == (try itq.encode(x)))
        #expect(throws: EncoderError.self) { try DeepHashingTraining.itqLayers(x, bits: 8, sizes: [6, 8], seed: 3) }
    }

    @Test func validationKeepsTheBestEpoch() throws {
        let (x, _) = blobs(n: 300, d: 12, classes: 4, seed: 5)
        var c = DeepHashingConfiguration.defaults(bits: 8, supervised: false)
        c.hiddenSizes = [10]; c.epochs = 4; c.epsilon = 0
        // A score that prefers the network of epoch 2 (the third one scored: 0 is the start).
        var calls = 0
        var seen: [[UInt8]] = []
        let net = try DeepHashingTraining.train(x, bits: 8, configuration: c, validate: { n in
            seen.append(try! n.encode(x)); calls += 1
            return calls == 3 ? 1 : 0
        })
        #expect(calls == 5)
        #expect(net.settings["selected_epoch"] == "2")
        #expect(try net.encode(x) == seen[2])
    }

    // MARK: Inside the index

    @Test(arguments: ["itq", "dh"])
    func vectorsThroughTheIndexEncoderMatchEncodingByHand(method: String) throws {
        let dir = TemporaryDirectory()
        let (x, _) = blobs(n: 600, d: 16, classes: 6, seed: 12)
        var c = DeepHashingConfiguration.defaults(bits: 16, supervised: false)
        c.hiddenSizes = [16]; c.epochs = 2
        let encoder: any HashEncoder = method == "itq"
            ? try LinearTraining.itq(x, bits: 16, iterations: 20, seed: 1)
            : try DeepHashingTraining.train(x, bits: 16, configuration: c)
        let ids = (0..<UInt64(x.rows)).map { $0 * 3 + 1 }
        do {
            let index = try HashIndex.create(at: dir.path, encoder: encoder, substringCount: 2)
            try index.insert(vectors: x, ids: ids)
        }
        let index = try HashIndex.open(at: dir.path)           // the encoder survives reopening
        let stored = try #require(try index.encoder())
        #expect(stored.method == encoder.method)
        let packed = try encoder.encode(x)
        var oracle = Oracle()
        oracle.insert((0..<x.rows).map { (ids[$0], try! BinaryCode(bytes: Array(packed[2 * $0 ..< 2 * $0 + 2]), bits: 16)) })
        let queries = x.rows(0..<20).addingRow([Double](repeating: 0.05, count: 16))
        let byVector = try index.encode(vectors: queries)
        for (i, q) in byVector.enumerated() {
            #expect(q == (try encoder.encode(queries.row(i).map { Float($0) })))
            #expect(try index.nearest(q, k: 5).neighbors == oracle.nearest(q, k: 5))
            #expect(try index.search(q, radius: 2).neighbors == oracle.range(q, radius: 2))
        }
        // Encoder failures come out as HashIdxError, so one catch handles every index error.
        #expect(throws: HashIdxError.encoder(EncoderError.dimensionMismatch(expected: 16, found: 3).description)) {
            try index.insert(vectors: Matrix(rows: 1, columns: 3, values: [1, 2, 3]), ids: [1])
        }
        #expect(try index.count == 600)
        // Save and load round trip, written aside and renamed.
        let file = dir.sub("model")
        try EncoderArchive.save(encoder, to: file)
        let loaded = try EncoderArchive.load(from: file)
        #expect(loaded.archive() == encoder.archive())
        #expect(throws: DataError.self) { try EncoderArchive.load(from: dir.sub("missing")) }
    }

    /// LMDB forbids opening one file twice in a process; the second open is refused, and the
    /// directory can be opened again once the first instance is gone.
    @Test func aSecondOpenInTheSameProcessIsRefused() throws {
        let dir = TemporaryDirectory()
        var first: HashIndex? = try HashIndex.create(at: dir.path, .init(bits: 16))
        #expect(throws: HashIdxError.alreadyOpen(path: dir.path)) { try HashIndex.open(at: dir.path, mode: .readOnly) }
        #expect(throws: HashIdxError.alreadyExists(path: dir.path)) { try HashIndex.create(at: dir.path, .init(bits: 16)) }
        try first?.insert([(1, try BinaryCode(hex: "aabb", bits: 16))])
        first = nil
        #expect(try HashIndex.open(at: URL(fileURLWithPath: dir.path), mode: .readOnly).count == 1)
        #expect(throws: HashIdxError.self) { try HashIndex.open(at: URL(string: "https://example.com/idx")!) }
    }

    @Test func indexWithoutEncoderRefusesVectors() throws {
        let dir = TemporaryDirectory()
        let index = try HashIndex.create(at: dir.path, .init(bits: 16))
        #expect(try index.encoder() == nil)
        #expect(throws: HashIdxError.self) { try index.insert(vectors: Matrix(rows: 1, columns: 2, values: [1, 2]), ids: [1]) }
    }
}

/// Every method at 16, 32 and 64 bits on small data of awkward shapes: fewer dimensions than
/// bits or than hidden units, few items, constant columns, duplicated rows, values in [0, 1]
/// (the shapes on which DH used to diverge). Training finishes with finite weights and codes
/// that tell items apart; PCAH and ITQ, which cannot give more bits than dimensions, say so.
@Suite struct SmallDataTests {
    struct Shape: CustomStringConvertible, Sendable {
        var name: String, n: Int, d: Int, constantColumns: Int = 0, duplicated = false, unit = false
        var description: String { name }
    }

    static let shapes = [
        Shape(name: "d 8 < B", n: 400, d: 8),
        Shape(name: "d 40 < hidden", n: 400, d: 40),
        Shape(name: "digits-like: d 64 in [0, 1], 1/8 constant columns", n: 600, d: 64, constantColumns: 8, unit: true),
        Shape(name: "N 150 < 1000", n: 150, d: 24),
        Shape(name: "duplicated rows", n: 300, d: 24, duplicated: true),
    ]

    static func data(_ s: Shape) -> (Matrix, [Int]) {
        var (x, y) = blobs(n: s.duplicated ? s.n / 2 : s.n, d: s.d, classes: 5, seed: UInt64(s.n * 31 + s.d))
        if s.duplicated {
            x = Matrix(rows: s.n, columns: s.d, values: x.values + x.values)
            y += y
        }
        if s.unit {
            let lo = x.values.min()!, hi = x.values.max()!
            x = Matrix(rows: x.rows, columns: x.columns, values: x.values.map { ($0 - lo) / (hi - lo) })
        }
        for j in 0..<s.constantColumns { for i in 0..<x.rows { x[i, j * (s.d / max(1, s.constantColumns))] = 0 } }
        return (x, y)
    }

    @Test(arguments: shapes, [16, 32, 64])
    func everyMethodTrainsOrRefusesClearly(shape: Shape, bits: Int) throws {
        let (x, y) = Self.data(shape)
        var c = DeepHashingConfiguration.defaults(bits: bits, supervised: false)
        c.epochs = 5
        var s = DeepHashingConfiguration.defaults(bits: bits, supervised: true)
        s.epochs = 5
        let trainers: [(String, () throws -> any HashEncoder)] = [
            ("lsh", { try LinearTraining.lsh(x, bits: bits, seed: 3) }),
            ("pcah", { try LinearTraining.pcah(x, bits: bits) }),
            ("itq", { try LinearTraining.itq(x, bits: bits, seed: 3) }),
            ("dh", { try DeepHashingTraining.train(x, bits: bits, configuration: c) }),
            ("sdh", { try DeepHashingTraining.train(x, bits: bits, labels: y, configuration: s) }),
            ("lda-itq", { try LinearTraining.ldaITQ(x, labels: y, bits: bits, seed: 3) }),
            ("center", { try SupervisedNetworkTraining.train(x, labels: y, bits: bits, configuration: supervised(.center)) }),
            ("pairwise", { try SupervisedNetworkTraining.train(x, labels: y, bits: bits, configuration: supervised(.pairwise)) }),
        ]
        func supervised(_ loss: SupervisedNetworkConfiguration.Loss) -> SupervisedNetworkConfiguration {
            var c = SupervisedNetworkConfiguration.defaults(loss: loss)
            c.epochs = 5
            c.minimumSteps = 0
            c.hiddenSizes = [64]
            return c
        }
        for (method, train) in trainers {
            if (method == "pcah" || method == "itq") && bits > shape.d {
                #expect(throws: EncoderError.invalidConfiguration("cannot take \(bits) principal directions of \(shape.d)-dimensional data; use at most \(shape.d) bits")) { _ = try train() }
                continue
            }
            if method == "lda-itq" && bits > shape.d {
                #expect(throws: EncoderError.invalidConfiguration("cannot take \(bits) discriminant directions of \(shape.d)-dimensional data; use at most \(shape.d) bits")) { _ = try train() }
                continue
            }
            let encoder = try train()
            let h = encoder.project(x)
            let allFinite = h.values.allSatisfy(\.isFinite)
            #expect(allFinite, "\(method) \(bits) on \(shape): non-finite outputs")
            let packed = try encoder.encode(x)
            let n = (bits + 7) / 8
            let distinct = Set((0..<x.rows).map { Array(packed[$0 * n ..< ($0 + 1) * n]) })
            #expect(distinct.count >= 5, "\(method) \(bits) on \(shape): only \(distinct.count) distinct codes")
            // Bits that vary over the data: at least a quarter of them.
            var varying = 0
            for b in 0..<bits {
                let ones = (0..<x.rows).filter { packed[$0 * n + b / 8] >> UInt8(b % 8) & 1 == 1 }.count
                if ones > 0 && ones < x.rows { varying += 1 }
            }
            #expect(varying >= bits / 4, "\(method) \(bits) on \(shape): \(varying) of \(bits) bits vary")
        }
    }
}

@Suite struct OptimizerTests {
    /// Adam lowers the objective epoch over epoch on separable data, and the same seed gives the
    /// same network.
    @Test(arguments: [false, true]) func adamDescendsAndIsReproducible(supervised: Bool) throws {
        let (x, y) = blobs(n: 500, d: 20, classes: 5, seed: 77)
        var c = DeepHashingConfiguration.defaults(bits: 16, supervised: supervised)
        c.optimizer = .adam
        c.epochs = 8
        c.epsilon = 0
        var totals: [Double] = []
        let a = try DeepHashingTraining.train(x, bits: 16, labels: supervised ? y : nil, configuration: c, progress: { totals.append($0.loss) })
        let b = try DeepHashingTraining.train(x, bits: 16, labels: supervised ? y : nil, configuration: c)
        #expect(a.archive() == b.archive(), "same seed, same network")
        #expect(a.archive().settings["optimizer"] == "adam")
        #expect(totals.count == 8)
        #expect(totals.last! < totals.first!, "J went from \(totals.first!) to \(totals.last!)")
        var d = c
        d.seed = 78
        let other = try DeepHashingTraining.train(x, bits: 16, labels: supervised ? y : nil, configuration: d)
        #expect(other.archive() != a.archive(), "another seed, another network")
    }
}
