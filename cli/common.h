/* SPDX-License-Identifier: MIT */
/*
 * Helpers the tapir(8) subcommands share, each written once: a monotonic millisecond clock
 * and a sleep a signal cuts short, the signal flag of a subcommand that must undo its work on
 * Ctrl-C, $PATH lookups and finding tapird, the "[#] " echo of a demo step, and the Internet
 * checksum of the demos' echo requests. No I/O beyond what each names; the signal flag is the
 * only state.
 */
#ifndef TAPIR_CLI_COMMON_H
#define TAPIR_CLI_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The last of SIGINT, SIGTERM, SIGHUP received since tapir_cli_catch_signals(), or 0. Written
 * by the handler only; a subcommand may reset it to 0 to run its clean-up to the end.
 */
extern volatile sig_atomic_t tapir_cli_signal;

/*
 * SIGINT, SIGTERM and SIGHUP only set tapir_cli_signal, without SA_RESTART, so that a blocking
 * call returns EINTR and the caller checks the flag between steps.
 */
void tapir_cli_catch_signals(void);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t tapir_cli_now_ms(void);
/* Sleeps @ms; returns 0, or the milliseconds left when a signal handler cut the sleep short. */
long tapir_cli_sleep_ms(long ms);
/*
 * Whether an executable @name is in $PATH (unset or empty: /usr/sbin:/usr/bin:/sbin:/bin).
 * Its full path goes into @out (@size bytes) unless @out is NULL; a path that does not fit
 * counts as not found.
 */
bool tapir_cli_find_in_path(const char *name, char *out, size_t size);
/*
 * The tapird to run, into @out (@size bytes): $TAPIRD as given, else tapird next to this tapir
 * binary, else tapird from $PATH. -ENOENT if none, -ENAMETOOLONG if it does not fit.
 */
int tapir_cli_find_tapird(char *out, size_t size);
/* Writes @value and a newline to the sysctl file @path: 0 or -errno. */
int tapir_cli_write_sysctl(const char *path, unsigned value);
/* waitpid(@pid, @status, 0), again after a signal handler ran: 0 or -errno. */
int tapir_cli_wait_child(pid_t pid, int *status);
/* "[#] " and the formatted text on stdout, flushed: a step a demo takes, as wg-quick echoes. */
__attribute__((format(printf, 1, 2))) void tapir_cli_say(const char *fmt, ...);
/* The Internet checksum (RFC 1071) of @buf, in network byte order. */
uint16_t tapir_cli_inet_checksum(const void *buf, size_t len);

#endif
