/// Why an input file was rejected: what was expected, what was found, and where.
public struct DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; the command maps each kind to its exit status.
    public enum Kind: String, Sendable, Codable {
        /// The bytes do not hold what was expected (a malformed line, a lying header).
        case badData
        /// The input is missing, unreadable or not a file.
        case noInput
        /// An output file cannot be created.
        case cannotCreate
        /// A read or write failed (a full disk, an I/O error).
        case io
    }

    /// The file (or "-" for standard input).
    public var file: String
    /// 1-based line, or nil for binary formats.
    public var line: Int?
    /// What kind of failure this is.
    public var kind: Kind
    /// What was expected and what was found.
    public var message: String

    public init(file: String, line: Int? = nil, kind: Kind = .badData, _ message: String) {
        self.file = file
        self.line = line
        self.kind = kind
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// Sizes computed from untrusted header fields, checked for overflow and against the bytes
/// that are really there before anything is allocated.
public enum SizeCheck {
    /// The product of `factors`, or a ``DataError`` if it overflows or any factor is negative.
    public static func product(_ factors: [Int], file: String, what: String) throws(DataError) -> Int {
        var total = 1
        for f in factors {
            guard f >= 0 else { throw DataError(file: file, "\(what): a negative size \(f)") }
            let (p, o) = total.multipliedReportingOverflow(by: f)
            guard !o else { throw DataError(file: file, "\(what): \(factors.map(String.init).joined(separator: " × ")) overflows a 64-bit size") }
            total = p
        }
        return total
    }

    /// Checks that `needed` bytes from `offset` fit in a file of `available` bytes.
    public static func fits(_ needed: Int, at offset: Int, in available: Int, file: String, what: String) throws(DataError) {
        let (end, o) = offset.addingReportingOverflow(needed)
        guard !o, end <= available else {
            throw DataError(file: file, "truncated or lying header: \(what) needs \(needed) bytes after byte \(offset), the file has \(max(0, available - offset))")
        }
    }
}
