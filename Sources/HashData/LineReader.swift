/// Reads a file or standard input line by line in 1 MiB blocks, without loading it whole.
/// Lines end at "\n"; a trailing "\r" is dropped.
public final class LineReader {
    private let file: InputFile
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    /// The file name used in error messages ("-" for standard input).
    public var name: String { file.name }
    /// 1-based number of the last line returned.
    public private(set) var lineNumber = 0

    /// Opens `path`, or standard input for "-".
    /// - Throws: ``DataError`` if the file cannot be opened or is a directory.
    public init(path: String) throws(DataError) {
        file = try InputFile(path: path)
    }

    /// The next line's bytes (without the newline), or nil at the end of input.
    /// - Throws: ``DataError`` if reading fails.
    public func nextLine() throws(DataError) -> ArraySlice<UInt8>? {
        while true {
            if let nl = buffer[position...].firstIndex(of: 0x0A) {
                var end = nl
                if end > position && buffer[end - 1] == 0x0D { end -= 1 }
                let line = buffer[position..<end]
                position = nl + 1
                lineNumber += 1
                return line
            }
            if atEnd {
                guard position < buffer.count else { return nil }
                var end = buffer.count
                if buffer[end - 1] == 0x0D { end -= 1 }
                let line = buffer[position..<end]
                position = buffer.count
                lineNumber += 1
                return line
            }
            buffer.removeSubrange(0..<position)
            position = 0
            if try file.read(appendingTo: &buffer, count: 1 << 20) == 0 { atEnd = true }
        }
    }
}
