/// Why an input file was rejected: what was expected, what was found, and where.
public struct DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file (or "-" for standard input).
    public var file: String
    /// 1-based line, or nil for binary formats.
    public var line: Int?
    /// What was expected and what was found.
    public var message: String

    public init(file: String, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
