// SPDX-License-Identifier: MIT
/*
 * tapir demo: the picture of the seeds on one machine. Two network namespaces joined by a
 * veth pair (the underlay), a tapir tunnel across them brought up with `tapir up` and fresh
 * keys, three pings through it, a 3-second TCP transfer measured with our own sockets, and
 * the same with wireguard-go when it is installed. Then everything is removed, also on
 * Ctrl-C or failure, unless --keep (tapir demo --clean removes a kept demo).
 *
 * Namespaces are made the way ip-netns(8) makes them (a bind mount of the namespace on
 * /var/run/netns/NAME); sockets are opened inside a namespace by entering it for the socket()
 * call only. Traffic stays between the demo's own namespaces. Never runs ip(8).
 */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "encoding.h"
#include "netlink.h"
#include "uapi_client.h"

static const char NETNS_DIR[] = "/var/run/netns";
static const char TMPDIR_RECORD[] = "/var/run/tapir/demo.tmpdir";
static const char *const NS_NAME[2] = {"tapir-demo-1", "tapir-demo-2"};
static const char *const VETH[2] = {"tdemo1", "tdemo2"};
static const char *const UNDERLAY[2] = {"192.0.2.1", "192.0.2.2"};
static const char *const TAPIR_IF[2] = {"tapirdemo1", "tapirdemo2"};
static const char *const TAPIR_ADDR[2] = {"198.51.100.1", "198.51.100.2"};
static const char *const WG_IF[2] = {"wgdemo1", "wgdemo2"};
static const char *const WG_ADDR[2] = {"203.0.113.1", "203.0.113.2"};

enum {
	TAPIR_PORT = 51820,
	WG_PORT = 51821,
	TCP_PORT = 5201,
	TUNNEL_CIDR = 24,
	TUNNEL_MTU = 1420,
	PINGS = 3,
	PING_TIMEOUT_MS = 3000,
	PING_INTERVAL_MS = 300,
	MEASURE_MS = 3000,
	PROGRESS_MS = 250,
	IO_TIMEOUT_S = 5,
	CHUNK_BYTES = 64 * 1024,
	SOCKET_WAIT_MS = 5000,
	STEP_MS = 50,
	PATH_BYTES = 256,
	TMPDIR_BYTES = 64, /* "/tmp/tapir-demo.XXXXXX" */
};

struct demo {
	bool is_keep;
	char tmpdir[TMPDIR_BYTES]; /* "" until made */
	int nsfd[2];		   /* -1 until made */
	uint8_t priv[2][32], pub[2][32];
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static bool is_interrupted(void)
{
	return got_signal != 0;
}

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;

	printf("[#] ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void ns_path(char out[PATH_BYTES], int i)
{
	snprintf(out, PATH_BYTES, "%s/%s", NETNS_DIR, NS_NAME[i]);
}

static bool sock_exists(const char *ifname)
{
	char path[PATH_BYTES];

	snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", ifname);
	return !access(path, F_OK);
}

static bool wait_sock_gone(const char *ifname)
{
	for (int waited = 0; sock_exists(ifname) && waited < SOCKET_WAIT_MS; waited += STEP_MS)
		sleep_ms(STEP_MS);
	return !sock_exists(ifname);
}

/* ---------------------------------------------------------------- namespaces */

/* Like ip-netns: /var/run/netns is a shared mount, so the bind mounts show everywhere. */
static int make_netns_dir(void)
{
	if (mkdir("/var/run", 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (!mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL))
		return 0;
	if (errno != EINVAL || mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) ||
	    mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL))
		return -errno;
	return 0;
}

/* A child unshares a new network namespace and pins it with a bind mount on its file. */
static int netns_add(int i)
{
	char path[PATH_BYTES];
	int fd, status = 0;
	pid_t pid;

	ns_path(path, i);
	say("ip netns add %s", NS_NAME[i]);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		if (unshare(CLONE_NEWNET) < 0 ||
		    mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
			_exit(errno);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		unlink(path);
		return WIFEXITED(status) && WEXITSTATUS(status) ? -WEXITSTATUS(status) : -ECHILD;
	}
	return 0;
}

static bool netns_exists(int i)
{
	char path[PATH_BYTES];

	ns_path(path, i);
	return !access(path, F_OK);
}

static void netns_del(int i)
{
	char path[PATH_BYTES];

	ns_path(path, i);
	say("ip netns delete %s", NS_NAME[i]);
	umount2(path, MNT_DETACH);
	if (unlink(path) < 0)
		fprintf(stderr, "tapir demo: %s: %s\n", path, strerror(errno));
}

static int netns_open(int i)
{
	char path[PATH_BYTES];
	int fd;

	ns_path(path, i);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* socket() inside namespace @nsfd: a socket belongs to the namespace it was created in. */
static int socket_in(int nsfd, int domain, int type, int proto)
{
	int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd = -1, r;

	if (own < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(own);
		return r;
	}
	fd = socket(domain, type | SOCK_CLOEXEC, proto);
	r = fd < 0 ? -errno : fd;
	if (setns(own, CLONE_NEWNET) < 0) {
		/* Staying in the demo namespace would be worse than stopping. */
		perror("tapir demo: setns back");
		abort();
	}
	close(own);
	return r;
}

/* Runs tapir_cmd_up/down in a child that entered namespace @nsfd; returns its exit status. */
static int cli_in(int nsfd, int (*cmd)(int, char **), const char *verb, const char *arg)
{
	char *argv[] = {strdup(verb), strdup(arg), NULL};
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(argv[0]);
		free(argv[1]);
		return -errno;
	}
	if (!pid) {
		int r = argv[0] && argv[1] && !setns(nsfd, CLONE_NEWNET) ? cmd(2, argv) : 1;

		fflush(NULL);
		_exit(r);
	}
	free(argv[0]);
	free(argv[1]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* ---------------------------------------------------------------- underlay and tunnels */

static int addr_up(struct tapir_nl *nl, const char *ifname, const char *addr, int cidr, int mtu)
{
	uint8_t a[4];
	int ifindex = tapir_nl_link_lookup(nl, ifname, NULL), r;

	if (ifindex < 0)
		return ifindex;
	inet_pton(AF_INET, addr, a);
	say("ip address add %s/%d dev %s; ip link set %s up", addr, cidr, ifname, ifname);
	r = tapir_nl_addr(nl, true, ifindex, AF_INET, a, (uint8_t)cidr);
	return r ? r : tapir_nl_link_set(nl, ifindex, mtu, true);
}

static int setup_underlay(struct demo *d)
{
	struct tapir_nl *nl = NULL;
	int r;

	r = tapir_nl_open(&nl, NULL);
	if (r)
		return r;
	say("ip link add %s netns %s type veth peer name %s netns %s", VETH[0], NS_NAME[0], VETH[1],
	    NS_NAME[1]);
	r = tapir_nl_veth_add(nl, VETH[0], d->nsfd[0], VETH[1], d->nsfd[1]);
	tapir_nl_close(nl);
	for (int i = 0; !r && i < 2; i++) {
		char path[PATH_BYTES];
		int lo;

		ns_path(path, i);
		r = tapir_nl_open(&nl, path);
		if (r)
			break;
		lo = tapir_nl_link_lookup(nl, "lo", NULL);
		r = lo < 0 ? lo : tapir_nl_link_set(nl, lo, 0, true);
		if (!r)
			r = addr_up(nl, VETH[i], UNDERLAY[i], 24, 0);
		tapir_nl_close(nl);
	}
	return r;
}

static int write_config(struct demo *d, int i)
{
	char path[PATH_BYTES], priv[TAPIR_KEY_BASE64_LEN + 1], pub[TAPIR_KEY_BASE64_LEN + 1];
	int fd, n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", d->tmpdir, TAPIR_IF[i]);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	tapir_key_to_base64(priv, d->priv[i]);
	tapir_key_to_base64(pub, d->pub[1 - i]);
	n = fprintf(f,
		    "# tapir demo: %s in namespace %s\n[Interface]\nPrivateKey = %s\n"
		    "Address = %s/%d\nListenPort = %d\n\n[Peer]\nPublicKey = %s\n"
		    "Endpoint = %s:%d\nAllowedIPs = %s/32\n",
		    TAPIR_IF[i], NS_NAME[i], priv, TAPIR_ADDR[i], TUNNEL_CIDR, TAPIR_PORT, pub,
		    UNDERLAY[1 - i], TAPIR_PORT, TAPIR_ADDR[1 - i]);
	tapir_wipe(priv, sizeof(priv));
	if (fclose(f) || n < 0)
		return -EIO;
	return 0;
}

static int tapir_up_both(struct demo *d)
{
	char path[PATH_BYTES];

	for (int i = 0; i < 2; i++) {
		int r = write_config(d, i);

		if (r)
			return r;
	}
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s.conf", d->tmpdir, TAPIR_IF[i]);
		say("ip netns exec %s tapir up %s", NS_NAME[i], path);
		if (cli_in(d->nsfd[i], tapir_cmd_up, "up", path) || is_interrupted())
			return -ECANCELED;
	}
	return 0;
}

/* ---------------------------------------------------------------- ping */

static uint16_t checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Waits for the echo reply with @id/@seq from @dst; returns 0 or -ETIMEDOUT. */
static int await_reply(int fd, const struct sockaddr_in *dst, uint16_t id, uint16_t seq)
{
	int64_t deadline = now_ms() + PING_TIMEOUT_MS;
	uint8_t buf[256];

	while (now_ms() < deadline && !is_interrupted()) {
		struct sockaddr_in from = {0};
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		const struct icmphdr *icmp;
		size_t hl;

		if (n < (ssize_t)sizeof(struct iphdr))
			continue;
		hl = (size_t)(buf[0] & 0x0f) * 4;
		if ((size_t)n < hl + sizeof(*icmp) || from.sin_addr.s_addr != dst->sin_addr.s_addr)
			continue;
		icmp = (const struct icmphdr *)(buf + hl);
		if (icmp->type == ICMP_ECHOREPLY && icmp->un.echo.id == id &&
		    icmp->un.echo.sequence == seq)
			return 0;
	}
	return -ETIMEDOUT;
}

static int ping(int nsfd, const char *addr)
{
	struct sockaddr_in dst = {.sin_family = AF_INET};
	struct timeval tv = {.tv_usec = 200000L};
	uint16_t id = htons((uint16_t)getpid());
	int fd = socket_in(nsfd, AF_INET, SOCK_RAW, IPPROTO_ICMP), answered = 0;

	if (fd < 0)
		return fd;
	inet_pton(AF_INET, addr, &dst.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	printf("PING %s: %d echo requests through the tunnel\n", addr, PINGS);
	for (int i = 1; i <= PINGS && !is_interrupted(); i++) {
		uint8_t pkt[64] = {0};
		struct icmphdr *icmp = (struct icmphdr *)pkt;
		double t0 = now_s();

		icmp->type = ICMP_ECHO;
		icmp->un.echo.id = id;
		icmp->un.echo.sequence = htons((uint16_t)i);
		icmp->checksum = checksum(pkt, sizeof(pkt));
		if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			printf("  icmp_seq=%d: %s\n", i, strerror(errno));
		else if (await_reply(fd, &dst, id, icmp->un.echo.sequence))
			printf("  icmp_seq=%d: no reply\n", i);
		else {
			printf("  %zu bytes from %s: icmp_seq=%d time=%.3f ms\n", sizeof(pkt), addr,
			       i, (now_s() - t0) * 1000);
			answered++;
		}
		fflush(stdout);
		if (i < PINGS)
			sleep_ms(PING_INTERVAL_MS);
	}
	close(fd);
	printf("  %d of %d answered\n", answered, PINGS);
	return answered ? 0 : -EHOSTUNREACH;
}

/* ---------------------------------------------------------------- TCP throughput */

struct xfer {
	int lfd, sfd;
	struct sockaddr_in dst;
	atomic_ullong received; /* bytes */
	atomic_bool is_stopped;
	int send_err, recv_err;
};

static void block_thread_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *receiver(void *arg)
{
	struct xfer *x = arg;
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	char *buf = malloc(CHUNK_BYTES);
	int cfd;
	ssize_t n;

	block_thread_signals();
	cfd = buf ? accept4(x->lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	if (cfd < 0) {
		x->recv_err = buf ? errno : ENOMEM;
		free(buf);
		return NULL;
	}
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((n = read(cfd, buf, CHUNK_BYTES)) > 0)
		atomic_fetch_add_explicit(&x->received, (unsigned long long)n,
					  memory_order_relaxed);
	if (n < 0)
		x->recv_err = errno;
	close(cfd);
	free(buf);
	return NULL;
}

static void *sender(void *arg)
{
	struct xfer *x = arg;
	char *buf = calloc(1, CHUNK_BYTES);

	block_thread_signals();
	if (!buf || connect(x->sfd, (struct sockaddr *)&x->dst, sizeof(x->dst)) < 0) {
		x->send_err = buf ? errno : ENOMEM;
		free(buf);
		return NULL;
	}
	while (!atomic_load_explicit(&x->is_stopped, memory_order_relaxed)) {
		if (write(x->sfd, buf, CHUNK_BYTES) < 0) {
			x->send_err = errno;
			break;
		}
	}
	shutdown(x->sfd, SHUT_WR);
	free(buf);
	return NULL;
}

static int xfer_sockets(struct xfer *x, int src_ns, int dst_ns, const char *addr)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	int one = 1;

	x->dst.sin_family = AF_INET;
	x->dst.sin_port = htons(TCP_PORT);
	inet_pton(AF_INET, addr, &x->dst.sin_addr);
	x->lfd = socket_in(dst_ns, AF_INET, SOCK_STREAM, 0);
	x->sfd = socket_in(src_ns, AF_INET, SOCK_STREAM, 0);
	if (x->lfd < 0 || x->sfd < 0)
		return -EMFILE;
	setsockopt(x->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(x->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(x->sfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (bind(x->lfd, (struct sockaddr *)&x->dst, sizeof(x->dst)) < 0 || listen(x->lfd, 1) < 0)
		return -errno;
	return 0;
}

/* Prints a progress line (rewritten in place on a terminal) until the time is up. */
static void progress(struct xfer *x, const char *label, double t0)
{
	bool is_tty = isatty(STDOUT_FILENO);
	double t;

	if (!is_tty)
		printf("  %s: measuring for %d s...\n", label, MEASURE_MS / 1000);
	while ((t = now_s() - t0) * 1000 < MEASURE_MS && !is_interrupted() && !x->send_err &&
	       !x->recv_err) {
		unsigned long long b = atomic_load_explicit(&x->received, memory_order_relaxed);

		if (is_tty)
			printf("\r  %s: %.1f s, %.1f Mbit/s ", label, t,
			       t > 0 ? (double)b * 8 / t / 1e6 : 0.0);
		fflush(stdout);
		sleep_ms(PROGRESS_MS);
	}
	if (is_tty)
		printf("\r\033[K");
}

/* Sends for MEASURE_MS from @src_ns to @addr:TCP_PORT in @dst_ns; returns Mbit/s or < 0. */
static double measure(int src_ns, int dst_ns, const char *addr, const char *label)
{
	struct xfer x = {.lfd = -1, .sfd = -1};
	pthread_t rt, st;
	unsigned long long bytes;
	double t0, secs;
	int r = xfer_sockets(&x, src_ns, dst_ns, addr);

	if (r || pthread_create(&rt, NULL, receiver, &x)) {
		fprintf(stderr, "tapir demo: cannot set up the transfer: %s\n", strerror(-r));
		goto out;
	}
	if (pthread_create(&st, NULL, sender, &x)) {
		shutdown(x.lfd, SHUT_RDWR);
		pthread_join(rt, NULL);
		goto out;
	}
	t0 = now_s();
	progress(&x, label, t0);
	bytes = atomic_load_explicit(&x.received, memory_order_relaxed);
	secs = now_s() - t0;
	atomic_store_explicit(&x.is_stopped, true, memory_order_relaxed);
	pthread_join(st, NULL);
	shutdown(x.lfd, SHUT_RDWR); /* wakes an accept() that never got a connection */
	pthread_join(rt, NULL);
	if (is_interrupted())
		goto out;
	if (x.send_err || x.recv_err || !bytes) {
		fprintf(stderr, "tapir demo: transfer failed: %s\n",
			strerror(x.send_err   ? x.send_err
				 : x.recv_err ? x.recv_err
					      : EIO));
		goto out;
	}
	close(x.lfd);
	close(x.sfd);
	return (double)bytes * 8 / secs / 1e6;
out:
	if (x.lfd >= 0)
		close(x.lfd);
	if (x.sfd >= 0)
		close(x.sfd);
	return -1;
}

/* ---------------------------------------------------------------- wireguard-go */

static bool find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs = strdup(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin"), *save = NULL, *full;
	bool found = false;

	for (char *p = dirs ? strtok_r(dirs, ":", &save) : NULL; p && !found;
	     p = strtok_r(NULL, ":", &save)) {
		if (asprintf(&full, "%s/%s", p, name) < 0)
			break;
		found = !access(full, X_OK);
		free(full);
	}
	free(dirs);
	return found;
}

/* Starts wireguard-go IFNAME in namespace @nsfd (it daemonizes) and waits for its socket. */
static int start_wggo(int nsfd, const char *ifname)
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		if (setns(nsfd, CLONE_NEWNET) < 0)
			_exit(1);
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		setenv("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1", 1);
		execlp("wireguard-go", "wireguard-go", ifname, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -ECHILD;
	return tapir_uapi_wait(ifname, SOCKET_WAIT_MS);
}

static int configure_wggo(struct demo *d, int i)
{
	char priv[TAPIR_KEY_HEX_LEN + 1], pub[TAPIR_KEY_HEX_LEN + 1], body[512];
	int n, r;

	tapir_key_to_hex(priv, d->priv[i]);
	tapir_key_to_hex(pub, d->pub[1 - i]);
	n = snprintf(body, sizeof(body),
		     "private_key=%s\nlisten_port=%d\npublic_key=%s\nallowed_ip=%s/32\n", priv,
		     WG_PORT, pub, WG_ADDR[1 - i]);
	if (i == 0)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "endpoint=%s:%d\n", UNDERLAY[1],
			      WG_PORT);
	say("ip netns exec %s wg set %s private-key ... listen-port %d peer ...", NS_NAME[i],
	    WG_IF[i], WG_PORT);
	r = tapir_uapi_set(WG_IF[i], body, (size_t)n);
	tapir_wipe(priv, sizeof(priv));
	tapir_wipe(body, sizeof(body));
	return r;
}

static int wggo_up(struct demo *d)
{
	for (int i = 0; i < 2; i++) {
		struct tapir_nl *nl;
		char path[PATH_BYTES];
		int r;

		if (sock_exists(WG_IF[i]))
			return -EEXIST;
		say("ip netns exec %s wireguard-go %s", NS_NAME[i], WG_IF[i]);
		r = start_wggo(d->nsfd[i], WG_IF[i]);
		if (!r)
			r = configure_wggo(d, i);
		ns_path(path, i);
		if (!r && !(r = tapir_nl_open(&nl, path))) {
			r = addr_up(nl, WG_IF[i], WG_ADDR[i], TUNNEL_CIDR, TUNNEL_MTU);
			tapir_nl_close(nl);
		}
		if (r)
			return r;
	}
	return 0;
}

/* ---------------------------------------------------------------- cleanup */

static void del_link_in(int i, const char *ifname)
{
	char path[PATH_BYTES];
	struct tapir_nl *nl;
	int ifindex;

	ns_path(path, i);
	if (tapir_nl_open(&nl, path))
		return;
	ifindex = tapir_nl_link_lookup(nl, ifname, NULL);
	if (ifindex > 0) {
		say("ip -n %s link delete %s", NS_NAME[i], ifname);
		tapir_nl_link_del(nl, ifindex);
	}
	tapir_nl_close(nl);
}

static void state_path_of(char out[PATH_BYTES], const char *ifname)
{
	snprintf(out, PATH_BYTES, "/var/run/tapir/%s.state", ifname);
}

/* Removes whatever of a demo exists: daemons, links, namespaces, temporary files. */
static int cleanup(struct demo *d)
{
	char path[PATH_BYTES];
	int failed = 0;

	for (int i = 0; i < 2; i++) {
		int nsfd = d->nsfd[i] >= 0 ? d->nsfd[i] : netns_open(i);

		if (nsfd < 0)
			continue;
		del_link_in(i, WG_IF[i]);
		if (!wait_sock_gone(WG_IF[i]))
			failed++;
		state_path_of(path, TAPIR_IF[i]);
		if (!access(path, F_OK)) {
			say("ip netns exec %s tapir down %s", NS_NAME[i], TAPIR_IF[i]);
			if (cli_in(nsfd, tapir_cmd_down, "down", TAPIR_IF[i]))
				failed++;
		}
		del_link_in(i, TAPIR_IF[i]);
		if (!wait_sock_gone(TAPIR_IF[i]))
			failed++;
		if (i == 0)
			del_link_in(i, VETH[0]);
		if (nsfd != d->nsfd[i])
			close(nsfd);
	}
	for (int i = 0; i < 2; i++) {
		if (d->nsfd[i] >= 0)
			close(d->nsfd[i]);
		d->nsfd[i] = -1;
		if (netns_exists(i))
			netns_del(i);
	}
	if (!d->tmpdir[0]) {
		FILE *f = fopen(TMPDIR_RECORD, "re");

		if (f && !fgets(d->tmpdir, sizeof(d->tmpdir), f))
			d->tmpdir[0] = '\0';
		if (f)
			fclose(f);
		d->tmpdir[strcspn(d->tmpdir, "\n")] = '\0';
		if (strncmp(d->tmpdir, "/tmp/tapir-demo.", 16) != 0)
			d->tmpdir[0] = '\0';
	}
	if (d->tmpdir[0]) {
		for (int i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "%s/%s.conf", d->tmpdir, TAPIR_IF[i]);
			unlink(path);
		}
		say("rm -r %s", d->tmpdir);
		if (rmdir(d->tmpdir) < 0 && errno != ENOENT)
			failed++;
	}
	unlink(TMPDIR_RECORD);
	return failed ? -EBUSY : 0;
}

/* ---------------------------------------------------------------- the demo */

static void print_summary(void)
{
	printf("\nWhat this built:\n"
	       "  %s: %s %s/24 (underlay), %s %s/24 (tapir tunnel)\n"
	       "  %s: %s %s/24 (underlay), %s %s/24 (tapir tunnel)\n"
	       "Where to look (tapir demo --keep leaves it running):\n"
	       "  ip netns exec %s tapir show          peers, handshakes, transfer counters\n"
	       "  ip netns exec %s ping %s\n"
	       "  ip -n %s address; ip -n %s route\n",
	       NS_NAME[0], VETH[0], UNDERLAY[0], TAPIR_IF[0], TAPIR_ADDR[0], NS_NAME[1], VETH[1],
	       UNDERLAY[1], TAPIR_IF[1], TAPIR_ADDR[1], NS_NAME[0], NS_NAME[0], TAPIR_ADDR[1],
	       NS_NAME[0], NS_NAME[0]);
}

static int build(struct demo *d)
{
	int r;

	if (mkdir("/var/run/tapir", 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(d->tmpdir, sizeof(d->tmpdir), "/tmp/tapir-demo.XXXXXX");
	if (!mkdtemp(d->tmpdir)) {
		d->tmpdir[0] = '\0';
		return -errno;
	}
	r = make_netns_dir();
	for (int i = 0; !r && i < 2; i++) {
		r = netns_add(i);
		if (!r)
			d->nsfd[i] = netns_open(i);
		if (!r && d->nsfd[i] < 0)
			r = d->nsfd[i];
	}
	if (r || is_interrupted() || (r = setup_underlay(d)))
		return r ? r : -ECANCELED;
	for (int i = 0; i < 2; i++) {
		tapir_x25519_generate(d->priv[i]);
		tapir_x25519_public(d->pub[i], d->priv[i]);
	}
	return is_interrupted() ? -ECANCELED : tapir_up_both(d);
}

/* The same ping and transfer through wireguard-go, when it is installed. */
static void compare_wggo(struct demo *d, double mbit)
{
	double wg_mbit;
	int r;

	if (!find_in_path("wireguard-go")) {
		printf("  (install wireguard-go to compare with it)\n");
		return;
	}
	printf("\nThe same with wireguard-go (%s <-> %s):\n", WG_IF[0], WG_IF[1]);
	r = wggo_up(d);
	if (r) {
		if (!is_interrupted())
			fprintf(stderr, "tapir demo: wireguard-go skipped: %s\n", strerror(-r));
		return;
	}
	if (is_interrupted() || ping(d->nsfd[0], WG_ADDR[1]) || is_interrupted())
		return;
	wg_mbit = measure(d->nsfd[0], d->nsfd[1], WG_ADDR[1], "wireguard-go");
	if (wg_mbit <= 0)
		return;
	printf("  wireguard-go: %.1f Mbit/s (TCP, %d s, %s -> %s)\n", wg_mbit, MEASURE_MS / 1000,
	       WG_ADDR[0], WG_ADDR[1]);
	printf("  tapir / wireguard-go: %.2f\n", mbit / wg_mbit);
}

static int run_demo(struct demo *d)
{
	double mbit;
	int r = build(d);

	if (r) {
		if (r != -ECANCELED && !is_interrupted())
			fprintf(stderr, "tapir demo: setup failed: %s\n", strerror(-r));
		return r;
	}
	printf("\n");
	if (ping(d->nsfd[0], TAPIR_ADDR[1]) || is_interrupted())
		return -EHOSTUNREACH;
	printf("\nTCP transfer through the tapir tunnel, %s -> %s:\n", NS_NAME[0], NS_NAME[1]);
	mbit = measure(d->nsfd[0], d->nsfd[1], TAPIR_ADDR[1], "tapir");
	if (mbit < 0)
		return -EIO;
	printf("  tapir: %.1f Mbit/s (TCP, %d s, %s -> %s)\n", mbit, MEASURE_MS / 1000,
	       TAPIR_ADDR[0], TAPIR_ADDR[1]);
	compare_wggo(d, mbit);
	if (is_interrupted())
		return -ECANCELED;
	print_summary();
	return 0;
}

static int usage(FILE *f, int code)
{
	fprintf(f,
		"Usage: tapir demo [--keep | --clean]\n\n"
		"  Builds two network namespaces (%s, %s) joined by a veth pair,\n"
		"  brings a tapir tunnel up across them with fresh keys (tapir up), pings\n"
		"  through it, measures a 3 s TCP transfer (and the same with wireguard-go when\n"
		"  installed), then removes everything, also on Ctrl-C or failure.\n\n"
		"  --keep   leave it running to explore; remove it later with --clean\n"
		"  --clean  remove what a kept demo left behind\n",
		NS_NAME[0], NS_NAME[1]);
	return code;
}

int tapir_cmd_demo(int argc, char **argv)
{
	struct demo d = {.nsfd = {-1, -1}};
	bool is_clean = false;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout, 0);
		if (!strcmp(argv[i], "--keep"))
			d.is_keep = true;
		else if (!strcmp(argv[i], "--clean"))
			is_clean = true;
		else
			return usage(stderr, 2);
	}
	if (d.is_keep && is_clean)
		return usage(stderr, 2);
	if (geteuid()) {
		fprintf(stderr, "tapir demo: needs root (it creates network namespaces)\n");
		return 1;
	}
	catch_signals();
	if (is_clean)
		return cleanup(&d) ? 1 : 0;
	if (netns_exists(0) || netns_exists(1) || sock_exists(TAPIR_IF[0]) ||
	    sock_exists(TAPIR_IF[1])) {
		fprintf(stderr,
			"tapir demo: %s or %s already exists (a demo left with --keep?); "
			"remove it with: tapir demo --clean\n",
			NS_NAME[0], NS_NAME[1]);
		return 1;
	}
	r = run_demo(&d);
	tapir_wipe(d.priv, sizeof(d.priv));
	if (is_interrupted())
		fprintf(stderr, "\ntapir demo: interrupted; cleaning up\n");
	if (!r && d.is_keep) {
		FILE *f = fopen(TMPDIR_RECORD, "we");

		if (f) {
			fprintf(f, "%s\n", d.tmpdir);
			fclose(f);
		}
		printf("\nLeft running (--keep). Remove it with: tapir demo --clean\n");
		for (int i = 0; i < 2; i++)
			close(d.nsfd[i]);
		return 0;
	}
	printf("\nCleaning up:\n");
	if (cleanup(&d)) {
		fprintf(stderr, "tapir demo: some things could not be removed\n");
		return 1;
	}
	printf("Done: nothing of the demo is left.\n");
	return r ? 1 : 0;
}
