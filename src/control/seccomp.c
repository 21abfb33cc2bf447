// SPDX-License-Identifier: MIT
/*
 * Seccomp allow-lists, built as classic BPF: check the audit architecture (a foreign ABI is
 * trapped, and so is x32 on x86_64), then one compare-and-allow pair per permitted system
 * call. clone is allowed only for threads (CLONE_THREAD) and clone3, whose flags sit behind a
 * pointer BPF cannot follow, returns ENOSYS so glibc falls back to clone. Everything else
 * traps into a SIGSYS handler that names the call and aborts.
 *
 * The daemon list is what the control loop, the workers and the TCP transport call after the
 * drop (epoll, sockets, TUN reads and writes, timers, futexes, memory), plus what ASan and
 * LSan need in sanitizer builds (they read /proc/self/maps, and LSan's exit-time leak check
 * clones a tracer that ptraces the threads). Three calls are checked by argument, because
 * their harm lies there: socket() only for AF_INET/AF_INET6 datagram or stream sockets with
 * the default protocol (no netlink, packet, raw or AF_UNIX socket: the TCP transport's
 * connections and the MTU/ifindex ioctls' socket are all tapird creates after start-up),
 * ioctl() only for the read-only requests listed, and open/openat only for reading (allowed
 * in sanitizer builds, failing with EACCES in release builds). A release build opens no file
 * and has no other path-based call: no unlink, readlink or directory listing. Sockets that
 * need privilege come from the helper (privsep.c).
 */
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "util.h"

#if defined(__x86_64__)
#define TAPIR_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TAPIR_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#define TAPIR_AUDIT_ARCH 0 /* unknown ABI: tapird runs without a filter and says so */
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TAPIR_HAS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPIR_HAS_SANITIZER 1
#endif
#endif
#ifndef TAPIR_HAS_SANITIZER
#define TAPIR_HAS_SANITIZER 0
#endif

enum {
	MAX_INSNS = 512,
	X32_SYSCALL_BIT = 0x40000000,
	SOCK_TYPE_MASK = 0xf, /* socket()'s type without SOCK_NONBLOCK and SOCK_CLOEXEC */
	/* open flags that write or create: a sanitizer build may only read */
	OPEN_WRITE_FLAGS = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND,
};

/* clang-format off */
static const int daemon_syscalls[] = {
	/* descriptors: TUN and socket I/O; no path-based call (no open, unlink, readlink) */
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_close, SYS_fstat, SYS_newfstatat, SYS_lseek,
	SYS_fcntl,
	/* memory */
	SYS_mmap, SYS_munmap, SYS_mremap, SYS_madvise, SYS_mprotect, SYS_brk,
	/* event loops and timers */
	SYS_epoll_pwait, SYS_epoll_ctl, SYS_ppoll, SYS_pselect6, SYS_timerfd_create,
	SYS_timerfd_settime, SYS_timerfd_gettime, SYS_eventfd2, SYS_clock_gettime, SYS_clock_getres,
	SYS_clock_nanosleep, SYS_nanosleep, SYS_gettimeofday,
	/* sockets: UAPI and metrics clients (accept4 on listeners made before the drop or by
	 * the helper), the TCP transport's connections (socket() is checked below; binds and
	 * listeners come from the helper) */
	SYS_accept4, SYS_connect, SYS_shutdown, SYS_setsockopt, SYS_getsockopt, SYS_getsockname,
	SYS_getpeername, SYS_recvfrom, SYS_sendto, SYS_recvmsg, SYS_sendmsg, SYS_recvmmsg,
	SYS_sendmmsg,
	/* threads, signals, exit */
	SYS_futex, SYS_set_robust_list, SYS_get_robust_list, SYS_rseq, SYS_sched_yield,
	SYS_sched_getaffinity, SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_sigaltstack,
	SYS_exit, SYS_exit_group, SYS_tgkill, SYS_gettid, SYS_getpid, SYS_getppid,
	/* identity, randomness */
	SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid, SYS_getresuid, SYS_getresgid, SYS_getrandom,
	SYS_uname,
#if defined(__x86_64__)
	/* x86_64's older entry points of the same calls */
	SYS_epoll_wait, SYS_poll, SYS_select, SYS_accept, SYS_time, SYS_arch_prctl,
#endif
};

/*
 * ASan reports and LSan's exit-time check: /proc/self/maps and /proc/self/task (opened
 * read-only, see allow_open_read_only), a tracer process (clone), ptrace of every thread,
 * waitpid, PR_SET_DUMPABLE and PR_SET_PDEATHSIG.
 */
static const int sanitizer_syscalls[] = {
	SYS_prctl, SYS_ptrace, SYS_wait4, SYS_waitid, SYS_kill, SYS_prlimit64, SYS_pipe2, SYS_dup,
	SYS_dup3, SYS_mincore, SYS_sched_getparam, SYS_sched_getscheduler, SYS_process_vm_readv,
	SYS_readlinkat, SYS_getdents64,
#if defined(__x86_64__)
	SYS_getrlimit, SYS_dup2, SYS_pipe, SYS_getdents, SYS_access, SYS_stat, SYS_lstat,
	SYS_readlink,
#endif
};

/* Linux 5.2; older headers lack it */
#ifndef TUNGETDEVNETNS
#define TUNGETDEVNETNS _IO('T', 227)
#endif

/*
 * The ioctls tapird makes after start-up: SIOCGIFMTU (the MTU after a link change) and
 * SIOCGIFINDEX (is our interface still there), both on an AF_INET datagram socket, and
 * TUNGETIFF on a TUN queue (the device's name now, which a rename or a move changes; it only
 * reads, needs no capability, and only the TUN driver answers it). Nothing that sets
 * anything: SIOCSIF* and TUNSET* would need CAP_NET_ADMIN anyway, which tapird no longer has.
 */
static const unsigned int daemon_ioctls[] = {SIOCGIFMTU, SIOCGIFINDEX, TUNGETIFF};
/* a sanitizer report asks whether stderr is a terminal (TCGETS) */
static const unsigned int sanitizer_ioctls[] = {SIOCGIFMTU, SIOCGIFINDEX, TUNGETIFF, TCGETS};

/*
 * Opening a file for reading: ASan and LSan need it (sanitizer builds). A release build opens
 * nothing, but glibc's malloc reads /proc/sys/vm/overcommit_memory once, the first time a
 * thread's heap shrinks (in free(), long after start-up), and copes with a failed open: that
 * open fails with EACCES instead of aborting the daemon. Opening for writing always traps.
 */
static const unsigned int read_only_open_action =
    TAPIR_HAS_SANITIZER ? SECCOMP_RET_ALLOW : SECCOMP_RET_ERRNO | EACCES;

/* socket(): the families, types and protocol tapird creates after start-up (see above) */
static const unsigned int inet_families[] = {AF_INET, AF_INET6};
static const unsigned int inet_types[] = {SOCK_DGRAM, SOCK_STREAM};
static const unsigned int protocol_default[] = {0};

/*
 * The helper: wait on its channel, make sockets, stat and unlink one path, look up a moved
 * device's MTU (sendto and recvmsg on the netlink socket it opened before the filter), answer,
 * exit.
 */
static const int helper_syscalls[] = {
	SYS_recvmsg, SYS_sendmsg, SYS_sendto, SYS_close, SYS_newfstatat, SYS_fstat, SYS_unlinkat,
	SYS_setsockopt, SYS_getsockopt, SYS_bind, SYS_listen, SYS_getsockname, SYS_exit_group,
	SYS_exit, SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_rt_sigaction, SYS_tgkill, SYS_gettid,
	SYS_getpid, SYS_munmap,
#if defined(__x86_64__)
	SYS_lstat, SYS_stat, SYS_unlink,
#endif
};
/* clang-format on */

/*
 * The helper's ioctls, both on a TUN queue tapird passes it (checked to be one first): its
 * name and its network namespace now (TUNGETDEVNETNS opens a descriptor of it; needs
 * CAP_NET_ADMIN). Home's namespace (SIOCGSKNS) is read before the filter.
 */
static const unsigned int helper_ioctls[] = {TUNGETIFF, TUNGETDEVNETNS};

struct prog {
	struct sock_filter insns[MAX_INSNS];
	unsigned short len;
	bool is_overflow;
};

static void emit(struct prog *p, unsigned short code, unsigned char jt, unsigned char jf,
		 unsigned int k)
{
	if (p->len == MAX_INSNS) {
		p->is_overflow = true;
		return;
	}
	p->insns[p->len++] = (struct sock_filter){.code = code, .jt = jt, .jf = jf, .k = k};
}

static void load_nr(struct prog *p)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
}

static void allow_list(struct prog *p, const int *nrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (unsigned int)nrs[i]);
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	}
}

/* Loads the low 32 bits of argument @i (little-endian ABIs; the calls below take int). */
static void load_arg(struct prog *p, unsigned int i)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0,
	     (unsigned int)(offsetof(struct seccomp_data, args) + i * sizeof(uint64_t)));
}

/* Argument @i, masked by @mask (0: unmasked), must be one of @vals, else trap. */
static void arg_in(struct prog *p, unsigned int i, unsigned int mask, const unsigned int *vals,
		   size_t n)
{
	load_arg(p, i);
	if (mask)
		emit(p, BPF_ALU | BPF_AND | BPF_K, 0, 0, mask);
	for (size_t k = 0; k < n; k++)
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned char)(n - k), 0, vals[k]);
	emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_TRAP);
}

/* Opens a block for system call @nr: skipped (A still holds nr) unless it is that call. */
static unsigned short begin_call(struct prog *p, int nr)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (unsigned int)nr);
	return (unsigned short)(p->len - 1);
}

/* Closes the block opened at @at: every check passed, allow; patches the skip over it. */
static void end_call(struct prog *p, unsigned short at)
{
	emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	if (p->is_overflow || p->len - at - 1 > 255) {
		p->is_overflow = true;
		return;
	}
	p->insns[at].jf = (unsigned char)(p->len - at - 1);
}

/* socket(@family in @families, @type & SOCK_TYPE_MASK in @types, protocol 0) */
static void allow_socket(struct prog *p, const unsigned int *families, size_t nfam,
			 const unsigned int *types, size_t ntypes)
{
	unsigned short at = begin_call(p, SYS_socket);

	arg_in(p, 0, 0, families, nfam);
	arg_in(p, 1, SOCK_TYPE_MASK, types, ntypes);
	arg_in(p, 2, 0, protocol_default, TAPIR_ARRAY_SIZE(protocol_default));
	end_call(p, at);
}

/* ioctl(fd, @req in @reqs): the request number is an unsigned int in the kernel */
static void allow_ioctl(struct prog *p, const unsigned int *reqs, size_t n)
{
	unsigned short at = begin_call(p, SYS_ioctl);

	arg_in(p, 1, 0, reqs, n);
	end_call(p, at);
}

/*
 * open/openat: with a write or create bit in the flags (argument @flags_arg) trap; for reading,
 * @read_action (allow in sanitizer builds; an errno in release builds, see the list above).
 */
static void open_read_only(struct prog *p, int nr, unsigned int flags_arg, unsigned int read_action)
{
	unsigned short at = begin_call(p, nr);

	load_arg(p, flags_arg);
	emit(p, BPF_JMP | BPF_JSET | BPF_K, 0, 1, OPEN_WRITE_FLAGS);
	emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_TRAP);
	emit(p, BPF_RET | BPF_K, 0, 0, read_action);
	/* both branches returned: the closing allow is never reached */
	end_call(p, at);
}

/* clone: threads only in release builds; LSan's tracer is a CLONE_VM process, not a thread. */
static void allow_clone(struct prog *p, bool is_any)
{
	if (is_any) {
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, SYS_clone);
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	} else {
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, SYS_clone);
		/* the low 32 bits of the flags argument (little-endian ABIs) */
		emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, args[0]));
		emit(p, BPF_JMP | BPF_JSET | BPF_K, 1, 0, CLONE_THREAD);
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_TRAP);
		emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	}
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, SYS_clone3);
	emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS);
}

static void build(struct prog *p, enum tapir_seccomp_profile profile)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, TAPIR_AUDIT_ARCH);
	emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_KILL_PROCESS);
	load_nr(p);
#if defined(__x86_64__)
	emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 1, X32_SYSCALL_BIT);
	emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_TRAP);
#endif
	if (profile == TAPIR_SECCOMP_HELPER) {
		allow_list(p, helper_syscalls, TAPIR_ARRAY_SIZE(helper_syscalls));
		allow_socket(p, inet_families, TAPIR_ARRAY_SIZE(inet_families), inet_types,
			     TAPIR_ARRAY_SIZE(inet_types));
		allow_ioctl(p, helper_ioctls, TAPIR_ARRAY_SIZE(helper_ioctls));
	} else {
		allow_list(p, daemon_syscalls, TAPIR_ARRAY_SIZE(daemon_syscalls));
		allow_socket(p, inet_families, TAPIR_ARRAY_SIZE(inet_families), inet_types,
			     TAPIR_ARRAY_SIZE(inet_types));
		if (TAPIR_HAS_SANITIZER) {
			allow_list(p, sanitizer_syscalls, TAPIR_ARRAY_SIZE(sanitizer_syscalls));
			allow_ioctl(p, sanitizer_ioctls, TAPIR_ARRAY_SIZE(sanitizer_ioctls));
		} else {
			allow_ioctl(p, daemon_ioctls, TAPIR_ARRAY_SIZE(daemon_ioctls));
		}
		open_read_only(p, SYS_openat, 2, read_only_open_action);
#if defined(__x86_64__)
		open_read_only(p, SYS_open, 1, read_only_open_action);
#endif
		allow_clone(p, TAPIR_HAS_SANITIZER);
	}
	emit(p, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_TRAP);
}

/* Async-signal-safe: formats with no library call but write(2). */
static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	static const char head[] = "tapird: seccomp: system call ";
	static const char tail[] = " is not on the allow-list, aborting\n";
	char num[16];
	int n = si->si_syscall, i = (int)sizeof(num);
	unsigned int v = n < 0 ? 0u : (unsigned int)n;

	(void)sig;
	(void)uctx;
	do {
		num[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	if (write(STDERR_FILENO, head, sizeof(head) - 1) < 0 ||
	    write(STDERR_FILENO, num + i, sizeof(num) - (size_t)i) < 0 ||
	    write(STDERR_FILENO, tail, sizeof(tail) - 1) < 0) {
		/* nothing left to report with */
	}
	abort();
}

bool tapir_seccomp_is_supported(void)
{
	return TAPIR_AUDIT_ARCH != 0;
}

int tapir_seccomp_install(enum tapir_seccomp_profile profile)
{
	static struct prog p; /* startup only, too big for the stack */
	struct sock_fprog fprog;
	struct sigaction sa;

	if (!tapir_seccomp_is_supported())
		return -ENOSYS;
	memset(&p, 0, sizeof(p));
	build(&p, profile);
	if (p.is_overflow)
		return -E2BIG;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	fprog.len = p.len;
	fprog.filter = p.insns;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog) != 0)
		return errno ? -errno : -ESRCH; /* > 0: the id of a thread that could not sync */
	return 0;
}
