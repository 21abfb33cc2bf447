// SPDX-License-Identifier: MIT
/*
 * tapird: argv and environment, device and socket creation, daemonizing, the privilege drop
 * and seccomp (privsep.c, seccomp.c), thread start.
 * The process contract is wireguard-go's (wireguard-protocol.md 9.5): `tapird [-f] IFNAME`,
 * WG_PROCESS_FOREGROUND, WG_TUN_FD, WG_UAPI_FD, LOG_LEVEL; the parent returns only once the
 * TUN device and the UAPI socket exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "daemon.h"
#include "device.h"
#include "log.h"
#include "metrics_http.h"
#include "notify.h"
#include "privsep.h"
#include "seccomp.h"
#include "tun.h"
#include "uapi.h"

struct options {
	bool is_foreground;
	unsigned int offloads;
	bool is_tap;
	unsigned int nworkers;
	const char *ifname;
	const char *user; /* NULL: tapir (no fallback) */
	bool is_no_drop;
	bool is_no_seccomp;
	const char *log_file; /* NULL: stderr in the foreground, syslog once detached */
	union tapir_sockaddr metrics_addr; /* --metrics-listen; sa_family 0 = off */
	uid_t uid;			   /* of user, looked up before daemonizing */
	pid_t helper_pid;
	gid_t gid;
	char user_name[64];
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tapird [-f|--foreground] [--mode tun|tap] [--workers N] [--offload LIST]\n"
		"              INTERFACE\n"
		"\n"
		"Creates the TUN interface INTERFACE and serves the WireGuard userspace API on\n"
		"/var/run/wireguard/INTERFACE.sock; configure it with wg(8) or tapir(8).\n"
		"\n"
		"  -f, --foreground   do not daemonize (also WG_PROCESS_FOREGROUND=1)\n"
		"  -m, --mode MODE    tun (default): WireGuard, IP packets; tap: Ethernet\n"
		"                     frames switched between tapir peers (L2 mode)\n"
		"  -w, --workers N    data-plane worker threads, one TUN queue each\n"
		"                     (default: online CPUs, at most 16; also TAPIR_WORKERS)\n"
		"  -o, --offload LIST all (default), none, or some of tun,gso,gro: TUN\n"
		"                     TSO/checksum offload, UDP GSO sends, UDP GRO receives\n"
		"                     with coalesced TUN writes (also TAPIR_OFFLOAD)\n"
		"  -u, --user NAME    user to run as once the device and sockets exist\n"
		"                     (default: tapir, which must exist; also TAPIR_USER)\n"
		"      --no-drop      keep running as root (also TAPIR_PRIVDROP=0)\n"
		"      --no-seccomp   no system-call filter (also TAPIR_SECCOMP=0)\n"
		"  -l, --log-file PATH append the log to PATH (also TAPIR_LOG_FILE); without\n"
		"                     it the log goes to stderr in the foreground and to\n"
		"                     syslog (facility daemon) once detached\n"
		"      --metrics-listen ADDR:PORT  serve GET /metrics (Prometheus text) over\n"
		"                     HTTP there, e.g. 127.0.0.1:9586 (default: off; also\n"
		"                     MetricsListen, tapir set IF metrics-listen)\n"
		"  -h, --help         show this help\n"
		"      --version      show the version\n"
		"\n"
		"Environment: LOG_LEVEL=silent|error|info|verbose, WG_TUN_FD, WG_UAPI_FD,\n"
		"NOTIFY_SOCKET (READY=1 once serving, as sd_notify(3) says).\n"
		"It exits on SIGINT/SIGTERM, when INTERFACE is deleted, or when its socket is.\n"
		"Once detached it holds none of its caller's descriptors: stdin, stdout and\n"
		"stderr are /dev/null, every other inherited descriptor but WG_TUN_FD and\n"
		"WG_UAPI_FD is closed.\n");
}

static int parse_workers(const char *s, unsigned int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s < '0' || *s > '9' || *end || v < 1 || v > TAPIR_MAX_THREADS - 2)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int parse_offloads(const char *s, unsigned int *out)
{
	return tapir_offload_parse(s, strlen(s), out);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"foreground", no_argument, NULL, 'f'},
	    {"workers", required_argument, NULL, 'w'},
	    {"mode", required_argument, NULL, 'm'},
	    {"offload", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"user", required_argument, NULL, 'u'},
	    {"no-drop", no_argument, NULL, 'D'},
	    {"no-seccomp", no_argument, NULL, 'S'},
	    {"log-file", required_argument, NULL, 'l'},
	    {"metrics-listen", required_argument, NULL, 'M'},
	    {NULL, 0, NULL, 0},
	};
	const char *env;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int c;

	o->nworkers = ncpu > 0 ? (unsigned int)(ncpu < 16 ? ncpu : 16) : 1;
	env = getenv("TAPIR_WORKERS");
	if (env && parse_workers(env, &o->nworkers) < 0) {
		fprintf(stderr, "tapird: invalid TAPIR_WORKERS: %s\n", env);
		return 2;
	}
	env = getenv("WG_PROCESS_FOREGROUND");
	o->is_foreground = env && !strcmp(env, "1");
	o->offloads = TAPIR_OFFLOAD_ALL;
	env = getenv("TAPIR_OFFLOAD");
	if (env && parse_offloads(env, &o->offloads) < 0) {
		fprintf(stderr, "tapird: invalid TAPIR_OFFLOAD: %s\n", env);
		return 2;
	}
	o->user = getenv("TAPIR_USER");
	if (o->user && !*o->user)
		o->user = NULL;
	env = getenv("TAPIR_PRIVDROP");
	o->is_no_drop = env && !strcmp(env, "0");
	env = getenv("TAPIR_SECCOMP");
	o->is_no_seccomp = env && !strcmp(env, "0");
	o->log_file = getenv("TAPIR_LOG_FILE");
	if (o->log_file && !*o->log_file)
		o->log_file = NULL;
	while ((c = getopt_long(argc, argv, "fw:m:o:u:l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->is_foreground = true;
			break;
		case 'w':
			if (parse_workers(optarg, &o->nworkers) < 0) {
				fprintf(stderr, "tapird: invalid worker count: %s\n", optarg);
				return 2;
			}
			break;
		case 'o':
			if (parse_offloads(optarg, &o->offloads) < 0) {
				fprintf(stderr, "tapird: invalid offload list: %s\n", optarg);
				return 2;
			}
			break;
		case 'm':
			if (strcmp(optarg, "tun") && strcmp(optarg, "tap")) {
				fprintf(stderr, "tapird: mode must be tun or tap: %s\n", optarg);
				return 2;
			}
			o->is_tap = !strcmp(optarg, "tap");
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'D':
			o->is_no_drop = true;
			break;
		case 'S':
			o->is_no_seccomp = true;
			break;
		case 'l':
			o->log_file = optarg;
			break;
		case 'M':
			if (tapir_sockaddr_parse_listen(&o->metrics_addr, optarg, strlen(optarg)) <
			    0) {
				fprintf(stderr,
					"tapird: --metrics-listen wants a numeric ADDR:PORT with a "
					"port other than 0: %s\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("tapird %s\n", TAPIR_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	o->ifname = argv[optind];
	if (!*o->ifname || strlen(o->ifname) >= IFNAMSIZ || strchr(o->ifname, '/')) {
		fprintf(stderr, "tapird: invalid interface name: %s\n", o->ifname);
		return 2;
	}
	return 0;
}

static int inherited_fd(const char *var)
{
	const char *s = getenv(var);
	char *end;
	long v;

	if (!s)
		return -1;
	v = strtol(s, &end, 10);
	return (*end || v < 0 || v > 65535) ? -2 : (int)v;
}

/* Opens the TUN queues (or adopts WG_TUN_FD). Returns 0 or -errno; fills @fds and @name. */
static int open_tun(struct options *o, int *fds, char name[IFNAMSIZ])
{
	int fd = inherited_fd("WG_TUN_FD");

	if (fd == -2)
		return -EINVAL;
	if (fd >= 0) {
		o->nworkers = 1; /* an inherited fd is a single queue */
		if (!tapir_tun_has_vnet_hdr(fd))
			o->offloads &= ~(unsigned int)TAPIR_OFFLOAD_TUN;
		fds[0] = fd;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		return tapir_tun_get_name(fd, name);
	}
	for (unsigned int i = 0; i < o->nworkers; i++) {
		fd = tapir_tun_open(i ? name : o->ifname, o->is_tap, o->nworkers > 1,
				    o->offloads & TAPIR_OFFLOAD_TUN, name);
		if (fd < 0) {
			while (i-- > 0)
				close(fds[i]);
			return fd;
		}
		fds[i] = fd;
	}
	return 0;
}

static void block_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
}

/*
 * Closes every descriptor from 3 up except the inherited WG_TUN_FD and WG_UAPI_FD, before
 * tapird opens its own: a detached daemon keeps none of its caller's pipes, which would hold
 * `out=$(tapir up wg0)` or an ssh session open until the daemon exits.
 */
static void close_inherited_fds(void)
{
	int keep[2] = {inherited_fd("WG_TUN_FD"), inherited_fd("WG_UAPI_FD")};
	unsigned int from = 3;

	if (keep[0] > keep[1]) {
		int t = keep[0];
		keep[0] = keep[1];
		keep[1] = t;
	}
	for (int i = 0; i < 2; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from)
			close_range(from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

/* Opens --log-file (before the privilege drop: the file may be root's) and logs there. */
static void open_log_file(const struct options *o)
{
	int fd;

	if (!o->log_file)
		return;
	fd = open(o->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		fatal("cannot open log file %s: %s", o->log_file, strerror(errno));
	tzset(); /* localtime_r reads /etc/localtime now, not under the system-call filter */
	tapir_log_to_fd(fd);
}

/*
 * The parent returns once the device and the socket exist. The child starts a session and
 * gives back its caller's stdin, stdout and stderr (/dev/null instead); its log goes to the
 * log file if there is one, else to syslog.
 */
static void daemonize(const struct options *o)
{
	pid_t pid = fork();
	int null;

	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0); /* the device and the socket exist: the caller may configure them now */
	setsid();
	if (!o->log_file) {
		const char *path = getenv("TAPIR_SYSLOG_SOCKET"); /* for tests */
		int r = tapir_log_to_syslog("tapird", path && *path ? path : "/dev/log");

		if (r < 0) /* said while the caller still sees our stderr */
			fprintf(stderr,
				"tapird: %s: no syslog at %s (%s): its log is lost once detached; "
				"use --log-file\n",
				o->ifname, path && *path ? path : "/dev/log", strerror(-r));
	}
	null = open("/dev/null", O_RDWR);
	if (null < 0)
		fatal("/dev/null: %s", strerror(errno));
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
}

/*
 * After everything privileged is open (TUN queues, UDP and UAPI sockets, the control loop's
 * watches, the privileged helper) and before any thread starts: the drop to no capability,
 * then the filter, which has neither fork nor setuid nor capset on its list.
 */
static void confine(const struct options *o, const char *name)
{
	const char *step = "";
	int ret;

	if (!o->is_no_seccomp && !tapir_seccomp_is_supported())
		log_info("%s: no seccomp filter for this architecture", name);
	ret = tapir_privsep_confine(o->uid, o->gid, !o->is_no_drop, !o->is_no_seccomp, &step);
	if (ret < 0)
		fatal("%s: %s (user %s) failed: %s", name, step, o->user_name, strerror(-ret));
	if (!o->is_no_drop)
		log_info("%s: running as user %s (uid %u) with no capability; the privileged "
			 "helper (pid %d) keeps CAP_NET_ADMIN and CAP_NET_BIND_SERVICE",
			 name, o->user_name, (unsigned int)getuid(), (int)o->helper_pid);
}

int main(int argc, char **argv)
{
	static struct tapir_device dev;
	static struct tapir_sock_guard guard;
	struct tapir_daemon *loop = NULL;
	struct options o = {0};
	char name[IFNAMSIZ], sock_path[108];
	int tun_fds[TAPIR_MAX_THREADS];
	int uapi_fd, notify_fd, ret;
	bool is_uapi_inherited;
	struct tapir_device_opts dopts = {0};
	const char *step = "";
	const char *level = getenv("LOG_LEVEL");
	enum tapir_log_level lvl;

	ret = parse_args(argc, argv, &o);
	if (ret)
		return ret;
	if (level && tapir_log_parse_level(level, &lvl) == 0)
		tapir_log_set_level(lvl);
	if (!o.is_foreground)
		close_inherited_fds();
	open_log_file(&o);
	signal(SIGPIPE, SIG_IGN);
	block_signals(); /* before any thread starts, so only the control loop's signalfd sees them
			  */
	if (tapir_crypto_init() < 0)
		fatal("cannot initialise the crypto libraries");
	if (!o.is_no_drop && tapir_privsep_lookup_user(o.user, &o.uid, &o.gid, o.user_name,
						       sizeof(o.user_name)) < 0) {
		if (o.user)
			fatal("no such user: %s", o.user);
		fatal("no user tapir to run as: create it with `useradd --system --no-create-home "
		      "--home-dir /nonexistent --shell /usr/sbin/nologin tapir`, or name another "
		      "unshared user with --user NAME (or TAPIR_USER)");
	}
	ret = open_tun(&o, tun_fds, name);
	if (ret < 0)
		fatal("cannot create TUN device %s: %s", o.ifname, strerror(-ret));
	uapi_fd = inherited_fd("WG_UAPI_FD");
	if (uapi_fd == -2)
		fatal("invalid WG_UAPI_FD");
	is_uapi_inherited = uapi_fd >= 0;
	if (uapi_fd < 0)
		uapi_fd = tapir_uapi_listen(name, sock_path, sizeof(sock_path));
	else
		snprintf(sock_path, sizeof(sock_path), "/var/run/wireguard/%s.sock", name);
	if (uapi_fd < 0)
		fatal("cannot create uapi socket for %s: %s", name,
		      uapi_fd == -EADDRINUSE ? "another process is serving it"
					     : strerror(-uapi_fd));
	if (!o.is_foreground)
		daemonize(&o);
	dopts.ifname = name;
	dopts.tun_fds = tun_fds;
	dopts.nworkers = o.nworkers;
	dopts.is_tap = o.is_tap;
	dopts.offloads = o.offloads;
	ret = tapir_device_init(&dev, &dopts, &step);
	if (ret < 0)
		fatal("%s: cannot %s: %s", name, step, strerror(-ret));
	if (tapir_daemon_open(&loop, &dev, uapi_fd, sock_path, !is_uapi_inherited) < 0)
		return 1;
	/* always the helper: with it tapird needs no path-based system call after start-up */
	ret = tapir_sock_guard_init(&guard, sock_path, true, !o.is_no_seccomp);
	if (ret < 0)
		fatal("cannot start the privileged helper: %s", strerror(-ret));
	dev.sock_ops = tapir_sock_guard_ops(&guard);
	o.helper_pid = guard.helper_pid;
	/* opened while still root: the service manager's socket may be writable by root only */
	ret = tapir_notify_open(&notify_fd);
	if (ret < 0)
		log_warn("%s: cannot reach $NOTIFY_SOCKET, not telling readiness: %s", name,
			 strerror(-ret));
	confine(&o, name);
	ret = tapir_device_start(&dev);
	if (ret < 0)
		fatal("cannot start workers: %s", strerror(-ret));
	log_info("%s: tapird started in %s mode with %u worker(s), offloads:%s%s%s", name,
		 o.is_tap ? "tap" : "tun", o.nworkers,
		 (atomic_load(&dev.offloads) & TAPIR_OFFLOAD_TUN)
		     ? (dev.has_tun_uso ? " tun(tso,uso)" : " tun(tso)")
		     : "",
		 (atomic_load(&dev.offloads) & TAPIR_OFFLOAD_GSO) ? " gso" : "",
		 (atomic_load(&dev.offloads) & TAPIR_OFFLOAD_GRO) ? " gro" : "");
	/* through the helper like a later MetricsListen: bind and listen are not ours any more */
	if (o.metrics_addr.sa.sa_family) {
		ret = tapir_metrics_http_set(&dev, &o.metrics_addr);
		if (ret < 0)
			fatal("%s: cannot serve metrics (--metrics-listen): %s", name,
			      strerror(-ret));
	}
	ret = tapir_notify_send(notify_fd, "READY=1\nSTATUS=serving the userspace API\n");
	if (ret < 0)
		log_warn("%s: cannot send READY=1 to $NOTIFY_SOCKET: %s", name, strerror(-ret));
	ret = tapir_daemon_run(loop, &guard);
	tapir_notify_send(notify_fd, "STOPPING=1\n");
	if (notify_fd >= 0)
		close(notify_fd);
	tapir_metrics_http_stop(&dev);
	tapir_sock_guard_release(&guard);
	tapir_daemon_close(loop);
	close(uapi_fd);
	tapir_device_destroy(&dev);
	return ret < 0 ? 1 : 0;
}
