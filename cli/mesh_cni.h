/* SPDX-License-Identifier: MIT */
/*
 * tapir mesh cni (mesh_cni.c): subnet.env, as the agent writes it, read back; and the CNI
 * network configuration made from it. Addresses are IPv4 in host byte order.
 */
#ifndef TAPIR_MESH_CNI_H
#define TAPIR_MESH_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAPIR_MESH_CNI_VERSION "1.0.0"

enum {
	TAPIR_MESH_ENV_MAX_BYTES = 4096,
	TAPIR_MESH_ENV_LINE_MAX = 128,
};

/* NETWORK=A.B.C.D/LEN, SUBNET=GATEWAY/LEN, MTU=N; other keys (IPMASQ) are ignored. */
struct tapir_mesh_env {
	uint32_t network_addr, subnet_addr, gateway;
	uint8_t network_len, subnet_len;
	uint16_t mtu;
	unsigned line; /* after an error: the line it is on, or 0 for the file as a whole */
};

struct tapir_mesh_cni_opts {
	const char *bridge;   /* the bridge's interface name */
	const char *name;     /* the CNI network's name */
	const char *data_dir; /* host-local's dataDir, or NULL for the plugin's default */
};

/*
 * Parses @len bytes of subnet.env (no NUL needed, none allowed). 0, or -EINVAL with *why a
 * short reason and env->line its line; never reads past @len.
 */
int tapir_mesh_env_parse(const char *text, size_t len, struct tapir_mesh_env *env,
			 const char **why);
/* 0, or -EINVAL with *why naming the option that is not valid. */
int tapir_mesh_cni_check(const struct tapir_mesh_cni_opts *o, const char **why);
/* The conflist for a parsed @env and checked @o: a new string (free), or NULL. */
char *tapir_mesh_cni_format(const struct tapir_mesh_env *env, const struct tapir_mesh_cni_opts *o);
/* tapir mesh cni (argv[0] is "cni"): prints the conflist. Exit status 0, 1 or 2. */
int tapir_mesh_cni(int argc, char **argv);

#endif
