/* err.h -- error reporting for the ckpt library.
 *
 * Library functions return 0 or a negative errno.  Functions that can fail
 * for reasons a user must be told about also take a struct ckpt_err, which
 * keeps the first failure's code and a message naming the file and the
 * problem.  Codes used throughout:
 *   -EBADMSG   malformed input (magic, varint, CRC, protobuf, layout)
 *   -ERANGE    an offset, handle or size points outside its file or shard
 *   -EOVERFLOW size arithmetic would wrap
 *   -ENOTSUP   valid but unsupported (dtype, compression, version)
 *   -EIO, -ENOMEM, -ENOENT, ... as the system reported them
 */
#ifndef CKPT_ERR_H
#define CKPT_ERR_H

#include <stdbool.h>

struct ckpt_err {
	int code;	/* 0 while nothing failed */
	/* NUL-terminated; empty while nothing failed.  A message too long
	 * for it ends in "..." after a whole UTF-8 character.  Room for a
	 * few path names of 255-byte components (refusals name them). */
	char msg[2048];
};

/* Record CODE and the formatted message in ERR (may be NULL) unless ERR
 * already holds a failure.  Return CODE, so callers can write
 * "return ckpt_fail(err, -EBADMSG, ...)". */
int ckpt_fail(struct ckpt_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Put PREFIX and ": " before the message ERR holds (if it holds one),
 * truncating at the end when it does not fit. */
void ckpt_err_prepend(struct ckpt_err *err, const char *prefix);

/* Append TAIL to the message ERR holds (if it holds one).  If both do
 * not fit, with WHOLE the message is cut before TAIL (what to do next
 * goes there, and must not be lost to a long name), else TAIL is cut. */
void ckpt_err_append(struct ckpt_err *err, const char *tail, bool whole);

/* Reset ERR to "no failure". */
void ckpt_err_clear(struct ckpt_err *err);

/* Return the message of ERR, or strerror() of CODE if ERR has none. */
const char *ckpt_err_str(const struct ckpt_err *err, int code);

#endif
