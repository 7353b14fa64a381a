import Foundation

/// The DH / SDH objective (Liong et al., CVPR 2015), with B = sgn(H) held fixed within a step:
///
///     J = s·½‖B − H‖²  − λ1·(1/(2n))·tr(H̃ᵀH̃)  + λ2·½Σ‖WᵀW − I‖²  + λ3·½Σ(‖W‖² + ‖c‖²)
///         [+ λ1·α·½(tr Σ_S − tr Σ_D)  for SDH]
///
/// over a batch of n items, H = top-layer outputs, H̃ = H minus its per-bit mean. W is stored
/// in × out, so WᵀW is the paper's W Wᵀ. s = 1 for the paper's scaling (the quantisation term
/// summed over items) or 1/n for per-item scaling (every data term a mean over items).
/// Σ_S (Σ_D) is the mean of (h_i − h_j)(h_i − h_j)ᵀ over same-class (different-class) pairs.
public enum DeepHashingObjective {
    /// ½‖B − H‖²_F.
    public static func quantization(_ h: Matrix, _ b: Matrix) -> Double { 0.5 * (b - h).squaredNorm }

    /// −(1/(2n))·tr(H̃ᵀH̃): minus half the summed per-bit variance.
    public static func balance(_ h: Matrix) -> Double {
        -0.5 * h.subtractingRow(h.columnMeans).squaredNorm / Double(max(h.rows, 1))
    }

    /// ½Σ_m ‖W_mᵀW_m − I‖²_F.
    public static func orthogonality(_ layers: [DenseLayer]) -> Double {
        layers.reduce(0) { sum, l in
            let g = Matrix.product(l.weights, transposeA: true, l.weights)
            return sum + 0.5 * (g - .identity(rows: g.rows, columns: g.columns)).squaredNorm
        }
    }

    /// ½Σ_m (‖W_m‖² + ‖c_m‖²).
    public static func decay(_ layers: [DenseLayer]) -> Double {
        layers.reduce(0) { $0 + 0.5 * ($1.weights.squaredNorm + $1.bias.reduce(0) { $0 + $1 * $1 }) }
    }

    /// The pairs SDH's supervised term averages over.
    public enum Pairs: Sendable {
        /// Listed same-class and different-class pairs (i, j) of batch rows.
        case listed(same: [(Int, Int)], different: [(Int, Int)])
        /// Every ordered pair of distinct batch rows, same-class or not by `labels` (one per row).
        case all(labels: [Int])

        /// No pairs: DH.
        public static let none = Pairs.listed(same: [], different: [])
    }

    /// ½(tr Σ_S − tr Σ_D): tr Σ is the mean of ‖h_i − h_j‖² over the pairs.
    public static func supervised(_ h: Matrix, same: [(Int, Int)], different: [(Int, Int)]) -> Double {
        supervised(h, pairs: .listed(same: same, different: different))
    }

    /// ½(tr Σ_S − tr Σ_D) over `pairs`.
    public static func supervised(_ h: Matrix, pairs: Pairs) -> Double {
        switch pairs {
        case .listed(let same, let different):
            func meanSpread(_ pairs: [(Int, Int)]) -> Double {
                guard !pairs.isEmpty else { return 0 }
                var s = 0.0
                for (i, j) in pairs { for k in 0..<h.columns { let d = h[i, k] - h[j, k]; s += d * d } }
                return s / Double(pairs.count)
            }
            return 0.5 * (meanSpread(same) - meanSpread(different))
        case .all(let labels):
            let c = ClassSums(h, labels: labels)
            return 0.5 * ((c.sameCount > 0 ? c.sameSum / c.sameCount : 0) - (c.differentCount > 0 ? c.differentSum / c.differentCount : 0))
        }
    }

    /// Per-class sums of a batch's outputs, from which the spread over all same-class and all
    /// different-class pairs and its gradient follow in O(n·B) instead of O(n²·B):
    /// Σ_{i,j ∈ c} ‖h_i − h_j‖² = 2·n_c·Σ_{i∈c}‖h_i‖² − 2‖Σ_{i∈c} h_i‖², over ordered pairs.
    struct ClassSums {
        var classOf: [Int]
        var counts: [Double]
        var sums: [[Double]]
        var total: [Double]
        var sameSum = 0.0, differentSum = 0.0, sameCount = 0.0, differentCount = 0.0

        init(_ h: Matrix, labels: [Int]) {
            let (classes, slots) = LinearTraining.classIndices(labels)
            classOf = slots
            let k = classes.count, b = h.columns
            counts = [Double](repeating: 0, count: k)
            sums = [[Double]](repeating: [Double](repeating: 0, count: b), count: k)
            total = [Double](repeating: 0, count: b)
            var squares = [Double](repeating: 0, count: k)
            for i in 0..<h.rows {
                let c = classOf[i]
                counts[c] += 1
                for j in 0..<b {
                    let v = h[i, j]
                    sums[c][j] += v
                    total[j] += v
                    squares[c] += v * v
                }
            }
            let n = Double(h.rows)
            let allSquares = squares.reduce(0, +)
            let everything = 2 * n * allSquares - 2 * total.reduce(0) { $0 + $1 * $1 }
            for c in 0..<k {
                sameSum += 2 * counts[c] * squares[c] - 2 * sums[c].reduce(0) { $0 + $1 * $1 }
                sameCount += counts[c] * (counts[c] - 1)
            }
            differentSum = everything - sameSum
            differentCount = n * n - counts.reduce(0) { $0 + $1 * $1 }
        }
    }

    /// Weights and scaling of the terms.
    public struct Weights: Equatable, Sendable, Codable {
        public var lambda1: Double
        public var lambda2: Double
        public var lambda3: Double
        /// SDH's α (0 for DH).
        public var alpha: Double
        /// True: the quantisation term is a mean over items (s = 1/n); false: a sum (s = 1), as printed.
        public var perItem: Bool

        public init(lambda1: Double, lambda2: Double, lambda3: Double, alpha: Double = 0, perItem: Bool) {
            self.lambda1 = lambda1; self.lambda2 = lambda2; self.lambda3 = lambda3; self.alpha = alpha; self.perItem = perItem
        }
    }

    /// Every term, unweighted, and the weighted total.
    public struct Terms: Equatable, Sendable, Codable {
        public var quantization = 0.0
        public var balance = 0.0
        public var orthogonality = 0.0
        public var decay = 0.0
        public var supervised = 0.0
        public var total = 0.0

        /// The terms by name ("quantization", "balance", …, "total").
        public var dictionary: [String: Double] {
            ["quantization": quantization, "balance": balance, "orthogonality": orthogonality, "decay": decay,
             "supervised": supervised, "total": total]
        }
    }

    /// J and its terms for a batch, with `b` fixed.
    public static func evaluate(_ layers: [DenseLayer], top h: Matrix, b: Matrix, weights w: Weights,
                                pairs: Pairs = .none) -> Terms {
        var t = Terms()
        t.quantization = quantization(h, b)
        t.balance = balance(h)
        t.orthogonality = orthogonality(layers)
        t.decay = decay(layers)
        t.supervised = w.alpha == 0 ? 0 : supervised(h, pairs: pairs)
        let s = w.perItem ? 1 / Double(max(h.rows, 1)) : 1
        t.total = s * t.quantization + w.lambda1 * t.balance + w.lambda2 * t.orthogonality + w.lambda3 * t.decay
            + w.lambda1 * w.alpha * t.supervised
        return t
    }

    /// ∂J/∂W_m and ∂J/∂c_m for every layer by back-propagation, with `b` fixed.
    public static func gradients(_ layers: [DenseLayer], activations acts: [Matrix], b: Matrix, weights w: Weights,
                                 pairs: Pairs = .none) -> [DenseLayer] {
        let h = acts.last!
        let n = Double(h.rows)
        let s = w.perItem ? 1 / n : 1
        // ∂J/∂H.
        var g = s * (h - b)
        let centred = h.subtractingRow(h.columnMeans)
        g = g - (w.lambda1 / n) * centred
        if w.alpha != 0 {
            let scale = w.lambda1 * w.alpha
            switch pairs {
            case .listed(let same, let different):
                for (pairs, sign) in [(same, 1.0), (different, -1.0)] where !pairs.isEmpty {
                    let f = sign * scale / Double(pairs.count)
                    for (i, j) in pairs {
                        for k in 0..<h.columns {
                            let d = f * (h[i, k] - h[j, k])
                            g[i, k] += d
                            g[j, k] -= d
                        }
                    }
                }
            case .all(let labels):
                // ∂/∂h_i of ½·Σ_same/|S|: 2(n_c·h_i − s_c)/|S|; of ½·Σ_all: 2(n·h_i − s)/|D ∪ S|,
                // and the different-class part is the whole minus the same-class part.
                let c = ClassSums(h, labels: labels)
                let n = Double(h.rows)
                let fs = c.sameCount > 0 ? 2 * scale / c.sameCount : 0
                let fd = c.differentCount > 0 ? 2 * scale / c.differentCount : 0
                for i in 0..<h.rows {
                    let k = c.classOf[i], nc = c.counts[k]
                    for j in 0..<h.columns {
                        let same = nc * h[i, j] - c.sums[k][j]
                        let all = n * h[i, j] - c.total[j]
                        g[i, j] += fs * same - fd * (all - same)
                    }
                }
            }
        }
        var grads = layers
        var delta = layers[layers.count - 1].activation.backward(g, output: h)
        for m in stride(from: layers.count - 1, through: 0, by: -1) {
            let W = layers[m].weights
            let gram = Matrix.product(W, transposeA: true, W)
            var gw = Matrix.product(acts[m], transposeA: true, delta)
            gw = gw + (2 * w.lambda2) * (W * (gram - .identity(rows: gram.rows, columns: gram.columns))) + w.lambda3 * W
            var gc = [Double](repeating: 0, count: W.columns)
            for i in 0..<delta.rows { for j in 0..<delta.columns { gc[j] += delta[i, j] } }
            for j in 0..<gc.count { gc[j] += w.lambda3 * layers[m].bias[j] }
            grads[m] = DenseLayer(weights: gw, bias: gc, activation: layers[m].activation)
            if m > 0 { delta = layers[m - 1].activation.backward(Matrix.product(delta, W, transposeB: true), output: acts[m]) }
        }
        return grads
    }
}
