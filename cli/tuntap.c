// SPDX-License-Identifier: MIT
/*
 * tapir tuntap: add, del, show/list and watch persistent TUN/TAP devices.
 *
 * add and del take the grammar of `ip tuntap` and talk to the kernel only through /dev/net/tun
 * (TUNSETIFF, TUNSETOWNER, TUNSETGROUP, TUNSETPERSIST). show prints the lines `ip tuntap show`
 * prints, from /sys/class/net/NAME/{tun_flags,owner,group}. watch (tuntap_watch_cmd.c) prints one
 * line per packet through tapir_tuntap_decode() (tuntap_decode.c), which is pure and reads only
 * the bytes it is given. Nothing here talks to tapird or runs ip(8).
 *
 * TUNSETIFF on an existing device replaces its feature flags with the ones passed, so del and
 * watch always attach with the flags the device already has (read from tun_flags); that and
 * the other device helpers are in tuntap_dev.c. This file has the subcommands' arguments,
 * add, del, show and the dispatch.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tuntap_cmd.h"

/* The words of `ip tuntap show`, in its order; @is_set_word: printed when the bit is set. */
static const struct {
	long bit;
	bool is_set_word;
	const char *word;
} show_words[] = {
    {IFF_TUN, true, "tun"},
    {IFF_TAP, true, "tap"},
    {IFF_NO_PI, false, "pi"},
    {IFF_ONE_QUEUE, true, "one_queue"},
    {IFF_MULTI_QUEUE, true, "multi_queue"},
    {IFF_VNET_HDR, true, "vnet_hdr"},
    {IFF_PERSIST, true, "persist"},
    {IFF_NOFILTER, false, "filter"}, /* the same bit as IFF_NO_PI */
};

/* Command-line words that set or clear a flag, for add (del accepts and ignores them). */
static const struct {
	const char *word;
	int set;
	int clear;
} flag_words[] = {
    {"pi", 0, IFF_NO_PI},
    {"one_queue", IFF_ONE_QUEUE, 0},
    {"vnet_hdr", IFF_VNET_HDR, 0},
    {"multi_queue", IFF_MULTI_QUEUE, 0},
};

static void print_info(const struct tuntap_info *info)
{
	long rest = info->flags;

	printf("%s:", info->name);
	for (size_t i = 0; i < sizeof(show_words) / sizeof(show_words[0]); i++) {
		bool is_set = info->flags & show_words[i].bit;

		if (is_set == show_words[i].is_set_word)
			printf(" %s", show_words[i].word);
		rest &= ~show_words[i].bit;
	}
	if (rest)
		printf(" %#lx", rest);
	if (info->owner != -1)
		printf(" user %ld", info->owner);
	if (info->group != -1)
		printf(" group %ld", info->group);
	putchar('\n');
}

/* ------------------------------------------------------------------ add, del */

/* The arguments of add and del, in ip tuntap's grammar. */
struct tuntap_args {
	char name[IFNAMSIZ];
	int mode;  /* IFF_TUN, IFF_TAP, or 0 if not given */
	int flags; /* IFF_NO_PI, IFF_ONE_QUEUE, IFF_VNET_HDR, IFF_MULTI_QUEUE */
	bool has_user;
	bool has_group;
	uid_t uid;
	gid_t gid;
};

static enum parse_result set_name(struct tuntap_args *a, const char *s)
{
	if (a->name[0]) {
		tapir_tuntap_fail("unexpected \"%s\": the device name is already \"%s\"", s,
				  a->name);
		return PARSE_BAD;
	}
	if (!tapir_tuntap_is_valid_ifname(s)) {
		tapir_tuntap_fail("invalid device name \"%s\"", s);
		return PARSE_BAD;
	}
	snprintf(a->name, sizeof(a->name), "%s", s);
	return PARSE_OK;
}

static enum parse_result set_mode(struct tuntap_args *a, const char *s)
{
	int mode = !strcmp(s, "tun") ? IFF_TUN : !strcmp(s, "tap") ? IFF_TAP : 0;

	if (!mode) {
		tapir_tuntap_fail("unknown mode \"%s\" (expected tun or tap)", s);
		return PARSE_BAD;
	}
	if (a->mode && a->mode != mode) {
		tapir_tuntap_fail("mode given twice");
		return PARSE_BAD;
	}
	a->mode = mode;
	return PARSE_OK;
}

static enum parse_result set_user(struct tuntap_args *a, const char *s)
{
	unsigned long v;
	struct passwd *pw;

	if (!tapir_tuntap_parse_ulong(s, &v) && v < (uid_t)-1) {
		a->uid = (uid_t)v;
	} else if ((pw = getpwnam(s))) {
		a->uid = pw->pw_uid;
	} else {
		tapir_tuntap_fail("unknown user \"%s\"", s);
		return PARSE_BAD;
	}
	a->has_user = true;
	return PARSE_OK;
}

static enum parse_result set_group(struct tuntap_args *a, const char *s)
{
	unsigned long v;
	struct group *gr;

	if (!tapir_tuntap_parse_ulong(s, &v) && v < (gid_t)-1) {
		a->gid = (gid_t)v;
	} else if ((gr = getgrnam(s))) {
		a->gid = gr->gr_gid;
	} else {
		tapir_tuntap_fail("unknown group \"%s\"", s);
		return PARSE_BAD;
	}
	a->has_group = true;
	return PARSE_OK;
}

static bool set_flag_word(struct tuntap_args *a, const char *s)
{
	for (size_t i = 0; i < sizeof(flag_words) / sizeof(flag_words[0]); i++) {
		if (!strcmp(s, flag_words[i].word)) {
			a->flags = (a->flags | flag_words[i].set) & ~flag_words[i].clear;
			return true;
		}
	}
	return false;
}

/* Parses argv[1..] (argv[0] is the verb); prints its own messages. */
static enum parse_result parse_args(int argc, char **argv, struct tuntap_args *a)
{
	enum parse_result r = PARSE_OK;

	memset(a, 0, sizeof(*a));
	a->flags = IFF_NO_PI;
	for (int i = 1; i < argc && r == PARSE_OK; i++) {
		const char *w = argv[i];
		bool has_value = !strcmp(w, "mode") || !strcmp(w, "user") || !strcmp(w, "group") ||
				 !strcmp(w, "dev") || !strcmp(w, "name");

		if (tapir_tuntap_is_help(w))
			return PARSE_HELP;
		if (has_value && i + 1 == argc) {
			tapir_tuntap_fail("%s needs a value", w);
			return PARSE_BAD;
		}
		if (!strcmp(w, "mode"))
			r = set_mode(a, argv[++i]);
		else if (!strcmp(w, "user"))
			r = set_user(a, argv[++i]);
		else if (!strcmp(w, "group"))
			r = set_group(a, argv[++i]);
		else if (has_value)
			r = set_name(a, argv[++i]);
		else if (set_flag_word(a, w))
			r = PARSE_OK;
		else if (w[0] == '-') {
			tapir_tuntap_fail("unknown option \"%s\"", w);
			r = PARSE_BAD;
		} else
			r = set_name(a, w);
	}
	return r;
}

static int create(const struct tuntap_args *a)
{
	struct ifreq ifr;
	int fd, r = EXIT_ERROR;

	fd = open(tun_clone_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		tapir_tuntap_fail("cannot open %s: %s", tun_clone_path, strerror(errno));
		return EXIT_ERROR;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, a->name, sizeof(ifr.ifr_name));
	/* IFF_TUN_EXCL: fail instead of attaching if the name was taken meanwhile */
	ifr.ifr_flags = (short)(a->mode | a->flags | IFF_TUN_EXCL);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		if (errno == EBUSY)
			tapir_tuntap_fail("device %s exists", a->name);
		else
			tapir_tuntap_fail("cannot create %s: %s", a->name, strerror(errno));
		goto out;
	}
	/* Until TUNSETPERSIST succeeds, closing @fd removes the device again. */
	if (a->has_user && ioctl(fd, TUNSETOWNER, (unsigned long)a->uid) < 0) {
		tapir_tuntap_fail("%s: cannot set owner %u: %s", a->name, (unsigned int)a->uid,
				  strerror(errno));
		goto out;
	}
	if (a->has_group && ioctl(fd, TUNSETGROUP, (unsigned long)a->gid) < 0) {
		tapir_tuntap_fail("%s: cannot set group %u: %s", a->name, (unsigned int)a->gid,
				  strerror(errno));
		goto out;
	}
	if (ioctl(fd, TUNSETPERSIST, 1UL) < 0) {
		tapir_tuntap_fail("%s: cannot make it persistent: %s", a->name, strerror(errno));
		goto out;
	}
	/* a name template such as tap%d: say which device the kernel made */
	if (strchr(a->name, '%'))
		printf("%.*s\n", IFNAMSIZ, ifr.ifr_name);
	r = EXIT_OK;
out:
	close(fd);
	return r;
}

static const char add_usage[] =
    "Usage: tapir tuntap add [dev|name] NAME mode { tun | tap } [user USER] [group GROUP]\n"
    "                        [one_queue] [pi] [vnet_hdr] [multi_queue]\n"
    "Creates a persistent TUN/TAP device, like ip tuntap add. Without pi, packets carry no\n"
    "packet-information header. USER and GROUP are names or numbers.\n";

static int cmd_add(int argc, char **argv)
{
	struct tuntap_args a;
	enum parse_result r = parse_args(argc, argv, &a);

	if (r == PARSE_HELP) {
		fputs(add_usage, stdout);
		return EXIT_OK;
	}
	if (r == PARSE_OK && !a.name[0]) {
		tapir_tuntap_fail("add: missing device name");
		r = PARSE_BAD;
	} else if (r == PARSE_OK && !a.mode) {
		tapir_tuntap_fail("add: missing mode tun or mode tap");
		r = PARSE_BAD;
	}
	if (r != PARSE_OK) {
		return tapir_tuntap_usage_hint("add");
	}
	if (if_nametoindex(a.name)) {
		tapir_tuntap_fail("device %s exists", a.name);
		return EXIT_ERROR;
	}
	return create(&a);
}

static const char del_usage[] =
    "Usage: tapir tuntap del [dev|name] NAME [mode { tun | tap }]\n"
    "Deletes a persistent TUN/TAP device, like ip tuntap del. The mode is detected when not\n"
    "given; other ip tuntap options are accepted and ignored.\n";

static int cmd_del(int argc, char **argv)
{
	struct tuntap_args a;
	struct tuntap_info info;
	enum parse_result r = parse_args(argc, argv, &a);
	int fd, err;

	if (r == PARSE_HELP) {
		fputs(del_usage, stdout);
		return EXIT_OK;
	}
	if (r == PARSE_OK && !a.name[0]) {
		tapir_tuntap_fail("del: missing device name");
		r = PARSE_BAD;
	}
	if (r != PARSE_OK) {
		return tapir_tuntap_usage_hint("del");
	}
	err = tapir_tuntap_info_get(a.name, &info);
	if (err) {
		tapir_tuntap_fail_info(a.name, err);
		return EXIT_ERROR;
	}
	if (a.mode && a.mode != (info.flags & TUN_MODE_MASK)) {
		tapir_tuntap_fail("%s is a %s device, not %s", a.name,
				  tapir_tuntap_mode_name(info.flags),
				  tapir_tuntap_mode_name(a.mode));
		return EXIT_ERROR;
	}
	fd = tapir_tuntap_attach(&info);
	if (fd < 0) {
		tapir_tuntap_fail_attach(&info, fd);
		return EXIT_ERROR;
	}
	/* the device goes away when @fd, its last user, is closed */
	err = ioctl(fd, TUNSETPERSIST, 0UL) < 0 ? errno : 0;
	close(fd);
	if (err) {
		tapir_tuntap_fail("%s: cannot clear persist: %s", a.name, strerror(err));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------------ show */

static int by_ifindex(const void *a, const void *b)
{
	const struct tuntap_info *x = a, *y = b;

	return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

/*
 * Collects the TUN/TAP devices of this network namespace in ifindex order, as ip lists them,
 * into *@out (a new array owned by the caller). Prints its own message on failure.
 */
static int list_all(struct tuntap_info **out, size_t *n_out)
{
	struct if_nameindex *ifs = if_nameindex();
	struct tuntap_info *list;
	size_t n = 0, count = 0;
	int r = 0;

	if (!ifs) {
		r = -errno;
		tapir_tuntap_fail("cannot list network devices: %s", strerror(-r));
		return r;
	}
	while (ifs[count].if_index)
		count++;
	list = calloc(count ? count : 1, sizeof(*list));
	if (!list) {
		if_freenameindex(ifs);
		tapir_tuntap_fail("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < count && !r; i++) {
		int err = tapir_tuntap_info_get(ifs[i].if_name, &list[n]);

		if (!err) {
			n++;
		} else if (err != -ENODEV && err != -EOPNOTSUPP) {
			/* (-ENODEV: deleted meanwhile; -EOPNOTSUPP: not TUN/TAP) */
			tapir_tuntap_fail_info(ifs[i].if_name, err);
			r = err;
		}
	}
	if_freenameindex(ifs);
	if (r) {
		free(list);
		return r;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), by_ifindex);
	*out = list;
	*n_out = n;
	return 0;
}

static const char show_usage[] =
    "Usage: tapir tuntap { show | list } [-d | --details] [[dev] NAME]\n"
    "Lists TUN/TAP devices (or one) as ip tuntap show does: NAME: MODE FLAGS [user UID]\n"
    "[group GID]. With -d, as ip -d tuntap show does, also the processes holding the\n"
    "device's queues: \"Attached to processes: COMM(PID) ...\" (another user's processes\n"
    "are seen by root only).\n";

static void print_show(const struct tuntap_info *info, bool is_details)
{
	print_info(info);
	if (is_details)
		tapir_tuntap_print_processes(info->name);
}

/* Takes -d/--details out of @argv (show's only option); returns whether it was there. */
static bool take_details(int *argc, char **argv)
{
	bool is_details = false;
	int n = 1;

	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "-d") || !strcmp(argv[i], "--details"))
			is_details = true;
		else
			argv[n++] = argv[i];
	}
	*argc = n;
	return is_details;
}

static int cmd_show(int argc, char **argv)
{
	struct tuntap_args a;
	struct tuntap_info *list = NULL;
	bool is_details = take_details(&argc, argv);
	enum parse_result r = parse_args(argc, argv, &a);
	size_t n = 0;
	int err;

	if (r == PARSE_HELP) {
		fputs(show_usage, stdout);
		return EXIT_OK;
	}
	if (r != PARSE_OK) {
		return tapir_tuntap_usage_hint("show");
	}
	if (a.name[0]) {
		struct tuntap_info info;

		err = tapir_tuntap_info_get(a.name, &info);
		if (err) {
			tapir_tuntap_fail_info(a.name, err);
			return EXIT_ERROR;
		}
		print_show(&info, is_details);
		return EXIT_OK;
	}
	if (list_all(&list, &n))
		return EXIT_ERROR;
	for (size_t i = 0; i < n; i++)
		print_show(&list[i], is_details);
	free(list);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ dispatch */

static const char tuntap_usage[] =
    "Usage: tapir tuntap { add | del | show | list | watch | help } ...\n"
    "       tapir tuntap add [dev|name] NAME mode { tun | tap } [user USER] [group GROUP]\n"
    "                        [one_queue] [pi] [vnet_hdr] [multi_queue]\n"
    "       tapir tuntap del [dev|name] NAME [mode { tun | tap }]\n"
    "       tapir tuntap { show | list } [-d] [[dev] NAME]\n"
    "       tapir tuntap watch [dev] NAME [--count N] [-x] [-w FILE] [--attach]\n"
    "                          [--answer-ping] [proto PROTO] [host ADDR] [port N]\n"
    "USER := { NAME | NUMBER }  GROUP := { NAME | NUMBER }  PROTO := { icmp | tcp | udp }\n"
    "Each subcommand takes --help.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} verbs[] = {
    {"add", cmd_add},
    {"del", cmd_del},
    {"delete", cmd_del},
    {"show", cmd_show},
    {"list", cmd_show},
    {"lst", cmd_show},
    {"watch", tapir_tuntap_cmd_watch},
};

int tapir_cmd_tuntap(int argc, char **argv)
{
	if (argc < 2)
		return cmd_show(1, argv); /* like ip tuntap: show by default */
	if (tapir_tuntap_is_help(argv[1])) {
		fputs(tuntap_usage, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	tapir_tuntap_fail("unknown subcommand \"%s\"", argv[1]);
	fputs(tuntap_usage, stderr);
	return EXIT_USAGE;
}
