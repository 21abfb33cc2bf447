// SPDX-License-Identifier: MIT
/*
 * tapir up / down: the state file /var/run/tapir/IFNAME.state and the undo it drives. up
 * creates it (O_EXCL: one up per name) with the network namespace and the config path, then
 * appends one line per change that outlives the interface (a route in another table, a rule,
 * the DNS record, a sysctl, a bridge port, the firewall guard) as soon as it is made. A
 * failure, Ctrl-C or down reads the lines back and undoes them newest first; what is already
 * gone counts as undone.
 *
 * The file's lines are parsed strictly: one that does not parse makes the file corrupt, and
 * down then changes nothing.
 */
#include "up.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "netlink.h"
#include "nft.h"

char *tapir_up_state_path(const char *ifname)
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

int tapir_up_state_create(struct tapir_up *qk)
{
	char *path = tapir_up_state_path(qk->ifname);
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

static void format_action(char out[TEXT_BYTES], const struct tapir_up_action *a)
{
	char p[INET6_ADDRSTRLEN + 4];

	switch (a->kind) {
	case ACT_DAEMON:
		snprintf(out, TEXT_BYTES, "daemon");
		break;
	case ACT_ROUTE:
		tapir_up_prefix_text(p, a->family, a->addr, a->cidr);
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

static int parse_action(struct tapir_up_action *a, const char *line)
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

static int append_action(struct tapir_up *qk, const struct tapir_up_action *a)
{
	struct tapir_up_action *arr = reallocarray(qk->actions, qk->n_actions + 1, sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	qk->actions = arr;
	arr[qk->n_actions++] = *a;
	return 0;
}

/* Remembers a change (in memory and in the state file) right after it was made. */
int tapir_up_record(struct tapir_up *qk, const struct tapir_up_action *a)
{
	char line[TEXT_BYTES];

	if (append_action(qk, a))
		return -ENOMEM;
	format_action(line, a);
	if (dprintf(qk->state_fd, "%s\n", line) < 0)
		return -EIO;
	return 0;
}

/* Reads the state file of an interface up brought up; -ENOENT if there is none. */
int tapir_up_load_state(struct tapir_up *qk, char **config_out)
{
	char *path = tapir_up_state_path(qk->ifname), *line = NULL, ns[64], want_ns[64] = "";
	size_t cap = 0;
	FILE *f = path ? fopen(path, "re") : NULL;
	int r = 0;

	free(path);
	if (!f)
		return -ENOENT;
	while (!r && getline(&line, &cap, f) > 0) {
		struct tapir_up_action a;

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

bool tapir_up_is_gone(int r)
{
	return r == -ENOENT || r == -ESRCH || r == -ENODEV || r == -EADDRNOTAVAIL;
}

static void undo(struct tapir_up *qk, const struct tapir_up_action *a)
{
	char p[INET6_ADDRSTRLEN + 4];
	int r = 0;

	switch (a->kind) {
	case ACT_DAEMON:
		tapir_up_undo_daemon(qk);
		return;
	case ACT_ROUTE:
		tapir_up_prefix_text(p, a->family, a->addr, a->cidr);
		tapir_up_say("ip %s route delete %s dev %s table %u",
			     tapir_up_family_flag(a->family), p, qk->ifname, a->table);
		if (qk->ifindex > 0)
			r = tapir_nl_route(qk->nl, false, qk->ifindex, a->family, a->addr, a->cidr,
					   a->table);
		break;
	case ACT_RULE_FWMARK:
		tapir_up_say("ip %s rule delete not fwmark %u table %u pref %u",
			     tapir_up_family_flag(a->family), a->fwmark, a->table, a->priority);
		r = tapir_nl_rule_not_fwmark(qk->nl, false, a->family, a->fwmark, a->table,
					     a->priority);
		break;
	case ACT_RULE_SUPPRESS:
		tapir_up_say("ip %s rule delete table main suppress_prefixlength 0 pref %u",
			     tapir_up_family_flag(a->family), a->priority);
		r = tapir_nl_rule_suppress(qk->nl, false, a->family, a->table, a->priority);
		break;
	case ACT_SYSCTL:
		tapir_up_say("sysctl -q net.ipv4.conf.all.src_valid_mark=%u", a->old_value);
		r = tapir_cli_write_sysctl(SRC_VALID_MARK, a->old_value);
		break;
	case ACT_DNS:
		r = tapir_up_undo_dns(qk);
		break;
	case ACT_BRIDGE:
		/* deleting the link detaches it too; said and done for symmetry with up */
		tapir_up_say("ip link set %s nomaster", qk->ifname);
		if (qk->ifindex > 0)
			r = tapir_nl_link_set_master(qk->nl, qk->ifindex, 0);
		break;
	case ACT_FIREWALL:
		r = tapir_nft_guard_del(qk->ifname, a->family);
		break;
	}
	if (r && !tapir_up_is_gone(r)) {
		fprintf(stderr, "tapir: undo failed: %s\n", strerror(-r));
		qk->has_failed_undo = true;
	}
}

void tapir_up_undo_all(struct tapir_up *qk)
{
	qk->ifindex = tapir_nl_link_lookup(qk->nl, qk->ifname, NULL);
	for (size_t i = qk->n_actions; i > 0; i--)
		undo(qk, &qk->actions[i - 1]);
}
