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

    /// ½(tr Σ_S − tr Σ_D): tr Σ is the mean of ‖h_i − h_j‖² over the pairs.
    public static func supervised(_ h: Matrix, same: [(Int, Int)], different: [(Int, Int)]) -> Double {
        func meanSpread(_ pairs: [(Int, Int)]) -> Double {
            guard !pairs.isEmpty else { return 0 }
            var s = 0.0
            for (i, j) in pairs { for k in 0..<h.columns { let d = h[i, k] - h[j, k]; s += d * d } }
            return s / Double(pairs.count)
        }
        return 0.5 * (meanSpread(same) - meanSpread(different))
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
                                same: [(Int, Int)] = [], different: [(Int, Int)] = []) -> Terms {
        var t = Terms()
        t.quantization = quantization(h, b)
        t.balance = balance(h)
        t.orthogonality = orthogonality(layers)
        t.decay = decay(layers)
        t.supervised = w.alpha == 0 ? 0 : supervised(h, same: same, different: different)
        let s = w.perItem ? 1 / Double(max(h.rows, 1)) : 1
        t.total = s * t.quantization + w.lambda1 * t.balance + w.lambda2 * t.orthogonality + w.lambda3 * t.decay
            + w.lambda1 * w.alpha * t.supervised
        return t
    }

    /// ∂J/∂W_m and ∂J/∂c_m for every layer by back-propagation, with `b` fixed.
    public static func gradients(_ layers: [DenseLayer], activations acts: [Matrix], b: Matrix, weights w: Weights,
                                 same: [(Int, Int)] = [], different: [(Int, Int)] = []) -> [DenseLayer] {
        let h = acts.last!
        let n = Double(h.rows)
        let s = w.perItem ? 1 / n : 1
        // ∂J/∂H.
        var g = s * (h - b)
        let centred = h.subtractingRow(h.columnMeans)
        g = g - (w.lambda1 / n) * centred
        if w.alpha != 0 {
            let scale = w.lambda1 * w.alpha
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
