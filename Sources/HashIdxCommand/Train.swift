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

    /// The options as the library takes them.
    private func options() throws -> TrainingOptions {
        var o = TrainingOptions()
        o.seed = seed
        o.epochs = epochs
        o.hidden = try hiddenSizes()
        o.learningRate = learningRate
        o.schedule = schedule
        o.batchSize = batchSize
        o.optimizer = optimizer
        o.quantizationWeight = quantizationWeight
        o.innerProductScale = innerProductScale
        (o.lambda1, o.lambda2, o.lambda3, o.alpha) = (lambda1, lambda2, lambda3, alpha)
        o.pairs = pairs
        o.paperRecipe = paperRecipe
        o.paperScaling = paperScaling
        o.initialization = initialization
        o.validationQueries = validationQueries
        o.validationDatabase = validationDatabase
        return o
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, found \(threads)") }
        // The library's own checks, before any file is read.
        do { try options().validate(method: method, bits: bits, hasLabels: labels != nil) } catch let e as EncoderError {
            throw Self.usage(e) ?? e
        }
    }

    /// A refused option as a usage error (exit 64) naming the option as typed: the library names
    /// options by their keys (learning_rate), the command by its flags (--learning-rate).
    static func usage(_ error: EncoderError) -> ValidationError? {
        guard case .invalidOption(var text) = error else { return nil }
        for key in TrainingOptions.keys.sorted(by: { $0.count > $1.count }) {
            text = text.replacingOccurrences(of: key, with: "--" + key.replacingOccurrences(of: "_", with: "-"))
        }
        return ValidationError(text)
    }

    func run() throws {
        if let threads { LinearAlgebraThreads.set(threads) }
        // Fail before hours of training if the model cannot be written.
        _ = try AtomicOutputFile(path: output)
        let start = Date()
        let x = try loadVectors(input)
        report.say("read \(x.rows) vectors of \(x.columns) dimensions from \(input)")
        let y = try readLabels(count: x.rows)
        let trained: TrainingOutcome
        do { trained = try train(x, labels: y) } catch let e as EncoderError { throw Self.usage(e) ?? e }
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

    private func train(_ x: Matrix, labels y: [Int]?) throws -> TrainingOutcome {
        let verbose = self.verbose, report = self.report, name = method.rawValue
        return try method.train(x, labels: y, bits: bits, options: options()) { event in
            switch event {
            case .validationSplit(let q, let d, let t):
                report.say("validation: \(q) held-out queries against \(d) training items; training on \(t)")
            case .iterations(let losses):
                if verbose { diagnose("\(name): quantisation loss \(losses.first ?? 0) → \(losses.last ?? 0) over \(losses.count) iterations") }
            case .epoch(let r):
                guard verbose else { return }
                let terms = r.terms.keys.filter { $0 != "total" }.sorted().map { String(format: "%@ %.6g", $0, r.terms[$0]!) }.joined(separator: "  ")
                diagnose(String(format: "epoch %3d  loss %.6g  ", r.epoch, r.loss) + terms + String(format: "  %.2f s", r.seconds)
                         + (r.validation.map { String(format: "  validation mAP %.4f", $0) } ?? ""))
            }
        }
    }
}
