import Foundation
import HashData
import HashEncoders
import HashIdx
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The machinery under include/hashidx.h: handles, the thread's last error, and one guard that
// turns every thrown error into a status code.

/// A failure of the C layer, with its status.
struct CallError: Error {
    var status: HashIdxStatus
    var message: String
    init(_ status: HashIdxStatus, _ message: String) { (self.status, self.message) = (status, message) }
    static func argument(_ message: String) -> CallError { CallError(.invalidArgument, message) }
}

/// The status and message for any error the library throws.
func describe(_ error: any Error) -> (HashIdxStatus, String) {
    switch error {
    case let e as CallError: return (e.status, e.message)
    case let e as HashIdxError: return (e.status, e.description)
    case let e as EncoderError:
        if case .invalidConfiguration = e { return (.invalidArgument, e.description) }
        if case .invalidOption = e { return (.invalidArgument, e.description) }
        if case .labelsMismatch = e { return (.invalidArgument, e.description) }
        if case .dimensionMismatch = e { return (.invalidArgument, e.description) }
        return (.encoder, e.description)
    case let e as DataError: return (.file, e.description)
    default: return (.internal, "\(error)")
    }
}

// MARK: - The last error, per thread

private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

nonisolated(unsafe) private let emptyMessage: UnsafeMutablePointer<CChar> = strdup("")!

func setLastError(_ message: String) {
    if let old = pthread_getspecific(errorKey) { free(old) }
    pthread_setspecific(errorKey, strdup(message))
}

/// Clears the thread's message without allocating (every call starts with this).
func clearLastError() {
    guard let old = pthread_getspecific(errorKey) else { return }
    free(old)
    pthread_setspecific(errorKey, nil)
}

func lastError() -> UnsafePointer<CChar> {
    guard let p = pthread_getspecific(errorKey) else { return UnsafePointer(emptyMessage) }
    return UnsafePointer(p.assumingMemoryBound(to: CChar.self))
}

/// Runs one C call: clears the thread's error, returns 0, or the status of what `body` threw
/// with its message kept for ``lastError()``.
func guarded(_ body: () throws -> Void) -> Int32 {
    clearLastError()
    do {
        try body()
        return HashIdxStatus.ok.rawValue
    } catch {
        let (status, message) = describe(error)
        setLastError(message)
        return status.rawValue
    }
}

// MARK: - Handles

/// Objects behind the C handles, by number. Numbers start high, grow and are never reused, so a
/// stale or foreign handle is recognised and answered, never dereferenced.
final class Handles: @unchecked Sendable {
    static let shared = Handles()
    private let lock = NSLock()
    private var objects: [UInt64: AnyObject] = [:]
    /// Handles are given out in order from `first` and never reused: one below `next` that is
    /// not in `objects` was closed or freed (no list of them is kept, so it cannot grow).
    private static let first: UInt64 = 0x4858_0000_0000_0001
    private var next = Handles.first

    func add(_ object: AnyObject) -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        let id = next
        next += 1
        objects[id] = object
        return id
    }

    /// The object of `id`, of type T.
    func get<T: AnyObject>(_ id: UInt64, as type: T.Type, _ what: String) throws(CallError) -> T {
        lock.lock(); defer { lock.unlock() }
        return try lookUp(id, as: type, what)
    }

    /// Removes `id`, returning its object: one look-up and removal under the lock, so that of
    /// two threads closing one handle, one gets the object and the other CLOSED.
    func remove<T: AnyObject>(_ id: UInt64, as type: T.Type, _ what: String) throws(CallError) -> T {
        lock.lock(); defer { lock.unlock() }
        let object = try lookUp(id, as: type, what)
        objects[id] = nil
        return object
    }

    /// `get` without the lock; the caller holds it.
    private func lookUp<T: AnyObject>(_ id: UInt64, as type: T.Type, _ what: String) throws(CallError) -> T {
        if let object = objects[id] {
            guard let typed = object as? T else { throw .argument("handle \(id) is not \(what) handle") }
            return typed
        }
        if id >= Handles.first && id < next { throw CallError(.closed, "\(what) handle \(id) was closed or freed") }
        throw .argument("\(id) is not \(what) handle")
    }
}

/// An open index and, once asked for, its stored encoder.
final class IndexBox {
    let index: HashIndex
    private let lock = NSLock()
    private var _path = PathChoice.automatic
    /// The path searches through this handle take (hashidx_force_path).
    var path: PathChoice {
        get { lock.lock(); defer { lock.unlock() }; return _path }
        set { lock.lock(); _path = newValue; lock.unlock() }
    }
    private var loaded = false
    private var cached: (any HashEncoder)?
    init(_ index: HashIndex) { self.index = index }

    func encoder() throws -> any HashEncoder {
        lock.lock(); defer { lock.unlock() }
        if !loaded {
            cached = try index.encoder()
            loaded = true
        }
        guard let e = cached else {
            throw HashIdxError.encoder("the index at '\(index.path)' has no encoder; give codes, not vectors")
        }
        return e
    }
}

final class EncoderBox {
    let encoder: any HashEncoder
    let method: UnsafeMutablePointer<CChar>
    init(_ encoder: any HashEncoder) {
        self.encoder = encoder
        method = strdup(encoder.method)!
    }
    deinit { free(method) }
}

/// A range result and, once hashidx_range_result_get asks for them, its flat arrays.
final class RangeBox {
    let results: RangeResults
    private let lock = Mutex()
    private var flat: (UnsafeMutableBufferPointer<Int32>, UnsafeMutableBufferPointer<Int64>)?
    init(_ results: RangeResults) { self.results = results }
    deinit {
        flat?.0.deallocate()
        flat?.1.deallocate()
    }

    func arrays() -> (UnsafeMutableBufferPointer<Int32>, UnsafeMutableBufferPointer<Int64>) {
        lock.withLock {
            if let flat { return flat }
            let n = max(results.count, 1)
            let made = (UnsafeMutableBufferPointer<Int32>.allocate(capacity: n), UnsafeMutableBufferPointer<Int64>.allocate(capacity: n))
            results.write(distances: made.0.baseAddress, ids: made.1.baseAddress)
            flat = made
            return made
        }
    }
}

func index(_ handle: UInt64) throws(CallError) -> IndexBox { try Handles.shared.get(handle, as: IndexBox.self, "an index") }
func encoder(_ handle: UInt64) throws(CallError) -> EncoderBox { try Handles.shared.get(handle, as: EncoderBox.self, "an encoder") }

// MARK: - Argument checks

/// A required pointer.
func required<T>(_ p: T?, _ name: String) throws(CallError) -> T {
    guard let p else { throw .argument("\(name) must not be NULL") }
    return p
}

/// `a × b` as a byte or element count, refusing overflow and sizes no machine could hold.
func product(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(CallError) -> Int {
    let (r, overflow) = a.multipliedReportingOverflow(by: b)
    guard !overflow, r <= Int.max / 16 else { throw .argument("\(what()): \(a) × \(b) is too large") }
    return r
}

/// A size_t argument as an Int.
func count(_ n: Int, _ name: @autoclosure () -> String) throws(CallError) -> Int {
    guard n >= 0 else { throw .argument("\(name()) is too large: \(UInt(bitPattern: n))") }
    return n
}

/// A `threads` argument: 0 = every core.
func threadCount(_ t: Int32) throws(CallError) -> Int? {
    guard t >= 0 else { throw .argument("threads must be 0 (every core) or at least 1, found \(t)") }
    return t == 0 ? nil : Int(t)
}

/// The rows of packed codes at `p`: n × code_bytes bytes, checked against the index width.
func packedCodes(_ p: UnsafePointer<UInt8>?, _ n: Int, _ codeBytes: Int, bits: Int, _ name: String) throws(CallError) -> UnsafeRawBufferPointer {
    let n = try count(n, "the number of \(name)")
    let expected = (bits + 7) / 8
    guard codeBytes == expected else {
        throw CallError(.codeWidth, "the index holds \(bits)-bit codes of \(expected) bytes; code_bytes is \(codeBytes)")
    }
    let total = try product(n, codeBytes, name)
    if total == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: try required(p, name), count: total)
}

/// Float rows at `p`: n × dim values, checked against the encoder's dimension.
func floatRows(_ p: UnsafePointer<Float>?, _ n: Int, _ dim: Int, encoder: any HashEncoder, _ name: String) throws(CallError) -> UnsafeBufferPointer<Float> {
    let n = try count(n, "the number of \(name)")
    guard dim == encoder.dimension else {
        throw .argument("the encoder takes \(encoder.dimension)-dimensional vectors; dim is \(dim)")
    }
    let total = try product(n, dim, name)
    if total == 0 { return UnsafeBufferPointer(start: nil, count: 0) }
    return UnsafeBufferPointer(start: try required(p, name), count: total)
}

/// A C string argument.
func string(_ p: UnsafePointer<CChar>?, _ name: String) throws(CallError) -> String {
    let p = try required(p, name)
    guard let s = String(validatingCString: p) else { throw .argument("\(name) is not valid UTF-8") }
    return s
}

extension QueryStatistics {
    /// Writes hashidx_query_stats at `p`, field by field at the header's offsets.
    func write(to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: Int64(lookups), toByteOffset: 0, as: Int64.self)
        p.storeBytes(of: Int64(candidates), toByteOffset: 8, as: Int64.self)
        p.storeBytes(of: Int64(duplicates), toByteOffset: 16, as: Int64.self)
        p.storeBytes(of: Int32(radiusReached), toByteOffset: 24, as: Int32.self)
        p.storeBytes(of: path == .scan ? 1 : 0, toByteOffset: 28, as: Int32.self)
        p.storeBytes(of: switchedToScan ? 1 : 0, toByteOffset: 32, as: Int32.self)
        p.storeBytes(of: 0, toByteOffset: 36, as: Int32.self)
        p.storeBytes(of: seconds, toByteOffset: 40, as: Double.self)
    }
    /// sizeof(hashidx_query_stats).
    static let cSize = 48
}

/// `value` as JSON with snake_case keys (the command's `--format json`), in memory the caller
/// frees with hashidx_free.
func jsonString(_ value: some Encodable) throws -> UnsafeMutablePointer<CChar> {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    let text = String(decoding: try encoder.encode(value), as: UTF8.self)
    guard let copy = strdup(text) else { throw CallError(.internal, "out of memory for \(text.utf8.count) bytes of JSON") }
    return copy
}
