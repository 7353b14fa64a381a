import Foundation

/// One fully connected layer: h_out = f(h_in · W + c), W is in × out, f tanh or ReLU.
public struct DenseLayer: Equatable, Sendable {
    public var weights: Matrix
    public var bias: [Double]
    public var activation: Activation

    /// The non-linearity applied after the affine map.
    public enum Activation: String, Sendable, Equatable, Codable, CaseIterable {
        /// tanh(z): the DH/SDH layers and every network's output layer (its signs are the code).
        case tanh
        /// max(0, z): the hidden layers of the supervised networks (`center`, `pairwise`).
        case relu

        /// f applied to every element.
        func apply(_ m: inout Matrix) {
            switch self {
            case .tanh: for i in m.values.indices { m.values[i] = Foundation.tanh(m.values[i]) }
            case .relu: for i in m.values.indices where m.values[i] < 0 { m.values[i] = 0 }
            }
        }

        /// g ⊙ f′, with f′ computed from the layer's output y.
        func backward(_ g: Matrix, output y: Matrix) -> Matrix {
            var out = g
            switch self {
            case .tanh: for i in out.values.indices { out.values[i] *= 1 - y.values[i] * y.values[i] }
            case .relu: for i in out.values.indices where y.values[i] <= 0 { out.values[i] = 0 }
            }
            return out
        }
    }

    public init(weights: Matrix, bias: [Double], activation: Activation = .tanh) {
        self.weights = weights
        self.bias = bias
        self.activation = activation
    }
}

/// A hashing network: a stack of dense layers, the last one tanh; the code is the sign of the
/// top layer's output. DH and SDH use tanh throughout; `center` and `pairwise` use ReLU hidden
/// layers.
public struct NeuralHashEncoder: HashEncoder {
    /// Version 1: tanh layers only. Version 2 adds the setting `activations` (one name per layer,
    /// comma-separated, e.g. `relu,tanh`). Networks of tanh layers are still written as version 1.
    public static let archiveVersion = 2

    public let method: String
    public var layers: [DenseLayer]
    public let settings: [String: String]

    public var dimension: Int { layers[0].weights.rows }
    public var bits: Int { layers[layers.count - 1].weights.columns }

    public init(method: String, layers: [DenseLayer], settings: [String: String] = [:]) {
        precondition(!layers.isEmpty)
        for i in 1..<layers.count { precondition(layers[i].weights.rows == layers[i - 1].weights.columns) }
        self.method = method
        self.layers = layers
        self.settings = settings
    }

    /// Every layer's output, input first: [X, H¹, …, Hᴹ].
    public func activations(_ x: Matrix) -> [Matrix] {
        var out = [x]
        var h = x
        for layer in layers {
            h = (h * layer.weights).addingRow(layer.bias)
            layer.activation.apply(&h)
            out.append(h)
        }
        return out
    }

    public func project(_ x: Matrix) -> Matrix { activations(x).last! }

    public func archive() -> EncoderArchive {
        var tensors: [(name: String, matrix: Matrix)] = []
        for (i, l) in layers.enumerated() {
            tensors.append(("W\(i + 1)", l.weights))
            tensors.append(("c\(i + 1)", Matrix(rows: 1, columns: l.bias.count, values: l.bias)))
        }
        var s = settings
        var version = 1
        if layers.contains(where: { $0.activation != .tanh }) {
            s["activations"] = layers.map(\.activation.rawValue).joined(separator: ",")
            version = 2
        }
        return EncoderArchive(method: method, version: version, bits: bits, dimension: dimension, settings: s, tensors: tensors)
    }

    init(archive a: EncoderArchive) throws(EncoderError) {
        guard a.version <= Self.archiveVersion else { throw .newerArchive(method: a.method, found: a.version, supported: Self.archiveVersion) }
        let count = a.tensors.count / 2
        guard count >= 1, a.tensors.count == 2 * count else { throw .invalidArchive("expected pairs of W and c tensors") }
        var activations = [DenseLayer.Activation](repeating: .tanh, count: count)
        if a.version >= 2, let names = a.settings["activations"] {
            let parsed = names.split(separator: ",").map { DenseLayer.Activation(rawValue: String($0)) }
            guard parsed.count == count, parsed.allSatisfy({ $0 != nil }) else {
                throw .invalidArchive("expected \(count) activations (tanh or relu) in 'activations', found '\(names)'")
            }
            activations = parsed.compactMap { $0 }
        }
        var layers: [DenseLayer] = []
        for i in 1...count {
            let w = try a.tensor("W\(i)"), c = try a.tensor("c\(i)")
            guard c.rows == 1, c.columns == w.columns, i == 1 || layers[i - 2].weights.columns == w.rows else {
                throw .invalidArchive("layer \(i) has inconsistent shapes")
            }
            layers.append(DenseLayer(weights: w, bias: c.values, activation: activations[i - 1]))
        }
        guard layers[0].weights.rows == a.dimension, layers[count - 1].weights.columns == a.bits else {
            throw .invalidArchive("layer shapes do not match \(a.dimension) dimensions and \(a.bits) bits")
        }
        var settings = a.settings
        settings["activations"] = nil
        self.init(method: a.method, layers: layers, settings: settings)
    }
}
