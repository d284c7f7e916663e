/* inspect.c -- ckpt-inspect: list, print, verify and explain the tensors of
 * a TensorFlow checkpoint, using libckpt only.
 *
 * Everything printed comes from bytes we do not trust, so keys and string
 * values are escaped before they reach a terminal (esc_text()) or a JSON
 * reader (esc_json()).  Output is built in a struct out whose first failure
 * is sticky and checked when it is flushed.  Every failure ends in one
 * "ckpt-inspect: ..." line on stderr.  Exit status: 0 ok, 1 bad or damaged
 * input, 2 usage. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "coding.h"
#include "crc32c.h"
#include "err.h"
#include "objgraph.h"
#include "table.h"
#include "tensor.h"
#include "tree.h"

#define PROG "ckpt-inspect"
#define EX_BAD 1
#define EX_USAGE 2

#define SUMMARY_THRESHOLD 1000	/* more elements than this: summarize */
#define SUMMARY_EDGE 3		/* elements kept at each end of a dim */
#define STRING_PREVIEW 64	/* bytes of a string shown unless --all */
/* Printing values: text written out once it reaches this, and fixed-size
 * elements read in windows of this, so that printing every value of a
 * large tensor takes little memory. */
#define CHUNK ((size_t)1 << 20)
#define KEY_COLUMN_MAX 80	/* longer keys push their own line only */

enum mode {
	MODE_LIST,
	MODE_VALUES,
	MODE_VERIFY,
	MODE_GRAPH,
	MODE_HEADER,
	MODE_RAW,
};

struct opts {
	enum mode mode;
	bool json;
	bool all;		/* --all: no summarizing */
	bool force;		/* --force: --raw writes damaged bytes too */
	bool salvage;		/* --salvage: a damaged index's readable part */
	const char *path;
	const char **keys;	/* borrowed from argv; owned array */
	size_t nkeys;
};

/* Output under construction; the first failure sticks. */
struct out {
	struct ckpt_buf b;
	int err;	/* 0 or a negative errno */
	uint64_t flushed;	/* bytes written to stdout so far */
	bool discard;	/* text only measured, not kept */
};

/* How esc_text() escapes. */
enum esc_mode {
	ESC_PLAIN,	/* a name or a path */
	ESC_QUOTE,	/* the same, '"' escaped too */
	/* A library message: it shows keys escaped already (a backslash
	 * in a key as \x5c), so its backslashes are left single. */
	ESC_MSG,
};

static int
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static size_t
esc_text(struct out *o, const void *data, size_t len, enum esc_mode mode);

/* Print "PROG: LEAD" and MSG escaped by MODE as one line on stderr, and
 * return EX_BAD. */
static int
say(const char *lead, const char *msg, enum esc_mode mode)
{
	struct out line = { 0 };

	esc_text(&line, msg, strlen(msg), mode);
	fflush(stdout);
	if (line.err == 0)
		fprintf(stderr, PROG ": %s%.*s\n", lead ? lead : "",
			(int)line.b.len, (const char *)line.b.data);
	else
		fprintf(stderr, PROG ": %s%s\n", lead ? lead : "", msg);
	ckpt_buf_free(&line.b);
	return EX_BAD;
}

/* Print one error line on stderr, escaped like keys (messages quote
 * untrusted names), and return EX_BAD. */
static int
fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return say(NULL, msg, ESC_PLAIN);
}

/* Print LEAD (if not NULL) and library message MSG as one error line on
 * stderr, and return EX_BAD. */
static int
fail_lib(const char *lead, const char *msg)
{
	return say(lead, msg, ESC_MSG);
}

/* Append LEN bytes at DATA to O. */
static void
o_put(struct out *o, const void *data, size_t len)
{
	int rc;

	if (o->err != 0 || len == 0 || o->discard)
		return;
	rc = ckpt_buf_put(&o->b, data, len);
	if (rc < 0)
		o->err = rc;
}

/* Append a NUL-terminated string. */
static void
o_str(struct out *o, const char *s)
{
	o_put(o, s, strlen(s));
}

/* Append one byte. */
static void
o_byte(struct out *o, char c)
{
	o_put(o, &c, 1);
}

/* Append N spaces. */
static void
o_pad(struct out *o, size_t n)
{
	static const char spaces[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		o_put(o, spaces, k);
		n -= k;
	}
}

static void
o_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append printf-style text. */
static void
o_fmt(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	if (o->err != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->err = -EINVAL;
		return;
	}
	rc = ckpt_buf_reserve(&o->b, (size_t)n + 1);
	if (rc < 0) {
		o->err = rc;
		return;
	}
	va_start(ap, fmt);
	vsnprintf((char *)o->b.data + o->b.len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->b.len += (size_t)n;
}

/* Write what O holds to stdout and empty it; return 0 or a negative
 * errno (the sticky one first). */
static int
o_flush(struct out *o)
{
	if (o->err != 0)
		return o->err;
	if (o->b.len > 0 && fwrite(o->b.data, 1, o->b.len, stdout) != o->b.len)
		o->err = -errno != 0 ? -errno : -EIO;
	o->flushed += o->b.len;
	o->b.len = 0;
	return o->err;
}

/* Columns a terminal gives code point CP (>= 0xa0): 0 for combining
 * marks, zero-width characters and variation selectors, 2 for East Asian
 * wide and fullwidth characters and emoji (Unicode's EastAsianWidth W and
 * F, the common blocks), else 1.  A table of our own rather than
 * wcwidth(3), whose answer depends on the locale. */
static size_t
cp_width(uint32_t cp)
{
	static const uint32_t zero[][2] = {
		{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd },
		{ 0x0610, 0x061a }, { 0x064b, 0x065f }, { 0x0e31, 0x0e31 },
		{ 0x0e34, 0x0e3a }, { 0x0e47, 0x0e4e }, { 0x1ab0, 0x1aff },
		{ 0x1dc0, 0x1dff }, { 0x200b, 0x200d }, { 0x20d0, 0x20ff },
		{ 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f }, { 0xfeff, 0xfeff },
		{ 0xe0100, 0xe01ef },
	};
	static const uint32_t wide[][2] = {
		{ 0x1100, 0x115f },   { 0x231a, 0x231b },   { 0x2329, 0x232a },
		{ 0x23e9, 0x23ec },   { 0x2614, 0x2615 },   { 0x2e80, 0x303e },
		{ 0x3041, 0x33ff },   { 0x3400, 0x4dbf },   { 0x4e00, 0x9fff },
		{ 0xa000, 0xa4cf },   { 0xa960, 0xa97f },   { 0xac00, 0xd7a3 },
		{ 0xf900, 0xfaff },   { 0xfe10, 0xfe19 },   { 0xfe30, 0xfe6f },
		{ 0xff00, 0xff60 },   { 0xffe0, 0xffe6 },   { 0x16fe0, 0x18cff },
		{ 0x1b000, 0x1b2ff }, { 0x1f300, 0x1f64f }, { 0x1f680, 0x1f6ff },
		{ 0x1f900, 0x1f9ff }, { 0x1fa70, 0x1faff }, { 0x20000, 0x2fffd },
		{ 0x30000, 0x3fffd },
	};
	size_t i;

	for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		if (cp >= zero[i][0] && cp <= zero[i][1])
			return 0;
	for (i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		if (cp >= wide[i][0] && cp <= wide[i][1])
			return 2;
	return 1;
}

/* Append DATA escaped for a terminal: printable ASCII and safe UTF-8 as
 * they are, backslash doubled (but by ESC_MSG), \n \t \r, other bytes
 * \xNN, unsafe code points \u{NNNN}; by ESC_QUOTE, also '"' escaped.
 * Return the width in terminal columns (cp_width()). */
static size_t
esc_text(struct out *o, const void *data, size_t len, enum esc_mode mode)
{
	const uint8_t *p = data, *end = p + len;
	size_t w = 0, n;
	uint32_t cp;

	while (p < end) {
		uint8_t c = *p;

		if ((c == '\\' && mode != ESC_MSG) ||
		    (c == '"' && mode == ESC_QUOTE)) {
			o_byte(o, '\\');
			o_byte(o, (char)c);
			w += 2;
		} else if (c >= 0x20 && c < 0x7f) {
			o_byte(o, (char)c);
			w++;
		} else if (c == '\n' || c == '\t' || c == '\r') {
			o_byte(o, '\\');
			o_byte(o, c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
			w += 2;
		} else if (c >= 0x80 && (n = ckpt_utf8_len(p, end, &cp)) > 0) {
			if (ckpt_cp_unsafe(cp)) {
				o_fmt(o, "\\u{%04" PRIx32 "}", cp);
				w += 8;
			} else {
				o_put(o, p, n);
				w += cp_width(cp);
			}
			p += n;
			continue;
		} else {
			o_fmt(o, "\\x%02x", c);
			w += 4;
		}
		p++;
	}
	return w;
}

/* True if DATA needs quotes to be read back unambiguously in the graph
 * listing (empty, or holding blanks, quotes or escapes). */
static bool
needs_quotes(const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	if (len == 0)
		return true;
	for (i = 0; i < len; i++)
		if (p[i] <= 0x20 || p[i] == '"' || p[i] == '\\' || p[i] >= 0x7f)
			return true;
	return false;
}

/* Append DATA escaped, in quotes when needs_quotes() says so. */
static void
esc_name(struct out *o, const void *data, size_t len)
{
	if (!needs_quotes(data, len)) {
		o_put(o, data, len);
		return;
	}
	o_byte(o, '"');
	esc_text(o, data, len, ESC_QUOTE);
	o_byte(o, '"');
}

/* Append DATA as a JSON string.  Valid UTF-8 is kept; an invalid byte
 * 0xNN becomes \u00NN (the character of the same value), so such strings
 * do not round-trip: keys carry "key_hex" as well (see the man page). */
static void
esc_json(struct out *o, const void *data, size_t len)
{
	const uint8_t *p = data, *end = p + len;
	uint32_t cp;
	size_t n;

	o_byte(o, '"');
	while (p < end) {
		uint8_t c = *p;

		if (c == '"' || c == '\\') {
			o_byte(o, '\\');
			o_byte(o, (char)c);
		} else if (c == '\n') {
			o_str(o, "\\n");
		} else if (c == '\t') {
			o_str(o, "\\t");
		} else if (c == '\r') {
			o_str(o, "\\r");
		} else if (c >= 0x20 && c < 0x7f) {
			o_byte(o, (char)c);
		} else if (c >= 0x80 && (n = ckpt_utf8_len(p, end, &cp)) > 0) {
			o_put(o, p, n);
			p += n;
			continue;
		} else {
			o_fmt(o, "\\u%04x", c);
		}
		p++;
	}
	o_byte(o, '"');
}

/* Append DATA as lowercase hex. */
static void
put_hex(struct out *o, const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		o_byte(o, digits[p[i] >> 4]);
		o_byte(o, digits[p[i] & 15]);
	}
}

/* Number of display columns of the UTF-8 text in DATA (code points). */
static size_t
text_width(const uint8_t *data, size_t len)
{
	size_t i, w = 0;

	for (i = 0; i < len; i++)
		if ((data[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* True if S (LEN bytes) is a JSON number. */
static bool
json_number(const char *s, size_t len)
{
	size_t i = 0, d;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0') {
		i++;
	} else {
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return false;
	}
	return i == len;
}

/* TensorFlow's name of E's dtype, or "dtype<N>" in SCRATCH (16 bytes). */
static const char *
dtype_text(int dtype, char *scratch, size_t len)
{
	const char *name = ckpt_dtype_name(dtype);

	if (name != NULL)
		return name;
	snprintf(scratch, len, "dtype%d", dtype);
	return scratch;
}

/* Append E's shape as "[2,3]" ("[]" for a scalar); return its width. */
static size_t
put_shape(struct out *o, const struct ckpt_entry *e)
{
	size_t before = o->b.len;
	int i;

	o_byte(o, '[');
	for (i = 0; i < e->rank; i++)
		o_fmt(o, i > 0 ? ",%" PRId64 : "%" PRId64, e->dims[i]);
	o_byte(o, ']');
	return o->err != 0 ? 0 : o->b.len - before;
}

/* Append the extents of PART of E as stored, "[0:5,:]" (start:end per
 * dim, ':' for a dim the slice spans whole as stored), as the library's
 * messages name a slice. */
static void
put_extents(struct out *o, const struct ckpt_entry *e,
	    const struct ckpt_part *part)
{
	const struct ckpt_extent *x =
		&e->slices[(size_t)(part - e->parts) * (size_t)e->rank];

	o_byte(o, '[');
	for (int i = 0; i < e->rank; i++)
		if (x[i].length < 0)
			o_str(o, i > 0 ? ",:" : ":");
		else
			o_fmt(o, "%s%" PRId64 ":%" PRId64, i > 0 ? "," : "",
			      x[i].start, x[i].start + x[i].length);
	o_byte(o, ']');
}

/* --- selecting tensors --------------------------------------------------- */

/* True if PATTERN has shell wildcard characters. */
static bool
is_glob(const char *pattern)
{
	/* (a backslash quotes the next character, as the listing shows a
	 * key's backslashes doubled) */
	return strpbrk(pattern, "*?[\\") != NULL;
}

/* The full name (the TF1 variable name) the object graph of a TF2
 * checkpoint gives each entry, as ckptfs shows it in by-name/: an
 * attribute's for the tensor of its key, and for the tensors of a legacy
 * saveable of several (a hash table's), whose keys are an attribute's
 * followed by more, that name followed by the same. */
struct full_names {
	/* Owned, per entry, each NUL-terminated past LEN; empty: none. */
	struct ckpt_buf *name;
};

/* Set NAME to FULL (FLEN bytes) followed by SUFFIX, if FULL is not empty
 * and the whole is valid UTF-8 (JSON's strings); 0 or -ENOMEM. */
static int
full_name_set(struct ckpt_buf *name, const char *full, size_t flen,
	      const char *suffix, size_t slen)
{
	if (flen == 0 || name->len > 0)
		return 0;
	if (ckpt_buf_put(name, full, flen) < 0 ||
	    ckpt_buf_put(name, suffix, slen) < 0 ||
	    ckpt_buf_put(name, "", 1) < 0)	/* (for fnmatch()) */
		return -ENOMEM;
	name->len--;
	if (!ckpt_utf8_valid((const char *)name->data, name->len))
		name->len = 0;
	return 0;
}

/* What a saveable's tensor is named for (saveable_name()). */
struct saveable_name {
	const struct ckpt_bundle *b;
	const struct ckpt_objattr *a;
	struct full_names *fn;
};

/* ckpt_saveables_claim()'s FN: entry K, a tensor of the legacy saveable
 * of attribute A, takes A's full name followed by what its key has after
 * A's, into FN (if FN->NAME). */
static int
saveable_name(void *ctx, size_t k)
{
	const struct saveable_name *sn = ctx;
	const struct ckpt_entry *e = &sn->b->entries[k];
	size_t kl = sn->a->checkpoint_key_len;

	if (sn->fn->name == NULL)
		return 0;
	return full_name_set(&sn->fn->name[k], sn->a->full_name,
			     sn->a->full_name_len, e->key + kl,
			     e->key_len - kl);
}

/* Called by graph_names() for attribute A of node NODE, which names a
 * key the checkpoint does not hold. */
typedef void (*missing_fn)(void *ctx, size_t node,
			   const struct ckpt_objattr *a);

/* Take the attributes of B's object graph G as by-name/ of a ckptfs
 * mount does: first those that name a tensor by its key (its full name
 * into FN, if FN->NAME), then, in node order, those whose keys name none
 * (ckpt_saveables_claim()), calling MISSING (if not NULL) for each that
 * finds no tensor free.  Return 0 or -ENOMEM. */
static int
graph_names(const struct ckpt_bundle *b, const struct ckpt_objgraph *g,
	    struct full_names *fn, missing_fn missing, void *ctx)
{
	bool *named = calloc(b->n ? b->n : 1, sizeof(*named));
	struct ckpt_saveables sv = { 0 };
	int rc = named == NULL ? -ENOMEM : 0;

	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		if (pass == 1 &&
		    ckpt_saveables_init(&sv, b->entries, b->n, NULL, named) < 0)
			rc = -ENOMEM;
		for (size_t i = 0; i < g->n && rc == 0; i++) {
			const struct ckpt_objnode *nd = &g->nodes[i];

			for (size_t j = 0; j < nd->nattrs && rc == 0; j++) {
				const struct ckpt_objattr *a = &nd->attrs[j];
				const struct ckpt_entry *e = ckpt_bundle_find(
					b, a->checkpoint_key,
					a->checkpoint_key_len);
				struct saveable_name sn = { b, a, fn };
				bool found;

				if (pass == 1 && e == NULL) {
					rc = ckpt_saveables_claim(
						&sv, a->checkpoint_key,
						a->checkpoint_key_len,
						a->full_name_len > 0,
						saveable_name, &sn, &found);
					if (rc == 0 && !found &&
					    missing != NULL)
						missing(ctx, i, a);
				}
				if (pass == 1 || e == NULL || e->is_part ||
				    ckpt_objgraph_is_key(e->key, e->key_len) ||
				    named[e - b->entries])
					continue;	/* (named before) */
				named[e - b->entries] = true;
				if (fn->name != NULL)
					rc = full_name_set(
						&fn->name[e - b->entries],
						a->full_name,
						a->full_name_len, "", 0);
			}
		}
	}
	ckpt_saveables_free(&sv);
	free(named);
	return rc;
}

/* The full names of B's entries into FN, if B is a TF2 checkpoint whose
 * object graph can be read (else none: -c says what is wrong with it).
 * Return 0 or -ENOMEM. */
static int
full_names_load(const struct ckpt_bundle *b, struct full_names *fn)
{
	struct ckpt_objgraph *g = NULL;
	struct ckpt_err err = { 0 };
	int rc = 0;

	fn->name = NULL;
	if (!b->tf2 || ckpt_bundle_objgraph(b, &g, &err) < 0) {
		ckpt_err_clear(&err);
		return 0;
	}
	fn->name = calloc(b->n ? b->n : 1, sizeof(*fn->name));
	rc = fn->name == NULL ? -ENOMEM : graph_names(b, g, fn, NULL, NULL);
	ckpt_objgraph_free(g);
	return rc;
}

static void
full_names_free(const struct ckpt_bundle *b, struct full_names *fn)
{
	if (fn->name != NULL)
		for (size_t i = 0; i < b->n; i++)
			ckpt_buf_free(&fn->name[i]);
	free(fn->name);
	fn->name = NULL;
}

/* Mark in SEL the entries of B whose full name (FN) is KEY, or matches it
 * if it is a pattern.  Return whether any is. */
static bool
select_full_names(const struct ckpt_bundle *b, const struct full_names *fn,
		  const char *key, bool *sel)
{
	size_t i, kl = strlen(key);
	bool found = false, glob = is_glob(key);

	for (i = 0; i < b->n; i++) {
		const struct ckpt_buf *f = &fn->name[i];

		if (b->entries[i].is_part || f->len == 0)
			continue;
		if (glob ? memchr(f->data, '\0', f->len) == NULL &&
				   fnmatch(key, (const char *)f->data, 0) == 0
			 : f->len == kl && memcmp(f->data, key, kl) == 0) {
			sel[i] = true;
			found = true;
		}
	}
	return found;
}

/* Whether PATH begins with a view of a mount ("by-name/", "by-object/"). */
static bool
view_prefixed(const char *path)
{
	return strncmp(path, "by-name/", 8) == 0 ||
	       strncmp(path, "by-object/", 10) == 0;
}

/* The entry of the tensor at PATH as a mount of B shows it: under
 * "by-name/" or "by-object/", or without a prefix under by-name/ (its
 * names escaped and told apart as there: "dense/kernel@/Adam",
 * "Variable_1"), each component a name the mount lists (none empty, "."
 * or "..": no path a mount shows has them).  *T is the mount's tree,
 * built at the first call (NULL if that failed); NULL if PATH is no
 * tensor there. */
static const struct ckpt_entry *
mount_path_entry(const struct ckpt_bundle *b, struct ckptfs_tree **t,
		 bool *tried, const char *path)
{
	struct ckptfs_node *n = NULL;
	struct ckpt_err err = { 0 };
	char *p = NULL;

	for (const char *c = path;; c++) {
		size_t len = strcspn(c, "/");

		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return NULL;
		c += len;
		if (*c == '\0')
			break;
	}
	if (!*tried) {
		*tried = true;
		if (ckptfs_tree_build(b, NULL, t, &err) < 0)
			*t = NULL;
	}
	if (*t == NULL)
		return NULL;
	if (view_prefixed(path))
		n = ckptfs_tree_path(*t, path);
	else if (asprintf(&p, "by-name/%s", path) >= 0)
		n = ckptfs_tree_path(*t, p);
	free(p);
	if (n == NULL || n->kind != CKPTFS_TENSOR)
		return NULL;
	return atomic_load(&n->entry);
}

/* Mark in SEL (b->n flags) the visible entries named by OPTS->keys (exact
 * names, or fnmatch(3) patterns), or all visible entries if none were
 * named.  One that is no key but begins with a view ("by-name/...") is
 * taken as a path in a mount of the checkpoint (mount_path_entry()),
 * whatever it holds ('*', '?', '[' are names there).  One that names or
 * matches no key is taken as the full name of a TF2 checkpoint's
 * tensors, or a pattern of full names, and then as a path under by-name/
 * without the prefix.  Return 0 or EX_BAD after printing why. */
static int
select_entries(const struct ckpt_bundle *b, const struct opts *opts,
	       bool *sel)
{
	struct full_names fn = { 0 };
	struct ckptfs_tree *t = NULL;
	bool fn_loaded = false, built = false;
	size_t i, k;
	int ret = 0;

	for (i = 0; i < b->n; i++)
		sel[i] = opts->nkeys == 0 && !b->entries[i].is_part;
	for (k = 0; k < opts->nkeys; k++) {
		const char *key = opts->keys[k];
		const struct ckpt_entry *e;
		bool found = false;

		e = ckpt_bundle_find(b, key, strlen(key));
		if (e != NULL && !e->is_part) {
			sel[e - b->entries] = true;
			continue;
		}
		if (view_prefixed(key) &&
		    (e = mount_path_entry(b, &t, &built, key)) != NULL) {
			sel[e - b->entries] = true;
			continue;
		}
		if (is_glob(key)) {
			for (i = 0; i < b->n; i++) {
				e = &b->entries[i];
				if (e->is_part || strlen(e->key) != e->key_len)
					continue;
				if (fnmatch(key, e->key, 0) == 0) {
					sel[i] = true;
					found = true;
				}
			}
		}
		if (found)
			continue;
		/* a TF2 checkpoint's full names, as by-name/ shows them */
		if (!fn_loaded && full_names_load(b, &fn) < 0) {
			ret = fail("%s", strerror(ENOMEM));
			break;
		}
		fn_loaded = true;
		if (fn.name != NULL && select_full_names(b, &fn, key, sel))
			continue;
		if (!view_prefixed(key) &&
		    (e = mount_path_entry(b, &t, &built, key)) != NULL) {
			sel[e - b->entries] = true;
			continue;
		}
		ret = fail(is_glob(key) ? "%s: no tensor matches \"%s\""
					: "%s: no tensor named \"%s\"",
			   b->index_path, key);
		break;
	}
	full_names_free(b, &fn);
	ckptfs_tree_free(t);
	return ret;
}

/* --- listing ------------------------------------------------------------- */

/* Print the selected entries as aligned columns: key, dtype, shape, size
 * (right-aligned).  Keys wider than KEY_COLUMN_MAX do not widen the key
 * column for all the others. */
static int
list_text(const struct ckpt_bundle *b, const bool *sel, struct out *o)
{
	size_t wkey = 0, wdt = 0, wshape = 0, wsize = 0, w, i;
	struct out scratch = { 0 };
	char dt[24], num[24];

	for (i = 0; i < b->n; i++) {
		const struct ckpt_entry *e = &b->entries[i];

		if (!sel[i])
			continue;
		scratch.b.len = 0;
		w = esc_text(&scratch, e->key, e->key_len, ESC_PLAIN);
		if (w <= KEY_COLUMN_MAX && w > wkey)
			wkey = w;
		w = strlen(dtype_text(e->dtype, dt, sizeof(dt)));
		wdt = w > wdt ? w : wdt;
		w = put_shape(&scratch, e);
		wshape = w > wshape ? w : wshape;
		w = (size_t)snprintf(num, sizeof(num), "%" PRIu64, e->size);
		wsize = w > wsize ? w : wsize;
	}
	ckpt_buf_free(&scratch.b);
	if (scratch.err != 0)
		return scratch.err;
	for (i = 0; i < b->n; i++) {
		const struct ckpt_entry *e = &b->entries[i];
		const char *name;

		if (!sel[i])
			continue;
		w = esc_text(o, e->key, e->key_len, ESC_PLAIN);
		o_pad(o, w < wkey ? wkey - w + 2 : 2);
		name = dtype_text(e->dtype, dt, sizeof(dt));
		o_str(o, name);
		o_pad(o, wdt - strlen(name) + 2);
		w = put_shape(o, e);
		o_pad(o, wshape - w + 2);
		w = (size_t)snprintf(num, sizeof(num), "%" PRIu64, e->size);
		o_pad(o, wsize - w);
		o_str(o, num);
		o_byte(o, '\n');
		if (o_flush(o) < 0)
			return o->err;
	}
	return 0;
}

/* Append the JSON member "key" of E, and "key_hex" if the key is not
 * valid UTF-8 (a JSON string would not give its bytes back). */
static void
key_json(struct out *o, const struct ckpt_entry *e)
{
	o_str(o, "\"key\":");
	esc_json(o, e->key, e->key_len);
	if (!ckpt_utf8_valid(e->key, e->key_len)) {
		o_str(o, ",\"key_hex\":\"");
		put_hex(o, e->key, e->key_len);
		o_byte(o, '"');
	}
}

/* Append the JSON members describing E (no braces), after "key", and
 * its "full_name" from FN if it has one. */
static void
entry_json(struct out *o, const struct ckpt_entry *e,
	   const struct full_names *fn, const struct ckpt_bundle *b)
{
	char dt[24];
	size_t i;
	int d;

	key_json(o, e);
	if (fn->name != NULL && fn->name[e - b->entries].len > 0) {
		o_str(o, ",\"full_name\":");
		esc_json(o, fn->name[e - b->entries].data,
			 fn->name[e - b->entries].len);
	}
	o_str(o, ",\"dtype\":");
	esc_json(o, dtype_text(e->dtype, dt, sizeof(dt)),
		 strlen(dtype_text(e->dtype, dt, sizeof(dt))));
	o_str(o, ",\"shape\":[");
	for (d = 0; d < e->rank; d++)
		o_fmt(o, d > 0 ? ",%" PRId64 : "%" PRId64, e->dims[d]);
	o_fmt(o, "],\"size\":%" PRIu64, e->size);
	if (e->nparts == 0) {
		o_fmt(o, ",\"shard\":%" PRId32 ",\"offset\":%" PRIu64
			 ",\"crc32c\":%" PRIu32,
		      e->shard_id, e->offset, e->crc32c);
		return;
	}
	o_str(o, ",\"parts\":[");
	for (i = 0; i < e->nparts; i++) {
		const struct ckpt_part *p = &e->parts[i];

		o_str(o, i > 0 ? ",{\"slice\":[" : "{\"slice\":[");
		for (d = 0; d < e->rank; d++)
			o_fmt(o, "%s[%" PRId64 ",%" PRId64 "]", d > 0 ? "," : "",
			      p->ext[d].start, p->ext[d].length);
		o_fmt(o, "],\"shard\":%" PRId32 ",\"offset\":%" PRIu64
			 ",\"size\":%" PRIu64 ",\"crc32c\":%" PRIu32 "}",
		      p->entry->shard_id, p->entry->offset, p->entry->size,
		      p->entry->crc32c);
	}
	o_byte(o, ']');
}

/* --- values -------------------------------------------------------------- */

/* What is needed to print one tensor's values. */
struct vctx {
	const struct ckpt_bundle *b;
	const struct ckpt_entry *e;
	/* Borrowed: a string or variant tensor's bytes; fixed-size elements
	 * are read CHUNK bytes at a time into WIN (put_elem()). */
	const uint8_t *data;
	size_t len;
	uint8_t *win;		/* owned: bytes [WIN_OFF, WIN_OFF + WIN_LEN) */
	uint64_t win_off;
	size_t win_len;
	size_t esz;		/* element size; 0 for strings */
	bool big_endian;
	uint64_t nelems;
	uint64_t *slens;	/* owned: string lengths */
	const uint8_t **sdata;	/* owned: string starts, into data */
	uint64_t *stride;	/* owned: elements per step of each dim */
	bool json, all, summarize;
	bool hex;		/* JSON strings as hexadecimal (values_hex) */
	size_t width;		/* numeric elements are padded to this */
	struct out scratch;	/* owned */
	/* A read of the elements failed (the data file changed or was cut
	 * after the check): the negative errno, also in the output's ERR
	 * to stop it. */
	int read_err;
	/* The texts of the first NMEMO numeric elements as the pass that
	 * measures their width made them, each after its length byte (up
	 * to MEMO_MAX bytes), for the pass that prints them: formatting a
	 * float is most of the time; MEMO_AT and MEMO_USED: where that
	 * pass is. */
	struct ckpt_buf memo;
	uint64_t nmemo, memo_used;
	size_t memo_at;
	bool memo_full;
};

/* Bytes of element texts vctx.memo keeps. */
#define MEMO_MAX ((size_t)1 << 20)

/* Append element I: a number, "true", "(1+2j)", or a quoted string. */
static void
put_elem(struct vctx *v, uint64_t i, struct out *o)
{
	struct out *s = &v->scratch;
	uint8_t one[16];	/* the largest element: complex128 */
	const uint8_t *elem;
	uint64_t at;
	size_t w;
	int rc;

	if (v->esz == 0) {	/* DT_STRING */
		size_t n = (size_t)v->slens[i];
		bool cut = !v->all && !v->json && n > STRING_PREVIEW;
		size_t shown = STRING_PREVIEW;

		/* (cut before a character the cut would split: its bytes
		 * would show as invalid ones) */
		while (cut && shown > STRING_PREVIEW - 3 &&
		       (v->sdata[i][shown] & 0xc0) == 0x80)
			shown--;

		if (v->json && v->hex) {
			o_byte(o, '"');
			put_hex(o, v->sdata[i], n);
			o_byte(o, '"');
			return;
		}
		if (v->json) {
			esc_json(o, v->sdata[i], n);
			return;
		}
		o_byte(o, '"');
		esc_text(o, v->sdata[i], cut ? shown : n, ESC_QUOTE);
		o_str(o, cut ? "\"..." : "\"");
		return;
	}
	s->b.len = 0;
	if (!o->discard && v->memo_used < v->nmemo) {	/* measured */
		size_t n = v->memo.data[v->memo_at];

		w = text_width(v->memo.data + v->memo_at + 1, n);
		o_pad(o, v->width > w ? v->width - w : 0);
		o_put(o, v->memo.data + v->memo_at + 1, n);
		v->memo_at += 1 + n;
		v->memo_used++;
		return;
	}
	/* Verified already (vctx_load()).  Elements are 1 to 16 bytes,
	 * powers of two: a window of CHUNK at a multiple of CHUNK holds
	 * each whole. */
	at = i * v->esz;
	if (at < v->win_off || at - v->win_off >= v->win_len) {
		size_t got = 0;

		v->win_off = at - at % CHUNK;
		v->win_len = 0;
		rc = ckpt_bundle_pread(v->b, v->e, v->win, CHUNK, v->win_off,
				       &got);
		if (rc == 0 && got < CHUNK && v->win_off + got < v->e->size)
			rc = -EIO;
		if (rc < 0) {
			v->read_err = rc;
			o->err = o->err != 0 ? o->err : rc;
			return;
		}
		v->win_len = got;
	}
	if (at - v->win_off + v->esz > v->win_len || v->esz > sizeof(one)) {
		o->err = o->err != 0 ? o->err : -EIO;
		return;
	}
	memcpy(one, v->win + (at - v->win_off), v->esz);
	elem = one;
	rc = (v->json ? ckpt_value_format_exact
		      : ckpt_value_format)(v->e->dtype, elem, v->big_endian,
					   &s->b);
	if (rc < 0) {
		o->err = o->err != 0 ? o->err : rc;
		return;
	}
	if (v->json) {
		/* JSON readers take -0 for the integer 0: keep the sign. */
		if (s->b.len == 2 && memcmp(s->b.data, "-0", 2) == 0)
			o_put(o, "-0.0", 4);
		else if (json_number((const char *)s->b.data, s->b.len) ||
		    (s->b.len == 4 && memcmp(s->b.data, "true", 4) == 0) ||
		    (s->b.len == 5 && memcmp(s->b.data, "false", 5) == 0))
			o_put(o, s->b.data, s->b.len);
		else
			esc_json(o, s->b.data, s->b.len);
		return;
	}
	w = text_width(s->b.data, s->b.len);
	if (w > v->width)
		v->width = w;
	else
		o_pad(o, v->width - w);
	o_put(o, s->b.data, s->b.len);
	if (o->discard && !v->memo_full) {
		uint8_t n = (uint8_t)s->b.len;

		if (s->b.len > UINT8_MAX || v->memo.len >= MEMO_MAX ||
		    ckpt_buf_put(&v->memo, &n, 1) < 0 ||
		    ckpt_buf_put(&v->memo, s->b.data, s->b.len) < 0) {
			v->memo_full = true;	/* the rest formatted again */
			return;
		}
		v->nmemo++;
	}
}

/* Append the separator between items of dim D: ", " in the innermost dim,
 * else a comma, one newline per inner dim and indentation to COL + D + 1
 * (numpy's layout); "," in JSON. */
static void
put_sep(struct vctx *v, int d, size_t col, struct out *o)
{
	int k;

	if (v->json) {
		o_byte(o, ',');
		return;
	}
	if (d + 1 == v->e->rank) {
		o_str(o, ", ");
		return;
	}
	o_byte(o, ',');
	for (k = d + 1; k < v->e->rank; k++)
		o_byte(o, '\n');
	o_pad(o, col + (size_t)d + 1);
}

/* Append dim D of the tensor, starting at element OFF, as nested
 * brackets; long dims are cut to their ends around "..." when
 * summarizing. */
static void
put_dim(struct vctx *v, int d, uint64_t off, size_t col, struct out *o)
{
	int64_t n = v->e->dims[d], i;
	bool cut = v->summarize && n > 2 * SUMMARY_EDGE;

	o_byte(o, '[');
	for (i = 0; i < n && o->err == 0; i++) {
		if (i > 0)
			put_sep(v, d, col, o);
		if (cut && i == SUMMARY_EDGE) {
			o_str(o, "...");
			i = n - SUMMARY_EDGE - 1;
			continue;
		}
		if (d + 1 == v->e->rank)
			put_elem(v, off + (uint64_t)i, o);
		else
			put_dim(v, d + 1, off + (uint64_t)i * v->stride[d], col,
				o);
		if (o->b.len >= CHUNK)
			o_flush(o);
	}
	o_byte(o, ']');
}

/* Append all (or, summarizing, some) values of the tensor, laid out for a
 * text column COL or as JSON. */
static void
put_values(struct vctx *v, size_t col, struct out *o)
{
	struct out measure = { .discard = true };

	if (v->e->dtype == CKPT_DT_VARIANT) {
		if (v->json)
			o_str(o, "null");
		else
			o_fmt(o, "<variant, %zu bytes>", v->len);
		return;
	}
	if (v->e->rank == 0) {
		put_elem(v, 0, o);
		return;
	}
	if (!v->json && v->nelems == 0) {	/* as numpy prints one */
		o_str(o, "[]");
		return;
	}
	if (!v->json && v->esz != 0) {	/* first pass: column width */
		put_dim(v, 0, 0, col, &measure);
		ckpt_buf_free(&measure.b);
		if (measure.err != 0) {
			o->err = o->err != 0 ? o->err : measure.err;
			return;
		}
	}
	put_dim(v, 0, 0, col, o);
}

/* Read E (verified) and fill V; return 0 or EX_BAD after printing why. */
static int
vctx_load(const struct ckpt_bundle *b, const struct ckpt_entry *e,
	  const struct opts *opts, struct vctx *v, uint8_t **data)
{
	struct ckpt_err err = { 0 };
	size_t len;
	int rc, d;

	memset(v, 0, sizeof(*v));
	v->b = b;
	v->e = e;
	v->json = opts->json;
	v->all = opts->all;
	v->big_endian = b->hdr.endianness == 1;
	rc = ckpt_shape_elems(e->dims, e->rank, &v->nelems);
	if (rc < 0)
		return fail("%s: tensor \"%s\": bad shape: %s", b->index_path,
			    e->key, strerror(-rc));
	v->summarize = !opts->all && !opts->json &&
		       v->nelems > SUMMARY_THRESHOLD;
	if (ckpt_dtype_size(e->dtype) != 0 && e->dtype != CKPT_DT_VARIANT) {
		/* Check the tensor in chunks, then read the elements shown
		 * a window at a time: not gigabytes into memory. */
		rc = ckpt_bundle_verify(b, e, &err);
		len = (size_t)e->size;
		if (e->size > SIZE_MAX)
			rc = ckpt_fail(&err, -EFBIG, "%s: too large",
				       e->key);
		if (rc == 0 && (v->win = malloc(CHUNK)) == NULL)
			rc = ckpt_fail(&err, -ENOMEM, "out of memory");
	} else {
		rc = ckpt_bundle_read(b, e, data, &len, &err);
	}
	if (rc < 0)
		return fail_lib(NULL, ckpt_err_str(&err, rc));
	v->data = *data;
	v->len = len;
	v->stride = calloc((size_t)e->rank + 1, sizeof(*v->stride));
	if (v->stride == NULL)
		return fail("%s", strerror(ENOMEM));
	/* stride[d]: elements per step in dim d (the product of the dims
	 * after it); fits, as the element count does. */
	v->stride[e->rank] = 1;
	for (d = e->rank - 1; d >= 0; d--)
		v->stride[d] = d + 1 == e->rank ?
				       1 :
				       v->stride[d + 1] * (uint64_t)e->dims[d + 1];
	if (e->dtype == CKPT_DT_VARIANT)
		return 0;
	if (e->dtype == CKPT_DT_STRING) {
		if (v->nelems > len)	/* each element takes >= 1 byte */
			return fail("%s: tensor \"%s\": %" PRIu64
				    " strings cannot fit in %zu bytes",
				    b->index_path, e->key, v->nelems, len);
		v->slens = calloc(v->nelems + 1, sizeof(*v->slens));
		v->sdata = calloc(v->nelems + 1, sizeof(*v->sdata));
		if (v->slens == NULL || v->sdata == NULL)
			return fail("%s", strerror(ENOMEM));
		rc = ckpt_string_parse(v->data, len, v->nelems, v->big_endian,
				       v->slens, v->sdata, NULL);
		if (rc < 0)
			return fail("%s: tensor \"%s\": malformed string data",
				    b->index_path, e->key);
		return 0;
	}
	v->esz = ckpt_dtype_size(e->dtype);
	if (v->esz == 0)
		return fail("%s: tensor \"%s\": dtype %d cannot be printed",
			    b->index_path, e->key, e->dtype);
	if (v->nelems > len / v->esz)
		return fail("%s: tensor \"%s\": %zu bytes hold fewer than %" PRIu64
			    " elements",
			    b->index_path, e->key, len, v->nelems);
	return 0;
}

/* Free what vctx_load() allocated. */
static void
vctx_free(struct vctx *v)
{
	free(v->slens);
	free(v->sdata);
	free(v->stride);
	free(v->win);
	ckpt_buf_free(&v->scratch.b);
	ckpt_buf_free(&v->memo);
}

/* True if V is a string tensor with an element that is not valid UTF-8
 * (JSON shows it as other characters: values_hex gives its bytes). */
static bool
strings_not_utf8(const struct vctx *v)
{
	if (v->esz != 0 || v->e->dtype != CKPT_DT_STRING)
		return false;
	for (uint64_t i = 0; i < v->nelems; i++)
		if (!ckpt_utf8_valid(v->sdata[i], (size_t)v->slens[i]))
			return true;
	return false;
}

/* Say that E's elements could not be read after its check passed (RC):
 * its data file changed or was cut meanwhile, while DOING.  Return
 * EX_BAD. */
static int
read_failed(const struct ckpt_bundle *b, const struct ckpt_entry *e, int rc,
	    const char *doing)
{
	char *file = e->nparts == 0 ? ckpt_shard_path(b->prefix, e->shard_id,
						      b->hdr.num_shards)
				    : NULL;
	const char *where = file != NULL ? file : b->prefix;
	int ret;

	/* (quoted as the library's messages quote keys) */
	if (rc == -ESTALE)
		ret = fail("%s: tensor '%s': the file changed while %s", where,
			   e->key, doing);
	else if (rc == -EIO)
		ret = fail("%s: tensor '%s': the file became shorter than the "
			   "index says while %s",
			   where, e->key, doing);
	else
		ret = fail("%s: tensor '%s': %s", where, e->key,
			   strerror(-rc));
	free(file);
	return ret;
}

/* Print the selected tensors' values: "key = value" (multi-line values
 * aligned under the first bracket), or one JSON object per line. */
static int
print_values(const struct ckpt_bundle *b, const bool *sel,
	     const struct opts *opts, struct out *o)
{
	struct full_names fn = { 0 };
	size_t i;
	int ret = 0, bad = 0;

	if (opts->json && full_names_load(b, &fn) < 0)
		ret = fail("out of memory");
	for (i = 0; i < b->n && ret == 0; i++) {
		const struct ckpt_entry *e = &b->entries[i];
		uint8_t *data = NULL;
		struct vctx v;
		size_t w;

		if (!sel[i])
			continue;
		/* A tensor that cannot be read is said so (stderr), and the
		 * others still print: exit 1 at the end. */
		if (vctx_load(b, e, opts, &v, &data) != 0) {
			bad = EX_BAD;
		} else {
			uint64_t flushed = o->flushed;

			if (opts->json) {
				o_byte(o, '{');
				entry_json(o, e, &fn, b);
				o_str(o, ",\"values\":");
				put_values(&v, 0, o);
				if (strings_not_utf8(&v)) {
					/* JSON cannot hold those bytes */
					v.hex = true;
					o_str(o, ",\"values_hex\":");
					put_values(&v, 0, o);
				}
				o_str(o, "}\n");
			} else {
				w = esc_text(o, e->key, e->key_len, ESC_PLAIN);
				o_str(o, " = ");
				put_values(&v, w + 3, o);
				o_byte(o, '\n');
			}
			if (v.read_err != 0) {
				/* Not the output's failure: what is left of the
				 * tensor is dropped, a line begun is ended. */
				o->err = 0;
				o->b.len = 0;
				if (o->flushed != flushed)
					o_byte(o, '\n');
				bad = read_failed(b, e, v.read_err,
						  "its values were printed");
			}
			if (o_flush(o) < 0)
				ret = o->err;
		}
		vctx_free(&v);
		free(data);
	}
	full_names_free(b, &fn);
	return ret != 0 ? ret : bad;
}

/* Write all of LEN bytes at P to standard output: 0 or a negative
 * errno. */
static int
write_out(const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(STDOUT_FILENO, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* --raw --force of bad entry E: the bytes its entry locates, as stored
 * (what of them its data file holds), checked against its CRC; always
 * EX_BAD (or standard output's error). */
static int
write_bad_raw(const struct ckpt_bundle *b, const struct ckpt_entry *e)
{
	uint64_t off, size, done = 0;
	uint32_t crc = 0, stored;
	int32_t shard;
	uint8_t *buf = NULL;
	char *path = NULL;
	int fd = -1, rc = EX_BAD;

	(void)fail_lib("warning: ", ckpt_bundle_entry_bad(b, e));
	if (!ckpt_bundle_bad_location(b, e, &shard, &off, &size, &stored)) {
		fputs(PROG ": nothing written (its entry does not say where "
		      "its bytes are)\n", stderr);
		return EX_BAD;
	}
	path = ckpt_shard_path(b->prefix, shard, b->hdr.num_shards);
	if (path == NULL || (buf = malloc(CHUNK)) == NULL) {
		rc = fail("%s", strerror(ENOMEM));
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		rc = fail("%s: %s", path, strerror(errno));
		goto out;
	}
	while (done < size) {
		size_t want = size - done < CHUNK ? (size_t)(size - done)
						  : CHUNK;
		ssize_t got = pread(fd, buf, want, (off_t)(off + done));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = fail("%s: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		if ((rc = write_out(buf, (size_t)got)) < 0)
			goto out;	/* standard output's */
		crc = ckpt_crc32c_extend(crc, buf, (size_t)got);
		done += (uint64_t)got;
	}
	rc = EX_BAD;
	if (done < size)
		fprintf(stderr,
			PROG ": warning: %" PRIu64 " of %" PRIu64 " bytes "
			     "written: the data file ends there\n",
			done, size);
	else
		fprintf(stderr,
			PROG ": warning: %" PRIu64 " bytes at offset %" PRIu64
			     " of %s written as stored; %s\n",
			size, off, path,
			ckpt_crc_mask(crc) == stored
				? "they match the checksum its entry gives"
				: "as plain bytes they do not match the "
				  "checksum its entry gives (that of a string "
				  "tensor covers its lengths, not their bytes: "
				  "unknown then)");
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return rc;
}

/* --raw: write the bytes of the one selected tensor to standard output,
 * as stored (a partitioned tensor assembled), once they are found to
 * match their checksum; with --force whatever they are, the damage said
 * on stderr (exit 1). */
static int
write_raw(const struct ckpt_bundle *b, const bool *sel,
	  const struct opts *opts)
{
	const struct ckpt_entry *e = NULL;
	struct ckpt_err err = { 0 };
	uint8_t *buf = NULL;
	uint64_t off = 0;
	size_t n = 0;
	int rc, ret = 0;

	for (size_t i = 0; i < b->n; i++)
		if (sel[i] && n++ == 0)
			e = &b->entries[i];
	if (n != 1) {
		fprintf(stderr, PROG ": --raw writes one tensor; %zu match\n",
			n);
		return EX_USAGE;
	}
	if (ckpt_entry_is_bad(e) && opts->force)
		return write_bad_raw(b, e);
	if (ckpt_entry_is_bad(e)) {
		(void)fail_lib(NULL, ckpt_bundle_entry_bad(b, e));
		if (ckpt_bundle_bad_location(b, e, NULL, NULL, NULL, NULL))
			fputs(PROG ": nothing written (--force writes the "
			      "bytes its entry locates)\n", stderr);
		return EX_BAD;
	}
	rc = ckpt_bundle_verify(b, e, &err);
	if (rc == -EIO && ckpt_bundle_entry_unopened(b, e) != NULL) {
		(void)fail_lib(NULL, ckpt_err_str(&err, rc));
		fputs(PROG ": nothing written (its data file could not be "
		      "opened: nothing of it to salvage)\n", stderr);
		return EX_BAD;
	} else if ((rc == -EBADMSG || rc == -EIO) && opts->force) {
		/* (a tensor cut short was warned about when opened) */
		if (rc != -EIO || !ckpt_bundle_entry_short(b, e))
			(void)fail_lib("warning: ", ckpt_err_str(&err, rc));
		ret = EX_BAD;
	} else if (rc == -EBADMSG || rc == -EIO) {
		(void)fail_lib(NULL, ckpt_err_str(&err, rc));
		fputs(PROG ": nothing written (--force writes the bytes as "
		      "they are)\n", stderr);
		return EX_BAD;
	} else if (rc < 0) {
		return fail_lib(NULL, ckpt_err_str(&err, rc));
	}
	if ((buf = malloc(CHUNK)) == NULL)
		return fail("%s", strerror(ENOMEM));
	while (off < e->size) {
		size_t want = e->size - off < CHUNK ? (size_t)(e->size - off)
						    : CHUNK, got = 0;

		rc = ckpt_bundle_pread(b, e, buf, want, off, &got);
		if (rc == 0 && got == 0)
			rc = -EIO;
		if (rc == -EIO && opts->force) {
			/* what the data file still holds of this chunk */
			size_t lo = 0, hi = want, mid;

			while (hi - lo > 1) {
				mid = lo + (hi - lo) / 2;
				if (ckpt_bundle_pread(b, e, buf, mid, off,
						      &got) == 0 &&
				    got == mid)
					lo = mid;
				else
					hi = mid;
			}
			got = 0;
			if (lo > 0 &&
			    (ckpt_bundle_pread(b, e, buf, lo, off, &got) < 0 ||
			     (rc = write_out(buf, got)) < 0)) {
				ret = rc < 0 && rc != -EIO ? rc : EX_BAD;
				break;
			}
			fprintf(stderr,
				PROG ": warning: %" PRIu64 " of %" PRIu64
				     " bytes written: the data file ends "
				     "there\n",
				off + got, e->size);
			ret = EX_BAD;
			break;
		}
		if (rc < 0) {
			ret = read_failed(b, e, rc, "its bytes were written");
			break;
		}
		if ((rc = write_out(buf, got)) < 0) {
			ret = rc;	/* standard output's */
			break;
		}
		off += got;
	}
	free(buf);
	return ret;
}

/* Print the selected entries as JSON lines (no values). */
static int
list_json(const struct ckpt_bundle *b, const bool *sel, struct out *o)
{
	struct full_names fn = { 0 };
	int rc = full_names_load(b, &fn);

	for (size_t i = 0; i < b->n && rc == 0; i++) {
		if (!sel[i])
			continue;
		o_byte(o, '{');
		entry_json(o, &b->entries[i], &fn, b);
		o_str(o, "}\n");
		if (o_flush(o) < 0)
			rc = o->err;
	}
	full_names_free(b, &fn);
	return rc == -ENOMEM ? fail("out of memory") : rc;
}

/* --- verify -------------------------------------------------------------- */

/* Report one damaged tensor (or PART of one) with MSG, in text as
 * "DAMAGED key[part]: problem in FILE", or with FILE_FIRST (a problem of
 * the file itself, as one that could not be opened) as "DAMAGED
 * key[part]: FILE: problem". */
static void
report_damage(const struct opts *opts, const struct ckpt_entry *e,
	      const struct ckpt_part *part, const char *msg, const char *file,
	      bool file_first, struct out *o)
{
	if (opts->json) {
		o_byte(o, '{');
		key_json(o, e);
		if (part != NULL) {
			o_str(o, ",\"part\":\"");
			put_extents(o, e, part);
			o_byte(o, '"');
		}
		o_str(o, ",\"ok\":false,\"error\":");
		esc_json(o, msg, strlen(msg));
		if (file != NULL) {
			o_str(o, ",\"file\":");
			esc_json(o, file, strlen(file));
		}
		o_str(o, "}\n");
		return;
	}
	o_str(o, "DAMAGED ");
	esc_text(o, e->key, e->key_len, ESC_PLAIN);
	if (part != NULL)
		put_extents(o, e, part);
	o_str(o, ": ");
	if (file != NULL) {
		const char *base = strrchr(file, '/');

		base = base != NULL ? base + 1 : file;
		if (file_first) {
			esc_text(o, base, strlen(base), ESC_PLAIN);
			o_str(o, ": ");
		}
		esc_text(o, msg, strlen(msg), ESC_MSG);
		if (!file_first) {
			o_str(o, " in ");
			esc_text(o, base, strlen(base), ESC_PLAIN);
		}
	} else {
		esc_text(o, msg, strlen(msg), ESC_MSG);
	}
	o_byte(o, '\n');
}

/* The problem in library message MSG, without the leading "FILE: tensor
 * 'KEY': " that report_damage() says itself (the library shows a key
 * with its quotes and control bytes escaped, so the first "': " ends
 * it). */
static const char *
strip_key(const char *msg)
{
	const char *p = strstr(msg, "tensor '");

	if (p == NULL || (p = strstr(p, "': ")) == NULL)
		return msg;
	return p + 3;
}

/* Library message MSG without a leading "PATH: " (report_damage() names
 * the file itself). */
static const char *
after_path(const char *msg, const char *path)
{
	size_t pl = strlen(path);

	if (strncmp(msg, path, pl) == 0 && strncmp(msg + pl, ": ", 2) == 0)
		return msg + pl + 2;
	return msg;
}

/* Verify one stored entry; report and return false if it is damaged. */
static bool
verify_one(const struct ckpt_bundle *b, const struct opts *opts,
	   const struct ckpt_entry *e, const struct ckpt_part *part,
	   struct out *o)
{
	const struct ckpt_entry *stored = part != NULL ? part->entry : e;
	struct ckpt_err err = { 0 };
	char *file;
	int rc;

	if (ckpt_entry_is_bad(stored)) {
		/* Said by the index: "INDEX: tensor 'KEY' has ..." */
		char m[sizeof(err.msg) + 32];

		snprintf(m, sizeof(m), "unusable index entry: %s",
			 after_path(ckpt_bundle_entry_bad(b, stored),
				    b->index_path));
		report_damage(opts, e, part, m, b->index_path, false, o);
		return false;
	}
	rc = ckpt_bundle_verify(b, stored, &err);
	if (rc == 0)
		return true;
	file = ckpt_shard_path(b->prefix, stored->shard_id, b->hdr.num_shards);
	report_damage(opts, e, part, strip_key(ckpt_err_str(&err, rc)), file,
		      ckpt_bundle_entry_unopened(b, stored) != NULL, o);
	free(file);
	return false;
}

/* What graph_keys_held() reports. */
struct missing_keys {
	const struct opts *opts;
	const struct ckpt_entry *ge;	/* the graph's entry */
	struct out *o;
	size_t n;
};

enum { NAMED = 3 };	/* missing keys said by name */

/* graph_names()'s MISSING for graph_keys_held(): the first NAMED said. */
static void
say_missing(void *ctx, size_t node, const struct ckpt_objattr *a)
{
	struct missing_keys *mk = ctx;
	struct out m = { 0 };

	if (mk->n++ >= NAMED)
		return;
	o_str(&m, "object graph: node ");
	o_fmt(&m, "%zu names key '", node);
	esc_text(&m, a->checkpoint_key, a->checkpoint_key_len, ESC_PLAIN);
	o_str(&m, "', which the index does not hold");
	o_byte(&m, '\0');
	if (m.err == 0)
		report_damage(mk->opts, mk->ge, NULL, (const char *)m.b.data,
			      NULL, false, mk->o);
	ckpt_buf_free(&m.b);
}

/* Report, as damage of the graph's entry GE, the keys G's attributes name
 * that B does not hold (TensorFlow fails to restore an object whose
 * attribute's key it lacks), as a ckptfs mount finds them (graph_names():
 * a legacy saveable's key holds when it takes a tensor its key begins);
 * return true if there is none. */
static bool
graph_keys_held(const struct ckpt_bundle *b, const struct ckpt_objgraph *g,
		const struct opts *opts, const struct ckpt_entry *ge,
		struct out *o)
{
	struct missing_keys mk = { opts, ge, o, 0 };
	struct full_names none = { 0 };
	struct out m = { 0 };

	if (graph_names(b, g, &none, say_missing, &mk) < 0) {
		fail("out of memory");
		return false;
	}
	if (mk.n > NAMED) {
		o_fmt(&m, "object graph: %zu more key%s it names %s not in "
			  "the index",
		      mk.n - NAMED, mk.n - NAMED > 1 ? "s" : "",
		      mk.n - NAMED > 1 ? "are" : "is");
		o_byte(&m, '\0');
		if (m.err == 0)
			report_damage(opts, ge, NULL, (const char *)m.b.data,
				      NULL, false, o);
	}
	ckpt_buf_free(&m.b);
	return mk.n == 0;
}

/* Check every CRC of the selected tensors (every part of a partitioned
 * one), that the object graph parses and that the keys it names are in
 * the index; print one line per damaged tensor and a summary.  Return 0
 * or EX_BAD if anything is damaged. */
static int
verify(const struct ckpt_bundle *b, const bool *sel, const struct opts *opts,
       struct out *o)
{
	size_t i, j, checked = 0, damaged = 0;
	const struct ckpt_entry *ge = NULL;
	bool graph_ok = true;

	for (i = 0; i < b->n; i++) {
		const struct ckpt_entry *e = &b->entries[i];
		bool ok = true;

		if (!sel[i])
			continue;
		if (e->nparts == 0) {
			ok = verify_one(b, opts, e, NULL, o);
		} else {
			for (j = 0; j < e->nparts; j++)
				if (!verify_one(b, opts, e, &e->parts[j], o))
					ok = false;
		}
		if (ok && opts->json) {
			o_byte(o, '{');
			key_json(o, e);
			o_str(o, ",\"ok\":true}\n");
		}
		if (ckpt_objgraph_is_key(e->key, e->key_len)) {
			ge = e;
			graph_ok = ok;
		}
		checked++;
		damaged += ok ? 0 : 1;
		if (o_flush(o) < 0)
			return o->err;
	}
	if (ge != NULL && graph_ok) {
		struct ckpt_objgraph *g = NULL;
		struct ckpt_err err = { 0 };
		const char *msg;
		char *file;
		int rc;

		rc = ckpt_bundle_objgraph(b, &g, &err);
		if (rc < 0) {
			/* "PREFIX: object graph: ...": said as for a tensor,
			 * with the file it is stored in. */
			msg = strip_key(after_path(ckpt_err_str(&err, rc),
						   b->prefix));
			file = ckpt_shard_path(b->prefix, ge->shard_id,
					       b->hdr.num_shards);
			report_damage(opts, ge, NULL, msg, file, false, o);
			free(file);
			damaged++;
		} else if (!graph_keys_held(b, g, opts, ge, o)) {
			damaged++;
		}
		ckpt_objgraph_free(g);
	}
	if (opts->json)
		o_fmt(o, "{\"verified\":%zu,\"damaged\":%zu}\n", checked,
		      damaged);
	else
		o_fmt(o, "%zu tensor%s verified, %zu damaged\n", checked,
		      checked == 1 ? "" : "s", damaged);
	if (o_flush(o) < 0)
		return o->err;
	return damaged > 0 ? EX_BAD : 0;
}

/* --- object graph -------------------------------------------------------- */

/* Longest object path printed whole (bytes of names); a longer one, which
 * only a graph built to be deep has, is printed as its end after ".../":
 * every path whole would take the graph's depth times its size. */
#define PATH_SHOWN_MAX 4096

/* Node I's object path into P (from UP, ckpt_objgraph_bfs()): 0, 1 when
 * it has none, -ENOMEM. */
static int
node_path(const struct ckpt_objgraph *g, const size_t *up, size_t i,
	  struct ckpt_buf *p)
{
	int rc;

	p->len = 0;
	rc = ckpt_objgraph_path(g, up, i, PATH_SHOWN_MAX, p);
	if (rc == 0)
		rc = ckpt_buf_put(p, "", 1);	/* NUL-terminated */
	return rc;
}

/* Print the nodes of G as text. */
static int
graph_text(const struct ckpt_objgraph *g, const size_t *up, struct out *o)
{
	struct ckpt_buf p = { 0 };
	size_t i, j;
	int rc = 0;

	for (i = 0; i < g->n && rc >= 0; i++) {
		const struct ckpt_objnode *nd = &g->nodes[i];
		const char *path;

		if ((rc = node_path(g, up, i, &p)) < 0)
			break;
		path = rc == 0 ? (const char *)p.data : NULL;
		o_fmt(o, "node %zu  ", i);
		if (path == NULL)
			o_str(o, "(no path)");
		else if (path[0] == '\0')
			o_str(o, "(root)");
		else
			esc_text(o, path, strlen(path), ESC_PLAIN);
		o_byte(o, '\n');
		for (j = 0; j < nd->nchildren; j++) {
			o_str(o, "  child ");
			esc_name(o, nd->children[j].local_name,
				 nd->children[j].local_name_len);
			o_fmt(o, " -> node %" PRId32 "\n",
			      nd->children[j].node_id);
		}
		for (j = 0; j < nd->nattrs; j++) {
			const struct ckpt_objattr *a = &nd->attrs[j];

			o_str(o, "  attribute ");
			esc_name(o, a->name, a->name_len);
			o_str(o, "  full_name ");
			esc_name(o, a->full_name, a->full_name_len);
			o_str(o, "  checkpoint_key ");
			esc_name(o, a->checkpoint_key, a->checkpoint_key_len);
			o_str(o, a->optional_restore ? "  optional\n" : "\n");
		}
		for (j = 0; j < nd->nslots; j++) {
			const struct ckpt_slotref *s = &nd->slots[j];

			o_str(o, "  slot ");
			esc_name(o, s->slot_name, s->slot_name_len);
			o_fmt(o, "  variable node %" PRId32 " -> slot node %" PRId32
				 "\n",
			      s->original_variable_node_id,
			      s->slot_variable_node_id);
		}
		if (nd->saver_name != NULL) {
			o_str(o, "  registered_saver ");
			esc_name(o, nd->saver_name, strlen(nd->saver_name));
			if (nd->saver_object_name != NULL) {
				o_byte(o, ' ');
				esc_name(o, nd->saver_object_name,
					 strlen(nd->saver_object_name));
			}
			o_byte(o, '\n');
		}
		o_flush(o);	/* (a failure stays in O->err) */
	}
	ckpt_buf_free(&p);
	return rc < 0 ? rc : 0;
}

/* Print the nodes of G as JSON, one object per node and line. */
static int
graph_json(const struct ckpt_objgraph *g, const size_t *up, struct out *o)
{
	struct ckpt_buf p = { 0 };
	size_t i, j;
	int rc = 0;

	for (i = 0; i < g->n && rc >= 0; i++) {
		const struct ckpt_objnode *nd = &g->nodes[i];

		if ((rc = node_path(g, up, i, &p)) < 0)
			break;
		o_fmt(o, "{\"id\":%zu,\"path\":", i);
		if (rc == 1)
			o_str(o, "null");
		else
			esc_json(o, (const char *)p.data,
				 strlen((const char *)p.data));
		o_str(o, ",\"children\":[");
		for (j = 0; j < nd->nchildren; j++) {
			o_str(o, j > 0 ? ",{\"name\":" : "{\"name\":");
			esc_json(o, nd->children[j].local_name,
				 nd->children[j].local_name_len);
			o_fmt(o, ",\"id\":%" PRId32 "}", nd->children[j].node_id);
		}
		o_str(o, "],\"attributes\":[");
		for (j = 0; j < nd->nattrs; j++) {
			const struct ckpt_objattr *a = &nd->attrs[j];

			o_str(o, j > 0 ? ",{\"name\":" : "{\"name\":");
			esc_json(o, a->name, a->name_len);
			o_str(o, ",\"full_name\":");
			esc_json(o, a->full_name, a->full_name_len);
			o_str(o, ",\"checkpoint_key\":");
			esc_json(o, a->checkpoint_key, a->checkpoint_key_len);
			o_fmt(o, ",\"optional_restore\":%s}",
			      a->optional_restore ? "true" : "false");
		}
		o_str(o, "],\"slot_variables\":[");
		for (j = 0; j < nd->nslots; j++) {
			const struct ckpt_slotref *s = &nd->slots[j];

			o_fmt(o, "%s{\"original_variable_node_id\":%" PRId32
				 ",\"slot_variable_node_id\":%" PRId32
				 ",\"slot_name\":",
			      j > 0 ? "," : "", s->original_variable_node_id,
			      s->slot_variable_node_id);
			esc_json(o, s->slot_name, s->slot_name_len);
			o_byte(o, '}');
		}
		o_byte(o, ']');
		if (nd->has_checkpoint_values >= 0)
			o_fmt(o, ",\"has_checkpoint_values\":%s",
			      nd->has_checkpoint_values ? "true" : "false");
		if (nd->saver_name != NULL) {
			o_str(o, ",\"registered_saver\":");
			esc_json(o, nd->saver_name, strlen(nd->saver_name));
		}
		o_str(o, "}\n");
		o_flush(o);	/* (a failure stays in O->err) */
	}
	ckpt_buf_free(&p);
	return rc < 0 ? rc : 0;
}

/* Print the object graph of a TF2 checkpoint. */
static int
graph(const struct ckpt_bundle *b, const struct opts *opts, struct out *o)
{
	struct ckpt_objgraph *g = NULL;
	struct ckpt_err err = { 0 };
	size_t *up = NULL;
	int rc, ret = 0;

	rc = ckpt_bundle_objgraph(b, &g, &err);
	if (rc == -ENOENT && !b->tf2) {
		return fail("%s: no object graph (%s): a name-based (TF1) "
			    "checkpoint",
			    b->index_path, CKPT_OBJGRAPH_KEY);
	}
	if (rc < 0)
		return fail_lib(NULL, ckpt_err_str(&err, rc));
	rc = ckpt_objgraph_bfs(g, &up);
	if (rc == 0)
		rc = opts->json ? graph_json(g, up, o) : graph_text(g, up, o);
	if (rc < 0) {
		ret = fail("%s: %s", b->index_path, strerror(-rc));
		goto out;
	}
	if (o_flush(o) < 0)
		ret = o->err;
out:
	free(up);
	ckpt_objgraph_free(g);
	return ret;
}

/* --- header -------------------------------------------------------------- */

/* Append the shard files (path, size, or null and why it cannot be
 * read) as JSON array members, or as text lines; return how many cannot
 * be read. */
static size_t
header_shards(const struct ckpt_bundle *b, bool json, struct out *o)
{
	int32_t s, n = b->hdr.num_shards;
	size_t missing = 0;
	struct stat st;
	const char *why;
	uint64_t *need;
	bool there, cut;
	char *path;

	/* The bytes each data file must hold for the entries in it (the
	 * end of the last); a header's absurd count is not worth it. */
	need = n > 0 && n <= 65536 ? calloc((size_t)n, sizeof(*need)) : NULL;
	for (size_t i = 0; need != NULL && i < b->n; i++) {
		const struct ckpt_entry *e = &b->entries[i];

		if (e->nparts == 0 && !ckpt_entry_is_bad(e) &&
		    e->shard_id >= 0 && e->shard_id < n &&
		    e->offset + e->size > need[e->shard_id])
			need[e->shard_id] = e->offset + e->size;
	}
	for (s = 0; s < n; s++) {
		path = ckpt_shard_path(b->prefix, s, n);
		if (path == NULL) {
			o->err = o->err != 0 ? o->err : -ENOMEM;
			break;
		}
		/* (what the reader would open: a regular file it may read) */
		there = stat(path, &st) == 0;
		cut = there && S_ISREG(st.st_mode) && need != NULL &&
		      (uint64_t)st.st_size < need[s];
		why = !there			? "missing"
		      : !S_ISREG(st.st_mode)	? "not a regular file"
		      : access(path, R_OK) != 0 ? "unreadable"
		      : cut			? "cut short"
						: NULL;
		missing += why != NULL;
		if (json) {
			o_fmt(o, "%s{\"id\":%" PRId32 ",\"path\":",
			      s > 0 ? "," : "", s);
			esc_json(o, path, strlen(path));
			if (why == NULL)
				o_fmt(o, ",\"size\":%jd}", (intmax_t)st.st_size);
			else if (cut)
				o_fmt(o, ",\"size\":%jd,\"needs\":%" PRIu64
					 ",\"error\":\"%s\"}",
				      (intmax_t)st.st_size, need[s], why);
			else
				o_fmt(o, ",\"size\":null,\"error\":\"%s\"}",
				      why);
		} else {
			o_fmt(o, "shard %-6" PRId32 " ", s);
			esc_text(o, path, strlen(path), ESC_PLAIN);
			if (why == NULL)
				o_fmt(o, " (%jd bytes)\n", (intmax_t)st.st_size);
			else if (cut)
				o_fmt(o, " (%jd bytes; the index needs %" PRIu64
					 ": cut short)\n",
				      (intmax_t)st.st_size, need[s]);
			else
				o_fmt(o, " (%s)\n", why);
		}
		free(path);
	}
	free(need);
	return missing;
}

/* Print the bundle header and facts about the index; EX_BAD when an
 * index entry cannot be used or a shard file is missing. */
static int
header(const struct ckpt_bundle *b, const struct opts *opts, struct out *o)
{
	size_t nblocks = b->index_blocks, nsnappy = b->index_snappy_blocks;
	size_t i, missing;
	int ret = 0;
	const char *endian = b->hdr.endianness == 0 ? "little" :
			     b->hdr.endianness == 1 ? "big" :
						      "unknown";

	if (opts->json) {
		o_str(o, "{\"prefix\":");
		esc_json(o, b->prefix, strlen(b->prefix));
		o_str(o, ",\"index\":");
		esc_json(o, b->index_path, strlen(b->index_path));
		o_fmt(o, ",\"index_size\":%" PRIu64 ",\"index_blocks\":%zu"
			 ",\"index_snappy_blocks\":%zu",
		      b->index_size, nblocks, nsnappy);
		o_fmt(o, ",\"num_shards\":%" PRId32 ",\"endianness\":\"%s\"",
		      b->hdr.num_shards, endian);
		o_fmt(o, ",\"version\":{\"producer\":%" PRId32
			 ",\"min_consumer\":%" PRId32 ",\"bad_consumers\":[",
		      b->hdr.producer, b->hdr.min_consumer);
		for (i = 0; i < b->hdr.nbad_consumers; i++)
			o_fmt(o, i > 0 ? ",%" PRId32 : "%" PRId32,
			      b->hdr.bad_consumers[i]);
		o_fmt(o, "]},\"tensors\":%zu,\"entries\":%zu,\"unusable\":%zu"
			 ",\"tf2\":%s,\"shards\":[",
		      b->nvisible, b->n, b->nbad, b->tf2 ? "true" : "false");
		missing = header_shards(b, true, o);
		o_str(o, "]}\n");
		goto flush;
	}
	o_str(o, "prefix:       ");
	esc_text(o, b->prefix, strlen(b->prefix), ESC_PLAIN);
	o_str(o, "\nindex:        ");
	esc_text(o, b->index_path, strlen(b->index_path), ESC_PLAIN);
	o_fmt(o, " (%" PRIu64 " bytes)\n", b->index_size);
	o_fmt(o, "index blocks: %zu data block%s, %s", nblocks,
	      nblocks == 1 ? "" : "s", nsnappy == 0 ? "raw" : "snappy");
	if (nsnappy != 0 && nsnappy != nblocks)
		o_fmt(o, " (%zu of %zu)", nsnappy, nblocks);
	o_fmt(o, "\nnum_shards:   %" PRId32 "\nendianness:   %s\n",
	      b->hdr.num_shards, endian);
	o_fmt(o, "version:      producer %" PRId32 ", min_consumer %" PRId32,
	      b->hdr.producer, b->hdr.min_consumer);
	for (i = 0; i < b->hdr.nbad_consumers; i++)
		o_fmt(o, "%s%" PRId32, i > 0 ? "," : ", bad_consumers ",
		      b->hdr.bad_consumers[i]);
	o_fmt(o, "\ntensors:      %zu", b->nvisible);
	if (b->n != b->nvisible)
		o_fmt(o, " (%zu index entries with the slice parts)", b->n);
	if (b->nbad > 0)
		o_fmt(o, ", %zu of them unusable (ckpt-inspect --verify names "
			 "them)",
		      b->nbad);
	o_byte(o, '\n');
	o_fmt(o, "kind:         %s\n",
	      b->tf2 ? "TF2 object-based (" CKPT_OBJGRAPH_KEY ")" :
		       "TF1 name-based");
	missing = header_shards(b, false, o);
flush:
	if (o_flush(o) < 0)
		ret = o->err;
	else if (b->nbad > 0 || missing > 0)
		ret = EX_BAD;
	return ret;
}

/* --- main ---------------------------------------------------------------- */

static const char usage_text[] =
	"usage: " PROG " [options] CHECKPOINT [KEY...]\n";

/* Print --help. */
static void
help(void)
{
	fputs(usage_text, stdout);
	fputs("List, print and verify the tensors of a TensorFlow checkpoint.\n"
	      "CHECKPOINT is a prefix, its .index or a data file, or a\n"
	      "directory with a 'checkpoint' file.  KEYs (keys, TF2 full\n"
	      "names, shell patterns, or paths as a ckptfs mount shows\n"
	      "them) restrict the output to those tensors.\n"
	      "\n"
	      "  -v, --values[=KEY]  print values (of KEY, or of every tensor)\n"
	      "  -a, --all, --full   print every element and whole strings (values)\n"
	      "  -j, --json          one JSON object per line\n"
	      "  -c, --verify        check every checksum; exit 1 if damaged\n"
	      "  -g, --graph         print the TF2 object graph\n"
	      "  -H, --header        print the bundle header and index facts\n"
	      "  -r, --raw           write one tensor's bytes to standard output\n"
	      "      --force         with --raw, write them even if damaged\n"
	      "      --salvage       read what can be read of a damaged index\n"
	      "  -h, --help          show this help\n"
	      "      --version       show the version\n"
	      "\n"
	      "Exit status: 0 ok, 1 bad or damaged input, 2 usage error.\n",
	      stdout);
}

/* Record a mode; two different ones are a usage error. */
static int
set_mode(struct opts *opts, enum mode m)
{
	if (opts->mode != MODE_LIST && opts->mode != m) {
		fputs(PROG ": --values, --verify, --graph, --header and "
		      "--raw exclude each other\n",
		      stderr);
		return -1;
	}
	opts->mode = m;
	return 0;
}

/* Parse the command line into OPTS; return 0, 3 for --help/--version
 * (already printed) or EX_USAGE. */
static int
parse_args(int argc, char **argv, struct opts *opts)
{
	static const struct option longopts[] = {
		{ "values", optional_argument, NULL, 'v' },
		{ "all", no_argument, NULL, 'a' },
		{ "full", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "verify", no_argument, NULL, 'c' },
		{ "graph", no_argument, NULL, 'g' },
		{ "header", no_argument, NULL, 'H' },
		{ "raw", no_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'F' },
		{ "salvage", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opts->keys = calloc((size_t)argc + 1, sizeof(*opts->keys));
	if (opts->keys == NULL) {
		fail("%s", strerror(ENOMEM));
		return EX_USAGE;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":v::ajcgHrh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'v':
			if (set_mode(opts, MODE_VALUES) < 0)
				goto usage;
			if (optarg != NULL)
				opts->keys[opts->nkeys++] = optarg;
			break;
		case 'a':
			opts->all = true;
			break;
		case 'j':
			opts->json = true;
			break;
		case 'c':
			if (set_mode(opts, MODE_VERIFY) < 0)
				goto usage;
			break;
		case 'g':
			if (set_mode(opts, MODE_GRAPH) < 0)
				goto usage;
			break;
		case 'H':
			if (set_mode(opts, MODE_HEADER) < 0)
				goto usage;
			break;
		case 'r':
			if (set_mode(opts, MODE_RAW) < 0)
				goto usage;
			break;
		case 'F':
			opts->force = true;
			break;
		case 'S':
			opts->salvage = true;
			break;
		case 'h':
			help();
			return 3;
		case 'V':
			printf("%s %s\n", PROG, PACKAGE_VERSION);
			return 3;
		case ':':
			fprintf(stderr, PROG ": option requires an argument\n");
			goto usage;
		default:
			if (optopt != 0)
				fprintf(stderr, PROG ": unknown option -%c\n",
					optopt);
			else
				fprintf(stderr, PROG ": unknown option %s\n",
					argv[optind - 1]);
			goto usage;
		}
	}
	if (optind >= argc) {
		fputs(PROG ": no checkpoint given\n", stderr);
		goto usage;
	}
	opts->path = argv[optind++];
	while (optind < argc)
		opts->keys[opts->nkeys++] = argv[optind++];
	if (opts->force && opts->mode != MODE_RAW) {
		fputs(PROG ": --force goes with --raw\n", stderr);
		goto usage;
	}
	if (opts->mode == MODE_RAW && (opts->all || opts->json)) {
		fputs(PROG ": --raw takes no --all or --json\n", stderr);
		goto usage;
	}
	if (opts->all && opts->mode != MODE_LIST &&
	    opts->mode != MODE_VALUES) {
		fputs(PROG ": --all goes with --values (or alone)\n", stderr);
		goto usage;
	}
	if (opts->mode == MODE_RAW && opts->nkeys == 0) {
		fputs(PROG ": --raw needs the KEY of the tensor\n", stderr);
		goto usage;
	}
	if (opts->mode == MODE_RAW && isatty(STDOUT_FILENO)) {
		fputs(PROG ": --raw writes bytes: redirect standard output to "
		      "a file or a pipe\n",
		      stderr);
		goto usage;
	}
	/* -a alone prints values, as TensorFlow's --all_tensors does. */
	if (opts->all && opts->mode == MODE_LIST)
		opts->mode = MODE_VALUES;
	if (opts->nkeys > 0 &&
	    (opts->mode == MODE_GRAPH || opts->mode == MODE_HEADER)) {
		fputs(PROG ": --graph and --header take no KEY\n", stderr);
		goto usage;
	}
	return 0;
usage:
	fputs(usage_text, stderr);
	fputs("Try '" PROG " --help' for more information.\n", stderr);
	return EX_USAGE;
}

int
main(int argc, char **argv)
{
	struct opts opts = { 0 };
	struct ckpt_bundle *b = NULL;
	struct ckpt_err err = { 0 };
	struct out o = { 0 };
	bool *sel = NULL;
	size_t nbad = 0;
	int rc, ret;

	ret = parse_args(argc, argv, &opts);
	if (ret == 3 && fflush(stdout) != 0)	/* --help, --version */
		ret = fail("standard output: %s", strerror(errno));
	if (ret != 0) {
		ret = ret == 3 ? 0 : ret;
		goto out;
	}
	ckpt_raise_nofile();
	rc = ckpt_bundle_open_flags(opts.path,
				    opts.salvage ? CKPT_OPEN_SALVAGE : 0, &b,
				    &err);
	if (rc < 0) {
		ret = fail_lib(NULL, ckpt_err_str(&err, rc));
		goto out;
	}
	if (b->warning != NULL)
		(void)fail_lib("warning: ", b->warning);
	sel = calloc(b->n + 1, sizeof(*sel));
	if (sel == NULL) {
		ret = fail("%s", strerror(ENOMEM));
		goto out;
	}
	ret = select_entries(b, &opts, sel);
	if (ret != 0)
		goto out;
	switch (opts.mode) {
	case MODE_LIST:
		/* Entries that cannot be used have nothing to list (the
		 * warning above named the first): the others are listed,
		 * and the exit status says the list is not whole. */
		for (size_t i = 0; i < b->n; i++) {
			const struct ckpt_entry *e = &b->entries[i];

			if (sel[i] && ckpt_entry_is_bad(e)) {
				const char *why = ckpt_bundle_entry_bad(b, e);

				sel[i] = false;
				/* one asked for by name is named */
				if (opts.nkeys > 0)
					(void)fail_lib(NULL, why);
				nbad++;
			}
		}
		ret = opts.json ? list_json(b, sel, &o) : list_text(b, sel, &o);
		if (ret == 0 && nbad > 0)
			ret = EX_BAD;
		break;
	case MODE_VALUES:
		ret = print_values(b, sel, &opts, &o);
		break;
	case MODE_VERIFY:
		ret = verify(b, sel, &opts, &o);
		break;
	case MODE_GRAPH:
		ret = graph(b, &opts, &o);
		break;
	case MODE_HEADER:
		ret = header(b, &opts, &o);
		break;
	case MODE_RAW:
		ret = write_raw(b, sel, &opts);
		break;
	}
	if (ret < 0)	/* an output failure */
		ret = fail("standard output: %s", strerror(-ret));
	if (ret == 0 && fflush(stdout) != 0)
		ret = fail("standard output: %s", strerror(errno));
out:
	ckpt_buf_free(&o.b);
	free(sel);
	ckpt_bundle_close(b);
	free(opts.keys);
	return ret;
}
