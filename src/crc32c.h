/* crc32c.h -- CRC-32C (Castagnoli) and the masking TensorFlow stores.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
 * run time) and a slicing-by-8 table otherwise; both give identical
 * results. */
#ifndef CKPT_CRC32C_H
#define CKPT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue CRC (a finished CRC-32C value, 0 to start) over N bytes. */
uint32_t ckpt_crc32c_extend(uint32_t crc, const void *data, size_t n);

static inline uint32_t
ckpt_crc32c(const void *data, size_t n)
{
	return ckpt_crc32c_extend(0, data, n);
}

#define CKPT_CRC_MASK_DELTA 0xa282ead8u

/* The masked form stored on disk: rotate right by 15, add a constant. */
static inline uint32_t
ckpt_crc_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + CKPT_CRC_MASK_DELTA;
}

static inline uint32_t
ckpt_crc_unmask(uint32_t masked)
{
	uint32_t rot = masked - CKPT_CRC_MASK_DELTA;

	return (rot >> 17) | (rot << 15);
}

/* The CRC-32C of A followed by B, from CRC1 = crc(A), CRC2 = crc(B) and
 * LEN2 = the length of B (so that halves can be checked in parallel). */
uint32_t ckpt_crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t len2);

/* CRC extended by N zero bytes, without reading them (a hole of a sparse
 * file): O(log N). */
uint32_t ckpt_crc32c_extend_zeros(uint32_t crc, uint64_t n);

/* 1 if the hardware path is in use, 0 for the table. */
int ckpt_crc32c_hw(void);

/* Software-only version, for tests comparing both paths. */
uint32_t ckpt_crc32c_extend_sw(uint32_t crc, const void *data, size_t n);

#endif
