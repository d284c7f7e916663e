/* fuzz_tensor_string.c -- libFuzzer target for the DT_STRING decoder.
 *
 * Input: byte 0 chooses the element count (below 0x80: that count; else
 * the next 8 bytes, little-endian, so huge counts are tried too; 0xff also
 * selects big-endian order); the rest is the stored tensor.  Checks that
 * check, decode and parse agree, and that a decoded tensor re-encodes to
 * the same checksum, string bytes and entry CRC. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coding.h"
#include "tensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t **ptrs = NULL;
	struct ckpt_buf out = { 0 };
	uint64_t nelems, *lens = NULL, i, nvar = 0;
	uint32_t c1 = 0, c2 = 0, c3 = 0;
	bool be = false;
	uint8_t *buf;
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	if (data[0] < 0x80) {
		nelems = data[0];
		data++, size--;
	} else {
		if (size < 9)
			return 0;
		be = data[0] == 0xff;
		nelems = ckpt_load64le(data + 1);
		data += 9, size -= 9;
	}
	/* An exact-size copy, so ASan catches a one-byte over-read. */
	len = size;
	if ((buf = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(buf, data, len);

	rc = ckpt_string_parse(buf, len, nelems, be, NULL, NULL, &c1);
	if (!be && ckpt_string_check(buf, len, nelems, &c2) != rc)
		abort();
	if (rc == 0 && !be && c1 != c2)
		abort();
	/* Arrays only for counts the buffer could hold at all. */
	if (nelems > len)
		goto out;
	lens = calloc(nelems ? nelems : 1, sizeof(*lens));
	ptrs = calloc(nelems ? nelems : 1, sizeof(*ptrs));
	if (lens == NULL || ptrs == NULL)
		goto out;
	if (ckpt_string_parse(buf, len, nelems, be, lens, ptrs, NULL) != rc)
		abort();
	if (rc < 0 || be)
		goto out;
	for (i = 0; i < nelems; i++) {
		if (ptrs[i] < buf || ptrs[i] > buf + len ||
		    lens[i] > (uint64_t)(buf + len - ptrs[i]))
			abort();
		nvar += ckpt_varint_len(lens[i]);
	}
	/* Varints may be over-long in the input, so compare what follows
	 * them: checksum and string bytes, and the entry CRC. */
	if (ckpt_string_encode(ptrs, lens, nelems, &out, &c3) < 0)
		goto out;
	if (c3 != c1 || out.len < nvar || out.len - nvar > len ||
	    memcmp(out.data + nvar, buf + len - (out.len - nvar),
		   out.len - nvar) != 0)
		abort();
out:
	ckpt_buf_free(&out);
	free(lens);
	free(ptrs);
	free(buf);
	return 0;
}
