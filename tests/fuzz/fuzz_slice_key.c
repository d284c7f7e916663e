/* fuzz_slice_key.c -- libFuzzer target for OrderedCode slice keys.
 *
 * Decodes the input as a slice key; a key that decodes must re-encode to
 * exactly the same bytes (the decoder accepts canonical encodings only).
 * Also walks the input as a run of SNum and NumInc values. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "tensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode every SNum (then every NumInc) of KEY until the first failure;
 * each value read must re-encode to the bytes it came from. */
static void
walk_numbers(const uint8_t *key, size_t len)
{
	struct ckpt_buf out = { 0 };
	const uint8_t *p = key, *q;
	int64_t s;
	uint64_t u;

	while ((q = p, ckpt_oc_get_snum(&p, key + len, &s) == 0)) {
		out.len = 0;
		if (ckpt_oc_put_snum(&out, s) < 0)
			break;
		if (out.len != (size_t)(p - q) || memcmp(out.data, q, out.len))
			abort();
	}
	p = key;
	while ((q = p, ckpt_oc_get_numinc(&p, key + len, &u) == 0)) {
		out.len = 0;
		if (ckpt_oc_put_numinc(&out, u) < 0)
			break;
		if (out.len != (size_t)(p - q) || memcmp(out.data, q, out.len))
			abort();
	}
	ckpt_buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ckpt_extent ext[CKPT_MAX_RANK];
	struct ckpt_buf out = { 0 };
	uint8_t *key, *name;
	size_t nlen;
	int rank;

	/* Exact-size copies, so ASan sees any over-read or over-write. */
	if ((key = malloc(size ? size : 1)) == NULL)
		return 0;
	if ((name = malloc(size ? size : 1)) == NULL) {
		free(key);
		return 0;
	}
	memcpy(key, data, size);
	if (ckpt_slice_key_decode(key, size, name, &nlen, ext, &rank) == 0) {
		if (nlen > size || rank < 0 || rank > CKPT_MAX_RANK)
			abort();
		if (ckpt_slice_key_encode(name, nlen, ext, rank, &out) == 0 &&
		    (out.len != size || memcmp(out.data, key, size) != 0))
			abort();
	}
	walk_numbers(key, size);
	ckpt_buf_free(&out);
	free(name);
	free(key);
	return 0;
}
