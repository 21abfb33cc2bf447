// SPDX-License-Identifier: MIT
/*
 * tapir mesh cni: prints a CNI network configuration (a conflist, CNI spec 1.0.0, which
 * Debian 12's containernetworking-plugins 1.1.1 speak) for this host's containers, built from
 * the subnet.env the agent writes: the standard `bridge` plugin as the subnet's gateway, with
 * `host-local` IPAM handing out the rest of the subnet and a route to the whole overlay.
 * The parser of subnet.env and the formatter take plain buffers and do no I/O, so the unit
 * test and the fuzz harness drive them directly; only tapir_mesh_cni() reads a file.
 * ipMasq is always false: a container's traffic into the overlay must keep its own source
 * address, which the other hosts' allowed IPs (the whole subnet) accept and their containers
 * see; masquerading would rewrite it to the host's address (doc/mesh-design.md section 13).
 */
#include "mesh_cni.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh.h"

static const char DEFAULT_ENV_DIR[] = "/run/tapir/mesh";

enum {
	MTU_MIN = 576, /* as tapir mesh init */
	SUBNET_LEN_MAX = 30,
	DATA_DIR_MAX = 256,
	IFNAME_MAX = 15, /* IFNAMSIZ - 1 */
	PATH_BYTES = 512,
};

static const char USAGE[] =
    "Usage: tapir mesh cni [--state-dir DIR] [--bridge NAME] [--name NAME] [--data-dir DIR]\n"
    "\n"
    "Prints a CNI network configuration list for this host's containers, made from\n"
    "DIR/subnet.env (written by tapir mesh join; DIR is /run/tapir/mesh by default):\n"
    "the bridge plugin on bridge NAME (cni0) holding the subnet's first address as the\n"
    "containers' gateway, with the network's MTU and no masquerading (the other hosts\n"
    "must see the containers' own addresses), and host-local IPAM giving out the rest of\n"
    "the subnet with a route to the whole overlay via the gateway. --name is the CNI\n"
    "network's name (tapir); --data-dir is where host-local keeps its leases (its default\n"
    "is /var/lib/cni/networks). Install it with\n"
    "    tapir mesh cni > /etc/cni/net.d/10-tapir.conflist\n"
    "and run it again if the host's subnet changes.\n";

/* ---------------------------------------------------------------- subnet.env */

static uint32_t mask_of(uint8_t len)
{
	return len ? 0xffffffffu << (32 - len) : 0;
}

/* "A.B.C.D/LEN" with host bits allowed (SUBNET names the gateway address). */
static int parse_addr_len(const char *s, uint32_t *addr, uint8_t *len)
{
	char text[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	unsigned long n;
	char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(text) || slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	memcpy(text, s, (size_t)(slash - s));
	text[slash - s] = '\0';
	n = strtoul(slash + 1, &end, 10);
	if (*end || n > 32 || end - slash > 3 || inet_pton(AF_INET, text, &a) != 1)
		return -EINVAL;
	*addr = ntohl(a.s_addr);
	*len = (uint8_t)n;
	return 0;
}

static int parse_mtu(const char *s, uint16_t *mtu)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < MTU_MIN || v > 65535)
		return -EINVAL;
	*mtu = (uint16_t)v;
	return 0;
}

static bool is_key(const char *s, size_t len)
{
	if (!len || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

enum { HAS_NETWORK = 1, HAS_SUBNET = 2, HAS_MTU = 4 };

/* One "KEY=VALUE" line (NUL-terminated, no newline) into @env; @seen collects HAS_*. */
static int parse_line(struct tapir_mesh_env *env, const char *line, unsigned *seen,
		      const char **why)
{
	const char *eq = strchr(line, '=');
	const char *v = eq ? eq + 1 : NULL;
	unsigned bit;

	if (!eq || !is_key(line, (size_t)(eq - line))) {
		*why = "not KEY=VALUE";
		return -EINVAL;
	}
	if (!strncmp(line, "NETWORK=", 8))
		bit = HAS_NETWORK;
	else if (!strncmp(line, "SUBNET=", 7))
		bit = HAS_SUBNET;
	else if (!strncmp(line, "MTU=", 4))
		bit = HAS_MTU;
	else
		return 0; /* IPMASQ and keys of later versions */
	if (*seen & bit) {
		*why = "a key given twice";
		return -EINVAL;
	}
	*seen |= bit;
	if (bit == HAS_NETWORK && tapir_mesh_cidr_parse(v, &env->network_addr, &env->network_len))
		*why = "NETWORK is not an IPv4 network A.B.C.D/LEN";
	else if (bit == HAS_SUBNET && parse_addr_len(v, &env->gateway, &env->subnet_len))
		*why = "SUBNET is not an IPv4 address A.B.C.D/LEN";
	else if (bit == HAS_MTU && parse_mtu(v, &env->mtu))
		*why = "MTU is not a number from 576 to 65535";
	else
		return 0;
	return -EINVAL;
}

/* The keys together: the subnet inside the network, the gateway a host address of it. */
static int check_env(struct tapir_mesh_env *env, unsigned seen, const char **why)
{
	uint32_t host_mask = ~mask_of(env->subnet_len);

	if (!(seen & HAS_NETWORK))
		*why = "NETWORK is missing";
	else if (!(seen & HAS_SUBNET))
		*why = "SUBNET is missing";
	else if (!(seen & HAS_MTU))
		*why = "MTU is missing";
	else if (!env->network_len)
		*why = "NETWORK is 0.0.0.0/0: the overlay is a part of the address space";
	else if (env->subnet_len <= env->network_len || env->subnet_len > SUBNET_LEN_MAX)
		*why = "SUBNET's length must be longer than NETWORK's and at most 30";
	else if ((env->gateway & mask_of(env->network_len)) != env->network_addr)
		*why = "SUBNET is not inside NETWORK";
	else if (!(env->gateway & host_mask) || (env->gateway & host_mask) == host_mask)
		*why = "SUBNET's address is its network or broadcast address, not a host's";
	else {
		env->subnet_addr = env->gateway & ~host_mask;
		return 0;
	}
	return -EINVAL;
}

int tapir_mesh_env_parse(const char *text, size_t len, struct tapir_mesh_env *env, const char **why)
{
	char line[TAPIR_MESH_ENV_LINE_MAX + 1];
	unsigned seen = 0;
	size_t start = 0, end;

	memset(env, 0, sizeof(*env));
	if (len > TAPIR_MESH_ENV_MAX_BYTES) {
		*why = "larger than 4096 bytes";
		return -EINVAL;
	}
	if (memchr(text, '\0', len)) {
		*why = "a NUL byte: not a text file";
		return -EINVAL;
	}
	for (env->line = 1; start < len; env->line++, start = end + 1) {
		const char *nl = memchr(text + start, '\n', len - start);

		end = nl ? (size_t)(nl - text) : len;
		if (end - start > TAPIR_MESH_ENV_LINE_MAX) {
			*why = "a line longer than 128 bytes";
			return -EINVAL;
		}
		memcpy(line, text + start, end - start);
		line[end - start] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (parse_line(env, line, &seen, why) < 0)
			return -EINVAL;
	}
	env->line = 0; /* what is wrong now is the file as a whole */
	return check_env(env, seen, why);
}

/* ---------------------------------------------------------------- the configuration */

static bool is_ifname(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
			return false;
	}
	return true;
}

/* libcni's rule for network names, which host-local also uses as a directory name. */
static bool is_cni_name(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= TAPIR_MESH_NAME_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (const char *p = s; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	}
	return true;
}

int tapir_mesh_cni_check(const struct tapir_mesh_cni_opts *o, const char **why)
{
	if (!is_ifname(o->bridge))
		*why = "--bridge: not an interface name (1 to 15 bytes, no '/', ':' or blanks)";
	else if (!is_cni_name(o->name))
		*why =
		    "--name: not a CNI network name ([A-Za-z0-9][A-Za-z0-9_.-]*, under 64 bytes)";
	else if (o->data_dir && (o->data_dir[0] != '/' || strlen(o->data_dir) > DATA_DIR_MAX))
		*why = "--data-dir: not an absolute path of at most 256 bytes";
	else
		return 0;
	return -EINVAL;
}

static struct json_object *cidr_json(uint32_t addr, uint8_t len)
{
	struct in_addr a = {.s_addr = htonl(addr)};
	char text[TAPIR_MESH_CIDR_TEXT + 4];
	char dotted[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, dotted, sizeof(dotted));
	snprintf(text, sizeof(text), "%s/%u", dotted, len);
	return json_object_new_string(text);
}

static struct json_object *addr_json(uint32_t addr)
{
	struct in_addr a = {.s_addr = htonl(addr)};
	char dotted[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, dotted, sizeof(dotted));
	return json_object_new_string(dotted);
}

static struct json_object *one_in_array(struct json_object *o)
{
	struct json_object *a = json_object_new_array();

	json_object_array_add(a, o);
	return a;
}

/*
 * host-local: one range, the subnet, whose gateway (never handed out) is the bridge's address;
 * a route to the whole overlay. The route names its gateway although the plugins would fill it
 * in: 1.1.1's CHECK looks for a route without one and fails (containernetworking/plugins#886).
 */
static struct json_object *ipam_json(const struct tapir_mesh_env *env, const char *data_dir)
{
	struct json_object *ipam = json_object_new_object(), *range = json_object_new_object();
	struct json_object *route = json_object_new_object();

	json_object_object_add(range, "subnet", cidr_json(env->subnet_addr, env->subnet_len));
	json_object_object_add(range, "gateway", addr_json(env->gateway));
	json_object_object_add(route, "dst", cidr_json(env->network_addr, env->network_len));
	json_object_object_add(route, "gw", addr_json(env->gateway));
	json_object_object_add(ipam, "type", json_object_new_string("host-local"));
	json_object_object_add(ipam, "ranges", one_in_array(one_in_array(range)));
	json_object_object_add(ipam, "routes", one_in_array(route));
	if (data_dir)
		json_object_object_add(ipam, "dataDir", json_object_new_string(data_dir));
	return ipam;
}

char *tapir_mesh_cni_format(const struct tapir_mesh_env *env, const struct tapir_mesh_cni_opts *o)
{
	struct json_object *list = json_object_new_object(), *bridge = json_object_new_object();
	char *out;

	json_object_object_add(bridge, "type", json_object_new_string("bridge"));
	json_object_object_add(bridge, "bridge", json_object_new_string(o->bridge));
	json_object_object_add(bridge, "isGateway", json_object_new_boolean(1));
	json_object_object_add(bridge, "ipMasq", json_object_new_boolean(0));
	json_object_object_add(bridge, "mtu", json_object_new_int(env->mtu));
	json_object_object_add(bridge, "ipam", ipam_json(env, o->data_dir));
	json_object_object_add(list, "cniVersion", json_object_new_string(TAPIR_MESH_CNI_VERSION));
	json_object_object_add(list, "name", json_object_new_string(o->name));
	json_object_object_add(list, "plugins", one_in_array(bridge));
	out = strdup(json_object_to_json_string_ext(list, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_SPACED |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(list);
	return out;
}

/* ---------------------------------------------------------------- the command */

static const struct option OPTIONS[] = {
    {"state-dir", required_argument, NULL, 'd'},
    {"bridge", required_argument, NULL, 'b'},
    {"name", required_argument, NULL, 'n'},
    {"data-dir", required_argument, NULL, 'D'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "tapir mesh cni: %s%s%s\nTry 'tapir mesh cni --help'.\n", what,
		arg ? " " : "", arg ? arg : "");
	return 2;
}

/* Reads at most @max bytes of @path (TAPIR_MESH_ENV_MAX_BYTES + 1: a bigger file is refused). */
static int read_env(const char *path, char *buf, size_t max, size_t *len)
{
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f)
		return -errno;
	*len = fread(buf, 1, max, f);
	if (ferror(f))
		r = -EIO;
	fclose(f);
	return r;
}

static int print_config(const char *dir, const struct tapir_mesh_cni_opts *o)
{
	char path[PATH_BYTES], *buf = malloc(TAPIR_MESH_ENV_MAX_BYTES + 1), *out;
	struct tapir_mesh_env env;
	const char *why;
	size_t len = 0;
	int r = -ENOMEM;

	snprintf(path, sizeof(path), "%s/subnet.env", dir);
	if (buf)
		r = read_env(path, buf, TAPIR_MESH_ENV_MAX_BYTES + 1, &len);
	if (r < 0) {
		fprintf(stderr, "tapir mesh cni: %s: %s%s\n", path, strerror(-r),
			r == -ENOENT ? " (is tapir mesh join running? --state-dir DIR)" : "");
		free(buf);
		return 1;
	}
	r = tapir_mesh_env_parse(buf, len, &env, &why);
	free(buf);
	if (r < 0) {
		if (env.line)
			fprintf(stderr, "tapir mesh cni: %s: line %u: %s\n", path, env.line, why);
		else
			fprintf(stderr, "tapir mesh cni: %s: %s\n", path, why);
		return 1;
	}
	out = tapir_mesh_cni_format(&env, o);
	if (!out) {
		fprintf(stderr, "tapir mesh cni: %s\n", strerror(ENOMEM));
		return 1;
	}
	printf("%s\n", out);
	free(out);
	return fflush(stdout) == 0 ? 0 : 1;
}

int tapir_mesh_cni(int argc, char **argv)
{
	struct tapir_mesh_cni_opts o = {.bridge = "cni0", .name = "tapir"};
	const char *dir = DEFAULT_ENV_DIR, *why;
	int c;

	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "h", OPTIONS, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'b')
			o.bridge = optarg;
		else if (c == 'n')
			o.name = optarg;
		else if (c == 'D')
			o.data_dir = optarg;
		else if (c == 'h') {
			fputs(USAGE, stdout);
			return 0;
		} else {
			fputs("Try 'tapir mesh cni --help'.\n", stderr);
			return 2;
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument", argv[optind]);
	if (!dir[0] || strlen(dir) > DATA_DIR_MAX)
		return usage_error("--state-dir: an empty path or one over 256 bytes", NULL);
	if (tapir_mesh_cni_check(&o, &why) < 0)
		return usage_error(why, NULL);
	return print_config(dir, &o);
}
