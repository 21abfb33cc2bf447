// SPDX-License-Identifier: MIT
/*
 * tapir demo: the daemons. tapir up/down run in a forked child that entered the namespace
 * (so the CLI's own code brings the tunnel up, from a config file with fresh keys); wireguard-go
 * is started the same way and configured over its UAPI socket.
 */
#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "encoding.h"
#include "netlink.h"
#include "uapi_client.h"

/* Runs tapir_cmd_up/down in a child that entered namespace @nsfd; returns its exit status. */
int tapir_demo_cli_in(int nsfd, int (*cmd)(int, char **), const char *verb, const char *arg)
{
	char *argv[] = {strdup(verb), strdup(arg), NULL};
	int status = 0, r;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(argv[0]);
		free(argv[1]);
		return -errno;
	}
	if (!pid) {
		int code = argv[0] && argv[1] && !setns(nsfd, CLONE_NEWNET) ? cmd(2, argv) : 1;

		fflush(NULL);
		_exit(code);
	}
	free(argv[0]);
	free(argv[1]);
	r = tapir_cli_wait_child(pid, &status);
	if (r)
		return r;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
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

int tapir_demo_tapir_up(struct demo *d)
{
	char path[PATH_BYTES];

	for (int i = 0; i < 2; i++) {
		int r = write_config(d, i);

		if (r)
			return r;
	}
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s.conf", d->tmpdir, TAPIR_IF[i]);
		tapir_cli_say("ip netns exec %s tapir up %s", NS_NAME[i], path);
		if (tapir_demo_cli_in(d->nsfd[i], tapir_cmd_up, "up", path) || tapir_cli_signal)
			return -ECANCELED;
	}
	return 0;
}

/* Starts wireguard-go IFNAME in namespace @nsfd (it daemonizes) and waits for its socket. */
static int start_wggo(int nsfd, const char *ifname)
{
	int status = 0, r;
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
	r = tapir_cli_wait_child(pid, &status);
	if (r)
		return r;
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
	tapir_cli_say("ip netns exec %s wg set %s private-key ... listen-port %d peer ...",
		      NS_NAME[i], WG_IF[i], WG_PORT);
	r = tapir_uapi_set(WG_IF[i], body, (size_t)n);
	tapir_wipe(priv, sizeof(priv));
	tapir_wipe(body, sizeof(body));
	return r;
}

int tapir_demo_wggo_up(struct demo *d)
{
	for (int i = 0; i < 2; i++) {
		struct tapir_nl *nl;
		char path[PATH_BYTES];
		int r;

		if (tapir_demo_sock_exists(WG_IF[i]))
			return -EEXIST;
		tapir_cli_say("ip netns exec %s wireguard-go %s", NS_NAME[i], WG_IF[i]);
		r = start_wggo(d->nsfd[i], WG_IF[i]);
		if (!r)
			r = configure_wggo(d, i);
		tapir_demo_ns_path(path, i);
		if (!r && !(r = tapir_nl_open(&nl, path))) {
			r = tapir_demo_addr_up(nl, WG_IF[i], WG_ADDR[i], TUNNEL_CIDR, TUNNEL_MTU);
			tapir_nl_close(nl);
		}
		if (r)
			return r;
	}
	return 0;
}
