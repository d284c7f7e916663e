/* tensor.h -- what the bytes of a stored tensor mean: the DataType table,
 * shapes, the DT_STRING layout with its length checksum, and the
 * OrderedCode keys of partitioned ("sliced") tensors.  No I/O here. */
#ifndef CKPT_TENSOR_H
#define CKPT_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coding.h"
#include "err.h"

/* TensorFlow's DataType enum values (types.proto). */
enum ckpt_dtype {
	CKPT_DT_INVALID = 0,
	CKPT_DT_FLOAT = 1,
	CKPT_DT_DOUBLE = 2,
	CKPT_DT_INT32 = 3,
	CKPT_DT_UINT8 = 4,
	CKPT_DT_INT16 = 5,
	CKPT_DT_INT8 = 6,
	CKPT_DT_STRING = 7,
	CKPT_DT_COMPLEX64 = 8,
	CKPT_DT_INT64 = 9,
	CKPT_DT_BOOL = 10,
	CKPT_DT_QINT8 = 11,
	CKPT_DT_QUINT8 = 12,
	CKPT_DT_QINT32 = 13,
	CKPT_DT_BFLOAT16 = 14,
	CKPT_DT_QINT16 = 15,
	CKPT_DT_QUINT16 = 16,
	CKPT_DT_UINT16 = 17,
	CKPT_DT_COMPLEX128 = 18,
	CKPT_DT_HALF = 19,
	CKPT_DT_RESOURCE = 20,
	CKPT_DT_VARIANT = 21,
	CKPT_DT_UINT32 = 22,
	CKPT_DT_UINT64 = 23,
	CKPT_DT_FLOAT8_E5M2 = 24,
	CKPT_DT_FLOAT8_E4M3FN = 25,
	CKPT_DT_FLOAT8_E4M3FNUZ = 26,
	CKPT_DT_FLOAT8_E4M3B11FNUZ = 27,
	CKPT_DT_FLOAT8_E5M2FNUZ = 28,
	CKPT_DT_INT4 = 29,
	CKPT_DT_UINT4 = 30,
	CKPT_DT_INT2 = 31,
	CKPT_DT_UINT2 = 32,
};

#define CKPT_MAX_RANK 254

/* Bytes per element for fixed-size dtypes; 0 for STRING and VARIANT
 * (variable length) and for dtypes that cannot be stored or are unknown. */
size_t ckpt_dtype_size(int dtype);

/* True if a checkpoint entry may have this dtype (fixed-size, STRING or
 * VARIANT). */
bool ckpt_dtype_storable(int dtype);

/* True if TensorFlow restores a slice of a tensor of DTYPE stored whole,
 * or a whole tensor from slices other than those asked for
 * (BundleReader::GetSliceValue() copies between slices of float, double,
 * int8/16/32/64, uint8, complex64/128, bool, qint8, quint8, qint32 and
 * bfloat16 only; any other, strings included, restores only from slices
 * exactly as asked). */
bool ckpt_dtype_slices_copied(int dtype);

/* TensorFlow's Python name ("float32", "int64", "string", "bfloat16", ...),
 * or NULL for DT_INVALID, *_REF values and unknown values. */
const char *ckpt_dtype_name(int dtype);

/* Inverse of ckpt_dtype_name(); also accepts "DT_FLOAT"-style enum names
 * and "float", "double", "half" (case-sensitive), each also after "tf.",
 * "np." or "numpy." ("tf.float32").  Return the dtype or -1. */
int ckpt_dtype_from_name(const char *name);

/* Element count of a shape; -EOVERFLOW if it exceeds INT64_MAX, -EINVAL if
 * a dim is negative or RANK > CKPT_MAX_RANK.  Any 0 dim gives 0 elements,
 * however large the other dims are. */
int ckpt_shape_elems(const int64_t *dims, int rank, uint64_t *out);

/* "2,3" style text of a shape ("" for a scalar) into BUF; return 0 or
 * -ENOSPC (BUF then holds the whole dims that fit), -EINVAL for a bad
 * rank. */
int ckpt_shape_format(const int64_t *dims, int rank, char *buf, size_t len);

/* Parse "2,3" / "[2, 3]" / "(2, 3)" / "(2,)" / "" / "[]" into DIMS (room
 * for CKPT_MAX_RANK); whitespace between tokens is ignored; dims are
 * decimal digits only.
 * Shapes with more than INT64_MAX elements are rejected.  Return 0 or
 * -EINVAL (DIMS and RANK untouched). */
int ckpt_shape_parse(const char *text, int64_t *dims, int *rank);

/* Expected stored size of a fixed-size tensor; -ENOTSUP for variable-size
 * dtypes, -EOVERFLOW. */
int ckpt_tensor_fixed_size(int dtype, const int64_t *dims, int rank,
			   uint64_t *out);

/* --- DT_STRING ---------------------------------------------------------
 * Layout of N elements: N varint64 lengths, fixed32 mask(crc32c of the
 * lengths as 4-byte LE integers, 8-byte if > UINT32_MAX), then the bytes. */

/* Decode a stored string tensor of NELEMS elements.  On success LENS[i] and
 * DATA[i] (arrays the caller provides, NELEMS long; DATA[i] points into
 * BUF) describe element i.  Checks the framing and the length checksum.
 * Return 0, -EBADMSG. */
int ckpt_string_decode(const uint8_t *buf, size_t len, uint64_t nelems,
		       uint64_t *lens, const uint8_t **data);

/* Walk a stored string tensor, validating it and computing its entry CRC
 * (unmasked) without copying; return 0 or -EBADMSG. */
int ckpt_string_check(const uint8_t *buf, size_t len, uint64_t nelems,
		      uint32_t *entry_crc);

/* Encode NELEMS strings in TensorFlow's layout, appending to OUT; *CRC is
 * set to the (unmasked) entry CRC.  Return 0 or -ENOMEM (-EOVERFLOW,
 * -EINVAL for NULL data with a non-zero length); OUT is unchanged on
 * failure. */
int ckpt_string_encode(const uint8_t *const *data, const uint64_t *lens,
		       uint64_t nelems, struct ckpt_buf *out, uint32_t *crc);

/* The same in the byte order of a bundle whose header says BIG_ENDIAN
 * (the length checksum and the lengths fed to it are then big-endian;
 * see ckpt_string_parse()). */
int ckpt_string_encode_order(const uint8_t *const *data,
			     const uint64_t *lens, uint64_t nelems,
			     bool big_endian, struct ckpt_buf *out,
			     uint32_t *crc);

/* The bytes a string tensor of one element of LEN bytes starts with (its
 * varint length and the masked CRC-32C of it), written at OUT (room for
 * CKPT_STRING_HEAD_MAX); return their count.  Its LEN bytes follow. */
#define CKPT_STRING_HEAD_MAX 14
size_t ckpt_string_head(uint8_t *out, uint64_t len, bool big_endian);

/* Encode the bytes of BUF as a string tensor of one element, in place:
 * what ckpt_string_encode_order() would append for them, without a second
 * copy (an object graph can be tens of MB).  Return 0 or -ENOMEM,
 * -EOVERFLOW; BUF is unchanged on failure. */
int ckpt_string_encode_in_place(struct ckpt_buf *buf, bool big_endian);

/* The general form of ckpt_string_decode()/ckpt_string_check(): BIG_ENDIAN
 * as in the bundle header (the length checksum and the lengths fed to it
 * are then big-endian); LENS, DATA and ENTRY_CRC may each be NULL.  The
 * size must be exact; NELEMS > LEN is rejected before LENS/DATA are
 * touched.  Return 0 or -EBADMSG. */
int ckpt_string_parse(const uint8_t *buf, size_t len, uint64_t nelems,
		      bool big_endian, uint64_t *lens, const uint8_t **data,
		      uint32_t *entry_crc);

/* The length checksum of string lengths fed one at a time: start from
 * { 0 }, ckpt_lencrc_add() each length, ckpt_lencrc_end() gives the
 * unmasked checksum (and resets LC). */
struct ckpt_lencrc {
	uint32_t crc;
	size_t n;
	uint8_t buf[512];
};

void ckpt_lencrc_add(struct ckpt_lencrc *lc, uint64_t v, bool big_endian);
uint32_t ckpt_lencrc_end(struct ckpt_lencrc *lc);

/* Say in WHY (WLEN bytes) what is wrong with the stored string tensor BUF
 * that ckpt_string_parse() refuses: too small for NELEMS, a length that
 * is not a varint, lengths that do not add up to the bytes after them,
 * or the lengths' checksum (as stored, and the right one: masked, as
 * TensorFlow stores it). */
void ckpt_string_explain(const uint8_t *buf, size_t len, uint64_t nelems,
			 bool big_endian, char *why, size_t wlen);

/* The unmasked length checksum L of N string lengths (FORMAT.md 5.3). */
uint32_t ckpt_string_lengths_crc(const uint64_t *lens, uint64_t n,
				 bool big_endian);

/* --- partitioned tensors ----------------------------------------------- */

/* One dimension of a slice: LENGTH -1 means "the whole dimension". */
struct ckpt_extent {
	int64_t start;
	int64_t length;
};

/* EncodeTensorNameSlice(): NumInc(0) Str(name) NumInc(rank) then for each
 * dim SNum(start) SNum(length) (full = 0, -1).  Appends to OUT.  Return 0,
 * -ENOMEM, or -EINVAL for a bad rank or an extent other than (0, -1) or
 * (start >= 0, length >= 0, start + length <= INT64_MAX); OUT is unchanged
 * on failure. */
int ckpt_slice_key_encode(const void *name, size_t nlen,
			  const struct ckpt_extent *ext, int rank,
			  struct ckpt_buf *out);

/* Decode a slice key: the name is unescaped into NAMEBUF (KLEN bytes are
 * always enough), its length stored in *NLEN.  EXT has room for
 * CKPT_MAX_RANK.  Rejects truncated keys, trailing bytes, non-canonical
 * numbers (so re-encoding gives KEY back) and extents the encoder would
 * refuse.  Return 0 or -EBADMSG. */
int ckpt_slice_key_decode(const uint8_t *key, size_t klen, uint8_t *namebuf,
			  size_t *nlen, struct ckpt_extent *ext, int *rank);

/* OrderedCode primitives (exposed for tests).  The readers advance *P only
 * on success and accept only the canonical (shortest) encodings. */
int ckpt_oc_put_numinc(struct ckpt_buf *out, uint64_t v);
int ckpt_oc_put_snum(struct ckpt_buf *out, int64_t v);
int ckpt_oc_get_numinc(const uint8_t **p, const uint8_t *limit, uint64_t *v);
int ckpt_oc_get_snum(const uint8_t **p, const uint8_t *limit, int64_t *v);

/* --- printing ---------------------------------------------------------- */

/* Append a readable text of one element of a fixed-size tensor (ELEM
 * holds its ckpt_dtype_size() stored bytes; BIG_ENDIAN as in the bundle
 * header) to OUT, e.g. "0.5", "-3", "true", "(1+2j)".  Floats print the
 * shortest text that reads back to the same value of their own width
 * ("0.1" for float16 0x2e66), positional for 1e-4 <= |v| < 1e16 and
 * scientific otherwise like Python's repr but without a trailing ".0"
 * ("3", "65500" for float16 65504, "1e+16", "nan", "-inf"); float8
 * types, read as ml_dtypes defines them, exactly ("448", "0.001953125");
 * int4/uint4 print the low nibble's value.  Return 0,
 * -ENOMEM, or -ENOTSUP for a dtype without a fixed size. */
int ckpt_value_format(int dtype, const uint8_t *elem, bool big_endian,
		      struct ckpt_buf *out);

/* The same, but a float (float16, bfloat16, float32, complex64's parts)
 * as the shortest text that reads back as its exact value in double
 * precision ("0.333984375" for bfloat16 0x3eab, "0.10000000149011612"
 * for float32 0.1): what a program reading it as a double, or narrowing
 * that to float32 or the tensor's own width, must get (JSON). */
int ckpt_value_format_exact(int dtype, const uint8_t *elem, bool big_endian,
			    struct ckpt_buf *out);

/* float16 / bfloat16 bit patterns to float. */
float ckpt_half_to_float(uint16_t h);
float ckpt_bfloat16_to_float(uint16_t b);

#endif
