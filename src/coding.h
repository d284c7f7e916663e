/* coding.h -- bounds-checked varint and fixed-width little-endian coding,
 * and a growable byte buffer for encoders.
 *
 * Decoders take (p, limit), never read at or past limit, advance *p only on
 * success and return 0 or -EBADMSG. */
#ifndef CKPT_CODING_H
#define CKPT_CODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CKPT_MAX_VARINT32 5
#define CKPT_MAX_VARINT64 10

int ckpt_get_varint32(const uint8_t **p, const uint8_t *limit, uint32_t *v);
int ckpt_get_varint64(const uint8_t **p, const uint8_t *limit, uint64_t *v);

/* Write V at DST (room for CKPT_MAX_VARINT64 bytes); return the end. */
uint8_t *ckpt_put_varint64(uint8_t *dst, uint64_t v);
/* Number of bytes the varint encoding of V takes. */
size_t ckpt_varint_len(uint64_t v);

static inline uint32_t
ckpt_load32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t
ckpt_load64le(const uint8_t *p)
{
	return (uint64_t)ckpt_load32le(p) | (uint64_t)ckpt_load32le(p + 4) << 32;
}

static inline void
ckpt_store32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void
ckpt_store64le(uint8_t *p, uint64_t v)
{
	ckpt_store32le(p, (uint32_t)v);
	ckpt_store32le(p + 4, (uint32_t)(v >> 32));
}

/* Tensor data of a big-endian bundle (header endianness BIG) holds its
 * integers, and the checksums TensorFlow stores beside strings and
 * variants, most significant byte first: in the order BIG_ENDIAN says. */
static inline uint32_t
ckpt_load32(const uint8_t *p, bool big_endian)
{
	return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
				    (uint32_t)p[2] << 8 | p[3]
			  : ckpt_load32le(p);
}

static inline void
ckpt_store32(uint8_t *p, uint32_t v, bool big_endian)
{
	if (!big_endian) {
		ckpt_store32le(p, v);
		return;
	}
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
ckpt_store64(uint8_t *p, uint64_t v, bool big_endian)
{
	ckpt_store32(p + (big_endian ? 4 : 0), (uint32_t)v, big_endian);
	ckpt_store32(p + (big_endian ? 0 : 4), (uint32_t)(v >> 32),
		     big_endian);
}

/* 64-bit FNV-1a of DATA: the same in every process (shortened names'
 * "%#<hash>", fingerprints).  Not for hash tables of names a checkpoint
 * or a user chooses: colliding names are cheap to make. */
uint64_t ckpt_fnv1a64(const void *data, size_t len);

/* SipHash-2-4 of DATA under KEY (16 bytes), as its authors define it. */
uint64_t ckpt_siphash24(const uint8_t key[16], const void *data, size_t len);

/* The hash of DATA for hash tables: SipHash-1-3 under a key drawn at
 * random once per process, so that no input can choose names that all
 * land in one slot (a checkpoint of 32,768 such names took a minute to
 * mount with FNV-1a).  Thread-safe. */
uint64_t ckpt_hash(const void *data, size_t len);

/* A growable byte buffer.  Zero-initialise, append, then free. */
struct ckpt_buf {
	uint8_t *data;	/* owned */
	size_t len;
	size_t cap;
};

/* Make room for N more bytes.  Return 0 or -ENOMEM (-EOVERFLOW). */
int ckpt_buf_reserve(struct ckpt_buf *b, size_t n);
int ckpt_buf_put(struct ckpt_buf *b, const void *data, size_t n);
int ckpt_buf_put_varint(struct ckpt_buf *b, uint64_t v);
int ckpt_buf_put_fixed32(struct ckpt_buf *b, uint32_t v);
int ckpt_buf_put_fixed64(struct ckpt_buf *b, uint64_t v);
void ckpt_buf_free(struct ckpt_buf *b);

/* Read LEN bytes of FD at OFF into BUF, however many pread(2) calls that
 * takes.  Return 0, -EIO if the file ends first, or -errno. */
int ckpt_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* Length of the valid UTF-8 sequence at P, before LIMIT (1-4 bytes), with
 * its code point in *CP, or 0 if the bytes at P are not valid UTF-8:
 * overlong forms, surrogates and values past U+10FFFF are not, as for
 * protobuf's proto3 strings. */
size_t ckpt_utf8_len(const uint8_t *p, const uint8_t *limit, uint32_t *cp);

/* True if DATA (LEN bytes) is valid UTF-8 (ckpt_utf8_len()). */
bool ckpt_utf8_valid(const void *data, size_t len);

/* True if code point CP could fool a terminal or a reader: C0 and C1
 * controls, DEL, bidirectional marks (the Arabic letter mark too),
 * overrides and isolates, line and paragraph separators, and the
 * characters that show nothing (soft hyphen, zero-width space, joiners,
 * word joiner, byte order mark): two names that look alike are told
 * apart. */
bool ckpt_cp_unsafe(uint32_t cp);

/* Append the NUL-terminated TEXT (a message that may quote names from a
 * checkpoint) to OUT, safe to print, as ckpt-inspect escapes its
 * messages: printable ASCII and UTF-8 of safe code points as they are, a
 * backslash too (names from a checkpoint are quoted escaped already:
 * ckpt_key_shown()), newline, tab and carriage return as \n, \t and \r;
 * another control or a byte that is not part of valid UTF-8 as \xNN, an
 * unsafe code point as \u{NNNN}.  Return 0 or -ENOMEM. */
int ckpt_text_safe(const char *text, struct ckpt_buf *out);

/* Indices 0 to N - 1, each free until used, and the first free one at or
 * after any index in near-constant time (a union-find with path halving):
 * M ranges over the same indices, each taking the free ones it holds,
 * cost about M plus N, not M times N (hostile object graphs whose many
 * attributes share one key prefix). */
struct ckpt_skip {
	size_t *up;	/* owned; N + 1: UP[i] = i if I is free (N: none) */
	size_t n;
};

/* All N free.  Return 0 or -ENOMEM. */
int ckpt_skip_init(struct ckpt_skip *s, size_t n);

/* The first free index at or after I (<= N), or N if none. */
size_t ckpt_skip_next(struct ckpt_skip *s, size_t i);

/* Use free index I (< N). */
void ckpt_skip_use(struct ckpt_skip *s, size_t i);

void ckpt_skip_free(struct ckpt_skip *s);

#endif
