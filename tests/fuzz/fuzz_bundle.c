/* fuzz_bundle.c -- libFuzzer target for src/bundle.c: arbitrary bytes as
 * a whole .index (header, entries, slices), opened from memory; on success
 * every entry's geometry is walked and every partitioned tensor located. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt_err err = { 0 };
	struct ckpt_bundle *b;
	char shape[4096];

	if (ckpt_bundle_open_mem(data, size, "fuzz.index", &b, &err) < 0)
		return 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct ckpt_entry *e = &b->entries[i];

		if (ckpt_bundle_find(b, e->key, e->key_len) != e)
			abort();
		ckpt_shape_format(e->dims, e->rank, shape, sizeof(shape));
		for (size_t k = 0; k < e->nparts; k++)
			if (!e->parts[k].entry->is_part)
				abort();
	}
	ckpt_bundle_close(b);
	return 0;
}
