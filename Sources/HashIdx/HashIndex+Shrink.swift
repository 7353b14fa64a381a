import Foundation
import LMDB

#if canImport(Glibc)
import Glibc
#endif

/// What ``HashIndex/shrink(at:)`` did.
public struct ShrinkSummary: Sendable, Equatable {
    /// Size of data.mdb before and after, in bytes.
    public var bytesBefore: Int
    public var bytesAfter: Int
    /// False when another process had the index open, so the file was left as it was.
    public var shrunk: Bool
}

extension HashIndex {
    /// Merges (``compact()``) and then returns the file's free pages to the file system: a
    /// compacted copy is written beside `data.mdb`, synced, and renamed over it, so a crash
    /// leaves either the old file or the new one. The copy is swapped in only if, once this
    /// process has closed the index, no other process has it open (each process that has it
    /// open holds a shared lock on `lock.mdb`) and nothing was committed since the copy began;
    /// otherwise the merge still happened and the file keeps its size. Processes that open the
    /// index meanwhile wait for the swap. Call it with no `HashIndex` of `path` open in this process.
    /// - Throws: ``HashIdxError`` if the index cannot be opened, merged or copied.
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
        do {
            let index = try HashIndex.open(at: path)
            // A damaged index is refused before anything is rewritten.
            try index.verify()
            try index.compact()
            stamp = modified()
            do {
                try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: false)
            } catch { throw HashIdxError.storage(LMDBError(code: 17), operation: "creating '\(scratch)': \(error.localizedDescription)") }
            do { try index.environment.copyCompacted(to: scratch) } catch { throw HashIdxError.wrap(error, "copying '\(path)' compactly") }
        }  // the index closes here: this process no longer holds LMDB's lock
        let unchanged = ShrinkSummary(bytesBefore: before, bytesAfter: size(), shrunk: false)
        let lockFD = Glibc.open(path + "/lock.mdb", O_RDWR)
        guard lockFD >= 0 else { return unchanged }
        defer { Glibc.close(lockFD) }
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
            throw .storage(LMDBError(code: errno), operation: "replacing '\(data)' with its compacted copy")
        }
        let dirFD = Glibc.open(path, O_RDONLY)
        if dirFD >= 0 { fsync(dirFD); Glibc.close(dirFD) }
        return ShrinkSummary(bytesBefore: before, bytesAfter: size(), shrunk: true)
    }
}
