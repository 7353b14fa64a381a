import Foundation

/// Settings for the supervised hashing networks `center` and `pairwise`.
public struct SupervisedNetworkConfiguration: Sendable, Equatable {
    /// What the network is trained to do with the labels.
    public enum Loss: String, Sendable, Equatable, Codable, CaseIterable {
        /// One hash centre per class (rows of a Hadamard matrix, see
        /// ``SupervisedNetworkTraining/hashCentres(classes:bits:seed:)``); binary cross-entropy of
        /// (h + 1)/2 against (c + 1)/2, plus w·mean((|h| − 1)²).
        case center
        /// The likelihood of every in-batch pair being of the same class or not, with
        /// θ = ½·hᵢᵀhⱼ: mean(log(1 + e^θ) − s·θ), plus w·mean((h − sgn h)²).
        case pairwise
    }

    public var loss: Loss
    /// Hidden layer sizes (ReLU); the output layer has `bits` tanh units.
    public var hiddenSizes: [Int]
    public var learningRate: Double
    public var schedule: LearningRateSchedule
    public var optimizer: StepRule
    /// Momentum, when `optimizer` is `.momentum`.
    public var momentum: Double
    public var epochs: Int
    /// Training runs more epochs than `epochs` when needed to take at least this many steps, so
    /// that small training sets are trained as long as large ones (0: exactly `epochs`).
    public var minimumSteps: Int = 4_000
    public var batchSize: Int
    /// Weight w of the quantisation term.
    public var quantizationWeight: Double
    public var seed: UInt64
    /// `pairwise`: c in θ = c·hᵢᵀhⱼ (½ by default).
    public var innerProductScale: Double = 0.5

    /// One hidden layer of 512 ReLU units, Adam with learning rate 10⁻³ and cosine decay,
    /// batches of 256, 15 epochs and at least 4,000 steps (15 epochs of 69,000 items are 4,050);
    /// quantisation weight 10⁻⁴ (`center`) or 0.1 (`pairwise`).
    public static func defaults(loss: Loss) -> SupervisedNetworkConfiguration {
        SupervisedNetworkConfiguration(loss: loss, hiddenSizes: [512], learningRate: 1e-3, schedule: .cosine, optimizer: .adam,
                                       momentum: 0.9, epochs: 15, batchSize: 256,
                                       quantizationWeight: loss == .center ? 1e-4 : 0.1, seed: 1)
    }
}

/// Trains the supervised hashing networks (`center`, `pairwise`): ReLU hidden layers, a tanh
/// output layer whose signs are the code, inputs standardised (centred, divided by their overall
/// standard deviation; folded into the first layer when training ends).
public enum SupervisedNetworkTraining {
    /// K hash centres of B bits (K × B, ±1). When B is a power of two and K ≤ 2B − 2: rows of the
    /// Sylvester–Hadamard matrix of order B without its all-ones row, then their negations; every
    /// centre has as many +1 as −1 and any two are B/2 apart (or B, for a row and its negation).
    /// Otherwise: seeded random centres with exactly ⌊B/2⌋ +1s each, each of the first 256 chosen as
    /// the farthest from those before it among 64 candidates, later ones drawn once.
    public static func hashCentres(classes: Int, bits: Int, seed: UInt64) -> Matrix {
        var centres = Matrix(rows: classes, columns: bits)
        if bits & (bits - 1) == 0, classes <= 2 * bits - 2 {
            // H[i][j] = (−1)^popcount(i & j).
            for k in 0..<classes {
                let row = k < bits - 1 ? k + 1 : k - (bits - 1) + 1
                let sign = k < bits - 1 ? 1.0 : -1.0
                for j in 0..<bits { centres[k, j] = sign * ((row & j).nonzeroBitCount % 2 == 0 ? 1 : -1) }
            }
            return centres
        }
        var rng = SeededGenerator(seed: seed ^ 0xCE17E5)
        for k in 0..<classes {
            var best: [Double] = [], bestDistance = -1
            // Past 256 classes (labels that are nearly ids) the search would cost K²·64·B: one draw.
            let candidates = k < 256 ? 64 : 1
            for _ in 0..<candidates {
                var candidate = [Double](repeating: -1, count: bits)
                for j in 0..<(bits / 2) { candidate[j] = 1 }
                candidate.shuffle(using: &rng)
                var nearest = bits
                for p in 0..<(candidates > 1 ? k : 0) {
                    var distance = 0
                    for j in 0..<bits where centres[p, j] != candidate[j] { distance += 1 }
                    nearest = min(nearest, distance)
                }
                if nearest > bestDistance { best = candidate; bestDistance = nearest }
            }
            for j in 0..<bits { centres[k, j] = best[j] }
        }
        return centres
    }

    /// Trains a network on `x` (N × d) with one label per row. With `validate` (a score to
    /// maximise), the network is scored after every epoch and the best one is returned.
    public static func train(_ x: Matrix, labels: [Int], bits: Int, configuration c: SupervisedNetworkConfiguration,
                             validate: ((NeuralHashEncoder) -> Double)? = nil,
                             progress: (EpochReport) -> Void = { _ in }) throws(EncoderError) -> NeuralHashEncoder {
        try LinearTraining.validate(x, bits: bits)
        guard labels.count == x.rows else { throw .labelsMismatch(expected: x.rows, found: labels.count) }
        guard c.epochs >= 0, c.learningRate > 0, c.batchSize >= 2, c.hiddenSizes.allSatisfy({ $0 >= 1 }), c.quantizationWeight >= 0,
              c.innerProductScale > 0, c.innerProductScale.isFinite else {
            throw .invalidConfiguration("epochs ≥ 0, learning rate > 0, batch size ≥ 2, hidden sizes ≥ 1, a quantisation weight ≥ 0 and a finite inner-product scale > 0 are required")
        }
        let (classes, y) = LinearTraining.classIndices(labels)
        guard classes.count >= 2 else { throw .invalidConfiguration("\(c.loss.rawValue) needs at least 2 classes in the labels, found \(classes.count)") }
        let widths = [x.columns] + c.hiddenSizes + [bits]
        // No per-item buffers beside the batch: rows 0.
        try DeepHashingTraining.checkMemory(rows: 0, widths: widths, batch: c.batchSize)
        let centres = c.loss == .center ? hashCentres(classes: classes.count, bits: bits, seed: c.seed) : Matrix(rows: 0, columns: bits)

        // Standardisation: x̃ = (x − μ)/σ, σ the standard deviation over all values.
        let mean = x.columnMeans
        var variance = 0.0
        for i in 0..<x.rows { for j in 0..<x.columns { let v = x.values[i * x.columns + j] - mean[j]; variance += v * v } }
        let sigma = max((variance / Double(x.values.count)).squareRoot(), 1e-12)

        // Seeded uniform initialisation in ±1/√fan-in, weights and biases.
        var rng = SeededGenerator(seed: c.seed)
        var layers: [DenseLayer] = []
        for m in 1..<widths.count {
            let bound = 1 / Double(widths[m - 1]).squareRoot()
            func draw() -> Double { Double.random(in: -bound...bound, using: &rng) }
            let w = Matrix(rows: widths[m - 1], columns: widths[m], values: (0..<(widths[m - 1] * widths[m])).map { _ in draw() })
            layers.append(DenseLayer(weights: w, bias: (0..<widths[m]).map { _ in draw() }, activation: m == widths.count - 1 ? .tanh : .relu))
        }
        func folded(_ ls: [DenseLayer], settings: [String: String] = [:]) -> NeuralHashEncoder {
            // W′ = W/σ, c′ = c − (μ/σ)·W: the same network on raw inputs.
            var out = ls
            out[0].weights = (1 / sigma) * ls[0].weights
            let shift = Matrix(rows: 1, columns: mean.count, values: mean) * out[0].weights
            for j in 0..<out[0].bias.count { out[0].bias[j] -= shift.values[j] }
            return NeuralHashEncoder(method: c.loss.rawValue, layers: out, settings: settings)
        }

        var optimizer = OptimizerState(rule: c.optimizer, momentum: c.momentum, like: layers)
        var best: (score: Double, layers: [DenseLayer], epoch: Int)?
        let batch = min(c.batchSize, x.rows)
        let stepsPerEpoch = (x.rows + batch - 1) / batch
        let epochs = max(c.epochs, (max(0, c.minimumSteps) + stepsPerEpoch - 1) / stepsPerEpoch)
        let totalSteps = epochs * stepsPerEpoch
        var base = c.learningRate, halvings = 0, step = 0
        var epoch = 0
        while epoch < epochs {
            epoch += 1
            let start = Date()
            let epochLayers = layers
            let order = (0..<x.rows).shuffled(using: &rng)
            var sums = (similarity: 0.0, quantization: 0.0), batches = 0
            var restart = false
            var at = 0
            while at < order.count {
                let idx = Array(order[at..<min(at + batch, order.count)])
                at += batch
                guard idx.count >= 2 else { continue }
                var xb = x.gather(idx)
                for i in 0..<xb.rows { for j in 0..<xb.columns { xb.values[i * xb.columns + j] = (xb.values[i * xb.columns + j] - mean[j]) / sigma } }
                let acts = NeuralHashEncoder(method: c.loss.rawValue, layers: layers).activations(xb)
                let h = acts.last!
                let (similarity, quantization, topDelta) = c.loss == .center
                    ? centerLoss(h, targets: idx.map { y[$0] }, centres: centres, weight: c.quantizationWeight)
                    : pairwiseLoss(h, labels: idx.map { y[$0] }, weight: c.quantizationWeight, scale: c.innerProductScale)
                let grads = backpropagate(layers, activations: acts, topDelta: topDelta)
                optimizer.step(&layers, gradients: grads, rate: c.schedule.rate(base, step: step, of: totalSteps))
                step += 1
                guard OptimizerState.finite(layers), similarity.isFinite, quantization.isFinite else {
                    if halvings == 30 {
                        throw .invalidConfiguration("training produced non-finite weights even with the step halved 30 times (from \(c.learningRate)); check the input for extreme values")
                    }
                    // Undo the epoch and run it again with half the step.
                    layers = epochLayers
                    optimizer.reset()
                    base /= 2
                    halvings += 1
                    step = (epoch - 1) * stepsPerEpoch
                    restart = true
                    break
                }
                sums.similarity += similarity
                sums.quantization += quantization
                batches += 1
            }
            if restart { epoch -= 1; continue }
            let n = Double(max(batches, 1))
            let terms = [c.loss == .center ? "cross_entropy" : "likelihood": sums.similarity / n, "quantization": sums.quantization / n,
                         "total": (sums.similarity + c.quantizationWeight * sums.quantization) / n]
            var report = EpochReport(epoch: epoch, terms: terms, seconds: Date().timeIntervalSince(start),
                                     learningRate: c.schedule.rate(base, step: step, of: totalSteps))
            if let validate {
                let score = validate(folded(layers))
                report.validation = score
                if score > (best?.score ?? -.infinity) { best = (score, layers, epoch) }
            }
            progress(report)
        }
        var settings = [
            "loss": c.loss.rawValue, "seed": String(c.seed), "epochs": String(epochs), "learning_rate": String(c.learningRate),
            "final_learning_rate": String(base), "schedule": c.schedule.rawValue, "optimizer": c.optimizer.rawValue,
            "batch_size": String(c.batchSize), "quantization_weight": String(c.quantizationWeight),
            "inner_product_scale": String(c.innerProductScale), "classes": String(classes.count),
            "hidden": c.hiddenSizes.map(String.init).joined(separator: "-"),
        ]
        if let best {
            layers = best.layers
            settings["selected_epoch"] = String(best.epoch)
            settings["validation_score"] = String(best.score)
        }
        return folded(layers, settings: settings)
    }

    /// The centre loss of a batch: mean binary cross-entropy of (h + 1)/2 against (c + 1)/2, the
    /// mean of (|h| − 1)², and ∂(cross-entropy + w·quantisation)/∂z at the output (h = tanh z).
    /// With p = (1 + tanh z)/2 = σ(2z) the cross-entropy is softplus(2z) − t·2z, whose derivative
    /// in z is h − c.
    static func centerLoss(_ h: Matrix, targets: [Int], centres: Matrix, weight: Double) -> (Double, Double, Matrix) {
        let scale = 1 / Double(h.values.count)
        var delta = h
        var crossEntropy = 0.0, quantization = 0.0
        for i in 0..<h.rows {
            for j in 0..<h.columns {
                let v = h.values[i * h.columns + j]
                let target = centres[targets[i], j]
                let z = atanh(min(max(v, -1 + 1e-15), 1 - 1e-15))
                let t = (target + 1) / 2
                // softplus(2z) computed stably.
                let s = 2 * z
                crossEntropy += max(s, 0) + log1p(exp(-abs(s))) - t * s
                let q = abs(v) - 1
                quantization += q * q
                let dq = 2 * q * (v > 0 ? 1 : v < 0 ? -1 : 0) * (1 - v * v)
                delta.values[i * h.columns + j] = scale * ((v - target) + weight * dq)
            }
        }
        return (crossEntropy * scale, quantization * scale, delta)
    }

    /// The pairwise loss of a batch: the mean over ordered pairs i ≠ j of log(1 + e^θ) − s·θ with
    /// θ = c·hᵢᵀhⱼ and s = 1 for the same class, the mean of (h − sgn h)², and ∂/∂z at the output.
    static func pairwiseLoss(_ h: Matrix, labels: [Int], weight: Double, scale c: Double = 0.5) -> (Double, Double, Matrix) {
        let n = h.rows, bits = h.columns
        let theta = Matrix.product(h, h, transposeB: true, scale: c)
        let pairs = Double(n * (n - 1))
        var a = Matrix(rows: n, columns: n)
        var likelihood = 0.0
        for i in 0..<n {
            for j in 0..<n where j != i {
                let t = theta.values[i * n + j]
                let s = labels[i] == labels[j] ? 1.0 : 0.0
                likelihood += max(t, 0) + log1p(exp(-abs(t))) - s * t
                a.values[i * n + j] = (1 / (1 + exp(-t)) - s) / pairs
            }
        }
        // ∂L/∂h = 2c·A·h (A symmetric: h_i appears in pairs (i, j) and (j, i)).
        var delta = Matrix.product(a, h, scale: 2 * c)
        let qScale = 1 / Double(n * bits)
        var quantization = 0.0
        for k in 0..<delta.values.count {
            let v = h.values[k]
            let q = v - (v > 0 ? 1 : -1)
            quantization += q * q
            delta.values[k] = (delta.values[k] + weight * 2 * q * qScale) * (1 - v * v)
        }
        return (likelihood / pairs, quantization * qScale, delta)
    }

    /// Gradients of every layer's weights and bias from ∂L/∂z of the top layer.
    static func backpropagate(_ layers: [DenseLayer], activations acts: [Matrix], topDelta: Matrix) -> [DenseLayer] {
        var grads = layers
        var delta = topDelta
        for m in stride(from: layers.count - 1, through: 0, by: -1) {
            let gw = Matrix.product(acts[m], transposeA: true, delta)
            var gc = [Double](repeating: 0, count: delta.columns)
            for i in 0..<delta.rows { for j in 0..<delta.columns { gc[j] += delta.values[i * delta.columns + j] } }
            grads[m] = DenseLayer(weights: gw, bias: gc, activation: layers[m].activation)
            if m > 0 { delta = layers[m - 1].activation.backward(Matrix.product(delta, layers[m].weights, transposeB: true), output: acts[m]) }
        }
        return grads
    }
}
