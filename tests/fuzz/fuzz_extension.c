// SPDX-License-Identifier: MIT
/*
 * Extension frames (extension.h): any payload goes through tapir_ext_parse. A frame it takes
 * must lie inside the input, a CAPS frame must yield a mask of known bits only, and the frame
 * rebuilt with tapir_ext_put_header and no padding must parse to the same result.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extension.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t copy[TAPIR_EXT_FRAME_MAX_BYTES];
	struct tapir_ext_frame f, g;
	uint32_t caps;
	int r = tapir_ext_parse(data, size, &f);

	if (r == -EINVAL)
		return 0;
	if ((r != 0 && r != -EPROTONOSUPPORT) || f.body != data + 3 || f.body_len > size - 3)
		abort();
	if (r == 0 && f.type == TAPIR_EXT_CAPS &&
	    (tapir_ext_parse_caps(&f, &caps) != 0 || (caps & ~(uint32_t)TAPIR_EXT_CAP_KNOWN)))
		abort();
	if (f.body_len > TAPIR_EXT_BODY_MAX_BYTES) /* only unknown types get here */
		return 0;
	if (tapir_ext_put_header(copy, f.type, f.body_len) != TAPIR_EXT_HEADER_LEN_BYTES)
		abort();
	memcpy(copy + TAPIR_EXT_HEADER_LEN_BYTES, f.body, f.body_len);
	if (tapir_ext_parse(copy, TAPIR_EXT_HEADER_LEN_BYTES + f.body_len, &g) != r ||
	    g.type != f.type || g.body_len != f.body_len)
		abort();
	return 0;
}
