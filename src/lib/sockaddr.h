/* SPDX-License-Identifier: MIT */
/* A socket address that holds IPv4 or IPv6 (endpoints, packet sources). */
#ifndef TAPIR_SOCKADDR_H
#define TAPIR_SOCKADDR_H

#include <netinet/in.h>
#include <sys/socket.h>

union tapir_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

#endif
