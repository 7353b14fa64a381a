#define _GNU_SOURCE
#include "fault_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <ucontext.h>

static int guard_status = 65;

static void put(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static uintptr_t parse_hex(const char **p) {
    uintptr_t v = 0;
    for (;;) {
        char c = **p;
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else return v;
        v = v * 16 + (uintptr_t)d;
        (*p)++;
    }
}

/// Copies into `path` the file name of the mapping of /proc/self/maps that contains `address`;
/// returns 0 if there is none. Only async-signal-safe calls (open, read, close).
static int mapping_of(uintptr_t address, char *path, size_t capacity) {
    static char buffer[8192];
    static char line[4096];
    size_t used = 0;
    int found = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    for (;;) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n && !found; i++) {
            char c = buffer[i];
            if (c != '\n') {
                if (used + 1 < sizeof line) line[used++] = c;
                continue;
            }
            line[used] = 0;
            used = 0;
            const char *p = line;
            uintptr_t start = parse_hex(&p);
            if (*p != '-') continue;
            p++;
            uintptr_t end = parse_hex(&p);
            if (address < start || address >= end) continue;
            // After the range: perms, offset, device, inode, then the path (if any).
            for (int field = 0; field < 4; field++) {
                while (*p == ' ') p++;
                while (*p && *p != ' ') p++;
            }
            while (*p == ' ') p++;
            size_t len = strlen(p);
            if (len >= capacity) len = capacity - 1;
            memcpy(path, p, len);
            path[len] = 0;
            found = 1;
        }
        if (found) break;
    }
    close(fd);
    return found;
}

/// The instruction address of the fault, or 0 where this file does not know the layout.
static uintptr_t fault_pc(void *context) {
    ucontext_t *uc = (ucontext_t *)context;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

static int contains(const char *haystack, const char *needle) {
    return strstr(haystack, needle) != 0;
}

static void on_fault(int sig, siginfo_t *info, void *context) {
    static char path[4096];
    // A fault inside liblmdb itself: LMDB keeps no checksums, so damaged pages of data.mdb make
    // it follow a bad pointer. Its own code is not what is broken; the file is.
    uintptr_t pc = fault_pc(context);
    if (pc != 0 && mapping_of(pc, path, sizeof path) && contains(path, "liblmdb")) {
        put("Error: the index file is damaged: LMDB followed a corrupt page reference while reading it ");
        put(sig == SIGBUS ? "(SIGBUS)" : "(SIGSEGV)");
        put("; LMDB keeps no checksums of its own pages, so the damage is found only when read. Restore the index from a copy\n");
        _exit(guard_status);
    }
    if (mapping_of((uintptr_t)info->si_addr, path, sizeof path)) {
        size_t len = strlen(path);
        const char *suffix = "/data.mdb";
        size_t sl = strlen(suffix);
        if (len >= sl && strcmp(path + len - sl, suffix) == 0) {
            put("Error: the index file ");
            put(path);
            put(sig == SIGBUS
                ? " is shorter than its own page tables say (truncated or damaged while in use): a read past its end failed (SIGBUS); run 'hashidx verify' on it\n"
                : " is damaged: a read inside its map failed (SIGSEGV); run 'hashidx verify' on it\n");
            _exit(guard_status);
        }
    }
    // Not an index map: crash as usual.
    signal(sig, SIG_DFL);
    raise(sig);
}

void hx_fault_guard_install(int exit_status) {
    guard_status = exit_status;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, 0);
    sigaction(SIGSEGV, &sa, 0);
}
