import Foundation

/// How gradients become steps: the optimisers every network trainer shares.
public enum StepRule: String, Sendable, Equatable, Codable, CaseIterable {
    /// Heavy-ball momentum: v ← μ·v − η·g, w ← w + v (the DH paper's).
    case momentum
    /// Adam (Kingma and Ba): bias-corrected first and second moments of the gradient,
    /// β1 = 0.9, β2 = 0.999, ε = 1e-8; w ← w − η·m̂ / (√v̂ + ε).
    case adam
}

/// How the learning rate changes over training.
public enum LearningRateSchedule: String, Sendable, Equatable, Codable, CaseIterable {
    /// η throughout.
    case constant
    /// Cosine decay from η to 0 over all steps: η_t = η·½(1 + cos(π·t/T)).
    case cosine

    /// The rate for step `step` (0-based) of `total`.
    public func rate(_ base: Double, step: Int, of total: Int) -> Double {
        switch self {
        case .constant: return base
        case .cosine: return base * 0.5 * (1 + cos(Double.pi * Double(step) / Double(max(total, 1))))
        }
    }
}

/// The optimiser's state for one network: momentum velocities or Adam's two moments.
struct OptimizerState {
    let rule: StepRule
    let momentum: Double
    private var first: [DenseLayer]
    private var second: [DenseLayer]
    private var steps = 0.0

    init(rule: StepRule, momentum: Double, like layers: [DenseLayer]) {
        self.rule = rule
        self.momentum = momentum
        first = Self.zeros(like: layers)
        second = first
    }

    static func zeros(like layers: [DenseLayer]) -> [DenseLayer] {
        layers.map { DenseLayer(weights: Matrix(rows: $0.weights.rows, columns: $0.weights.columns), bias: [Double](repeating: 0, count: $0.bias.count), activation: $0.activation) }
    }

    /// Forgets the momentum built so far (after a step is undone).
    mutating func reset() {
        first = Self.zeros(like: first)
        second = first
        steps = 0
    }

    /// Moves `layers` one step against `gradients` at learning rate `rate`.
    mutating func step(_ layers: inout [DenseLayer], gradients: [DenseLayer], rate: Double) {
        switch rule {
        case .momentum:
            let mu = momentum
            func heavyBall(_ w: inout [Double], _ v: inout [Double], _ g: [Double]) {
                for i in w.indices {
                    v[i] = mu * v[i] - rate * g[i]
                    w[i] += v[i]
                }
            }
            for m in layers.indices {
                heavyBall(&layers[m].weights.values, &first[m].weights.values, gradients[m].weights.values)
                heavyBall(&layers[m].bias, &first[m].bias, gradients[m].bias)
            }
        case .adam:
            steps += 1
            let b1 = 0.9, b2 = 0.999, eps = 1e-8
            let c1 = 1 - pow(b1, steps), c2 = 1 - pow(b2, steps)
            func adam(_ w: inout [Double], _ m: inout [Double], _ v: inout [Double], _ g: [Double]) {
                for i in w.indices {
                    m[i] = b1 * m[i] + (1 - b1) * g[i]
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                    w[i] -= rate * (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
                }
            }
            for m in layers.indices {
                adam(&layers[m].weights.values, &first[m].weights.values, &second[m].weights.values, gradients[m].weights.values)
                adam(&layers[m].bias, &first[m].bias, &second[m].bias, gradients[m].bias)
            }
        }
    }

    /// Whether every weight and bias is finite.
    static func finite(_ layers: [DenseLayer]) -> Bool {
        layers.allSatisfy { $0.weights.values.allSatisfy(\.isFinite) && $0.bias.allSatisfy(\.isFinite) }
    }
}
