import Foundation

/// Reads a file or standard input line by line in 1 MiB blocks, without loading it whole.
/// Lines end at "\n"; a trailing "\r" is dropped.
public final class LineReader {
    private let handle: FileHandle
    private let closeOnDeinit: Bool
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    /// The file name used in error messages ("-" for standard input).
    public let name: String
    /// 1-based number of the last line returned.
    public private(set) var lineNumber = 0

    /// Opens `path`, or standard input for "-".
    public init(path: String) throws(DataError) {
        name = path
        if path == "-" {
            handle = FileHandle.standardInput
            closeOnDeinit = false
        } else {
            guard let h = FileHandle(forReadingAtPath: path) else { throw DataError(file: path, "cannot open the file for reading") }
            handle = h
            closeOnDeinit = true
        }
    }

    deinit { if closeOnDeinit { try? handle.close() } }

    /// The next line's bytes (without the newline), or nil at the end of input.
    public func nextLine() -> ArraySlice<UInt8>? {
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
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
