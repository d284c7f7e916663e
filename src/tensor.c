/* tensor.c -- the meaning of stored tensor bytes: the DataType table,
 * shapes, the DT_STRING layout (FORMAT.md 5.3), OrderedCode slice keys
 * (FORMAT.md 6.2) and the text of one element.
 *
 * Everything here is pure computation on caller-supplied memory.  Every
 * decoder takes (p, limit) or (buf, len), never reads outside it, and
 * checks sizes before it allocates or indexes anything, because the bytes
 * come straight from a possibly hostile checkpoint. */
#include "config.h"

#include "tensor.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

/* --- the DataType table ------------------------------------------------ */

struct dtype_info {
	const char *name;      /* TensorFlow's Python name; NULL: none */
	const char *enum_name; /* types.proto spelling; NULL: none */
	unsigned char size;    /* bytes per element; 0: not fixed-size */
};

/* Indexed by enum value; sizes from FORMAT.md 5.1, and for 27
 * (float8_e4m3b11fnuz, which FORMAT.md saw commented out in types.proto)
 * and 31, 32 (int2, uint2) from the TensorFlow releases that define
 * them: one byte an element, as the other float8 and 4-bit types. */
static const struct dtype_info dtypes[] = {
	[CKPT_DT_INVALID] = { NULL, NULL, 0 },
	[CKPT_DT_FLOAT] = { "float32", "DT_FLOAT", 4 },
	[CKPT_DT_DOUBLE] = { "float64", "DT_DOUBLE", 8 },
	[CKPT_DT_INT32] = { "int32", "DT_INT32", 4 },
	[CKPT_DT_UINT8] = { "uint8", "DT_UINT8", 1 },
	[CKPT_DT_INT16] = { "int16", "DT_INT16", 2 },
	[CKPT_DT_INT8] = { "int8", "DT_INT8", 1 },
	[CKPT_DT_STRING] = { "string", "DT_STRING", 0 },
	[CKPT_DT_COMPLEX64] = { "complex64", "DT_COMPLEX64", 8 },
	[CKPT_DT_INT64] = { "int64", "DT_INT64", 8 },
	[CKPT_DT_BOOL] = { "bool", "DT_BOOL", 1 },
	[CKPT_DT_QINT8] = { "qint8", "DT_QINT8", 1 },
	[CKPT_DT_QUINT8] = { "quint8", "DT_QUINT8", 1 },
	[CKPT_DT_QINT32] = { "qint32", "DT_QINT32", 4 },
	[CKPT_DT_BFLOAT16] = { "bfloat16", "DT_BFLOAT16", 2 },
	[CKPT_DT_QINT16] = { "qint16", "DT_QINT16", 2 },
	[CKPT_DT_QUINT16] = { "quint16", "DT_QUINT16", 2 },
	[CKPT_DT_UINT16] = { "uint16", "DT_UINT16", 2 },
	[CKPT_DT_COMPLEX128] = { "complex128", "DT_COMPLEX128", 16 },
	[CKPT_DT_HALF] = { "float16", "DT_HALF", 2 },
	[CKPT_DT_RESOURCE] = { "resource", "DT_RESOURCE", 0 },
	[CKPT_DT_VARIANT] = { "variant", "DT_VARIANT", 0 },
	[CKPT_DT_UINT32] = { "uint32", "DT_UINT32", 4 },
	[CKPT_DT_UINT64] = { "uint64", "DT_UINT64", 8 },
	[CKPT_DT_FLOAT8_E5M2] = { "float8_e5m2", "DT_FLOAT8_E5M2", 1 },
	[CKPT_DT_FLOAT8_E4M3FN] = { "float8_e4m3fn", "DT_FLOAT8_E4M3FN", 1 },
	[CKPT_DT_FLOAT8_E4M3FNUZ] = { "float8_e4m3fnuz", "DT_FLOAT8_E4M3FNUZ",
				      1 },
	[CKPT_DT_FLOAT8_E4M3B11FNUZ] = { "float8_e4m3b11fnuz",
					 "DT_FLOAT8_E4M3B11FNUZ", 1 },
	[CKPT_DT_FLOAT8_E5M2FNUZ] = { "float8_e5m2fnuz", "DT_FLOAT8_E5M2FNUZ",
				      1 },
	[CKPT_DT_INT4] = { "int4", "DT_INT4", 1 },
	[CKPT_DT_UINT4] = { "uint4", "DT_UINT4", 1 },
	[CKPT_DT_INT2] = { "int2", "DT_INT2", 1 },
	[CKPT_DT_UINT2] = { "uint2", "DT_UINT2", 1 },
};

#define NDTYPES ((int)(sizeof(dtypes) / sizeof(dtypes[0])))

/* The table row of DTYPE, or NULL if DTYPE is out of range. */
static const struct dtype_info *
dtype_info(int dtype)
{
	if (dtype < 0 || dtype >= NDTYPES)
		return NULL;
	return &dtypes[dtype];
}

/* Bytes per element of a fixed-size dtype, else 0. */
size_t
ckpt_dtype_size(int dtype)
{
	const struct dtype_info *d = dtype_info(dtype);

	return d ? d->size : 0;
}

/* True for dtypes a bundle entry may carry. */
bool
ckpt_dtype_storable(int dtype)
{
	return ckpt_dtype_size(dtype) > 0 || dtype == CKPT_DT_STRING ||
	       dtype == CKPT_DT_VARIANT;
}

bool
ckpt_dtype_slices_copied(int dtype)
{
	switch (dtype) {
	case CKPT_DT_FLOAT:
	case CKPT_DT_DOUBLE:
	case CKPT_DT_INT32:
	case CKPT_DT_UINT8:
	case CKPT_DT_INT16:
	case CKPT_DT_INT8:
	case CKPT_DT_COMPLEX64:
	case CKPT_DT_COMPLEX128:
	case CKPT_DT_INT64:
	case CKPT_DT_BOOL:
	case CKPT_DT_QINT32:
	case CKPT_DT_QUINT8:
	case CKPT_DT_QINT8:
	case CKPT_DT_BFLOAT16:
		return true;
	default:
		return false;
	}
}

/* Python name of DTYPE; NULL for DT_INVALID, *_REF and unknown values. */
const char *
ckpt_dtype_name(int dtype)
{
	const struct dtype_info *d = dtype_info(dtype);

	return d ? d->name : NULL;
}

/* Look NAME up as a Python name, a DT_* enum name or an alias, with or
 * without a "tf.", "np." or "numpy." before it. */
int
ckpt_dtype_from_name(const char *name)
{
	static const char *const modules[] = { "tf.", "np.", "numpy." };

	static const struct {
		const char *alias;
		int dtype;
	} aliases[] = {
		{ "float", CKPT_DT_FLOAT },
		{ "double", CKPT_DT_DOUBLE },
		{ "half", CKPT_DT_HALF },
	};
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < (int)(sizeof(modules) / sizeof(modules[0])); i++)
		if (strncmp(name, modules[i], strlen(modules[i])) == 0 &&
		    name[strlen(modules[i])] != 'D') {	/* not tf.DT_FLOAT */
			name += strlen(modules[i]);
			/* np.float was Python's float, a float64 */
			if (strcmp(name, "float") == 0)
				return -1;
			break;
		}
	for (i = 0; i < NDTYPES; i++) {
		if (dtypes[i].name == NULL)
			continue;
		if (strcmp(name, dtypes[i].name) == 0 ||
		    strcmp(name, dtypes[i].enum_name) == 0)
			return i;
	}
	for (i = 0; i < (int)(sizeof(aliases) / sizeof(aliases[0])); i++)
		if (strcmp(name, aliases[i].alias) == 0)
			return aliases[i].dtype;
	return -1;
}

/* --- shapes -------------------------------------------------------------- */

/* Element count of DIMS[0..RANK).  Any 0 dim gives 0 whatever the other
 * dims are (TF's MultiplyWithoutOverflow also yields 0 once a 0 dim has
 * been seen; it would reject [2^40, 2^40, 0] because it multiplies left to
 * right, we accept it as 0 elements, independent of dim order). */
int
ckpt_shape_elems(const int64_t *dims, int rank, uint64_t *out)
{
	uint64_t n = 1;
	int i;

	if (rank < 0 || rank > CKPT_MAX_RANK || (rank > 0 && dims == NULL))
		return -EINVAL;
	for (i = 0; i < rank; i++) {
		if (dims[i] < 0)
			return -EINVAL;
		if (dims[i] == 0)
			n = 0;
	}
	if (n == 0) {
		*out = 0;
		return 0;
	}
	for (i = 0; i < rank; i++) {
		uint64_t d = (uint64_t)dims[i];

		if (n > (uint64_t)INT64_MAX / d)
			return -EOVERFLOW;
		n *= d;
	}
	*out = n;
	return 0;
}

/* "2,3" text of a shape; "" for a scalar.  -EINVAL for a bad rank. */
int
ckpt_shape_format(const int64_t *dims, int rank, char *buf, size_t len)
{
	size_t used = 0;
	int i, n;

	if (rank < 0 || rank > CKPT_MAX_RANK || (rank > 0 && dims == NULL) ||
	    buf == NULL)
		return -EINVAL;
	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (i = 0; i < rank; i++) {
		n = snprintf(buf + used, len - used, "%s%" PRId64,
			     i > 0 ? "," : "", dims[i]);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0'; /* no half-written dim */
			return -ENOSPC;
		}
		used += (size_t)n;
	}
	return 0;
}

/* True for the whitespace ckpt_shape_parse() skips. */
static bool
shape_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Parse "2,3", "[2, 3]", "(2, 3)", "(2,)", "" or "[]" (whitespace anywhere
 * between tokens; a comma may end the dims only inside brackets, as in a
 * Python tuple).  Dims are plain decimal digits; a shape whose element
 * count exceeds INT64_MAX is rejected too, so every parsed shape is a
 * valid TF shape.  DIMS and RANK are written only on success. */
int
ckpt_shape_parse(const char *text, int64_t *dims, int *rank)
{
	int64_t tmp[CKPT_MAX_RANK];
	const char *s = text;
	char close = '\0';	/* the closing bracket, if one opened */
	uint64_t elems;
	int n = 0;

	if (text == NULL || dims == NULL || rank == NULL)
		return -EINVAL;
	while (shape_space(*s))
		s++;
	if (*s == '[' || *s == '(') {
		close = *s == '[' ? ']' : ')';
		s++;
		while (shape_space(*s))
			s++;
	}
	if (*s != '\0' && *s != close) {
		for (;;) {
			int64_t v = 0;

			if (*s < '0' || *s > '9')
				return -EINVAL;
			while (*s >= '0' && *s <= '9') {
				int digit = *s++ - '0';

				if (v > (INT64_MAX - digit) / 10)
					return -EINVAL;
				v = v * 10 + digit;
			}
			if (n == CKPT_MAX_RANK)
				return -EINVAL;
			tmp[n++] = v;
			while (shape_space(*s))
				s++;
			if (*s != ',')
				break;
			s++;
			while (shape_space(*s))
				s++;
			if (close != '\0' && *s == close)
				break;
		}
	}
	if (close != '\0') {
		if (*s != close)
			return -EINVAL;
		s++;
		while (shape_space(*s))
			s++;
	}
	if (*s != '\0')
		return -EINVAL;
	if (ckpt_shape_elems(tmp, n, &elems) < 0)
		return -EINVAL;
	memcpy(dims, tmp, (size_t)n * sizeof(tmp[0]));
	*rank = n;
	return 0;
}

/* Stored byte size of a fixed-size tensor: elements x element size, which
 * must fit an int64 (the entry's size field). */
int
ckpt_tensor_fixed_size(int dtype, const int64_t *dims, int rank, uint64_t *out)
{
	size_t esize = ckpt_dtype_size(dtype);
	uint64_t elems;
	int rc;

	if (esize == 0)
		return -ENOTSUP;
	if ((rc = ckpt_shape_elems(dims, rank, &elems)) < 0)
		return rc;
	if (elems > (uint64_t)INT64_MAX / esize)
		return -EOVERFLOW;
	*out = elems * esize;
	return 0;
}

/* --- DT_STRING ------------------------------------------------------------ */

/* Add length V to LC: 4 bytes if it fits a uint32, else 8, in the
 * producer's byte order (batched: one CRC call per few hundred). */
void
ckpt_lencrc_add(struct ckpt_lencrc *lc, uint64_t v, bool big_endian)
{
	size_t w = v > UINT32_MAX ? 8 : 4, i;

	if (sizeof(lc->buf) - lc->n < w) {
		lc->crc = ckpt_crc32c_extend(lc->crc, lc->buf, lc->n);
		lc->n = 0;
	}
	for (i = 0; i < w; i++) {
		unsigned shift = (unsigned)(big_endian ? w - 1 - i : i) * 8;

		lc->buf[lc->n++] = (uint8_t)(v >> shift);
	}
}

uint32_t
ckpt_lencrc_end(struct ckpt_lencrc *lc)
{
	lc->crc = ckpt_crc32c_extend(lc->crc, lc->buf, lc->n);
	lc->n = 0;
	return lc->crc;
}

/* Unmasked length checksum L of N lengths (FORMAT.md 5.3). */
uint32_t
ckpt_string_lengths_crc(const uint64_t *lens, uint64_t n, bool big_endian)
{
	struct ckpt_lencrc lc = { 0 };
	uint64_t i;

	for (i = 0; i < n; i++)
		ckpt_lencrc_add(&lc, lens[i], big_endian);
	return ckpt_lencrc_end(&lc);
}

/* -EBADMSG, saying why in WHY (WLEN bytes) when WHY is not NULL. */
static int __attribute__((format(printf, 3, 4)))
string_fault(char *why, size_t wlen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL) {
		va_start(ap, fmt);
		vsnprintf(why, wlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* ckpt_string_parse(), saying why it refuses BUF in WHY (if not NULL, WLEN
 * bytes).  Two passes over the varints when DATA is wanted: the first
 * proves the framing, the second fills in the pointers. */
static int
string_parse(const uint8_t *buf, size_t len, uint64_t nelems,
	     bool big_endian, uint64_t *lens, const uint8_t **data,
	     uint32_t *entry_crc, char *why, size_t wlen)
{
	const uint8_t *p = buf, *limit, *body;
	struct ckpt_lencrc lc = { 0 };
	uint64_t i, l, total = 0;
	uint32_t stored, crc;
	size_t at;

	if (buf == NULL && len > 0)
		return -EBADMSG;
	if (nelems == 0 && len != 4)
		return string_fault(why, wlen,
				    "%zu bytes, not the 4 of the checksum of "
				    "no lengths (%08" PRIx32 ", %s-endian)",
				    len, ckpt_crc_mask(0),
				    big_endian ? "big" : "little");
	/* Every element takes at least one varint byte, and the checksum
	 * four more: reject absurd counts before touching LENS/DATA. */
	if (len < 4 || nelems > len - 4)
		return string_fault(why, wlen,
				    "%zu bytes cannot hold %" PRIu64
				    " length%s and their 4-byte checksum",
				    len, nelems, nelems == 1 ? "" : "s");
	limit = buf + len;
	for (i = 0; i < nelems; i++) {
		at = (size_t)(p - buf);
		if (ckpt_get_varint64(&p, limit, &l) < 0)
			return string_fault(why, wlen,
					    "the length of element %" PRIu64
					    " (at byte %zu) is not a varint",
					    i, at);
		/* total <= len before, l <= len: no wrap for any size_t. */
		if (l > len || (total += l) > len)
			return string_fault(why, wlen,
					    "the lengths add up to more than "
					    "the %zu bytes (element %" PRIu64
					    ")",
					    len, i);
		ckpt_lencrc_add(&lc, l, big_endian);
		if (lens != NULL)
			lens[i] = l;
	}
	at = (size_t)(p - buf);
	/* Exact size: no short data, no trailing bytes. */
	if (len - at < 4 || len - at - 4 != total)
		return string_fault(why, wlen,
				    "the lengths add up to %" PRIu64 " bytes, "
				    "but %zu follow them and their 4-byte "
				    "checksum",
				    total, len - at < 4 ? (size_t)0 : len - at - 4);
	stored = ckpt_load32(p, big_endian);
	crc = ckpt_lencrc_end(&lc);
	if (stored != ckpt_crc_mask(crc))
		return string_fault(why, wlen,
				    "the checksum of the lengths (bytes %zu to "
				    "%zu, %s-endian) is %08" PRIx32
				    " where the lengths give %08" PRIx32,
				    at, at + 3, big_endian ? "big" : "little",
				    stored, ckpt_crc_mask(crc));
	body = p + 4;
	if (data != NULL) {
		const uint8_t *q = buf, *d = body;

		for (i = 0; i < nelems; i++) {
			/* cannot fail: the first pass read the same bytes */
			(void)ckpt_get_varint64(&q, limit, &l);
			data[i] = d;
			d += l;
		}
	}
	if (entry_crc != NULL) {
		crc = ckpt_crc32c_extend(crc, p, 4);
		*entry_crc = ckpt_crc32c_extend(crc, body, (size_t)total);
	}
	return 0;
}

/* Validate a stored string tensor and optionally describe it; see
 * tensor.h. */
int
ckpt_string_parse(const uint8_t *buf, size_t len, uint64_t nelems,
		  bool big_endian, uint64_t *lens, const uint8_t **data,
		  uint32_t *entry_crc)
{
	return string_parse(buf, len, nelems, big_endian, lens, data,
			    entry_crc, NULL, 0);
}

/* Why ckpt_string_parse() refuses BUF; see tensor.h. */
void
ckpt_string_explain(const uint8_t *buf, size_t len, uint64_t nelems,
		    bool big_endian, char *why, size_t wlen)
{
	if (string_parse(buf, len, nelems, big_endian, NULL, NULL, NULL, why,
			 wlen) == 0)
		snprintf(why, wlen, "no fault found");
}

/* Little-endian decode into caller arrays; see tensor.h. */
int
ckpt_string_decode(const uint8_t *buf, size_t len, uint64_t nelems,
		   uint64_t *lens, const uint8_t **data)
{
	return ckpt_string_parse(buf, len, nelems, false, lens, data, NULL);
}

/* Little-endian validation and entry CRC; see tensor.h. */
int
ckpt_string_check(const uint8_t *buf, size_t len, uint64_t nelems,
		  uint32_t *entry_crc)
{
	return ckpt_string_parse(buf, len, nelems, false, NULL, NULL,
				 entry_crc);
}

/* Append NELEMS strings in TF's little-endian layout.  On failure OUT is
 * left as it was. */
int
ckpt_string_encode(const uint8_t *const *data, const uint64_t *lens,
		   uint64_t nelems, struct ckpt_buf *out, uint32_t *crc)
{
	return ckpt_string_encode_order(data, lens, nelems, false, out, crc);
}

int
ckpt_string_encode_order(const uint8_t *const *data, const uint64_t *lens,
			 uint64_t nelems, bool big_endian,
			 struct ckpt_buf *out, uint32_t *crc)
{
	size_t need = 4, i;
	struct ckpt_lencrc lc = { 0 };
	uint32_t c;
	int rc;

	if (nelems > 0 && (data == NULL || lens == NULL))
		return -EINVAL;
	if (nelems > SIZE_MAX / 2)
		return -EOVERFLOW;
	for (i = 0; i < nelems; i++) {
		if (lens[i] > 0 && data[i] == NULL)
			return -EINVAL;
		if (lens[i] > SIZE_MAX - need ||
		    ckpt_varint_len(lens[i]) > SIZE_MAX - need - lens[i])
			return -EOVERFLOW;
		need += ckpt_varint_len(lens[i]) + (size_t)lens[i];
	}
	if ((rc = ckpt_buf_reserve(out, need)) < 0)
		return rc;
	for (i = 0; i < nelems; i++) {
		out->len = (size_t)(ckpt_put_varint64(out->data + out->len,
						      lens[i]) -
				    out->data);
		ckpt_lencrc_add(&lc, lens[i], big_endian);
	}
	c = ckpt_lencrc_end(&lc);
	ckpt_store32(out->data + out->len, ckpt_crc_mask(c), big_endian);
	c = ckpt_crc32c_extend(c, out->data + out->len, 4);
	out->len += 4;
	for (i = 0; i < nelems; i++) {
		if (lens[i] == 0)
			continue;
		memcpy(out->data + out->len, data[i], (size_t)lens[i]);
		c = ckpt_crc32c_extend(c, data[i], (size_t)lens[i]);
		out->len += (size_t)lens[i];
	}
	if (crc != NULL)
		*crc = c;
	return 0;
}

size_t
ckpt_string_head(uint8_t *out, uint64_t len, bool big_endian)
{
	uint8_t *p = ckpt_put_varint64(out, len);

	ckpt_store32(p,
		     ckpt_crc_mask(ckpt_string_lengths_crc(&len, 1, big_endian)),
		     big_endian);
	return (size_t)(p + 4 - out);
}

/* One string, the whole of BUF, encoded where it lies: the bytes move up
 * by the header's size and the header goes in front. */
int
ckpt_string_encode_in_place(struct ckpt_buf *buf, bool big_endian)
{
	uint8_t head[CKPT_STRING_HEAD_MAX];
	size_t n = ckpt_string_head(head, buf->len, big_endian);
	int rc;

	if ((rc = ckpt_buf_reserve(buf, n)) < 0)
		return rc;
	memmove(buf->data + n, buf->data, buf->len);
	memcpy(buf->data, head, n);
	buf->len += n;
	return 0;
}

/* --- OrderedCode ------------------------------------------------------- */

/* Append NumIncreasing(V): a length byte, then V big-endian without
 * leading zero bytes. */
int
ckpt_oc_put_numinc(struct ckpt_buf *out, uint64_t v)
{
	uint8_t tmp[9];
	int n = 0, i;

	while (n < 8 && (v >> (8 * n)) != 0)
		n++;
	tmp[0] = (uint8_t)n;
	for (i = 0; i < n; i++)
		tmp[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return ckpt_buf_put(out, tmp, (size_t)n + 1);
}

/* Read a NumIncreasing value.  Only the canonical form is accepted (no
 * leading zero byte), so decoding and re-encoding give the same bytes. */
int
ckpt_oc_get_numinc(const uint8_t **p, const uint8_t *limit, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t r = 0;
	size_t n, i;

	if (q >= limit)
		return -EBADMSG;
	n = *q++;
	if (n > 8 || (size_t)(limit - q) < n)
		return -EBADMSG;
	if (n > 0 && q[0] == 0)
		return -EBADMSG;
	for (i = 0; i < n; i++)
		r = r << 8 | q[i];
	*p = q + n;
	*v = r;
	return 0;
}

/* Byte length (1..10) of SignedNumIncreasing(V). */
static int
snum_len(int64_t v)
{
	uint64_t x = v < 0 ? ~(uint64_t)v : (uint64_t)v;
	int n = 1;

	/* Smallest n with x < 2^(7n-1); n = 10 holds any int64. */
	while (n < 10 && x >= (uint64_t)1 << (7 * n - 1))
		n++;
	return n;
}

/* XOR pattern of the first two bytes of an N-byte SNum (FORMAT.md 6.2). */
static const uint8_t snum_hdr[11][2] = {
	{ 0, 0 },    { 0x80, 0 },    { 0xc0, 0 },    { 0xe0, 0 },
	{ 0xf0, 0 }, { 0xf8, 0 },    { 0xfc, 0 },    { 0xfe, 0 },
	{ 0xff, 0 }, { 0xff, 0x80 }, { 0xff, 0xc0 },
};

/* Append SignedNumIncreasing(V): the low 8n bits of V (sign-extended),
 * the first two bytes XORed with the length header. */
int
ckpt_oc_put_snum(struct ckpt_buf *out, int64_t v)
{
	uint8_t tmp[10];
	uint64_t u = (uint64_t)v;
	int n = snum_len(v), i;

	for (i = 0; i < 10; i++) {
		int byte = 9 - i; /* significance of tmp[i] */

		tmp[i] = byte < 8 ? (uint8_t)(u >> (8 * byte))
				  : (v < 0 ? 0xff : 0x00);
	}
	tmp[10 - n] ^= snum_hdr[n][0];
	if (n > 1)
		tmp[11 - n] ^= snum_hdr[n][1];
	return ckpt_buf_put(out, tmp + 10 - n, (size_t)n);
}

/* The bits the length header of an N-byte SNum sets in its low 64 bits,
 * for a non-negative value: n leading 1-bits of the top byte (n <= 8), the
 * ninth 1-bit in bit 63 (n = 9), none left (n = 10). */
static uint64_t
snum_mask(size_t n)
{
	if (n <= 8)
		return (uint64_t)((0xff00u >> n) & 0xff) << (8 * (n - 1));
	return n == 9 ? (uint64_t)1 << 63 : 0;
}

/* Read a SignedNumIncreasing value; non-minimal lengths and values outside
 * int64 are rejected. */
int
ckpt_oc_get_snum(const uint8_t **p, const uint8_t *limit, int64_t *v)
{
	const uint8_t *q = *p;
	uint8_t x, b0;
	uint64_t r;
	size_t n, avail, i;

	if (q >= limit)
		return -EBADMSG;
	avail = (size_t)(limit - q);
	x = (q[0] & 0x80) ? 0x00 : 0xff;
	b0 = q[0] ^ x;
	if (b0 != 0xff) {
		n = 0;
		while (b0 & (0x80 >> n))
			n++;
	} else {
		uint8_t b1;

		if (avail < 2)
			return -EBADMSG;
		b1 = q[1] ^ x;
		if (b1 < 0x80)
			n = 8;
		else if (b1 < 0xc0)
			n = 9;
		else if (b1 == 0xc0 && avail >= 3 && (uint8_t)(q[2] ^ x) < 0x80)
			n = 10;
		else
			return -EBADMSG;
	}
	if (avail < n)
		return -EBADMSG;
	r = x ? UINT64_MAX : 0;
	for (i = n > 8 ? n - 8 : 0; i < n; i++)
		r = r << 8 | q[i];
	r ^= snum_mask(n);
	if (snum_len((int64_t)r) != (int)n)
		return -EBADMSG;
	*p = q + n;
	*v = (int64_t)r;
	return 0;
}

/* Append OrderedCode Str(S): 00 -> 00 ff, ff -> ff 00, then 00 01. */
static int
oc_put_str(struct ckpt_buf *out, const uint8_t *s, size_t n)
{
	static const uint8_t esc00[2] = { 0x00, 0xff },
			     escff[2] = { 0xff, 0x00 },
			     term[2] = { 0x00, 0x01 };
	size_t i, run = 0;
	int rc;

	for (i = 0; i < n; i++) {
		if (s[i] != 0x00 && s[i] != 0xff)
			continue;
		if ((rc = ckpt_buf_put(out, s + run, i - run)) < 0 ||
		    (rc = ckpt_buf_put(out, s[i] ? escff : esc00, 2)) < 0)
			return rc;
		run = i + 1;
	}
	if ((rc = ckpt_buf_put(out, s + run, n - run)) < 0)
		return rc;
	return ckpt_buf_put(out, term, 2);
}

/* Read OrderedCode Str into DST (room for limit - *p bytes). */
static int
oc_get_str(const uint8_t **p, const uint8_t *limit, uint8_t *dst, size_t *dlen)
{
	const uint8_t *q = *p;
	size_t n = 0;

	while (q < limit) {
		uint8_t c = *q++;

		if (c != 0x00 && c != 0xff) {
			dst[n++] = c;
			continue;
		}
		if (q >= limit)
			return -EBADMSG;
		if (c == 0x00 && *q == 0x01) {
			*p = q + 1;
			*dlen = n;
			return 0;
		}
		if (c == 0x00 && *q == 0xff)
			dst[n++] = 0x00;
		else if (c == 0xff && *q == 0x00)
			dst[n++] = 0xff;
		else
			return -EBADMSG;
		q++;
	}
	return -EBADMSG; /* no terminator */
}

/* True if E is an extent TF can express: start >= 0 and either the full
 * marker (0, -1) or a length >= 0 whose end fits an int64. */
static bool
extent_ok(const struct ckpt_extent *e)
{
	if (e->length == -1)
		return e->start == 0;
	return e->start >= 0 && e->length >= 0 &&
	       e->length <= INT64_MAX - e->start;
}

/* EncodeTensorNameSlice(); on failure OUT is left as it was. */
int
ckpt_slice_key_encode(const void *name, size_t nlen,
		      const struct ckpt_extent *ext, int rank,
		      struct ckpt_buf *out)
{
	size_t start = out->len;
	int i, rc;

	if ((nlen > 0 && name == NULL) || rank < 0 || rank > CKPT_MAX_RANK ||
	    (rank > 0 && ext == NULL))
		return -EINVAL;
	for (i = 0; i < rank; i++)
		if (!extent_ok(&ext[i]))
			return -EINVAL;
	if ((rc = ckpt_oc_put_numinc(out, 0)) < 0 ||
	    (rc = oc_put_str(out, name, nlen)) < 0 ||
	    (rc = ckpt_oc_put_numinc(out, (uint64_t)rank)) < 0)
		goto fail;
	for (i = 0; i < rank; i++)
		if ((rc = ckpt_oc_put_snum(out, ext[i].start)) < 0 ||
		    (rc = ckpt_oc_put_snum(out, ext[i].length)) < 0)
			goto fail;
	return 0;
fail:
	out->len = start;
	return rc;
}

/* Decode a whole slice key; the key must end exactly after the last
 * extent.  Outputs are written only on success (NAMEBUF and EXT may hold
 * partial results after a failure). */
int
ckpt_slice_key_decode(const uint8_t *key, size_t klen, uint8_t *namebuf,
		      size_t *nlen, struct ckpt_extent *ext, int *rank)
{
	const uint8_t *p = key, *limit;
	uint64_t zero, r, i;
	size_t n;

	if (key == NULL || namebuf == NULL || ext == NULL)
		return -EBADMSG;
	limit = key + klen;
	if (ckpt_oc_get_numinc(&p, limit, &zero) < 0 || zero != 0)
		return -EBADMSG;
	if (oc_get_str(&p, limit, namebuf, &n) < 0)
		return -EBADMSG;
	if (ckpt_oc_get_numinc(&p, limit, &r) < 0 || r > CKPT_MAX_RANK)
		return -EBADMSG;
	for (i = 0; i < r; i++) {
		if (ckpt_oc_get_snum(&p, limit, &ext[i].start) < 0 ||
		    ckpt_oc_get_snum(&p, limit, &ext[i].length) < 0 ||
		    !extent_ok(&ext[i]))
			return -EBADMSG;
	}
	if (p != limit)
		return -EBADMSG;
	*nlen = n;
	*rank = (int)r;
	return 0;
}

/* --- printing --------------------------------------------------------------- */

/* IEEE binary16 bits to float, exactly (every half is a float). */
float
ckpt_half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
	float f;

	if (exp == 0x1f) {
		bits = sign | 0x7f800000 | mant << 13; /* inf, nan + payload */
	} else if (exp != 0) {
		bits = sign | (exp + 112) << 23 | mant << 13;
	} else if (mant == 0) {
		bits = sign;
	} else {
		/* Subnormal: normalise so the leading 1 becomes implicit. */
		int e = 113;

		while (!(mant & 0x400)) {
			mant <<= 1;
			e--;
		}
		bits = sign | (uint32_t)e << 23 | (mant & 0x3ff) << 13;
	}
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* bfloat16 bits (the top half of a binary32) to float. */
float
ckpt_bfloat16_to_float(uint16_t b)
{
	uint32_t bits = (uint32_t)b << 16;
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* Float to binary16 bits, round to nearest even (for shortest printing). */
static uint16_t
float_to_half(float f)
{
	uint32_t x, sign;

	memcpy(&x, &f, sizeof(x));
	sign = (x >> 16) & 0x8000;
	x &= 0x7fffffff;
	if (x > 0x7f800000)
		return (uint16_t)(sign | 0x7e00 | ((x >> 13) & 0x3ff));
	if (x >= 0x477ff000) /* >= 65520 (inf included) rounds to inf */
		return (uint16_t)(sign | 0x7c00);
	if (x < 0x38800000) { /* below 2^-14: subnormal or zero */
		uint32_t e = x >> 23, m = (x & 0x7fffff) | 0x800000, h;
		uint32_t shift, rem, halfway;

		if (x < 0x33000000) /* <= 2^-25 rounds to 0 */
			return (uint16_t)sign;
		shift = 126 - e;
		h = m >> shift;
		rem = m & ((1u << shift) - 1);
		halfway = 1u << (shift - 1);
		if (rem > halfway || (rem == halfway && (h & 1)))
			h++;
		return (uint16_t)(sign | h);
	}
	x += 0xfff + ((x >> 13) & 1);
	return (uint16_t)(sign | ((x - (112u << 23)) >> 13));
}

/* Float to bfloat16 bits, round to nearest even. */
static uint16_t
float_to_bfloat16(float f)
{
	uint32_t x;

	memcpy(&x, &f, sizeof(x));
	if ((x & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((x >> 16) | 0x40);
	return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

/* Load an N-byte unsigned integer in the given byte order. */
static uint64_t
load_uint(const uint8_t *p, size_t n, bool big_endian)
{
	uint64_t r = 0;
	size_t i;

	for (i = 0; i < n; i++)
		r |= (uint64_t)p[big_endian ? n - 1 - i : i] << (8 * i);
	return r;
}

/* Which kind of float a shortest text must reproduce. */
enum fkind { FK_HALF, FK_BF16, FK_FLOAT, FK_DOUBLE };

/* The 8-bit float formats (ml_dtypes'): mantissa bits, exponent bias,
 * and which codes are not finite: IEEE (the top exponent is inf and
 * NaN), FN (no inf; the top exponent and mantissa is NaN), FNUZ (no inf,
 * no negative zero: its code 0x80 is the NaN). */
enum f8_nan { F8_IEEE, F8_FN, F8_FNUZ };
struct f8_format {
	unsigned mbits;
	int bias;
	enum f8_nan nan;
};

/* The format of float8 DTYPE, or NULL. */
static const struct f8_format *
f8_format(int dtype)
{
	static const struct f8_format e5m2 = { 2, 15, F8_IEEE },
				      e4m3fn = { 3, 7, F8_FN },
				      e4m3fnuz = { 3, 8, F8_FNUZ },
				      e4m3b11fnuz = { 3, 11, F8_FNUZ },
				      e5m2fnuz = { 2, 16, F8_FNUZ };

	switch (dtype) {
	case CKPT_DT_FLOAT8_E5M2:
		return &e5m2;
	case CKPT_DT_FLOAT8_E4M3FN:
		return &e4m3fn;
	case CKPT_DT_FLOAT8_E4M3FNUZ:
		return &e4m3fnuz;
	case CKPT_DT_FLOAT8_E4M3B11FNUZ:
		return &e4m3b11fnuz;
	case CKPT_DT_FLOAT8_E5M2FNUZ:
		return &e5m2fnuz;
	default:
		return NULL;
	}
}

/* The value of code B of float8 format F. */
static double
f8_value(const struct f8_format *f, unsigned b)
{
	unsigned one = 1u << f->mbits, m = b & (one - 1);
	unsigned e = (b & 0x7f) >> f->mbits, emax = 0x7fu >> f->mbits;
	double v;

	if ((f->nan == F8_FNUZ && b == 0x80) ||
	    (f->nan == F8_FN && e == emax && m == one - 1) ||
	    (f->nan == F8_IEEE && e == emax && m != 0))
		return NAN;
	if (f->nan == F8_IEEE && e == emax)
		v = INFINITY;
	else if (e == 0)	/* subnormal */
		v = ldexp(m, 1 - f->bias - (int)f->mbits);
	else
		v = ldexp(one + m, (int)e - f->bias - (int)f->mbits);
	return b & 0x80 ? -v : v;
}

/* True if TEXT parses back to the same bits of kind K as V (rounding to
 * nearest, ties to even, as C, Python and numpy read numbers: "1.5e10"
 * is halfway between two floats and reads as the even one,
 * 15000000512). */
static bool
roundtrips(const char *text, double v, enum fkind k)
{
	switch (k) {
	case FK_HALF:
		return float_to_half(strtof(text, NULL)) ==
		       float_to_half((float)v);
	case FK_BF16:
		return float_to_bfloat16(strtof(text, NULL)) ==
		       float_to_bfloat16((float)v);
	case FK_FLOAT:
		return strtof(text, NULL) == (float)v;
	case FK_DOUBLE:
		return strtod(text, NULL) == v;
	}
	return false;
}

/* The PREC-digit scientific text next to SCI (a "%.*e" text of PREC
 * digits) one unit in its last digit up (DIR 1) or down (-1), into OUT. */
static void
sci_step(const char *sci, int prec, int dir, char *out, size_t len)
{
	uint64_t m = 0, top = 1;
	int exp = atoi(strchr(sci, 'e') + 1), i;
	const char *p = sci;
	char digits[24];
	bool neg = *p == '-';

	for (; *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			m = m * 10 + (uint64_t)(*p - '0');
	for (i = 1; i < prec; i++)
		top *= 10;	/* the smallest PREC-digit mantissa */
	if (dir > 0 && ++m == 10 * top) {
		m = top;
		exp++;
	} else if (dir < 0 && m-- == top) {
		m = 10 * top - 1;
		exp--;
	}
	snprintf(digits, sizeof(digits), "%" PRIu64, m);
	snprintf(out, len, "%s%c%s%se%+03d", neg ? "-" : "", digits[0],
		 prec > 1 ? "." : "", digits + 1, exp);
}

/* The PREC-digit scientific text of V that reads back as V (kind K), in
 * SCI: 1 for V rounded, 2 for one unit of the last digit below or above
 * it (tried when V rounded does not read back), 0 for none. */
static int
text_of_prec(double v, enum fkind k, int prec, char *sci, size_t len)
{
	char near[48];

	int e2;

	snprintf(sci, len, "%.*e", prec - 1, v);
	if (roundtrips(sci, v, k))
		return 1;
	/* The values that read back as V lie as far below it as above,
	 * except for a power of two (its values below are closer together):
	 * V rounded is the nearest text, so if it does not read back, a
	 * text one unit away does so only for a power of two. */
	if (frexp(v, &e2) != 0.5 && frexp(v, &e2) != -0.5)
		return 0;
	for (int d = -1; d <= 1; d += 2) {
		sci_step(sci, prec, d, near, sizeof(near));
		if (roundtrips(near, v, k)) {
			snprintf(sci, len, "%s", near);
			return 2;
		}
	}
	return 0;
}

/* SCI ("-d.ddde+XX", exponent EXP) written out positionally with the same
 * digits: "1.5e+10" is "15000000000", "5e-01" "0.5" (the value printed
 * with %f would show its exact digits instead: 15000000512 for the
 * float 1.5e10). */
static void
sci_positional(const char *sci, int exp, char *buf, size_t len)
{
	char digits[24], out[64];
	size_t nd = 0, o = 0;
	const char *p = sci;

	if (*p == '-')
		out[o++] = *p++;
	for (; *p != 'e' && *p != '\0' && nd < sizeof(digits); p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	if (exp < 0) {	/* 0.000ddd (EXP >= -4) */
		out[o++] = '0';
		out[o++] = '.';
		for (int i = -1; i > exp; i--)
			out[o++] = '0';
		memcpy(out + o, digits, nd);
		o += nd;
	} else {	/* ddd[.ddd] or ddd000 (EXP < 16) */
		for (size_t i = 0; i < nd || i <= (size_t)exp; i++) {
			if (i == (size_t)exp + 1)
				out[o++] = '.';
			out[o++] = i < nd ? digits[i] : '0';
		}
	}
	out[o] = '\0';
	snprintf(buf, len, "%s", out);
}

/* Shortest text of V that reads back as the same value of kind K, laid
 * out like Python's repr: positional for 1e-4 <= |v| < 1e16 ("0.5", "3",
 * "65504", "-0.52239597"), else scientific ("1e+16", "6e-08"); "nan" for
 * every NaN.  Unlike Python no ".0" is added to integral values.  Of the
 * texts of the fewest digits that read back, the nearest to V: that is
 * V rounded, or, for a power of two (whose values below are closer
 * together than those above), one unit of the last digit away from it
 * (bfloat16 2^-59 is "1.74e-18": "1.73e-18" reads back as the value
 * below).  The fewest digits are found by bisection: the values that
 * read back as V are an interval around it, so if some text of P digits
 * lies in it, one of P + 1 digits does too (text_of_prec() finds it). */
static void
format_float(double v, enum fkind k, char *buf, size_t len)
{
	int lo = 1, hi = k == FK_DOUBLE ? 17 : 9, exp;
	char sci[48];
	const char *e;

	if (isnan(v)) {
		snprintf(buf, len, "nan");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, "%s", v < 0 ? "-inf" : "inf");
		return;
	}
	/* HI digits (9 for a float, 17 for a double) always read back.
	 * Most values of a trained tensor need HI or HI - 1: those two
	 * first (one or two texts each instead of about ten), then the
	 * bisection below HI - 2. */
	for (int tries = 0; tries < 2 && lo < hi; tries++) {
		if (text_of_prec(v, k, hi - 1, sci, sizeof(sci)) == 0)
			lo = hi;
		else
			hi--;
	}
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (text_of_prec(v, k, mid, sci, sizeof(sci)) != 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	text_of_prec(v, k, lo, sci, sizeof(sci));
	e = strchr(sci, 'e');
	exp = e ? atoi(e + 1) : 0;
	if (exp >= -4 && exp < 16)
		sci_positional(sci, exp, buf, len);
	else
		snprintf(buf, len, "%s", sci);
}

/* "(re+imj)" the way Python prints a complex. */
static void
format_complex(double re, double im, enum fkind k, char *buf, size_t len)
{
	char a[48], b[48];
	bool neg = signbit(im) && !isnan(im);

	format_float(re, k, a, sizeof(a));
	format_float(neg ? -im : im, k, b, sizeof(b));
	snprintf(buf, len, "(%s%c%sj)", a, neg ? '-' : '+', b);
}

/* Reinterpret the low 32 bits of U as a float. */
static float
u32_float(uint64_t u)
{
	uint32_t x = (uint32_t)u;
	float f;

	memcpy(&f, &x, sizeof(f));
	return f;
}

/* Reinterpret U as a double. */
static double
u64_double(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* Append the text of one element, a float's shortest at its own width
 * or (EXACT) at a double's; -ENOTSUP for dtypes without a fixed size,
 * -EINVAL for a NULL element. */
static int
value_format(int dtype, const uint8_t *elem, bool big_endian, bool exact,
	     struct ckpt_buf *out)
{
	char text[112];
	size_t n = ckpt_dtype_size(dtype);
	uint64_t u;

	if (n == 0)
		return -ENOTSUP;
	if (elem == NULL)
		return -EINVAL;
	u = load_uint(elem, n > 8 ? 8 : n, big_endian);
	switch ((enum ckpt_dtype)dtype) {
	case CKPT_DT_FLOAT:
		format_float(u32_float(u), exact ? FK_DOUBLE : FK_FLOAT, text,
			     sizeof(text));
		break;
	case CKPT_DT_DOUBLE:
		format_float(u64_double(u), FK_DOUBLE, text, sizeof(text));
		break;
	case CKPT_DT_HALF:
		format_float(ckpt_half_to_float((uint16_t)u),
			     exact ? FK_DOUBLE : FK_HALF, text, sizeof(text));
		break;
	case CKPT_DT_BFLOAT16:
		format_float(ckpt_bfloat16_to_float((uint16_t)u),
			     exact ? FK_DOUBLE : FK_BF16, text, sizeof(text));
		break;
	case CKPT_DT_COMPLEX64:
		format_complex(u32_float(load_uint(elem, 4, big_endian)),
			       u32_float(load_uint(elem + 4, 4, big_endian)),
			       exact ? FK_DOUBLE : FK_FLOAT, text,
			       sizeof(text));
		break;
	case CKPT_DT_COMPLEX128:
		format_complex(u64_double(load_uint(elem, 8, big_endian)),
			       u64_double(load_uint(elem + 8, 8, big_endian)),
			       FK_DOUBLE, text, sizeof(text));
		break;
	case CKPT_DT_BOOL:
		snprintf(text, sizeof(text), "%s", u ? "true" : "false");
		break;
	case CKPT_DT_INT8:
	case CKPT_DT_QINT8:
		snprintf(text, sizeof(text), "%d", (int)(int8_t)u);
		break;
	case CKPT_DT_INT16:
	case CKPT_DT_QINT16:
		snprintf(text, sizeof(text), "%d", (int)(int16_t)u);
		break;
	case CKPT_DT_INT32:
	case CKPT_DT_QINT32:
		snprintf(text, sizeof(text), "%" PRId32, (int32_t)u);
		break;
	case CKPT_DT_INT64:
		snprintf(text, sizeof(text), "%" PRId64, (int64_t)u);
		break;
	case CKPT_DT_UINT8:
	case CKPT_DT_QUINT8:
	case CKPT_DT_UINT16:
	case CKPT_DT_QUINT16:
	case CKPT_DT_UINT32:
	case CKPT_DT_UINT64:
		snprintf(text, sizeof(text), "%" PRIu64, u);
		break;
	case CKPT_DT_INT4:
		/* One element per byte; the value is the sign-extended low
		 * nibble. */
		snprintf(text, sizeof(text), "%d",
			 (int)((u & 0x0f) ^ 0x08) - 8);
		break;
	case CKPT_DT_UINT4:
		snprintf(text, sizeof(text), "%u", (unsigned)(u & 0x0f));
		break;
	case CKPT_DT_INT2:	/* as int4: the low two bits */
		snprintf(text, sizeof(text), "%d", (int)((u & 3) ^ 2) - 2);
		break;
	case CKPT_DT_UINT2:
		snprintf(text, sizeof(text), "%u", (unsigned)(u & 3));
		break;
	case CKPT_DT_FLOAT8_E5M2:
	case CKPT_DT_FLOAT8_E4M3FN:
	case CKPT_DT_FLOAT8_E4M3FNUZ:
	case CKPT_DT_FLOAT8_E4M3B11FNUZ:
	case CKPT_DT_FLOAT8_E5M2FNUZ:
		/* Exactly (2 or 3 bits of mantissa: the shortest text
		 * that reads back would show 256 as "260"). */
		format_float(f8_value(f8_format(dtype), (unsigned)u),
			     FK_DOUBLE, text, sizeof(text));
		break;
	case CKPT_DT_INVALID:
	case CKPT_DT_STRING:
	case CKPT_DT_RESOURCE:
	case CKPT_DT_VARIANT:
	default:
		return -ENOTSUP;
	}
	return ckpt_buf_put(out, text, strlen(text));
}

int
ckpt_value_format(int dtype, const uint8_t *elem, bool big_endian,
		  struct ckpt_buf *out)
{
	return value_format(dtype, elem, big_endian, false, out);
}

int
ckpt_value_format_exact(int dtype, const uint8_t *elem, bool big_endian,
			struct ckpt_buf *out)
{
	return value_format(dtype, elem, big_endian, true, out);
}
