/* tree.c -- the filesystem model: inode table, directories with hashed
 * name lookup, the /by-name and /by-object views and their naming rules.
 *
 * Building runs in two phases.  First every name is inserted as raw
 * components into per-directory "pending" tables (a component may be both
 * a file and a directory there).  Then each directory is finalized: raw
 * components are escaped into displayed names, a directory that shares
 * its name with a file gets the '@' suffix, and the displayed names are
 * hashed for lookup.  Every node remembers where it is in each view
 * (struct ckptfs_loc), so names can be moved later (overlay.c); those
 * changes and every lookup are serialised by the caller's namespace lock.
 * No libfuse types here. */
#include "config.h"
#include "tree.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "convert.h"
#include "crc32c.h"
#include "overlay.h"
#include "table.h"
#include "tensor.h"

#define DEFAULT_TF2_ROOT "vars"
#define VARIABLE_SUFFIX "/.ATTRIBUTES/VARIABLE_VALUE"
#define CRC_VALID ((uint_fast64_t)1 << 32)
#define CRC_CHUNK (1u << 20)

/* A raw component under construction: a file, a directory, or both. */
struct pend {
	const uint8_t *raw;	/* borrowed: key bytes or the build arena */
	size_t len;
	uint64_t hash;
	struct ckptfs_node *file;
	struct ckptfs_node *sub;
};

struct ckptfs_build_dir {
	struct pend *v;		/* owned */
	size_t n, cap;
	uint32_t *slots;	/* owned; v index + 1 */
	size_t nslots;
};

/* A string -> size_t map with borrowed keys (open addressing). */
struct smap_slot {
	const uint8_t *key;	/* NULL: a free slot */
	uint32_t len;
	uint32_t hash;		/* low bits of the FNV-1a hash */
	size_t val;
};

struct smap {
	struct smap_slot *s;	/* owned */
	size_t n, cap;		/* cap: power of two */
};

/* Strings that must live until /by-name is built, carved from chunks (the
 * last one is being filled) instead of one allocation each. */
struct arena {
	char **v;		/* owned, each owned */
	size_t n, cap;
	size_t used;		/* bytes taken in v[n - 1] */
};

#define ARENA_CHUNK 65536

struct build {
	struct ckptfs_tree *t;
	/* The serialized object graph; NULL: none, or freed. */
	const uint8_t *graph;
	size_t graph_len;
	void **graph_buf;	/* the build's to free, or NULL */
	struct arena arena;
	struct ckptfs_node **entry_node;	/* owned; per entry, or NULL */
	bool *seen;		/* owned while /by-name is built: per entry */
	/* The source's keys are strictly increasing (a bundle's are): they
	 * are binary-searched and their names streamed (stream_names()). */
	bool sorted;
	struct smap keys;	/* !SORTED: entry key -> index */
	/* uniquify: names taken -> the next suffix to try for them */
	struct smap used;
	/* uniquify: every name the source gives a tensor, made once a name
	 * comes twice (RESERVED_MADE): a suffixed name is none of them, so
	 * a tensor whose name is unique keeps it ("Variable", "Variable",
	 * "Variable_1": the second is Variable_2, not the third's). */
	struct smap reserved;
	bool reserved_made;
	/* The graph's attributes whose keys name no tensor, left by
	 * build_by_name()'s walk to name_parts() (owned array; their
	 * strings in ARENA). */
	struct ckpt_objattr *unheld;
	size_t nunheld, capunheld;
	/* reserve_names()'s: such attributes with a full name, and the
	 * entries attributes name by their keys (RSEEN, per entry) */
	struct ckpt_objattr *runheld;
	size_t nrunheld, caprunheld;
	bool *rseen;
	/* !SORTED: the entries in key order, for the searches by key
	 * prefix (ckpt_saveables_init()); owned */
	size_t *ord;
	/* part_name()'s scratch for name_parts(), and for
	 * reserve_names(), which may run while a name made in the first
	 * is being added (its first collision) */
	struct ckpt_buf partnm, rpartnm;
	struct ckpt_err *err;
	/* While names are added in key order (STREAM), the directories of
	 * the last name added, outermost first, each with the length of
	 * the name's prefix it holds ("a/b/"): a directory is finished as
	 * soon as a name outside that prefix comes (add_path()), so that
	 * pending names do not pile up for the whole view. */
	bool stream;
	struct open_dir {
		struct ckptfs_node *d;
		size_t plen;
	} *open;		/* owned */
	size_t nopen, capopen;
	const uint8_t *last;	/* borrowed: the last name added */
	size_t lastlen;
};

/* Smallest power of two >= 2 * N + 2, at least 8. */
static size_t
table_size(size_t n)
{
	size_t c = 8;

	while (c < 2 * n + 2)
		c <<= 1;
	return c;
}

/* --- smap -------------------------------------------------------------- */

/* Find KEY in M; return its slot (used or the free one to fill). */
static struct smap_slot *
smap_slot(const struct smap *m, const void *key, size_t len, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	for (;;) {
		struct smap_slot *s = &m->s[i];

		if (s->key == NULL ||
		    (s->hash == (uint32_t)h && s->len == len &&
		     memcmp(s->key, key, len) == 0))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

/* Grow M so one more key fits.  Return 0 or -ENOMEM. */
static int
smap_reserve(struct smap *m)
{
	struct smap old = *m;
	size_t i;

	if (m->cap != 0 && 2 * (m->n + 1) <= m->cap)
		return 0;
	m->cap = table_size(m->n + 1);
	if (m->cap > UINT32_MAX) {	/* slots keep 32 bits of hash */
		*m = old;
		return -ENOMEM;
	}
	m->s = calloc(m->cap, sizeof(*m->s));
	if (m->s == NULL) {
		*m = old;
		return -ENOMEM;
	}
	for (i = 0; i < old.cap; i++)
		if (old.s[i].key != NULL)
			*smap_slot(m, old.s[i].key, old.s[i].len,
				   old.s[i].hash) = old.s[i];
	free(old.s);
	return 0;
}

/* Look KEY up; return true and *VAL if present. */
static bool
smap_get(const struct smap *m, const void *key, size_t len, size_t *val)
{
	struct smap_slot *s;

	if (m->cap == 0)
		return false;
	s = smap_slot(m, key, len, ckpt_hash(key, len));
	if (s->key == NULL)
		return false;
	*val = s->val;
	return true;
}

/* Set KEY (borrowed, must outlive M) to VAL.  Return 0 or -ENOMEM. */
static int
smap_put(struct smap *m, const void *key, size_t len, size_t val)
{
	uint64_t h = ckpt_hash(key, len);
	struct smap_slot *s;

	if (len > UINT32_MAX || smap_reserve(m) < 0)
		return -ENOMEM;
	s = smap_slot(m, key, len, h);
	if (s->key == NULL) {
		s->key = key != NULL ? key : (const void *)"";
		s->len = (uint32_t)len;
		s->hash = (uint32_t)h;
		m->n++;
	}
	s->val = val;
	return 0;
}

static void
smap_free(struct smap *m)
{
	free(m->s);
	m->s = NULL;
	m->n = m->cap = 0;
}

/* Room for one more block pointer in *V (N used of *CAP): the arena's
 * and the slabs'.  Return 0 or -ENOMEM. */
static int
blocks_reserve(char ***v, size_t n, size_t *cap)
{
	size_t c = *cap ? 2 * *cap : 16;
	char **nv;

	if (n < *cap)
		return 0;
	if ((nv = reallocarray(*v, c, sizeof(*nv))) == NULL)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

/* Copy LEN bytes into the arena (NUL-terminated); NULL on -ENOMEM.  A
 * string of a quarter chunk or more gets a block of its own, put before
 * the chunk being filled (which stays last). */
static char *
arena_dup(struct arena *a, const void *p, size_t len)
{
	bool own = len >= ARENA_CHUNK / 4;
	char *s;

	if (!own && a->n > 0 && a->used + len + 1 <= ARENA_CHUNK) {
		s = a->v[a->n - 1] + a->used;
		a->used += len + 1;
	} else {
		if (blocks_reserve(&a->v, a->n, &a->cap) < 0)
			return NULL;
		s = malloc(own ? len + 1 : ARENA_CHUNK);
		if (s == NULL)
			return NULL;
		if (!own) {
			a->v[a->n++] = s;
			a->used = len + 1;
		} else if (a->n > 0) {
			a->v[a->n] = a->v[a->n - 1];
			a->v[a->n - 1] = s;
			a->n++;
		} else {	/* no chunk yet: the next string starts one */
			a->v[a->n++] = s;
			a->used = ARENA_CHUNK;
		}
	}
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static void
arena_free(struct arena *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* --- naming ------------------------------------------------------------ */

/* True if byte C of a raw component must be written %XX. */
static bool
must_escape(uint8_t c)
{
	return c < 0x20 || c == 0x7f || c == '%' || c == '@';
}

/* Append "%XX" for C. */
static int
put_pct(struct ckpt_buf *out, uint8_t c)
{
	static const char hex[] = "0123456789ABCDEF";
	char s[3] = { '%', hex[c >> 4], hex[c & 15] };

	return ckpt_buf_put(out, s, 3);
}

/* Escape one raw component for display (rules in tree.h). */
int
ckptfs_name_escape(const void *raw, size_t len, bool dir_suffix,
		   struct ckpt_buf *out)
{
	const uint8_t *p = raw;
	size_t start = out->len, i;
	char tail[20];

	if (len == 0) {
		if (ckpt_buf_put(out, "%", 1) < 0)
			return -ENOMEM;
	} else if ((len == 1 && p[0] == '.') ||
		   (len == 2 && p[0] == '.' && p[1] == '.')) {
		if (ckpt_buf_put(out, "%2E%2E", 3 * len) < 0)
			return -ENOMEM;
	} else {
		if (ckpt_buf_reserve(out, len) < 0)
			return -ENOMEM;
		for (i = 0; i < len; i++) {
			int rc = must_escape(p[i]) ? put_pct(out, p[i])
						   : ckpt_buf_put(out, &p[i], 1);

			if (rc < 0)
				return -ENOMEM;
		}
	}
	if (out->len - start + (dir_suffix ? 1 : 0) > CKPTFS_NAME_MAX) {
		out->len = start + CKPTFS_NAME_KEEP;
		snprintf(tail, sizeof(tail), "%%#%016" PRIx64,
			 ckpt_fnv1a64(raw, len));
		if (ckpt_buf_put(out, tail, 18) < 0)
			return -ENOMEM;
	}
	if (dir_suffix && ckpt_buf_put(out, "@", 1) < 0)
		return -ENOMEM;
	return 0;
}

/* Value of hex digit C (uppercase only, as we write them), or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undo ckptfs_name_escape(). */
int
ckptfs_name_unescape(const char *name, size_t len, struct ckpt_buf *out,
		     bool *dir_suffix)
{
	size_t i;

	*dir_suffix = len > 0 && name[len - 1] == '@';
	if (*dir_suffix)
		len--;
	if (len == 0)
		return -EINVAL;
	if (len == 1 && name[0] == '%')
		return 0;	/* the empty component */
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	if (memmem(name, len, "%#", 2) != NULL)
		return -ENAMETOOLONG;
	for (i = 0; i < len; i++) {
		uint8_t c = (uint8_t)name[i];
		int hi, lo;

		if (c == '@' || c == '/')
			return -EINVAL;
		if (c != '%') {
			if (ckpt_buf_put(out, &c, 1) < 0)
				return -ENOMEM;
			continue;
		}
		if (len - i < 3 || (hi = hexval(name[i + 1])) < 0 ||
		    (lo = hexval(name[i + 2])) < 0)
			return -EINVAL;
		c = (uint8_t)(hi << 4 | lo);
		if (ckpt_buf_put(out, &c, 1) < 0)
			return -ENOMEM;
		i += 2;
	}
	return 0;
}

/* --- nodes and directories --------------------------------------------- */

/* Bytes per slab. */
#define CKPTFS_SLAB (64 * 1024)

/* A mount of 100,000 TF1 tensors has about 275,000 directories and
 * 100,000 files: the node sizes are most of its memory. */
_Static_assert(offsetof(struct ckptfs_node, dir) + sizeof(struct ckptfs_dir) <=
		       56,
	       "a directory node grew past 56 bytes");
_Static_assert(sizeof(struct ckptfs_node) <= 136,
	       "a file node grew past 136 bytes");

/* Bytes a node of KIND takes: a directory ends after its own part. */
static size_t
node_size(enum ckptfs_kind kind)
{
	size_t align = _Alignof(struct ckptfs_node);
	size_t n = kind == CKPTFS_DIR ? offsetof(struct ckptfs_node, dir) +
						sizeof(struct ckptfs_dir)
				      : sizeof(struct ckptfs_node);

	return (n + align - 1) / align * align;
}

/* SIZE zeroed bytes from T's slabs, NULL on -ENOMEM: nodes (NODE, SIZE a
 * multiple of their alignment) are carved from the end of a slab down,
 * names from its start up, so that neither pads the other.  Built with
 * AddressSanitizer, every piece is an allocation of its own and of its
 * exact size, so that a file's field read on a directory (or a byte past
 * a name) is reported instead of reading its neighbour. */
static void *
slab_take(struct ckptfs_tree *t, size_t size, bool node)
{
	char *s;

#ifdef __SANITIZE_ADDRESS__
	t->slab_lo = t->slab_hi = 0;
#endif
	if (t->slab_hi - t->slab_lo < size) {
		size_t want = size;

#ifndef __SANITIZE_ADDRESS__
		if (want < CKPTFS_SLAB)
			want = CKPTFS_SLAB;
#endif
		if (blocks_reserve(&t->slabs, t->nslabs, &t->capslabs) < 0)
			return NULL;
		if ((s = calloc(1, want)) == NULL)
			return NULL;
		t->slabs[t->nslabs++] = s;
		t->slab_lo = 0;
		t->slab_hi = want;
	}
	s = t->slabs[t->nslabs - 1];
	if (node) {
		t->slab_hi -= size;
		return s + t->slab_hi;
	}
	t->slab_lo += size;
	return s + t->slab_lo - size;
}

/* Zeroed memory for one node of KIND. */
static struct ckptfs_node *
node_alloc(struct ckptfs_tree *t, enum ckptfs_kind kind)
{
	return slab_take(t, node_size(kind), true);
}

/* Make room in T's inode table for twice as many nodes.  While the tree
 * is being built no other thread sees it and the table is reallocated;
 * once built it is replaced by a filled copy and the old one is kept (a
 * lookup may be reading it). */
static int
table_grow(struct ckptfs_tree *t)
{
	size_t cap = t->capinodes ? 2 * t->capinodes : 256;
	struct ckptfs_node **old = atomic_load(&t->inodes), **v, ***r;

	if (!t->built) {
		v = reallocarray(old, cap, sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		atomic_store(&t->inodes, v);
		t->capinodes = cap;
		return 0;
	}
	r = reallocarray(t->retired, t->nretired + 1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	t->retired = r;
	v = calloc(cap, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	memcpy(v, old, t->ninodes * sizeof(*v));
	t->retired[t->nretired++] = old;
	atomic_store(&t->inodes, v);
	t->capinodes = cap;
	return 0;
}

/* Allocate a node of KIND and give it the next inode number. */
static struct ckptfs_node *
node_new(struct ckptfs_tree *t, enum ckptfs_kind kind)
{
	struct ckptfs_node *n = node_alloc(t, kind);

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->ino = t->ninodes + 1;
	n->view = -1;
	if (kind == CKPTFS_DIR) {
		n->nlink = 2;
	} else {
		atomic_init(&n->verified, 0);
		atomic_init(&n->crc, 0);
		atomic_init(&n->spool_fd, -1);
		atomic_init(&n->nopen, 0);
		atomic_init(&n->written, false);
		atomic_init(&n->shares, false);
		n->dtype = -1;
		n->rank = -1;
	}
	if (t->ninodes == t->capinodes && table_grow(t) < 0)
		return NULL;	/* N stays in its slab, unused */
	atomic_load(&t->inodes)[t->ninodes] = n;
	atomic_fetch_add(&t->ninodes, 1);
	return n;
}

/* A new node: the overlay's, and directories the build links at once. */
struct ckptfs_node *
ckptfs_node_new(struct ckptfs_tree *t, enum ckptfs_kind kind,
		struct ckptfs_node *parent)
{
	struct ckptfs_node *n = node_new(t, kind);

	if (n != NULL && kind == CKPTFS_DIR)
		n->view = parent->view;
	return n;
}

/* A new directory under PARENT (NULL: the root, its own parent). */
static struct ckptfs_node *
dir_new(struct ckptfs_tree *t, struct ckptfs_node *parent)
{
	struct ckptfs_node *d = node_new(t, CKPTFS_DIR);

	if (d == NULL)
		return NULL;
	d->view = parent != NULL ? parent->view : -1;
	/* The node is in the table: freed with it on errors. */
	if ((d->dir.tab = calloc(1, sizeof(*d->dir.tab))) == NULL)
		return NULL;
	d->big = true;
	if ((d->dir.tab->build = calloc(1, sizeof(*d->dir.tab->build))) ==
	    NULL)
		return NULL;
	d->building = true;
	return d;
}

/* Put the finalized, empty directory D back into building state (a lazy
 * view's root).  Return 0 or -ENOMEM. */
static int
dir_reopen(struct ckptfs_node *d)
{
	if (!d->big) {
		if ((d->dir.tab = calloc(1, sizeof(*d->dir.tab))) == NULL)
			return -ENOMEM;
		d->big = true;
	}
	if ((d->dir.tab->build = calloc(1, sizeof(*d->dir.tab->build))) ==
	    NULL)
		return -ENOMEM;
	d->building = true;
	return 0;
}

/* Directories of up to SMALL_DIR entries (holes included) are searched
 * in order, without a hash: most hold one or two names. */
#define SMALL_DIR 8

/* Most entries a directory may hold, so that its counts and hash slots
 * stay 32-bit (struct ckptfs_dir). */
#define DIR_MAX (UINT32_MAX / 4)

/* Whether entry E of directory DIR is NAME. */
static bool
ent_is(const struct ckptfs_node *dir, const struct ckptfs_dirent *e,
       const char *name, size_t len)
{
	const struct ckptfs_loc *l;

	if (e->node == NULL)
		return false;
	l = CKPTFS_ENT_LOC(dir, e->node);
	return l->len == len && memcmp(l->name, name, len) == 0;
}

/* Slot index of NAME in DIR's hash (the slot holding it, or a free one). */
static size_t
dir_slot(const struct ckptfs_node *dir, const char *name, size_t len)
{
	const struct ckptfs_dirtab *d = dir->dir.tab;
	size_t i = (size_t)ckpt_hash(name, len) & (d->nslots - 1);

	for (;;) {
		uint32_t s = d->slots[i];

		if (s == 0 || ent_is(dir, &d->ents[s - 1], name, len))
			return i;
		i = (i + 1) & (d->nslots - 1);
	}
}

/* DIR's hash slots (0: none, the names are searched in order). */
static size_t
dir_nslots(const struct ckptfs_node *dir)
{
	return dir->big ? dir->dir.tab->nslots : 0;
}

/* The entry index + 1 of NAME in DIR, or 0.  With a hash, *SLOT is the
 * slot holding NAME or the free one where it would go. */
static size_t
dir_find(const struct ckptfs_node *dir, const char *name, size_t len,
	 size_t *slot)
{
	const struct ckptfs_dirent *ents = CKPTFS_DIR_ENTS(dir);
	size_t i;

	*slot = 0;
	if (dir_nslots(dir) == 0) {
		for (i = 0; i < dir->dir.n; i++)
			if (ent_is(dir, &ents[i], name, len))
				return i + 1;
		return 0;
	}
	*slot = dir_slot(dir, name, len);
	return dir->dir.tab->slots[*slot];
}

/* Rebuild DIR's hash with room for at least N entries (DIR is BIG). */
static int
dir_rehash(struct ckptfs_node *dir, size_t n)
{
	struct ckptfs_dirtab *d = dir->dir.tab;
	size_t cap = table_size(n), i;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -ENOMEM;
	free(d->slots);
	d->slots = slots;
	d->nslots = cap;
	for (i = 0; i < dir->dir.n; i++) {
		const struct ckptfs_loc *l;

		if (d->ents[i].node == NULL)	/* holes are not hashed */
			continue;
		l = CKPTFS_ENT_LOC(dir, d->ents[i].node);
		d->slots[dir_slot(dir, l->name, l->len)] = (uint32_t)(i + 1);
	}
	return 0;
}

/* Where loc_set() keeps a name. */
enum name_home {
	NAME_OWN,	/* malloc()ed: the name may change (the overlay) */
	NAME_STATIC,	/* static text, used as it is (and as the raw
			 * component) */
	NAME_SLAB,	/* copied into the tree's slabs (the build) */
};

static int loc_set(struct ckptfs_tree *t, struct ckptfs_node *n, int view,
		   struct ckptfs_node *dir, const char *name, size_t len,
		   const void *raw, size_t rawlen, enum name_home home);

/* Room for entries in DIR: 1 in the node itself, else in its table. */
static size_t
dir_room(const struct ckptfs_node *dir)
{
	return dir->big ? dir->dir.tab->cap : 1;
}

/* Room for WANT entries in DIR (WANT > its room).  The table moves: no
 * pointer into it is kept. */
static int
ents_reserve(struct ckptfs_node *dir, size_t want)
{
	struct ckptfs_dirtab *v;

	if (want > (SIZE_MAX - sizeof(*v)) / sizeof(v->ents[0]))
		return -ENOMEM;
	if (!dir->big) {
		if ((v = calloc(1, sizeof(*v) + want * sizeof(v->ents[0]))) ==
		    NULL)
			return -ENOMEM;
		if (dir->dir.n == 1)
			v->ents[0] = dir->dir.one;
		dir->dir.tab = v;
		dir->big = true;
	} else {
		v = realloc(dir->dir.tab, sizeof(*v) + want * sizeof(v->ents[0]));
		if (v == NULL)
			return -ENOMEM;
		dir->dir.tab = v;
	}
	v->cap = (uint32_t)want;
	return 0;
}

/* DIR back to a directory without a table, if its names fit in the node
 * and it has no hash (the build: most directories hold one name). */
static void
dir_shrink(struct ckptfs_node *dir)
{
	struct ckptfs_dirtab *v = dir->dir.tab;

	if (!dir->big || dir->building || dir->dir.n > 1 || v->slots != NULL)
		return;
	dir->dir.one = dir->dir.n == 1 ? v->ents[0]
				       : (struct ckptfs_dirent){ NULL };
	dir->big = false;
	free(v->gone);
	free(v);
}

/* Hash of NAME[0..LEN) kept by struct ckptfs_dirgone. */
static uint32_t
gone_hash(const char *name, size_t len)
{
	return (uint32_t)ckpt_hash(name, len);
}

/* Entries dir_hole() looks through for a hole a new name may take. */
#define HOLE_LOOK 64

/* Whether entry I is one a name was removed from last (G's ring). */
static bool
gone_recently(const struct ckptfs_dirgone *g, size_t i)
{
	for (size_t j = 0; j < CKPTFS_GONE; j++)
		if (g->ent[j] == i + 1)
			return true;
	return false;
}

/* Where in DIR, which has holes, NAME is to go: the entry it was removed
 * from, if it is one of the names removed last, else a hole near the
 * first that no such name left, else the end (also if that is not known:
 * no memory for it). */
static size_t
dir_hole(struct ckptfs_node *dir, const char *name, size_t len)
{
	struct ckptfs_dirgone *g;
	uint32_t h;
	size_t i;

	if (!dir->big)
		return 0;	/* (its one name) */
	if ((g = dir->dir.tab->gone) == NULL)
		return dir->dir.n;
	h = gone_hash(name, len);
	for (i = 0; i < CKPTFS_GONE; i++)
		if (g->ent[i] != 0 && g->hash[i] == h &&
		    dir->dir.tab->ents[g->ent[i] - 1].node == NULL)
			return g->ent[i] - 1;
	for (i = g->hole;
	     i < dir->dir.n && dir->dir.tab->ents[i].node != NULL; i++)
		;
	g->hole = (uint32_t)i;
	/* Not the place of a name just removed, which may come back (mv f
	 * f~ and a new f: f~ there would list f twice); looked for a little
	 * way only. */
	for (size_t end = i + HOLE_LOOK; i < dir->dir.n && i < end; i++)
		if (dir->dir.tab->ents[i].node == NULL && !gone_recently(g, i))
			return i;
	return dir->dir.n;
}

/* Note in DIR (BIG) that NAME left entry K - 1 (see ckptfs_dirgone). */
static void
dir_gone(struct ckptfs_node *dir, const char *name, size_t len, size_t k)
{
	struct ckptfs_dirtab *d = dir->dir.tab;
	struct ckptfs_dirgone *g = d->gone;

	if (g == NULL) {
		if ((g = calloc(1, sizeof(*g))) == NULL)
			return;	/* (new names go at the end, as before) */
		g->hole = (uint32_t)(k - 1);
		d->gone = g;
	}
	g->ent[g->next] = (uint32_t)k;
	g->hash[g->next] = gone_hash(name, len);
	g->next = (g->next + 1) % CKPTFS_GONE;
	if (g->hole > k - 1)
		g->hole = (uint32_t)(k - 1);
}

/* ckptfs_dir_link(), the name kept as HOME says (T: the tree, for
 * NAME_SLAB). */
static int
dir_link_loc(struct ckptfs_tree *t, struct ckptfs_node *dir,
	     struct ckptfs_node *node, const char *name, size_t len,
	     const void *raw, size_t rawlen, enum name_home home)
{
	struct ckptfs_dir *d = &dir->dir;
	size_t slot, room = dir_room(dir), nslots, at;
	int rc;

	if (len > CKPTFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (d->n >= DIR_MAX)
		return -ENOMEM;
	/* A directory past SMALL_DIR names has its table already. */
	nslots = dir_nslots(dir);
	if ((nslots != 0 ? 2 * (d->n + 1) >= nslots : d->n + 1 > SMALL_DIR) &&
	    dir_rehash(dir, d->n + 1) < 0)
		return -ENOMEM;
	if (dir_find(dir, name, len, &slot) != 0)
		return -EEXIST;
	at = d->nlive < d->n ? dir_hole(dir, name, len) : d->n;
	if (at == d->n && d->n == room &&
	    ents_reserve(dir, room == 1 ? 4 : 2 * room) < 0)
		return -ENOMEM;
	rc = loc_set(t, node,
		     dir->view == CKPTFS_BY_OBJECT ? CKPTFS_BY_OBJECT
						   : CKPTFS_BY_NAME,
		     dir, name, len, raw, rawlen, home);
	if (rc < 0)
		return rc;
	CKPTFS_DIR_ENTS(dir)[at].node = node;
	if (at == d->n)
		d->n++;
	if (dir_nslots(dir) != 0)
		d->tab->slots[slot] = (uint32_t)(at + 1);
	d->nlive++;
	if (node->kind == CKPTFS_DIR) {
		dir->nlink++;
	} else {
		node->nlink++;
	}
	return 0;
}

/* Link NODE into DIR under NAME. */
int
ckptfs_dir_link(struct ckptfs_node *dir, struct ckptfs_node *node,
		const char *name, size_t len, const void *raw, size_t rawlen)
{
	return dir_link_loc(NULL, dir, node, name, len, raw, rawlen,
			    NAME_OWN);
}

/* Home slot of the name in slot I of DIR. */
static size_t
slot_home(const struct ckptfs_node *dir, size_t i)
{
	const struct ckptfs_dirtab *d = dir->dir.tab;
	const struct ckptfs_loc *l =
		CKPTFS_ENT_LOC(dir, d->ents[d->slots[i] - 1].node);

	return (size_t)ckpt_hash(l->name, l->len) & (d->nslots - 1);
}

/* Remove a displayed name from DIR (backward-shift deletion in the hash,
 * a hole in the entry array). */
int
ckptfs_dir_remove(struct ckptfs_node *dir, const char *name, size_t len)
{
	struct ckptfs_dirtab *d;
	struct ckptfs_dirent *e;
	size_t i, j, k, mask;

	if (dir->kind != CKPTFS_DIR || (k = dir_find(dir, name, len, &i)) == 0)
		return -ENOENT;
	e = &CKPTFS_DIR_ENTS(dir)[k - 1];
	if (e->node->kind == CKPTFS_DIR) {
		dir->nlink--;
	} else {
		e->node->nlink--;
	}
	e->node = NULL;
	dir->dir.nlive--;
	if (dir->big)
		dir_gone(dir, name, len, k);
	if (dir_nslots(dir) == 0)
		return 0;
	d = dir->dir.tab;
	mask = d->nslots - 1;
	d->slots[i] = 0;
	for (j = (i + 1) & mask; d->slots[j] != 0; j = (j + 1) & mask) {
		k = slot_home(dir, j);

		/* Move J into the hole at I unless its home lies in (I, J]. */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		d->slots[i] = d->slots[j];
		d->slots[j] = 0;
		i = j;
	}
	return 0;
}

/* Set N's location in VIEW: one piece of memory holds both strings (kept
 * as HOME says), and RAW shares NAME's bytes when they are equal, as they
 * mostly are. */
static int
loc_set(struct ckptfs_tree *t, struct ckptfs_node *n, int view,
	struct ckptfs_node *dir, const char *name, size_t len, const void *raw,
	size_t rawlen, enum name_home home)
{
	struct ckptfs_loc *l = CKPTFS_LOC(n, view);
	bool same = len == rawlen && memcmp(name, raw, len) == 0;
	size_t size = len + 1 + (same ? 0 : rawlen + 1);
	char *nm;

	if (len > CKPTFS_NAME_MAX || rawlen > UINT32_MAX)
		return -ENAMETOOLONG;
	if (home == NAME_STATIC) {
		ckptfs_loc_clear(l);
		*l = (struct ckptfs_loc){ .dir = dir, .name = (char *)name,
					  .len = (uint16_t)len,
					  .rawlen = (uint32_t)len,
					  .fixed = true };
		return 0;
	}
	nm = home == NAME_SLAB ? slab_take(t, size, false) : malloc(size);
	if (nm == NULL)
		return -ENOMEM;
	memcpy(nm, name, len);
	nm[len] = '\0';
	if (!same) {
		if (rawlen > 0)	/* an empty one may have no buffer */
			memcpy(nm + len + 1, raw, rawlen);
		nm[len + 1 + rawlen] = '\0';
	}
	ckptfs_loc_clear(l);
	*l = (struct ckptfs_loc){ .dir = dir, .name = nm, .len = (uint16_t)len,
				  .rawlen = (uint32_t)rawlen, .apart = !same,
				  .fixed = home != NAME_OWN };
	return 0;
}

void
ckptfs_loc_clear(struct ckptfs_loc *l)
{
	if (!l->fixed)
		free(l->name);
	memset(l, 0, sizeof(*l));
}

/* The view root of VIEW. */
static const struct ckptfs_node *
view_root(const struct ckptfs_tree *t, int view)
{
	return view == CKPTFS_BY_NAME ? t->by_name : t->by_object;
}

/* N's ancestors' locations in VIEW, innermost first, in *V (malloc()ed,
 * NULL for none): their count, -ENOENT (N is not in VIEW) or -ENOMEM.
 * As deep as the tree is: a key may have any number of components. */
static int
loc_chain_alloc(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		int view, const struct ckptfs_loc ***v)
{
	const struct ckptfs_node *root = view_root(t, view);
	const struct ckptfs_loc *l;
	size_t depth = 0, nodes = atomic_load(&t->ninodes), k;

	*v = NULL;
	if (n == root)
		return 0;
	/* (a cycle would be a bug: no path is longer than the nodes) */
	for (l = CKPTFS_LOC(n, view); l->dir != NULL && l->dir != root;
	     l = &l->dir->loc)
		if (++depth > nodes || depth >= INT_MAX)
			return -ENOENT;
	if (l->dir != root)
		return -ENOENT;	/* removed, or not in VIEW */
	depth++;
	if ((*v = calloc(depth, sizeof(**v))) == NULL)
		return -ENOMEM;
	for (k = 0, l = CKPTFS_LOC(n, view); k < depth; k++, l = &l->dir->loc)
		(*v)[k] = l;
	return (int)depth;
}

/* Raw path in a view. */
int
ckptfs_node_rawpath(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		    int view, struct ckpt_buf *out)
{
	const struct ckptfs_loc **v;
	int k, rc = 0;

	k = loc_chain_alloc(t, n, view, &v);
	if (k < 0)
		rc = k;
	while (rc == 0 && k-- > 0) {
		rc = ckpt_buf_put(out, CKPTFS_LOC_RAW(v[k]), v[k]->rawlen);
		if (rc == 0 && k > 0)
			rc = ckpt_buf_put(out, "/", 1);
	}
	free(v);
	return rc;
}

/* Displayed path from the mount root. */
int
ckptfs_node_path(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		 int view, struct ckpt_buf *out)
{
	const struct ckptfs_loc **v;
	const char *top = view == CKPTFS_BY_NAME ? "by-name" : "by-object";
	int k, rc;

	k = loc_chain_alloc(t, n, view, &v);
	rc = k < 0 ? k : ckpt_buf_put(out, top, strlen(top));
	while (rc == 0 && k-- > 0) {
		rc = ckpt_buf_put(out, "/", 1);
		if (rc == 0)
			rc = ckpt_buf_put(out, v[k]->name, v[k]->len);
	}
	free(v);
	return rc;
}

/* Look a displayed name up in DIR. */
struct ckptfs_node *
ckptfs_dir_lookup(const struct ckptfs_node *dir, const char *name, size_t len)
{
	size_t k, slot;

	if (dir->kind != CKPTFS_DIR)
		return NULL;
	if (len == 1 && name[0] == '.')
		return (struct ckptfs_node *)dir;
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return (struct ckptfs_node *)CKPTFS_PARENT(dir);
	k = dir_find(dir, name, len, &slot);
	return k != 0 ? CKPTFS_DIR_ENTS(dir)[k - 1].node : NULL;
}

/* Whether displayed NAME (LEN bytes) is shortened ("...%#<hash>"). */
static bool
name_shortened(const char *name, size_t len)
{
	return len >= CKPTFS_NAME_KEEP + 18 && name[CKPTFS_NAME_KEEP] == '%' &&
	       name[CKPTFS_NAME_KEEP + 1] == '#';
}

/* Names tried after a shortened one whose hash another raw component has
 * ("~2" to "~N"). */
#define NAME_TRIES 64

/* Make DISP, which holds a displayed name of BASE bytes before its '@'
 * (DIR_SUFFIX), that name numbered K: "~K" after the hash (K 1: as it
 * is). */
static int
number_name(struct ckpt_buf *disp, size_t base, bool dir_suffix, unsigned k)
{
	char tail[8];
	int tl, rc;

	disp->len = base;
	if (k > 1) {
		tl = snprintf(tail, sizeof(tail), "~%u", k);
		if ((rc = ckpt_buf_put(disp, tail, (size_t)tl)) < 0)
			return rc;
	}
	return dir_suffix ? ckpt_buf_put(disp, "@", 1) : 0;
}

struct ckptfs_node *
ckptfs_dir_lookup_raw(const struct ckptfs_node *dir, const void *raw,
		      size_t len, bool dir_suffix, struct ckpt_buf *disp,
		      int *rc)
{
	unsigned free_k = 0;
	size_t base;

	disp->len = 0;
	if ((*rc = ckptfs_name_escape(raw, len, dir_suffix, disp)) < 0)
		return NULL;
	base = disp->len - dir_suffix;
	/* every number of a shortened name, as one of them may be free (its
	 * name renamed away) while RAW has a later one */
	for (unsigned k = 1; k <= NAME_TRIES; k++) {
		struct ckptfs_node *n;
		const struct ckptfs_loc *l;

		if ((*rc = number_name(disp, base, dir_suffix, k)) < 0)
			return NULL;
		n = ckptfs_dir_lookup(dir, (const char *)disp->data,
				      disp->len);
		if (!name_shortened((const char *)disp->data, disp->len))
			return n;
		if (n == NULL) {
			if (free_k == 0)
				free_k = k;
			continue;
		}
		l = CKPTFS_ENT_LOC(dir, n);
		if (l->rawlen == len &&
		    memcmp(CKPTFS_LOC_RAW(l), raw, len) == 0)
			return n;
	}
	/* not there: the first free name, if any (a checkpoint made to
	 * collide that often has none) */
	*rc = free_k == 0 ? -EEXIST
			  : number_name(disp, base, dir_suffix, free_k);
	return NULL;
}

/* Link NODE in D at the name ckptfs_dir_lookup_raw() gives raw component
 * RAW (DISP: scratch), kept in the tree's slabs.  -EEXIST: RAW is there
 * already, or NAME_TRIES names of its hash are. */
static int
link_raw(struct build *bd, struct ckptfs_node *d, struct ckptfs_node *node,
	 const void *raw, size_t len, bool dir_suffix, struct ckpt_buf *disp)
{
	int rc = 0;

	if (ckptfs_dir_lookup_raw(d, raw, len, dir_suffix, disp, &rc) !=
	    NULL)
		rc = -EEXIST;
	if (rc == 0)
		rc = dir_link_loc(bd->t, d, node, (const char *)disp->data,
				  disp->len, raw, len, NAME_SLAB);
	if (rc == -EEXIST)
		return ckpt_fail(bd->err, rc, "%.*s: two names display alike",
				 (int)disp->len, (const char *)disp->data);
	if (rc < 0)
		return ckpt_fail(bd->err, rc, "out of memory");
	return 0;
}

/* Append a pending slot for RAW (hash H) to B; NULL on -ENOMEM. */
static struct pend *
pend_append(struct ckptfs_build_dir *b, const uint8_t *raw, size_t len,
	    uint64_t h)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 1;
		struct pend *v = reallocarray(b->v, cap, sizeof(*v));

		if (v == NULL)
			return NULL;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n] = (struct pend){ .raw = raw, .len = len, .hash = h };
	return &b->v[b->n++];
}

/* Find or create the pending slot for RAW in directory D. */
static struct pend *
pend_get(struct ckptfs_node *d, const uint8_t *raw, size_t len)
{
	struct ckptfs_build_dir *b = d->dir.tab->build;
	struct pend *p;
	uint64_t h = ckpt_hash(raw, len);
	size_t i;

	if (b->nslots == 0 && b->n < SMALL_DIR) {
		for (i = 0; i < b->n; i++)
			if (b->v[i].hash == h && b->v[i].len == len &&
			    memcmp(b->v[i].raw, raw, len) == 0)
				return &b->v[i];
		return pend_append(b, raw, len, h);
	}
	if (2 * (b->n + 1) >= b->nslots) {
		size_t cap = table_size(b->n + 1), k;
		uint32_t *slots = calloc(cap, sizeof(*slots));

		if (slots == NULL)
			return NULL;
		free(b->slots);
		b->slots = slots;
		b->nslots = cap;
		for (k = 0; k < b->n; k++) {
			i = (size_t)b->v[k].hash & (cap - 1);
			while (b->slots[i] != 0)
				i = (i + 1) & (cap - 1);
			b->slots[i] = (uint32_t)(k + 1);
		}
	}
	i = (size_t)h & (b->nslots - 1);
	while (b->slots[i] != 0) {
		p = &b->v[b->slots[i] - 1];
		if (p->hash == h && p->len == len &&
		    memcmp(p->raw, raw, len) == 0)
			return p;
		i = (i + 1) & (b->nslots - 1);
	}
	if ((p = pend_append(b, raw, len, h)) != NULL)
		b->slots[i] = (uint32_t)b->n;
	return p;
}

/* Note D, which holds the names of prefix length PLEN, as open (unless
 * it is open already: the stack holds the last name's directories). */
static int
open_push(struct build *bd, struct ckptfs_node *d, size_t plen)
{
	if (bd->nopen > 0 && bd->open[bd->nopen - 1].plen >= plen)
		return 0;
	if (bd->nopen == bd->capopen) {
		size_t cap = bd->capopen ? 2 * bd->capopen : 16;
		struct open_dir *v = reallocarray(bd->open, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		bd->open = v;
		bd->capopen = cap;
	}
	bd->open[bd->nopen++] = (struct open_dir){ .d = d, .plen = plen };
	return 0;
}

/* The pending slot of the last component of the raw '/'-separated NAME
 * below VIEW, making the directories above it; NULL on -ENOMEM. */
static struct pend *
pend_path(struct build *bd, struct ckptfs_node *view, const uint8_t *name,
	  size_t len)
{
	struct ckptfs_node *d = view;
	size_t start = 0, i;

	for (i = 0;; i++) {
		struct pend *p;

		if (i < len && name[i] != '/')
			continue;
		p = pend_get(d, name + start, i - start);
		if (p == NULL || i == len)
			return p;
		if (p->sub == NULL && (p->sub = dir_new(bd->t, d)) == NULL)
			return NULL;
		d = p->sub;
		start = i + 1;
		if (bd->stream && open_push(bd, d, start) < 0)
			return NULL;
	}
}

static int dir_finalize(struct build *bd, struct ckptfs_node *d);

/* Finish the open directories (bd->stream) that NAME is not in: names
 * come in key order, so none will be added to them. */
static int
close_dirs(struct build *bd, const uint8_t *name, size_t len)
{
	size_t common = 0, max = len < bd->lastlen ? len : bd->lastlen;
	int rc;

	while (common < max && name[common] == bd->last[common])
		common++;
	while (bd->nopen > 0 && bd->open[bd->nopen - 1].plen > common)
		if ((rc = dir_finalize(bd, bd->open[--bd->nopen].d)) < 0)
			return rc;
	bd->last = name;
	bd->lastlen = len;
	return 0;
}

/* Start or stop adding names in key order below one view (bd->stream):
 * ON only if the source's keys are strictly increasing (bd->sorted). */
static void
stream_names(struct build *bd, bool on)
{
	bd->nopen = 0;
	bd->last = NULL;
	bd->lastlen = 0;
	bd->stream = on && bd->sorted;
}

/* Insert FILE at the raw '/'-separated NAME below VIEW. */
static int
add_path(struct build *bd, struct ckptfs_node *view, const uint8_t *name,
	 size_t len, struct ckptfs_node *file)
{
	struct pend *p;
	int rc;

	if (bd->stream && (rc = close_dirs(bd, name, len)) < 0)
		return rc;
	if ((p = pend_path(bd, view, name, len)) == NULL)
		return ckpt_fail(bd->err, -ENOMEM, "out of memory");
	if (p->file != NULL)
		return ckpt_fail(bd->err, -EEXIST, "%.*s: name given twice",
				 (int)len, (const char *)name);
	p->file = file;
	return 0;
}


/* Tensor N of a TF1 checkpoint in /by-object: ROOT/ESC/.ATTRIBUTES/
 * VARIABLE_VALUE, ESC its escaped name (one component).  Nothing here is
 * pending: TensorFlow's escaping keeps distinct keys distinct and ROOT
 * holds no files, so the names are linked at once (the two below ESC
 * under static names); DISP is scratch. */
static int
tf1_object(struct build *bd, struct ckptfs_node *root, const char *esc,
	   size_t len, struct ckptfs_node *n, struct ckpt_buf *disp)
{
	static const char attrs[] = ".ATTRIBUTES", value[] = "VARIABLE_VALUE";
	struct ckptfs_node *a, *v;
	int rc;

	if ((a = ckptfs_node_new(bd->t, CKPTFS_DIR, root)) == NULL ||
	    (v = ckptfs_node_new(bd->t, CKPTFS_DIR, a)) == NULL)
		return ckpt_fail(bd->err, -ENOMEM, "out of memory");
	if ((rc = dir_link_loc(NULL, v, n, value, sizeof(value) - 1, value,
			       sizeof(value) - 1, NAME_STATIC)) < 0 ||
	    (rc = dir_link_loc(NULL, a, v, attrs, sizeof(attrs) - 1, attrs,
			       sizeof(attrs) - 1, NAME_STATIC)) < 0)
		return ckpt_fail(bd->err, rc, "out of memory");
	return link_raw(bd, root, a, esc, len, false, disp);
}

/* Turn D's pending raw components into displayed directory entries. */
static int
dir_finalize(struct build *bd, struct ckptfs_node *d)
{
	struct ckptfs_build_dir *b;
	struct ckpt_buf name = { 0 };
	size_t i;
	int rc = 0;

	if (d->kind != CKPTFS_DIR || !d->building)
		return 0;
	b = d->dir.tab->build;
	d->dir.tab->build = NULL;
	d->building = false;
	if (d->dir.n + b->n > SMALL_DIR &&
	    dir_rehash(d, d->dir.n + b->n + (b->n >> 2)) < 0) {
		rc = ckpt_fail(bd->err, -ENOMEM, "out of memory");
		goto out;
	}
	/* The entries at their final size: in the node for one name (most
	 * directories), else a table without room to spare. */
	{
		size_t want = d->dir.n;

		for (i = 0; i < b->n; i++)
			want += (b->v[i].file != NULL) + (b->v[i].sub != NULL);
		if (want >= DIR_MAX) {
			rc = ckpt_fail(bd->err, -ENOMEM, "directory too large");
			goto out;
		}
		if (want <= 1)
			dir_shrink(d);
		else if (want > dir_room(d) && ents_reserve(d, want) < 0) {
			rc = ckpt_fail(bd->err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < b->n && rc == 0; i++) {
		struct pend *p = &b->v[i];
		int k;

		for (k = 0; k < 2 && rc == 0; k++) {
			struct ckptfs_node *n = k == 0 ? p->file : p->sub;

			if (n == NULL)
				continue;
			rc = link_raw(bd, d, n, p->raw, p->len,
				      k == 1 && p->file != NULL, &name);
		}
	}
out:
	ckpt_buf_free(&name);
	free(b->v);
	free(b->slots);
	free(b);
	return rc;
}

/* The node of entry I, created on first use. */
static struct ckptfs_node *
entry_node(struct build *bd, size_t i)
{
	struct ckptfs_node *n = bd->entry_node[i];
	const struct ckpt_entry *e;

	if (n != NULL)
		return n;
	n = node_new(bd->t, CKPTFS_TENSOR);
	if (n == NULL)
		return NULL;
	e = &bd->t->src.entries[i];
	/* (not seen by another thread yet: ENTRY is atomic for shares) */
	atomic_store_explicit(&n->entry, e, memory_order_relaxed);
	n->size = e->size;
	n->dtype = e->dtype;
	n->rank = e->rank;
	n->dims = (int64_t *)e->dims;
	if (ckpt_entry_is_bad(e)) {
		/* Known by its key only (ckptfs_node_bad()): no dtype or
		 * shape to show, as for a new file. */
		n->dtype = -1;
		n->rank = -1;
		n->dims = NULL;
	}
	bd->entry_node[i] = n;
	bd->t->ntensors++;
	return n;
}

static int reserve_names(struct build *bd);

/* TensorFlow-style unique name for NAME: NAME itself if free, else the
 * first of NAME_1, NAME_2, ... neither taken nor a name the source gives
 * another tensor.  *OUT lives in the arena.  bd->used maps each name
 * taken to the suffix to try first when it comes again. */
static int
uniquify(struct build *bd, const uint8_t *name, size_t len,
	 const char **out, size_t *outlen)
{
	size_t next, dummy;
	char *s;

	if (!smap_get(&bd->used, name, len, &next)) {
		s = arena_dup(&bd->arena, name, len);
		if (s == NULL || smap_put(&bd->used, s, len, 1) < 0)
			return -ENOMEM;
		*out = s;
		*outlen = len;
		return 0;
	}
	if (!bd->reserved_made) {
		int rc = reserve_names(bd);

		if (rc < 0)
			return rc;
		bd->reserved_made = true;
	}
	for (;;) {
		char num[24];
		int nl = snprintf(num, sizeof(num), "_%zu", next++);
		char *c = malloc(len + (size_t)nl + 1);
		bool taken;

		if (c == NULL)
			return -ENOMEM;
		memcpy(c, name, len);
		memcpy(c + len, num, (size_t)nl + 1);
		taken = smap_get(&bd->used, c, len + (size_t)nl, &dummy) ||
			smap_get(&bd->reserved, c, len + (size_t)nl, &dummy);
		if (!taken) {
			s = arena_dup(&bd->arena, c, len + (size_t)nl);
			free(c);
			/* (NAME is there already: only its value changes) */
			if (s == NULL ||
			    smap_put(&bd->used, s, len + (size_t)nl, 1) < 0 ||
			    smap_put(&bd->used, name, len, next) < 0)
				return -ENOMEM;
			*out = s;
			*outlen = len + (size_t)nl;
			return 0;
		}
		free(c);
	}
}

/* Add entry I to /by-name under NAME, made unique. */
static int
add_by_name(struct build *bd, size_t i, const uint8_t *name, size_t len)
{
	struct ckptfs_node *n = entry_node(bd, i);
	const char *u = (const char *)name;
	size_t ulen = len;

	if (n == NULL)
		return ckpt_fail(bd->err, -ENOMEM, "out of memory");
	/* A TF1 checkpoint's names are its keys, unique already. */
	if (bd->t->src.tf2 && uniquify(bd, name, len, &u, &ulen) < 0)
		return ckpt_fail(bd->err, -ENOMEM, "out of memory");
	return add_path(bd, bd->t->by_name, (const uint8_t *)u, ulen, n);
}

/* The index of the entry with key KEY, if any. */
static bool
find_key(const struct build *bd, const char *key, size_t len, size_t *k)
{
	const struct ckptfs_source *src = &bd->t->src;
	const struct ckpt_entry *e;

	if (!bd->sorted)
		return smap_get(&bd->keys, key, len, k);
	e = ckpt_entries_find(src->entries, src->n, key, len);
	if (e == NULL)
		return false;
	*k = (size_t)(e - src->entries);
	return true;
}

size_t
ckptfs_object_path_len(const char *key, size_t len)
{
	size_t sl = sizeof(VARIABLE_SUFFIX) - 1;

	return len > sl && memcmp(key + len - sl, VARIABLE_SUFFIX, sl) == 0
		       ? len - sl
		       : len;
}

/* Whether attribute A names a tensor /by-name shows: its entry *K (not
 * a slice, not the graph) and its name there, *NAME (*LEN bytes): its
 * full name, or without one its key less /.ATTRIBUTES/VARIABLE_VALUE. */
static bool
attr_name(const struct build *bd, const struct ckpt_objattr *a, size_t *k,
	  const uint8_t **name, size_t *len)
{
	const struct ckpt_entry *entries = bd->t->src.entries;

	if (!find_key(bd, a->checkpoint_key, a->checkpoint_key_len, k) ||
	    entries[*k].is_part ||
	    ckpt_objgraph_is_key(entries[*k].key, entries[*k].key_len))
		return false;
	*name = (const uint8_t *)a->full_name;
	*len = a->full_name_len;
	if (*len == 0) {
		*name = (const uint8_t *)a->checkpoint_key;
		*len = ckptfs_object_path_len(a->checkpoint_key,
				       a->checkpoint_key_len);
	}
	return true;
}

/* qsort_r() order of entry indices (of the entries CTX) by key. */
static int
cmp_ord(const void *x, const void *y, void *ctx)
{
	const struct ckpt_entry *v = ctx;
	const struct ckpt_entry *a = &v[*(const size_t *)x];
	const struct ckpt_entry *b = &v[*(const size_t *)y];
	int c = ckpt_key_cmp(a->key, a->key_len, b->key, b->key_len);

	if (c != 0)
		return c;
	return a < b ? -1 : a > b;
}

/* BD->ORD for keys that are not sorted (a salvaged index).  Return 0 or
 * -ENOMEM. */
static int
key_order(struct build *bd)
{
	const struct ckptfs_source *src = &bd->t->src;

	if (bd->sorted || bd->ord != NULL)
		return 0;
	bd->ord = calloc(src->n ? src->n : 1, sizeof(*bd->ord));
	if (bd->ord == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < src->n; i++)
		bd->ord[i] = i;
	qsort_r(bd->ord, src->n, sizeof(*bd->ord), cmp_ord,
		(void *)src->entries);
	return 0;
}

/* The name /by-name shows for entry E, a tensor of the legacy saveable
 * of attribute A (whose full name is not empty): that name followed by
 * what E's key has after A's, as TensorFlow's Saver names a saveable's
 * tensors ("hash_table-keys"). */
static int
part_name(const struct ckpt_entry *e, const struct ckpt_objattr *a,
	  struct ckpt_buf *out)
{
	out->len = 0;
	if (ckpt_buf_put(out, a->full_name, a->full_name_len) < 0 ||
	    ckpt_buf_put(out, e->key + a->checkpoint_key_len,
			 e->key_len - a->checkpoint_key_len) < 0)
		return -ENOMEM;
	return 0;
}

/* What claim_parts() takes a saveable's tensor for. */
struct claim {
	struct build *bd;
	const struct ckpt_objattr *a;
	bool *used;
	int (*take)(struct build *bd, size_t k, const struct ckpt_objattr *a);
};

/* ckpt_saveables_claim()'s FN: entry K is A's. */
static int
claim_one(void *ctx, size_t k)
{
	struct claim *c = ctx;

	c->used[k] = true;
	return c->take(c->bd, k, c->a);
}

/* The tensors of the legacy saveables of the attributes A[0..NA), whose
 * keys name no tensor, in order (ckpt_saveables_claim()): each takes, if
 * it has a full name, those not taken yet, by an attribute naming their
 * keys (USED, per entry) or one before it (then set in USED), calling
 * TAKE for each (entry K); NONE (if not NULL) is called for an attribute
 * that finds none free.  Return 0 or a negative errno (-ENOMEM, or
 * TAKE's). */
static int
claim_parts(struct build *bd, const struct ckpt_objattr *a, size_t na,
	    bool *used,
	    int (*take)(struct build *bd, size_t k,
			const struct ckpt_objattr *a),
	    void (*none)(struct build *bd, const struct ckpt_objattr *a))
{
	const struct ckptfs_source *src = &bd->t->src;
	struct claim c = { bd, NULL, used, take };
	struct ckpt_saveables sv;
	bool found;
	int rc = 0;

	if (na == 0)
		return 0;
	if (key_order(bd) < 0 ||
	    ckpt_saveables_init(&sv, src->entries, src->n, bd->ord, used) < 0)
		return -ENOMEM;
	for (size_t j = 0; j < na && rc == 0; j++) {
		c.a = &a[j];
		rc = ckpt_saveables_claim(&sv, a[j].checkpoint_key,
					  a[j].checkpoint_key_len,
					  a[j].full_name_len > 0, claim_one, &c,
					  &found);
		if (rc == 0 && !found && none != NULL)
			none(bd, &a[j]);
	}
	ckpt_saveables_free(&sv);
	return rc;
}

/* claim_parts() for reserve_names(): reserve the name entry K takes. */
static int
take_reserved(struct build *bd, size_t k, const struct ckpt_objattr *a)
{
	size_t dummy;
	char *s;

	if (part_name(&bd->t->src.entries[k], a, &bd->rpartnm) < 0)
		return -ENOMEM;
	if (smap_get(&bd->reserved, bd->rpartnm.data, bd->rpartnm.len, &dummy))
		return 0;
	if ((s = arena_dup(&bd->arena, bd->rpartnm.data, bd->rpartnm.len)) ==
		    NULL ||
	    smap_put(&bd->reserved, s, bd->rpartnm.len, 1) < 0)
		return -ENOMEM;
	return 0;
}

static int keep_attr(struct build *bd, const struct ckpt_objattr *a,
		     struct ckpt_objattr **v, size_t *n, size_t *cap);

/* reserve_names()'s walk: the names node I's attributes would take. */
static int
reserve_attrs(void *ctx, size_t i, size_t n, struct ckpt_objnode *on)
{
	struct build *bd = ctx;
	size_t k, dummy;

	(void)i;
	(void)n;
	for (size_t j = 0; j < on->nattrs; j++) {
		const struct ckpt_objattr *a = &on->attrs[j];
		const uint8_t *name;
		size_t len;
		char *s;

		if (!attr_name(bd, a, &k, &name, &len)) {
			if (a->full_name_len > 0 &&
			    !find_key(bd, a->checkpoint_key,
				      a->checkpoint_key_len, &k) &&
			    keep_attr(bd, a, &bd->runheld, &bd->nrunheld,
				      &bd->caprunheld) < 0)
				return -ENOMEM;
			continue;
		}
		bd->rseen[k] = true;
		if (smap_get(&bd->reserved, name, len, &dummy))
			continue;
		if ((s = arena_dup(&bd->arena, name, len)) == NULL ||
		    smap_put(&bd->reserved, s, len, 1) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Fill bd->reserved with every name build_by_name() gives a tensor before
 * making names unique: the object graph's, and the keys of the tensors
 * it does not name. */
static int
reserve_names(struct build *bd)
{
	const struct ckptfs_source *src = &bd->t->src;
	int rc = 0;

	if (bd->graph != NULL) {
		bd->rseen = calloc(src->n ? src->n : 1, sizeof(*bd->rseen));
		if (bd->rseen == NULL)
			return -ENOMEM;
		rc = ckpt_objgraph_walk(bd->graph, bd->graph_len,
					reserve_attrs, bd, NULL);
		/* (a malformed graph: said by the build's walk) */
		if (rc != -ENOMEM)
			rc = claim_parts(bd, bd->runheld, bd->nrunheld,
					 bd->rseen, take_reserved, NULL);
		free(bd->rseen);
		bd->rseen = NULL;
		free(bd->runheld);
		bd->runheld = NULL;
		bd->nrunheld = bd->caprunheld = 0;
		ckpt_buf_free(&bd->rpartnm);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < src->n && rc == 0; i++) {
		const struct ckpt_entry *e = &src->entries[i];

		if (!e->is_part && !ckpt_objgraph_is_key(e->key, e->key_len))
			rc = smap_put(&bd->reserved, e->key, e->key_len, 1);
	}
	return rc;
}

/* Note in T that its graph names A's key, which it does not hold. */
static void
missing_key(struct ckptfs_tree *t, const struct ckpt_objattr *a)
{
	if (t->graph_missing++ == 0)
		snprintf(t->warning, sizeof(t->warning),
			 "%.150s: the object graph names key '%.200s', which "
			 "the checkpoint does not hold",
			 t->src.prefix ? t->src.prefix : "checkpoint",
			 a->checkpoint_key);
}

/* Keep a copy of attribute A, whose key names no tensor, in *V (*N of
 * them, room for *CAP), its strings in the arena (the walk frees A). */
static int
keep_attr(struct build *bd, const struct ckpt_objattr *a,
	  struct ckpt_objattr **v, size_t *n, size_t *cap)
{
	struct ckpt_objattr *c;

	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;

		if ((c = reallocarray(*v, nc, sizeof(*c))) == NULL)
			return ckpt_fail(bd->err, -ENOMEM, "out of memory");
		*v = c;
		*cap = nc;
	}
	c = &(*v)[*n];
	*c = (struct ckpt_objattr){
		.checkpoint_key = arena_dup(&bd->arena,
					    a->checkpoint_key ? a->checkpoint_key
							      : "",
					    a->checkpoint_key_len),
		.checkpoint_key_len = a->checkpoint_key_len,
		.full_name = arena_dup(&bd->arena,
				       a->full_name ? a->full_name : "",
				       a->full_name_len),
		.full_name_len = a->full_name_len,
	};
	if (c->checkpoint_key == NULL || c->full_name == NULL)
		return ckpt_fail(bd->err, -ENOMEM, "out of memory");
	(*n)++;
	return 0;
}

/* build_by_name()'s walk over the object graph: node I's attributes
 * under their full names, in order. */
static int
name_attrs(void *ctx, size_t i, size_t n, struct ckpt_objnode *on)
{
	struct build *bd = ctx;
	size_t j, k;
	int rc = 0;

	(void)i;
	(void)n;
	for (j = 0; j < on->nattrs && rc == 0; j++) {
		const struct ckpt_objattr *a = &on->attrs[j];
		const uint8_t *name;
		size_t len;

		if (!attr_name(bd, a, &k, &name, &len)) {
			if (!find_key(bd, a->checkpoint_key,
				      a->checkpoint_key_len, &k))
				rc = keep_attr(bd, a, &bd->unheld,
					       &bd->nunheld, &bd->capunheld);
			continue;
		}
		if (bd->seen[k])
			continue;
		bd->seen[k] = true;
		rc = add_by_name(bd, k, name, len);
		if (rc == 0 && a->full_name_len == 0)
			bd->entry_node[k]->derived_name = true;
	}
	return rc;
}

/* claim_parts() for name_parts(): entry K in /by-name. */
static int
take_named(struct build *bd, size_t k, const struct ckpt_objattr *a)
{
	if (part_name(&bd->t->src.entries[k], a, &bd->partnm) < 0)
		return -ENOMEM;
	return add_by_name(bd, k, bd->partnm.data, bd->partnm.len);
}

/* claim_parts() for name_parts(): A's key is none the source holds. */
static void
none_missing(struct build *bd, const struct ckpt_objattr *a)
{
	missing_key(bd->t, a);
}

/* After build_by_name()'s walk, once the keys the graph names are
 * taken: an attribute whose key names no tensor (bd->unheld) is a
 * legacy saveable's whose tensors' keys are its key followed by more (a
 * hash table's -keys and -values), if there are such tensors that no
 * other attribute names; they are shown under its full name followed by
 * the same (without one, under their keys, as tensors the graph does not
 * name).  Else the graph names a key the checkpoint does not hold. */
static int
name_parts(struct build *bd)
{
	return claim_parts(bd, bd->unheld, bd->nunheld, bd->seen, take_named,
			   none_missing);
}

/* True if E is a TF1 tensor named save_counter (see
 * ckpt_tf2_key_for_name()). */
static bool
is_counter(const struct ckpt_entry *e)
{
	return e->key_len == strlen(CKPT_SAVE_COUNTER_NAME) &&
	       memcmp(e->key, CKPT_SAVE_COUNTER_NAME, e->key_len) == 0;
}

/* Fill /by-name. */
static int
build_by_name(struct build *bd)
{
	const struct ckptfs_source *src = &bd->t->src;
	size_t i;
	int rc = 0;

	bd->seen = calloc(src->n ? src->n : 1, sizeof(*bd->seen));
	if (bd->seen == NULL)
		return ckpt_fail(bd->err, -ENOMEM, "out of memory");
	if (src->tf2 && bd->graph != NULL)
		rc = ckpt_objgraph_walk(bd->graph, bd->graph_len, name_attrs,
					bd, bd->err);
	if (rc == 0)
		rc = name_parts(bd);
	/* A TF1 checkpoint's names are its keys, in key order. */
	stream_names(bd, !src->tf2);
	for (i = 0; i < src->n && rc == 0; i++) {
		const struct ckpt_entry *e = &src->entries[i];

		if (bd->seen[i] || e->is_part ||
		    (src->tf2 && ckpt_objgraph_is_key(e->key, e->key_len)))
			continue;
		/* A TF2 key no attribute names: its object path, as an
		 * attribute without a full name and a file the overlay
		 * names after its key (ckptfs_name_from_key()) show it. */
		rc = add_by_name(bd, i, (const uint8_t *)e->key,
				 src->tf2 ? ckptfs_object_path_len(e->key,
								 e->key_len)
					  : e->key_len);
		if (rc == 0 && src->tf2)
			bd->entry_node[i]->derived_name = true;
		if (!src->tf2 && is_counter(e))
			bd->t->tf1_counter = true;
	}
	stream_names(bd, false);
	free(bd->seen);
	bd->seen = NULL;
	return rc;
}

/* Fill /by-object. */
static int
build_by_object(struct build *bd, const char *root)
{
	const struct ckptfs_source *src = &bd->t->src;
	struct ckpt_buf path = { 0 }, disp = { 0 };
	struct ckptfs_node *top = NULL;
	struct pend *p;
	size_t i;
	int rc = 0;

	/* A TF2 checkpoint's object paths are its keys, in key order. */
	stream_names(bd, src->tf2);
	for (i = 0; i < src->n && rc == 0; i++) {
		const struct ckpt_entry *e = &src->entries[i];
		struct ckptfs_node *n;

		if (e->is_part)
			continue;
		n = entry_node(bd, i);
		if (n == NULL) {
			rc = ckpt_fail(bd->err, -ENOMEM, "out of memory");
			break;
		}
		if (src->tf2) {
			rc = add_path(bd, bd->t->by_object,
				      (const uint8_t *)e->key, e->key_len, n);
			continue;
		}
		if (is_counter(e)) {
			/* at the root, as ckpt_tf2_key_for_name() keys it */
			rc = add_path(bd, bd->t->by_object,
				      (const uint8_t *)CKPT_SAVE_COUNTER_KEY,
				      strlen(CKPT_SAVE_COUNTER_KEY), n);
			continue;
		}
		if (top == NULL) {
			/* The root directory of the TF1 layout (one name:
			 * see ckptfs_tree_build_from()). */
			p = pend_get(bd->t->by_object, (const uint8_t *)root,
				     strlen(root));
			if (p != NULL && p->sub == NULL)
				p->sub = ckptfs_node_new(bd->t, CKPTFS_DIR,
							 bd->t->by_object);
			if (p == NULL || (top = p->sub) == NULL) {
				rc = ckpt_fail(bd->err, -ENOMEM,
					       "out of memory");
				break;
			}
		}
		path.len = 0;
		if (ckpt_name_escape(e->key, e->key_len, &path) < 0) {
			rc = ckpt_fail(bd->err, -ENOMEM, "out of memory");
			break;
		}
		rc = tf1_object(bd, top, (const char *)path.data, path.len, n,
				&disp);
	}
	stream_names(bd, false);
	ckpt_buf_free(&path);
	ckpt_buf_free(&disp);
	return rc;
}

/* Append S as a JSON string (bytes >= 0x80 passed through). */
static int
json_str(struct ckpt_buf *b, const char *s)
{
	int rc = ckpt_buf_put(b, "\"", 1);

	for (; rc == 0 && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			rc = ckpt_buf_put(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			rc = ckpt_buf_put(b, esc, 6);
		} else {
			rc = ckpt_buf_put(b, &c, 1);
		}
	}
	return rc < 0 ? rc : ckpt_buf_put(b, "\"", 1);
}

/* Make the text of info.json. */
static int
build_info(struct ckptfs_tree *t, const char *root, const char *extra)
{
	struct ckpt_buf b = { 0 };
	char num[128];
	int rc;

	rc = ckpt_buf_put(&b, "{\n  \"format\": ", 14);
	if (rc == 0)
		rc = json_str(&b, t->src.tf2 ? "tf2" : "tf1");
	if (rc == 0)
		rc = ckpt_buf_put(&b, ",\n  \"source\": ", 14);
	if (rc == 0)
		rc = json_str(&b, t->src.prefix ? t->src.prefix : "");
	if (rc == 0 && !t->src.tf2) {
		rc = ckpt_buf_put(&b, ",\n  \"tf2_root\": ", 16);
		if (rc == 0)
			rc = json_str(&b, root);
	}
	if (rc == 0 && extra != NULL) {
		rc = ckpt_buf_put(&b, ",\n", 2);
		if (rc == 0)
			rc = ckpt_buf_put(&b, extra, strlen(extra) - 2);
	}
	if (rc == 0) {
		int nl = snprintf(num, sizeof(num),
				  ",\n  \"num_shards\": %" PRId32
				  ",\n  \"endianness\": \"%s\""
				  ",\n  \"tensors\": %zu,\n  \"ckptfs_version\": ",
				  t->src.num_shards,
				  t->bundle != NULL &&
						  t->bundle->hdr.endianness == 1
					  ? "big"
					  : "little",
				  t->ntensors);
		rc = ckpt_buf_put(&b, num, (size_t)nl);
	}
	if (rc == 0)
		rc = json_str(&b, PACKAGE_VERSION);
	if (rc == 0)
		rc = ckpt_buf_put(&b, "\n}\n", 4);	/* with the NUL */
	if (rc < 0) {
		ckpt_buf_free(&b);
		return -ENOMEM;
	}
	t->info_json = (char *)b.data;
	t->info->blob = t->info_json;
	t->info->size = b.len - 1;
	return 0;
}

/* What only /by-name needs, freed once it is built: the object graph's
 * bytes when the build owns them, the key and name maps, the unique
 * names' arena (the names themselves are in the tree by then).
 * Idempotent. */
static void
by_name_done(struct build *bd)
{
	if (bd->graph_buf != NULL) {
		free(*bd->graph_buf);
		*bd->graph_buf = NULL;
	}
	bd->graph = NULL;
	smap_free(&bd->keys);
	smap_free(&bd->used);
	smap_free(&bd->reserved);
	arena_free(&bd->arena);
	free(bd->unheld);
	bd->unheld = NULL;
	bd->nunheld = bd->capunheld = 0;
	free(bd->ord);
	bd->ord = NULL;
	ckpt_buf_free(&bd->partnm);
}

/* Whether the N entries V have strictly increasing keys. */
static bool
keys_sorted(const struct ckpt_entry *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (ckpt_key_cmp(v[i - 1].key, v[i - 1].key_len, v[i].key,
				 v[i].key_len) >= 0)
			return false;
	return true;
}

/* Build the tree of SRC, whose graph buffer, if the build owns it, is
 * *GRAPH_BUF (freed and set to NULL once /by-name is built). */
static int
tree_build(const struct ckptfs_source *src, const struct ckptfs_tree_opts *opts,
	   struct ckptfs_tree **out, struct ckpt_err *err, void **graph_buf)
{
	const char *root = opts && opts->tf2_root ? opts->tf2_root
						  : DEFAULT_TF2_ROOT;
	struct build bd = { .err = err,
			    .graph = src->graph,
			    .graph_len = src->graph_len,
			    .graph_buf = graph_buf,
			    .sorted = keys_sorted(src->entries, src->n) };
	bool lazy = opts != NULL && opts->lazy_object && !src->tf2;
	struct ckpt_buf esc_root = { 0 };
	struct ckptfs_tree *t;
	size_t i, want;
	int rc;

	*out = NULL;
	if (root[0] == '\0' || strchr(root, '/') != NULL)
		return ckpt_fail(err, -EINVAL,
				 "tf2_root=%s: must be one non-empty name "
				 "without '/'", root);
	if (strcmp(root, CKPT_SAVE_COUNTER_NAME) == 0)
		return ckpt_fail(err, -EINVAL,
				 "tf2_root=%s: the name of tf.train.Checkpoint's "
				 "own counter; choose another", root);
	/* Keys with these could not be written as TF2 at all. */
	if (strcmp(root, ".ATTRIBUTES") == 0 ||
	    strcmp(root, ".OPTIMIZER_SLOT") == 0 ||
	    !ckpt_utf8_valid(root, strlen(root)))
		return ckpt_fail(err, -EINVAL,
				 "tf2_root=%s: %s; choose another", root,
				 root[0] == '.' ? "a name TensorFlow's keys "
						  "reserve"
						: "not valid UTF-8");
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return ckpt_fail(err, -ENOMEM, "out of memory");
	bd.t = t;
	/* The keys' first component: the object's name escaped, as
	 * TensorFlow keys an object named "my.root" "my..root/..." */
	if (ckpt_name_escape(root, strlen(root), &esc_root) < 0) {
		free(t);
		return ckpt_fail(err, -ENOMEM, "out of memory");
	}
	t->tf2_root = (char *)esc_root.data;
	t->src = *src;
	t->bundle = src->bundle;
	t->mtime = src->mtime;
	clock_gettime(CLOCK_REALTIME, &t->built_at);
	t->uid = opts ? opts->uid : 0;
	t->gid = opts ? opts->gid : 0;
	rc = -ENOMEM;
	bd.entry_node = calloc(src->n ? src->n : 1, sizeof(*bd.entry_node));
	if (bd.entry_node == NULL)
		goto fail_nomem;
	/* Keys are looked up only from the object graph's attributes. */
	for (i = 0; bd.graph != NULL && !bd.sorted && i < src->n; i++)
		if (smap_put(&bd.keys, src->entries[i].key,
			     src->entries[i].key_len, i) < 0)
			goto fail_nomem;
	if ((t->root = dir_new(t, NULL)) == NULL ||
	    (t->by_name = dir_new(t, t->root)) == NULL ||
	    (t->by_object = dir_new(t, t->root)) == NULL ||
	    (t->info = node_new(t, CKPTFS_BLOB)) == NULL)
		goto fail_nomem;
	t->by_name->view = CKPTFS_BY_NAME;
	t->by_object->view = CKPTFS_BY_OBJECT;
	if (add_path(&bd, t->root, (const uint8_t *)"by-name", 7,
		     t->by_name) < 0 ||
	    add_path(&bd, t->root, (const uint8_t *)"by-object", 9,
		     t->by_object) < 0 ||
	    add_path(&bd, t->root, (const uint8_t *)"info.json", 9,
		     t->info) < 0)
		goto fail_nomem;
	/* /by-name is finalized before /by-object is built, so that its
	 * scratch is free again when the other view needs room. */
	if ((rc = build_by_name(&bd)) < 0)
		goto fail;
	if (t->graph_missing > 0) {
		size_t l = strlen(t->warning);

		if (t->graph_missing == 1)
			snprintf(t->warning + l, sizeof(t->warning) - l,
				 ": TensorFlow cannot restore that object; a "
				 "TF2 write-out leaves the key out of the "
				 "graph");
		else
			snprintf(t->warning + l, sizeof(t->warning) - l,
				 ", nor %zu more it names: TensorFlow cannot "
				 "restore those objects; a TF2 write-out "
				 "leaves the keys out of the graph",
				 t->graph_missing - 1);
	}
	for (i = 0; i < t->ninodes; i++)
		if (t->inodes[i]->view != CKPTFS_BY_OBJECT &&
		    (rc = dir_finalize(&bd, t->inodes[i])) < 0)
			goto fail;
	by_name_done(&bd);
	t->src.graph = NULL;
	t->src.graph_len = 0;
	t->src.graph_buf = NULL;
	if (lazy)
		atomic_store(&t->object_pending, true);
	else if ((rc = build_by_object(&bd, root)) < 0)
		goto fail;
	for (i = 0; i < t->ninodes; i++)
		if ((rc = dir_finalize(&bd, t->inodes[i])) < 0)
			goto fail;
	if ((rc = build_info(t, root, opts ? opts->info_extra : NULL)) < 0)
		goto fail_nomem;
	/* The inode table at its size (no other thread sees the tree
	 * yet), with room for a lazy /by-object (ckptfs_tree_build_object()
	 * adds it while other threads look inode numbers up); from here on
	 * it only grows by copies (table_grow()). */
	want = ckptfs_tree_inodes(t);
	if (want != t->capinodes) {
		struct ckptfs_node **v = reallocarray(t->inodes, want,
						      sizeof(*v));

		if (v != NULL) {
			t->inodes = v;
			t->capinodes = want;
		}
	}
	t->base_inodes = t->ninodes;
	t->built = true;
	free(bd.open);
	free(bd.entry_node);
	*out = t;
	return 0;
fail_nomem:
	rc = ckpt_fail(err, -ENOMEM, "out of memory");
fail:
	for (i = 0; i < t->ninodes; i++)
		dir_finalize(&bd, t->inodes[i]);	/* frees build state */
	free(bd.open);
	free(bd.entry_node);
	by_name_done(&bd);
	ckptfs_tree_free(t);
	return rc;
}

/* Note in T that its graph could not be used, and WHY. */
static void
graph_warning(struct ckptfs_tree *t, const char *why)
{
	snprintf(t->warning, sizeof(t->warning),
		 "object graph unreadable (%.400s); by-name/ shows the keys' "
		 "object paths",
		 why);
	t->graph_unusable = true;
	t->graph_missing = 0;
}

int
ckptfs_tree_build_from(const struct ckptfs_source *src,
		       const struct ckptfs_tree_opts *opts,
		       struct ckptfs_tree **out, struct ckpt_err *err)
{
	struct ckptfs_source plain = *src;
	void *graph_buf = src->graph_buf;
	struct ckpt_err gerr = { 0 };
	int rc;

	rc = tree_build(src, opts, out, src->graph ? &gerr : err, &graph_buf);
	free(graph_buf); /* if the build stopped before */
	if (src->graph == NULL)
		return rc;
	if (rc != -EBADMSG) {
		if (rc < 0)
			ckpt_fail(err, rc, "%s", gerr.msg);
		return rc;
	}
	/* Malformed graph bytes, found by the walk: the keys instead. */
	if (src->prefix != NULL)
		ckpt_err_prepend(&gerr, src->prefix);
	plain.graph = NULL;
	plain.graph_len = 0;
	plain.graph_buf = NULL;
	if ((rc = tree_build(&plain, opts, out, err, &plain.graph_buf)) == 0)
		graph_warning(*out, gerr.msg);
	return rc;
}

/* Build the tree of an opened bundle. */
int
ckptfs_tree_build(const struct ckpt_bundle *b,
		  const struct ckptfs_tree_opts *opts,
		  struct ckptfs_tree **out, struct ckpt_err *err)
{
	struct ckptfs_source src = {
		.bundle = b,
		.entries = b->entries,
		.n = b->n,
		.tf2 = b->tf2,
		.prefix = b->prefix,
		.num_shards = b->hdr.num_shards,
		.mtime = b->index_mtime,
	};
	struct ckpt_err gerr = { 0 };
	uint8_t *buf = NULL;
	int rc = 0;

	if (b->tf2)
		rc = ckpt_bundle_objgraph_bytes(b, &buf, &src.graph,
						&src.graph_len, &gerr);
	src.graph_buf = buf; /* freed by the build once /by-name is */
	if (rc < 0 && rc != -ENOENT)
		ckpt_fail(&gerr, rc, "%s: object graph unreadable", b->prefix);
	rc = ckptfs_tree_build_from(&src, opts, out, err);
	if (rc == 0 && gerr.code != 0)
		graph_warning(*out, gerr.msg);
	return rc;
}

/* The inodes a lazy /by-object of T will add: its root and two
 * directories per tensor (vars/<name>/.ATTRIBUTES/, the file being the
 * tensor's own node). */
static size_t
object_inodes(const struct ckptfs_tree *t)
{
	return 1 + 2 * t->ntensors;
}

size_t
ckptfs_tree_inodes(const struct ckptfs_tree *t)
{
	return t->ninodes +
	       (atomic_load(&t->object_pending) ? object_inodes(t) : 0);
}

int
ckptfs_tree_build_object(struct ckptfs_tree *t, struct ckpt_err *err)
{
	struct build bd = { .t = t, .err = err };
	size_t i, first = t->ninodes;
	int rc, r;

	if (!atomic_load(&t->object_pending))
		return t->object_error == 0
			       ? 0
			       : ckpt_fail(err, t->object_error,
					   "%s: /by-object could not be built",
					   t->src.prefix);
	/* The tensors' nodes, made by /by-name, are found by their entry. */
	bd.entry_node = calloc(t->src.n ? t->src.n : 1,
			       sizeof(*bd.entry_node));
	if (bd.entry_node == NULL) {
		rc = ckpt_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < first; i++) {
		struct ckptfs_node *n = t->inodes[i];

		if (n->kind == CKPTFS_TENSOR && n->entry != NULL)
			bd.entry_node[n->entry - t->src.entries] = n;
	}
	if (dir_reopen(t->by_object) < 0) {
		rc = ckpt_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	rc = build_by_object(&bd, t->tf2_root);
	/* Its root's pending name, then the new directories' (each frees
	 * its build state even after a failure). */
	r = dir_finalize(&bd, t->by_object);
	for (i = first; i < t->ninodes; i++) {
		if (rc == 0)
			rc = r;
		r = dir_finalize(&bd, t->inodes[i]);
	}
	if (rc == 0)
		rc = r;
	if (rc == 0)
		t->base_inodes = t->ninodes;
out:
	free(bd.open);
	free(bd.entry_node);
	t->object_error = rc;
	atomic_store(&t->object_pending, false);
	return rc;
}

/* Free T's nodes and what they own, and the tables that hold them; the
 * shapes files own go to T->shed_dims if KEEP_DIMS, else are freed. */
static void
nodes_free(struct ckptfs_tree *t, bool keep_dims)
{
	size_t i;

	for (i = 0; i < t->ninodes; i++) {
		struct ckptfs_node *n = t->inodes[i];

		ckptfs_loc_clear(&n->loc);
		if (n->kind == CKPTFS_DIR) {
			if (n->big) {
				free(n->dir.tab->slots);
				free(n->dir.tab->gone);
				free(n->dir.tab);
			}
			continue;
		}
		ckptfs_loc_clear(&n->oloc);
		if (n->dims_owned && keep_dims)
			t->shed_dims[t->nshed_dims++] = n->dims;
		else if (n->dims_owned)
			free(n->dims);
		if (atomic_load(&n->spool_fd) >= 0)
			close(atomic_load(&n->spool_fd));
	}
	for (i = 0; i < t->nslabs; i++)
		free(t->slabs[i]);
	free(t->slabs);
	free(t->inodes);
	while (t->nretired > 0)
		free(t->retired[--t->nretired]);
	free(t->retired);
	t->slabs = NULL;
	t->nslabs = t->capslabs = 0;
	t->slab_lo = t->slab_hi = 0;
	atomic_store(&t->inodes, NULL);
	atomic_store(&t->ninodes, 0);
	t->capinodes = 0;
	t->retired = NULL;
	t->root = t->by_name = t->by_object = t->info = NULL;
}

void
ckptfs_tree_shed(struct ckptfs_tree *t)
{
	size_t i, nd = 0;

	if (t->shed_dims != NULL)
		return;		/* shed already */
	for (i = 0; i < t->ninodes; i++)
		if (t->inodes[i]->kind != CKPTFS_DIR &&
		    t->inodes[i]->dims_owned)
			nd++;
	t->shed_dims = calloc(nd ? nd : 1, sizeof(*t->shed_dims));
	if (t->shed_dims == NULL)
		return;
	nodes_free(t, true);
#ifdef __GLIBC__
	/* The nodes' 64 KiB slabs are below the mmap threshold: freed,
	 * they stay in the heap, resident, while the graph's large arrays
	 * are mapped apart from it.  This hands their pages back. */
	malloc_trim(0);
#endif
}

/* Free T and every node. */
void
ckptfs_tree_free(struct ckptfs_tree *t)
{
	if (t == NULL)
		return;
	nodes_free(t, false);
	while (t->nshed_dims > 0)
		free(t->shed_dims[--t->nshed_dims]);
	free(t->shed_dims);
	free(t->info_json);
	free(t->tf2_root);
	free(t);
}

/* --- queries ----------------------------------------------------------- */

/* Inode lookup. */
struct ckptfs_node *
ckptfs_tree_node(const struct ckptfs_tree *t, uint64_t ino)
{
	/* NINODES first: every table published after it holds the slot. */
	if (ino == 0 || ino > atomic_load(&t->ninodes))
		return NULL;
	return atomic_load(&t->inodes)[ino - 1];
}

/* Resolve a displayed path from the root. */
struct ckptfs_node *
ckptfs_tree_path(const struct ckptfs_tree *t, const char *path)
{
	struct ckptfs_node *n = t->root;

	while (n != NULL && *path != '\0') {
		size_t len = strcspn(path, "/");

		if (len > 0)
			n = ckptfs_dir_lookup(n, path, len);
		path += len;
		if (*path == '/')
			path++;
	}
	return n;
}

/* stat(2) data of N. */
void
ckptfs_node_stat(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		 struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)n->ino;
	if (t->writable)
		st->st_mode = n->kind == CKPTFS_DIR ? S_IFDIR | 0755
			      : n->kind == CKPTFS_BLOB ||
					ckptfs_node_is_graph(t, n)
				      ? S_IFREG | 0444
				      : S_IFREG | 0644;
	else
		st->st_mode = n->kind == CKPTFS_DIR ? S_IFDIR | 0555
						    : S_IFREG | 0444;
	st->st_nlink = n->nlink;
	if (atomic_load(&t->object_pending)) {
		/* The links /by-object will give: every tensor a second name
		 * (TF1 layout), its root the directory of them all, and of
		 * save_counter's. */
		if (n->kind == CKPTFS_TENSOR ||
		    (n == t->by_object && t->ntensors > t->tf1_counter))
			st->st_nlink++;
		if (n == t->by_object && t->tf1_counter)
			st->st_nlink++;
	}
	st->st_uid = t->uid;
	st->st_gid = t->gid;
	st->st_blksize = 4096;
	if (n->kind != CKPTFS_DIR) {
		st->st_size = (off_t)n->size;
		st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
	}
	st->st_atim = n == t->info ? t->built_at : t->mtime;
	st->st_mtim = st->st_atim;
	st->st_ctim = st->st_atim;
	/* (a copy sharing a source tensor's bytes has a spool file too: a
	 * new file's times) */
	if (n->kind == CKPTFS_TENSOR &&
	    (ckptfs_ov_spooled(n) || atomic_load(&n->shares)))
		ckptfs_ov_times(t, n, st);
}

/* Read content. */
int
ckptfs_node_pread(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		  void *buf, size_t len, uint64_t off, size_t *got)
{
	*got = 0;
	switch (n->kind) {
	case CKPTFS_DIR:
		return -EISDIR;
	case CKPTFS_BLOB:
		if (off < n->size) {
			*got = len < n->size - off ? len
						   : (size_t)(n->size - off);
			memcpy(buf, n->blob + off, *got);
		}
		return 0;
	case CKPTFS_TENSOR:
		if (off >= n->size || len == 0)
			return 0;
		if (ckptfs_ov_spooled(n)) {
			uint64_t sz = n->size;
			ssize_t r;
			int fd = ckptfs_ov_fd_dup((struct ckptfs_tree *)t,
						  (struct ckptfs_node *)n);

			if (fd < 0)
				return -EIO;
			if (len > sz - off)
				len = (size_t)(sz - off);
			while (*got < len) {
				r = pread(fd, (char *)buf + *got, len - *got,
					  (off_t)(off + *got));
				if (r < 0) {
					close(fd);
					return -EIO;
				}
				if (r == 0)
					break;
				*got += (size_t)r;
			}
			close(fd);
			return 0;
		}
		if (t->bundle == NULL)
			return -EIO;
		return ckpt_bundle_pread(t->bundle, n->entry, buf, len, off,
					 got) < 0
			       ? -EIO
			       : 0;
	}
	return -EIO;
}

/* ckptfs_node_verify()'s gate: N->verified is VERIFYING while one
 * thread checks N; the others wait here instead of reading the tensor
 * again (the kernel's readahead sends several READs of a file at once).
 * One pair for the process: waits are rare and short. */
#define VERIFYING 2
/* Not checked: the last check failed for another reason than damage
 * (and was logged). */
#define RETRYING 3
static pthread_mutex_t verify_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t verify_cv = PTHREAD_COND_INITIALIZER;
static atomic_uint_fast64_t verify_runs;

uint64_t
ckptfs_verify_runs(void)
{
	return atomic_load(&verify_runs);
}

/* Publish the result V of checking N (0: not cached, check again). */
static void
verify_done(struct ckptfs_node *n, int v)
{
	pthread_mutex_lock(&verify_mu);
	atomic_store(&n->verified, v);
	pthread_cond_broadcast(&verify_cv);
	pthread_mutex_unlock(&verify_mu);
}

int
ckptfs_node_verify(const struct ckptfs_tree *t, struct ckptfs_node *n,
		   bool *first_failure, struct ckpt_err *err)
{
	int v, rc;
	bool again;

	*first_failure = false;
	if (n->kind != CKPTFS_TENSOR || n->entry == NULL ||
	    ckptfs_ov_spooled(n))
		return 0;
	for (;;) {
		v = atomic_load(&n->verified);
		if (v == 1)
			return 0;
		if (v < 0)
			return -EIO;
		again = v == RETRYING;
		if ((v == 0 || again) &&
		    atomic_compare_exchange_strong(&n->verified, &v,
						   VERIFYING))
			break;
		if (v == VERIFYING) {
			pthread_mutex_lock(&verify_mu);
			while (atomic_load(&n->verified) == VERIFYING)
				pthread_cond_wait(&verify_cv, &verify_mu);
			pthread_mutex_unlock(&verify_mu);
		}
	}
	if (t->bundle == NULL) {
		verify_done(n, 0);
		return -EIO;
	}
	atomic_fetch_add(&verify_runs, 1);
	rc = ckpt_bundle_verify(t->bundle, n->entry, err);
	if (rc == 0) {
		verify_done(n, 1);
		return 0;
	}
	/* Damage is remembered (and logged once); another error may be
	 * transient, so the next read checks again, logging only if one
	 * has succeeded since (a reader retrying in a loop would flood the
	 * log). */
	*first_failure = rc == -EBADMSG || !again;
	verify_done(n, rc == -EBADMSG ? rc : RETRYING);
	return -EIO;
}

size_t
ckptfs_tree_recheck(struct ckptfs_tree *t, struct ckpt_err *err)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	size_t files;

	if (t->bundle == NULL || !ckpt_bundle_poll(t->bundle))
		return 0;
	pthread_mutex_lock(&mu);
	/* Every check forgotten first, then the files taken as they are
	 * now: a read that finds them taken finds its tensor to check.  A
	 * check under way looks at the files as it reads (and fails if they
	 * change again). */
	for (size_t i = 0; i < t->ninodes; i++) {
		struct ckptfs_node *n = t->inodes[i];
		int v;

		if (n == NULL || n->kind != CKPTFS_TENSOR || n->entry == NULL)
			continue;
		v = atomic_load(&n->verified);
		while (v != 0 && v != VERIFYING &&
		       !atomic_compare_exchange_weak(&n->verified, &v, 0))
			;
	}
	files = ckpt_bundle_rebase(t->bundle, err);
	pthread_mutex_unlock(&mu);
	return files;
}

bool
ckptfs_node_verify_pending(const struct ckptfs_node *n, bool *waits)
{
	int v = atomic_load(&n->verified);

	*waits = v == VERIFYING;
	return n->kind == CKPTFS_TENSOR && n->entry != NULL &&
	       !ckptfs_ov_spooled(n) && v >= 0 && v != 1;
}

bool
ckptfs_node_bad(const struct ckptfs_node *n)
{
	return n->kind == CKPTFS_TENSOR && n->entry != NULL &&
	       ckpt_entry_is_bad(n->entry) && !ckptfs_ov_spooled(n);
}

bool
ckptfs_node_damaged(const struct ckptfs_node *n)
{
	return n->kind == CKPTFS_TENSOR && atomic_load(&n->verified) < 0;
}

bool
ckptfs_dir_detached(const struct ckptfs_node *d)
{
	return d->kind == CKPTFS_DIR && d->loc.dir == NULL && d->stale;
}

bool
ckptfs_node_is_graph(const struct ckptfs_tree *t, const struct ckptfs_node *n)
{
	return t->src.tf2 && n->kind == CKPTFS_TENSOR && n->entry != NULL &&
	       ckpt_objgraph_is_key(n->entry->key, n->entry->key_len);
}

bool
ckptfs_crc_is_stored(const struct ckpt_entry *e)
{
	return e->nparts == 0 && e->dtype != CKPT_DT_STRING &&
	       e->dtype != CKPT_DT_VARIANT;
}

/* CRC-32C *V of the first SIZE bytes of changed tensor N's spool file,
 * its holes taken as the zeros they read as without reading them (a
 * sparse file of 100 GiB is a few writes); *DONE: how many bytes there
 * were (fewer if the file was cut meanwhile).  BUF: CRC_CHUNK bytes. */
static int
spool_crc(const struct ckptfs_tree *t, struct ckptfs_node *n, uint64_t size,
	  uint8_t *buf, uint32_t *v, uint64_t *done)
{
	int fd = ckptfs_ov_fd_dup((struct ckptfs_tree *)t, n);
	uint64_t off = 0, end = size;
	struct stat st;

	*v = 0;
	*done = 0;
	if (fd < 0)
		return -EIO;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < end)
		end = (uint64_t)st.st_size;
	while (off < end) {
		off_t d = lseek(fd, (off_t)off, SEEK_DATA), h;
		uint64_t data = d >= 0 ? (uint64_t)d : off; /* (no holes) */

		/* No data past OFF: a hole to the end, or OFF is past an
		 * end cut meanwhile (then only to there: *DONE tells) */
		if (d < 0 && errno == ENXIO) {
			data = end;
			if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < end)
				data = end = (uint64_t)st.st_size > off
						     ? (uint64_t)st.st_size
						     : off;
		}
		if (data > end)
			data = end;
		*v = ckpt_crc32c_extend_zeros(*v, data - off);
		off = data;
		h = off < end ? lseek(fd, (off_t)off, SEEK_HOLE) : (off_t)end;
		if (h < 0 || (uint64_t)h > end)
			h = (off_t)end;
		while (off < (uint64_t)h) {
			size_t want = (uint64_t)h - off < CRC_CHUNK
					      ? (size_t)((uint64_t)h - off)
					      : CRC_CHUNK;
			ssize_t r = pread(fd, buf, want, (off_t)off);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				close(fd);
				return -EIO;
			}
			if (r == 0) {	/* cut meanwhile */
				end = off;
				break;
			}
			*v = ckpt_crc32c_extend(*v, buf, (size_t)r);
			off += (uint64_t)r;
		}
	}
	close(fd);
	*done = off;
	return 0;
}

/* CRC-32C of N's content, computed once. */
static int
node_crc(const struct ckptfs_tree *t, struct ckptfs_node *n, uint32_t *crc)
{
	uint_fast64_t c = atomic_load(&n->crc);
	uint64_t off;
	uint8_t *buf;
	uint32_t v = 0;

	bool spooled = ckptfs_ov_spooled(n);

	if (ckptfs_node_bad(n))
		return -ENODATA;
	if ((c & CRC_VALID) && !spooled) {
		*crc = (uint32_t)c;
		return 0;
	}
	if (!spooled && ckptfs_crc_is_stored(n->entry)) {
		*crc = ckpt_crc_unmask(n->entry->crc32c);
		return 0;
	}
	buf = malloc(CRC_CHUNK);
	if (buf == NULL)
		return -ENOMEM;
	/* A changed tensor is read without a lock, so another process may
	 * cut or extend it meanwhile: the bytes up to the size it had when
	 * begun, again if the size moved (a few times: then those read). */
	for (int tries = 0;; tries++) {
		uint64_t size = atomic_load(&n->size);

		v = 0;
		off = 0;
		/* (a file renamed over it, its spool file gone: -ESTALE,
		 * and the kernel looks the name up again) */
		if (spooled && spool_crc(t, n, size, buf, &v, &off) < 0) {
			free(buf);
			return n->deleted ? -ESTALE : -EIO;
		}
		while (!spooled && off < size) {
			size_t got;

			if (ckptfs_node_pread(t, n, buf,
					      size - off < CRC_CHUNK
						      ? (size_t)(size - off)
						      : CRC_CHUNK,
					      off, &got) < 0) {
				free(buf);
				return n->deleted ? -ESTALE : -EIO;
			}
			if (got == 0)
				break;
			v = ckpt_crc32c_extend(v, buf, got);
			off += got;
		}
		if (!spooled && off < size) {	/* the source's bytes */
			free(buf);
			return -EIO;
		}
		if ((off == size && atomic_load(&n->size) == size) ||
		    tries == 3)
			break;
	}
	free(buf);
	if (!spooled)
		atomic_store(&n->crc, CRC_VALID | v);
	*crc = v;
	return 0;
}

bool
ckptfs_xattr_supported(const char *name)
{
	return strncmp(name, "user.", 5) == 0;
}

/* Append to OUT the TF2 key raw /by-object path P is written as (P gets
 * the suffix; see ckptfs_node_tf2_key()). */
static int
key_of_path(struct ckpt_buf *p, bool canon, struct ckpt_buf *out)
{
	int rc = 0;

	/* (an empty path, a file named "%" at the root, has no data) */
	if (p->len == 0 || memmem(p->data, p->len, "/.ATTRIBUTES/", 13) == NULL)
		rc = ckpt_buf_put(p, VARIABLE_SUFFIX,
				  sizeof(VARIABLE_SUFFIX) - 1);
	if (rc == 0)
		rc = canon ? ckpt_objgraph_key_canon((const char *)p->data,
						     p->len, out)
			   : ckpt_buf_put(out, p->data, p->len);
	return rc;
}

int
ckptfs_tf2_key_of_path(const char *path, size_t len, struct ckpt_buf *out)
{
	struct ckpt_buf p = { 0 };
	int rc = ckpt_buf_put(&p, path, len);

	if (rc == 0)
		rc = key_of_path(&p, true, out);
	ckpt_buf_free(&p);
	return rc;
}

/* The key tensor N is stored under: its TF1 name, or on a TF2 mount the
 * key its /by-object path is written as (the stored key while it is
 * unchanged). */
static int
xattr_key(const struct ckptfs_tree *t, const struct ckptfs_node *n,
	  struct ckpt_buf *out)
{
	struct ckpt_buf p = { 0 };
	int rc;

	if (n->entry != NULL && !n->loc.dir && !n->oloc.dir)
		return ckpt_buf_put(out, n->entry->key, n->entry->key_len);
	if (!t->src.tf2 || n->oloc.dir == NULL)
		return ckptfs_node_rawpath(t, n, CKPTFS_BY_NAME, out);
	rc = ckptfs_node_rawpath(t, n, CKPTFS_BY_OBJECT, &p);
	if (rc == 0)
		rc = n->entry != NULL && p.len == n->entry->key_len &&
				     memcmp(p.data, n->entry->key, p.len) == 0
			     ? ckpt_buf_put(out, p.data, p.len)
			     : key_of_path(&p, true, out);
	ckpt_buf_free(&p);
	return rc;
}

int
ckptfs_node_tf2_key(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		    bool canon, struct ckpt_buf *out)
{
	struct ckpt_buf p = { 0 };
	int rc;

	/* A lazy /by-object not built yet: nothing looked into it and no
	 * name changed, so N's path there would be the one the build gives
	 * its TF1 name (build_by_object()). */
	if (atomic_load(&t->object_pending) && n->entry != NULL)
		rc = ckpt_tf2_key_for_name(t->tf2_root, n->entry->key,
					   n->entry->key_len, &p);
	else
		rc = ckptfs_node_rawpath(t, n, CKPTFS_BY_OBJECT, &p);
	if (rc == 0)
		rc = key_of_path(&p, canon, out);
	ckpt_buf_free(&p);
	return rc;
}

/* Extended attribute values. */
int
ckptfs_xattr_get(const struct ckptfs_tree *t, struct ckptfs_node *n,
		 const char *name, struct ckpt_buf *out)
{
	char text[CKPT_MAX_RANK * 21 + 16];
	uint32_t crc;
	int rc;

	if (!ckptfs_xattr_supported(name))
		return -EOPNOTSUPP;
	if (n->kind != CKPTFS_TENSOR)
		return -ENODATA;
	if (strcmp(name, CKPTFS_XATTR_DTYPE) == 0) {
		const char *d = ckpt_dtype_name(n->dtype);

		if (n->dtype < 0)
			return -ENODATA;
		if (d == NULL) {
			snprintf(text, sizeof(text), "dtype_%d", n->dtype);
			d = text;
		}
		return ckpt_buf_put(out, d, strlen(d));
	}
	if (strcmp(name, CKPTFS_XATTR_SHAPE) == 0) {
		size_t es = n->dtype >= 0 ? ckpt_dtype_size(n->dtype) : 0;
		uint64_t size = atomic_load(&n->size);

		if (n->rank < 0)
			return -ENODATA;
		/* A vector whose length changed is written with the new
		 * one (ckptfs(1), WRITING): show that. */
		if (n->rank == 1 && es > 0 && size % es == 0 &&
		    (uint64_t)n->dims[0] != size / es) {
			snprintf(text, sizeof(text), "%" PRIu64, size / es);
			return ckpt_buf_put(out, text, strlen(text));
		}
		if (ckpt_shape_format(n->dims, n->rank, text, sizeof(text)) < 0)
			return -EIO;
		return ckpt_buf_put(out, text, strlen(text));
	}
	if (strcmp(name, CKPTFS_XATTR_KEY) == 0)
		return xattr_key(t, n, out);
	if (strcmp(name, CKPTFS_XATTR_ORDER) == 0) {
		bool big = (t->bundle != NULL &&
			    t->bundle->hdr.endianness == 1) != n->other_order;

		if (ckptfs_node_bad(n))
			return -ENODATA;
		return ckpt_buf_put(out, big ? "big" : "little",
				    big ? 3 : 6);
	}
	if (strcmp(name, CKPTFS_XATTR_CRC) == 0) {
		if ((rc = node_crc(t, n, &crc)) < 0)
			return rc;
		snprintf(text, sizeof(text), "%08" PRIx32, crc);
		return ckpt_buf_put(out, text, 8);
	}
	return -ENODATA;
}

/* Extended attribute names. */
int
ckptfs_xattr_list(const struct ckptfs_node *n, struct ckpt_buf *out)
{
	static const char names[] = CKPTFS_XATTR_KEY "\0" CKPTFS_XATTR_CRC
		"\0" CKPTFS_XATTR_ORDER;
	int rc = 0;

	if (n->kind != CKPTFS_TENSOR)
		return 0;
	/* A removed tensor, still open, has no key (it is in no view):
	 * the rest, for getfattr -d of its file descriptor. */
	if (ckptfs_node_bad(n))	/* its key only */
		return n->deleted ? 0
				  : ckpt_buf_put(out, names,
						 sizeof(CKPTFS_XATTR_KEY));
	if (n->dtype >= 0)
		rc = ckpt_buf_put(out, CKPTFS_XATTR_DTYPE,
				  sizeof(CKPTFS_XATTR_DTYPE));
	if (rc == 0 && n->rank >= 0)
		rc = ckpt_buf_put(out, CKPTFS_XATTR_SHAPE,
				  sizeof(CKPTFS_XATTR_SHAPE));
	if (rc == 0 && n->deleted)
		return ckpt_buf_put(out, names + sizeof(CKPTFS_XATTR_KEY),
				    sizeof(names) - sizeof(CKPTFS_XATTR_KEY));
	return rc < 0 ? rc : ckpt_buf_put(out, names, sizeof(names));
}
