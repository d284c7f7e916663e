/* fuzz_table.c -- libFuzzer target for src/table.c: salvage and parse
 * arbitrary bytes as an .index table; check the salvaged keys' order, on
 * success look every key up again, and read every value byte.  Random mutations rarely keep a block CRC valid; compiling
 * src/table.c with -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION makes it
 * accept any stored CRC but 0 so they reach the block decoders (never in
 * a build whose unit tests run: test_table checks CRC failures). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where every value byte goes, so that none is read for nothing. */
static volatile uint8_t sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt_table *t;
	struct ckpt_err err;
	size_t i, j;

	struct ckpt_buf report = { 0 };

	/* what salvage reads of the same bytes: keys in order, each once,
	 * every value inside the input or the table */
	ckpt_err_clear(&err);
	if (ckpt_table_salvage(data, size, "fuzz", &t, &report, &err) == 0) {
		for (i = 0; i < t->n; i++) {
			const struct ckpt_kv *kv = &t->kv[i];

			if (i > 0 &&
			    ckpt_key_cmp(t->kv[i - 1].key.data,
					 t->kv[i - 1].key.len, kv->key.data,
					 kv->key.len) >= 0)
				abort();
			for (j = 0; j < kv->value.len; j++)
				sink ^= kv->value.data[j];
		}
		ckpt_table_free(t);
	}
	ckpt_buf_free(&report);
	ckpt_err_clear(&err);
	if (ckpt_table_parse(data, size, "fuzz", &t, &err) < 0)
		return 0;
	for (i = 0; i < t->n; i++) {
		const struct ckpt_kv *kv = &t->kv[i];

		if (ckpt_table_find(t, kv->key.data, kv->key.len) != kv)
			abort();
		/* touch every value byte so ASan sees a bad pointer */
		for (j = 0; j < kv->value.len; j++)
			sink ^= kv->value.data[j];
	}
	ckpt_table_free(t);
	return 0;
}
