import Foundation
import Testing
import Hamming
import HashEval
@testable import HashEncoders

@Suite struct SupervisedNetworkTests {
    /// Hadamard centres: ±1, balanced, pairwise B/2 apart (B for a row and its negation).
    @Test(arguments: [(10, 16), (10, 32), (10, 64), (30, 16), (3, 8)])
    func hadamardCentresAreBalancedAndFarApart(classes: Int, bits: Int) {
        let c = SupervisedNetworkTraining.hashCentres(classes: classes, bits: bits, seed: 1)
        #expect(c.rows == classes && c.columns == bits)
        for k in 0..<classes {
            #expect((0..<bits).allSatisfy { abs(c[k, $0]) == 1 })
            #expect((0..<bits).reduce(0.0) { $0 + c[k, $1] } == 0, "centre \(k) is not balanced")
            for l in 0..<k {
                let distance = (0..<bits).filter { c[k, $0] != c[l, $0] }.count
                #expect(distance == bits / 2 || distance == bits, "centres \(l) and \(k) are \(distance) apart")
            }
        }
    }

    /// Other widths and more classes than the Hadamard rows: random balanced centres, distinct.
    @Test(arguments: [(10, 24), (40, 16), (5, 12)])
    func randomCentresAreBalancedAndDistinct(classes: Int, bits: Int) {
        let c = SupervisedNetworkTraining.hashCentres(classes: classes, bits: bits, seed: 1)
        var seen = Set<[Double]>()
        for k in 0..<classes {
            let row = (0..<bits).map { c[k, $0] }
            #expect(row.filter { $0 == 1 }.count == bits / 2)
            seen.insert(row)
        }
        #expect(seen.count == classes)
        #expect(c == SupervisedNetworkTraining.hashCentres(classes: classes, bits: bits, seed: 1), "seeded")
    }

    /// The gradients of both losses through a ReLU–tanh network match finite differences.
    @Test(arguments: [(SupervisedNetworkConfiguration.Loss.center, 0.5), (.pairwise, 0.5), (.pairwise, 0.125)])
    func gradientsMatchFiniteDifferences(kind: SupervisedNetworkConfiguration.Loss, scale: Double) throws {
        let (x, labels) = blobs(n: 10, d: 5, classes: 3, seed: 4)
        var rng = SeededGenerator(seed: 11)
        var layers = [
            DenseLayer(weights: 0.6 * rng.gaussianMatrix(rows: 5, columns: 6), bias: (0..<6).map { _ in 0.3 * rng.gaussian() }, activation: .relu),
            DenseLayer(weights: 0.6 * rng.gaussianMatrix(rows: 6, columns: 8), bias: (0..<8).map { _ in 0.1 * rng.gaussian() }),
        ]
        let centres = SupervisedNetworkTraining.hashCentres(classes: 3, bits: 8, seed: 1)
        func loss(_ ls: [DenseLayer]) -> (Double, Matrix, [Matrix]) {
            let acts = NeuralHashEncoder(method: kind.rawValue, layers: ls).activations(x)
            let (a, q, delta) = kind == .center
                ? SupervisedNetworkTraining.centerLoss(acts.last!, targets: labels, centres: centres, weight: 0.3)
                : SupervisedNetworkTraining.pairwiseLoss(acts.last!, labels: labels, weight: 0.3, scale: scale)
            return (a + 0.3 * q, delta, acts)
        }
        let (_, delta, acts) = loss(layers)
        let grads = SupervisedNetworkTraining.backpropagate(layers, activations: acts, topDelta: delta)
        let eps = 1e-6
        var checked = 0
        for m in 0..<layers.count {
            for i in 0..<layers[m].weights.values.count {
                let saved = layers[m].weights.values[i]
                layers[m].weights.values[i] = saved + eps; let up = loss(layers).0
                layers[m].weights.values[i] = saved - eps; let down = loss(layers).0
                layers[m].weights.values[i] = saved
                let numeric = (up - down) / (2 * eps)
                #expect(abs(numeric - grads[m].weights.values[i]) < 1e-6 * max(1, abs(numeric)), "W\(m + 1)[\(i)]: \(numeric) vs \(grads[m].weights.values[i])")
                checked += 1
            }
            for j in 0..<layers[m].bias.count {
                let saved = layers[m].bias[j]
                layers[m].bias[j] = saved + eps; let up = loss(layers).0
                layers[m].bias[j] = saved - eps; let down = loss(layers).0
                layers[m].bias[j] = saved
                let numeric = (up - down) / (2 * eps)
                #expect(abs(numeric - grads[m].bias[j]) < 1e-6 * max(1, abs(numeric)), "c\(m + 1)[\(j)]")
            }
        }
        #expect(checked == 5 * 6 + 6 * 8)
        #expect(grads.flatMap(\.weights.values).contains { $0 != 0 })
    }

    /// Classes that differ only in low-variance directions: the unsupervised ITQ codes barely
    /// separate them; LDA-ITQ, center and pairwise use the labels and do.
    @Test func supervisedMethodsUseTheirLabels() throws {
        var rng = SeededGenerator(seed: 21)
        let n = 800, d = 16, classes = 4
        var values = [Double](), labels = [Int]()
        for i in 0..<n {
            let k = i % classes
            labels.append(k)
            for j in 0..<d {
                // Dimensions 0…7: large noise shared by all classes; 8…9: the class.
                let signal = j == 8 ? 2 * Double(k & 1) : j == 9 ? 2 * Double(k >> 1) : 0
                values.append((j < 8 ? 4 : 0.3) * rng.gaussian() + signal)
            }
        }
        let x = Matrix(rows: n, columns: d, values: values)
        func mAP(_ e: any HashEncoder) throws -> Double {
            let codes = try e.encode(x)
            let ls = labels.map { [$0] }
            return Evaluation.evaluate(database: codes, databaseLabels: ls, queries: codes, queryLabels: ls, bits: e.bits, cutoffs: []).meanAveragePrecisionTieAware
        }
        let itq = try mAP(LinearTraining.itq(x, bits: 8, seed: 1))
        var c = SupervisedNetworkConfiguration.defaults(loss: .center)
        c.hiddenSizes = [32]
        c.batchSize = 64   // the default epochs (at least 4,000 steps)
        var p = c
        p.loss = .pairwise
        p.quantizationWeight = 0.1
        let scores = [
            "lda-itq": try mAP(LinearTraining.ldaITQ(x, labels: labels, bits: 8, seed: 1)),
            "center": try mAP(SupervisedNetworkTraining.train(x, labels: labels, bits: 8, configuration: c)),
            "pairwise": try mAP(SupervisedNetworkTraining.train(x, labels: labels, bits: 8, configuration: p)),
        ]
        #expect(itq < 0.5, "ITQ \(itq)")
        for (method, score) in scores where method != "lda-itq" { #expect(score > 0.9, "\(method) \(score) against ITQ \(itq)") }
        // LDA-ITQ has only K − 1 = 3 discriminant directions for 8 bits; the other 5 add noise.
        #expect(scores["lda-itq"]! > itq + 0.2, "LDA-ITQ \(scores["lda-itq"]!) against ITQ \(itq)")
    }

    /// A ReLU network's archive is version 2 with its activations; tanh networks stay version 1;
    /// a damaged activation list is refused.
    @Test func archivesKeepActivations() throws {
        let (x, y) = blobs(n: 200, d: 6, classes: 3, seed: 2)
        var c = SupervisedNetworkConfiguration.defaults(loss: .center)
        c.hiddenSizes = [12]
        c.epochs = 2
        c.minimumSteps = 0
        let net = try SupervisedNetworkTraining.train(x, labels: y, bits: 8, configuration: c)
        #expect(net.layers.map(\.activation) == [.relu, .tanh])
        var archive = net.archive()
        #expect(archive.version == 2 && archive.settings["activations"] == "relu,tanh")
        let back = try EncoderArchive.decodeEncoder(archive.encoded())
        #expect(try back.encode(x) == (try net.encode(x)))
        #expect((back as? NeuralHashEncoder)?.layers == net.layers)
        let tanhOnly = NeuralHashEncoder(method: "dh", layers: [DenseLayer(weights: .identity(rows: 8, columns: 8), bias: [Double](repeating: 0, count: 8))])
        #expect(tanhOnly.archive().version == 1 && tanhOnly.archive().settings["activations"] == nil)
        archive.settings["activations"] = "relu,sigmoid"
        #expect(throws: EncoderError.invalidArchive("expected 2 activations (tanh or relu) in 'activations', found 'relu,sigmoid'")) {
            _ = try EncoderArchive.decodeEncoder(archive.encoded())
        }
    }

    /// Cosine decay: η at the start, η/2 halfway, 0 at the end; the same seed gives the same network.
    @Test func cosineScheduleAndReproducibility() throws {
        let s = LearningRateSchedule.cosine
        #expect(s.rate(0.1, step: 0, of: 100) == 0.1)
        #expect(abs(s.rate(0.1, step: 50, of: 100) - 0.05) < 1e-15)
        #expect(abs(s.rate(0.1, step: 100, of: 100)) < 1e-15)
        #expect(LearningRateSchedule.constant.rate(0.1, step: 70, of: 100) == 0.1)
        let (x, y) = blobs(n: 300, d: 8, classes: 3, seed: 3)
        var c = SupervisedNetworkConfiguration.defaults(loss: .pairwise)
        c.hiddenSizes = [16]
        c.epochs = 4
        c.minimumSteps = 0
        c.batchSize = 50
        var rates: [Double] = [], losses: [Double] = []
        let a = try SupervisedNetworkTraining.train(x, labels: y, bits: 8, configuration: c, progress: { rates.append($0.learningRate!); losses.append($0.loss) })
        let b = try SupervisedNetworkTraining.train(x, labels: y, bits: 8, configuration: c)
        #expect(a.archive() == b.archive())
        #expect(rates.count == 4 && zip(rates, rates.dropFirst()).allSatisfy { $0 > $1 } && abs(rates.last!) < 1e-12)
        #expect(losses.last! < losses.first!)
        #expect(throws: EncoderError.self) { try SupervisedNetworkTraining.train(x, labels: [Int](repeating: 1, count: 300), bits: 8, configuration: c) }
        for scale in [0, -0.5, .infinity, .nan] {
            var bad = c
            bad.innerProductScale = scale
            #expect { try SupervisedNetworkTraining.train(x, labels: y, bits: 8, configuration: bad) } throws: {
                ($0 as? EncoderError).map { "\($0)".contains("inner-product scale > 0") } == true
            }
        }
    }
}

@Suite struct ManyClassesTests {
    /// Labels that are nearly ids (20,000 classes) still give centres quickly: balanced, seeded.
    @Test func manyClassesGiveCentresQuickly() {
        let c = SupervisedNetworkTraining.hashCentres(classes: 20_000, bits: 24, seed: 3)
        #expect(c.rows == 20_000)
        #expect((0..<c.rows).allSatisfy { k in (0..<24).reduce(0.0) { $0 + c[k, $1] } == 0 })
    }
}
