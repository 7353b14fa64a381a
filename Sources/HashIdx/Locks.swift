import Foundation

/// A readers–writer lock: queries hold it shared while their read transactions are live; growing
/// the map (which remaps it) holds it exclusively.
final class ReadWriteLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    init() { pthread_rwlock_init(lock, nil) }
    deinit { pthread_rwlock_destroy(lock); lock.deallocate() }
    func withShared<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock); defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
    func withExclusive<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock); defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

/// A plain mutex around a closure: a pthread mutex, one allocation (a search batch makes a few
/// of these, so they should cost little to make).
package final class Mutex: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    package init() { pthread_mutex_init(lock, nil) }
    deinit { pthread_mutex_destroy(lock); lock.deallocate() }
    package func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(lock); defer { pthread_mutex_unlock(lock) }
        return try body()
    }
}

/// The indexes open in this process, by their data file's device and inode.
final class OpenIndexes: @unchecked Sendable {
    struct Key: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    static let shared = OpenIndexes()
    private let lock = NSLock()
    private var open: Set<Key> = []

    /// Runs `body` (which opens the index) unless `key` is open already, and records it as open.
    func opening(_ key: Key, path: String, _ body: () throws(HashIdxError) -> HashIndex) throws(HashIdxError) -> HashIndex {
        lock.lock()
        defer { lock.unlock() }
        guard !open.contains(key) else { throw .alreadyOpen(path: path) }
        let index = try body()
        open.insert(key)
        return index
    }

    /// Whether the data file at `path` is open in this process.
    func isOpen(dataFile path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        lock.lock()
        defer { lock.unlock() }
        return open.contains(Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
    }

    /// Forgets `key` (its instance was released).
    func closed(_ key: Key) {
        lock.lock()
        open.remove(key)
        lock.unlock()
    }
}
