/* test_tensor.c -- the DataType table, shapes, DT_STRING framing and CRCs,
 * OrderedCode slice keys and element printing, against the vectors of
 * FORMAT.md 5 and 6 and the real TF2 object-graph tensors. */
#include "config.h"

#include "check.h"

#include <errno.h>
#include <math.h>

#include "crc32c.h"
#include "tensor.h"

/* --- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64: reproducible pseudo-random numbers. */
static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Heap copy of the bytes of a ckpt_buf, exactly sized, for ASan. */
static uint8_t *
buf_copy(const struct ckpt_buf *b)
{
	return check_memdup(b->data, b->len);
}

/* --- dtypes --------------------------------------------------------------- */

/* Every enum value's size, storability and names, both directions. */
static void
test_dtypes(void)
{
	static const struct {
		int dt;
		size_t size;
		const char *name, *enum_name;
	} want[] = {
		{ 0, 0, NULL, NULL },
		{ 1, 4, "float32", "DT_FLOAT" },
		{ 2, 8, "float64", "DT_DOUBLE" },
		{ 3, 4, "int32", "DT_INT32" },
		{ 4, 1, "uint8", "DT_UINT8" },
		{ 5, 2, "int16", "DT_INT16" },
		{ 6, 1, "int8", "DT_INT8" },
		{ 7, 0, "string", "DT_STRING" },
		{ 8, 8, "complex64", "DT_COMPLEX64" },
		{ 9, 8, "int64", "DT_INT64" },
		{ 10, 1, "bool", "DT_BOOL" },
		{ 11, 1, "qint8", "DT_QINT8" },
		{ 12, 1, "quint8", "DT_QUINT8" },
		{ 13, 4, "qint32", "DT_QINT32" },
		{ 14, 2, "bfloat16", "DT_BFLOAT16" },
		{ 15, 2, "qint16", "DT_QINT16" },
		{ 16, 2, "quint16", "DT_QUINT16" },
		{ 17, 2, "uint16", "DT_UINT16" },
		{ 18, 16, "complex128", "DT_COMPLEX128" },
		{ 19, 2, "float16", "DT_HALF" },
		{ 20, 0, "resource", "DT_RESOURCE" },
		{ 21, 0, "variant", "DT_VARIANT" },
		{ 22, 4, "uint32", "DT_UINT32" },
		{ 23, 8, "uint64", "DT_UINT64" },
		{ 24, 1, "float8_e5m2", "DT_FLOAT8_E5M2" },
		{ 25, 1, "float8_e4m3fn", "DT_FLOAT8_E4M3FN" },
		{ 26, 1, "float8_e4m3fnuz", "DT_FLOAT8_E4M3FNUZ" },
		{ 27, 1, "float8_e4m3b11fnuz", "DT_FLOAT8_E4M3B11FNUZ" },
		{ 28, 1, "float8_e5m2fnuz", "DT_FLOAT8_E5M2FNUZ" },
		{ 29, 1, "int4", "DT_INT4" },
		{ 30, 1, "uint4", "DT_UINT4" },
		{ 31, 1, "int2", "DT_INT2" },
		{ 32, 1, "uint2", "DT_UINT2" },
	};
	static const int unknown[] = { -1, 33, 34, 101, 119, 130, 1000, -1000 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		int dt = want[i].dt;

		CHECK_EQ_INT(ckpt_dtype_size(dt), want[i].size);
		CHECK_EQ_INT(ckpt_dtype_storable(dt),
			     want[i].size > 0 || dt == 7 || dt == 21);
		if (want[i].name == NULL) {
			CHECK(ckpt_dtype_name(dt) == NULL);
			continue;
		}
		CHECK_EQ_STR(ckpt_dtype_name(dt), want[i].name);
		CHECK_EQ_INT(ckpt_dtype_from_name(want[i].name), dt);
		CHECK_EQ_INT(ckpt_dtype_from_name(want[i].enum_name), dt);
	}
	CHECK(!ckpt_dtype_storable(CKPT_DT_INVALID));
	CHECK(!ckpt_dtype_storable(CKPT_DT_RESOURCE));
	CHECK(ckpt_dtype_storable(CKPT_DT_FLOAT8_E4M3B11FNUZ));
	CHECK(ckpt_dtype_storable(CKPT_DT_STRING));
	CHECK(ckpt_dtype_storable(CKPT_DT_VARIANT));
	for (i = 0; i < ARRAY_SIZE(unknown); i++) {
		CHECK_EQ_INT(ckpt_dtype_size(unknown[i]), 0);
		CHECK(!ckpt_dtype_storable(unknown[i]));
		CHECK(ckpt_dtype_name(unknown[i]) == NULL);
	}
	CHECK_EQ_INT(ckpt_dtype_from_name("float"), CKPT_DT_FLOAT);
	CHECK_EQ_INT(ckpt_dtype_from_name("double"), CKPT_DT_DOUBLE);
	CHECK_EQ_INT(ckpt_dtype_from_name("half"), CKPT_DT_HALF);
	CHECK_EQ_INT(ckpt_dtype_from_name(""), -1);
	CHECK_EQ_INT(ckpt_dtype_from_name("Float32"), -1);
	CHECK_EQ_INT(ckpt_dtype_from_name("float32 "), -1);
	CHECK_EQ_INT(ckpt_dtype_from_name("DT_INVALID"), -1);
	CHECK_EQ_INT(ckpt_dtype_from_name("DT_FLOAT_REF"), -1);
	CHECK_EQ_INT(ckpt_dtype_from_name("tf.float32"), CKPT_DT_FLOAT);
	CHECK_EQ_INT(ckpt_dtype_from_name("np.int64"), CKPT_DT_INT64);
	CHECK_EQ_INT(ckpt_dtype_from_name("numpy.float16"), CKPT_DT_HALF);
	CHECK_EQ_INT(ckpt_dtype_from_name("tf.bfloat16"), CKPT_DT_BFLOAT16);
	CHECK_EQ_INT(ckpt_dtype_from_name("tf.string"), CKPT_DT_STRING);
	CHECK_EQ_INT(ckpt_dtype_from_name("tf.DT_FLOAT"), -1);
	CHECK_EQ_INT(ckpt_dtype_from_name("tf."), -1);
	CHECK_EQ_INT(ckpt_dtype_from_name("torch.float32"), -1);
	CHECK_EQ_INT(ckpt_dtype_from_name("tf.tf.float32"), -1);
	/* numpy's float was Python's, a float64: not taken for float32 */
	CHECK_EQ_INT(ckpt_dtype_from_name("np.float"), -1);
	CHECK_EQ_INT(ckpt_dtype_from_name("numpy.float"), -1);
	CHECK_EQ_INT(ckpt_dtype_from_name("np.double"), CKPT_DT_DOUBLE);
	CHECK_EQ_INT(ckpt_dtype_from_name(NULL), -1);
}

/* --- shapes ---------------------------------------------------------------- */

/* Element counts, overflow and the zero-dim rule. */
static void
test_shape_elems(void)
{
	int64_t d[CKPT_MAX_RANK + 1];
	uint64_t n = 12345;
	int i;

	CHECK_EQ_INT(ckpt_shape_elems(NULL, 0, &n), 0);
	CHECK_EQ_U64(n, 1);
	d[0] = 2, d[1] = 3;
	CHECK_EQ_INT(ckpt_shape_elems(d, 2, &n), 0);
	CHECK_EQ_U64(n, 6);
	d[0] = INT64_MAX;
	CHECK_EQ_INT(ckpt_shape_elems(d, 1, &n), 0);
	CHECK_EQ_U64(n, INT64_MAX);
	d[1] = 2;
	CHECK_EQ_INT(ckpt_shape_elems(d, 2, &n), -EOVERFLOW);
	/* 2^32 * 2^31 = 2^63: one past INT64_MAX. */
	d[0] = (int64_t)1 << 32, d[1] = (int64_t)1 << 31;
	CHECK_EQ_INT(ckpt_shape_elems(d, 2, &n), -EOVERFLOW);
	d[1] = ((int64_t)1 << 31) - 1;
	CHECK_EQ_INT(ckpt_shape_elems(d, 2, &n), 0);
	CHECK_EQ_U64(n, ((uint64_t)1 << 63) - ((uint64_t)1 << 32));
	/* A zero dim anywhere gives 0, even after an overflowing product. */
	d[0] = INT64_MAX, d[1] = INT64_MAX, d[2] = 0;
	n = 99;
	CHECK_EQ_INT(ckpt_shape_elems(d, 3, &n), 0);
	CHECK_EQ_U64(n, 0);
	d[0] = 0, d[2] = INT64_MAX;
	n = 99;
	CHECK_EQ_INT(ckpt_shape_elems(d, 3, &n), 0);
	CHECK_EQ_U64(n, 0);
	/* Negative dims are invalid, zero dim or not. */
	d[0] = 0, d[1] = -1;
	CHECK_EQ_INT(ckpt_shape_elems(d, 2, &n), -EINVAL);
	d[0] = INT64_MIN;
	CHECK_EQ_INT(ckpt_shape_elems(d, 1, &n), -EINVAL);
	for (i = 0; i <= CKPT_MAX_RANK; i++)
		d[i] = 1;
	CHECK_EQ_INT(ckpt_shape_elems(d, CKPT_MAX_RANK, &n), 0);
	CHECK_EQ_U64(n, 1);
	CHECK_EQ_INT(ckpt_shape_elems(d, CKPT_MAX_RANK + 1, &n), -EINVAL);
	CHECK_EQ_INT(ckpt_shape_elems(d, -1, &n), -EINVAL);
	CHECK_EQ_INT(ckpt_shape_elems(NULL, 1, &n), -EINVAL);
	/* 63 dims of 2 = 2^63, one past INT64_MAX; 62 dims fit. */
	for (i = 0; i < 64; i++)
		d[i] = 2;
	CHECK_EQ_INT(ckpt_shape_elems(d, 64, &n), -EOVERFLOW);
	CHECK_EQ_INT(ckpt_shape_elems(d, 63, &n), -EOVERFLOW);
	CHECK_EQ_INT(ckpt_shape_elems(d, 62, &n), 0);
	CHECK_EQ_U64(n, (uint64_t)1 << 62);
}

/* Shape text, ENOSPC at every short buffer size. */
static void
test_shape_format(void)
{
	int64_t d[3] = { 2, 3, INT64_MAX };
	char buf[64];
	size_t len;

	CHECK_EQ_INT(ckpt_shape_format(d, 2, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "2,3");
	CHECK_EQ_INT(ckpt_shape_format(NULL, 0, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "");
	CHECK_EQ_INT(ckpt_shape_format(d, 0, buf, 1), 0);
	CHECK_EQ_STR(buf, "");
	CHECK_EQ_INT(ckpt_shape_format(d, 3, buf, sizeof(buf)), 0);
	CHECK_EQ_STR(buf, "2,3,9223372036854775807");
	/* "2,3" needs 4 bytes with its NUL. */
	CHECK_EQ_INT(ckpt_shape_format(d, 2, buf, 4), 0);
	CHECK_EQ_INT(ckpt_shape_format(d, 2, buf, 3), -ENOSPC);
	CHECK_EQ_STR(buf, "2");
	CHECK_EQ_INT(ckpt_shape_format(d, 2, buf, 1), -ENOSPC);
	CHECK_EQ_STR(buf, "");
	CHECK_EQ_INT(ckpt_shape_format(d, 2, buf, 0), -ENOSPC);
	for (len = 1; len < 24; len++)
		CHECK_EQ_INT(ckpt_shape_format(d, 3, buf, len), -ENOSPC);
	CHECK_EQ_INT(ckpt_shape_format(d, 3, buf, 24), 0);
	CHECK_EQ_INT(ckpt_shape_format(d, -1, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ_INT(ckpt_shape_format(d, CKPT_MAX_RANK + 1, buf, sizeof(buf)),
		     -EINVAL);
}

/* Parse accepted spellings and reject junk; DIMS untouched on failure. */
static void
test_shape_parse(void)
{
	static const struct {
		const char *text;
		int rank;
		int64_t d0, d1;
	} good[] = {
		{ "2,3", 2, 2, 3 },
		{ "[2, 3]", 2, 2, 3 },
		{ "", 0, 0, 0 },
		{ "[]", 0, 0, 0 },
		{ " [ ] ", 0, 0, 0 },
		{ "   ", 0, 0, 0 },
		{ " [ 2 ,3 ] ", 2, 2, 3 },
		{ "\t7\n", 1, 7, 0 },
		{ "0", 1, 0, 0 },
		{ "007,0", 2, 7, 0 },
		{ "[9223372036854775807]", 1, INT64_MAX, 0 },
		{ "0,9223372036854775807", 2, 0, INT64_MAX },
		/* as Python prints tuples and lists */
		{ "(2, 3)", 2, 2, 3 },
		{ "(5,)", 1, 5, 0 },
		{ " ( 5 , ) ", 1, 5, 0 },
		{ "()", 0, 0, 0 },
		{ "[2, 3,]", 2, 2, 3 },
	};
	static const char *const bad[] = {
		"2,",
		",2",
		"2,,3",
		"[2,3",
		"2,3]",
		"-1",
		"+1",
		"2 3",
		"a",
		"[[2]]",
		"9223372036854775808",
		"99999999999999999999",
		"[2]x",
		"0x10",
		"2.0",
		"[",
		"]",
		",",
		"[,]",
		"1e3",
		"2,-0",
		"4294967296,4294967296",
		"[2] [3]",
		"2;3",
		"(2,3]",
		"[2,3)",
		"(,)",
		"(2,,)",
		"((2))",
		"2,)",
		"(2",
		"2,3,",
	};
	int64_t d[CKPT_MAX_RANK];
	char big[3 * (CKPT_MAX_RANK + 1) + 4];
	size_t i;
	int rank;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		rank = -5;
		CHECK_EQ_INT(ckpt_shape_parse(good[i].text, d, &rank), 0);
		CHECK_EQ_INT(rank, good[i].rank);
		if (rank > 0)
			CHECK_EQ_INT(d[0], good[i].d0);
		if (rank > 1)
			CHECK_EQ_INT(d[1], good[i].d1);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		d[0] = 42;
		rank = 42;
		CHECK_EQ_INT(ckpt_shape_parse(bad[i], d, &rank), -EINVAL);
		CHECK_EQ_INT(rank, 42);
		CHECK_EQ_INT(d[0], 42);
	}
	CHECK_EQ_INT(ckpt_shape_parse(NULL, d, &rank), -EINVAL);
	/* Rank 254 is the limit. */
	big[0] = '\0';
	for (i = 0; i < CKPT_MAX_RANK; i++)
		strcat(big, i ? ",1" : "1");
	CHECK_EQ_INT(ckpt_shape_parse(big, d, &rank), 0);
	CHECK_EQ_INT(rank, CKPT_MAX_RANK);
	strcat(big, ",1");
	CHECK_EQ_INT(ckpt_shape_parse(big, d, &rank), -EINVAL);
	CHECK_EQ_INT(rank, CKPT_MAX_RANK);
}

/* Fixed sizes: elements times element size within int64. */
static void
test_fixed_size(void)
{
	int64_t d[2] = { 2, 3 };
	uint64_t n = 7;

	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_FLOAT, d, 2, &n), 0);
	CHECK_EQ_U64(n, 24);
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_COMPLEX128, NULL, 0, &n),
		     0);
	CHECK_EQ_U64(n, 16);
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_INT4, d, 1, &n), 0);
	CHECK_EQ_U64(n, 2);
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_STRING, d, 2, &n),
		     -ENOTSUP);
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_VARIANT, d, 2, &n),
		     -ENOTSUP);
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_RESOURCE, d, 2, &n),
		     -ENOTSUP);
	CHECK_EQ_INT(ckpt_tensor_fixed_size(27, d, 2, &n), 0);
	CHECK_EQ_U64(n, (uint64_t)(d[0] * d[1]));
	CHECK_EQ_INT(ckpt_tensor_fixed_size(99, d, 2, &n), -ENOTSUP);
	d[0] = INT64_MAX / 16;
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_COMPLEX128, d, 1, &n), 0);
	CHECK_EQ_U64(n, (uint64_t)(INT64_MAX / 16) * 16);
	d[0]++;
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_COMPLEX128, d, 1, &n),
		     -EOVERFLOW);
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_UINT8, d, 1, &n), 0);
	d[0] = INT64_MAX, d[1] = 2;
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_UINT8, d, 2, &n),
		     -EOVERFLOW);
	d[1] = 0;
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_DOUBLE, d, 2, &n), 0);
	CHECK_EQ_U64(n, 0);
	d[1] = -3;
	CHECK_EQ_INT(ckpt_tensor_fixed_size(CKPT_DT_DOUBLE, d, 2, &n), -EINVAL);
}

/* --- DT_STRING ----------------------------------------------------------- */

/* Every prefix and every one-byte extension of a valid encoding fails;
 * flipping a framing byte fails, flipping a data byte changes the CRC. */
static void
string_mutations(const uint8_t *enc, size_t len, uint64_t nelems,
		 size_t data_off, uint32_t crc)
{
	uint8_t *tmp;
	uint32_t c;
	size_t i;

	for (i = 0; i < len; i++) {
		tmp = check_memdup(enc, i);
		CHECK_EQ_INT(ckpt_string_check(tmp, i, nelems, &c), -EBADMSG);
		free(tmp);
	}
	tmp = malloc(len + 1);
	CHECK(tmp != NULL);
	memcpy(tmp, enc, len);
	tmp[len] = 0;
	CHECK_EQ_INT(ckpt_string_check(tmp, len + 1, nelems, &c), -EBADMSG);
	free(tmp);
	tmp = check_memdup(enc, len);
	for (i = 0; i < len; i++) {
		tmp[i] ^= 0x01;
		if (i < data_off) {
			CHECK_EQ_INT(ckpt_string_check(tmp, len, nelems, &c),
				     -EBADMSG);
		} else {
			CHECK_EQ_INT(ckpt_string_check(tmp, len, nelems, &c),
				     0);
			CHECK(c != crc);
		}
		tmp[i] ^= 0x01;
	}
	CHECK_EQ_INT(ckpt_string_check(tmp, len, nelems, &c), 0);
	CHECK_EQ_U64(c, crc);
	if (nelems > 0)
		CHECK_EQ_INT(ckpt_string_check(tmp, len, nelems - 1, &c),
			     -EBADMSG);
	CHECK_EQ_INT(ckpt_string_check(tmp, len, nelems + 1, &c), -EBADMSG);
	free(tmp);
}

/* FORMAT.md 5.3's vectors, both directions. */
static void
test_string_vectors(void)
{
	static const uint8_t ab_enc[] = { 0x02, 0x00, 0x78, 0x27,
					  0x0b, 0x34, 0x61, 0x62 };
	static const uint8_t empty_enc[] = { 0xd8, 0xea, 0x82, 0xa2 };
	const uint8_t *in[2] = { (const uint8_t *)"ab", (const uint8_t *)"" };
	uint64_t inlen[2] = { 2, 0 }, lens[2] = { 0, 0 };
	const uint8_t *data[2] = { NULL, NULL };
	struct ckpt_buf out = { 0 };
	uint32_t crc = 0, c = 0;
	uint8_t *enc;

	CHECK_EQ_INT(ckpt_string_encode(in, inlen, 2, &out, &crc), 0);
	CHECK_EQ_MEM(out.data, out.len, ab_enc, sizeof(ab_enc));
	CHECK_EQ_U64(ckpt_crc_mask(crc), 0x4DB08891);
	CHECK_EQ_U64(ckpt_crc_mask(ckpt_string_lengths_crc(inlen, 2, false)),
		     0x340b2778);
	enc = buf_copy(&out);
	CHECK_EQ_INT(ckpt_string_decode(enc, out.len, 2, lens, data), 0);
	CHECK_EQ_U64(lens[0], 2);
	CHECK_EQ_U64(lens[1], 0);
	CHECK(data[0] == enc + 6);
	CHECK(data[1] == enc + 8);
	CHECK_EQ_INT(ckpt_string_check(enc, out.len, 2, &c), 0);
	CHECK_EQ_U64(c, crc);
	string_mutations(enc, out.len, 2, 6, crc);
	free(enc);

	/* Appending keeps what OUT held. */
	CHECK_EQ_INT(ckpt_string_encode(NULL, NULL, 0, &out, &crc), 0);
	CHECK_EQ_INT(out.len, sizeof(ab_enc) + 4);
	CHECK_EQ_MEM(out.data + sizeof(ab_enc), 4, empty_enc, 4);
	CHECK_EQ_U64(ckpt_crc_mask(crc), 0x640CC1F6);
	enc = check_memdup(empty_enc, 4);
	CHECK_EQ_INT(ckpt_string_check(enc, 4, 0, &c), 0);
	CHECK_EQ_U64(ckpt_crc_mask(c), 0x640CC1F6);
	CHECK_EQ_INT(ckpt_string_decode(enc, 4, 0, NULL, NULL), 0);
	string_mutations(enc, 4, 0, 4, c);
	free(enc);

	/* A failed encode leaves OUT alone. */
	inlen[0] = 3;
	in[0] = NULL;
	CHECK_EQ_INT(ckpt_string_encode(in, inlen, 2, &out, &crc), -EINVAL);
	CHECK_EQ_INT(out.len, sizeof(ab_enc) + 4);
	ckpt_buf_free(&out);
}

/* A 613-byte scalar has the two-byte varint e5 04. */
static void
test_string_scalar(void)
{
	uint8_t s[613];
	const uint8_t *in[1] = { s }, *data[1];
	uint64_t inlen[1] = { sizeof(s) }, lens[1];
	struct ckpt_buf out = { 0 };
	uint32_t crc, c;
	uint8_t *enc;
	size_t i;

	for (i = 0; i < sizeof(s); i++)
		s[i] = (uint8_t)(i * 7 + 3);
	CHECK_EQ_INT(ckpt_string_encode(in, inlen, 1, &out, &crc), 0);
	CHECK_EQ_INT(out.len, 619);
	{
		struct ckpt_buf ip = { 0 };

		/* In place: the same bytes; an empty string too. */
		CHECK_EQ_INT(ckpt_buf_put(&ip, s, sizeof(s)), 0);
		CHECK_EQ_INT(ckpt_string_encode_in_place(&ip, false), 0);
		CHECK_EQ_MEM(ip.data, ip.len, out.data, out.len);
		ip.len = 0;
		CHECK_EQ_INT(ckpt_string_encode_in_place(&ip, false), 0);
		CHECK_EQ_INT(ip.len, 5);
		CHECK_EQ_INT(ip.data[0], 0);
		CHECK_EQ_U64(ckpt_load32le(ip.data + 1),
			     ckpt_crc_mask(ckpt_string_lengths_crc(
				     (const uint64_t[]){ 0 }, 1, false)));
		ckpt_buf_free(&ip);
	}
	{
		/* Big-endian: the lengths fed to the checksum and the
		 * checksum itself most significant byte first; only a
		 * big-endian parse takes it. */
		static const uint8_t x[] = "xyz";
		const uint8_t *d2[] = { x, s };
		const uint64_t l2[] = { 3, sizeof(s) };
		struct ckpt_buf be = { 0 }, ip = { 0 };
		uint64_t gl[2];
		const uint8_t *gd[2];
		uint32_t c1, c2, lc;

		CHECK_EQ_INT(ckpt_string_encode_order(d2, l2, 2, true, &be,
						      &c1),
			     0);
		CHECK_EQ_INT(be.len, 1 + 2 + 4 + 3 + sizeof(s));
		lc = ckpt_crc_mask(ckpt_string_lengths_crc(l2, 2, true));
		CHECK_EQ_U64((uint64_t)be.data[3] << 24 | be.data[4] << 16 |
				     be.data[5] << 8 | be.data[6],
			     lc);
		CHECK(lc != ckpt_crc_mask(ckpt_string_lengths_crc(l2, 2,
								  false)));
		CHECK_EQ_INT(ckpt_string_parse(be.data, be.len, 2, true, gl,
					       gd, &c2),
			     0);
		CHECK_EQ_U64(c2, c1);
		CHECK_EQ_U64(gl[1], sizeof(s));
		CHECK_EQ_MEM(gd[1], (size_t)gl[1], s, sizeof(s));
		CHECK_EQ_INT(ckpt_string_parse(be.data, be.len, 2, false,
					       NULL, NULL, NULL),
			     -EBADMSG);
		CHECK_EQ_INT(ckpt_buf_put(&ip, s, sizeof(s)), 0);
		CHECK_EQ_INT(ckpt_string_encode_in_place(&ip, true), 0);
		be.len = 0;
		CHECK_EQ_INT(ckpt_string_encode_order(in, inlen, 1, true, &be,
						      NULL),
			     0);
		CHECK_EQ_MEM(ip.data, ip.len, be.data, be.len);
		ckpt_buf_free(&ip);
		ckpt_buf_free(&be);
	}
	CHECK_EQ_INT(out.data[0], 0xe5);
	CHECK_EQ_INT(out.data[1], 0x04);
	CHECK_EQ_U64(ckpt_load32le(out.data + 2),
		     ckpt_crc_mask(ckpt_string_lengths_crc(inlen, 1, false)));
	CHECK_EQ_MEM(out.data + 6, 613, s, 613);
	enc = buf_copy(&out);
	CHECK_EQ_INT(ckpt_string_decode(enc, 619, 1, lens, data), 0);
	CHECK_EQ_U64(lens[0], 613);
	CHECK(data[0] == enc + 6);
	CHECK_EQ_INT(ckpt_string_check(enc, 619, 1, &c), 0);
	CHECK_EQ_U64(c, crc);
	/* Independent entry CRC: crc(613 as LE u32 || checksum || bytes). */
	{
		uint8_t l4[4];

		ckpt_store32le(l4, 613);
		c = ckpt_crc32c(l4, 4);
		c = ckpt_crc32c_extend(c, enc + 2, 4);
		c = ckpt_crc32c_extend(c, s, sizeof(s));
		CHECK_EQ_U64(c, crc);
	}
	free(enc);
	ckpt_buf_free(&out);
}

/* Many elements of many lengths (1- to 3-byte varints, more than one
 * batch of the length CRC), checked against a CRC computed here. */
static void
test_string_many(void)
{
	enum { N = 1000 };
	static uint8_t pool[70000];
	const uint8_t **in = calloc(N, sizeof(*in)), **data;
	uint64_t *inlen = calloc(N, sizeof(*inlen)), *lens;
	struct ckpt_buf out = { 0 }, model = { 0 };
	uint32_t crc, c, lc;
	uint8_t *enc;
	size_t i, off = 0, nvar = 0;

	CHECK(in != NULL && inlen != NULL);
	for (i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)rnd();
	for (i = 0; i < N; i++) {
		inlen[i] = i == 7 ? 20000 : i % 3 == 0 ? 0 : rnd() % 200;
		in[i] = inlen[i] ? pool + off % 1000 : NULL;
		off += 17;
	}
	CHECK_EQ_INT(ckpt_string_encode(in, inlen, N, &out, &crc), 0);
	/* The model: lengths as LE u32, checksum, bytes. */
	for (i = 0; i < N; i++) {
		CHECK_EQ_INT(ckpt_buf_put_fixed32(&model, (uint32_t)inlen[i]),
			     0);
		nvar += ckpt_varint_len(inlen[i]);
	}
	lc = ckpt_crc32c(model.data, model.len);
	CHECK_EQ_U64(lc, ckpt_string_lengths_crc(inlen, N, false));
	CHECK_EQ_U64(ckpt_load32le(out.data + nvar), ckpt_crc_mask(lc));
	CHECK_EQ_INT(ckpt_buf_put_fixed32(&model, ckpt_crc_mask(lc)), 0);
	for (i = 0; i < N; i++)
		CHECK_EQ_INT(ckpt_buf_put(&model, in[i], inlen[i]), 0);
	CHECK_EQ_U64(ckpt_crc32c(model.data, model.len), crc);
	CHECK_EQ_MEM(out.data + nvar, out.len - nvar, model.data + 4 * N,
		     model.len - 4 * N);

	enc = buf_copy(&out);
	lens = calloc(N, sizeof(*lens));
	data = calloc(N, sizeof(*data));
	CHECK(lens != NULL && data != NULL);
	CHECK_EQ_INT(ckpt_string_decode(enc, out.len, N, lens, data), 0);
	for (i = 0; i < N; i++) {
		CHECK_EQ_U64(lens[i], inlen[i]);
		if (inlen[i] > 0)
			CHECK_EQ_MEM(data[i], lens[i], in[i], inlen[i]);
	}
	CHECK_EQ_INT(ckpt_string_check(enc, out.len, N, &c), 0);
	CHECK_EQ_U64(c, crc);
	CHECK_EQ_INT(ckpt_string_check(enc, out.len, N - 1, &c), -EBADMSG);
	free(enc);
	free(lens);
	free(data);
	free(in);
	free(inlen);
	ckpt_buf_free(&out);
	ckpt_buf_free(&model);
}

/* Hostile buffers: counts beyond the buffer, lengths beyond it, overlong
 * varints; the caller's arrays are never written. */
/* What ckpt_string_explain() says of each way a string tensor can be
 * wrong (the refusal of a write-out quotes it). */
static void
test_string_explain(void)
{
	static const uint8_t cut[] = { 0x80, 0x80, 0x80, 0x80, 0x80 };
	static const uint8_t over[] = { 0x05, 0, 0, 0, 0, 'a' };
	static const uint8_t shorter[] = { 0x01, 0x01, 0, 0, 0, 0, 'a' };
	uint8_t ok[9] = { 0x02, 0x03, 0, 0, 0, 0, 'h', 'i', 'y' };
	const uint8_t *d[2] = { (const uint8_t *)"hi", (const uint8_t *)"you" };
	uint64_t l[2] = { 2, 3 };
	struct ckpt_buf good = { 0 };
	uint32_t crc;
	char why[160], want[160];

	ckpt_string_explain(ok, 3, 1, false, why, sizeof(why));
	CHECK_EQ_STR(why, "3 bytes cannot hold 1 length and their 4-byte "
			  "checksum");
	ckpt_string_explain(ok, 0, 0, false, why, sizeof(why));
	CHECK_EQ_STR(why, "0 bytes, not the 4 of the checksum of no lengths "
			  "(a282ead8, little-endian)");
	ckpt_string_explain(ok, 5, 0, true, why, sizeof(why));
	CHECK_EQ_STR(why, "5 bytes, not the 4 of the checksum of no lengths "
			  "(a282ead8, big-endian)");
	ckpt_string_explain(ok, 6, 3, false, why, sizeof(why));
	CHECK_EQ_STR(why, "6 bytes cannot hold 3 lengths and their 4-byte "
			  "checksum");
	ckpt_string_explain(cut, sizeof(cut), 1, false, why, sizeof(why));
	CHECK_EQ_STR(why, "the length of element 0 (at byte 0) is not a "
			  "varint");
	ckpt_string_explain(over, sizeof(over), 1, false, why, sizeof(why));
	CHECK_EQ_STR(why, "the lengths add up to 5 bytes, but 1 follow them "
			  "and their 4-byte checksum");
	ckpt_string_explain(shorter, sizeof(shorter), 2, false, why,
			    sizeof(why));
	CHECK_EQ_STR(why, "the lengths add up to 2 bytes, but 1 follow them "
			  "and their 4-byte checksum");
	CHECK_EQ_INT(ckpt_string_encode(d, l, 2, &good, &crc), 0);
	CHECK_EQ_U64(good.len, 11);
	memcpy(ok, good.data, 6);	/* the right checksum, for WANT */
	snprintf(want, sizeof(want),
		 "the checksum of the lengths (bytes 2 to 5, little-endian) is "
		 "00000000 where the lengths give %08x",
		 (unsigned)ckpt_load32le(good.data + 2));
	memset(good.data + 2, 0, 4);
	ckpt_string_explain(good.data, good.len, 2, false, why, sizeof(why));
	CHECK_EQ_STR(why, want);
	CHECK_EQ_INT(ckpt_string_check(good.data, good.len, 2, &crc),
		     -EBADMSG);
	memcpy(good.data + 2, ok + 2, 4);
	CHECK_EQ_INT(ckpt_string_check(good.data, good.len, 2, &crc), 0);
	ckpt_buf_free(&good);
}

static void
test_string_hostile(void)
{
	uint8_t b[16];
	uint64_t lens[1] = { 777 }, five = 5, big[2] = { 1, (uint64_t)1 << 32 };
	const uint8_t *data[1] = { NULL };
	uint8_t *tmp, eight[12];
	uint32_t c;

	/* nelems far larger than the buffer: rejected before any write */
	memset(b, 0, sizeof(b));
	tmp = check_memdup(b, sizeof(b));
	CHECK_EQ_INT(ckpt_string_decode(tmp, 16, UINT64_MAX, lens, data),
		     -EBADMSG);
	CHECK_EQ_INT(ckpt_string_decode(tmp, 16, 13, lens, data), -EBADMSG);
	CHECK_EQ_U64(lens[0], 777);
	CHECK(data[0] == NULL);
	CHECK_EQ_INT(ckpt_string_check(tmp, 16, (uint64_t)1 << 62, &c),
		     -EBADMSG);
	free(tmp);
	CHECK_EQ_INT(ckpt_string_check(NULL, 0, 0, &c), -EBADMSG);
	CHECK_EQ_INT(ckpt_string_check(b, 3, 0, &c), -EBADMSG);

	/* A length of 5 with a valid checksum but only 2 data bytes. */
	b[0] = 5;
	ckpt_store32le(b + 1,
		       ckpt_crc_mask(ckpt_string_lengths_crc(&five, 1, false)));
	b[5] = 'a';
	b[6] = 'b';
	tmp = check_memdup(b, 7);
	CHECK_EQ_INT(ckpt_string_decode(tmp, 7, 1, lens, data), -EBADMSG);
	free(tmp);
	b[7] = 'c', b[8] = 'd', b[9] = 'e';
	tmp = check_memdup(b, 10);
	CHECK_EQ_INT(ckpt_string_decode(tmp, 10, 1, lens, data), 0);
	CHECK_EQ_U64(lens[0], 5);
	CHECK_EQ_MEM(data[0], 5, "abcde", 5);
	free(tmp);

	/* A length near 2^64 (10-byte varint) and an 11-byte varint. */
	memset(b, 0xff, 9);
	b[9] = 0x01;
	memset(b + 10, 0, 6);
	tmp = check_memdup(b, 16);
	CHECK_EQ_INT(ckpt_string_check(tmp, 16, 1, &c), -EBADMSG);
	free(tmp);
	memset(b, 0xff, 11);
	tmp = check_memdup(b, 16);
	CHECK_EQ_INT(ckpt_string_check(tmp, 16, 1, &c), -EBADMSG);
	free(tmp);

	/* Lengths > UINT32_MAX go into the checksum as 8 bytes. */
	ckpt_store32le(eight, 1);
	ckpt_store64le(eight + 4, (uint64_t)1 << 32);
	CHECK_EQ_U64(ckpt_string_lengths_crc(big, 2, false),
		     ckpt_crc32c(eight, 12));
	big[1] = UINT32_MAX;
	ckpt_store32le(eight + 4, UINT32_MAX);
	CHECK_EQ_U64(ckpt_string_lengths_crc(big, 2, false),
		     ckpt_crc32c(eight, 8));
	CHECK_EQ_U64(ckpt_string_lengths_crc(NULL, 0, false), 0);
}

/* Big-endian producers: lengths and checksum in big-endian order. */
static void
test_string_big_endian(void)
{
	static const uint8_t lens_be[8] = { 0, 0, 0, 2, 0, 0, 0, 0 };
	uint64_t inlen[2] = { 2, 0 }, lens[2];
	const uint8_t *data[2];
	uint8_t b[8], *tmp;
	uint32_t l = ckpt_crc32c(lens_be, 8), m = ckpt_crc_mask(l), c, want;

	CHECK_EQ_U64(ckpt_string_lengths_crc(inlen, 2, true), l);
	b[0] = 2, b[1] = 0;
	b[2] = (uint8_t)(m >> 24), b[3] = (uint8_t)(m >> 16);
	b[4] = (uint8_t)(m >> 8), b[5] = (uint8_t)m;
	b[6] = 'a', b[7] = 'b';
	tmp = check_memdup(b, 8);
	CHECK_EQ_INT(ckpt_string_parse(tmp, 8, 2, true, lens, data, &c), 0);
	CHECK_EQ_U64(lens[0], 2);
	CHECK(data[0] == tmp + 6);
	want = ckpt_crc32c_extend(ckpt_crc32c_extend(l, b + 2, 4), "ab", 2);
	CHECK_EQ_U64(c, want);
	CHECK_EQ_INT(ckpt_string_parse(tmp, 8, 2, false, NULL, NULL, &c),
		     -EBADMSG);
	free(tmp);
}

/* Read LEN bytes at OFF of REALDATA/NAME into an exact heap buffer, or
 * NULL if the file is missing. */
static uint8_t *
read_real(const char *dir, const char *name, long off, size_t len)
{
	char path[1024];
	uint8_t *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "note: %s missing; skipped\n", path);
		return NULL;
	}
	p = malloc(len);
	CHECK(p != NULL);
	CHECK_EQ_INT(fseek(f, off, SEEK_SET), 0);
	CHECK_EQ_INT(fread(p, 1, len, f), len);
	fclose(f);
	return p;
}

/* The object-graph tensors of the two real TF2 checkpoints: framing,
 * length checksum and the entry CRC recorded in their indexes. */
static void
test_string_real(void)
{
	static const struct {
		const char *file;
		long off;
		size_t size;
		uint64_t slen;
		uint32_t masked_crc; /* from the entry in the .index */
	} real[] = {
		{ "saved_model_half_plus_two_tf2_cpu_variables.data-00000-of-"
		  "00001",
		  12, 619, 613, 0x47b7d190 },
		{ "tf_text_regression_01_variables_variables.data-00000-of-"
		  "00001",
		  0, 927, 921, 0xce16df04 },
	};
	static const uint8_t cksum0[4] = { 0xb1, 0xa6, 0x5e, 0x36 };
	const char *dir = check_realdata();
	const uint8_t *data[1];
	uint64_t lens[1];
	uint32_t c;
	size_t i;

	if (dir == NULL)
		return;
	for (i = 0; i < ARRAY_SIZE(real); i++) {
		uint8_t *b =
			read_real(dir, real[i].file, real[i].off, real[i].size);
		struct ckpt_buf out = { 0 };
		size_t hdr = real[i].size - real[i].slen;

		if (b == NULL)
			continue;
		if (i == 0)
			CHECK_EQ_MEM(b + 2, 4, cksum0, 4);
		CHECK_EQ_INT(ckpt_string_check(b, real[i].size, 1, &c), 0);
		CHECK_EQ_U64(ckpt_crc_mask(c), real[i].masked_crc);
		CHECK_EQ_INT(ckpt_string_decode(b, real[i].size, 1, lens, data),
			     0);
		CHECK_EQ_U64(lens[0], real[i].slen);
		CHECK(data[0] == b + hdr);
		CHECK_EQ_U64(
			ckpt_load32le(b + hdr - 4),
			ckpt_crc_mask(ckpt_string_lengths_crc(lens, 1, false)));
		/* Our encoder reproduces TF's bytes and CRC. */
		CHECK_EQ_INT(ckpt_string_encode(data, lens, 1, &out, &c), 0);
		CHECK_EQ_MEM(out.data, out.len, b, real[i].size);
		CHECK_EQ_U64(ckpt_crc_mask(c), real[i].masked_crc);
		/* and so does encoding the string where it lies */
		out.len = 0;
		CHECK_EQ_INT(ckpt_buf_put(&out, data[0], (size_t)lens[0]), 0);
		CHECK_EQ_INT(ckpt_string_encode_in_place(&out, false), 0);
		CHECK_EQ_MEM(out.data, out.len, b, real[i].size);
		ckpt_buf_free(&out);
		free(b);
	}
}

/* --- OrderedCode ------------------------------------------------------ */

/* Encode with FN-style putter V, compare with WANT, decode back. */
static void
check_numinc(uint64_t v, const uint8_t *want, size_t wlen)
{
	struct ckpt_buf out = { 0 };
	const uint8_t *p, *e;
	uint8_t *tmp;
	uint64_t r;

	CHECK_EQ_INT(ckpt_oc_put_numinc(&out, v), 0);
	CHECK_EQ_MEM(out.data, out.len, want, wlen);
	tmp = buf_copy(&out);
	p = tmp;
	CHECK_EQ_INT(ckpt_oc_get_numinc(&p, tmp + out.len, &r), 0);
	CHECK_EQ_U64(r, v);
	CHECK(p == tmp + out.len);
	/* every truncation fails and leaves P alone */
	for (e = tmp; e < tmp + out.len; e++) {
		p = tmp;
		CHECK_EQ_INT(ckpt_oc_get_numinc(&p, e, &r), -EBADMSG);
		CHECK(p == tmp);
	}
	free(tmp);
	ckpt_buf_free(&out);
}

/* Round-trip V through SNum; if WANT is given compare the bytes. */
static void
check_snum(int64_t v, const uint8_t *want, size_t wlen)
{
	struct ckpt_buf out = { 0 };
	const uint8_t *p, *e;
	uint8_t *tmp;
	int64_t r;

	CHECK_EQ_INT(ckpt_oc_put_snum(&out, v), 0);
	if (want != NULL)
		CHECK_EQ_MEM(out.data, out.len, want, wlen);
	tmp = buf_copy(&out);
	p = tmp;
	r = ~v;
	CHECK_EQ_INT(ckpt_oc_get_snum(&p, tmp + out.len, &r), 0);
	CHECK_EQ_INT(r, v);
	CHECK(p == tmp + out.len);
	for (e = tmp; e < tmp + out.len; e++) {
		p = tmp;
		CHECK_EQ_INT(ckpt_oc_get_snum(&p, e, &r), -EBADMSG);
		CHECK(p == tmp);
	}
	free(tmp);
	ckpt_buf_free(&out);
}

#define B(...)                                                                 \
	(const uint8_t[]){ __VA_ARGS__ },                                      \
		sizeof((const uint8_t[]){ __VA_ARGS__ })

/* FORMAT.md 6.2's NumInc examples and bad encodings. */
static void
test_numinc(void)
{
	static const uint8_t bad[][3] = {
		{ 0x09, 0, 0 }, /* length > 8 */
		{ 0xff, 0, 0 },
		{ 0x01, 0x00, 0 }, /* leading zero: not canonical */
		{ 0x02, 0x00, 0x01 },
	};
	const uint8_t *p;
	uint64_t r;
	size_t i;

	check_numinc(0, B(0x00));
	check_numinc(2, B(0x01, 0x02));
	check_numinc(255, B(0x01, 0xff));
	check_numinc(256, B(0x02, 0x01, 0x00));
	check_numinc(254, B(0x01, 0xfe));
	check_numinc(0x0102030405060708ull,
		     B(0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08));
	check_numinc(UINT64_MAX,
		     B(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		p = bad[i];
		CHECK_EQ_INT(ckpt_oc_get_numinc(&p, bad[i] + 3, &r), -EBADMSG);
		CHECK(p == bad[i]);
	}
	p = bad[0];
	CHECK_EQ_INT(ckpt_oc_get_numinc(&p, p, &r), -EBADMSG);
}

/* FORMAT.md 6.2's SNum examples, every length boundary, random values,
 * byte order = numeric order, and non-canonical or invalid headers. */
static void
test_snum(void)
{
	static const uint8_t bad[][10] = {
		{ 0xc0, 0x05 },				/* 5 in two bytes */
		{ 0x3f, 0xff },				/* -1 in two bytes */
		{ 0xff, 0x00, 0, 0, 0, 0, 0, 0x12 },	/* 0x12 in 8 bytes */
		{ 0xff, 0xc1, 0, 0, 0, 0, 0, 0, 0, 0 }, /* no such header */
		{ 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0 },
		{ 0xff, 0xc0, 0x80, 0, 0, 0, 0, 0, 0, 0 }, /* 2^63 */
		{ 0x00, 0x3f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 },
	};
	struct ckpt_buf a = { 0 }, b = { 0 };
	const uint8_t *p;
	int64_t r;
	size_t i;
	int n;

	check_snum(0, B(0x80));
	check_snum(5, B(0x85));
	check_snum(63, B(0xbf));
	check_snum(-1, B(0x7f));
	check_snum(-64, B(0x40));
	check_snum(64, B(0xc0, 0x40));
	check_snum(100, B(0xc0, 0x64));
	check_snum(300, B(0xc1, 0x2c));
	check_snum(-100, B(0x3f, 0x9c));
	check_snum(8192, B(0xe0, 0x20, 0x00));
	check_snum(0x424242, B(0xf0, 0x42, 0x42, 0x42));
	check_snum(-2048, B(0x38, 0x00));
	check_snum(INT64_MAX, B(0xff, 0xc0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
				0xff, 0xff));
	check_snum(INT64_MIN, B(0x00, 0x3f, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
				0x00, 0x00));
	/* Each length n holds |x| < 2^(7n-1): the values on either side. */
	for (n = 1; n <= 9; n++) {
		int64_t edge = (int64_t)1 << (7 * n - 1);
		int64_t vals[4] = { edge - 1, edge, -edge, -edge - 1 };
		int want[4] = { n, n + 1, n, n + 1 };
		int k;

		for (k = 0; k < 4; k++) {
			CHECK_EQ_INT(ckpt_oc_put_snum(&a, vals[k]), 0);
			CHECK_EQ_INT(a.len, want[k]);
			a.len = 0;
			check_snum(vals[k], NULL, 0);
		}
	}
	/* Random values of every magnitude; encodings sort like numbers. */
	for (i = 0; i < 4000; i++) {
		unsigned sx = (unsigned)(rnd() % 64),
			 sy = (unsigned)(rnd() % 64);
		int64_t x = (int64_t)(rnd() >> sx), y;
		int cmp;

		y = (int64_t)(rnd() >> sy); /* one rnd() per statement */

		if (i & 1)
			x = -x;
		if (i & 2)
			y = ~y;
		check_snum(x, NULL, 0);
		a.len = b.len = 0;
		CHECK_EQ_INT(ckpt_oc_put_snum(&a, x), 0);
		CHECK_EQ_INT(ckpt_oc_put_snum(&b, y), 0);
		cmp = memcmp(a.data, b.data, a.len < b.len ? a.len : b.len);
		if (cmp == 0)
			cmp = (a.len > b.len) - (a.len < b.len);
		CHECK_EQ_INT(cmp < 0, x < y);
		CHECK_EQ_INT(cmp == 0, x == y);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		p = bad[i];
		CHECK_EQ_INT(ckpt_oc_get_snum(&p, bad[i] + 10, &r), -EBADMSG);
		CHECK(p == bad[i]);
	}
	ckpt_buf_free(&a);
	ckpt_buf_free(&b);
}

/* Encode a key, compare with WANT, decode it back to the same parts, and
 * reject every truncation and a trailing byte. */
static void
check_key(const void *name, size_t nlen, const struct ckpt_extent *ext,
	  int rank, const uint8_t *want, size_t wlen)
{
	struct ckpt_extent got[CKPT_MAX_RANK];
	struct ckpt_buf out = { 0 };
	uint8_t *key, *nb;
	size_t gl, i;
	int gr;

	CHECK_EQ_INT(ckpt_slice_key_encode(name, nlen, ext, rank, &out), 0);
	if (want != NULL)
		CHECK_EQ_MEM(out.data, out.len, want, wlen);
	key = buf_copy(&out);
	nb = malloc(out.len);
	CHECK(nb != NULL);
	CHECK_EQ_INT(ckpt_slice_key_decode(key, out.len, nb, &gl, got, &gr), 0);
	CHECK_EQ_MEM(nb, gl, name, nlen);
	CHECK_EQ_INT(gr, rank);
	for (i = 0; i < (size_t)rank; i++) {
		CHECK_EQ_INT(got[i].start, ext[i].start);
		CHECK_EQ_INT(got[i].length, ext[i].length);
	}
	for (i = 0; i < out.len; i++) {
		uint8_t *t = check_memdup(key, i);

		CHECK_EQ_INT(ckpt_slice_key_decode(t, i, nb, &gl, got, &gr),
			     -EBADMSG);
		free(t);
	}
	free(key);
	free(nb);
	CHECK_EQ_INT(ckpt_buf_put(&out, "", 1), 0);
	key = buf_copy(&out);
	nb = malloc(out.len);
	CHECK(nb != NULL);
	CHECK_EQ_INT(ckpt_slice_key_decode(key, out.len, nb, &gl, got, &gr),
		     -EBADMSG);
	free(key);
	free(nb);
	ckpt_buf_free(&out);
}

/* FORMAT.md 6.1/6.2 keys, escaping, limits and malformed keys. */
static void
test_slice_keys(void)
{
	static const struct ckpt_extent e1[2] = { { 0, 5 }, { 0, 4 } };
	static const struct ckpt_extent e2[2] = { { 5, 5 }, { 0, 4 } };
	static const struct ckpt_extent full[1] = { { 0, -1 } };
	static const struct ckpt_extent badext[] = {
		{ 1, -1 },	  { -1, 5 },	    { 0, -2 },
		{ 5, INT64_MAX }, { INT64_MIN, 0 },
	};
	static const struct {
		const uint8_t k[12];
		size_t len;
	} bad[] = {
		{ { 0x01, 0x00, 0x77, 0x00, 0x01, 0x00 }, 6 }, /* NumInc(1) */
		{ { 0x00, 0x77, 0x00, 0x02, 0x00 }, 5 },       /* bad escape */
		{ { 0x00, 0x77, 0xff, 0x01, 0x00, 0x01, 0x00 }, 7 },
		{ { 0x00, 0x77, 0x00, 0x01, 0x01, 0xff }, 6 }, /* rank 255 */
		{ { 0x00, 0x77, 0x00, 0x01, 0x01, 0x01, 0x81, 0x7f }, 8 },
		{ { 0x00, 0x77, 0x00, 0x01, 0x01, 0x01, 0x7f, 0x85 }, 8 },
		{ { 0x00, 0x77, 0x00, 0x01, 0x01, 0x01, 0x80, 0x7e }, 8 },
		{ { 0x00, 0x77, 0x00, 0x01, 0x01, 0x01, 0xc0, 0x05, 0x85 }, 9 },
		{ { 0x00, 0x77, 0x00, 0x01, 0x02, 0x00, 0x01 }, 7 },
	};
	static struct ckpt_extent many[CKPT_MAX_RANK + 1];
	struct ckpt_extent got[CKPT_MAX_RANK];
	struct ckpt_buf out = { 0 };
	uint8_t all[256], nb[16];
	size_t i, gl;
	int gr;

	check_key(
		"w", 1, e1, 2,
		B(0x00, 0x77, 0x00, 0x01, 0x01, 0x02, 0x80, 0x85, 0x80, 0x84));
	check_key(
		"w", 1, e2, 2,
		B(0x00, 0x77, 0x00, 0x01, 0x01, 0x02, 0x85, 0x85, 0x80, 0x84));
	check_key("w", 1, full, 1,
		  B(0x00, 0x77, 0x00, 0x01, 0x01, 0x01, 0x80, 0x7f));
	check_key(
		"a\0b\xff", 4, NULL, 0,
		B(0x00, 0x61, 0x00, 0xff, 0x62, 0xff, 0x00, 0x00, 0x01, 0x00));
	check_key("", 0, NULL, 0, B(0x00, 0x00, 0x01, 0x00));
	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	check_key(all, sizeof(all), e2, 2, NULL, 0);
	for (i = 0; i <= CKPT_MAX_RANK; i++) {
		many[i].start = (int64_t)(rnd() >> 2);
		many[i].length = (int64_t)(rnd() % 1000) - 1;
		if (many[i].length == -1)
			many[i].start = 0;
	}
	many[0].start = INT64_MAX;
	many[0].length = 0;
	check_key("x/y", 3, many, CKPT_MAX_RANK, NULL, 0);
	CHECK_EQ_INT(
		ckpt_slice_key_encode("x", 1, many, CKPT_MAX_RANK + 1, &out),
		-EINVAL);
	CHECK_EQ_INT(ckpt_slice_key_encode("x", 1, many, -1, &out), -EINVAL);
	CHECK_EQ_INT(ckpt_slice_key_encode(NULL, 1, NULL, 0, &out), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(badext); i++)
		CHECK_EQ_INT(ckpt_slice_key_encode("x", 1, &badext[i], 1, &out),
			     -EINVAL);
	/* A failure half-way leaves OUT as it was. */
	many[3].length = -7;
	CHECK_EQ_INT(ckpt_buf_put(&out, "keep", 4), 0);
	CHECK_EQ_INT(ckpt_slice_key_encode("x", 1, many, 5, &out), -EINVAL);
	CHECK_EQ_MEM(out.data, out.len, "keep", 4);
	ckpt_buf_free(&out);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		uint8_t *t = check_memdup(bad[i].k, bad[i].len);

		gl = 99;
		CHECK_EQ_INT(
			ckpt_slice_key_decode(t, bad[i].len, nb, &gl, got, &gr),
			-EBADMSG);
		CHECK_EQ_INT(gl, 99);
		free(t);
	}
	CHECK_EQ_INT(ckpt_slice_key_decode(NULL, 0, nb, &gl, got, &gr),
		     -EBADMSG);
}

/* --- printing ---------------------------------------------------------- */

/* Format one element given as bytes and compare the text. */
static void
check_fmt(int dtype, bool be, const uint8_t *bytes, const char *want)
{
	struct ckpt_buf out = { 0 };
	size_t n = ckpt_dtype_size(dtype);
	uint8_t *e = check_memdup(bytes, n);

	CHECK_EQ_INT(ckpt_buf_put(&out, "|", 1), 0);
	CHECK_EQ_INT(ckpt_value_format(dtype, e, be, &out), 0);
	CHECK_EQ_INT(ckpt_buf_put(&out, "", 1), 0);
	CHECK_EQ_STR((const char *)out.data + 1, want);
	CHECK_EQ_INT(out.data[0], '|');
	free(e);
	ckpt_buf_free(&out);
}

/* Format a float given as its value. */
static void
check_fmt_f32(float f, const char *want)
{
	uint8_t b[4], r[4];
	uint32_t x;

	memcpy(&x, &f, 4);
	ckpt_store32le(b, x);
	r[0] = b[3], r[1] = b[2], r[2] = b[1], r[3] = b[0];
	check_fmt(CKPT_DT_FLOAT, false, b, want);
	check_fmt(CKPT_DT_FLOAT, true, r, want);
}

/* Format a double given as its value. */
static void
check_fmt_f64(double d, const char *want)
{
	uint8_t b[8];
	uint64_t x;

	memcpy(&x, &d, 8);
	ckpt_store64le(b, x);
	check_fmt(CKPT_DT_DOUBLE, false, b, want);
}

static int sig_digits(const char *text);

/* The exact text of one element (ckpt_value_format_exact()). */
static char *
fmt_exact(int dtype, bool be, const uint8_t *bytes)
{
	struct ckpt_buf out = { 0 };

	CHECK_EQ_INT(ckpt_value_format_exact(dtype, bytes, be, &out), 0);
	CHECK_EQ_INT(ckpt_buf_put(&out, "", 1), 0);
	return (char *)out.data;
}

/* JSON's texts: every float16 and bfloat16, and float32s, read back as
 * their exact value in double precision, by the fewest digits; other
 * dtypes as ckpt_value_format() prints them. */
static void
test_value_format_exact(void)
{
	static const struct {
		int dtype;
		uint8_t b[8];
		const char *want;
	} cases[] = {
		{ CKPT_DT_BFLOAT16, { 0xab, 0x3e }, "0.333984375" },
		{ CKPT_DT_HALF, { 0x55, 0x35 }, "0.333251953125" },
		{ CKPT_DT_HALF, { 0xff, 0x7b }, "65504" },
		{ CKPT_DT_HALF, { 0x00, 0x7c }, "inf" },
		{ CKPT_DT_BFLOAT16, { 0xc1, 0x7f }, "nan" },
		{ CKPT_DT_FLOAT, { 0xcd, 0xcc, 0xcc, 0x3d },
		  "0.10000000149011612" },
		{ CKPT_DT_FLOAT, { 0x00, 0x00, 0x00, 0x80 }, "-0" },
		{ CKPT_DT_FLOAT, { 0x00, 0x00, 0xc0, 0x3f }, "1.5" },
		{ CKPT_DT_COMPLEX64,
		  { 0xcd, 0xcc, 0xcc, 0x3d, 0x00, 0x00, 0x00, 0xc0 },
		  "(0.10000000149011612-2j)" },
		{ CKPT_DT_DOUBLE, { 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9,
				    0x3f },
		  "0.1" },
		{ CKPT_DT_INT4, { 0x0f }, "-1" },
		{ CKPT_DT_FLOAT8_E5M2, { 0x3c }, "1" },
		{ CKPT_DT_FLOAT8_E4M3FN, { 0x01 }, "0.001953125" },
	};
	unsigned bad = 0, longer = 0;
	uint32_t x = 0x12345678;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = fmt_exact(cases[i].dtype, false, cases[i].b);

		CHECK_EQ_STR(t, cases[i].want);
		free(t);
	}
	/* big-endian */
	{
		char *t = fmt_exact(CKPT_DT_BFLOAT16, true,
				    (const uint8_t[]){ 0x3e, 0xab });

		CHECK_EQ_STR(t, "0.333984375");
		free(t);
	}
	for (unsigned h = 0; h < 0x20000; h++) {
		bool bf16 = h >= 0x10000;
		uint8_t b[2] = { (uint8_t)h, (uint8_t)(h >> 8) };
		double v = bf16 ? ckpt_bfloat16_to_float((uint16_t)h)
				: ckpt_half_to_float((uint16_t)h);
		char *t;

		if (isnan(v) || isinf(v))
			continue;
		t = fmt_exact(bf16 ? CKPT_DT_BFLOAT16 : CKPT_DT_HALF, false, b);
		if (strtod(t, NULL) != v || signbit(strtod(t, NULL)) !=
						    signbit(v))
			bad++;
		/* the fewest digits: V rounded to one less does not read
		 * back as V */
		if (sig_digits(t) > 1) {
			char shorter[48];

			snprintf(shorter, sizeof(shorter), "%.*e",
				 sig_digits(t) - 2, v);
			if (strtod(shorter, NULL) == v)
				longer++;
		}
		free(t);
	}
	for (int i = 0; i < 100000; i++) {
		uint8_t b[4];
		float f;
		char *t;

		x = x * 1664525u + 1013904223u;	/* any bits */
		memcpy(&f, &x, 4);
		if (isnan(f) || isinf(f))
			continue;
		ckpt_store32le(b, x);
		t = fmt_exact(CKPT_DT_FLOAT, false, b);
		if (strtod(t, NULL) != (double)f ||
		    !signbit(strtod(t, NULL)) != !signbit(f))
			bad++;
		free(t);
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(longer, 0);
}

/* The value of code C of a float8 format of MBITS mantissa bits and
 * exponent BIAS, as ml_dtypes defines them (an independent reading of
 * the formats: each bit's weight summed); NAN for its NaN codes. */
static double
f8_ref(unsigned c, int mbits, int bias, int kind)
{
	int e = (int)(c & 0x7f) >> mbits, m = (int)c & ((1 << mbits) - 1);
	int emax = 0x7f >> mbits;
	double v = 0, w;

	if ((kind == 2 && c == 0x80) ||
	    (kind == 1 && e == emax && m == (1 << mbits) - 1) ||
	    (kind == 0 && e == emax))
		return m == 0 && kind == 0 ? ((c & 0x80) ? -INFINITY : INFINITY)
					   : NAN;
	w = 1;
	for (int i = 0; i < (e == 0 ? 1 - bias : e - bias); i++)
		w *= 2;
	for (int i = 0; i > (e == 0 ? 1 - bias : e - bias); i--)
		w /= 2;
	if (e != 0)
		v = w;
	for (int b = mbits - 1; b >= 0; b--) {
		w /= 2;
		if (m & (1 << b))
			v += w;
	}
	return (c & 0x80) ? -v : v;
}

/* float8 values: every code of the five formats prints, as text and in
 * JSON, the shortest text of its exact value (the value of an
 * independent reading of the formats); NaN as "nan", e5m2's
 * infinities. */
static void
test_value_format_f8(void)
{
	static const struct {
		int dtype, mbits, bias, kind;	/* 0 IEEE, 1 fn, 2 fnuz */
		unsigned max;			/* largest finite code */
		const char *maxtext;
	} fm[] = {
		{ CKPT_DT_FLOAT8_E5M2, 2, 15, 0, 0x7b, "57344" },
		{ CKPT_DT_FLOAT8_E4M3FN, 3, 7, 1, 0x7e, "448" },
		{ CKPT_DT_FLOAT8_E4M3FNUZ, 3, 8, 2, 0x7f, "240" },
		{ CKPT_DT_FLOAT8_E4M3B11FNUZ, 3, 11, 2, 0x7f, "30" },
		{ CKPT_DT_FLOAT8_E5M2FNUZ, 2, 16, 2, 0x7f, "57344" },
	};
	unsigned bad = 0;

	for (size_t f = 0; f < sizeof(fm) / sizeof(fm[0]); f++) {
		uint8_t b[1] = { (uint8_t)fm[f].max };

		check_fmt(fm[f].dtype, false, b, fm[f].maxtext);
		for (unsigned c = 0; c < 256; c++) {
			double v = f8_ref(c, fm[f].mbits, fm[f].bias,
					  fm[f].kind);
			struct ckpt_buf out = { 0 };
			char *t;

			b[0] = (uint8_t)c;
			CHECK_EQ_INT(ckpt_value_format(fm[f].dtype, b, false,
						       &out),
				     0);
			CHECK_EQ_INT(ckpt_buf_put(&out, "", 1), 0);
			t = fmt_exact(fm[f].dtype, false, b);
			CHECK_EQ_STR(t, (const char *)out.data);
			if (isnan(v)) {
				CHECK_EQ_STR(t, "nan");
			} else if (isinf(v)) {
				CHECK_EQ_STR(t, v < 0 ? "-inf" : "inf");
			} else if (strtod(t, NULL) != v ||
				   signbit(strtod(t, NULL)) != signbit(v)) {
				bad++;
			}
			free(t);
			ckpt_buf_free(&out);
		}
	}
	CHECK_EQ_INT(bad, 0);
	check_fmt(CKPT_DT_FLOAT8_E4M3FN, false, (const uint8_t[]){ 0x38 },
		  "1");
	check_fmt(CKPT_DT_FLOAT8_E4M3FN, false, (const uint8_t[]){ 0x01 },
		  "0.001953125");
	check_fmt(CKPT_DT_FLOAT8_E4M3FN, false, (const uint8_t[]){ 0xb9 },
		  "-1.125");
	check_fmt(CKPT_DT_FLOAT8_E4M3FN, false, (const uint8_t[]){ 0x78 },
		  "256");
	check_fmt(CKPT_DT_FLOAT8_E4M3FNUZ, false, (const uint8_t[]){ 0x80 },
		  "nan");
	check_fmt(CKPT_DT_FLOAT8_E4M3B11FNUZ, false,
		  (const uint8_t[]){ 0x58 }, "1");
	check_fmt(CKPT_DT_FLOAT8_E5M2FNUZ, false, (const uint8_t[]){ 0x40 },
		  "1");
	check_fmt(CKPT_DT_FLOAT8_E5M2, false, (const uint8_t[]){ 0xfc },
		  "-inf");
	check_fmt(CKPT_DT_FLOAT8_E5M2, false, (const uint8_t[]){ 0x80 },
		  "-0");
	check_fmt(CKPT_DT_FLOAT8_E5M2, false, (const uint8_t[]){ 0x01 },
		  "1.52587890625e-05");
}

/* Element text for every fixed-size dtype, both byte orders. */
static void
test_value_format(void)
{
	struct ckpt_buf out = { 0 };
	uint8_t c64[8], c128[16];
	uint32_t x;
	float f;

	check_fmt(CKPT_DT_FLOAT, false,
		  (const uint8_t[]){ 0x00, 0x00, 0x00, 0x3f }, "0.5");
	check_fmt(CKPT_DT_FLOAT, false,
		  (const uint8_t[]){ 0x00, 0x00, 0x40, 0x40 }, "3");
	/* FORMAT.md rounds this kernel value to -0.522396, which reads back
	 * as a different float; 8 digits are needed. */
	check_fmt(CKPT_DT_FLOAT, false,
		  (const uint8_t[]){ 0xbe, 0xbb, 0x05, 0xbf }, "-0.52239597");
	check_fmt(CKPT_DT_FLOAT, true,
		  (const uint8_t[]){ 0x3f, 0x00, 0x00, 0x00 }, "0.5");
	check_fmt_f32(0.1f, "0.1");
	check_fmt_f32(1e10f, "10000000000");
	/* the shortest digits written out, not the float's exact value
	 * (15000000512) */
	check_fmt_f32(1.5e10f, "15000000000");
	check_fmt_f32(-1.5e10f, "-15000000000");
	check_fmt_f32(123456.79f, "123456.79");
	check_fmt_f32(0.00012345f, "0.00012345");
	check_fmt_f32(1e16f, "1e+16");
	check_fmt_f32(1e-5f, "1e-05");
	check_fmt_f32(1e-4f, "0.0001");
	check_fmt_f32(0.0f, "0");
	check_fmt_f32(-0.0f, "-0");
	check_fmt_f32(16777216.0f, "16777216");
	check_fmt_f32(3.4028234663852886e38f, "3.4028235e+38");
	check_fmt_f32(1.17549435e-38f, "1.1754944e-38");
	check_fmt_f32(1.0f / 3.0f, "0.33333334");
	check_fmt_f32(INFINITY, "inf");
	check_fmt_f32(-INFINITY, "-inf");
	check_fmt_f32(NAN, "nan");
	x = 0xffc00001; /* negative NaN with a payload */
	memcpy(&f, &x, 4);
	check_fmt_f32(f, "nan");
	check_fmt_f64(0.1, "0.1");
	check_fmt_f64(1.0 / 3.0, "0.3333333333333333");
	check_fmt_f64(-2.5, "-2.5");
	check_fmt_f64(1e300, "1e+300");
	check_fmt_f64(1e15, "1000000000000000");
	check_fmt_f64(9007199254740993.0, "9007199254740992");
	check_fmt_f64(1.5e20, "1.5e+20");
	check_fmt_f64(-1.25e-7, "-1.25e-07");
	check_fmt_f64(4.9406564584124654e-324, "5e-324");
	check_fmt_f64(0.1 + 0.2, "0.30000000000000004");
	check_fmt(CKPT_DT_DOUBLE, true,
		  (const uint8_t[]){ 0x3f, 0xe0, 0, 0, 0, 0, 0, 0 }, "0.5");

	check_fmt(CKPT_DT_HALF, false, (const uint8_t[]){ 0x00, 0x3c }, "1");
	check_fmt(CKPT_DT_HALF, true, (const uint8_t[]){ 0x3c, 0x00 }, "1");
	check_fmt(CKPT_DT_HALF, false, (const uint8_t[]){ 0x66, 0x2e }, "0.1");
	/* the largest half, 65504: "65500" reads back (numpy says 65500.0) */
	check_fmt(CKPT_DT_HALF, false, (const uint8_t[]){ 0xff, 0x7b },
		  "65500");
	check_fmt(CKPT_DT_HALF, false, (const uint8_t[]){ 0x01, 0x00 },
		  "6e-08");
	check_fmt(CKPT_DT_HALF, false, (const uint8_t[]){ 0x00, 0xc0 }, "-2");
	check_fmt(CKPT_DT_HALF, false, (const uint8_t[]){ 0x00, 0x7c }, "inf");
	check_fmt(CKPT_DT_HALF, false, (const uint8_t[]){ 0x00, 0xfe }, "nan");
	check_fmt(CKPT_DT_HALF, false, (const uint8_t[]){ 0x55, 0x35 },
		  "0.3333");
	check_fmt(CKPT_DT_BFLOAT16, false, (const uint8_t[]){ 0x80, 0x3f },
		  "1");
	check_fmt(CKPT_DT_BFLOAT16, false, (const uint8_t[]){ 0x49, 0x40 },
		  "3.14");
	check_fmt(CKPT_DT_BFLOAT16, true, (const uint8_t[]){ 0x40, 0x49 },
		  "3.14");
	check_fmt(CKPT_DT_BFLOAT16, false, (const uint8_t[]){ 0x80, 0xff },
		  "-inf");
	/* Powers of two: the values below are closer together than those
	 * above, and the shortest text is not the value rounded (1.73e-18
	 * reads back as the bfloat16 below 2^-59). */
	check_fmt(CKPT_DT_BFLOAT16, false, (const uint8_t[]){ 0x00, 0x22 },
		  "1.74e-18");
	check_fmt(CKPT_DT_BFLOAT16, false, (const uint8_t[]){ 0x00, 0xa2 },
		  "-1.74e-18");
	check_fmt_f64(9007199254740992.0, "9007199254740992");
	/* bfloat16 2^32 (4294967296): two digits read back */
	check_fmt(CKPT_DT_BFLOAT16, false, (const uint8_t[]){ 0x80, 0x4f },
		  "4300000000");
	check_fmt(CKPT_DT_HALF, false, (const uint8_t[]){ 0x00, 0x68 },
		  "2048");

	check_fmt(CKPT_DT_INT32, false,
		  (const uint8_t[]){ 0xfd, 0xff, 0xff, 0xff }, "-3");
	check_fmt(CKPT_DT_INT32, true,
		  (const uint8_t[]){ 0xff, 0xff, 0xff, 0xfd }, "-3");
	check_fmt(CKPT_DT_INT32, false,
		  (const uint8_t[]){ 0x00, 0x00, 0x00, 0x80 }, "-2147483648");
	check_fmt(CKPT_DT_QINT32, false,
		  (const uint8_t[]){ 0x01, 0x01, 0x00, 0x00 }, "257");
	check_fmt(CKPT_DT_INT16, false, (const uint8_t[]){ 0x00, 0x80 },
		  "-32768");
	check_fmt(CKPT_DT_INT16, true, (const uint8_t[]){ 0x01, 0x02 }, "258");
	check_fmt(CKPT_DT_QINT16, false, (const uint8_t[]){ 0xff, 0xff }, "-1");
	check_fmt(CKPT_DT_UINT16, false, (const uint8_t[]){ 0xff, 0xff },
		  "65535");
	check_fmt(CKPT_DT_QUINT16, true, (const uint8_t[]){ 0x01, 0x00 },
		  "256");
	check_fmt(CKPT_DT_INT8, false, (const uint8_t[]){ 0xff }, "-1");
	check_fmt(CKPT_DT_QINT8, false, (const uint8_t[]){ 0x80 }, "-128");
	check_fmt(CKPT_DT_UINT8, false, (const uint8_t[]){ 0xff }, "255");
	check_fmt(CKPT_DT_QUINT8, true, (const uint8_t[]){ 0x7f }, "127");
	check_fmt(CKPT_DT_UINT32, false,
		  (const uint8_t[]){ 0xff, 0xff, 0xff, 0xff }, "4294967295");
	check_fmt(CKPT_DT_INT64, false,
		  (const uint8_t[]){ 0, 0, 0, 0, 0, 0, 0, 0x80 },
		  "-9223372036854775808");
	check_fmt(CKPT_DT_INT64, true,
		  (const uint8_t[]){ 0, 0, 0, 0, 0, 0, 0x01, 0x00 }, "256");
	check_fmt(CKPT_DT_UINT64, false,
		  (const uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				     0xff },
		  "18446744073709551615");
	check_fmt(CKPT_DT_BOOL, false, (const uint8_t[]){ 0x00 }, "false");
	check_fmt(CKPT_DT_BOOL, false, (const uint8_t[]){ 0x01 }, "true");
	check_fmt(CKPT_DT_INT4, false, (const uint8_t[]){ 0x0f }, "-1");
	check_fmt(CKPT_DT_INT4, false, (const uint8_t[]){ 0x07 }, "7");
	check_fmt(CKPT_DT_INT4, false, (const uint8_t[]){ 0x08 }, "-8");
	check_fmt(CKPT_DT_INT4, false, (const uint8_t[]){ 0xf7 }, "7");
	check_fmt(CKPT_DT_UINT4, false, (const uint8_t[]){ 0xff }, "15");
	check_fmt(CKPT_DT_UINT4, false, (const uint8_t[]){ 0x10 }, "0");
	check_fmt(CKPT_DT_INT2, false, (const uint8_t[]){ 0x03 }, "-1");
	check_fmt(CKPT_DT_INT2, false, (const uint8_t[]){ 0x02 }, "-2");
	check_fmt(CKPT_DT_INT2, false, (const uint8_t[]){ 0xfd }, "1");
	check_fmt(CKPT_DT_UINT2, false, (const uint8_t[]){ 0xff }, "3");
	check_fmt(CKPT_DT_UINT2, false, (const uint8_t[]){ 0x04 }, "0");

	/* complex64 (1, 2), (1, -2) and big-endian halves swapped apart */
	ckpt_store32le(c64, 0x3f800000);
	ckpt_store32le(c64 + 4, 0x40000000);
	check_fmt(CKPT_DT_COMPLEX64, false, c64, "(1+2j)");
	ckpt_store32le(c64 + 4, 0xc0000000);
	check_fmt(CKPT_DT_COMPLEX64, false, c64, "(1-2j)");
	ckpt_store32le(c64 + 4, 0x7fc00000);
	check_fmt(CKPT_DT_COMPLEX64, false, c64, "(1+nanj)");
	check_fmt(CKPT_DT_COMPLEX64, true,
		  (const uint8_t[]){ 0x3f, 0x00, 0x00, 0x00, 0xbe, 0x80, 0x00,
				     0x00 },
		  "(0.5-0.25j)");
	ckpt_store64le(c128, 0x3fe0000000000000ull);
	ckpt_store64le(c128 + 8, 0xbfd0000000000000ull);
	check_fmt(CKPT_DT_COMPLEX128, false, c128, "(0.5-0.25j)");
	memset(c128, 0, 16);
	c128[0] = 0x3f, c128[1] = 0xf0;
	c128[8] = 0x40, c128[9] = 0x08;
	check_fmt(CKPT_DT_COMPLEX128, true, c128, "(1+3j)");

	/* no text for variable-size or unstorable dtypes */
	CHECK_EQ_INT(ckpt_value_format(CKPT_DT_STRING, c64, false, &out),
		     -ENOTSUP);
	CHECK_EQ_INT(ckpt_value_format(CKPT_DT_VARIANT, c64, false, &out),
		     -ENOTSUP);
	CHECK_EQ_INT(ckpt_value_format(0, c64, false, &out), -ENOTSUP);
	CHECK_EQ_INT(ckpt_value_format(200, c64, false, &out), -ENOTSUP);
	CHECK_EQ_INT(ckpt_value_format(CKPT_DT_FLOAT, NULL, false, &out),
		     -EINVAL);
	CHECK_EQ_INT(out.len, 0);
	ckpt_buf_free(&out);
}

/* Whether X reads back as V, whose neighbours are LO and HI (either
 * order) and whose bits are EVEN or not: nearer to V than to both, or
 * halfway to one when V's bits are even (ties to even). */
static bool
reads_back(double x, double v, double lo, double hi, bool even)
{
	double d = fabs(x - v), dl = fabs(x - lo), dh = fabs(x - hi);

	return (d < dl && d < dh) || (even && d <= dl && d <= dh);
}

/* Significant digits of number TEXT ("-0.0050000004" 8, "4300000000"
 * 2, "1.74e-18" 3). */
static int
sig_digits(const char *text)
{
	int n = 0, zeros = 0;
	bool begun = false;

	for (const char *p = text; *p != '\0' && *p != 'e'; p++) {
		if (*p < '0' || *p > '9')
			continue;
		if (*p == '0' && !begun)
			continue;
		begun = true;
		if (*p == '0') {
			zeros++;
		} else {
			n += zeros + 1;
			zeros = 0;
		}
	}
	return n;
}

/* Every finite binary16 (BF16 false) or bfloat16 value is printed by a
 * text nearer to it than to either neighbour, or halfway to one when its
 * bits are even, so it reads back as itself (ties to even); and by the
 * fewest digits that do: no text of one digit less (the value rounded to
 * it, or one unit of its last digit either side) reads back. */
static void
test_value_format_16(bool bf16)
{
	struct ckpt_buf out = { 0 };
	unsigned h, bad = 0, longer = 0;
	uint8_t b[2];

	for (h = 0; h < 0x10000; h++) {
		unsigned mag = h & 0x7fff, lim = bf16 ? 0x7f80 : 0x7c00;
		double v, lo, hi, x;
		int p;

		if (mag >= lim)
			continue;	/* inf, nan */
#define V16(u) (bf16 ? (double)ckpt_bfloat16_to_float((uint16_t)(u))        \
		     : (double)ckpt_half_to_float((uint16_t)(u)))
		v = V16(h);
		lo = mag == 0 ? -V16(1) : V16(h - 1);
		hi = mag + 1 == lim ? v + (v - lo) : V16(h + 1);
#undef V16
		b[0] = (uint8_t)h;
		b[1] = (uint8_t)(h >> 8);
		out.len = 0;
		CHECK_EQ_INT(ckpt_value_format(bf16 ? CKPT_DT_BFLOAT16
						    : CKPT_DT_HALF,
					       b, false, &out),
			     0);
		CHECK_EQ_INT(ckpt_buf_put(&out, "", 1), 0);
		x = strtod((const char *)out.data, NULL);
		if (!reads_back(x, v, lo, hi, (h & 1) == 0))
			bad++;
		p = sig_digits((const char *)out.data);
		if (v != 0 && p > 1) {
			char sci[48], text[64];
			long long m;
			int e;

			/* d.ddd (p - 1 digits) as the integer M times
			 * 10^(E - p + 2) */
			snprintf(sci, sizeof(sci), "%.*e", p - 2, fabs(v));
			e = atoi(strchr(sci, 'e') + 1);
			m = 0;
			for (const char *q = sci; *q != 'e'; q++)
				if (*q >= '0' && *q <= '9')
					m = m * 10 + (*q - '0');
			for (int d = -1; d <= 1; d++) {
				snprintf(text, sizeof(text), "%lldE%d", m + d,
					 e - p + 2);
				if (reads_back(copysign(strtod(text, NULL), v),
					       v, lo, hi, (h & 1) == 0))
					longer++;
			}
		}
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(longer, 0);
	ckpt_buf_free(&out);
}

/* binary16 and bfloat16 conversions: named values and all 65536 halves
 * against (1 + m/1024) * 2^(e-15) computed in double. */
static void
test_half(void)
{
	unsigned h;
	float f;

	CHECK(ckpt_half_to_float(0x3c00) == 1.0f);
	CHECK(ckpt_half_to_float(0xc000) == -2.0f);
	CHECK(ckpt_half_to_float(0x7bff) == 65504.0f);
	CHECK(ckpt_half_to_float(0x0001) == 1.0f / 16777216.0f);
	CHECK(ckpt_half_to_float(0x03ff) == 1023.0f / 16777216.0f);
	CHECK(ckpt_half_to_float(0x0400) == 1.0f / 16384.0f);
	CHECK(ckpt_half_to_float(0x3555) == 0.333251953125f);
	f = ckpt_half_to_float(0x7c00);
	CHECK(isinf(f) && f > 0);
	f = ckpt_half_to_float(0xfc00);
	CHECK(isinf(f) && f < 0);
	f = ckpt_half_to_float(0x8000);
	CHECK(f == 0.0f && signbit(f));
	CHECK(isnan(ckpt_half_to_float(0x7e00)));
	CHECK(isnan(ckpt_half_to_float(0x7c01)));
	CHECK(isnan(ckpt_half_to_float(0xfc01)));
	CHECK(ckpt_bfloat16_to_float(0x3f80) == 1.0f);
	CHECK(ckpt_bfloat16_to_float(0x4049) == 3.140625f);
	CHECK(ckpt_bfloat16_to_float(0xc000) == -2.0f);
	CHECK(ckpt_bfloat16_to_float(0x0000) == 0.0f);
	CHECK(isinf(ckpt_bfloat16_to_float(0xff80)));
	CHECK(isnan(ckpt_bfloat16_to_float(0x7fc0)));
	for (h = 0; h < 0x7c00; h++) {
		unsigned e = h >> 10, m = h & 0x3ff;
		double v = e ? 1.0 + m / 1024.0 : m / 1024.0;
		int k, p = e ? (int)e - 15 : -14;

		for (k = 0; k < (p < 0 ? -p : p); k++)
			v = p < 0 ? v / 2 : v * 2;
		CHECK((double)ckpt_half_to_float((uint16_t)h) == v);
		CHECK((double)ckpt_half_to_float((uint16_t)(h | 0x8000)) == -v);
	}
}

int
main(void)
{
	test_dtypes();
	test_shape_elems();
	test_shape_format();
	test_shape_parse();
	test_fixed_size();
	test_string_vectors();
	test_string_scalar();
	test_string_many();
	test_string_explain();
	test_string_hostile();
	test_string_big_endian();
	test_string_real();
	test_numinc();
	test_snum();
	test_slice_keys();
	test_value_format();
	test_value_format_exact();
	test_value_format_f8();
	test_value_format_16(false);
	test_value_format_16(true);
	test_half();
	return check_done("test_tensor");
}
