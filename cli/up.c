// SPDX-License-Identifier: MIT
/*
 * tapir up / tapir down: what wg-quick(8) does on Linux (wireguard-protocol.md section 9.6),
 * with rtnetlink instead of ip(8). up parses the whole file first, then starts tapird, applies
 * the WireGuard part over UAPI, adds addresses, sets MTU and link up, DNS, routes (a default
 * route through fwmark policy routing: own table, "not fwmark" and "suppress_prefixlength 0"
 * rules) and runs the hooks, printing each change as "[#] ..." the way wg-quick does.
 *
 * With Mode = tap, tapird runs in TAP (L2) mode: the MTU leaves room for the Ethernet and
 * extension headers, allowed IPs and routes do not apply (the parser rejects AllowedIPs), and
 * Bridge = NAME attaches the TAP to an existing Linux bridge once the link is up.
 *
 * Every change that outlives the interface (rules, routes in other tables, DNS, a sysctl) is
 * appended to /var/run/tapir/IFNAME.state as soon as it is made; a failure midway, Ctrl-C, or
 * a later `down` undoes exactly those records, newest first. The state file is also how down
 * knows that an interface is ours.
 *
 * A default route also gets wg-quick's nftables guard (nft.c). SaveConfig = true makes down
 * write the running configuration back first (saveconf.c). up --foreground keeps tapird as a
 * child and supervises it for tapir@.service (supervise.c); a state file whose daemon died is
 * cleaned up by the next up, as down would.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "device.h"
#include "confperm.h"
#include "dns.h"
#include "netlink.h"
#include "resolve.h"
#include "nft.h"
#include "notify.h"
#include "saveconf.h"
#include "supervise.h"
#include "uapi_client.h"
#include "util.h"

static const char STATE_DIR[] = "/var/run/tapir";
static const char UAPI_DIR[] = "/var/run/wireguard";
static const char SRC_VALID_MARK[] = "/proc/sys/net/ipv4/conf/all/src_valid_mark";

enum {
	CONFIG_MAX_BYTES = 1024 * 1024,
	DEFAULT_TABLE = 51820,
	TABLE_SEARCH_MAX = 1000,
	MTU_OVERHEAD_BYTES = 80, /* IPv6 (40) + UDP (8) + WireGuard (32) */
	TAP_OVERHEAD_BYTES = 17, /* and in TAP mode: extension header (3) + Ethernet (14) */
	MTU_FALLBACK_BYTES = 1500,
	DAEMON_START_TIMEOUT_MS = 15000,
	SOCKET_WAIT_MS = 5000,
	STEP_MS = 50,
	TEXT_BYTES = 256,
	FIREWALL_ADDRS_MAX = 64, /* addresses of one family the guard protects */
	DAEMON_EXIT_WAIT_MS = 5000,
	DEAD_SOCKET_GRACE_MS = 1000,	 /* a dead daemon's socket helper removes it by then */
	SUPERVISOR_STOP_WAIT_MS = 60000, /* its down runs hooks: give them time */
};

/* One change that must be undone explicitly; a line of the state file. */
enum action_kind {
	ACT_DAEMON,	   /* tapird started: undo deletes the link */
	ACT_ROUTE,	   /* family dst cidr table */
	ACT_RULE_FWMARK,   /* family fwmark table priority */
	ACT_RULE_SUPPRESS, /* family table priority */
	ACT_SYSCTL,	   /* src_valid_mark, old value */
	ACT_DNS,
	ACT_BRIDGE,   /* the link was made a port of bridge @name */
	ACT_FIREWALL, /* family: nftables table tapir-IFNAME (nft.c) */
};

struct action {
	enum action_kind kind;
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	uint32_t table, fwmark, priority, old_value;
	char name[IFNAMSIZ];
};

struct quick {
	char ifname[IFNAMSIZ];
	char *config_path; /* owned; NULL: none found */
	bool is_by_path;   /* named by its config file, not by IFNAME */
	struct tapir_quick_conf conf;
	bool has_conf;
	struct tapir_nl *nl;
	int ifindex;
	int state_fd;
	struct action *actions; /* owned, in the order made */
	size_t n_actions;
	bool has_failed_undo;
	bool is_foreground;   /* tapir up --foreground: tapird is our child, we stay */
	pid_t daemon_pid;     /* --foreground: tapird's, 0 once reaped */
	pid_t supervisor_pid; /* down: from the state file, the tapir up --foreground */
};

static const char *family_flag(int family)
{
	return family == AF_INET6 ? "-6" : "-4";
}

static void prefix_text(char out[INET6_ADDRSTRLEN + 4], int family, const uint8_t *addr,
			unsigned cidr)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, a, sizeof(a));
	snprintf(out, INET6_ADDRSTRLEN + 4, "%s/%u", a, cidr);
}

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
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
static const char *shell_word(const char *s, char *buf, size_t size)
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

/*
 * Ctrl-C, SIGTERM and SIGHUP only set a flag (without SA_RESTART, so a blocking call returns
 * EINTR); up and down check it between steps and undo what was done.
 */
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

static bool is_interrupted(void)
{
	return got_signal != 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- finding the config */

static bool is_ifname_text(const char *s, size_t len)
{
	if (!len || len >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    !strchr("_=+.-", c))
			return false;
	}
	return !(len == 1 && s[0] == '.') && !(len == 2 && !memcmp(s, "..", 2));
}

static char *config_for_name(const char *ifname)
{
	static const char *const dirs[] = {"/etc/tapir", "/etc/wireguard"};
	char *path;

	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(dirs); i++) {
		if (asprintf(&path, "%s/%s.conf", dirs[i], ifname) < 0)
			return NULL;
		if (!access(path, F_OK))
			return path;
		free(path);
	}
	return NULL;
}

/* IFNAME (looked up in /etc/tapir, then /etc/wireguard) or a path ending in IFNAME.conf. */
static int resolve_target(struct quick *qk, const char *arg)
{
	const char *base = strrchr(arg, '/');
	size_t len = strlen(arg);

	if (!base && (len < 5 || strcmp(arg + len - 5, ".conf") != 0)) {
		if (!is_ifname_text(arg, len)) {
			fprintf(stderr, "tapir: `%s' is not a valid interface name\n", arg);
			return -EINVAL;
		}
		memcpy(qk->ifname, arg, len + 1);
		qk->config_path = config_for_name(arg);
		return 0;
	}
	qk->is_by_path = true;
	base = base ? base + 1 : arg;
	len = strlen(base);
	if (len < 5 || strcmp(base + len - 5, ".conf") != 0 || !is_ifname_text(base, len - 5)) {
		fprintf(
		    stderr,
		    "tapir: the config file must be a valid interface name followed by .conf\n");
		return -EINVAL;
	}
	memcpy(qk->ifname, base, len - 5);
	qk->ifname[len - 5] = '\0';
	qk->config_path = realpath(arg, NULL);
	if (!qk->config_path) {
		fprintf(stderr, "tapir: %s: %s\n", arg, strerror(errno));
		return -errno;
	}
	return 0;
}

static int read_file(const char *path, char **out, size_t *len_out, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *buf;

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || st->st_size > CONFIG_MAX_BYTES) {
		int r = st->st_size > CONFIG_MAX_BYTES ? -EFBIG : -errno;

		close(fd);
		return r;
	}
	buf = malloc((size_t)st->st_size + 1);
	n = buf ? read(fd, buf, (size_t)st->st_size) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		return buf ? -errno : -ENOMEM;
	}
	*out = buf;
	*len_out = (size_t)n;
	return 0;
}

/* The first hook key the file uses, or NULL. */
static const char *first_hook(const struct tapir_quick_conf *c)
{
	return c->n_pre_up	? "PreUp"
	       : c->n_post_up	? "PostUp"
	       : c->n_pre_down	? "PreDown"
	       : c->n_post_down ? "PostDown"
				: NULL;
}

static int load_config(struct quick *qk)
{
	char err[TEXT_BYTES];
	struct stat st = {0};
	const char *hook;
	size_t len = 0;
	char *text = NULL;
	int r;

	if (!qk->config_path) {
		fprintf(stderr, "tapir: no /etc/tapir/%s.conf or /etc/wireguard/%s.conf\n",
			qk->ifname, qk->ifname);
		return -ENOENT;
	}
	r = read_file(qk->config_path, &text, &len, &st);
	if (r) {
		fprintf(stderr, "tapir: %s: %s\n", qk->config_path, strerror(-r));
		return r;
	}
	r = tapir_config_parse(text, len, qk->config_path, false, &qk->conf, err, sizeof(err));
	explicit_bzero(text, len);
	free(text);
	if (r) {
		fprintf(stderr, "tapir: %s\n", err);
		return r;
	}
	qk->has_conf = true;
	hook = first_hook(&qk->conf);
	if (hook && tapir_confperm_check_hooks(qk->config_path, &st, hook))
		return -EPERM;
	if ((st.st_mode & S_IROTH) && qk->conf.wg.has_private_key)
		fprintf(stderr, "Warning: `%s' is world accessible\n", qk->config_path);
	return 0;
}

/* ---------------------------------------------------------------- child processes */

/* Runs argv with signals unblocked; stdin from @input (if not NULL). Returns the exit status. */
static int run(char *const argv[], const char *input)
{
	int fds[2] = {-1, -1}, status;
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
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
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
static int run_hooks(struct quick *qk, const char *key, char **hooks, const size_t *lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *cmd = substitute(hooks[i], qk->ifname);
		char sh[] = "/bin/sh", c[] = "-c";
		char *argv[] = {sh, c, cmd, NULL};
		int r;

		if (!cmd)
			return -ENOMEM;
		say("%s", cmd);
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

static bool is_in_path(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs, *save = NULL, *full;
	bool found = false;

	dirs = strdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && !found;
	     d = strtok_r(NULL, ":", &save)) {
		if (asprintf(&full, "%s/%s", d, name) < 0)
			break;
		found = !access(full, X_OK);
		free(full);
	}
	free(dirs);
	return found;
}

/* $TAPIRD, else tapird next to this tapir binary, else tapird from PATH. */
static char *find_tapird(void)
{
	const char *env = getenv("TAPIRD");
	char *self, *slash, *path;

	if (env && *env)
		return strdup(env);
	self = realpath("/proc/self/exe", NULL);
	slash = self ? strrchr(self, '/') : NULL;
	if (slash) {
		*slash = '\0';
		if (asprintf(&path, "%s/tapird", self) >= 0) {
			free(self);
			if (!access(path, X_OK))
				return path;
			free(path);
			return strdup("tapird");
		}
	}
	free(self);
	return strdup("tapird");
}

/* --foreground: tapird -f stays our child; wait for its socket while it lives. */
static int wait_foreground(struct quick *qk)
{
	int status;

	for (int waited = 0; waited < DAEMON_START_TIMEOUT_MS; waited += STEP_MS) {
		if (waitpid(qk->daemon_pid, &status, WNOHANG) == qk->daemon_pid) {
			qk->daemon_pid = 0;
			fprintf(stderr, "tapir: tapird failed to start %s\n", qk->ifname);
			return -ECHILD;
		}
		if (!tapir_uapi_wait(qk->ifname, STEP_MS))
			return 0;
	}
	fprintf(stderr, "tapir: tapird did not come up in time\n");
	return -ETIMEDOUT;
}

/*
 * Starts tapird [-f] [--mode tap] [--offload LIST] [--workers N] IFNAME and waits for it to
 * daemonize (its parent exits once the device and the socket exist), or with -f
 * (--foreground) for its socket to answer.
 */
static int start_daemon(struct quick *qk)
{
	char *tapird = find_tapird();
	char mode[] = "--mode", tap[] = "tap", offload[] = "--offload", workers[] = "--workers";
	char offload_list[TAPIR_OFFLOAD_LIST_MAX], nworkers[16], quoted[TEXT_BYTES * 4];
	char foreground[] = "-f";
	bool is_tap = qk->conf.mode == TAPIR_MODE_TAP;
	char *argv[10] = {tapird};
	int status = 0, waited = 0, argc = 1;
	pid_t pid;

	if (!tapird)
		return -ENOMEM;
	if (qk->is_foreground)
		argv[argc++] = foreground;
	if (is_tap) {
		argv[argc++] = mode;
		argv[argc++] = tap;
	}
	if (qk->conf.has_offloads) {
		tapir_offload_format(qk->conf.offloads, offload_list, sizeof(offload_list));
		argv[argc++] = offload;
		argv[argc++] = offload_list;
	}
	if (qk->conf.workers) {
		snprintf(nworkers, sizeof(nworkers), "%u", qk->conf.workers);
		argv[argc++] = workers;
		argv[argc++] = nworkers;
	}
	argv[argc] = qk->ifname;
	say("%s%s%s%s%s%s%s %s", shell_word(tapird, quoted, sizeof(quoted)),
	    qk->is_foreground ? " -f" : "", is_tap ? " --mode tap" : "",
	    qk->conf.has_offloads ? " --offload " : "", qk->conf.has_offloads ? offload_list : "",
	    qk->conf.workers ? " --workers " : "", qk->conf.workers ? nworkers : "", qk->ifname);
	pid = fork();
	if (pid < 0) {
		free(tapird);
		return -errno;
	}
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (null > STDERR_FILENO)
			close(null);
		/* readiness is ours to tell, once the whole file is applied */
		unsetenv("NOTIFY_SOCKET");
		execvp(argv[0], argv);
		fprintf(stderr, "tapir: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	free(tapird);
	if (qk->is_foreground) {
		qk->daemon_pid = pid;
		return wait_foreground(qk);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (waited >= DAEMON_START_TIMEOUT_MS) {
			kill(pid, SIGTERM);
			waitpid(pid, &status, 0);
			fprintf(stderr, "tapir: tapird did not come up in time\n");
			return -ETIMEDOUT;
		}
		sleep_ms(STEP_MS);
		waited += STEP_MS;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "tapir: tapird failed to start %s\n", qk->ifname);
		return -ECHILD;
	}
	return tapir_uapi_wait(qk->ifname, SOCKET_WAIT_MS);
}

static bool socket_exists(const char *ifname)
{
	char path[TEXT_BYTES];

	snprintf(path, sizeof(path), "%s/%s.sock", UAPI_DIR, ifname);
	return !access(path, F_OK);
}

static void remove_socket(const char *ifname)
{
	char path[TEXT_BYTES];

	snprintf(path, sizeof(path), "%s/%s.sock", UAPI_DIR, ifname);
	unlink(path);
}

/* ---------------------------------------------------------------- state file */

static char *state_path(const char *ifname)
{
	char *path;

	return asprintf(&path, "%s/%s.state", STATE_DIR, ifname) < 0 ? NULL : path;
}

static int netns_id(char out[64])
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	snprintf(out, 64, "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	return 0;
}

static int state_create(struct quick *qk)
{
	char *path = state_path(qk->ifname);
	char ns[64];

	if (!path || netns_id(ns))
		goto err;
	if (mkdir(STATE_DIR, 0755) < 0 && errno != EEXIST)
		goto err;
	qk->state_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (qk->state_fd < 0) {
		if (errno == EEXIST)
			fprintf(stderr, "tapir: %s is already up (%s exists; tapir down %s)\n",
				qk->ifname, path, qk->ifname);
		else
			fprintf(stderr, "tapir: %s: %s\n", path, strerror(errno));
		free(path);
		return -EEXIST;
	}
	free(path);
	dprintf(qk->state_fd, "tapir-state 1\nnetns %s\nconfig %s\n", ns, qk->config_path);
	if (qk->is_foreground)
		dprintf(qk->state_fd, "supervisor %d\n", (int)getpid());
	return 0;
err:
	fprintf(stderr, "tapir: cannot create the state file: %s\n", strerror(errno));
	free(path);
	return -EIO;
}

static void format_action(char out[TEXT_BYTES], const struct action *a)
{
	char p[INET6_ADDRSTRLEN + 4];

	switch (a->kind) {
	case ACT_DAEMON:
		snprintf(out, TEXT_BYTES, "daemon");
		break;
	case ACT_ROUTE:
		prefix_text(p, a->family, a->addr, a->cidr);
		snprintf(out, TEXT_BYTES, "route %s %u", p, a->table);
		break;
	case ACT_RULE_FWMARK:
		snprintf(out, TEXT_BYTES, "rule-fwmark %d %u %u %u", a->family == AF_INET6 ? 6 : 4,
			 a->fwmark, a->table, a->priority);
		break;
	case ACT_RULE_SUPPRESS:
		snprintf(out, TEXT_BYTES, "rule-suppress %d %u %u", a->family == AF_INET6 ? 6 : 4,
			 a->table, a->priority);
		break;
	case ACT_SYSCTL:
		snprintf(out, TEXT_BYTES, "sysctl-src-valid-mark %u", a->old_value);
		break;
	case ACT_DNS:
		snprintf(out, TEXT_BYTES, "dns");
		break;
	case ACT_BRIDGE:
		snprintf(out, TEXT_BYTES, "bridge %s", a->name);
		break;
	case ACT_FIREWALL:
		snprintf(out, TEXT_BYTES, "firewall %d", a->family == AF_INET6 ? 6 : 4);
		break;
	}
}

static int parse_action(struct action *a, const char *line)
{
	char p[INET6_ADDRSTRLEN + 4], *slash;
	unsigned cidr, fam;

	memset(a, 0, sizeof(*a));
	if (!strcmp(line, "daemon"))
		a->kind = ACT_DAEMON;
	else if (!strcmp(line, "dns"))
		a->kind = ACT_DNS;
	else if (sscanf(line, "sysctl-src-valid-mark %u", &a->old_value) == 1)
		a->kind = ACT_SYSCTL;
	else if (sscanf(line, "bridge %15s", a->name) == 1)
		a->kind = ACT_BRIDGE;
	else if (sscanf(line, "rule-fwmark %u %u %u %u", &fam, &a->fwmark, &a->table,
			&a->priority) == 4)
		a->kind = ACT_RULE_FWMARK;
	else if (sscanf(line, "rule-suppress %u %u %u", &fam, &a->table, &a->priority) == 3)
		a->kind = ACT_RULE_SUPPRESS;
	else if (sscanf(line, "firewall %u", &fam) == 1)
		a->kind = ACT_FIREWALL;
	else if (sscanf(line, "route %49s %u", p, &a->table) == 2 && (slash = strchr(p, '/'))) {
		*slash = '\0';
		a->kind = ACT_ROUTE;
		a->family = strchr(p, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(a->family, p, a->addr) != 1 || sscanf(slash + 1, "%u", &cidr) != 1)
			return -EINVAL;
		a->cidr = (uint8_t)cidr;
		return 0;
	} else
		return -EINVAL;
	if (a->kind == ACT_RULE_FWMARK || a->kind == ACT_RULE_SUPPRESS || a->kind == ACT_FIREWALL)
		a->family = fam == 6 ? AF_INET6 : AF_INET;
	return 0;
}

static int append_action(struct quick *qk, const struct action *a)
{
	struct action *arr = reallocarray(qk->actions, qk->n_actions + 1, sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	qk->actions = arr;
	arr[qk->n_actions++] = *a;
	return 0;
}

/* Remembers a change (in memory and in the state file) right after it was made. */
static int record(struct quick *qk, const struct action *a)
{
	char line[TEXT_BYTES];

	if (append_action(qk, a))
		return -ENOMEM;
	format_action(line, a);
	if (dprintf(qk->state_fd, "%s\n", line) < 0)
		return -EIO;
	return 0;
}

/* ---------------------------------------------------------------- undo */

static bool is_gone(int r)
{
	return r == -ENOENT || r == -ESRCH || r == -ENODEV || r == -EADDRNOTAVAIL;
}

static void undo_daemon(struct quick *qk)
{
	int ifindex = tapir_nl_link_lookup(qk->nl, qk->ifname, NULL), r;

	if (ifindex > 0) {
		say("ip link delete dev %s", qk->ifname);
		r = tapir_nl_link_del(qk->nl, ifindex);
		if (r && !is_gone(r)) {
			fprintf(stderr, "tapir: cannot delete %s: %s\n", qk->ifname, strerror(-r));
			qk->has_failed_undo = true;
			return;
		}
	}
	/*
	 * tapird exits once its interface is gone and removes its socket. A daemon killed with
	 * its socket helper (kill -9 of both) leaves a file nobody listens on: after a second,
	 * it is ours to remove.
	 */
	for (int waited = 0, dead = 0; socket_exists(qk->ifname) && waited < SOCKET_WAIT_MS;
	     waited += STEP_MS) {
		dead = tapir_supervise_is_socket_live(qk->ifname) ? 0 : dead + STEP_MS;
		if (dead >= DEAD_SOCKET_GRACE_MS) {
			say("rm %s/%s.sock", UAPI_DIR, qk->ifname);
			remove_socket(qk->ifname);
			break;
		}
		sleep_ms(STEP_MS);
	}
	if (socket_exists(qk->ifname)) {
		fprintf(stderr, "tapir: %s/%s.sock is still there after %d s\n", UAPI_DIR,
			qk->ifname, SOCKET_WAIT_MS / 1000);
		qk->has_failed_undo = true;
	}
}

static int write_sysctl(const char *path, unsigned value)
{
	FILE *f = fopen(path, "we");
	int r = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%u\n", value) < 0)
		r = -EIO;
	if (fclose(f) && !r)
		r = -errno;
	return r;
}

static int undo_dns(struct quick *qk)
{
	char prog[] = "resolvconf", d[] = "-d", f[] = "-f", name[TEXT_BYTES];
	char *argv[] = {prog, d, name, f, NULL};

	tapir_dns_record_name(qk->ifname, name, sizeof(name));
	say("resolvconf -d %s -f", name);
	return run(argv, NULL) ? -EIO : 0;
}

static void undo(struct quick *qk, const struct action *a)
{
	char p[INET6_ADDRSTRLEN + 4];
	int r = 0;

	switch (a->kind) {
	case ACT_DAEMON:
		undo_daemon(qk);
		return;
	case ACT_ROUTE:
		prefix_text(p, a->family, a->addr, a->cidr);
		say("ip %s route delete %s dev %s table %u", family_flag(a->family), p, qk->ifname,
		    a->table);
		if (qk->ifindex > 0)
			r = tapir_nl_route(qk->nl, false, qk->ifindex, a->family, a->addr, a->cidr,
					   a->table);
		break;
	case ACT_RULE_FWMARK:
		say("ip %s rule delete not fwmark %u table %u pref %u", family_flag(a->family),
		    a->fwmark, a->table, a->priority);
		r = tapir_nl_rule_not_fwmark(qk->nl, false, a->family, a->fwmark, a->table,
					     a->priority);
		break;
	case ACT_RULE_SUPPRESS:
		say("ip %s rule delete table main suppress_prefixlength 0 pref %u",
		    family_flag(a->family), a->priority);
		r = tapir_nl_rule_suppress(qk->nl, false, a->family, a->table, a->priority);
		break;
	case ACT_SYSCTL:
		say("sysctl -q net.ipv4.conf.all.src_valid_mark=%u", a->old_value);
		r = write_sysctl(SRC_VALID_MARK, a->old_value);
		break;
	case ACT_DNS:
		r = undo_dns(qk);
		break;
	case ACT_BRIDGE:
		/* deleting the link detaches it too; said and done for symmetry with up */
		say("ip link set %s nomaster", qk->ifname);
		if (qk->ifindex > 0)
			r = tapir_nl_link_set_master(qk->nl, qk->ifindex, 0);
		break;
	case ACT_FIREWALL:
		r = tapir_nft_guard_del(qk->ifname, a->family);
		break;
	}
	if (r && !is_gone(r)) {
		fprintf(stderr, "tapir: undo failed: %s\n", strerror(-r));
		qk->has_failed_undo = true;
	}
}

static void undo_all(struct quick *qk)
{
	qk->ifindex = tapir_nl_link_lookup(qk->nl, qk->ifname, NULL);
	for (size_t i = qk->n_actions; i > 0; i--)
		undo(qk, &qk->actions[i - 1]);
}

static void quick_free(struct quick *qk)
{
	if (qk->has_conf)
		tapir_quick_conf_free(&qk->conf);
	free(qk->config_path);
	free(qk->actions);
	if (qk->state_fd >= 0)
		close(qk->state_fd);
	tapir_nl_close(qk->nl);
}

char *tapir_up_config_path(const char *arg)
{
	struct quick qk = {.state_fd = -1};
	char *path = NULL;

	if (!resolve_target(&qk, arg)) {
		path = qk.config_path;
		qk.config_path = NULL;
		if (!path)
			fprintf(stderr, "tapir: no /etc/tapir/%s.conf or /etc/wireguard/%s.conf\n",
				qk.ifname, qk.ifname);
	}
	quick_free(&qk);
	return path;
}

/* ---------------------------------------------------------------- up steps */

static int resolve_endpoints(struct quick *qk)
{
	struct tapir_quick_conf *q = &qk->conf;

	for (size_t i = 0; i < q->wg.n_peers; i++) {
		struct tapir_config_endpoint *ep = &q->endpoints[i];
		char port[8], who[TEXT_BYTES * 4];

		if (!ep->host || q->wg.peers[i].has_endpoint)
			continue;
		snprintf(port, sizeof(port), "%u", (unsigned)ep->port);
		snprintf(who, sizeof(who), "tapir: %s:%zu: Endpoint", qk->config_path, ep->line);
		if (tapir_resolve_endpoint(who, ep->host, port, &q->wg.peers[i].endpoint))
			return -EINVAL;
		q->wg.peers[i].has_endpoint = true;
	}
	return 0;
}

static int apply_uapi(struct quick *qk)
{
	char quoted[TEXT_BYTES * 4];
	size_t len;
	char *req = tapir_conf_to_uapi_set(&qk->conf.wg, true, &len);
	int r;

	if (!req)
		return -ENOMEM;
	say("tapir setconf %s <(tapir strip %s)", qk->ifname,
	    shell_word(qk->config_path, quoted, sizeof(quoted)));
	/* The client adds "set=1" and the blank line itself. */
	r = tapir_uapi_set(qk->ifname, req + 6, len - 7);
	explicit_bzero(req, len);
	free(req);
	if (r)
		fprintf(stderr, "tapir: cannot configure %s: %s\n", qk->ifname, strerror(-r));
	return r;
}

static int add_addresses(struct quick *qk)
{
	for (size_t i = 0; i < qk->conf.n_addresses; i++) {
		const struct tapir_config_address *a = &qk->conf.addresses[i];
		char p[INET6_ADDRSTRLEN + 4];
		int r;

		prefix_text(p, a->family, a->addr, a->cidr);
		say("ip %s address add %s dev %s", family_flag(a->family), p, qk->ifname);
		r = tapir_nl_addr(qk->nl, true, qk->ifindex, a->family, a->addr, a->cidr);
		if (r) {
			fprintf(stderr, "tapir: cannot add %s: %s\n", p, strerror(-r));
			return r;
		}
	}
	return 0;
}

/*
 * As wg-quick: the largest MTU of the routes to the endpoints, else the default route's, less
 * the tunnel's overhead. A TAP's MTU counts no Ethernet header, which the frame carries too.
 */
static int pick_mtu(struct quick *qk)
{
	int overhead = MTU_OVERHEAD_BYTES, best = -1, mtu;

	if (qk->conf.mtu)
		return qk->conf.mtu;
	for (size_t i = 0; i < qk->conf.wg.n_peers; i++) {
		if (qk->conf.wg.peers[i].has_endpoint &&
		    !tapir_nl_route_get(qk->nl, &qk->conf.wg.peers[i].endpoint, NULL, &mtu) &&
		    mtu > best)
			best = mtu;
	}
	if (best < 0)
		best = tapir_nl_default_route_mtu(qk->nl, AF_INET);
	if (best < 0)
		best = tapir_nl_default_route_mtu(qk->nl, AF_INET6);
	if (qk->conf.mode == TAPIR_MODE_TAP)
		overhead += TAP_OVERHEAD_BYTES;
	if (best <= overhead)
		best = MTU_FALLBACK_BYTES;
	return best - overhead;
}

static int set_mtu_up(struct quick *qk)
{
	int mtu = pick_mtu(qk);
	int r;

	say("ip link set mtu %d up dev %s", mtu, qk->ifname);
	r = tapir_nl_link_set(qk->nl, qk->ifindex, mtu, true);
	if (r)
		fprintf(stderr, "tapir: cannot set %s up: %s\n", qk->ifname, strerror(-r));
	return r;
}

/* Index of the Bridge = NAME bridge; says what is wrong if it is missing or not a bridge. */
static int find_bridge(struct quick *qk)
{
	int r = tapir_nl_bridge_lookup(qk->nl, qk->conf.bridge);

	if (r == -ENODEV)
		fprintf(stderr,
			"tapir: %s: Bridge = %s: no such interface (create the bridge first)\n",
			qk->config_path, qk->conf.bridge);
	else if (r == -EOPNOTSUPP)
		fprintf(stderr, "tapir: %s: Bridge = %s: not a bridge\n", qk->config_path,
			qk->conf.bridge);
	else if (r < 0)
		fprintf(stderr, "tapir: cannot look up bridge %s: %s\n", qk->conf.bridge,
			strerror(-r));
	return r;
}

static int attach_bridge(struct quick *qk)
{
	struct action act = {.kind = ACT_BRIDGE};
	int master, r;

	if (!qk->conf.bridge)
		return 0;
	/* looked up again: the bridge may have gone since prepare_up (a PreUp hook, say) */
	master = find_bridge(qk);
	if (master < 0)
		return master;
	say("ip link set %s master %s", qk->ifname, qk->conf.bridge);
	r = tapir_nl_link_set_master(qk->nl, qk->ifindex, master);
	if (r) {
		fprintf(stderr, "tapir: cannot attach %s to %s: %s\n", qk->ifname, qk->conf.bridge,
			strerror(-r));
		return r;
	}
	snprintf(act.name, sizeof(act.name), "%s", qk->conf.bridge);
	return record(qk, &act);
}

static bool is_ip_literal(const char *s)
{
	uint8_t buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int set_dns(struct quick *qk)
{
	char prog[] = "resolvconf", a[] = "-a", m[] = "-m", zero[] = "0", x[] = "-x";
	char name[TEXT_BYTES], *text = NULL;
	bool has_search = false;
	char *argv[] = {prog, a, name, m, zero, x, NULL};
	struct action act = {.kind = ACT_DNS};
	size_t size = 0;
	FILE *f;
	int r;

	if (!qk->conf.n_dns)
		return 0;
	if (!is_in_path("resolvconf")) {
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
	say("resolvconf -a %s -m 0 -x", name);
	r = run(argv, text);
	free(text);
	if (r) {
		fprintf(stderr, "tapir: resolvconf failed (status %d)\n", r);
		return -EIO;
	}
	return record(qk, &act);
}

static int add_route(struct quick *qk, int family, const uint8_t *dst, uint8_t cidr, uint32_t table)
{
	struct action act = {.kind = ACT_ROUTE, .family = family, .cidr = cidr, .table = table};
	char p[INET6_ADDRSTRLEN + 4];
	int r;

	memcpy(act.addr, dst, 16);
	prefix_text(p, family, dst, cidr);
	if (table == RT_TABLE_MAIN)
		say("ip %s route add %s dev %s", family_flag(family), p, qk->ifname);
	else
		say("ip %s route add %s dev %s table %u", family_flag(family), p, qk->ifname,
		    table);
	r = tapir_nl_route(qk->nl, true, qk->ifindex, family, dst, cidr, table);
	if (r) {
		fprintf(stderr, "tapir: cannot add route %s: %s\n", p, strerror(-r));
		return r;
	}
	return record(qk, &act);
}

/* The first table from 51820 with no routes, unless FwMark names one. */
static int pick_table(struct quick *qk, uint32_t *table)
{
	char body[32];
	uint32_t t = DEFAULT_TABLE;
	int r;

	if (qk->conf.wg.has_fwmark && qk->conf.wg.fwmark) {
		*table = qk->conf.wg.fwmark;
		return 0;
	}
	for (;; t++) {
		int e4 = tapir_nl_table_is_empty(qk->nl, AF_INET, t);
		/* Without IPv6 there is no IPv6 table to collide with. */
		int e6 = tapir_nl_table_is_empty(qk->nl, AF_INET6, t);

		if (e4 < 0)
			return e4;
		if (e4 && e6 != 0)
			break;
		if (t - DEFAULT_TABLE >= TABLE_SEARCH_MAX) {
			fprintf(stderr, "tapir: no free routing table from %d\n", DEFAULT_TABLE);
			return -ENOSPC;
		}
	}
	say("tapir set %s fwmark %u", qk->ifname, t);
	snprintf(body, sizeof(body), "fwmark=%u\n", t);
	r = tapir_uapi_set(qk->ifname, body, strlen(body));
	if (r) {
		fprintf(stderr, "tapir: cannot set the fwmark: %s\n", strerror(-r));
		return r;
	}
	qk->conf.wg.has_fwmark = true;
	qk->conf.wg.fwmark = t;
	*table = t;
	return 0;
}

static int set_src_valid_mark(struct quick *qk)
{
	struct action act = {.kind = ACT_SYSCTL};
	char buf[16] = "";
	FILE *f = fopen(SRC_VALID_MARK, "re");
	int r;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	act.old_value = (uint32_t)strtoul(buf, NULL, 10);
	if (act.old_value == 1)
		return 0;
	say("sysctl -q net.ipv4.conf.all.src_valid_mark=1");
	r = write_sysctl(SRC_VALID_MARK, 1);
	return r ? r : record(qk, &act);
}

/*
 * wg-quick's nftables guard for a full tunnel (nft.c), over the addresses the link has now,
 * as wg-quick reads them from `ip addr show`.
 */
static int add_firewall(struct quick *qk, int family, uint32_t fwmark)
{
	struct action act = {.kind = ACT_FIREWALL, .family = family};
	uint8_t addrs[FIREWALL_ADDRS_MAX][16];
	size_t n = 0;
	int r;

	r = tapir_nl_addr_list(qk->nl, qk->ifindex, family, addrs, FIREWALL_ADDRS_MAX, &n);
	if (r) {
		fprintf(stderr, "tapir: cannot list the addresses of %s: %s\n", qk->ifname,
			strerror(-r));
		return r;
	}
	r = tapir_nft_guard_add(qk->ifname, family, fwmark, addrs, n);
	if (r) {
		fprintf(stderr, "tapir: cannot add the firewall guard of %s\n", qk->ifname);
		return r;
	}
	return record(qk, &act);
}

/*
 * A /0 route: everything goes to table T (= the fwmark) through the tunnel, except packets
 * tapird marks (its own UDP), and anything the main table knows more specifically than /0.
 */
static int add_default(struct quick *qk, int family, const uint8_t *dst, uint32_t table)
{
	struct action fw = {.kind = ACT_RULE_FWMARK, .family = family, .table = table};
	struct action sup = {.kind = ACT_RULE_SUPPRESS, .family = family, .table = RT_TABLE_MAIN};
	uint32_t prio;
	int r;

	fw.fwmark = table;
	r = tapir_nl_rule_next_priority(qk->nl, family, &prio);
	if (r)
		return r;
	fw.priority = prio;
	sup.priority = prio - 1;
	say("ip %s rule add not fwmark %u table %u pref %u", family_flag(family), table, table,
	    prio);
	r = tapir_nl_rule_not_fwmark(qk->nl, true, family, table, table, fw.priority);
	if (r || (r = record(qk, &fw)))
		return r;
	say("ip %s rule add table main suppress_prefixlength 0 pref %u", family_flag(family),
	    sup.priority);
	r = tapir_nl_rule_suppress(qk->nl, true, family, RT_TABLE_MAIN, sup.priority);
	if (r || (r = record(qk, &sup)))
		return r;
	r = add_route(qk, family, dst, 0, table);
	if (!r)
		r = add_firewall(qk, family, table);
	if (!r && family == AF_INET)
		r = set_src_valid_mark(qk);
	return r;
}

/* An Address's own prefix route already covers @aip (wg-quick checks "ip route show match"). */
static bool is_covered(const struct quick *qk, const struct tapir_conf_allowed_ip *aip)
{
	for (size_t i = 0; i < qk->conf.n_addresses; i++) {
		const struct tapir_config_address *a = &qk->conf.addresses[i];
		unsigned bits = a->cidr;

		if (a->family != aip->family || a->cidr > aip->cidr)
			continue;
		if (memcmp(a->addr, aip->addr, bits / 8) != 0)
			continue;
		if (bits % 8 && (a->addr[bits / 8] ^ aip->addr[bits / 8]) >> (8 - bits % 8))
			continue;
		return true;
	}
	return false;
}

static int cmp_aip(const void *x, const void *y)
{
	const struct tapir_conf_allowed_ip *a = x, *b = y;

	if (a->cidr != b->cidr)
		return b->cidr - a->cidr; /* longest prefix first, as wg-quick sorts them */
	if (a->family != b->family)
		return a->family - b->family;
	return memcmp(a->addr, b->addr, 16);
}

static int collect_allowed_ips(const struct quick *qk, struct tapir_conf_allowed_ip **out,
			       size_t *n_out)
{
	const struct tapir_conf *wg = &qk->conf.wg;
	struct tapir_conf_allowed_ip *all;
	size_t n = 0, total = 0;

	for (size_t i = 0; i < wg->n_peers; i++)
		total += wg->peers[i].n_allowed_ips;
	all = calloc(total ? total : 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < wg->n_peers; i++) {
		for (size_t j = 0; j < wg->peers[i].n_allowed_ips; j++) {
			struct tapir_conf_allowed_ip a = wg->peers[i].allowed_ips[j];
			size_t len = a.family == AF_INET ? 4 : 16;

			/* Routes want the network address: clear the host bits. */
			for (size_t b = 0; b < len; b++) {
				int keep = (int)a.cidr - (int)b * 8;

				a.addr[b] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : 0xff << (8 - keep);
			}
			all[n++] = a;
		}
	}
	qsort(all, n, sizeof(*all), cmp_aip);
	*out = all;
	*n_out = n;
	return 0;
}

static int add_routes(struct quick *qk)
{
	struct tapir_conf_allowed_ip *all = NULL;
	uint32_t table = 0;
	size_t n = 0;
	int r;

	/* frames are switched by MAC: there is nothing to route to a TAP */
	if (qk->conf.table == TAPIR_TABLE_OFF || qk->conf.mode == TAPIR_MODE_TAP)
		return 0;
	r = collect_allowed_ips(qk, &all, &n);
	for (size_t i = 0; !r && i < n; i++) {
		const struct tapir_conf_allowed_ip *a = &all[i];

		if (is_interrupted())
			r = -EINTR;
		else if (i && !cmp_aip(a, &all[i - 1]))
			continue;
		else if (qk->conf.table == TAPIR_TABLE_NUMBER)
			r = add_route(qk, a->family, a->addr, a->cidr, qk->conf.table_number);
		else if (!a->cidr && !table && (r = pick_table(qk, &table)))
			break;
		else if (!a->cidr)
			r = add_default(qk, a->family, a->addr, table);
		else if (!is_covered(qk, a))
			r = add_route(qk, a->family, a->addr, a->cidr, RT_TABLE_MAIN);
	}
	free(all);
	return r;
}

/* ---------------------------------------------------------------- commands */

static int prepare_down(struct quick *qk, const char *arg);
static void clean_stale(struct quick *qk);
static void bring_down(struct quick *qk);
static int supervise(struct quick *qk);

static int check_args(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf(
		    "Usage: tapir %s %s[ CONFIG_FILE | INTERFACE ]\n\n"
		    "  CONFIG_FILE is a wg-quick configuration file whose name, without .conf,\n"
		    "  is the interface name; INTERFACE means /etc/tapir/INTERFACE.conf or\n"
		    "  /etc/wireguard/INTERFACE.conf.\n\n"
		    "  up starts tapird, applies the [Interface] and [Peer] sections, adds the\n"
		    "  addresses, sets MTU, DNS and routes (a default route through fwmark\n"
		    "  policy routing) and runs the hooks; down undoes what up did.\n\n"
		    "  Mode = tap runs tapird in TAP (L2) mode: no routes, an MTU 17 bytes\n"
		    "  smaller (Ethernet and extension headers); Bridge = NAME attaches the\n"
		    "  TAP to an existing bridge; Forward, MACAge, MACs configure the switch.\n"
		    "  Offload = all|none|LIST (some of tun,gso,gro) and Workers = N are\n"
		    "  passed to tapird as --offload and --workers. TCPListen = on makes\n"
		    "  tapird listen on TCP at ListenPort too, for peers whose endpoint is\n"
		    "  tcp:// (off by default).\n\n"
		    "  Endpoint host names are retried as wg(8) does\n"
		    "  (WG_ENDPOINT_RESOLUTION_RETRIES: a count, default 15, or infinity).\n"
		    "  tapird detaches holding none of tapir's descriptors (so $(tapir up wg0)\n"
		    "  returns) and logs to syslog, or to TAPIR_LOG_FILE when set. DNS goes to\n"
		    "  resolvconf as IFNAME, or PREFIX.IFNAME as /etc/resolvconf/interface-order\n"
		    "  says (like wg-quick). A file with hooks must not be writable by group or\n"
		    "  others nor owned by another user. Reload: tapir syncconf IF <(tapir strip\n"
		    "  IF).\n\n"
		    "  up --foreground (tapir@.service) runs tapird -f as its child and stays:\n"
		    "  it tells $NOTIFY_SOCKET READY=1 once everything is applied, takes the\n"
		    "  interface down on SIGTERM (exit 0), and if tapird dies undoes what up\n"
		    "  did and exits 1 (the unit restarts it). down of such an interface asks\n"
		    "  the supervising tapir up to take it down.\n\n"
		    "  up cleans up after a daemon that died (kill -9, crash): if the state\n"
		    "  file is there but the interface and its daemon are gone, it first\n"
		    "  undoes what that earlier up recorded, as down would.\n\n"
		    "  With SaveConfig = true, down first writes the running configuration\n"
		    "  back to the file (see tapir.conf(5)).\n",
		    argv[0], strcmp(argv[0], "up") ? "" : "[ --foreground ] ");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "Usage: tapir %s %s[ CONFIG_FILE | INTERFACE ]\n", argv[0],
			strcmp(argv[0], "up") ? "" : "[ --foreground ] ");
		return 2;
	}
	return -1;
}

static int prepare_up(struct quick *qk, const char *arg)
{
	int r;

	if (resolve_target(qk, arg) || load_config(qk))
		return -EINVAL;
	if (resolve_endpoints(qk))
		return -EINVAL;
	r = tapir_nl_open(&qk->nl, NULL);
	if (r) {
		fprintf(stderr, "tapir: rtnetlink: %s\n", strerror(-r));
		return r;
	}
	clean_stale(qk);
	if (tapir_nl_link_lookup(qk->nl, qk->ifname, NULL) > 0) {
		fprintf(stderr, "tapir: `%s' already exists\n", qk->ifname);
		return -EEXIST;
	}
	/* The socket directory is shared by all namespaces: the name may be taken elsewhere. */
	if (socket_exists(qk->ifname)) {
		fprintf(stderr, "tapir: %s/%s.sock exists: a daemon for %s is already running\n",
			UAPI_DIR, qk->ifname, qk->ifname);
		return -EEXIST;
	}
	/* a missing bridge is found before anything changes */
	if (qk->conf.bridge && (r = find_bridge(qk)) < 0)
		return r;
	return state_create(qk);
}

static int do_up(struct quick *qk)
{
	struct action daemon = {.kind = ACT_DAEMON};
	int r;

	r = run_hooks(qk, "PreUp", qk->conf.pre_up, qk->conf.pre_up_lines, qk->conf.n_pre_up);
	if (r || (r = record(qk, &daemon)) || (r = start_daemon(qk)))
		return r;
	qk->ifindex = tapir_nl_link_lookup(qk->nl, qk->ifname, NULL);
	if (qk->ifindex < 0) {
		fprintf(stderr, "tapir: %s did not appear\n", qk->ifname);
		return qk->ifindex;
	}
	if (is_interrupted() || (r = apply_uapi(qk)) || is_interrupted() ||
	    (r = add_addresses(qk)) || is_interrupted() || (r = set_mtu_up(qk)) ||
	    is_interrupted() || (r = attach_bridge(qk)) || is_interrupted() || (r = set_dns(qk)) ||
	    is_interrupted() || (r = add_routes(qk)) || is_interrupted())
		return r ? r : -EINTR;
	return run_hooks(qk, "PostUp", qk->conf.post_up, qk->conf.post_up_lines,
			 qk->conf.n_post_up);
}

/* Takes --foreground out of up's arguments (before or after the target). */
static void take_foreground(int *argc, char **argv, struct quick *qk)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--foreground") != 0)
			continue;
		qk->is_foreground = true;
		/* argv[argc] is NULL: it moves down too */
		memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(*argv));
		(*argc)--;
		return;
	}
}

int tapir_cmd_up(int argc, char **argv)
{
	struct quick qk = {.state_fd = -1};
	char *path;
	int r;

	take_foreground(&argc, argv, &qk);
	r = check_args(argc, argv);
	if (r >= 0)
		return r;
	catch_signals();
	r = prepare_up(&qk, argv[1]);
	if (r) {
		quick_free(&qk);
		return 1;
	}
	r = do_up(&qk);
	if (r) {
		if (r == -EINTR)
			fprintf(stderr, "tapir: interrupted\n");
		fprintf(stderr, "tapir: bringing up %s failed; undoing\n", qk.ifname);
		undo_all(&qk);
		if (qk.daemon_pid > 0)
			tapir_supervise_reap(qk.daemon_pid, DAEMON_EXIT_WAIT_MS);
		path = state_path(qk.ifname);
		if (path)
			unlink(path);
		free(path);
	} else if (qk.is_foreground) {
		r = supervise(&qk);
	}
	quick_free(&qk);
	return r ? 1 : 0;
}

/* Reads the state file of an interface up brought up; -ENOENT if there is none. */
static int load_state(struct quick *qk, char **config_out)
{
	char *path = state_path(qk->ifname), *line = NULL, ns[64], want_ns[64] = "";
	size_t cap = 0;
	FILE *f = path ? fopen(path, "re") : NULL;
	int r = 0;

	free(path);
	if (!f)
		return -ENOENT;
	while (!r && getline(&line, &cap, f) > 0) {
		struct action a;

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "tapir-state ", 12))
			continue;
		if (!strncmp(line, "netns ", 6))
			snprintf(want_ns, sizeof(want_ns), "%s", line + 6);
		else if (!strncmp(line, "config ", 7) && !*config_out)
			*config_out = strdup(line + 7);
		else if (!strncmp(line, "supervisor ", 11))
			qk->supervisor_pid = (pid_t)strtol(line + 11, NULL, 10);
		else if (parse_action(&a, line))
			r = -EINVAL;
		else
			r = append_action(qk, &a);
	}
	free(line);
	fclose(f);
	if (!r && (netns_id(ns) || strcmp(ns, want_ns) != 0)) {
		fprintf(stderr, "tapir: %s was brought up in another network namespace\n",
			qk->ifname);
		r = -EXDEV;
	}
	return r;
}

static int prepare_down(struct quick *qk, const char *arg)
{
	char *state_config = NULL;
	int r;

	if (resolve_target(qk, arg))
		return -EINVAL;
	r = load_state(qk, &state_config);
	if (r == -ENOENT && if_nametoindex(qk->ifname))
		fprintf(stderr,
			"tapir: %s was not brought up by tapir up (no %s/%s.state): leaving it "
			"alone\n",
			qk->ifname, STATE_DIR, qk->ifname);
	else if (r == -ENOENT)
		fprintf(stderr,
			"tapir: there is no interface %s, and it was not brought up by tapir up\n",
			qk->ifname);
	else if (r == -EINVAL)
		fprintf(stderr, "tapir: %s/%s.state is corrupt\n", STATE_DIR, qk->ifname);
	if (r) {
		free(state_config);
		return r;
	}
	if (!qk->is_by_path && state_config) {
		free(qk->config_path);
		qk->config_path = state_config;
		state_config = NULL;
	}
	free(state_config);
	/* The hooks come from the file; without it, down still undoes what up recorded. */
	if (qk->config_path && !access(qk->config_path, F_OK)) {
		if (load_config(qk))
			return -EINVAL;
	} else {
		fprintf(stderr,
			"tapir: warning: config file of %s not found; no PreDown/PostDown\n",
			qk->ifname);
	}
	r = tapir_nl_open(&qk->nl, NULL);
	if (r)
		fprintf(stderr, "tapir: rtnetlink: %s\n", strerror(-r));
	return r;
}

static void stop_supervisor(struct quick *qk);

int tapir_cmd_down(int argc, char **argv)
{
	struct quick qk = {.state_fd = -1};
	int r = check_args(argc, argv);

	if (r >= 0)
		return r;
	catch_signals();
	if (prepare_down(&qk, argv[1])) {
		quick_free(&qk);
		return 1;
	}
	if (tapir_supervise_is_tapir(qk.supervisor_pid))
		stop_supervisor(&qk);
	else
		bring_down(&qk);
	r = qk.has_failed_undo ? 1 : 0;
	quick_free(&qk);
	return r;
}

/* ---------------------------------------------------------------- down, supervision */

/*
 * What down does once the state is loaded: SaveConfig (while the daemon still answers),
 * PreDown, the undo of every record newest first, PostDown, and the state file goes.
 */
static void bring_down(struct quick *qk)
{
	char *path;

	if (qk->has_conf && qk->conf.save_config) {
		if (!tapir_supervise_is_socket_live(qk->ifname))
			fprintf(stderr,
				"tapir: warning: the daemon of %s is gone; SaveConfig cannot save "
				"its configuration\n",
				qk->ifname);
		else if (tapir_saveconf(qk->config_path, qk->ifname))
			qk->has_failed_undo = true;
	}
	if (qk->has_conf && run_hooks(qk, "PreDown", qk->conf.pre_down, qk->conf.pre_down_lines,
				      qk->conf.n_pre_down))
		fprintf(stderr, "tapir: warning: going on with down\n");
	undo_all(qk);
	if (qk->has_conf && run_hooks(qk, "PostDown", qk->conf.post_down, qk->conf.post_down_lines,
				      qk->conf.n_post_down))
		fprintf(stderr, "tapir: warning: %s is down all the same\n", qk->ifname);
	path = state_path(qk->ifname);
	if (path)
		unlink(path);
	free(path);
}

/*
 * up found a state file. If its interface and daemon are gone (killed, crashed) and no
 * supervising tapir up runs, undo what that earlier up recorded, as down would; otherwise
 * leave it, and state_create says the interface is up.
 */
static void clean_stale(struct quick *qk)
{
	struct quick old = {.state_fd = -1};
	char *path = state_path(qk->ifname);
	bool has_state = path && !access(path, F_OK);

	free(path);
	if (!has_state || tapir_nl_link_lookup(qk->nl, qk->ifname, NULL) > 0 ||
	    tapir_supervise_is_socket_live(qk->ifname))
		return;
	if (prepare_down(&old, qk->ifname) || tapir_supervise_is_tapir(old.supervisor_pid)) {
		quick_free(&old);
		return;
	}
	fprintf(stderr, "tapir: %s: the daemon of an earlier tapir up is gone; cleaning up\n",
		qk->ifname);
	/* nobody answers on it: a socket file its helper could not remove */
	if (socket_exists(qk->ifname)) {
		say("rm %s/%s.sock", UAPI_DIR, qk->ifname);
		remove_socket(qk->ifname);
	}
	bring_down(&old);
	quick_free(&old);
}

/*
 * tapir up --foreground after a successful up: tell the service manager, then wait. A signal
 * takes the interface down (exit 0); the daemon's death undoes what up did and exits 1, so
 * that Restart=on-failure brings it up again from the file.
 */
static int supervise(struct quick *qk)
{
	int status = 0, r;

	r = tapir_notify("READY=1\nSTATUS=up; supervising tapird\n");
	if (r)
		fprintf(stderr, "tapir: warning: cannot tell $NOTIFY_SOCKET: %s\n", strerror(-r));
	/* the state file records every change; close it so down can take over */
	close(qk->state_fd);
	qk->state_fd = -1;
	r = tapir_supervise_wait(qk->daemon_pid, &got_signal, &status);
	if (r == 1) {
		qk->daemon_pid = 0;
		if (WIFSIGNALED(status))
			fprintf(stderr, "tapir: tapird of %s was killed by signal %d; undoing\n",
				qk->ifname, WTERMSIG(status));
		else
			fprintf(stderr, "tapir: tapird of %s exited with status %d; undoing\n",
				qk->ifname, WEXITSTATUS(status));
	} else if (r < 0) {
		fprintf(stderr, "tapir: cannot wait for tapird: %s; taking %s down\n", strerror(-r),
			qk->ifname);
	}
	tapir_notify("STOPPING=1\n");
	got_signal = 0; /* the down that follows runs to its end */
	bring_down(qk);
	if (qk->daemon_pid > 0)
		tapir_supervise_reap(qk->daemon_pid, DAEMON_EXIT_WAIT_MS);
	return r == 0 && !qk->has_failed_undo ? 0 : -ECHILD;
}

/* down of a supervised interface: the supervising tapir up takes it down and exits. */
static void stop_supervisor(struct quick *qk)
{
	char *path = state_path(qk->ifname);

	say("kill -TERM %d", (int)qk->supervisor_pid);
	if (!path || kill(qk->supervisor_pid, SIGTERM) < 0) {
		fprintf(stderr, "tapir: cannot stop the tapir up supervising %s: %s\n", qk->ifname,
			strerror(errno));
		qk->has_failed_undo = true;
		free(path);
		return;
	}
	for (int waited = 0; !access(path, F_OK) && waited < SUPERVISOR_STOP_WAIT_MS;
	     waited += STEP_MS)
		sleep_ms(STEP_MS);
	if (!access(path, F_OK)) {
		fprintf(stderr, "tapir: the tapir up supervising %s did not finish in %d s\n",
			qk->ifname, SUPERVISOR_STOP_WAIT_MS / 1000);
		qk->has_failed_undo = true;
	}
	free(path);
}
