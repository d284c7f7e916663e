/* test_crc32c.c -- covers src/crc32c.c and the mask in crc32c.h: known
 * CRC-32C vectors, extension, agreement of the hardware and table paths on
 * random buffers of many lengths and alignments, masking (FORMAT.md §1,
 * §3.9). */
#include "config.h"

#include <stdint.h>

#include "check.h"
#include "crc32c.h"

/* Deterministic pseudo-random bytes (xorshift32). */
static void
fill_random(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;

	while (n-- > 0) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		*p++ = (uint8_t)x;
	}
}

/* Standard vectors (the check value, RFC 3720 B.4 patterns). */
static void
test_vectors(void)
{
	uint8_t buf[32];
	size_t i;

	CHECK_EQ_U64(ckpt_crc32c("123456789", 9), 0xe3069283u);
	CHECK_EQ_U64(ckpt_crc32c_extend_sw(0, "123456789", 9), 0xe3069283u);
	CHECK_EQ_U64(ckpt_crc32c("", 0), 0);
	CHECK_EQ_U64(ckpt_crc32c_extend(0x12345678u, "", 0), 0x12345678u);
	CHECK_EQ_U64(ckpt_crc32c_extend_sw(0x12345678u, "", 0), 0x12345678u);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ_U64(ckpt_crc32c(buf, sizeof(buf)), 0x8a9136aau);
	memset(buf, 0xff, sizeof(buf));
	CHECK_EQ_U64(ckpt_crc32c(buf, sizeof(buf)), 0x62a8ab43u);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	CHECK_EQ_U64(ckpt_crc32c(buf, sizeof(buf)), 0x46dd794eu);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(31 - i);
	CHECK_EQ_U64(ckpt_crc32c(buf, sizeof(buf)), 0x113fdb5cu);
	/* extending piecewise equals one pass */
	CHECK_EQ_U64(ckpt_crc32c_extend(ckpt_crc32c("1234", 4), "56789", 5),
		     0xe3069283u);
}

/* The hardware path (if any) and the table agree everywhere. */
static void
test_hw_sw_agree(void)
{
	static uint8_t buf[4096 + 16];
	size_t len, off;
	uint32_t seed = 7;

	fprintf(stderr, "crc32c: hardware path %s\n",
		ckpt_crc32c_hw() ? "in use" : "not available");
	fill_random(buf, sizeof(buf), 12345);
	for (len = 0; len <= 300; len++) {
		for (off = 0; off < 16; off++) {
			uint32_t a = ckpt_crc32c_extend(seed, buf + off, len);
			uint32_t b =
				ckpt_crc32c_extend_sw(seed, buf + off, len);

			CHECK_EQ_U64(a, b);
			seed = a;
		}
	}
	for (len = 301; len <= 4096; len += 97) {
		uint8_t *h = check_memdup(buf + (len & 7), len);

		CHECK_EQ_U64(ckpt_crc32c(h, len),
			     ckpt_crc32c_extend_sw(0, h, len));
		/* splitting anywhere gives the same result */
		CHECK_EQ_U64(ckpt_crc32c_extend(ckpt_crc32c(h, len / 3),
						h + len / 3, len - len / 3),
			     ckpt_crc32c(h, len));
		free(h);
	}
}

/* Long buffers, which the hardware path runs as three streams over blocks
 * of 8 KiB joined by shifting: lengths around multiples of the 24 KiB they
 * take together, at every alignment to 8 bytes, from a CRC not 0, and one
 * byte changed anywhere in a block changes the result. */
static void
test_hw_streams(void)
{
	static const size_t lens[] = { 24575, 24576, 24577, 24583, 32768,
				       49151, 49152, 49160, 73729, 100000,
				       262144 + 3 };
	size_t big = 262144 + 3 + 8, i, off;
	uint8_t *buf = malloc(big);
	uint32_t seed = 0xdeadbeefu;

	CHECK(buf != NULL);
	fill_random(buf, big, 777);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (off = 0; off < 8; off++) {
			uint32_t a = ckpt_crc32c_extend(seed, buf + off,
							lens[i]);

			CHECK_EQ_U64(a, ckpt_crc32c_extend_sw(seed, buf + off,
							      lens[i]));
			seed = a;
		}
	}
	for (off = 0; off < 24576 + 8; off += 8191) {
		uint32_t before = ckpt_crc32c(buf, 24576 + 8), after;

		buf[off] ^= 0x10;
		after = ckpt_crc32c(buf, 24576 + 8);
		CHECK(after != before);
		CHECK_EQ_U64(after, ckpt_crc32c_extend_sw(0, buf, 24576 + 8));
		buf[off] ^= 0x10;
	}
	free(buf);
}

/* Combining the CRCs of two parts gives the CRC of the whole: at every
 * split of many lengths up to 600 bytes, and with a second part longer
 * than 4 GiB (2^32 + 5 zero bytes, whose CRC is found by extending). */
static void
test_combine(void)
{
	static uint8_t zeros[1 << 20];
	uint8_t buf[600];
	uint32_t x = 12345, whole, ab, zc, z;
	size_t len, cut;

	for (len = 0; len < sizeof(buf); len++)
		buf[len] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
	for (len = 0; len <= sizeof(buf); len += (len < 40 ? 1 : 37)) {
		whole = ckpt_crc32c(buf, len);
		for (cut = 0; cut <= len; cut++)
			CHECK_EQ_U64(ckpt_crc32c_combine(
					     ckpt_crc32c(buf, cut),
					     ckpt_crc32c(buf + cut, len - cut),
					     len - cut),
				     whole);
	}
	CHECK_EQ_U64(ckpt_crc32c_combine(0x12345678u, 0, 0), 0x12345678u);
	CHECK_EQ_U64(ckpt_crc32c_combine(0, 0xe3069283u, 9), 0xe3069283u);
	ab = ckpt_crc32c("ab", 2);
	zc = 0;
	z = ab;
	for (int i = 0; i < 4096; i++) {
		zc = ckpt_crc32c_extend(zc, zeros, sizeof(zeros));
		z = ckpt_crc32c_extend(z, zeros, sizeof(zeros));
	}
	zc = ckpt_crc32c_extend(zc, zeros, 5);
	z = ckpt_crc32c_extend(z, zeros, 5);
	CHECK_EQ_U64(ckpt_crc32c_combine(ab, zc, ((uint64_t)1 << 32) + 5), z);
	/* zeros appended without reading them: as read, short and long */
	CHECK_EQ_U64(ckpt_crc32c_extend_zeros(ab, ((uint64_t)1 << 32) + 5), z);
	for (len = 0; len < sizeof(buf); len += 7)
		CHECK_EQ_U64(ckpt_crc32c_extend_zeros(whole, len),
			     ckpt_crc32c_extend(whole, zeros, len));
	CHECK_EQ_U64(ckpt_crc32c_extend_zeros(0, 0), 0);
}

/* mask/unmask, and the stored CRC of the worked example. */
static void
test_mask(void)
{
	static const uint8_t half[] = { 0x00, 0x00, 0x00, 0x3f };
	uint32_t x = 1;
	int i;

	CHECK_EQ_U64(ckpt_crc_mask(0), 0xa282ead8u);
	CHECK_EQ_U64(ckpt_crc_unmask(0xa282ead8u), 0);
	CHECK_EQ_U64(ckpt_crc32c(half, sizeof(half)), 0x26973e52u);
	CHECK_EQ_U64(ckpt_crc_mask(ckpt_crc32c(half, sizeof(half))),
		     0x1f273806u);
	CHECK_EQ_U64(ckpt_crc_unmask(0x1f273806u), 0x26973e52u);
	/* rotate right 15: bit 15 lands in bit 0 */
	CHECK_EQ_U64(ckpt_crc_mask(0x8000u), 0xa282ead9u);
	for (i = 0; i < 1000; i++) {
		x = x * 1103515245u + 12345u;
		CHECK_EQ_U64(ckpt_crc_unmask(ckpt_crc_mask(x)), x);
		CHECK(ckpt_crc_mask(x) != x || x == 0);
		CHECK(ckpt_crc_mask(ckpt_crc_mask(x)) != x);
	}
}

int
main(void)
{
	test_vectors();
	test_hw_sw_agree();
	test_hw_streams();
	test_mask();
	test_combine();
	return check_done("test_crc32c");
}
