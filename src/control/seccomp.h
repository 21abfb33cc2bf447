/* SPDX-License-Identifier: MIT */
/*
 * A seccomp allow-list for tapird (raw classic BPF, no libseccomp). A system call outside the
 * list raises SIGSYS (SECCOMP_RET_TRAP); the handler writes the call's number to stderr and
 * aborts, so a missing entry is a clear one-line error instead of a mystery.
 */
#ifndef TAPIR_SECCOMP_H
#define TAPIR_SECCOMP_H

#include <stdbool.h>

enum tapir_seccomp_profile {
	TAPIR_SECCOMP_DAEMON, /* tapird after the privilege drop: sockets, TUN, threads */
	TAPIR_SECCOMP_HELPER, /* the privileged helper: make sockets, mark them, unlink, exit */
};

/* True when this build knows the audit architecture of the running ABI. */
bool tapir_seccomp_is_supported(void);
/*
 * Sets PR_SET_NO_NEW_PRIVS and installs the filter of @profile on every thread of the process
 * (SECCOMP_FILTER_FLAG_TSYNC; threads created later inherit it). 0 or -errno.
 */
int tapir_seccomp_install(enum tapir_seccomp_profile profile);

#endif
