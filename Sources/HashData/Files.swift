#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of `errno` value `code`, for example "No such file or directory".
public func systemErrorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// A file (or standard input) opened for reading with plain system calls: every failure is a
/// thrown ``DataError`` naming the file and the cause, never a trap.
public final class InputFile {
    /// The name used in messages ("-" for standard input).
    public let name: String
    /// The size in bytes of a regular file, or nil for standard input, pipes and devices.
    public let size: Int?
    let descriptor: Int32
    private let owned: Bool

    /// Opens `path` for reading, or standard input for "-".
    /// - Throws: ``DataError`` of kind ``DataError/Kind/noInput`` if the file is missing,
    ///   unreadable or a directory.
    public init(path: String) throws(DataError) {
        name = path
        if path == "-" {
            descriptor = 0
            owned = false
        } else {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw DataError(file: path, kind: .noInput, "cannot open the file for reading: \(systemErrorText(errno))") }
            descriptor = fd
            owned = true
        }
        var st = stat()
        guard fstat(descriptor, &st) == 0 else {
            let e = errno
            if owned { close(descriptor) }
            throw DataError(file: path, kind: .noInput, "cannot read the file's status: \(systemErrorText(e))")
        }
        let type = st.st_mode & S_IFMT
        if type == S_IFDIR {
            if owned { close(descriptor) }
            throw DataError(file: path, kind: .noInput, "is a directory; expected a file")
        }
        size = type == S_IFREG ? Int(st.st_size) : nil
    }

    deinit { if owned { close(descriptor) } }

    /// Appends up to `count` bytes to `buffer`; returns how many were read (0 at the end).
    @discardableResult
    public func read(appendingTo buffer: inout [UInt8], count: Int) throws(DataError) -> Int {
        guard count > 0 else { return 0 }
        var failure: Int32 = 0
        let chunk = [UInt8](unsafeUninitializedCapacity: count) { p, initialized in
            var got = 0
            while got < count {
                let n = systemRead(descriptor, p.baseAddress! + got, count - got)
                if n > 0 { got += n; continue }
                if n == 0 { break }
                if errno == EINTR { continue }
                failure = errno
                break
            }
            initialized = got
        }
        if failure != 0 { throw DataError(file: name, kind: .io, "cannot read: \(systemErrorText(failure))") }
        if buffer.isEmpty { buffer = chunk } else { buffer.append(contentsOf: chunk) }
        return chunk.count
    }

    /// Reads up to `count` bytes (fewer only at the end of the input).
    public func read(upTo count: Int) throws(DataError) -> [UInt8] {
        var out: [UInt8] = []
        try read(appendingTo: &out, count: count)
        return out
    }

    /// Reads everything that is left.
    public func readToEnd() throws(DataError) -> [UInt8] {
        var out: [UInt8] = []
        // A regular file is read in one call (plus one to see its end); anything else in 1 MiB steps.
        var step = size.map { max($0 + 1, 4096) } ?? (1 << 20)
        while try read(appendingTo: &out, count: step) > 0 { step = 1 << 20 }
        return out
    }

    /// Fills `buffer` with the bytes of a regular file from byte `offset` (`pread`, which leaves
    /// the file position alone).
    /// - Throws: ``DataError`` if the read fails or the file ends first (it shrank while read).
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(DataError) {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n > 0 { done += n; continue }
            if n == 0 {
                throw DataError(file: name, kind: .io, "the file ended at byte \(offset + done), expected \(buffer.count - done) more bytes (did it shrink while being read?)")
            }
            if errno == EINTR { continue }
            throw DataError(file: name, kind: .io, "cannot read at byte \(offset + done): \(systemErrorText(errno))")
        }
    }

    /// Moves to byte `offset` of a regular file.
    public func seek(to offset: Int) throws(DataError) {
        guard lseek(descriptor, off_t(offset), SEEK_SET) >= 0 else {
            throw DataError(file: name, kind: .io, "cannot seek to byte \(offset): \(systemErrorText(errno))")
        }
    }

    /// The whole content of the file at `path` (standard input for "-").
    public static func contents(of path: String) throws(DataError) -> [UInt8] {
        try InputFile(path: path).readToEnd()
    }
}

/// A file written aside and moved into place: bytes go to a temporary file in the same
/// directory, which ``commit()`` flushes to disk and renames over `path`. Until then, and if the
/// writer is dropped without committing (an error, a kill), `path` keeps its old content.
public final class AtomicOutputFile {
    /// The destination.
    public let path: String
    /// The directory of `path`, where the temporary file lives ("." for a bare name).
    private let directory: String
    private let temporary: String
    private var descriptor: Int32
    private var committed = false

    /// Starts writing `path`.
    /// - Throws: ``DataError`` of kind ``DataError/Kind/cannotCreate`` if the directory is
    ///   missing or not writable, or `path` is a directory.
    public init(path: String) throws(DataError) {
        self.path = path
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
            throw DataError(file: path, kind: .cannotCreate, "is a directory; expected a file name to write")
        }
        let slash = path.lastIndex(of: "/")
        let prefix = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        directory = prefix.isEmpty ? "." : prefix
        guard let (fd, name) = makeTemporaryFile("\(prefix).\(base).tmp-XXXXXX") else {
            throw DataError(file: path, kind: .cannotCreate, "cannot create a file in '\(directory)': \(systemErrorText(errno))")
        }
        descriptor = fd
        temporary = name
        // mkstemp creates the file 0600; give it the mode an ordinary new file gets.
        let mask = umask(0)
        umask(mask)
        fchmod(fd, 0o666 & ~mask)
    }

    deinit {
        if !committed {
            if descriptor >= 0 { close(descriptor) }
            unlink(temporary)
        }
    }

    /// Appends `bytes`.
    public func write(_ bytes: some Collection<UInt8>) throws(DataError) {
        try writeAll(descriptor, Array(bytes), name: path)
    }

    /// Flushes the file to disk, renames it over `path` and flushes the directory.
    public func commit() throws(DataError) {
        guard !committed else { return }
        guard fsync(descriptor) == 0 else { throw DataError(file: path, kind: .io, "cannot flush to disk: \(systemErrorText(errno))") }
        guard close(descriptor) == 0 else { descriptor = -1; throw DataError(file: path, kind: .io, "cannot close: \(systemErrorText(errno))") }
        descriptor = -1
        guard rename(temporary, path) == 0 else {
            throw DataError(file: path, kind: .cannotCreate, "cannot move the finished file into place: \(systemErrorText(errno))")
        }
        committed = true
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// Writes `bytes` to `path` as a whole: the old content stays until the new one is on disk.
    public static func write(_ bytes: some Collection<UInt8>, to path: String) throws(DataError) {
        let out = try AtomicOutputFile(path: path)
        try out.write(bytes)
        try out.commit()
    }
}

/// `read(2)`, named apart from ``InputFile``'s own `read` methods.
private func systemRead(_ fd: Int32, _ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> Int { read(fd, p, n) }

/// Writes every byte of `bytes` to `descriptor`, retrying short writes.
func writeAll(_ descriptor: Int32, _ bytes: [UInt8], name: String) throws(DataError) {
    var failure: Int32 = 0
    bytes.withUnsafeBytes { buffer in
        var done = 0
        while done < buffer.count {
            let n = write(descriptor, buffer.baseAddress! + done, buffer.count - done)
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            failure = n < 0 ? errno : EIO
            return
        }
    }
    guard failure != 0 else { return }
    throw DataError(file: name, kind: .io, failure == ENOSPC || failure == EDQUOT
        ? "cannot write: the disk is full (\(systemErrorText(failure)))" : "cannot write: \(systemErrorText(failure))")
}

/// Creates a new file from a `mkstemp` template (trailing XXXXXX), closed on exec; returns its
/// descriptor and path, or nil (`errno` says why).
func makeTemporaryFile(_ template: String) -> (descriptor: Int32, path: String)? {
    var t = Array(template.utf8CString)
    let fd = t.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { return nil }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    return (fd, t.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
}

/// Standard output and standard error, written with system calls so that a failure (a full
/// disk, a closed descriptor) is a thrown error instead of a trap.
public enum StandardStream {
    /// Writes `text` to standard output.
    public static func output(_ text: String) throws(DataError) {
        try writeAll(1, Array(text.utf8), name: "standard output")
    }

    /// Writes `bytes` to standard output.
    public static func output(bytes: [UInt8]) throws(DataError) {
        try writeAll(1, bytes, name: "standard output")
    }

    /// Writes `text` to standard error; failures are ignored (there is nowhere left to report them).
    public static func error(_ text: String) {
        _ = try? writeAll(2, Array(text.utf8), name: "standard error")
    }
}
