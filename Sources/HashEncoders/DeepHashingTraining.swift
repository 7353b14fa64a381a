import Foundation

/// Settings for training DH (unsupervised) or SDH (supervised) networks.
public struct DeepHashingConfiguration: Sendable, Equatable {
    /// Hidden layer sizes; the top layer has `bits` outputs.
    public var hiddenSizes: [Int]
    public var weights: DeepHashingObjective.Weights
    /// Gradient-descent step.
    public var learningRate: Double
    /// Heavy-ball momentum (0 = plain gradient descent).
    public var momentum: Double
    /// Maximum number of epochs R.
    public var epochs: Int
    /// Items per step; nil = full batch.
    public var batchSize: Int?
    /// Stop when the epoch objective changes by less than ε·max(1, |J|).
    public var epsilon: Double
    public var seed: UInt64
    /// How the network starts.
    public var initialization: Initialization = .pca
    /// How gradients become steps.
    public var optimizer: Optimizer = .momentum

    /// SDH: which pairs of a mini-batch the supervised term averages over.
    public var pairs: PairSampling = .sampled

    /// SDH's pairs in a mini-batch.
    public enum PairSampling: String, Sendable, Equatable, Codable, CaseIterable {
        /// For each item one random same-class partner and one random different-class partner.
        case sampled
        /// Every ordered pair of distinct items (computed from per-class sums, O(n·B)).
        case all

        func pairs(_ labels: [Int], using rng: inout SeededGenerator) -> DeepHashingObjective.Pairs {
            switch self {
            case .sampled:
                let (same, different) = DeepHashingTraining.samplePairs(labels, using: &rng)
                return .listed(same: same, different: different)
            case .all: return .all(labels: labels)
            }
        }
    }

    /// Step rules (shared with the supervised networks).
    public typealias Optimizer = StepRule
    /// How the step changes over the epochs (constant, as in the paper, by default).
    public var schedule: LearningRateSchedule = .constant

    /// Starting points for the network.
    public enum Initialization: String, Sendable, Equatable, Codable, CaseIterable {
        /// As in the paper: first layer = top principal directions (unscaled), upper layers identity.
        case pca
        /// From the PCA-ITQ solution: the first B units of the first layer are the ITQ projections
        /// and the rest the next principal directions, all scaled to unit variance so tanh starts
        /// unsaturated; upper layers identity. The initial codes are exactly ITQ's.
        case itq
    }

    /// Defaults: hidden sizes 60-30 up to 16 bits (the paper's), 96-48 up to 32, 128-64 above;
    /// start from the PCA-ITQ solution; λ1 = 0.1, λ2 = λ3 = 0.001, SDH α = 1; per-item scaling;
    /// mini-batches of 256, learning rate 0.001, momentum 0.9, 20 epochs. These were chosen on a
    /// validation split of Fashion-MNIST training items (BENCHMARKS.md). The paper's own setting
    /// is `.paper(bits:supervised:)`.
    public static func defaults(bits: Int, supervised: Bool) -> DeepHashingConfiguration {
        var c = paper(bits: bits, supervised: supervised)
        c.weights = .init(lambda1: 0.1, lambda2: 0.001, lambda3: 0.001, alpha: supervised ? 1 : 0, perItem: true)
        c.initialization = .itq
        c.epochs = 20
        return c
    }

    /// The recipe as printed: PCA initialisation, λ1 = 100, λ2 = λ3 = 0.001, SDH α = 3, with the
    /// quantisation term per item, mini-batches of 256, learning rate 0.001, momentum 0.9, 30 epochs.
    public static func paper(bits: Int, supervised: Bool) -> DeepHashingConfiguration {
        let hidden = bits <= 16 ? [60, 30] : bits <= 32 ? [96, 48] : [128, 64]
        return DeepHashingConfiguration(
            hiddenSizes: hidden,
            weights: .init(lambda1: 100, lambda2: 0.001, lambda3: 0.001, alpha: supervised ? 3 : 0, perItem: true),
            learningRate: 0.001, momentum: 0.9, epochs: 30, batchSize: 256, epsilon: 1e-5, seed: 1)
    }
}

/// One epoch's record, from any network trainer.
public struct EpochReport: Sendable, Codable {
    public var epoch: Int
    /// The loss and its terms, unweighted, by name; "total" is the weighted sum that is minimised.
    /// DH/SDH: over the monitoring sample (at most 10,000 training items); `center`/`pairwise`:
    /// the mean over the epoch's batches.
    public var terms: [String: Double]
    public var seconds: Double
    /// The learning rate at the end of the epoch.
    public var learningRate: Double?
    /// The validation score after this epoch, when validating.
    public var validation: Double?

    /// The weighted total.
    public var loss: Double { terms["total"] ?? .nan }

    public init(epoch: Int, terms: [String: Double], seconds: Double, learningRate: Double? = nil, validation: Double? = nil) {
        self.epoch = epoch
        self.terms = terms
        self.seconds = seconds
        self.learningRate = learningRate
        self.validation = validation
    }
}

/// Trains DH and SDH networks by back-propagation (the shared harness).
public enum DeepHashingTraining {
    /// The network before training: the first layer holds the top principal directions (its bias
    /// centres the data), later layers are identities, zero-padded.
    public static func initialLayers(_ x: Matrix, sizes: [Int]) throws(EncoderError) -> [DenseLayer] {
        let first = sizes[0]
        let p = try LinearTraining.pca(x, components: min(first, x.columns))
        var w1 = Matrix(rows: x.columns, columns: first)
        for i in 0..<x.columns { for j in 0..<p.directions.columns { w1[i, j] = p.directions[i, j] } }
        let meanRow = Matrix(rows: 1, columns: x.columns, values: p.mean)
        let c1 = (meanRow * w1).values.map { -$0 }
        var layers = [DenseLayer(weights: w1, bias: c1)]
        for m in 1..<sizes.count {
            layers.append(DenseLayer(weights: .identity(rows: sizes[m - 1], columns: sizes[m]), bias: [Double](repeating: 0, count: sizes[m])))
        }
        return layers
    }

    /// The network initialised from the PCA-ITQ solution (see ``DeepHashingConfiguration/Initialization/itq``).
    public static func itqLayers(_ x: Matrix, bits: Int, sizes: [Int], seed: UInt64) throws(EncoderError) -> [DenseLayer] {
        guard sizes.allSatisfy({ $0 >= bits }) else {
            throw .invalidConfiguration("ITQ initialisation needs every hidden layer at least \(bits) wide, found \(sizes.dropLast())")
        }
        let first = sizes[0], d = x.columns
        // ITQ gives at most d bits; units past the principal directions start as seeded random
        // directions (LSH), so that no unit starts dead when B or the first layer exceeds d.
        let itqBits = min(bits, d)
        let itq = try LinearTraining.itq(x, bits: itqBits, seed: seed)
        let p = try LinearTraining.pca(x, components: min(first, d))
        var w1 = Matrix(rows: d, columns: first)
        let rotated = itq.projection
        var rng = SeededGenerator(seed: seed ^ 0x5EED)
        for j in 0..<first {
            for i in 0..<d {
                if j < itqBits { w1[i, j] = rotated[i, j] }
                else if j >= bits && j < p.directions.columns { w1[i, j] = p.directions[i, j] }
                else { w1[i, j] = rng.gaussian() }
            }
        }
        // Scale every unit to unit variance over the training data, so tanh starts unsaturated.
        // A direction with (almost) no variance — a constant input column, a rank-deficient
        // sample — is replaced by a random one rather than blown up by 1/σ.
        let centred = x.subtractingRow(p.mean)
        var projected = centred * w1
        // The floor: a thousandth of the largest unit's variance (scaling a weaker direction to
        // unit variance would multiply its weights by more than √1000 and make the
        // orthogonality term's gradient explode).
        var largest = 0.0
        for j in 0..<first {
            var v = 0.0
            for i in 0..<projected.rows { v += projected[i, j] * projected[i, j] }
            largest = max(largest, v / Double(max(1, projected.rows)))
        }
        let floor = max(1e-12, 1e-3 * largest)
        for _ in 0..<2 {
            var changed = false
            for j in 0..<first {
                var v = 0.0
                for i in 0..<projected.rows { v += projected[i, j] * projected[i, j] }
                v /= Double(max(1, projected.rows))
                if v < floor {
                    for i in 0..<d { w1[i, j] = rng.gaussian() }
                    changed = true
                }
            }
            if changed { projected = centred * w1 } else { break }
        }
        for j in 0..<first {
            var v = 0.0
            for i in 0..<projected.rows { v += projected[i, j] * projected[i, j] }
            v /= Double(max(1, projected.rows))
            let scale = v >= floor ? 1 / v.squareRoot() : 0
            for i in 0..<d { w1[i, j] *= scale }
        }
        let c1 = (Matrix(rows: 1, columns: d, values: p.mean) * w1).values.map { -$0 }
        var layers = [DenseLayer(weights: w1, bias: c1)]
        for m in 1..<sizes.count {
            layers.append(DenseLayer(weights: .identity(rows: sizes[m - 1], columns: sizes[m]), bias: [Double](repeating: 0, count: sizes[m])))
        }
        return layers
    }

    /// Bytes training needs, roughly: weights, gradients, velocities and the best layers kept
    /// (four copies of the parameters), and activations and their gradients for a batch and for
    /// the 10,000-item monitoring sample, in float64.
    static func memoryEstimate(rows: Int, widths: [Int], batch: Int?) -> Int {
        var parameters = 0, activations = 0
        for (a, b) in zip(widths, widths.dropFirst()) {
            parameters = parameters &+ a.multipliedReportingOverflow(by: b).partialValue &+ b
            activations = activations &+ b
        }
        let batchRows = min(batch ?? rows, rows)
        let perRow = activations &* 3
        // The ITQ initialisation projects every training row onto the first layer at once.
        let initialisation = widths.count > 1 ? rows &* widths[1] : 0
        let total = 4 &* parameters &+ (batchRows &+ min(rows, 10_000)) &* perRow &+ rows &* widths[0] &+ initialisation
        return total < 0 || total > Int.max / 8 ? Int.max : 8 * total
    }

    /// Refuses a network whose training would need more than half of physical memory
    /// (``memoryEstimate(rows:widths:batch:)``); `rows` are the items training keeps buffers for.
    static func checkMemory(rows: Int, widths: [Int], batch: Int?) throws(EncoderError) {
        let needed = memoryEstimate(rows: rows, widths: widths, batch: batch)
        let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) &* Int(sysconf(Int32(_SC_PAGESIZE)))
        guard needed <= physical / 2 else {
            let trained = rows > 0 ? " trained on \(rows) items" : ""
            throw .invalidConfiguration("a network of layer widths \(widths.map(String.init).joined(separator: "-"))\(trained) needs about \(needed >> 20) MiB; this machine has \(physical >> 20) MiB (at most half is used): choose smaller hidden sizes or batches")
        }
    }

    /// Trains a network on `x` (N × d). With `labels` (one per row) trains SDH, else DH.
    /// `progress` is called after every epoch. With `validate` (a score to maximise, for example
    /// mAP on a held-out split), the network is scored before training and after every epoch and
    /// the best-scoring one is returned.
    public static func train(_ x: Matrix, bits: Int, labels: [Int]? = nil, configuration c: DeepHashingConfiguration,
                             validate: ((NeuralHashEncoder) -> Double)? = nil,
                             progress: (EpochReport) -> Void = { _ in }) throws(EncoderError) -> NeuralHashEncoder {
        try LinearTraining.validate(x, bits: bits)
        if let labels, labels.count != x.rows { throw .labelsMismatch(expected: x.rows, found: labels.count) }
        guard c.epochs >= 0, c.learningRate > 0, (c.batchSize ?? 1) >= 1, c.hiddenSizes.allSatisfy({ $0 >= 1 }) else {
            throw .invalidConfiguration("epochs ≥ 0, learning rate > 0, batch size ≥ 1 and hidden sizes ≥ 1 are required")
        }
        try checkMemory(rows: x.rows, widths: [x.columns] + c.hiddenSizes + [bits], batch: c.batchSize)
        let supervised = labels != nil && c.weights.alpha != 0
        var layers = c.initialization == .itq
            ? try itqLayers(x, bits: bits, sizes: c.hiddenSizes + [bits], seed: c.seed)
            : try initialLayers(x, sizes: c.hiddenSizes + [bits])
        var best: (score: Double, layers: [DenseLayer], epoch: Int)?
        if let validate { best = (validate(NeuralHashEncoder(method: "dh", layers: layers)), layers, 0) }
        var optimizer = OptimizerState(rule: c.optimizer, momentum: c.momentum, like: layers)
        var rng = SeededGenerator(seed: c.seed)
        let monitor = Array((0..<x.rows).shuffled(using: &rng).prefix(10_000)).sorted()
        let monitorX = x.gather(monitor)
        var previous: Double?
        let batch = min(c.batchSize ?? x.rows, x.rows)
        // Training never keeps a non-finite value: a step or an epoch that produces one is undone,
        // the step size halved and the work redone (at most 30 halvings).
        var rate = c.learningRate
        var halvings = 0
        /// Restores `saved`, drops the momentum (and Adam's moments) built so far and halves the step.
        func stepBack(to saved: [DenseLayer], _ what: String) throws(EncoderError) {
            layers = saved
            optimizer.reset()
            rate /= 2
            halvings += 1
            guard halvings <= 30 else {
                throw .invalidConfiguration("\(what) even with the step halved 30 times (from \(c.learningRate)); check the input for extreme values")
            }
        }
        var epoch = 0
        var step = 0
        let totalSteps = c.epochs * ((x.rows + batch - 1) / batch)
        while epoch < c.epochs {
            epoch += 1
            let start = Date()
            let epochLayers = layers
            let order = (0..<x.rows).shuffled(using: &rng)
            var at = 0
            while at < order.count {
                let idx = Array(order[at..<min(at + batch, order.count)])
                at += batch
                let xb = x.gather(idx)
                let net = NeuralHashEncoder(method: "dh", layers: layers)
                let acts = net.activations(xb)
                let b = LinearTraining.signMatrix(acts.last!)
                let pairs = supervised ? c.pairs.pairs(idx.map { labels![$0] }, using: &rng) : .none
                let grads = DeepHashingObjective.gradients(layers, activations: acts, b: b, weights: c.weights, pairs: pairs)
                let before = layers
                optimizer.step(&layers, gradients: grads, rate: c.schedule.rate(rate, step: step, of: totalSteps))
                step += 1
                if !OptimizerState.finite(layers) {
                    try stepBack(to: before, "training produced non-finite weights")
                }
            }
            let h = NeuralHashEncoder(method: "dh", layers: layers).project(monitorX)
            var r2 = SeededGenerator(seed: c.seed ^ 0xFEED)
            let pairs = supervised ? c.pairs.pairs(monitor.map { labels![$0] }, using: &r2) : .none
            let terms = DeepHashingObjective.evaluate(layers, top: h, b: LinearTraining.signMatrix(h), weights: c.weights, pairs: pairs)
            guard terms.total.isFinite else {
                // Undo the epoch and run it again with half the step.
                try stepBack(to: epochLayers, "training diverged at epoch \(epoch) (J is not finite)")
                epoch -= 1
                continue
            }
            var report = EpochReport(epoch: epoch, terms: terms.dictionary, seconds: Date().timeIntervalSince(start),
                                     learningRate: c.schedule.rate(rate, step: step, of: totalSteps))
            if let validate {
                let score = validate(NeuralHashEncoder(method: "dh", layers: layers))
                report.validation = score
                if score > best!.score { best = (score, layers, epoch) }
            }
            progress(report)
            if let p = previous, abs(p - terms.total) < c.epsilon * max(1, abs(terms.total)) { break }
            previous = terms.total
        }
        let w = c.weights
        var selected: [String: String] = [:]
        if let best {
            layers = best.layers
            selected = ["selected_epoch": String(best.epoch), "validation_score": String(best.score)]
        }
        return NeuralHashEncoder(method: supervised ? "sdh" : "dh", layers: layers, settings: selected.merging([
            "initialization": c.initialization.rawValue,
            "seed": String(c.seed), "epochs": String(c.epochs), "learning_rate": String(c.learningRate),
            "final_learning_rate": String(rate),
            "momentum": String(c.momentum), "optimizer": c.optimizer.rawValue, "schedule": c.schedule.rawValue, "batch_size": c.batchSize.map(String.init) ?? "full",
            "lambda1": String(w.lambda1), "lambda2": String(w.lambda2), "lambda3": String(w.lambda3),
            "alpha": String(w.alpha), "pairs": c.pairs.rawValue, "scaling": w.perItem ? "per-item" : "paper",
            "hidden": c.hiddenSizes.map(String.init).joined(separator: "-"),
        ]) { a, _ in a })
    }

    /// For each item, one random same-label partner and one random different-label partner
    /// within the batch (where they exist).
    static func samplePairs(_ labels: [Int], using rng: inout SeededGenerator) -> (same: [(Int, Int)], different: [(Int, Int)]) {
        var byLabel: [Int: [Int]] = [:]
        for (i, l) in labels.enumerated() { byLabel[l, default: []].append(i) }
        var same: [(Int, Int)] = [], different: [(Int, Int)] = []
        for (i, l) in labels.enumerated() {
            if let group = byLabel[l], group.count > 1 {
                var j = group[Int.random(in: 0..<group.count, using: &rng)]
                if j == i { j = group[(group.firstIndex(of: i)! + 1) % group.count] }
                same.append((i, j))
            }
            if byLabel.count > 1 {
                for _ in 0..<8 {
                    let j = Int.random(in: 0..<labels.count, using: &rng)
                    if labels[j] != l { different.append((i, j)); break }
                }
            }
        }
        return (same, different)
    }
}
