import HashEncoders
import HashEval

extension HashingMethod {
    /// Trains this method with `options`, scoring the networks of a validation split
    /// (`options.validationQueries`) by tie-aware mAP: what `hashidx train`, the C API and the
    /// Python package call. See ``HashingMethod/train(_:labels:bits:options:score:report:)``.
    public func train(_ x: Matrix, labels: [Int]?, bits: Int, options: TrainingOptions,
                      report: (TrainingEvent) -> Void = { _ in }) throws(EncoderError) -> TrainingOutcome {
        try train(x, labels: labels, bits: bits, options: options, score: { d, dbl, q, ql, bits in
            Evaluation.evaluate(database: d, databaseLabels: dbl.map { [$0] }, queries: q, queryLabels: ql.map { [$0] },
                                bits: bits, cutoffs: []).meanAveragePrecisionTieAware
        }, report: report)
    }
}
