import Foundation

/// Every training setting `hashidx train` takes, for any method; nil or the default keeps the
/// method's own default. Decodable from JSON with snake_case keys (`learning_rate`,
/// `batch_size`, …): the C API and the Python package pass options this way.
public struct TrainingOptions: Codable, Sendable, Equatable {
    /// Random seed (projections, initialisation, batches, the validation split).
    public var seed: UInt64 = 1
    /// ITQ iterations (default 50), or a network's (maximum) epochs.
    public var epochs: Int?
    /// Network hidden layer sizes.
    public var hidden: [Int]?
    public var learningRate: Double?
    public var schedule: LearningRateSchedule?
    /// Network mini-batch size (0 = full batch, dh/sdh only; center/pairwise need ≥ 2).
    public var batchSize: Int?
    public var optimizer: StepRule?
    /// center/pairwise: weight of the quantisation term (≥ 0).
    public var quantizationWeight: Double?
    /// pairwise: c in θ = c·hᵢᵀhⱼ (> 0).
    public var innerProductScale: Double?
    /// DH/SDH loss weights (≥ 0).
    public var lambda1: Double?
    public var lambda2: Double?
    public var lambda3: Double?
    /// SDH: weight of the supervised term (≥ 0).
    public var alpha: Double?
    public var pairs: DeepHashingConfiguration.PairSampling?
    /// DH/SDH: start from the paper's recipe instead of the validated defaults.
    public var paperRecipe = false
    /// DH/SDH: sum the quantisation loss over items (the paper's printed form).
    public var paperScaling = false
    public var initialization: DeepHashingConfiguration.Initialization?
    /// Networks: training items held out as validation queries (needs labels); the epoch with the
    /// best validation mAP is kept. 0 = no validation.
    public var validationQueries = 0
    /// Networks: size of the validation database drawn from the remaining items.
    public var validationDatabase = 10_000

    public init() {}

    /// Every option's key, as JSON spells it (`learning_rate`); messages name options by these.
    public static var keys: [String] { CodingKeys.allCases.map(\.rawValue) + ["bits", "labels"] }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case seed, epochs, hidden, learningRate = "learning_rate", schedule, batchSize = "batch_size", optimizer
        case quantizationWeight = "quantization_weight", innerProductScale = "inner_product_scale"
        case lambda1, lambda2, lambda3, alpha, pairs, paperRecipe = "paper_recipe", paperScaling = "paper_scaling"
        case initialization, validationQueries = "validation_queries", validationDatabase = "validation_database"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 1
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs)
        hidden = try c.decodeIfPresent([Int].self, forKey: .hidden)
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate)
        schedule = try c.decodeIfPresent(LearningRateSchedule.self, forKey: .schedule)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize)
        optimizer = try c.decodeIfPresent(StepRule.self, forKey: .optimizer)
        quantizationWeight = try c.decodeIfPresent(Double.self, forKey: .quantizationWeight)
        innerProductScale = try c.decodeIfPresent(Double.self, forKey: .innerProductScale)
        lambda1 = try c.decodeIfPresent(Double.self, forKey: .lambda1)
        lambda2 = try c.decodeIfPresent(Double.self, forKey: .lambda2)
        lambda3 = try c.decodeIfPresent(Double.self, forKey: .lambda3)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
        pairs = try c.decodeIfPresent(DeepHashingConfiguration.PairSampling.self, forKey: .pairs)
        paperRecipe = try c.decodeIfPresent(Bool.self, forKey: .paperRecipe) ?? false
        paperScaling = try c.decodeIfPresent(Bool.self, forKey: .paperScaling) ?? false
        initialization = try c.decodeIfPresent(DeepHashingConfiguration.Initialization.self, forKey: .initialization)
        validationQueries = try c.decodeIfPresent(Int.self, forKey: .validationQueries) ?? 0
        validationDatabase = try c.decodeIfPresent(Int.self, forKey: .validationDatabase) ?? 10_000
    }

    /// Options from a JSON object, e.g. `{"epochs": 10, "hidden": [256], "learning_rate": 0.001}`.
    /// An unknown key, a value of the wrong type or an empty text is an error naming it.
    public static func fromJSON(_ text: String) throws(EncoderError) -> TrainingOptions {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return TrainingOptions() }
        let data = Data(trimmed.utf8)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalidOption("training options must be a JSON object like {\"epochs\": 10}, found '\(trimmed.prefix(80))'")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidOption("unknown training option '\(unknown)'; expected one of \(known.sorted().joined(separator: ", "))")
        }
        do { return try JSONDecoder().decode(TrainingOptions.self, from: data) } catch {
            throw .invalidOption("training options: \(Self.describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .typeMismatch(let type, let c)?: return "'\(c.codingPath.map(\.stringValue).joined(separator: "."))' must be \(type)"
        case .dataCorrupted(let c)?: return "'\(c.codingPath.map(\.stringValue).joined(separator: "."))': \(c.debugDescription)"
        case .valueNotFound(_, let c)?: return "'\(c.codingPath.map(\.stringValue).joined(separator: "."))' is null"
        default: return "\(error)"
        }
    }

    /// Checks every setting against what `method` accepts, before any data is read or memory
    /// allocated: finite, positive rates; non-negative weights; sizes in range.
    public func validate(method: HashingMethod, bits: Int, hasLabels: Bool) throws(EncoderError) {
        func bad(_ why: String) -> EncoderError { .invalidOption(why) }
        guard (8...1024).contains(bits) else { throw bad("bits must be between 8 and 1024, found \(bits)") }
        if let epochs, epochs < 0 { throw bad("epochs must be at least 0, found \(epochs)") }
        if let epochs, epochs > 1_000_000 { throw bad("epochs must be at most 1000000, found \(epochs)") }
        if let hidden {
            guard !hidden.isEmpty, hidden.allSatisfy({ (1...1 << 24).contains($0) }) else {
                throw bad("hidden must be one or more layer sizes between 1 and \(1 << 24), found \(hidden)")
            }
        }
        if let learningRate, !(learningRate.isFinite && learningRate > 0) {
            throw bad("learning_rate must be a finite number above 0, found \(learningRate)")
        }
        if let batchSize, batchSize < 0 { throw bad("batch_size must be at least 0, found \(batchSize)") }
        for (name, value) in [("quantization_weight", quantizationWeight), ("lambda1", lambda1), ("lambda2", lambda2),
                              ("lambda3", lambda3), ("alpha", alpha)] {
            if let value, !(value.isFinite && value >= 0) { throw bad("\(name) must be a finite number ≥ 0, found \(value)") }
        }
        if let innerProductScale, !(innerProductScale.isFinite && innerProductScale > 0) {
            throw bad("inner_product_scale must be a finite number above 0, found \(innerProductScale)")
        }
        guard validationQueries >= 0 else { throw bad("validation_queries must be at least 0, found \(validationQueries)") }
        guard validationDatabase >= 1 else { throw bad("validation_database must be at least 1, found \(validationDatabase)") }
        if validationQueries > 0 && !hasLabels { throw bad("validation_queries needs labels") }
        if validationQueries > 0 && !method.isNetwork {
            throw bad("validation_queries selects an epoch of a network (dh, sdh, center, pairwise), not of \(method.rawValue)")
        }
        if method == .center || method == .pairwise, let batchSize, batchSize < 2 {
            throw bad("batch_size must be at least 2 for \(method.rawValue), found \(batchSize)")
        }
        if method.needsLabels && !hasLabels { throw bad("\(method.rawValue) needs labels, one per training vector") }
    }
}

/// What training produced, with its record.
public struct TrainingOutcome {
    public var encoder: any HashEncoder
    /// ITQ / LDA-ITQ: the quantisation loss after each iteration.
    public var itqLosses: [Double]?
    /// Networks: every epoch's loss terms (and validation score).
    public var epochs: [EpochReport]?
}

/// What training reports as it goes.
public enum TrainingEvent {
    /// A held-out validation split was drawn (queries, database, training items).
    case validationSplit(queries: Int, database: Int, training: Int)
    /// ITQ finished: its quantisation losses.
    case iterations([Double])
    /// A network finished an epoch.
    case epoch(EpochReport)
}

/// Scores a network's codes on a held-out split, higher is better: packed database codes and
/// their labels, packed query codes and theirs, and the code width. `HashIdxVectors` supplies
/// tie-aware mAP (``HashingMethod/train(_:labels:bits:options:report:)``).
public typealias ValidationScore = (_ database: [UInt8], _ databaseLabels: [Int], _ queries: [UInt8], _ queryLabels: [Int],
                                    _ bits: Int) -> Double

extension HashingMethod {
    /// Trains this method on `x` (N × d) with `options`: the one dispatch every caller shares.
    /// `labels` (one per row) are required when ``needsLabels``; `score` rates the networks of
    /// the validation split that `options.validationQueries` asks for.
    /// - Throws: ``EncoderError`` for a bad option (checked before any work), labels of the
    ///   wrong count, or a failure of the linear algebra.
    public func train(_ x: Matrix, labels y: [Int]?, bits: Int, options o: TrainingOptions, score: ValidationScore?,
                      report: (TrainingEvent) -> Void = { _ in }) throws(EncoderError) -> TrainingOutcome {
        try o.validate(method: self, bits: bits, hasLabels: y != nil)
        if let y, y.count != x.rows { throw .labelsMismatch(expected: x.rows, found: y.count) }
        var losses: [Double] = []
        let iterations = o.epochs ?? 50
        switch self {
        case .lsh: return TrainingOutcome(encoder: try LinearTraining.lsh(x, bits: bits, seed: o.seed))
        case .pcah: return TrainingOutcome(encoder: try LinearTraining.pcah(x, bits: bits))
        case .itq:
            let e = try LinearTraining.itq(x, bits: bits, iterations: iterations, seed: o.seed) { losses.append($1) }
            report(.iterations(losses))
            return TrainingOutcome(encoder: e, itqLosses: losses)
        case .ldaITQ:
            let e = try LinearTraining.ldaITQ(x, labels: y!, bits: bits, iterations: iterations, seed: o.seed) { losses.append($1) }
            report(.iterations(losses))
            return TrainingOutcome(encoder: e, itqLosses: losses)
        case .dh, .sdh, .center, .pairwise:
            return try trainNetwork(x, labels: y, bits: bits, options: o, score: score, report: report)
        }
    }

    private func trainNetwork(_ x: Matrix, labels y: [Int]?, bits: Int, options o: TrainingOptions, score: ValidationScore?,
                              report: (TrainingEvent) -> Void) throws(EncoderError) -> TrainingOutcome {
        var trainX = x, trainY = y
        var validate: ((NeuralHashEncoder) -> Double)?
        if o.validationQueries > 0, let all = y {
            guard let score else {
                throw .invalidOption("validation_queries needs a validation score (HashIdxVectors' train supplies tie-aware mAP)")
            }
            guard o.validationQueries < x.rows else {
                throw .invalidOption("validation_queries must be smaller than the number of training vectors (\(x.rows)), found \(o.validationQueries)")
            }
            let split: ValidationSplit
            do { split = try ValidationSplit(rows: x.rows, queries: o.validationQueries, database: o.validationDatabase, seed: o.seed) }
            catch { throw .invalidConfiguration("\(error)") }
            let qx = x.gather(split.queries), dbx = x.gather(split.database)
            let ql = split.queries.map { all[$0] }, dbl = split.database.map { all[$0] }
            trainX = x.gather(split.training)
            trainY = split.training.map { all[$0] }
            validate = { net in
                let q = (try? net.encode(qx)) ?? [], d = (try? net.encode(dbx)) ?? []
                return score(d, dbl, q, ql, bits)
            }
            report(.validationSplit(queries: split.queries.count, database: split.database.count, training: split.training.count))
        }
        var log: [EpochReport] = []
        let progress: (EpochReport) -> Void = { r in
            log.append(r)
            report(.epoch(r))
        }
        let encoder: NeuralHashEncoder
        switch self {
        case .center, .pairwise:
            var c = SupervisedNetworkConfiguration.defaults(loss: self == .center ? .center : .pairwise)
            c.seed = o.seed
            if let epochs = o.epochs {
                c.epochs = epochs
                c.minimumSteps = 0
            }
            if let sizes = o.hidden { c.hiddenSizes = sizes }
            if let v = o.learningRate { c.learningRate = v }
            if let v = o.schedule { c.schedule = v }
            if let v = o.batchSize { c.batchSize = v }
            if let v = o.optimizer { c.optimizer = v }
            if let v = o.quantizationWeight { c.quantizationWeight = v }
            if let v = o.innerProductScale { c.innerProductScale = v }
            encoder = try SupervisedNetworkTraining.train(trainX, labels: trainY!, bits: bits, configuration: c, validate: validate, progress: progress)
        default:
            var c = o.paperRecipe ? DeepHashingConfiguration.paper(bits: bits, supervised: self == .sdh)
                : DeepHashingConfiguration.defaults(bits: bits, supervised: self == .sdh)
            c.seed = o.seed
            if let v = o.epochs { c.epochs = v }
            if let sizes = o.hidden { c.hiddenSizes = sizes }
            if let v = o.learningRate { c.learningRate = v }
            if let v = o.schedule { c.schedule = v }
            if let v = o.batchSize { c.batchSize = v == 0 ? nil : v }
            if let v = o.lambda1 { c.weights.lambda1 = v }
            if let v = o.lambda2 { c.weights.lambda2 = v }
            if let v = o.lambda3 { c.weights.lambda3 = v }
            if let v = o.alpha { c.weights.alpha = v }
            if let v = o.pairs { c.pairs = v }
            if o.paperScaling { c.weights.perItem = false }
            if let v = o.initialization { c.initialization = v }
            if let v = o.optimizer { c.optimizer = v }
            encoder = try DeepHashingTraining.train(trainX, bits: bits, labels: self == .sdh ? trainY : nil, configuration: c,
                                                    validate: validate, progress: progress)
        }
        return TrainingOutcome(encoder: encoder, itqLosses: nil, epochs: log)
    }
}
