/* seccomp.h — locks a process (a worker, after exec) down to an allow-list of system calls.
 * Used by the dataplane's worker (previews run in one too) and by test doubles of it; the
 * controlplane's sandbox (controlplane/sandbox.h) spawns them and cannot install it itself,
 * because the allow-list forbids execve. */
#ifndef SLUICE_COMMON_SECCOMP_H
#define SLUICE_COMMON_SECCOMP_H

#include <stddef.h>

/* Sets PR_SET_NO_NEW_PRIVS and installs the seccomp-bpf allow-list (no exec, ptrace, mount,
 * namespace changes, module or kernel calls, and no listen/accept: a worker is a client only,
 * so no other tenant's worker can connect to it; disallowed calls fail with EPERM). Fills
 * report with "applied: allow-list of N system calls (...)" or "unavailable: why". Returns 0
 * or -1. */
int seccomp_lock_down(char *report, size_t reportsz);

#endif
