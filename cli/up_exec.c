// SPDX-License-Identifier: MIT
/*
 * tapir up / down: what runs as a child process, and what is said. The PreUp, PostUp,
 * PreDown and PostDown hooks run through /bin/sh -c with %i replaced by the interface name;
 * DNS = servers and search domains go to resolvconf(8) as the record dns.c names. Every
 * change up or down makes is first printed as "[#] COMMAND", a line that would do the same
 * from a shell (tapir_up_shell_word() quotes what needs it).
 *
 * Children get /dev/null or a pipe as stdin; a Ctrl-C reaches them too, and we wait for them
 * either way.
 */
#include "up.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "dns.h"

const char *tapir_up_family_flag(int family)
{
	return family == AF_INET6 ? "-6" : "-4";
}

void tapir_up_prefix_text(char out[INET6_ADDRSTRLEN + 4], int family, const uint8_t *addr,
			  unsigned cidr)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(out, INET6_ADDRSTRLEN + 4, "%s/%u", a, cidr);
}

__attribute__((format(printf, 1, 2))) void tapir_up_say(const char *fmt, ...)
{
	va_list ap;

	fputs("[#] ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * @s as one shell word, so that a "[#] ..." line runs as shown: as is when it has only safe
 * characters, else in single quotes (each ' written '\''). Returns @s or @buf.
 */
const char *tapir_up_shell_word(const char *s, char *buf, size_t size)
{
	size_t o = 0;

	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
			    "@%+=:,./-") == strlen(s))
		return s;
	buf[o++] = '\'';
	for (; *s && o + 6 < size; s++) {
		if (*s == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else {
			buf[o++] = *s;
		}
	}
	buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}

/* Runs argv with signals unblocked; stdin from @input (if not NULL). Returns the exit status. */
static int run(char *const argv[], const char *input)
{
	int fds[2] = {-1, -1}, status, r;
	pid_t pid;

	if (input && pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(input ? fds[0] : null, STDIN_FILENO);
		if (null > STDERR_FILENO)
			close(null);
		execvp(argv[0], argv);
		fprintf(stderr, "tapir: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (input) {
		close(fds[0]);
		if (write(fds[1], input, strlen(input)) < 0)
			status = 0; /* the child sees EOF; its exit status tells */
		close(fds[1]);
	}
	/* A Ctrl-C reaches the child too; wait for it to finish either way. */
	r = tapir_cli_wait_child(pid, &status);
	if (r)
		return r;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* wg-quick substitutes %i with the interface name in hooks. */
static char *substitute(const char *cmd, const char *ifname)
{
	size_t n = 0, ilen = strlen(ifname), o = 0;
	char *out;

	for (const char *p = strstr(cmd, "%i"); p; p = strstr(p + 2, "%i"))
		n++;
	out = malloc(strlen(cmd) + n * ilen + 1);
	if (!out)
		return NULL;
	for (const char *p = cmd; *p;) {
		if (p[0] == '%' && p[1] == 'i') {
			memcpy(out + o, ifname, ilen);
			o += ilen;
			p += 2;
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

/* Runs the hooks of one key (@key: "PreUp", ...); a failure names the key and its line. */
int tapir_up_run_hooks(struct tapir_up *qk, const char *key, char **hooks, const size_t *lines,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *cmd = substitute(hooks[i], qk->ifname);
		char sh[] = "/bin/sh", c[] = "-c";
		char *argv[] = {sh, c, cmd, NULL};
		int r;

		if (!cmd)
			return -ENOMEM;
		tapir_up_say("%s", cmd);
		r = run(argv, NULL);
		free(cmd);
		if (r) {
			fprintf(stderr, "tapir: %s:%zu: %s hook failed (exit status %d)\n",
				qk->config_path, lines[i], key, r);
			return -ECANCELED;
		}
	}
	return 0;
}

static bool is_ip_literal(const char *s)
{
	uint8_t buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int tapir_up_set_dns(struct tapir_up *qk)
{
	char prog[] = "resolvconf", a[] = "-a", m[] = "-m", zero[] = "0", x[] = "-x";
	char name[TEXT_BYTES], *text = NULL;
	bool has_search = false;
	char *argv[] = {prog, a, name, m, zero, x, NULL};
	struct tapir_up_action act = {.kind = ACT_DNS};
	size_t size = 0;
	FILE *f;
	int r;

	if (!qk->conf.n_dns)
		return 0;
	if (!tapir_cli_find_in_path("resolvconf", NULL, 0)) {
		fprintf(stderr,
			"tapir: DNS is set in %s but resolvconf(8) is not installed; "
			"not configuring DNS (install openresolv, or set it by hand)\n",
			qk->config_path);
		return 0;
	}
	f = open_memstream(&text, &size);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < qk->conf.n_dns; i++) {
		if (is_ip_literal(qk->conf.dns[i]))
			fprintf(f, "nameserver %s\n", qk->conf.dns[i]);
	}
	/* Entries that are not addresses are search domains, all on one line. */
	for (size_t i = 0; i < qk->conf.n_dns; i++) {
		if (is_ip_literal(qk->conf.dns[i]))
			continue;
		fprintf(f, "%s %s", has_search ? "" : "search", qk->conf.dns[i]);
		has_search = true;
	}
	if (has_search)
		fputc('\n', f);
	fclose(f);
	tapir_dns_record_name(qk->ifname, name, sizeof(name));
	tapir_up_say("resolvconf -a %s -m 0 -x", name);
	r = run(argv, text);
	free(text);
	if (r) {
		fprintf(stderr, "tapir: resolvconf failed (status %d)\n", r);
		return -EIO;
	}
	return tapir_up_record(qk, &act);
}

int tapir_up_undo_dns(struct tapir_up *qk)
{
	char prog[] = "resolvconf", d[] = "-d", f[] = "-f", name[TEXT_BYTES];
	char *argv[] = {prog, d, name, f, NULL};

	tapir_dns_record_name(qk->ifname, name, sizeof(name));
	tapir_up_say("resolvconf -d %s -f", name);
	return run(argv, NULL) ? -EIO : 0;
}
