// SPDX-License-Identifier: MIT
/* placeholder: not written yet */
#include <stdio.h>

#include "cli.h"

int tapir_cmd_show(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "%s: not implemented yet\n", argv[0]);
	return 1;
}

int tapir_cmd_showconf(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "%s: not implemented yet\n", argv[0]);
	return 1;
}
