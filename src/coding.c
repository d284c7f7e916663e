/* coding.c -- varints, fixed-width integers and a growable buffer. */
#include "config.h"

#include "coding.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int
ckpt_get_varint64(const uint8_t **p, const uint8_t *limit, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t r = 0;
	unsigned shift;

	for (shift = 0; shift < 64 && q < limit; shift += 7) {
		uint8_t byte = *q++;

		if (shift == 63 && byte > 1)
			return -EBADMSG;	/* more than 64 bits */
		r |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*p = q;
			*v = r;
			return 0;
		}
	}
	return -EBADMSG;	/* truncated, or longer than 10 bytes */
}

int
ckpt_get_varint32(const uint8_t **p, const uint8_t *limit, uint32_t *v)
{
	const uint8_t *q = *p;
	uint64_t r;

	/* At most 5 bytes, value below 2^32, as LevelDB's GetVarint32. */
	if (ckpt_get_varint64(&q, limit, &r) < 0 || q - *p > CKPT_MAX_VARINT32 ||
	    r > UINT32_MAX)
		return -EBADMSG;
	*p = q;
	*v = (uint32_t)r;
	return 0;
}

uint8_t *
ckpt_put_varint64(uint8_t *dst, uint64_t v)
{
	while (v >= 0x80) {
		*dst++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*dst++ = (uint8_t)v;
	return dst;
}

size_t
ckpt_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

uint64_t
ckpt_fnv1a64(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* --- SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012): four 64-bit words of state, C rounds per 8-byte word of input,
 * D rounds to finish. */

static uint64_t
rotl64(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

static void
sip_rounds(uint64_t v[4], int n)
{
	while (n-- > 0) {
		v[0] += v[1];
		v[1] = rotl64(v[1], 13);
		v[1] ^= v[0];
		v[0] = rotl64(v[0], 32);
		v[2] += v[3];
		v[3] = rotl64(v[3], 16);
		v[3] ^= v[2];
		v[0] += v[3];
		v[3] = rotl64(v[3], 21);
		v[3] ^= v[0];
		v[2] += v[1];
		v[1] = rotl64(v[1], 17);
		v[1] ^= v[2];
		v[2] = rotl64(v[2], 32);
	}
}

static uint64_t
siphash(uint64_t k0, uint64_t k1, int c, int d, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t v[4] = { k0 ^ 0x736f6d6570736575ull,
			  k1 ^ 0x646f72616e646f6dull,
			  k0 ^ 0x6c7967656e657261ull,
			  k1 ^ 0x7465646279746573ull };
	uint64_t m, last = (uint64_t)len << 56;
	size_t i, tail = len % 8;

	for (i = 0; i + 8 <= len; i += 8) {
		m = ckpt_load64le(p + i);
		v[3] ^= m;
		sip_rounds(v, c);
		v[0] ^= m;
	}
	for (size_t k = 0; k < tail; k++)
		last |= (uint64_t)p[i + k] << (8 * k);
	v[3] ^= last;
	sip_rounds(v, c);
	v[0] ^= last;
	v[2] ^= 0xff;
	sip_rounds(v, d);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t
ckpt_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	return siphash(ckpt_load64le(key), ckpt_load64le(key + 8), 2, 4, data,
		       len);
}

static uint64_t hash_key[2];
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

/* Draw the key of ckpt_hash(): from the kernel, or where it cannot give
 * one, from the time, the pid and an address (still unknown to whoever
 * writes a checkpoint). */
static void
hash_key_init(void)
{
	struct timespec ts;
	uint64_t mix;

	if (getrandom(hash_key, sizeof(hash_key), GRND_NONBLOCK) ==
	    (ssize_t)sizeof(hash_key))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	mix = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
	      (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&ts;
	hash_key[0] = mix * 0x9e3779b97f4a7c15ull;
	hash_key[1] = (mix ^ 0xc4ceb9fe1a85ec53ull) * 0xff51afd7ed558ccdull;
}

uint64_t
ckpt_hash(const void *data, size_t len)
{
	pthread_once(&hash_once, hash_key_init);
	return siphash(hash_key[0], hash_key[1], 1, 3, data, len);
}

int
ckpt_buf_reserve(struct ckpt_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->cap - b->len >= n)
		return 0;
	if (n > SIZE_MAX / 2 - b->len)
		return -EOVERFLOW;
	cap = b->cap ? b->cap : 64;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
ckpt_buf_put(struct ckpt_buf *b, const void *data, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = ckpt_buf_reserve(b, n)) < 0)
		return rc;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return 0;
}

int
ckpt_buf_put_varint(struct ckpt_buf *b, uint64_t v)
{
	uint8_t tmp[CKPT_MAX_VARINT64];

	return ckpt_buf_put(b, tmp, (size_t)(ckpt_put_varint64(tmp, v) - tmp));
}

int
ckpt_buf_put_fixed32(struct ckpt_buf *b, uint32_t v)
{
	uint8_t tmp[4];

	ckpt_store32le(tmp, v);
	return ckpt_buf_put(b, tmp, sizeof(tmp));
}

int
ckpt_buf_put_fixed64(struct ckpt_buf *b, uint64_t v)
{
	uint8_t tmp[8];

	ckpt_store64le(tmp, v);
	return ckpt_buf_put(b, tmp, sizeof(tmp));
}

void
ckpt_buf_free(struct ckpt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
ckpt_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, (uint8_t *)buf + got, len - got,
				  (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += (size_t)r;
	}
	return 0;
}

size_t
ckpt_utf8_len(const uint8_t *p, const uint8_t *limit, uint32_t *cp)
{
	uint32_t v, min;
	size_t n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		v = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		v = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		v = p[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if ((size_t)(limit - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

bool
ckpt_cp_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xad ||
	       cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) ||
	       cp == 0x2060 || cp == 0xfeff ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

int
ckpt_text_safe(const char *text, struct ckpt_buf *out)
{
	const uint8_t *p = (const uint8_t *)text, *end = p + strlen(text);
	char esc[16];
	uint32_t cp;
	size_t n;
	int rc = 0;

	while (p < end && rc == 0) {
		if (*p == '\n' || *p == '\t' || *p == '\r') {
			esc[0] = '\\';
			esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
			rc = ckpt_buf_put(out, esc, 2);
			n = 1;
		} else if (*p >= 0x20 && *p < 0x7f) {
			rc = ckpt_buf_put(out, p, 1);
			n = 1;
		} else if ((n = ckpt_utf8_len(p, end, &cp)) > 0 &&
			   !ckpt_cp_unsafe(cp)) {
			rc = ckpt_buf_put(out, p, n);
		} else if (n > 1) {
			snprintf(esc, sizeof(esc), "\\u{%04x}", (unsigned)cp);
			rc = ckpt_buf_put(out, esc, strlen(esc));
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			rc = ckpt_buf_put(out, esc, 4);
			n = 1;
		}
		p += n;
	}
	return rc;
}

bool
ckpt_utf8_valid(const void *data, size_t len)
{
	const uint8_t *p = data, *end = p + len;
	uint32_t cp;
	size_t n;

	while (p < end) {
		n = ckpt_utf8_len(p, end, &cp);
		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

int
ckpt_skip_init(struct ckpt_skip *s, size_t n)
{
	s->n = n;
	if (n == SIZE_MAX ||
	    (s->up = malloc((n + 1) * sizeof(*s->up))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i <= n; i++)
		s->up[i] = i;
	return 0;
}

size_t
ckpt_skip_next(struct ckpt_skip *s, size_t i)
{
	/* (UP only ever points forward, and N to itself) */
	while (s->up[i] != i) {
		s->up[i] = s->up[s->up[i]];
		i = s->up[i];
	}
	return i;
}

void
ckpt_skip_use(struct ckpt_skip *s, size_t i)
{
	s->up[i] = i + 1;
}

void
ckpt_skip_free(struct ckpt_skip *s)
{
	free(s->up);
	s->up = NULL;
}
