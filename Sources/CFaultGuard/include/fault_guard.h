#ifndef HASHIDX_FAULT_GUARD_H
#define HASHIDX_FAULT_GUARD_H

/// Installs SIGBUS and SIGSEGV handlers for the command-line tool. A fault whose address lies
/// in a mapping of a file named `data.mdb` (an LMDB map: the file was truncated or damaged under
/// the process), or whose instruction lies in liblmdb (LMDB, which keeps no page checksums,
/// followed a corrupt page reference), prints one line and exits with `exit_status`; any other
/// fault is re-raised with the default action, so real bugs still crash loudly.
void hx_fault_guard_install(int exit_status);

#endif
