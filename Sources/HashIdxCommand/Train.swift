import ArgumentParser
import Foundation
import HashData
import HashEncoders
import HashIdxVectors
import HashEval
import HashIdx
import Hamming

extension HashingMethod: ExpressibleByArgument {}
extension DeepHashingConfiguration.Initialization: ExpressibleByArgument {}
extension StepRule: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension DeepHashingConfiguration.PairSampling: ExpressibleByArgument {}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an encoder on vectors (and labels) and save it.",
        usage: "hashidx train --method <method> --bits <bits> --input <file>\n  --output <file> [<options>]",
        discussion: """
            Methods: lsh, pcah, itq (unsupervised, linear); lda-itq (supervised, linear); dh \
            (unsupervised network); sdh, center, pairwise (supervised networks; center reaches the \
            best retrieval with labels). Vectors: .fvecs, .bvecs, .npy (float32/float64/uint8) or \
            IDX (gzip or not, uint8 scaled to [0, 1]).
            """)

    @Option(name: .long, help: "The method: \(HashingMethod.allCases.map(\.rawValue).joined(separator: ", ")).")
    var method: HashingMethod
    @Option(name: .long, parsing: .unconditional, help: "Code width B in bits.")
    var bits: Int
    @Option(name: .long, help: "Training vectors.")
    var input: String
    @Option(name: .long, help: "Labels (lda-itq, sdh, center, pairwise): IDX labels, .npy integers, or one integer per line.")
    var labels: String?
    @Option(name: .long, parsing: .unconditional, help: "Random seed.")
    var seed: UInt64 = 1
    @Option(name: .long, parsing: .unconditional, help: "ITQ iterations, or a network's (maximum) epochs (center/pairwise default: 15, and at least 4,000 steps).")
    var epochs: Int?
    @Option(name: .long, help: "Network hidden layer sizes, e.g. 60,30.")
    var hidden: String?
    @Option(name: .long, parsing: .unconditional, help: "Network learning rate.")
    var learningRate: Double?
    @Option(name: .long, help: "Network learning-rate schedule: constant or cosine.")
    var schedule: LearningRateSchedule?
    @Option(name: .long, parsing: .unconditional, help: "Network mini-batch size (0 = full batch, dh/sdh only).")
    var batchSize: Int?
    @Option(name: .long, help: "Network step rule: momentum or adam.")
    var optimizer: StepRule?
    @Option(name: .long, parsing: .unconditional, help: "center/pairwise: weight of the quantisation term.")
    var quantizationWeight: Double?
    @Option(name: .long, parsing: .unconditional, help: "pairwise: c in θ = c·hᵢᵀhⱼ (default 0.5).")
    var innerProductScale: Double?
    @Option(name: .long, parsing: .unconditional, help: "DH/SDH λ1 (bit balance).")
    var lambda1: Double?
    @Option(name: .long, parsing: .unconditional, help: "DH/SDH λ2 (orthogonality).")
    var lambda2: Double?
    @Option(name: .long, parsing: .unconditional, help: "DH/SDH λ3 (weight decay).")
    var lambda3: Double?
    @Option(name: .long, parsing: .unconditional, help: "SDH α (weight of the supervised term).")
    var alpha: Double?
    @Option(name: .long, help: "SDH: the mini-batch pairs of the supervised term: sampled (one same-class and one different-class partner per item) or all.")
    var pairs: DeepHashingConfiguration.PairSampling?
    @Flag(name: .long, help: "DH/SDH: start from the paper's recipe (PCA initialisation, λ1 = 100, SDH α = 3, 30 epochs) instead of the validated defaults.")
    var paperRecipe = false
    @Flag(name: .long, help: "DH/SDH: sum the quantisation loss over items, as printed in the paper (default: mean).")
    var paperScaling = false
    @Option(name: .long, help: "DH/SDH initialisation: pca (as in the paper) or itq (start from the PCA-ITQ solution).")
    var initialization: DeepHashingConfiguration.Initialization?
    @Option(name: .long, parsing: .unconditional, help: "Networks: hold out this many training items (needs --labels) as validation queries; the epoch with the best validation mAP is kept.")
    var validationQueries: Int = 0
    @Option(name: .long, parsing: .unconditional, help: "Networks: size of the validation database drawn from the remaining training items.")
    var validationDatabase: Int = 10_000
    @Option(name: .long, parsing: .unconditional, help: "OpenBLAS threads.")
    var threads: Int?
    @Option(name: .long, help: "Where to write the model.")
    var output: String
    @OptionGroup var report: ReportOptions

    /// `train --format json`.
    struct Summary: Encodable {
        var method: String
        var bits: Int
        var dimension: Int
        var vectors: Int
        var seconds: Double
        var output: String
        /// ITQ / LDA-ITQ: the quantisation loss after each iteration.
        var itqLosses: [Double]?
        /// Networks: every epoch's loss terms (and validation score).
        var epochs: [EpochReport]?
        var selectedEpoch: Int?
    }

    /// The sizes of --hidden (positive integers separated by commas), or nil without it.
    private func hiddenSizes() throws -> [Int]? {
        guard let hidden else { return nil }
        let sizes = hidden.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--hidden must be positive sizes separated by commas, like 60,30; found '\(hidden)'")
        }
        return sizes.compactMap { $0 }
    }

    func validate() throws {
        guard (8...1024).contains(bits) else { throw ValidationError("--bits must be between 8 and 1024, found \(bits)") }
        if method.needsLabels && labels == nil { throw ValidationError("\(method.rawValue) needs --labels") }
        if let epochs, epochs < 0 { throw ValidationError("--epochs must be at least 0, found \(epochs)") }
        if validationQueries > 0 && labels == nil { throw ValidationError("--validation-queries needs --labels") }
        if validationQueries > 0 && !method.isNetwork { throw ValidationError("--validation-queries selects an epoch of a network (dh, sdh, center, pairwise), not of \(method.rawValue)") }
        guard validationQueries >= 0 else { throw ValidationError("--validation-queries must be at least 0, found \(validationQueries)") }
        guard validationDatabase >= 1 else { throw ValidationError("--validation-database must be at least 1, found \(validationDatabase)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, found \(threads)") }
        if let batchSize, batchSize < 0 { throw ValidationError("--batch-size must be at least 0, found \(batchSize)") }
        if let quantizationWeight, !(quantizationWeight >= 0) { throw ValidationError("--quantization-weight must be at least 0, found \(quantizationWeight)") }
        _ = try hiddenSizes()
    }

    func run() throws {
        if let threads { LinearAlgebraThreads.set(threads) }
        // Fail before hours of training if the model cannot be written.
        _ = try AtomicOutputFile(path: output)
        let start = Date()
        let x = try loadVectors(input)
        report.say("read \(x.rows) vectors of \(x.columns) dimensions from \(input)")
        let y = try readLabels(count: x.rows)
        let trained = try train(x, labels: y)
        try EncoderArchive.save(trained.encoder, to: output)
        let seconds = Date().timeIntervalSince(start)
        let settings = trained.encoder.archive().settings
        if let s = settings["selected_epoch"] { report.say("kept epoch \(s) (best validation mAP \(settings["validation_score"] ?? "?"))") }
        try report.finish(Summary(method: trained.encoder.method, bits: trained.encoder.bits, dimension: trained.encoder.dimension,
                                  vectors: x.rows, seconds: jsonSeconds(seconds), output: output, itqLosses: trained.itqLosses, epochs: trained.epochs,
                                  selectedEpoch: settings["selected_epoch"].flatMap { Int($0) }),
                          text: "trained \(trained.encoder.method) (\(trained.encoder.dimension) → \(trained.encoder.bits) bits) in \(String(format: "%.2f", seconds)) s; wrote \(output)")
    }

    /// Epoch and iteration lines on standard error (a terminal, or --progress).
    private var verbose: Bool { !report.quiet && report.format == .text && (report.progress || isatty(2) != 0) }

    /// --labels, one per vector (nil without it).
    private func readLabels(count: Int) throws -> [Int]? {
        guard let path = labels else { return nil }
        let y = try VectorFile.readLabels(path)
        guard y.count == count else { throw DataError(file: path, "expected \(count) labels, one per vector, found \(y.count)") }
        return y
    }

    private func train(_ x: Matrix, labels y: [Int]?) throws -> (encoder: any HashEncoder, itqLosses: [Double]?, epochs: [EpochReport]?) {
        var losses: [Double] = []
        let iterations = epochs ?? 50
        let record: (Int, Double) -> Void = { losses.append($1) }
        func itqDone() { if verbose { diagnose("\(method.rawValue): quantisation loss \(losses.first ?? 0) → \(losses.last ?? 0) over \(losses.count) iterations") } }
        switch method {
        case .lsh: return (try LinearTraining.lsh(x, bits: bits, seed: seed), nil, nil)
        case .pcah: return (try LinearTraining.pcah(x, bits: bits), nil, nil)
        case .itq:
            let e = try LinearTraining.itq(x, bits: bits, iterations: iterations, seed: seed, progress: record)
            itqDone()
            return (e, losses, nil)
        case .ldaITQ:
            let e = try LinearTraining.ldaITQ(x, labels: y!, bits: bits, iterations: iterations, seed: seed, progress: record)
            itqDone()
            return (e, losses, nil)
        case .dh, .sdh, .center, .pairwise:
            return try trainNetwork(x, labels: y)
        }
    }

    private func trainNetwork(_ x: Matrix, labels y: [Int]?) throws -> (encoder: any HashEncoder, itqLosses: [Double]?, epochs: [EpochReport]?) {
        var trainX = x, trainY = y
        var validate: ((NeuralHashEncoder) -> Double)?
        if validationQueries > 0, let all = y {
            guard validationQueries < x.rows else {
                throw ValidationError("--validation-queries must be smaller than the number of training vectors (\(x.rows)), found \(validationQueries)")
            }
            let split = try ValidationSplit(rows: x.rows, queries: validationQueries, database: validationDatabase, seed: seed)
            let qx = x.gather(split.queries), dbx = x.gather(split.database)
            let ql = split.queries.map { [all[$0]] }, dbl = split.database.map { [all[$0]] }
            trainX = x.gather(split.training)
            trainY = split.training.map { all[$0] }
            let b = bits
            validate = { net in
                let q = (try? net.encode(qx)) ?? [], d = (try? net.encode(dbx)) ?? []
                return Evaluation.evaluate(database: d, databaseLabels: dbl, queries: q, queryLabels: ql, bits: b, cutoffs: []).meanAveragePrecisionTieAware
            }
            report.say("validation: \(split.queries.count) held-out queries against \(split.database.count) training items; training on \(split.training.count)")
        }
        var log: [EpochReport] = []
        let progress: (EpochReport) -> Void = { r in
            log.append(r)
            guard verbose else { return }
            let terms = r.terms.keys.filter { $0 != "total" }.sorted().map { String(format: "%@ %.6g", $0, r.terms[$0]!) }.joined(separator: "  ")
            diagnose(String(format: "epoch %3d  loss %.6g  ", r.epoch, r.loss) + terms + String(format: "  %.2f s", r.seconds)
                     + (r.validation.map { String(format: "  validation mAP %.4f", $0) } ?? ""))
        }
        let encoder: NeuralHashEncoder
        switch method {
        case .center, .pairwise:
            var c = SupervisedNetworkConfiguration.defaults(loss: method == .center ? .center : .pairwise)
            c.seed = seed
            if let epochs {
                c.epochs = epochs
                c.minimumSteps = 0
            }
            if let sizes = try hiddenSizes() { c.hiddenSizes = sizes }
            if let learningRate { c.learningRate = learningRate }
            if let schedule { c.schedule = schedule }
            if let batchSize {
                guard batchSize >= 2 else { throw ValidationError("--batch-size must be at least 2 for \(method.rawValue), found \(batchSize)") }
                c.batchSize = batchSize
            }
            if let optimizer { c.optimizer = optimizer }
            if let quantizationWeight { c.quantizationWeight = quantizationWeight }
            if let innerProductScale { c.innerProductScale = innerProductScale }
            encoder = try SupervisedNetworkTraining.train(trainX, labels: trainY!, bits: bits, configuration: c, validate: validate, progress: progress)
        default:
            var c = paperRecipe ? DeepHashingConfiguration.paper(bits: bits, supervised: method == .sdh)
                : DeepHashingConfiguration.defaults(bits: bits, supervised: method == .sdh)
            c.seed = seed
            if let epochs { c.epochs = epochs }
            if let sizes = try hiddenSizes() { c.hiddenSizes = sizes }
            if let learningRate { c.learningRate = learningRate }
            if let schedule { c.schedule = schedule }
            if let batchSize { c.batchSize = batchSize == 0 ? nil : batchSize }
            if let lambda1 { c.weights.lambda1 = lambda1 }
            if let lambda2 { c.weights.lambda2 = lambda2 }
            if let lambda3 { c.weights.lambda3 = lambda3 }
            if let alpha { c.weights.alpha = alpha }
            if let pairs { c.pairs = pairs }
            if paperScaling { c.weights.perItem = false }
            if let initialization { c.initialization = initialization }
            if let optimizer { c.optimizer = optimizer }
            encoder = try DeepHashingTraining.train(trainX, bits: bits, labels: method == .sdh ? trainY : nil, configuration: c,
                                                    validate: validate, progress: progress)
        }
        return (encoder, nil, log)
    }
}
