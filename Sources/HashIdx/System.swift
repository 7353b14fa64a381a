#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The system calls the index makes outside LMDB, one spelling per platform. Tested on Linux
/// (glibc); the Darwin branches compile against the same POSIX calls but are not run in CI.
enum System {
    /// `open(2)`; −1 on failure with `errno` set.
    static func openFile(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }

    static func closeFile(_ fd: Int32) { _ = close(fd) }

    /// Opens `directory` and fsyncs it, so that a rename or a new file in it is durable.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); _ = close(fd) }
    }

    /// A monotonic clock in nanoseconds, for timing queries: one vDSO call on Linux, without
    /// Dispatch's conversions.
    @inline(__always)
    static func nanoseconds() -> UInt64 {
        #if canImport(Glibc)
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) &* 1_000_000_000 &+ UInt64(t.tv_nsec)
        #else
        return clock_gettime_nsec_np(CLOCK_UPTIME_RAW)
        #endif
    }

    /// Bytes of physical memory.
    static func physicalMemory() -> Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) &* Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The soft file-size limit (`ulimit -f`) in bytes, or nil when there is none.
    static func fileSizeLimit() -> UInt64? {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
        #else
        let resource = RLIMIT_FSIZE
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return UInt64(limit.rlim_cur)
    }
}
