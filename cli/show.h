// SPDX-License-Identifier: MIT
/*
 * One interface as tapir show reads it from a UAPI get (cli/show_get.c parses it). The structs
 * live in src/control/metrics.h, with the metrics formatter tapird's HTTP endpoint shares.
 */
#ifndef TAPIR_CLI_SHOW_H
#define TAPIR_CLI_SHOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h" /* the model: struct device_info and friends */

#endif
