/// Labelled training items split for model selection: validation queries held out of training,
/// and a validation database drawn from the items that remain (which also train the network).
public struct ValidationSplit: Sendable, Equatable {
    /// Row positions of the held-out queries, ascending.
    public var queries: [Int]
    /// Row positions of the validation database (a subset of `training`), ascending.
    public var database: [Int]
    /// Row positions that train the network, ascending.
    public var training: [Int]

    /// A seeded split of `rows` items: `queries` held out, a database of at most `database`
    /// training items.
    /// - Throws: ``EncoderError/invalidConfiguration(_:)`` unless 1 ≤ queries < rows and database ≥ 1.
    public init(rows: Int, queries: Int, database: Int, seed: UInt64) throws(EncoderError) {
        guard queries >= 1, queries < rows else {
            throw .invalidConfiguration("validation queries must be at least 1 and fewer than the \(rows) training vectors, found \(queries)")
        }
        guard database >= 1 else { throw .invalidConfiguration("the validation database must hold at least 1 item, found \(database)") }
        var rng = SeededGenerator(seed: seed ^ 0x7A11D)
        let order = (0..<rows).shuffled(using: &rng)
        self.queries = Array(order.prefix(queries)).sorted()
        let rest = Array(order.dropFirst(queries)).sorted()
        self.database = Array(rest.shuffled(using: &rng).prefix(database)).sorted()
        self.training = rest
    }
}
