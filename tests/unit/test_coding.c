/* test_coding.c -- covers src/coding.c and src/err.c: varint32/64
 * encoding and bounds-checked decoding at the edge values, truncated and
 * overlong varints, fixed-width coding in either byte order, the growable
 * ckpt_buf, UTF-8, text made safe to print, and messages too long for a
 * struct ckpt_err. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "coding.h"
#include "err.h"

/* Encode V, compare with the expected bytes, decode it back from an
 * exact-size heap copy, and check every truncation is refused. */
static void
check_varint64(uint64_t v, const uint8_t *want, size_t wlen)
{
	uint8_t tmp[CKPT_MAX_VARINT64], *buf;
	const uint8_t *p;
	uint64_t got;
	size_t cut;

	CHECK_EQ_MEM(tmp, (size_t)(ckpt_put_varint64(tmp, v) - tmp), want,
		     wlen);
	CHECK_EQ_U64(ckpt_varint_len(v), wlen);
	buf = check_memdup(want, wlen);
	p = buf;
	CHECK_EQ_INT(ckpt_get_varint64(&p, buf + wlen, &got), 0);
	CHECK_EQ_U64(got, v);
	CHECK(p == buf + wlen);
	for (cut = 0; cut < wlen; cut++) {
		p = buf;
		got = 0x5555;
		CHECK_EQ_INT(ckpt_get_varint64(&p, buf + cut, &got), -EBADMSG);
		CHECK(p == buf);	   /* not advanced on failure */
		CHECK_EQ_U64(got, 0x5555); /* nor written */
	}
	free(buf);
}

/* The varint edge values, through both decoders where they fit. */
static void
test_varint_edges(void)
{
	static const uint8_t v0[] = { 0x00 };
	static const uint8_t v127[] = { 0x7f };
	static const uint8_t v128[] = { 0x80, 0x01 };
	static const uint8_t v300[] = { 0xac, 0x02 };
	static const uint8_t v32max[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
	static const uint8_t v32p1[] = { 0x80, 0x80, 0x80, 0x80, 0x10 };
	static const uint8_t v64max[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0x01 };
	const uint8_t *p;
	uint32_t v32;

	check_varint64(0, v0, sizeof(v0));
	check_varint64(127, v127, sizeof(v127));
	check_varint64(128, v128, sizeof(v128));
	check_varint64(300, v300, sizeof(v300));
	check_varint64(UINT32_MAX, v32max, sizeof(v32max));
	check_varint64((uint64_t)UINT32_MAX + 1, v32p1, sizeof(v32p1));
	check_varint64(UINT64_MAX, v64max, sizeof(v64max));

	p = v128;
	CHECK_EQ_INT(ckpt_get_varint32(&p, v128 + sizeof(v128), &v32), 0);
	CHECK_EQ_U64(v32, 128);
	p = v32max;
	CHECK_EQ_INT(ckpt_get_varint32(&p, v32max + sizeof(v32max), &v32), 0);
	CHECK_EQ_U64(v32, UINT32_MAX);
	CHECK(p == v32max + sizeof(v32max));
	/* 2^32 does not fit a varint32 */
	p = v32p1;
	CHECK_EQ_INT(ckpt_get_varint32(&p, v32p1 + sizeof(v32p1), &v32),
		     -EBADMSG);
	CHECK(p == v32p1);
	p = v32max;
	CHECK_EQ_INT(ckpt_get_varint32(&p, v32max + 4, &v32), -EBADMSG);
	p = v32max;
	CHECK_EQ_INT(ckpt_get_varint32(&p, v32max, &v32), -EBADMSG);
}

/* Overlong and over-wide encodings. */
static void
test_varint_overlong(void)
{
	static const uint8_t eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					  0x80, 0x80, 0x80, 0x80, 0x00 };
	static const uint8_t wide[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0xff, 0xff, 0x02 };
	static const uint8_t six0[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	uint8_t *buf;
	const uint8_t *p;
	uint64_t v;
	uint32_t v32;

	buf = check_memdup(eleven, sizeof(eleven));
	p = buf;
	CHECK_EQ_INT(ckpt_get_varint64(&p, buf + sizeof(eleven), &v), -EBADMSG);
	CHECK(p == buf);
	free(buf);
	/* 10 bytes whose last carries bits beyond 64 */
	p = wide;
	CHECK_EQ_INT(ckpt_get_varint64(&p, wide + sizeof(wide), &v), -EBADMSG);
	/* a 6-byte zero: fine as varint64, too long for varint32 */
	p = six0;
	CHECK_EQ_INT(ckpt_get_varint64(&p, six0 + sizeof(six0), &v), 0);
	CHECK_EQ_U64(v, 0);
	CHECK(p == six0 + 6);
	p = six0;
	CHECK_EQ_INT(ckpt_get_varint32(&p, six0 + sizeof(six0), &v32),
		     -EBADMSG);
	CHECK(p == six0);
	/* a 5-byte zero is still a valid varint32 */
	p = six0 + 1;
	CHECK_EQ_INT(ckpt_get_varint32(&p, six0 + sizeof(six0), &v32), 0);
	CHECK_EQ_U64(v32, 0);
}

/* Decode a run of consecutive varints of every length. */
static void
test_varint_sequence(void)
{
	struct ckpt_buf b = { 0 };
	const uint8_t *p, *limit;
	uint64_t v;
	int i;

	for (i = 0; i < 64; i++)
		CHECK_EQ_INT(ckpt_buf_put_varint(&b, (uint64_t)1 << i), 0);
	CHECK_EQ_U64(b.len, 1 * 7 + 2 * 7 + 3 * 7 + 4 * 7 + 5 * 7 + 6 * 7 +
				    7 * 7 + 8 * 7 + 9 * 7 + 10 * 1);
	p = b.data;
	limit = b.data + b.len;
	for (i = 0; i < 64; i++) {
		CHECK_EQ_INT(ckpt_get_varint64(&p, limit, &v), 0);
		CHECK_EQ_U64(v, (uint64_t)1 << i);
	}
	CHECK(p == limit);
	CHECK_EQ_INT(ckpt_get_varint64(&p, limit, &v), -EBADMSG);
	ckpt_buf_free(&b);
}

/* Little-endian fixed-width coding, whatever the host. */
static void
test_fixed(void)
{
	static const uint8_t le32[] = { 0x57, 0xfb, 0x80, 0x8b };
	static const uint8_t le64[] = { 0x57, 0xfb, 0x80, 0x8b,
					0x24, 0x75, 0x47, 0xdb };
	uint8_t tmp[8];
	struct ckpt_buf b = { 0 };

	CHECK_EQ_U64(ckpt_load32le(le32), 0x8b80fb57u);
	CHECK_EQ_U64(ckpt_load64le(le64), 0xdb4775248b80fb57ull);
	ckpt_store32le(tmp, 0x8b80fb57u);
	CHECK_EQ_MEM(tmp, 4, le32, 4);
	ckpt_store64le(tmp, 0xdb4775248b80fb57ull);
	CHECK_EQ_MEM(tmp, 8, le64, 8);
	ckpt_store32le(tmp, UINT32_MAX);
	CHECK_EQ_U64(ckpt_load32le(tmp), UINT32_MAX);
	ckpt_store64le(tmp, UINT64_MAX);
	CHECK_EQ_U64(ckpt_load64le(tmp), UINT64_MAX);
	ckpt_store64le(tmp, 0);
	CHECK_EQ_U64(ckpt_load64le(tmp), 0);
	/* in a bundle's byte order: little, or big */
	ckpt_store32(tmp, 0x8b80fb57u, false);
	CHECK_EQ_MEM(tmp, 4, le32, 4);
	CHECK_EQ_U64(ckpt_load32(le32, false), 0x8b80fb57u);
	ckpt_store32(tmp, 0x8b80fb57u, true);
	CHECK_EQ_MEM(tmp, 4, "\x8b\x80\xfb\x57", 4);
	CHECK_EQ_U64(ckpt_load32(tmp, true), 0x8b80fb57u);
	ckpt_store64(tmp, 0xdb4775248b80fb57ull, false);
	CHECK_EQ_MEM(tmp, 8, le64, 8);
	ckpt_store64(tmp, 0xdb4775248b80fb57ull, true);
	CHECK_EQ_MEM(tmp, 8, "\xdb\x47\x75\x24\x8b\x80\xfb\x57", 8);

	CHECK_EQ_INT(ckpt_buf_put_fixed32(&b, 0x8b80fb57u), 0);
	CHECK_EQ_INT(ckpt_buf_put_fixed64(&b, 0xdb4775248b80fb57ull), 0);
	CHECK_EQ_U64(b.len, 12);
	CHECK_EQ_MEM(b.data, 4, le32, 4);
	CHECK_EQ_MEM(b.data + 4, 8, le64, 8);
	ckpt_buf_free(&b);
}

/* ckpt_buf: growth keeps content, zero-length appends, free resets. */
static void
test_buf(void)
{
	struct ckpt_buf b = { 0 };
	uint8_t chunk[37];
	size_t i, j;

	CHECK_EQ_INT(ckpt_buf_put(&b, NULL, 0), 0);
	CHECK(b.data == NULL);
	CHECK_EQ_U64(b.len, 0);
	for (i = 0; i < 1000; i++) {
		for (j = 0; j < sizeof(chunk); j++)
			chunk[j] = (uint8_t)(i * 31 + j);
		CHECK_EQ_INT(ckpt_buf_put(&b, chunk, sizeof(chunk)), 0);
	}
	CHECK_EQ_U64(b.len, 1000 * sizeof(chunk));
	CHECK(b.cap >= b.len);
	for (i = 0; i < 1000; i++)
		for (j = 0; j < sizeof(chunk); j++)
			if (b.data[i * sizeof(chunk) + j] !=
			    (uint8_t)(i * 31 + j))
				CHECK(!"buffer content changed while growing");
	CHECK_EQ_INT(ckpt_buf_reserve(&b, 100000), 0);
	CHECK(b.cap - b.len >= 100000);
	CHECK_EQ_INT(ckpt_buf_reserve(&b, SIZE_MAX), -EOVERFLOW);
	CHECK_EQ_U64(b.len, 1000 * sizeof(chunk));
	CHECK_EQ_INT(ckpt_buf_put_varint(&b, 300), 0);
	CHECK_EQ_U64(b.len, 1000 * sizeof(chunk) + 2);
	CHECK_EQ_U64(b.data[b.len - 2], 0xac);
	CHECK_EQ_U64(b.data[b.len - 1], 0x02);
	ckpt_buf_free(&b);
	CHECK(b.data == NULL);
	CHECK_EQ_U64(b.len, 0);
	CHECK_EQ_U64(b.cap, 0);
	ckpt_buf_free(&b); /* twice is harmless */
}

/* ckpt_pread_full: the bytes at an offset; -EIO past the end. */
static void
test_pread_full(void)
{
	char path[] = "/tmp/test_coding.XXXXXX", buf[8];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	CHECK_EQ_INT(write(fd, "0123456789", 10), 10);
	CHECK_EQ_INT(ckpt_pread_full(fd, buf, 4, 3), 0);
	CHECK_EQ_MEM(buf, 4, "3456", 4);
	CHECK_EQ_INT(ckpt_pread_full(fd, buf, 0, 10), 0);
	CHECK_EQ_INT(ckpt_pread_full(fd, buf, 8, 4), -EIO);
	CHECK_EQ_INT(ckpt_pread_full(-1, buf, 1, 0), -EBADF);
	close(fd);
}

/* UTF-8 as protobuf takes it: no overlong forms, surrogates, values past
 * U+10FFFF or cut sequences. */
static void
test_utf8(void)
{
	static const struct {
		const char *s;
		bool ok;
	} v[] = {
		{ "", true },
		{ "plain/ascii", true },
		{ "caf\xc3\xa9", true },
		{ "\xe5\x90\x8d", true },
		{ "\xf0\x9f\x98\x80", true },
		{ "\xf4\x8f\xbf\xbf", true },	/* U+10FFFF */
		{ "caf\xe9", false },		/* Latin-1 */
		{ "\xc0\xaf", false },		/* overlong '/' */
		{ "\xe0\x80\xaf", false },	/* overlong */
		{ "\xed\xa0\x80", false },	/* surrogate */
		{ "\xf4\x90\x80\x80", false },	/* past U+10FFFF */
		{ "\xe2\x82", false },		/* cut short */
		{ "\xff", false },
	};
	uint32_t cp = 0;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		CHECK_EQ_INT(ckpt_utf8_valid(v[i].s, strlen(v[i].s)), v[i].ok);
	CHECK_EQ_U64(ckpt_utf8_len((const uint8_t *)"\xe2\x82\xac!",
				   (const uint8_t *)"\xe2\x82\xac!" + 4, &cp),
		     3);
	CHECK_EQ_U64(cp, 0x20ac);
}

/* Messages made safe to print: controls, DEL, bytes that are not UTF-8
 * and code points that fool a terminal escaped; the rest, backslashes
 * and safe UTF-8 included, as it is. */
static void
test_text_safe(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "" },
		{ "by-name/a b\\c: ok", "by-name/a b\\c: ok" },
		{ "tensor 'a\\x5cb'", "tensor 'a\\x5cb'" },
		{ "a\xd8\x9c" "b", "a\\u{061c}b" },
		{ "caf\xc3\xa9 \xe5\x90\x8d", "caf\xc3\xa9 \xe5\x90\x8d" },
		{ "bad\xffname", "bad\\xffname" },
		{ "a\x1b[2Jb\tc\nd\x7f\re", "a\\x1b[2Jb\\tc\\nd\\x7f\\re" },
		{ "csi \xc2\x9b", "csi \\u{009b}" },
		{ "x\xe2\x80\xaey", "x\\u{202e}y" },
		{ "\xe2\x82", "\\xe2\\x82" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct ckpt_buf b = { 0 };

		CHECK_EQ_INT(ckpt_text_safe(v[i].in, &b), 0);
		CHECK_EQ_U64(b.len, strlen(v[i].out));
		if (b.len > 0)
			CHECK_EQ_MEM(b.data, b.len, v[i].out, b.len);
		ckpt_buf_free(&b);
	}
	CHECK(ckpt_cp_unsafe(0x85) && ckpt_cp_unsafe(0x2066) &&
	      !ckpt_cp_unsafe(0xa0) && !ckpt_cp_unsafe('a'));
	/* invisible: a key "a\u200bb" must not read as "ab" */
	CHECK(ckpt_cp_unsafe(0xad) && ckpt_cp_unsafe(0x200b) &&
	      ckpt_cp_unsafe(0x200d) && ckpt_cp_unsafe(0x2060) &&
	      ckpt_cp_unsafe(0xfeff) && !ckpt_cp_unsafe(0x2010) &&
	      !ckpt_cp_unsafe(0xe9));
}

/* A message too long for struct ckpt_err ends in "..." after a whole
 * UTF-8 character; an appended tail that must stay whole cuts the
 * message before it instead. */
static void
test_err_cut(void)
{
	struct ckpt_err err = { 0 };
	char name[3 * 1000 + 1];
	size_t len;

	for (int i = 0; i < 1000; i++)
		memcpy(name + 3 * i, "\xe5\x90\x8d", 3);	/* 名 */
	name[3000] = '\0';
	ckpt_fail(&err, -EINVAL, "x%s: no dtype", name);
	len = strlen(err.msg);
	CHECK(len < sizeof(err.msg) && len > sizeof(err.msg) - 8);
	CHECK_EQ_STR(err.msg + len - 3, "...");
	CHECK(ckpt_utf8_valid(err.msg, len));
	ckpt_err_append(&err, "; changes kept in SPOOL", true);
	len = strlen(err.msg);
	CHECK_EQ_STR(err.msg + len - 26, "...; changes kept in SPOOL");
	CHECK(ckpt_utf8_valid(err.msg, len));
	/* not whole: the tail is what is cut */
	ckpt_err_clear(&err);
	ckpt_fail(&err, -EINVAL, "short");
	ckpt_err_append(&err, "; more", false);
	CHECK_EQ_STR(err.msg, "short; more");
	ckpt_err_append(&err, name, false);
	len = strlen(err.msg);
	CHECK(strncmp(err.msg, "short; more\xe5\x90\x8d", 14) == 0);
	CHECK_EQ_STR(err.msg + len - 3, "...");
	CHECK(ckpt_utf8_valid(err.msg, len));
	/* nothing failed: nothing appended */
	ckpt_err_clear(&err);
	ckpt_err_append(&err, "x", true);
	CHECK_EQ_STR(err.msg, "");
}

/* SipHash-2-4 gives its authors' test values (key 00..0f, message 00..,
 * of 0, 1, 8 and 15 bytes: the last the paper's example); ckpt_hash()
 * is a function of its input within a process, and spreads names that
 * differ in one byte. */
static void
test_siphash(void)
{
	uint8_t key[16], msg[16];
	uint64_t seen[256];

	for (int i = 0; i < 16; i++)
		key[i] = msg[i] = (uint8_t)i;
	CHECK_EQ_U64(ckpt_siphash24(key, msg, 0), 0x726fdb47dd0e0e31ull);
	CHECK_EQ_U64(ckpt_siphash24(key, msg, 1), 0x74f839c593dc67fdull);
	CHECK_EQ_U64(ckpt_siphash24(key, msg, 8), 0x93f5f5799a932462ull);
	CHECK_EQ_U64(ckpt_siphash24(key, msg, 15), 0xa129ca6149be45e5ull);
	CHECK_EQ_U64(ckpt_hash("dense/kernel", 12),
		     ckpt_hash("dense/kernel", 12));
	/* Two names FNV-1a gives one hash (found by a cycle search): a
	 * checkpoint of such names would fill one slot of a table. */
	{
		static const uint8_t b1[] = { 0xc2, 0xd0, 0xde, 0x8a, 0xfe,
					      0xe2, 0x98, 0xb0, 0xac, 0x81 };
		static const uint8_t b2[] = { 0x98, 0xc9, 0xaa, 0x92, 0xfe,
					      0xf1, 0x81, 0xc5, 0xd1, 0x80 };
		uint8_t n1[260], n2[260];

		memset(n1, 'a', 250);
		memset(n2, 'a', 250);
		memcpy(n1 + 250, b1, 10);
		memcpy(n2 + 250, b2, 10);
		CHECK_EQ_U64(ckpt_fnv1a64(n1, 260), 0x984ad11059b519d6ull);
		CHECK_EQ_U64(ckpt_fnv1a64(n2, 260), 0x984ad11059b519d6ull);
		CHECK(ckpt_hash(n1, 260) != ckpt_hash(n2, 260));
	}
	for (int i = 0; i < 256; i++) {
		char name[] = "layer_?";

		name[6] = (char)i;
		seen[i] = ckpt_hash(name, sizeof(name) - 1);
		for (int j = 0; j < i; j++)
			CHECK(seen[j] != seen[i]);
	}
}

int
main(void)
{
	test_varint_edges();
	test_varint_overlong();
	test_varint_sequence();
	test_fixed();
	test_buf();
	test_pread_full();
	test_utf8();
	test_text_safe();
	test_err_cut();
	test_siphash();
	return check_done("test_coding");
}
