/* crc32c.c -- CRC-32C: the SSE4.2 instruction where the CPU has it (three
 * streams at once over long buffers), slicing-by-8 tables otherwise.  The
 * path is chosen once, at load time. */
#include "config.h"

#include "crc32c.h"

#include <string.h>

#define POLY 0x82f63b78u	/* Castagnoli, reflected */

static uint32_t table[8][256];

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t n);
static uint32_t (*crc_impl)(uint32_t, const uint8_t *, size_t) = crc_sw;

/* Combining: crc(A B) = crc(A) * x^(8 |B|) + crc(B) over GF(2) modulo
 * the polynomial (the pre- and post-inversions cancel; for the raw
 * register, crc(A B) = crc(A) * x^(8 |B|) + crc from 0 over B).
 * Polynomials are in the reflected order the CRC uses: bit 31 holds
 * x^0. */
#define GF2_ONE 0x80000000u

/* A * B modulo the polynomial. */
static uint32_t
gf2_mulmod(uint32_t a, uint32_t b)
{
	uint32_t prod = 0;

	for (int i = 0; i < 32; i++) {
		if (a & GF2_ONE)
			prod ^= b;
		a <<= 1;
		b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;	/* b *= x */
	}
	return prod;
}

/* x^(8 N) modulo the polynomial: the factor that appends N zero bytes. */
static uint32_t
gf2_zeros(uint64_t n)
{
	uint32_t pow = GF2_ONE, sq = GF2_ONE >> 8;	/* 1, x^8 */

	for (; n != 0; n >>= 1) {
		if (n & 1)
			pow = gf2_mulmod(pow, sq);
		sq = gf2_mulmod(sq, sq);
	}
	return pow;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* The instruction takes three cycles and one can start every cycle, so
 * the hardware path runs three streams over adjacent blocks of HW_BLOCK
 * bytes and joins their CRCs: a register times x^(8 HW_BLOCK), one
 * table per byte of it (linear over GF(2)), set up with the path. */
#define HW_BLOCK 8192
static uint32_t shift_block[4][256];

static uint32_t
shift_by_block(uint32_t c)
{
	return shift_block[0][c & 0xff] ^ shift_block[1][(c >> 8) & 0xff] ^
	       shift_block[2][(c >> 16) & 0xff] ^ shift_block[3][c >> 24];
}
#endif

__attribute__((constructor)) static void
crc32c_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	for (unsigned i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^
				      table[0][table[t - 1][i] & 0xff];
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	{
		extern uint32_t ckpt_crc_hw_x86(uint32_t, const uint8_t *,
						size_t);

		__builtin_cpu_init();
		if (__builtin_cpu_supports("sse4.2")) {
			uint32_t k = gf2_zeros(HW_BLOCK);

			for (unsigned t = 0; t < 4; t++)
				for (uint32_t i = 0; i < 256; i++)
					shift_block[t][i] =
						gf2_mulmod(k, i << (8 * t));
			crc_impl = ckpt_crc_hw_x86;
		}
	}
#endif
}

/* Raw (unfinalised) state in, raw state out. */
static uint32_t
crc_sw(uint32_t c, const uint8_t *p, size_t n)
{
	while (n > 0 && ((uintptr_t)p & 7) != 0) {
		c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
		n--;
	}
	while (n >= 8) {
		uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
				   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
			      (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;

		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		    table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		    table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		    table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n-- > 0)
		c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
uint32_t ckpt_crc_hw_x86(uint32_t c, const uint8_t *p, size_t n);

__attribute__((target("sse4.2"))) uint32_t
ckpt_crc_hw_x86(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64;

	while (n > 0 && ((uintptr_t)p & 7) != 0) {
		c = __builtin_ia32_crc32qi(c, *p++);
		n--;
	}
	c64 = c;
	for (; n >= 3 * HW_BLOCK; p += 3 * HW_BLOCK, n -= 3 * HW_BLOCK) {
		uint64_t c1 = 0, c2 = 0;

		for (size_t i = 0; i < HW_BLOCK; i += 8) {
			uint64_t v0, v1, v2;

			memcpy(&v0, p + i, 8);
			memcpy(&v1, p + HW_BLOCK + i, 8);
			memcpy(&v2, p + 2 * HW_BLOCK + i, 8);
			c64 = __builtin_ia32_crc32di(c64, v0);
			c1 = __builtin_ia32_crc32di(c1, v1);
			c2 = __builtin_ia32_crc32di(c2, v2);
		}
		c64 = shift_by_block(shift_by_block((uint32_t)c64) ^
				     (uint32_t)c1) ^
		      (uint32_t)c2;
	}
	while (n >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c64 = __builtin_ia32_crc32di(c64, v);
		p += 8;
		n -= 8;
	}
	c = (uint32_t)c64;
	while (n-- > 0)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}
#endif

uint32_t
ckpt_crc32c_extend(uint32_t crc, const void *data, size_t n)
{
	return ~crc_impl(~crc, data, n);
}

uint32_t
ckpt_crc32c_extend_sw(uint32_t crc, const void *data, size_t n)
{
	return ~crc_sw(~crc, data, n);
}

uint32_t
ckpt_crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t len2)
{
	return gf2_mulmod(gf2_zeros(len2), crc1) ^ crc2;
}

uint32_t
ckpt_crc32c_extend_zeros(uint32_t crc, uint64_t n)
{
	/* zero bytes multiply the register (the CRC inverted) by x^(8 N) */
	return ~gf2_mulmod(gf2_zeros(n), ~crc);
}

int
ckpt_crc32c_hw(void)
{
	return crc_impl != crc_sw;
}
