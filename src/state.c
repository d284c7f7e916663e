/* state.c -- the "checkpoint" state file: a text-format CheckpointState
 * naming the newest checkpoint of a directory.  Only model_checkpoint_path
 * is taken when reading; other fields are parsed and skipped.  Written
 * with model_checkpoint_path and all_model_checkpoint_paths, as
 * TensorFlow's update_checkpoint_state() writes it without timestamps. */
#include "config.h"

#include "bundle.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lexer {
	const char *p;
	const char *end;
	int line;
};

/* True if NAME (LEN bytes) is a field of CheckpointState
 * (checkpoint_state.proto). */
static bool
known_field(const char *name, size_t len)
{
	static const char *const fields[] = {
		"model_checkpoint_path",
		"all_model_checkpoint_paths",
		"all_model_checkpoint_timestamps",
		"last_preserved_timestamp",
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strlen(fields[i]) == len &&
		    memcmp(fields[i], name, len) == 0)
			return true;
	return false;
}

/* Skip white space and '#' comments. */
static void
skip_space(struct lexer *lx)
{
	while (lx->p < lx->end) {
		if (*lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (isspace((unsigned char)*lx->p)) {
			if (*lx->p == '\n')
				lx->line++;
			lx->p++;
		} else {
			break;
		}
	}
}

/* Value of hex digit C, or -1. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse a quoted string with C escapes (one or more adjacent literals are
 * concatenated, as in protobuf text format) into OUT (malloc()ed,
 * NUL-terminated; *LEN bytes, which may hold NUL). */
static int
parse_string(struct lexer *lx, char **out, size_t *len)
{
	struct ckpt_buf s = { 0 };
	int rc = 0;

	while (lx->p < lx->end && (*lx->p == '"' || *lx->p == '\'')) {
		char q = *lx->p++;

		for (;;) {
			int c;

			if (lx->p >= lx->end || *lx->p == '\n')
				goto bad;
			c = (unsigned char)*lx->p++;
			if (c == q)
				break;
			if (c == '\\') {
				if (lx->p >= lx->end)
					goto bad;
				c = (unsigned char)*lx->p++;
				switch (c) {
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				case 'r': c = '\r'; break;
				case 'a': c = '\a'; break;
				case 'b': c = '\b'; break;
				case 'f': c = '\f'; break;
				case 'v': c = '\v'; break;
				case '\\': case '\'': case '"': case '?': break;
				case 'x': {
					int v = 0, d, k;

					for (k = 0; k < 2 && lx->p < lx->end &&
						    (d = hexval(*lx->p)) >= 0;
					     k++, lx->p++)
						v = v * 16 + d;
					if (k == 0)
						goto bad;
					c = v;
					break;
				}
				default:
					if (c >= '0' && c <= '7') {
						int v = c - '0', k;

						for (k = 1; k < 3 && lx->p < lx->end &&
							    *lx->p >= '0' && *lx->p <= '7';
						     k++)
							v = v * 8 + (*lx->p++ - '0');
						c = v & 0xff;
					} else {
						goto bad;
					}
				}
			}
			if ((rc = ckpt_buf_put(&s, &(char){ (char)c }, 1)) < 0)
				goto fail;
		}
		skip_space(lx);
	}
	*len = s.len;
	if ((rc = ckpt_buf_put(&s, "", 1)) < 0)
		goto fail;
	*out = (char *)s.data;
	return 0;
bad:
	rc = -EBADMSG;
fail:
	ckpt_buf_free(&s);
	return rc;
}

int
ckpt_state_parse(const char *buf, size_t len, char **path,
		 struct ckpt_err *err)
{
	struct lexer lx = { buf, buf + len, 1 };
	char *model = NULL;
	int rc;

	*path = NULL;
	for (;;) {
		const char *name;
		size_t nlen;
		int fline;

		skip_space(&lx);
		if (lx.p >= lx.end)
			break;
		/* (messages give the field's line: skip_space() may have
		 * gone past its end) */
		fline = lx.line;
		name = lx.p;
		while (lx.p < lx.end &&
		       (isalnum((unsigned char)*lx.p) || *lx.p == '_'))
			lx.p++;
		nlen = (size_t)(lx.p - name);
		skip_space(&lx);
		if (nlen == 0 || lx.p >= lx.end || *lx.p != ':') {
			rc = ckpt_fail(err, -EBADMSG,
				       "line %d: expected 'field: value'",
				       fline);
			goto fail;
		}
		lx.p++;
		skip_space(&lx);
		if (!known_field(name, nlen)) {
			rc = ckpt_fail(err, -EBADMSG,
				       "line %d: unknown field '%.*s' (damaged? "
				       "TensorFlow ignores a state file it "
				       "cannot parse)",
				       fline, (int)(nlen > 64 ? 64 : nlen),
				       name);
			goto fail;
		}
		if (lx.p < lx.end && (*lx.p == '"' || *lx.p == '\'')) {
			int at = lx.line;
			size_t slen;
			char *s;

			if ((rc = parse_string(&lx, &s, &slen)) < 0) {
				if (rc == -EBADMSG)
					ckpt_fail(err, rc,
						  "line %d: malformed string",
						  at);
				goto fail;
			}
			if (nlen == 21 &&
			    memcmp(name, "model_checkpoint_path", 21) == 0) {
				/* (given twice, the last counts, as Python's
				 * text_format.Merge() that TensorFlow reads it
				 * with takes it) */
				free(model);
				model = s;
				if (memchr(s, '\0', slen) != NULL) {
					rc = ckpt_fail(err, -EBADMSG,
						       "line %d: "
						       "model_checkpoint_path "
						       "holds a NUL byte",
						       at);
					goto fail;
				}
			} else {
				free(s);
			}
		} else {
			/* A number (timestamps): skip to the end of the token. */
			const char *v = lx.p;

			while (lx.p < lx.end && !isspace((unsigned char)*lx.p))
				lx.p++;
			if (lx.p == v) {
				rc = ckpt_fail(err, -EBADMSG,
					       "line %d: missing value", fline);
				goto fail;
			}
		}
	}
	if (model == NULL || model[0] == '\0') {
		rc = ckpt_fail(err, -ENOENT, model == NULL
					     ? "no model_checkpoint_path"
					     : "model_checkpoint_path is empty");
		goto fail;
	}
	*path = model;
	return 0;
fail:
	free(model);
	return rc;
}

/* Append S to OUT as a text-format string literal, escaped as protobuf's
 * text format (Python's, which TensorFlow writes the file with) escapes
 * bytes: \n \r \t \" \' \\, octal for the other unprintable ones. */
static int
put_quoted(struct ckpt_buf *out, const char *s)
{
	int rc = ckpt_buf_put(out, "\"", 1);

	for (; rc == 0 && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[5];

		if (c == '"' || c == '\\' || c == '\'') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = ckpt_buf_put(out, esc, 2);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			rc = ckpt_buf_put(out, esc, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\%03o", c);
			rc = ckpt_buf_put(out, esc, 4);
		} else {
			rc = ckpt_buf_put(out, s, 1);
		}
	}
	return rc == 0 ? ckpt_buf_put(out, "\"", 1) : rc;
}

int
ckpt_state_format(const char *const *paths, size_t n, struct ckpt_buf *out)
{
	static const char model[] = "model_checkpoint_path: ";
	static const char all[] = "all_model_checkpoint_paths: ";
	int rc;

	if (n == 0)
		return -EINVAL;
	rc = ckpt_buf_put(out, model, sizeof(model) - 1);
	if (rc == 0)
		rc = put_quoted(out, paths[n - 1]);
	if (rc == 0)
		rc = ckpt_buf_put(out, "\n", 1);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = ckpt_buf_put(out, all, sizeof(all) - 1);
		if (rc == 0)
			rc = put_quoted(out, paths[i]);
		if (rc == 0)
			rc = ckpt_buf_put(out, "\n", 1);
	}
	return rc;
}
