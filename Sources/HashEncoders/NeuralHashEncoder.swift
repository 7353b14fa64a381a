import Foundation

/// One fully connected tanh layer: h_out = tanh(h_in · W + c), W is in × out.
public struct DenseLayer: Equatable, Sendable {
    public var weights: Matrix
    public var bias: [Double]
}

/// The deep hashing network of DH and SDH: a stack of tanh layers; the code is the sign of the
/// top layer's output.
public struct NeuralHashEncoder: HashEncoder {
    public static let archiveVersion = 1

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
            h.values = h.values.map { tanh($0) }
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
        return EncoderArchive(method: method, version: Self.archiveVersion, bits: bits, dimension: dimension, settings: settings, tensors: tensors)
    }

    init(archive a: EncoderArchive) throws(EncoderError) {
        guard a.version <= Self.archiveVersion else { throw .newerArchive(method: a.method, found: a.version, supported: Self.archiveVersion) }
        let count = a.tensors.count / 2
        guard count >= 1, a.tensors.count == 2 * count else { throw .invalidArchive("expected pairs of W and c tensors") }
        var layers: [DenseLayer] = []
        for i in 1...count {
            let w = try a.tensor("W\(i)"), c = try a.tensor("c\(i)")
            guard c.rows == 1, c.columns == w.columns, i == 1 || layers[i - 2].weights.columns == w.rows else {
                throw .invalidArchive("layer \(i) has inconsistent shapes")
            }
            layers.append(DenseLayer(weights: w, bias: c.values))
        }
        guard layers[0].weights.rows == a.dimension, layers[count - 1].weights.columns == a.bits else {
            throw .invalidArchive("layer shapes do not match \(a.dimension) dimensions and \(a.bits) bits")
        }
        self.init(method: a.method, layers: layers, settings: a.settings)
    }
}
