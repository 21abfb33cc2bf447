// SPDX-License-Identifier: MIT
/* placeholder: not written yet */
#include <stdio.h>

#include "cli.h"

int tapir_cmd_demo(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "%s: not implemented yet\n", argv[0]);
	return 1;
}
