/// The encoder methods hashidx trains. The raw value is the name stored in archives and typed
/// on the command line.
public enum HashingMethod: String, CaseIterable, Sendable, Codable {
    /// Random Gaussian projections of the centred data.
    case lsh
    /// Signs of the top principal components.
    case pcah
    /// PCA followed by an iterative quantisation rotation (Gong & Lazebnik).
    case itq
    /// Linear discriminant directions (whitened by the within-class scatter), then an ITQ rotation.
    case ldaITQ = "lda-itq"
    /// Deep Hashing (Liong et al.): a tanh network trained without labels.
    case dh
    /// Supervised Deep Hashing: DH plus the paper's class-spread term.
    case sdh
    /// A ReLU network trained towards one Hadamard hash centre per class (binary cross-entropy).
    case center
    /// A ReLU network trained with the pairwise likelihood of same/different-class pairs.
    case pairwise

    /// Whether training needs one label per vector.
    public var needsLabels: Bool {
        switch self {
        case .lsh, .pcah, .itq, .dh: return false
        case .ldaITQ, .sdh, .center, .pairwise: return true
        }
    }

    /// Whether the encoder is a network (``NeuralHashEncoder``) rather than a projection.
    public var isNetwork: Bool {
        switch self {
        case .lsh, .pcah, .itq, .ldaITQ: return false
        case .dh, .sdh, .center, .pairwise: return true
        }
    }

    /// Every method's name, for messages: "lsh, pcah, …, pairwise".
    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension HashingMethod {
    /// Trains this method with its default settings: the one call that gives any encoder.
    /// `labels` (one per row) are required when ``needsLabels`` and ignored otherwise.
    public func train(_ x: Matrix, labels: [Int]? = nil, bits: Int, seed: UInt64 = 1) throws(EncoderError) -> any HashEncoder {
        var options = TrainingOptions()
        options.seed = seed
        return try train(x, labels: labels, bits: bits, options: options, score: nil).encoder
    }
}
