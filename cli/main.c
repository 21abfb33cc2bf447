// SPDX-License-Identifier: MIT
/* tapir(8): placeholder dispatcher, replaced by the CLI work. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "tapir: not implemented yet\n");
	return 1;
}
