import Foundation
internal import LMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What ``HashIndex/shrink(at:)`` did.
public struct ShrinkSummary: Sendable, Equatable {
    /// Size of data.mdb before and after, in bytes.
    public var bytesBefore: Int
    public var bytesAfter: Int
    /// False when the file was left at its size (the merge still happened).
    public var shrunk: Bool
    /// Why the file was not shrunk: another process had the index open or wrote to it, or the
    /// compacted copy could not be written (for example, no room for it on the disk).
    public var reason: String?

    public init(bytesBefore: Int, bytesAfter: Int, shrunk: Bool, reason: String? = nil) {
        self.bytesBefore = bytesBefore
        self.bytesAfter = bytesAfter
        self.shrunk = shrunk
        self.reason = reason
    }
}

extension HashIndex {
    /// Merges (``compact()``) and then returns the file's free pages to the file system: a
    /// compacted copy is written beside `data.mdb`, synced, and renamed over it, so a crash
    /// leaves either the old file or the new one. The copy is swapped in only if, once this
    /// process has closed the index, no other process has it open (each process that has it
    /// open holds a shared lock on `lock.mdb`) and nothing was committed since the copy began;
    /// otherwise the merge still happened and the file keeps its size. Processes that open the
    /// index meanwhile wait for the swap. Call it with no `HashIndex` of `path` open in this process.
    /// - Throws: ``HashIdxError`` if the index cannot be opened, verified or merged. A copy that
    ///   cannot be written (a full disk) is not an error: the merged index stays, unshrunk, and
    ///   ``ShrinkSummary/reason`` says why.
    public static func shrink(at path: String) throws(HashIdxError) -> ShrinkSummary {
        let data = path + "/data.mdb"
        func size() -> Int { ((try? FileManager.default.attributesOfItem(atPath: data))?[.size] as? Int) ?? 0 }
        func modified() -> timespec? {
            var st = stat()
            return stat(data, &st) == 0 ? st.st_mtim : nil
        }
        let before = size()
        // Leftovers of a shrink that was killed before its rename are only ever copies.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name.hasPrefix(".shrink-") {
            try? FileManager.default.removeItem(atPath: path + "/" + name)
        }
        let scratch = path + "/.shrink-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let stamp: timespec?
        var copyFailure: String?
        do {
            let index = try HashIndex.open(at: path)
            // A damaged index is refused before anything is rewritten.
            try index.verify()
            try index.compact()
            stamp = modified()
            if mkdir(scratch, 0o755) != 0 {
                copyFailure = "cannot create '\(scratch)': \(String(cString: strerror(errno)))"
            } else {
                do { try index.environment.copyCompacted(to: scratch) } catch {
                    copyFailure = "the compacted copy could not be written: \(HashIdxError.wrap(error, "copying"))"
                }
            }
        }  // the index closes here: this process no longer holds LMDB's lock
        if let copyFailure { return ShrinkSummary(bytesBefore: before, bytesAfter: size(), shrunk: false, reason: copyFailure) }
        let unchanged = ShrinkSummary(bytesBefore: before, bytesAfter: size(), shrunk: false,
                                      reason: "another process had the index open or wrote to it")
        let lockFD = System.openFile(path + "/lock.mdb", O_RDWR)
        guard lockFD >= 0 else { return unchanged }
        defer { System.closeFile(lockFD) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 1
        guard fcntl(lockFD, F_SETLK, &lock) == 0 else { return unchanged }   // another process has it open
        guard let stamp, let now = modified(), now.tv_sec == stamp.tv_sec, now.tv_nsec == stamp.tv_nsec else {
            return unchanged   // a commit landed after the copy's snapshot: the copy would lose it
        }
        guard rename(scratch + "/data.mdb", data) == 0 else {
            return ShrinkSummary(bytesBefore: before, bytesAfter: size(), shrunk: false,
                                 reason: "the compacted copy could not replace data.mdb: \(String(cString: strerror(errno)))")
        }
        let dirFD = System.openFile(path, O_RDONLY)
        if dirFD >= 0 { fsync(dirFD); System.closeFile(dirFD) }
        return ShrinkSummary(bytesBefore: before, bytesAfter: size(), shrunk: true)
    }
}
