import ArgumentParser
import Foundation
import HashData
import HashEncoders
import HashEval
import HashIdx
import Hamming

extension DeepHashingConfiguration.Initialization: ExpressibleByArgument {}
extension DeepHashingConfiguration.Optimizer: ExpressibleByArgument {}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an encoder (LSH, PCAH, PCA-ITQ, DH or SDH) on vectors and save it.",
        usage: "hashidx train --method <method> --bits <bits> --input <file>\n  --output <file> [<options>]",
        discussion: "Vectors: .fvecs, .bvecs, .npy (float32/float64/uint8) or IDX (gzip or not, uint8 scaled to [0, 1]).")

    enum Method: String, ExpressibleByArgument, CaseIterable { case lsh, pcah, itq, dh, sdh }

    @Option(name: .long, help: "The method: lsh, pcah, itq, dh or sdh.")
    var method: Method
    @Option(name: .long, parsing: .unconditional, help: "Code width B in bits.")
    var bits: Int
    @Option(name: .long, help: "Training vectors.")
    var input: String
    @Option(name: .long, help: "Labels for sdh: IDX labels, .npy integers, or one integer per line.")
    var labels: String?
    @Option(name: .long, parsing: .unconditional, help: "Random seed.")
    var seed: UInt64 = 1
    @Option(name: .long, parsing: .unconditional, help: "ITQ iterations, or DH/SDH maximum epochs.")
    var epochs: Int?
    @Option(name: .long, help: "DH/SDH hidden layer sizes, e.g. 60,30.")
    var hidden: String?
    @Option(name: .long, parsing: .unconditional, help: "DH/SDH learning rate.")
    var learningRate: Double?
    @Option(name: .long, parsing: .unconditional, help: "DH/SDH mini-batch size (0 = full batch).")
    var batchSize: Int?
    @Option(name: .long, parsing: .unconditional, help: "DH/SDH λ1 (bit balance).")
    var lambda1: Double?
    @Option(name: .long, parsing: .unconditional, help: "DH/SDH λ2 (orthogonality).")
    var lambda2: Double?
    @Option(name: .long, parsing: .unconditional, help: "DH/SDH λ3 (weight decay).")
    var lambda3: Double?
    @Option(name: .long, parsing: .unconditional, help: "SDH α (weight of the supervised term).")
    var alpha: Double?
    @Flag(name: .long, help: "DH/SDH: start from the paper's recipe (PCA initialisation, λ1 = 100, SDH α = 3, 30 epochs) instead of the validated defaults.")
    var paperRecipe = false
    @Flag(name: .long, help: "DH/SDH: sum the quantisation loss over items, as printed in the paper (default: mean).")
    var paperScaling = false
    @Option(name: .long, help: "DH/SDH initialisation: pca (as in the paper) or itq (start from the PCA-ITQ solution).")
    var initialization: DeepHashingConfiguration.Initialization?
    @Option(name: .long, help: "DH/SDH step rule: momentum (default, as in the paper) or adam.")
    var optimizer: DeepHashingConfiguration.Optimizer?
    @Option(name: .long, parsing: .unconditional, help: "DH/SDH: hold out this many training items (needs --labels) as validation queries; the epoch with the best validation mAP is kept.")
    var validationQueries: Int = 0
    @Option(name: .long, parsing: .unconditional, help: "DH/SDH: size of the validation database drawn from the remaining training items.")
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
        /// ITQ: the quantisation loss after each iteration.
        var itqLosses: [Double]?
        /// DH/SDH: every epoch's loss terms (and validation score).
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
        if method == .sdh && labels == nil { throw ValidationError("sdh needs --labels") }
        if let epochs, epochs < 0 { throw ValidationError("--epochs must be at least 0, found \(epochs)") }
        if validationQueries > 0 && labels == nil { throw ValidationError("--validation-queries needs --labels") }
        guard validationQueries >= 0 else { throw ValidationError("--validation-queries must be at least 0, found \(validationQueries)") }
        guard validationDatabase >= 1 else { throw ValidationError("--validation-database must be at least 1, found \(validationDatabase)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, found \(threads)") }
        if let batchSize, batchSize < 0 { throw ValidationError("--batch-size must be at least 0, found \(batchSize)") }
        _ = try hiddenSizes()
    }

    func run() throws {
        if let threads { LinearAlgebraThreads.set(threads) }
        // Fail before hours of training if the model cannot be written.
        _ = try AtomicOutputFile(path: output)
        let start = Date()
        let x = try loadVectors(input)
        let verbose = !report.quiet && report.format == .text && (report.progress || isatty(2) != 0)
        report.say("read \(x.rows) vectors of \(x.columns) dimensions from \(input)")
        var itqLosses: [Double]?, epochLog: [EpochReport]?
        let encoder: any HashEncoder
        switch method {
        case .lsh: encoder = try LinearTraining.lsh(x, bits: bits, seed: seed)
        case .pcah: encoder = try LinearTraining.pcah(x, bits: bits)
        case .itq:
            let r = try LinearTraining.itq(x, bits: bits, iterations: epochs ?? 50, seed: seed)
            itqLosses = r.losses
            if verbose { diagnose("itq: quantisation loss \(r.losses.first ?? 0) → \(r.losses.last ?? 0) over \(r.losses.count) iterations") }
            encoder = r.encoder
        case .dh, .sdh:
            var c = paperRecipe ? DeepHashingConfiguration.paper(bits: bits, supervised: method == .sdh)
                : DeepHashingConfiguration.defaults(bits: bits, supervised: method == .sdh)
            c.seed = seed
            if let epochs { c.epochs = epochs }
            if let sizes = try hiddenSizes() { c.hiddenSizes = sizes }
            if let learningRate { c.learningRate = learningRate }
            if let batchSize { c.batchSize = batchSize == 0 ? nil : batchSize }
            if let lambda1 { c.weights.lambda1 = lambda1 }
            if let lambda2 { c.weights.lambda2 = lambda2 }
            if let lambda3 { c.weights.lambda3 = lambda3 }
            if let alpha { c.weights.alpha = alpha }
            if paperScaling { c.weights.perItem = false }
            if let initialization { c.initialization = initialization }
            if let optimizer { c.optimizer = optimizer }
            var y = try labels.map { try VectorFile.readLabels($0) }
            if let labels = y, labels.count != x.rows { throw DataError(file: self.labels!, "expected \(x.rows) labels, one per vector, found \(labels.count)") }
            var trainX = x
            var validate: ((NeuralHashEncoder) -> Double)?
            if validationQueries > 0, let all = y {
                guard validationQueries < x.rows else {
                    throw ValidationError("--validation-queries must be smaller than the number of training vectors (\(x.rows)), found \(validationQueries)")
                }
                // Carve validation queries out of the training items; the validation database is
                // drawn from the items that remain (which also train the network).
                var rng = SeededGenerator(seed: seed ^ 0x7A11D)
                let order = (0..<x.rows).shuffled(using: &rng)
                let held = Array(order.prefix(validationQueries)).sorted()
                let rest = Array(order.dropFirst(validationQueries)).sorted()
                let valDB = Array(rest.shuffled(using: &rng).prefix(validationDatabase)).sorted()
                let qx = x.gather(held), dbx = x.gather(valDB)
                let ql = held.map { [all[$0]] }, dbl = valDB.map { [all[$0]] }
                trainX = x.gather(rest)
                y = rest.map { all[$0] }
                let b = bits
                validate = { net in
                    let q = (try? net.encode(qx)) ?? [], d = (try? net.encode(dbx)) ?? []
                    return Evaluation.evaluate(database: d, databaseLabels: dbl, queries: q, queryLabels: ql, bits: b, cutoffs: []).meanAveragePrecisionTieAware
                }
                report.say("validation: \(held.count) held-out queries against \(valDB.count) training items; training on \(rest.count)")
            }
            var log: [EpochReport] = []
            encoder = try DeepHashingTraining.train(trainX, bits: bits, labels: method == .sdh ? y : nil, configuration: c, validate: validate) { r in
                log.append(r)
                if verbose {
                    let t = r.terms
                    diagnose(String(format: "epoch %3d  J %.6g  quantisation %.6g  balance %.6g  orthogonality %.6g  decay %.6g  supervised %.6g  %.2f s",
                                    r.epoch, t.total, t.quantization, t.balance, t.orthogonality, t.decay, t.supervised, r.seconds)
                             + (r.validation.map { String(format: "  validation mAP %.4f", $0) } ?? ""))
                }
            }
            epochLog = log
            if let s = encoder.archive().settings["selected_epoch"] { report.say("kept epoch \(s) (best validation mAP \(encoder.archive().settings["validation_score"] ?? "?"))") }
        }
        try EncoderArchive.save(encoder, to: output)
        let seconds = Date().timeIntervalSince(start)
        try report.finish(Summary(method: encoder.method, bits: encoder.bits, dimension: encoder.dimension, vectors: x.rows, seconds: seconds,
                                  output: output, itqLosses: itqLosses, epochs: epochLog,
                                  selectedEpoch: encoder.archive().settings["selected_epoch"].flatMap { Int($0) }),
                          text: "trained \(encoder.method) (\(encoder.dimension) → \(encoder.bits) bits) in \(String(format: "%.2f", seconds)) s; wrote \(output)")
    }
}
