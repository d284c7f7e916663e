/* fuzz_state.c -- libFuzzer target for src/state.c: arbitrary bytes as
 * the text of a 'checkpoint' state file. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt_err err = { 0 };
	char *path = NULL;

	if (ckpt_state_parse((const char *)data, size, &path, &err) == 0 &&
	    path == NULL)
		abort();
	free(path);
	return 0;
}
