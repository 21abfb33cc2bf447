// SPDX-License-Identifier: MIT
/*
 * tapir mesh: the JSON of the network config and of host records, and the subnet arithmetic
 * (doc/mesh-design.md section 2). Everything read here came from etcd, which anyone with write
 * access to the store controls: lengths are checked before parsing, json-c's depth is limited,
 * and a record must name the subnet of its own key, inside the network's CIDR.
 *
 * No I/O and no logging: callers decide what to say about a bad record.
 */
#include "mesh.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

enum {
	JSON_DEPTH_MAX = 4,
	SUBNET_LEN_MAX = 30, /* a host subnet needs at least two host addresses */
	KEEPALIVE_MAX_S = 65535,
	MTU_MIN = 576,
	MTU_MAX = 65535,
};

static const char KEY_ROOT[] = "/tapir/networks/";

bool tapir_mesh_name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= TAPIR_MESH_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	       len;
}

/* "A.B.C.D/LEN" with no host bits set. */
int tapir_mesh_cidr_parse(const char *s, uint32_t *addr_out, uint8_t *len_out)
{
	char text[TAPIR_MESH_CIDR_TEXT];
	const char *slash = strchr(s, '/');
	struct in_addr a;
	unsigned long len;
	char *end;

	if (!slash || (size_t)(slash - s) >= sizeof(text) || slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	memcpy(text, s, (size_t)(slash - s));
	text[slash - s] = '\0';
	len = strtoul(slash + 1, &end, 10);
	if (*end || len > 32 || inet_pton(AF_INET, text, &a) != 1)
		return -EINVAL;
	*addr_out = ntohl(a.s_addr);
	*len_out = (uint8_t)len;
	if (len < 32 && (*addr_out & (0xffffffffu >> len)))
		return -EINVAL;
	return 0;
}

int tapir_mesh_net_check(const struct tapir_mesh_net *net, const char **why)
{
	if (net->cidr_len < 1 || net->subnet_len > SUBNET_LEN_MAX ||
	    net->subnet_len <= net->cidr_len)
		*why = "subnet_len must be longer than the CIDR's and at most 30";
	else if (net->subnet_len - net->cidr_len > TAPIR_MESH_SUBNET_BITS_MAX)
		*why = "subnet_len may be at most 16 more than the CIDR's";
	else if (!net->port)
		*why = "port must be 1 to 65535";
	else if (net->mtu < MTU_MIN)
		*why = "mtu must be 576 to 65535";
	else
		return 0;
	return -EINVAL;
}

static bool get_uint(struct json_object *o, const char *name, unsigned long max, unsigned long *v)
{
	struct json_object *f;
	int64_t x;

	if (!json_object_object_get_ex(o, name, &f))
		return true; /* keep the default */
	if (!json_object_is_type(f, json_type_int))
		return false;
	x = json_object_get_int64(f);
	if (x < 0 || (uint64_t)x > max)
		return false;
	*v = (unsigned long)x;
	return true;
}

static struct json_object *parse_object(const char *json, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(JSON_DEPTH_MAX);
	struct json_object *o = NULL;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, json, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  tok->char_offset != (int)len || !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static const char *get_string(struct json_object *o, const char *name)
{
	struct json_object *f;

	if (!json_object_object_get_ex(o, name, &f) || !json_object_is_type(f, json_type_string))
		return NULL;
	return json_object_get_string(f);
}

int tapir_mesh_net_parse(struct tapir_mesh_net *net, const char *json, size_t len, const char **why)
{
	unsigned long subnet_len = TAPIR_MESH_DEFAULT_SUBNET_LEN, port = TAPIR_MESH_DEFAULT_PORT;
	unsigned long mtu = TAPIR_MESH_DEFAULT_MTU, keepalive = TAPIR_MESH_DEFAULT_KEEPALIVE_S;
	struct json_object *o = len <= TAPIR_MESH_RECORD_MAX_BYTES ? parse_object(json, len) : NULL;
	const char *cidr, *mode, *admin;
	int r = -EINVAL;

	*why = "not a JSON object of at most 1024 bytes";
	if (!o)
		return r;
	cidr = get_string(o, "cidr");
	mode = get_string(o, "mode");
	admin = get_string(o, "admin_key");
	net->has_admin_key = admin != NULL;
	if (admin && tapir_key_from_base64(net->admin_key, admin, strlen(admin)) < 0)
		*why = "admin_key is not a base64 key";
	else if (!cidr || tapir_mesh_cidr_parse(cidr, &net->cidr_addr, &net->cidr_len) < 0)
		*why = "cidr is missing or not an IPv4 network A.B.C.D/LEN";
	else if ((!mode && json_object_object_get_ex(o, "mode", NULL)) ||
		 (mode && strcmp(mode, "tun") && strcmp(mode, "tap")))
		*why = "mode must be tun or tap";
	else if (!get_uint(o, "subnet_len", 32, &subnet_len) ||
		 !get_uint(o, "port", 65535, &port) || !get_uint(o, "mtu", MTU_MAX, &mtu) ||
		 !get_uint(o, "keepalive", KEEPALIVE_MAX_S, &keepalive))
		*why = "subnet_len, port, mtu and keepalive must be numbers in range";
	else {
		net->subnet_len = (uint8_t)subnet_len;
		net->port = (uint16_t)port;
		net->mtu = (uint16_t)mtu;
		net->keepalive_s = (uint16_t)keepalive;
		net->is_tap = mode && !strcmp(mode, "tap");
		r = tapir_mesh_net_check(net, why);
	}
	json_object_put(o);
	return r;
}

static void cidr_text(char out[TAPIR_MESH_CIDR_TEXT], uint32_t addr, unsigned len)
{
	struct in_addr a = {.s_addr = htonl(addr)};
	char text[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, text, sizeof(text));
	snprintf(out, TAPIR_MESH_CIDR_TEXT, "%s/%u", text, len);
}

char *tapir_mesh_net_format(const struct tapir_mesh_net *net)
{
	char cidr[TAPIR_MESH_CIDR_TEXT], admin[TAPIR_KEY_BASE64_LEN + 1];
	char *s;

	cidr_text(cidr, net->cidr_addr, net->cidr_len);
	tapir_key_to_base64(admin, net->admin_key);
	if (asprintf(&s,
		     "{\"cidr\":\"%s\",\"subnet_len\":%u,\"mode\":\"%s\",\"port\":%u,"
		     "\"mtu\":%u,\"keepalive\":%u%s%s%s}",
		     cidr, net->subnet_len, tapir_mesh_mode_name(net), net->port, net->mtu,
		     net->keepalive_s, net->has_admin_key ? ",\"admin_key\":\"" : "",
		     net->has_admin_key ? admin : "", net->has_admin_key ? "\"" : "") < 0)
		return NULL;
	return s;
}

const char *tapir_mesh_mode_name(const struct tapir_mesh_net *net)
{
	return net->is_tap ? "tap" : "tun";
}

unsigned tapir_mesh_link_mtu(const struct tapir_mesh_net *net)
{
	return net->mtu - (net->is_tap ? TAPIR_MESH_L2_OVERHEAD_BYTES : 0u);
}

uint32_t tapir_mesh_n_subnets(const struct tapir_mesh_net *net)
{
	return 1u << (net->subnet_len - net->cidr_len);
}

uint32_t tapir_mesh_subnet_addr(const struct tapir_mesh_net *net, uint32_t subnet)
{
	return net->cidr_addr + (subnet << (32 - net->subnet_len));
}

void tapir_mesh_subnet_text(char out[TAPIR_MESH_CIDR_TEXT], const struct tapir_mesh_net *net,
			    uint32_t subnet)
{
	cidr_text(out, tapir_mesh_subnet_addr(net, subnet), net->subnet_len);
}

void tapir_mesh_prefix(char out[TAPIR_MESH_KEY_MAX], const char *name, const char *what)
{
	snprintf(out, TAPIR_MESH_KEY_MAX, "%s%s/%s", KEY_ROOT, name, what);
}

void tapir_mesh_subnet_key(char out[TAPIR_MESH_KEY_MAX], const struct tapir_mesh_net *net,
			   uint32_t subnet)
{
	char text[TAPIR_MESH_CIDR_TEXT];

	tapir_mesh_subnet_text(text, net, subnet);
	*strchr(text, '/') = '-';
	snprintf(out, TAPIR_MESH_KEY_MAX, "%s%s/subnets/%s", KEY_ROOT, net->name, text);
}

/* The subnet number of "A.B.C.D/LEN" in @net, or -EINVAL when it is not one of its subnets. */
static int subnet_of(const struct tapir_mesh_net *net, const char *text, uint32_t *subnet_out)
{
	uint32_t addr;
	uint8_t len;

	if (tapir_mesh_cidr_parse(text, &addr, &len) < 0 || len != net->subnet_len)
		return -EINVAL;
	if (net->cidr_len && ((addr ^ net->cidr_addr) >> (32 - net->cidr_len)))
		return -EINVAL; /* outside the CIDR */
	*subnet_out = (addr - net->cidr_addr) >> (32 - net->subnet_len);
	return 0;
}

int tapir_mesh_key_subnet(const struct tapir_mesh_net *net, const char *key, size_t len,
			  uint32_t *subnet_out)
{
	char prefix[TAPIR_MESH_KEY_MAX], text[TAPIR_MESH_CIDR_TEXT], *dash;
	size_t plen;

	tapir_mesh_prefix(prefix, net->name, "subnets/");
	plen = strlen(prefix);
	if (len <= plen || len - plen >= sizeof(text) || memcmp(key, prefix, plen))
		return -EINVAL;
	memcpy(text, key + plen, len - plen);
	text[len - plen] = '\0';
	dash = strchr(text, '-');
	if (!dash || memchr(key, '\0', len))
		return -EINVAL;
	*dash = '/';
	return subnet_of(net, text, subnet_out);
}

void tapir_mesh_revoked_key(char out[TAPIR_MESH_KEY_MAX], const char *name, const uint8_t key[32])
{
	char hex[TAPIR_KEY_HEX_LEN + 1];

	tapir_key_to_hex(hex, key);
	snprintf(out, TAPIR_MESH_KEY_MAX, "%s%s/revoked/%s", KEY_ROOT, name, hex);
}

int tapir_mesh_key_revoked(const char *name, const char *key, size_t len, uint8_t out[32])
{
	char prefix[TAPIR_MESH_KEY_MAX];
	size_t plen;

	tapir_mesh_prefix(prefix, name, "revoked/");
	plen = strlen(prefix);
	if (len != plen + TAPIR_KEY_HEX_LEN || memcmp(key, prefix, plen))
		return -EINVAL;
	return tapir_key_from_hex(out, key + plen, TAPIR_KEY_HEX_LEN) < 0 ? -EINVAL : 0;
}

bool tapir_mesh_endpoint_is_valid(const char *s)
{
	char host[INET6_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	uint8_t addr[16];
	unsigned long port;
	size_t hlen;
	char *end;

	if (!colon || colon == s || colon[1] < '0' || colon[1] > '9')
		return false;
	port = strtoul(colon + 1, &end, 10);
	if (*end || !port || port > 65535)
		return false;
	hlen = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hlen < 3 || s[hlen - 1] != ']' || hlen - 2 >= sizeof(host))
			return false;
		memcpy(host, s + 1, hlen - 2);
		host[hlen - 2] = '\0';
		return inet_pton(AF_INET6, host, addr) == 1;
	}
	if (hlen >= sizeof(host))
		return false;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	return inet_pton(AF_INET, host, addr) == 1;
}

static bool is_printable(const char *s)
{
	for (; *s; s++) {
		if (*s < 0x21 || *s > 0x7e)
			return false;
	}
	return true;
}

int tapir_mesh_host_parse(const struct tapir_mesh_net *net, uint32_t key_subnet, const char *json,
			  size_t len, struct tapir_mesh_host *h, const char **why)
{
	struct json_object *o = len <= TAPIR_MESH_RECORD_MAX_BYTES ? parse_object(json, len) : NULL;
	const char *key, *endpoint, *subnet, *hostname, *cert;
	uint32_t n;
	int r = -EINVAL;

	memset(h, 0, sizeof(*h));
	*why = len > TAPIR_MESH_RECORD_MAX_BYTES ? "over 1024 bytes" : "not a JSON object";
	if (!o)
		return r;
	key = get_string(o, "public_key");
	endpoint = get_string(o, "endpoint");
	subnet = get_string(o, "subnet");
	hostname = get_string(o, "hostname");
	cert = get_string(o, "cert");
	if (!key || tapir_key_from_base64(h->public_key, key, strlen(key)) < 0)
		*why = "public_key is missing or not a base64 key";
	else if (!endpoint || strlen(endpoint) >= sizeof(h->endpoint) ||
		 !tapir_mesh_endpoint_is_valid(endpoint))
		*why = "endpoint is missing or not ADDRESS:PORT";
	else if (!subnet || subnet_of(net, subnet, &n) < 0)
		*why = "subnet is missing, of the wrong length or outside the network";
	else if (n != key_subnet)
		*why = "subnet is not the one of its key";
	else if (hostname && (strlen(hostname) >= sizeof(h->hostname) || !is_printable(hostname)))
		*why = "hostname is too long or not printable";
	else if (json_object_object_get_ex(o, "cert", NULL) &&
		 (!cert || strlen(cert) >= sizeof(h->cert)))
		*why = "cert is too long or not a string";
	else {
		if (cert)
			memcpy(h->cert, cert, strlen(cert) + 1);
		memcpy(h->endpoint, endpoint, strlen(endpoint) + 1);
		if (hostname)
			memcpy(h->hostname, hostname, strlen(hostname) + 1);
		h->subnet = n;
		r = 0;
	}
	json_object_put(o);
	return r;
}

char *tapir_mesh_host_format(const struct tapir_mesh_net *net, const struct tapir_mesh_host *h)
{
	char key[TAPIR_KEY_BASE64_LEN + 1], subnet[TAPIR_MESH_CIDR_TEXT];
	struct json_object *o = json_object_new_object();
	char *s;

	tapir_key_to_base64(key, h->public_key);
	tapir_mesh_subnet_text(subnet, net, h->subnet);
	json_object_object_add(o, "public_key", json_object_new_string(key));
	json_object_object_add(o, "endpoint", json_object_new_string(h->endpoint));
	json_object_object_add(o, "subnet", json_object_new_string(subnet));
	if (h->hostname[0])
		json_object_object_add(o, "hostname", json_object_new_string(h->hostname));
	if (h->cert[0])
		json_object_object_add(o, "cert", json_object_new_string(h->cert));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}
