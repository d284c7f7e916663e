/* overlay.c -- changes to a mounted checkpoint (see overlay.h).
 *
 * Model: a tensor is one node with a location in each view (struct
 * ckptfs_loc).  Its TF1 name is its raw path in /by-name and its TF2 key
 * its raw path in /by-object.  An operation acts in one view (the
 * "primary" one); the tensor's place in the other view then follows the
 * naming rules (other_path()).  Directories belong to one view; those
 * made only to hold a tensor's other-view name are pruned when they
 * empty, those made by mkdir stay.
 *
 * Bytes: a tensor is copied up to a spool file on its first write,
 * truncate or metadata change, never for reads; new files are spool files
 * from the start.  A new file given all of an unchanged tensor by
 * copy_file_range shares it instead (ckptfs_ov_share()): it takes the
 * tensor's entry and reads the source's bytes, its spool file staying
 * empty until a change copies it up into that file.  Every change is
 * appended to <spool>/journal as one record (O_APPEND, length + CRC
 * framed) after it was applied, so that a later mount with the same spool
 * replays them; a torn last record is dropped.  Invariants: a spooled
 * tensor's fd is set once and closed only when the tensor is gone and no
 * handle is open; nodes are freed only with the tree. */
#include "config.h"
#include "overlay.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bundle_writer.h"
#include "coding.h"
#include "crc32c.h"
#include "objgraph.h"
#include "tensor.h"

#define JOURNAL "journal"
/* The journal's name once its changes are written out, until the spool is
 * gone (spool_remove()). */
#define WRITTEN "written"
#define JOURNAL_MAGIC "ckptfs-journal-1"
#define COPY_CHUNK (1u << 20)
#define SFX CKPTFS_VARIABLE_SUFFIX
#define SFX_LEN (sizeof(SFX) - 1)

enum jop {
	J_HEADER = 'H',
	J_CREATE = 'C',	/* path, spool id */
	J_MKDIR = 'M',	/* path */
	J_UNLINK = 'U',	/* path */
	J_RMDIR = 'D',	/* path */
	J_RENAME = 'R',	/* path, new path, flags */
	J_SETX = 'X',	/* path, name, value */
	J_RMX = 'Z',	/* path, name */
	J_COPYUP = 'P',	/* path, spool id */
	J_SHARE = 'S',	/* path, path of the tensor whose bytes it shares */
};

struct ckptfs_overlay {
	char *spool_dir;	/* owned; absolute */
	/* The claim on the spool (spool_claim()), or -1; BUSY: another
	 * overlay had it when this one was opened. */
	int claim_fd;
	/* Claimed by a lock on the spool's directory instead (parentfd):
	 * another user took the socket's name. */
	bool claim_locked;
	bool busy;
	int dirfd;		/* -1 until the spool exists */
	/* The directory the spool is in, opened at mount: the spool is
	 * made and removed there by its name, whatever a directory above
	 * has become since; -1 if it could not be opened (then by path). */
	int parentfd;
	/* PARENTFD synced since the spool was made (its entry there is on
	 * disk: ckptfs_overlay_sync()). */
	bool parent_synced;
	int jfd;		/* journal, O_APPEND; -1 until then */
	off_t jsize;		/* its size: where the next record goes */
	/* Spool files holding bytes copied up from the source since the
	 * last ckptfs_overlay_sync(), which syncs them before the journal
	 * that names them: else a power failure after the sync of another
	 * file could leave a record naming a file cut short (owned,
	 * protected by mu). */
	uint64_t *unsynced;
	size_t nunsynced, capunsynced;
	uint64_t next_id;	/* protected by mu */
	pthread_mutex_t mu;	/* spool creation, ids, journal appends */
	pthread_mutex_t copy_mu;	/* copy-ups */
	pthread_mutex_t fd_mu;	/* nodes' spool_fd and nopen changes */
	atomic_bool changed;	/* the output would differ */
	bool structure;		/* TF2 object structure or names changed */
	/* The digest of the names before the first such change
	 * (names_before()), if NAMES_TAKEN. */
	bool names_taken;
	uint64_t names_sum, names_n;
	/* The same with each tensor's source key in its hash: which tensor
	 * has which names (a swap of names keeps NAMES_SUM). */
	uint64_t owners_sum;
	bool graph_removed;	/* the source's object graph file was */
	bool replaying;		/* applying the journal: do not append */
	/* A journal append failed and its part could not be taken back:
	 * refuse changes. */
	bool broken;
	size_t replayed;
	/* Bytes of an incomplete last record dropped by the replay. */
	size_t dropped;
	/* While replaying: tensors whose spool file is gone (owned array,
	 * borrowed nodes). */
	struct ckptfs_node **missing;
	size_t nmissing;
	/* Every tensor the last write-out refused, one "PATH: reason" line
	 * each (ckptfs_ov_refusals()). */
	struct ckpt_buf refusals;
	/* Tensors the last write-out wrote with a dtype or shape other than
	 * the source's under their name or key, one line each, and how many
	 * (ckptfs_ov_notes()). */
	struct ckpt_buf notes;
	size_t nnotes;
	/* Called once the outputs are complete, before the spool goes
	 * (ckptfs_ov_on_written()). */
	void (*on_written)(void *arg);
	void *on_written_arg;
	/* The invalidations of the namespace change in progress (changes
	 * are serialised by the caller), for dir_touched(). */
	struct ckptfs_invals *cur_iv;
	/* Keys tensors left (removed or renamed away), each with the last
	 * tensor that left it (take_vacated()): open addressing, VCAP
	 * slots (0 or a power of two), each owned or NULL. */
	struct vacated **vac;
	size_t vcap, nvac;
	/* A TF2 source's objects that /by-object does not show (no value
	 * in the checkpoint below them) and that hold other objects (a
	 * signature map, a function, a layer without weights of its own),
	 * by raw path, sorted (struct hidden), once HIDDEN_MADE
	 * (hidden_object()): only those whose parent is shown. */
	struct hidden *hidden;
	size_t nhidden;
	bool hidden_made;
	/* The mount ended by a signal (ckptfs_ov_cut_off()). */
	bool cut_off;
	/* Check every unchanged tensor at the write-out (-o verify). */
	bool verify_all;
};

/* A raw /by-object path (may hold NULs: LEN bytes, owned). */
struct hidden {
	char *path;
	size_t len;
};

/* A key a tensor left (removed or renamed away) and that tensor (nodes
 * live as long as the tree); or, with TF1 set, on a TF2 mount, a TF1 name
 * (raw /by-name path) a tensor was removed from. */
struct vacated {
	struct ckptfs_node *n;
	/* On a TF2 mount, the raw /by-name path of a tensor removed from
	 * the key (its TF1 name; owned), for a file made there later
	 * (vac_name()); with TF1, the raw /by-object path (its key) of the
	 * tensor removed from the name, for a file made in /by-name
	 * (vac_key()).  Else NULL. */
	char *name;
	size_t nlen;
	/* The dtype and shape (LDIMS owned) the tensor left behind here: ones
	 * it had taken at this key, not its own, which a file made here
	 * later takes (drop_taken()); -1 if none. */
	int ldtype;
	int lrank;
	int64_t *ldims;
	bool lorder;	/* with LDTYPE: its bytes in the other order */
	uint64_t hash;
	size_t len;
	bool tf1;
	char key[];
};

/* --- small helpers ------------------------------------------------------- */

void
ckptfs_invals_free(struct ckptfs_invals *iv)
{
	for (size_t i = 0; i < iv->n; i++)
		free(iv->v[i].name);
	free(iv->v);
	free(iv->dirs);
	iv->v = NULL;
	iv->dirs = NULL;
	iv->n = iv->cap = iv->ndirs = iv->dcap = 0;
}

/* The slot of INO in the set V of CAP slots (a power of two): where it
 * is, or the empty slot where it goes. */
static size_t
dirs_slot(const uint64_t *v, size_t cap, uint64_t ino)
{
	size_t i = (size_t)(ino * 0x9e3779b97f4a7c15ull) & (cap - 1);

	while (v[i] != 0 && v[i] != ino)
		i = (i + 1) & (cap - 1);
	return i;
}

/* Add INO to IV's set of queued directories; false if it was there (or
 * the set cannot grow: then the caller queues it again, which is only a
 * repeated hint). */
static bool
dirs_add(struct ckptfs_invals *iv, uint64_t ino)
{
	size_t i;

	if (2 * (iv->ndirs + 1) > iv->dcap) {
		size_t cap = iv->dcap ? 2 * iv->dcap : 16;
		uint64_t *v = calloc(cap, sizeof(*v));

		if (v == NULL)
			return true;
		for (i = 0; i < iv->dcap; i++)
			if (iv->dirs[i] != 0)
				v[dirs_slot(v, cap, iv->dirs[i])] = iv->dirs[i];
		free(iv->dirs);
		iv->dirs = v;
		iv->dcap = cap;
	}
	i = dirs_slot(iv->dirs, iv->dcap, ino);
	if (iv->dirs[i] == ino)
		return false;
	iv->dirs[i] = ino;
	iv->ndirs++;
	return true;
}

/* Queue the invalidation of NAME in DIR (or of inode INO if DIR NULL). */
static void
inval_add(struct ckptfs_invals *iv, const struct ckptfs_node *dir,
	  const char *name, size_t len, uint64_t ino)
{
	struct ckptfs_inval *e;

	if (iv == NULL)
		return;
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? 2 * iv->cap : 8;
		struct ckptfs_inval *v = reallocarray(iv->v, cap, sizeof(*v));

		if (v == NULL)
			return;	/* only a cache hint */
		iv->v = v;
		iv->cap = cap;
	}
	e = &iv->v[iv->n];
	*e = (struct ckptfs_inval){ .parent = dir ? dir->ino : 0, .ino = ino };
	if (dir != NULL) {
		e->name = strndup(name, len);
		if (e->name == NULL)
			return;
		e->len = len;
	}
	iv->n++;
}

/* Note that directory D's entries changed: its cached listing is stale. */
static void
dir_touched(struct ckptfs_tree *t, const struct ckptfs_node *d)
{
	struct ckptfs_invals *iv = t->ov->cur_iv;

	if (iv == NULL || !dirs_add(iv, d->ino))
		return;
	inval_add(iv, NULL, NULL, 0, d->ino);
	if (iv->n > 0 && iv->v[iv->n - 1].ino == d->ino &&
	    iv->v[iv->n - 1].parent == 0)
		iv->v[iv->n - 1].dir = true;
}

/* True if KEY ends in the VARIABLE_VALUE suffix. */
static bool
has_suffix(const char *key, size_t len)
{
	return len >= SFX_LEN && memcmp(key + len - SFX_LEN, SFX, SFX_LEN) == 0;
}

/* The raw component of displayed NAME, which must be canonical (what
 * ckptfs_name_escape() shows for it).  *SUFFIX: it ended in '@'. */
static int
raw_of(const char *name, size_t len, struct ckpt_buf *raw, bool *suffix)
{
	struct ckpt_buf back = { 0 };
	int rc;

	raw->len = 0;
	if (len > CKPTFS_NAME_MAX)
		return -ENAMETOOLONG;
	rc = ckptfs_name_unescape(name, len, raw, suffix);
	if (rc < 0)
		return rc;
	rc = ckptfs_name_escape(raw->data, raw->len, *suffix, &back);
	if (rc == 0 && (back.len != len || memcmp(back.data, name, len) != 0))
		rc = -EINVAL;
	ckpt_buf_free(&back);
	return rc;
}

int
ckptfs_name_from_key(const struct ckptfs_tree *t, const char *key, size_t len,
		     struct ckpt_buf *out)
{
	size_t rl = strlen(t->tf2_root);

	if (!t->src.tf2 && has_suffix(key, len) && len > rl + 1 + SFX_LEN &&
	    memcmp(key, t->tf2_root, rl) == 0 && key[rl] == '/') {
		const char *x = key + rl + 1;
		size_t xl = len - rl - 1 - SFX_LEN;
		size_t keep = out->len;

		if (memchr(x, '/', xl) == NULL &&
		    ckpt_name_unescape(x, xl, out) == 0)
			return 0;
		out->len = keep;
	}
	return ckpt_buf_put(out, key, ckptfs_object_path_len(key, len));
}

/* The canonical key "<tf2_root>/<escaped NAME>/.ATTRIBUTES/VARIABLE_VALUE". */
static int
key_for_name(const struct ckptfs_tree *t, const char *name, size_t len,
	     struct ckpt_buf *out)
{
	return ckpt_tf2_key_for_name(t->tf2_root, name, len, out);
}

/* The key a file made or renamed (alone) at raw /by-name PATH gets on a
 * TF2 mount (ckptfs(1), WRITING), as a raw /by-object path in OUT:
 * key_for_name()'s, or, when another tensor than SELF holds that one (a
 * backup an editor renamed the file to keeps its key), the first of the
 * keys of PATH_1, PATH_2, ... that none holds.  Return 0, -EEXIST (none
 * of a thousand), -ENOMEM. */
static struct ckptfs_node *node_at(struct ckptfs_tree *t, int view,
				   const char *path, size_t len);
static int
derive_key(struct ckptfs_tree *t, const char *path, size_t len,
	   const struct ckptfs_node *self, struct ckpt_buf *out)
{
	struct ckpt_buf p = { 0 };
	const struct ckptfs_node *at;
	char sfx[16];
	int rc;

	out->len = 0;
	rc = key_for_name(t, path, len, out);
	for (unsigned i = 1; rc == 0; i++) {
		at = node_at(t, CKPTFS_BY_OBJECT, (const char *)out->data,
			     out->len);
		if (at == NULL || at == self)
			break;
		if (i == 1000) {
			rc = -EEXIST;
			break;
		}
		p.len = 0;
		out->len = 0;
		snprintf(sfx, sizeof(sfx), "_%u", i);
		if ((rc = ckpt_buf_put(&p, path, len)) == 0 &&
		    (rc = ckpt_buf_put(&p, sfx, strlen(sfx))) == 0)
			rc = key_for_name(t, (const char *)p.data, p.len, out);
	}
	ckpt_buf_free(&p);
	return rc;
}

/* Where tensor N's displayed name is, for messages: in VIEW if it is
 * there. */
static void
where_in(struct ckptfs_tree *t, struct ckptfs_node *n, int view,
	 struct ckpt_buf *out)
{
	out->len = 0;
	if (CKPTFS_LOC(n, view)->dir == NULL)
		view = 1 - view;
	if (ckptfs_node_path(t, n, view, out) < 0 ||
	    ckpt_buf_put(out, "", 1) < 0) {
		out->len = 0;
		ckpt_buf_put(out, "?", 2);
	}
}

/* The data file of plain entry E of T's source (malloc()ed), or NULL
 * (a partitioned one's may be in several; or out of memory). */
static char *
data_file_of(const struct ckptfs_tree *t, const struct ckpt_entry *e)
{
	return e->nparts == 0 ? ckpt_shard_path(t->bundle->prefix, e->shard_id,
						t->bundle->hdr.num_shards)
			      : NULL;
}

/* True if tensor N of the source is known damaged (a read found it), or
 * has no bytes and a stored CRC other than that of nothing: checked here
 * (no I/O), as no read ever comes for it; with -o verify, any not checked
 * yet is checked here (its bytes read). */
static bool
known_damaged(const struct ckptfs_tree *t, struct ckptfs_node *n)
{
	struct ckpt_err err = { 0 };
	bool first;

	if (n->entry != NULL && !ckptfs_ov_spooled(n) &&
	    (n->entry->size == 0 ||
	     (t->ov != NULL && t->ov->verify_all)) &&
	    atomic_load(&n->verified) != 1 && atomic_load(&n->verified) >= 0)
		(void)ckptfs_node_verify(t, n, &first, &err);
	return ckptfs_node_damaged(n);
}

/* Why bad entry E of B (NULL in unit tests) cannot be used. */
static const char *
bad_reason(const struct ckpt_bundle *b, const struct ckpt_entry *e)
{
	const char *why = b != NULL ? ckpt_bundle_entry_bad(b, e) : NULL;

	return why != NULL ? why : "a damaged entry";
}

/* The same, /by-name first, unless N's name there follows its
 * /by-object path (a file made there on a TF2 mount): where the user
 * named it. */
static void
where(struct ckptfs_tree *t, struct ckptfs_node *n, struct ckpt_buf *out)
{
	where_in(t, n, n->derived_name ? CKPTFS_BY_OBJECT : CKPTFS_BY_NAME,
		 out);
}

/* A copy of the RANK dimensions at DIMS (room for one at least, so that a
 * scalar's is not NULL), or NULL. */
static int64_t *
dims_dup(const int64_t *dims, int rank)
{
	int64_t *d = calloc(rank > 0 ? (size_t)rank : 1, sizeof(*d));

	if (d != NULL && rank > 0)
		memcpy(d, dims, (size_t)rank * sizeof(*d));
	return d;
}

/* Give N the shape RANK, DIMS (N owns DIMS from here; -1, NULL:
 * unknown). */
static void
set_shape(struct ckptfs_node *n, int64_t *dims, int rank)
{
	if (n->dims_owned)
		free(n->dims);
	n->dims = dims;
	n->dims_owned = dims != NULL;
	n->rank = rank;
}

/* Tensor N takes DTYPE and the shape RANK, DIMS (-1: none) where it has
 * none of its own (none, or taken from another: dtype_taken,
 * shape_taken); with OWN they are its own from then on.  0 or -ENOMEM
 * (then nothing). */
static int
take_meta_of(struct ckptfs_node *n, int dtype, int rank, const int64_t *dims,
	     bool other, bool own)
{
	bool dt = (n->dtype < 0 || n->dtype_taken) && dtype >= 0;
	bool sh = (n->rank < 0 || n->shape_taken) && rank >= 0;
	int64_t *d = NULL;

	if (sh && (d = dims_dup(dims, rank)) == NULL)
		return -ENOMEM;
	if (dt) {
		n->dtype = dtype;
		n->dtype_taken = !own;
		/* (the order of the bytes goes with their dtype) */
		n->other_order = other;
	}
	if (sh) {
		set_shape(n, d, rank);
		n->shape_taken = !own;
	}
	return 0;
}

/* take_meta_of() tensor M's dtype (with its byte order) and shape. */
static int
take_meta(struct ckptfs_node *n, const struct ckptfs_node *m, bool own)
{
	return take_meta_of(n, m->dtype, m->rank, m->dims, m->other_order,
			    own);
}

/* The hash of vacated KEY (LEN bytes; TF1: a TF1 name). */
static uint64_t
vac_hash(const void *key, size_t len, bool tf1)
{
	return ckpt_hash(key, len) ^ (tf1 ? 0x9e3779b97f4a7c15ull : 0);
}

/* The slot of KEY (LEN bytes, hash H; TF1: a TF1 name) in OV's vacated
 * keys: where it is, or the empty slot where it goes. */
static size_t
vac_slot(const struct ckptfs_overlay *ov, const void *key, size_t len,
	 uint64_t h, bool tf1)
{
	size_t i = (size_t)h & (ov->vcap - 1);

	while (ov->vac[i] != NULL &&
	       (ov->vac[i]->hash != h || ov->vac[i]->len != len ||
		ov->vac[i]->tf1 != tf1 ||
		memcmp(ov->vac[i]->key, key, len) != 0))
		i = (i + 1) & (ov->vcap - 1);
	return i;
}

/* Remember that tensor N left KEY (removed, or renamed away), and NAME
 * (NULL or empty: none) as the TF1 name it left with; with TF1, that it
 * was removed from the TF1 name KEY, and NAME as its /by-object path.
 * Without memory it is not remembered: a file made there later then has
 * no dtype and shape until they are set, which the write-out says, and
 * the name its path gives in the other view. */
static void
vac_note(struct ckptfs_overlay *ov, struct ckptfs_node *n,
	 const struct ckpt_buf *key, const struct ckpt_buf *name, bool tf1)
{
	uint64_t h = vac_hash(key->data, key->len, tf1);
	struct vacated *v;
	char *nm = NULL;
	size_t i;

	if (2 * (ov->nvac + 1) > ov->vcap) {
		size_t cap = ov->vcap ? 2 * ov->vcap : 64;
		struct vacated **old = ov->vac;
		size_t ocap = ov->vcap;

		if ((ov->vac = calloc(cap, sizeof(*ov->vac))) == NULL) {
			ov->vac = old;
			return;
		}
		ov->vcap = cap;
		for (i = 0; i < ocap; i++)
			if (old[i] != NULL)
				ov->vac[vac_slot(ov, old[i]->key, old[i]->len,
						 old[i]->hash,
						 old[i]->tf1)] = old[i];
		free(old);
	}
	if (name != NULL && name->len > 0 &&
	    (nm = malloc(name->len)) != NULL)
		memcpy(nm, name->data, name->len);
	i = vac_slot(ov, key->data, key->len, h, tf1);
	if (ov->vac[i] != NULL) {
		ov->vac[i]->n = n;
		free(ov->vac[i]->name);
		ov->vac[i]->name = nm;
		ov->vac[i]->nlen = nm != NULL ? name->len : 0;
		free(ov->vac[i]->ldims);
		ov->vac[i]->ldims = NULL;
		ov->vac[i]->ldtype = -1;
		ov->vac[i]->lrank = -1;
		ov->vac[i]->lorder = false;
		return;
	}
	if ((v = malloc(sizeof(*v) + key->len)) == NULL) {
		free(nm);
		return;
	}
	v->n = n;
	v->name = nm;
	v->nlen = nm != NULL ? name->len : 0;
	v->ldtype = -1;
	v->lrank = -1;
	v->ldims = NULL;
	v->lorder = false;
	v->hash = h;
	v->len = key->len;
	v->tf1 = tf1;
	memcpy(v->key, key->data, key->len);
	ov->vac[i] = v;
	ov->nvac++;
}

/* The key tensor N is written under (its user.ckpt.key) in *KEY, or
 * nothing. */
static void
key_of(struct ckptfs_tree *t, struct ckptfs_node *n, struct ckpt_buf *key)
{
	key->len = 0;
	if (n->kind != CKPTFS_TENSOR ||
	    ckptfs_xattr_get(t, n, CKPTFS_XATTR_KEY, key) < 0)
		key->len = 0;
}

/* Tensor N has come to the key (TF2) or name (TF1) another tensor left,
 * removed or renamed away (as an editor that keeps a backup does): if N
 * has no dtype or no shape of its own, it takes that tensor's, as a file
 * renamed over it does (ckptfs(1), WRITING).  FROM is N's key before, if
 * it had one: a rename to the key it has takes nothing; a tensor back at
 * a key it left takes back what it left there.  A replay of the journal
 * decides the same. */
static void
take_vacated(struct ckptfs_tree *t, struct ckptfs_node *n,
	     const struct ckpt_buf *from)
{
	struct ckptfs_overlay *ov = t->ov;
	struct ckpt_buf key = { 0 };
	struct ckptfs_node *m;
	size_t i;

	if (ov->vcap == 0 || n->kind != CKPTFS_TENSOR ||
	    (n->dtype >= 0 && n->rank >= 0 && !n->dtype_taken &&
	     !n->shape_taken))
		return;
	key_of(t, n, &key);
	if (key.len == 0 || (from != NULL && from->len == key.len &&
			     memcmp(from->data, key.data, key.len) == 0))
		goto out;
	i = vac_slot(ov, key.data, key.len, vac_hash(key.data, key.len, false),
		     false);
	if (ov->vac[i] == NULL)
		goto out;
	/* what it left behind here, then (over that) what it has now (out
	 * of memory: not taken); N itself back (a rename undone) takes
	 * back what it left */
	m = ov->vac[i]->n;
	(void)take_meta_of(n, ov->vac[i]->ldtype, ov->vac[i]->lrank,
			   ov->vac[i]->ldims, ov->vac[i]->lorder, false);
	if (m != n)
		(void)take_meta(n, m, false);
out:
	ckpt_buf_free(&key);
}

/* --- journal --------------------------------------------------------------- */

/* Append one length-prefixed field. */
static int
put_field(struct ckpt_buf *b, const void *p, size_t len)
{
	int rc = ckpt_buf_put_varint(b, len);

	return rc < 0 ? rc : ckpt_buf_put(b, p, len);
}

/* Read one field from [*P, LIMIT). */
static int
get_field(const uint8_t **p, const uint8_t *limit, const char **s,
	  size_t *len)
{
	uint64_t l;

	if (ckpt_get_varint64(p, limit, &l) < 0 ||
	    (uint64_t)(limit - *p) < l)
		return -EBADMSG;
	*s = (const char *)*p;
	*len = (size_t)l;
	*p += l;
	return 0;
}

/* Frame journal record BODY into REC: fixed32 length, fixed32 masked
 * CRC-32C of the body, the body. */
static int
frame_record(const struct ckpt_buf *body, struct ckpt_buf *rec)
{
	int rc = ckpt_buf_put_fixed32(rec, (uint32_t)body->len);

	if (rc == 0)
		rc = ckpt_buf_put_fixed32(
			rec, ckpt_crc_mask(ckpt_crc32c(body->data, body->len)));
	if (rc == 0)
		rc = ckpt_buf_put(rec, body->data, body->len);
	return rc;
}

/* The directory OV's spool is in (malloc()ed), or NULL. */
static char *
spool_parent(const struct ckptfs_overlay *ov)
{
	const char *slash = strrchr(ov->spool_dir, '/');

	if (slash == NULL)
		return NULL;	/* (the spool's path is absolute) */
	return slash == ov->spool_dir
		       ? strdup("/")
		       : strndup(ov->spool_dir,
				 (size_t)(slash - ov->spool_dir));
}

/* The spool's name in its directory (OV->parentfd, or the current
 * directory's path when that is AT_FDCWD). */
static const char *
spool_base(const struct ckptfs_overlay *ov)
{
	return ov->parentfd == AT_FDCWD ? ov->spool_dir
					: strrchr(ov->spool_dir, '/') + 1;
}

/* The claim SA (SALEN bytes) is held: -EBUSY if by a process of this
 * user (a ckptfs daemon), else 0.  Abstract names are open to every user
 * of the host: one that took the name first must not keep this user from
 * every change and from the replay of a spool after a crash (the caller
 * then claims the spool by a lock instead). */
static int
claimed_by_us(const struct sockaddr_un *sa, socklen_t salen)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int rc = -EBUSY;	/* when it cannot be told */

	if (fd < 0)
		return rc;
	if (connect(fd, (const struct sockaddr *)sa, salen) < 0)
		rc = errno == ECONNREFUSED ? 0 : -EBUSY;	/* not listening */
	else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 &&
		 cred.uid != geteuid())
		rc = 0;
	close(fd);
	return rc;
}

/* Claim OV's spool for this overlay, so that two mounts never share one
 * (their spool file numbers and journal would mix, and the first to
 * finish would remove the other's changes): bind an abstract socket named
 * after the spool's directory (device, inode) and name.  The kernel
 * releases it when the process ends, however it ends, and no file is
 * left behind.  Return 0, or -EBUSY while another overlay holds it.  A
 * claim that cannot be made for another reason is not one: return 0. */
static int
spool_claim(struct ckptfs_overlay *ov)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *base = strrchr(ov->spool_dir, '/');
	struct stat st;
	socklen_t salen;
	int fd, len, e;

	if (ov->claim_fd >= 0 || ov->claim_locked || base == NULL ||
	    ov->parentfd < 0 || fstat(ov->parentfd, &st) < 0)
		return 0;	/* (no spool can be made there either) */
	len = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
		       "ckptfs-spool/%jx/%jx/%016" PRIx64, (uintmax_t)st.st_dev,
		       (uintmax_t)st.st_ino,
		       ckpt_fnv1a64(base + 1, strlen(base + 1)));
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			    (size_t)len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	/* Listening, so that a claimant can be asked who it is. */
	if (bind(fd, (struct sockaddr *)&sa, salen) == 0 && listen(fd, 64) == 0) {
		ov->claim_fd = fd;
		return 0;
	}
	e = errno;
	close(fd);
	if (e != EADDRINUSE)
		return 0;
	if (claimed_by_us(&sa, salen) < 0)
		return -EBUSY;
	/* Taken by another user: a lock on the spool's directory, which
	 * every mount of this spool so squatted takes too (one of another
	 * spool there so squatted is busy then too). */
	if (ov->parentfd < 0)
		return 0;
	if (flock(ov->parentfd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : 0;
	ov->claim_locked = true;
	return 0;
}

/* Append record REC to OV's journal.  Part of a record would stop the
 * replay of every record after it, so a write cut short (a full disk) is
 * taken back; if even that fails, the overlay takes no more changes.
 * Called with ov->mu held.  Return 0 or a negative errno. */
static int
journal_append(struct ckptfs_overlay *ov, const struct ckpt_buf *rec)
{
	ssize_t w = write(ov->jfd, rec->data, rec->len);

	if (w == (ssize_t)rec->len) {
		ov->jsize += w;
		return 0;
	}
	if (w > 0 && ftruncate(ov->jfd, ov->jsize) < 0)
		ov->broken = true;
	return w < 0 ? -errno : -ENOSPC;
}

/* Make the spool directory and journal if they are not there yet.  Called
 * with ov->mu held. */
static int
spool_ensure(struct ckptfs_tree *t)
{
	struct ckptfs_overlay *ov = t->ov;
	struct ckpt_buf rec = { 0 }, body = { 0 };
	struct stat st;
	int rc;

	if (ov->jfd >= 0)
		return 0;
	/* Busy at mount: never, even once the other mount is gone (it
	 * may have written this mount's output by then). */
	if (ov->busy || (rc = spool_claim(ov)) < 0)
		return -EBUSY;
	if (mkdirat(ov->parentfd, spool_base(ov), 0700) == 0)
		ov->parent_synced = false;
	else if (errno != EEXIST)
		return -errno;
	ov->dirfd = openat(ov->parentfd, spool_base(ov),
			   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* (another user's, made there since the mount: not ours) */
	if (ov->dirfd < 0)
		return errno == EACCES ? -EPERM : -errno;
	if (fstat(ov->dirfd, &st) < 0 || st.st_uid != geteuid()) {
		close(ov->dirfd);
		ov->dirfd = -1;
		return -EPERM;
	}
	ov->jfd = openat(ov->dirfd, JOURNAL,
			 O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			 0600);
	if (ov->jfd < 0) {
		rc = -errno;
		close(ov->dirfd);
		ov->dirfd = -1;
		return rc;
	}
	ov->jsize = fstat(ov->jfd, &st) == 0 ? st.st_size : 0;
	if (ov->jsize > 0)
		return 0;
	/* Header: which checkpoint these changes apply to. */
	rc = ckpt_buf_put(&body, "H", 1);
	if (rc == 0)
		rc = put_field(&body, JOURNAL_MAGIC, strlen(JOURNAL_MAGIC));
	if (rc == 0)
		rc = put_field(&body, t->src.prefix ? t->src.prefix : "",
			       t->src.prefix ? strlen(t->src.prefix) : 0);
	if (rc == 0)
		rc = put_field(&body, t->tf2_root, strlen(t->tf2_root));
	if (rc == 0)
		rc = ckpt_buf_put_varint(&body, (uint64_t)t->src.mtime.tv_sec);
	if (rc == 0)
		rc = ckpt_buf_put_varint(&body, (uint64_t)t->src.mtime.tv_nsec);
	if (rc == 0)
		rc = frame_record(&body, &rec);
	if (rc == 0)
		rc = journal_append(ov, &rec);
	if (rc < 0) {
		/* No header for later records to follow: start over at the
		 * next change. */
		close(ov->jfd);
		close(ov->dirfd);
		ov->jfd = ov->dirfd = -1;
	}
	ckpt_buf_free(&rec);
	ckpt_buf_free(&body);
	return rc;
}

/* Append record OP with fields (P1, P2, P3 strings, may be NULL) and
 * number NUM.  Nothing while replaying. */
static int
journal(struct ckptfs_tree *t, enum jop op, const struct ckpt_buf *p1,
	const struct ckpt_buf *p2, const struct ckpt_buf *p3, uint64_t num)
{
	struct ckptfs_overlay *ov = t->ov;
	struct ckpt_buf body = { 0 }, rec = { 0 };
	char o = (char)op;
	int rc;

	if (ov->replaying)
		return 0;
	rc = ckpt_buf_put(&body, &o, 1);
	if (rc == 0 && p1)
		rc = put_field(&body, p1->data, p1->len);
	if (rc == 0 && p2)
		rc = put_field(&body, p2->data, p2->len);
	if (rc == 0 && p3)
		rc = put_field(&body, p3->data, p3->len);
	if (rc == 0)
		rc = ckpt_buf_put_varint(&body, num);
	if (rc == 0)
		rc = frame_record(&body, &rec);
	if (rc == 0) {
		pthread_mutex_lock(&ov->mu);
		rc = ov->broken ? -EIO : spool_ensure(t);
		if (rc == 0)
			rc = journal_append(ov, &rec);
		pthread_mutex_unlock(&ov->mu);
	}
	ckpt_buf_free(&body);
	ckpt_buf_free(&rec);
	return rc;
}

/* Journal an operation on the displayed path of DIR/NAME. */
static int
journal_path(struct ckptfs_tree *t, enum jop op, const struct ckptfs_node *dir,
	     const char *name, size_t len, uint64_t num)
{
	struct ckpt_buf p = { 0 };
	int rc;

	if (t->ov->replaying)
		return 0;
	rc = ckptfs_node_path(t, dir, dir->view, &p);
	if (rc == 0)
		rc = ckpt_buf_put(&p, "/", 1);
	if (rc == 0)
		rc = ckpt_buf_put(&p, name, len);
	if (rc == 0)
		rc = journal(t, op, &p, NULL, NULL, num);
	ckpt_buf_free(&p);
	return rc;
}

/* Journal record OP about tensor N, named by its path (in /by-name, or in
 * /by-object when it has no name in /by-name), with fields P2, P3 and
 * number NUM.  Nothing for a tensor removed while open: it has no path,
 * and nothing of it is replayed or written out. */
static int
journal_node(struct ckptfs_tree *t, enum jop op, const struct ckptfs_node *n,
	     const struct ckpt_buf *p2, const struct ckpt_buf *p3, uint64_t num)
{
	struct ckpt_buf p = { 0 };
	int rc;

	if (t->ov->replaying || n->deleted)
		return 0;
	rc = ckptfs_node_path(t, n,
			      n->loc.dir ? CKPTFS_BY_NAME : CKPTFS_BY_OBJECT,
			      &p);
	if (rc == 0)
		rc = journal(t, op, &p, p2, p3, num);
	ckpt_buf_free(&p);
	return rc;
}

/* --- spool files ------------------------------------------------------------ */

/* Name of spool file ID. */
static void
spool_name(uint64_t id, char buf[32])
{
	snprintf(buf, 32, "%016" PRIx64 ".spool", id);
}

/* Remove spool file ID (files still open on it keep its content). */
static void
spool_unlink(struct ckptfs_overlay *ov, uint64_t id)
{
	char nm[32];

	if (ov->dirfd < 0)
		return;
	spool_name(id, nm);
	unlinkat(ov->dirfd, nm, 0);
}

/* Create (or, replaying, open) spool file ID; return its fd or -errno. */
static int
spool_open(struct ckptfs_tree *t, uint64_t id, bool existing)
{
	struct ckptfs_overlay *ov = t->ov;
	char nm[32];
	int fd, rc;

	pthread_mutex_lock(&ov->mu);
	rc = spool_ensure(t);
	pthread_mutex_unlock(&ov->mu);
	if (rc < 0)
		return rc;
	spool_name(id, nm);
	fd = openat(ov->dirfd, nm,
		    O_RDWR | O_NOFOLLOW | O_CLOEXEC |
			    (existing ? 0 : O_CREAT | O_EXCL),
		    0600);
	return fd < 0 ? -errno : fd;
}

/* A fresh spool id. */
static uint64_t
spool_next(struct ckptfs_overlay *ov)
{
	uint64_t id;

	pthread_mutex_lock(&ov->mu);
	id = ov->next_id++;
	pthread_mutex_unlock(&ov->mu);
	return id;
}

/* Copy the first KEEP bytes of N's source content into FD. */
static int
copy_source(struct ckptfs_tree *t, struct ckptfs_node *n, int fd,
	    uint64_t keep)
{
	uint64_t done = 0, foff, run;
	uint8_t *buf = NULL;
	int sfd, rc = 0;

	if (keep == 0)
		return 0;
	if (t->bundle == NULL || n->entry == NULL)
		return -EIO;
	if (n->entry->nparts == 0 &&
	    ckpt_bundle_locate(t->bundle, n->entry, 0, &sfd, &foff, &run) ==
		    0 &&
	    run >= keep)
		return ckpt_copy_range(sfd, foff, fd, 0, keep);
	while (done < keep) {	/* partitioned: part by part */
		size_t want = keep - done < COPY_CHUNK ? (size_t)(keep - done)
						       : COPY_CHUNK, got;

		if (buf == NULL && (buf = malloc(COPY_CHUNK)) == NULL)
			return -ENOMEM;
		if (ckpt_bundle_pread(t->bundle, n->entry, buf, want, done,
				      &got) < 0 ||
		    got == 0) {
			rc = -EIO;
			break;
		}
		if ((rc = ckpt_pwrite_all(fd, buf, got, done)) < 0)
			break;
		done += got;
	}
	free(buf);
	return rc;
}

/* Open N's spool file again by its id; return the fd or -errno. */
static int
spool_reopen(struct ckptfs_tree *t, const struct ckptfs_node *n)
{
	uint64_t id = atomic_load(&n->spool_id);
	char nm[32];
	int fd;

	if (t->ov == NULL || id == 0 || t->ov->dirfd < 0)
		return -EIO;
	spool_name(id, nm);
	fd = openat(t->ov->dirfd, nm, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Keep FD (N's spool file) as N's cached fd while N has open handles,
 * else close it. */
static void
spool_fd_park(struct ckptfs_tree *t, struct ckptfs_node *n, int fd)
{
	pthread_mutex_lock(&t->ov->fd_mu);
	if (atomic_load(&n->nopen) > 0 && atomic_load(&n->spool_fd) < 0)
		atomic_store(&n->spool_fd, fd);
	else
		close(fd);
	pthread_mutex_unlock(&t->ov->fd_mu);
}

bool
ckptfs_ov_spooled(const struct ckptfs_node *n)
{
	return atomic_load(&n->spool_id) != 0 && !atomic_load(&n->shares);
}

/* stat (TS NULL) or set the times of (TS) spooled tensor N's spool file:
 * through its descriptor while it has one (a removed tensor still open
 * has no name), by name otherwise.  0 or -errno. */
static int
spool_times(const struct ckptfs_tree *t, const struct ckptfs_node *n,
	    struct stat *sp, const struct timespec *ts)
{
	uint64_t id = atomic_load(&n->spool_id);
	char name[32];
	int fd, rc;

	if (id == 0 || t->ov == NULL || t->ov->dirfd < 0)
		return -ENOENT;
	spool_name(id, name);
	pthread_mutex_lock(&t->ov->fd_mu);
	fd = atomic_load(&n->spool_fd);
	if (ts != NULL)
		rc = fd >= 0 ? futimens(fd, ts)
			     : utimensat(t->ov->dirfd, name, ts,
					 AT_SYMLINK_NOFOLLOW);
	else
		rc = fd >= 0 ? fstat(fd, sp)
			     : fstatat(t->ov->dirfd, name, sp,
				       AT_SYMLINK_NOFOLLOW);
	rc = rc < 0 ? -errno : 0;
	pthread_mutex_unlock(&t->ov->fd_mu);
	return rc;
}

void
ckptfs_ov_times(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		struct stat *st)
{
	struct stat sp;

	if (spool_times(t, n, &sp, NULL) < 0)
		return;
	st->st_atim = sp.st_atim;
	st->st_mtim = sp.st_mtim;
	st->st_ctim = sp.st_ctim;
	/* (holes not counted, as du(1) expects; a copy sharing a tensor's
	 * bytes has an empty spool file, and the tensor's blocks) */
	if (ckptfs_ov_spooled(n))
		st->st_blocks = sp.st_blocks;
}

int
ckptfs_ov_set_times(struct ckptfs_tree *t, struct ckptfs_node *n,
		    const struct timespec ts[2])
{
	int rc = spool_times(t, n, NULL, ts);

	return rc == -ENOENT && !ckptfs_ov_spooled(n) ? 0 : rc;
}

int
ckptfs_ov_fd(struct ckptfs_tree *t, struct ckptfs_node *n)
{
	int fd = atomic_load(&n->spool_fd);

	if (fd >= 0)
		return fd;
	if (t->ov == NULL)
		return -EIO;
	pthread_mutex_lock(&t->ov->fd_mu);
	fd = atomic_load(&n->spool_fd);
	if (fd < 0 && (fd = spool_reopen(t, n)) >= 0)
		atomic_store(&n->spool_fd, fd);
	pthread_mutex_unlock(&t->ov->fd_mu);
	return fd;
}

int
ckptfs_ov_fd_dup(struct ckptfs_tree *t, struct ckptfs_node *n)
{
	int fd;

	if (t->ov == NULL)
		return -EIO;
	pthread_mutex_lock(&t->ov->fd_mu);
	fd = atomic_load(&n->spool_fd);
	if (fd >= 0) {
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fd = -errno;
	} else {
		fd = spool_reopen(t, n);
	}
	pthread_mutex_unlock(&t->ov->fd_mu);
	return fd;
}

/* Remember spool file ID (open as FD) for the next sync
 * (ckptfs_overlay_sync()); short of memory, sync it now. */
static void
unsynced_add(struct ckptfs_tree *t, int fd, uint64_t id)
{
	struct ckptfs_overlay *ov = t->ov;
	bool kept = true;

	pthread_mutex_lock(&ov->mu);
	if (ov->nunsynced == ov->capunsynced) {
		size_t cap = ov->capunsynced ? 2 * ov->capunsynced : 16;
		uint64_t *v = reallocarray(ov->unsynced, cap, sizeof(*v));

		if (v != NULL) {
			ov->unsynced = v;
			ov->capunsynced = cap;
		}
	}
	if (ov->nunsynced < ov->capunsynced)
		ov->unsynced[ov->nunsynced++] = id;
	else
		kept = false;
	pthread_mutex_unlock(&ov->mu);
	if (!kept)
		(void)fdatasync(fd);
}

/* Move N's content to a spool file keeping its first KEEP bytes (all of
 * them for UINT64_MAX).  Serialised by copy_mu; a no-op once spooled.
 * Return 1 if this call moved it (KEEP applied), 0 if it was spooled
 * already, or a negative errno. */
static int
copy_up(struct ckptfs_tree *t, struct ckptfs_node *n, uint64_t keep)
{
	struct ckptfs_overlay *ov = t->ov;
	uint64_t id;
	bool shares;
	int fd, rc;

	if (ckptfs_ov_spooled(n))
		return 0;
	pthread_mutex_lock(&ov->copy_mu);
	if (ckptfs_ov_spooled(n)) {
		pthread_mutex_unlock(&ov->copy_mu);
		return 0;
	}
	if (keep > n->size)
		keep = n->size;
	/* Bytes kept from the source are checked first (at once, when the
	 * daemon checked them before taking its locks): copied unchecked,
	 * damaged bytes would get a fresh, valid checksum when written. */
	if (keep > 0 && n->entry != NULL) {
		struct ckpt_err verr = { 0 };
		bool first;

		if ((rc = ckptfs_node_verify(t, n, &first, &verr)) < 0)
			goto out;
	}
	/* A copy sharing a tensor's bytes has its spool file already (the
	 * one its open handles may hold): its bytes go there; unless it was
	 * removed, and not open then (no descriptor of it is kept). */
	shares = atomic_load(&n->shares);
	fd = shares ? ckptfs_ov_fd_dup(t, n) : -ENOENT;
	if (fd >= 0) {
		id = n->spool_id;
	} else if (fd == -ENOENT) {
		shares = false;
		id = spool_next(ov);
		fd = spool_open(t, id, false);
	}
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = copy_source(t, n, fd, keep);
	if (rc == 0 && ftruncate(fd, (off_t)keep) < 0)
		rc = -errno;
	/* (remembered before the record exists: a sync between the two
	 * would make the record durable and not the bytes; the sync runs
	 * under the journal's lock, so one after the remembering syncs
	 * them, and one before it cannot see the record) */
	if (rc == 0 && keep > 0)
		unsynced_add(t, fd, id);
	if (rc == 0)
		rc = journal_node(t, J_COPYUP, n, NULL, NULL, id);
	if (rc < 0) {
		/* (a sharing copy's file is kept, empty, as it was) */
		if (shares)
			(void)ftruncate(fd, 0);
		close(fd);
		if (!shares)
			spool_unlink(ov, id);
		goto out;
	}
	n->written = true;
	n->size = keep;
	if (n->deleted && !shares)	/* its open files hold it, as
					 * delete_tensor() */
		spool_unlink(ov, id);
	atomic_store(&n->spool_id, id);	/* publishes the spool file */
	atomic_store(&n->shares, false);
	spool_fd_park(t, n, fd);
	atomic_store(&ov->changed, true);
	rc = 1;
out:
	pthread_mutex_unlock(&ov->copy_mu);
	return rc;
}

/* --- linking names ------------------------------------------------------------- */

/* The directory VIEW's names are in (/by-name or /by-object). */
static struct ckptfs_node *
view_root(const struct ckptfs_tree *t, int view)
{
	return view == CKPTFS_BY_NAME ? t->by_name : t->by_object;
}

/* True if a file of raw name RAW in DIR would take the object graph's
 * place, /by-object/_CHECKPOINTABLE_OBJECT_GRAPH: the graph cannot be put
 * back there (removed, it is built anew), and a file of its name would
 * be a variable that looks like it.  Old journals replay as written. */
static bool
graph_place(const struct ckptfs_tree *t, const struct ckptfs_node *dir,
	    const struct ckpt_buf *raw)
{
	return !t->ov->replaying && dir == t->by_object &&
	       ckpt_objgraph_is_key(raw->data, raw->len);
}

/* Byte order of the strings X (XL bytes) and Y (YL), the shorter first
 * when one begins the other. */
static int
bytes_cmp(const void *x, size_t xl, const void *y, size_t yl)
{
	int c = memcmp(x, y, xl < yl ? xl : yl);

	return c != 0 ? c : (xl > yl) - (xl < yl);
}

/* qsort() and bsearch() order of struct hidden. */
static int
hidden_cmp(const void *a, const void *b)
{
	const struct hidden *x = a, *y = b;

	return bytes_cmp(x->path, x->len, y->path, y->len);
}

/* make_hidden()'s walk over the graph: its edges (the nodes' children,
 * taken) and which nodes have a value. */
struct edges {
	const struct ckpt_bundle *b;
	struct ckpt_objgraph *g;	/* children only */
	/* VALUED[2I]: node I has a value; VALUED[2I + 1]: one below it */
	bool *valued;
};

/* ckpt_objgraph_walk()'s call for node I of N. */
static int
take_edges(void *ctx, size_t i, size_t n, struct ckpt_objnode *node)
{
	struct edges *w = ctx;

	if (w->g->nodes == NULL) {
		w->g->nodes = calloc(n ? n : 1, sizeof(*w->g->nodes));
		w->valued = calloc(n + 1, 2 * sizeof(*w->valued));
		if (w->g->nodes == NULL || w->valued == NULL)
			return -ENOMEM;
		w->g->n = n;
	}
	for (size_t j = 0; j < node->nattrs; j++)
		if (ckpt_bundle_find(w->b, node->attrs[j].checkpoint_key,
				     node->attrs[j].checkpoint_key_len) != NULL)
			w->valued[2 * i] = true;
	w->g->nodes[i].children = node->children;
	w->g->nodes[i].nchildren = node->nchildren;
	node->children = NULL;
	node->nchildren = 0;
	return 0;
}

/* Bytes of paths make_hidden() keeps at most for a graph of LEN bytes:
 * a real model's are a few times its graph, but a graph made of a deep
 * chain (each of 30,000 objects holding a hidden one) has a path per
 * object as long as the chain, 891 MB kept for a graph of 583 KB.  Past
 * the bound the objects further on are not hidden: a name made at one
 * of them in a mount of such a graph gives it a value. */
#define HIDDEN_BYTES(len) (16 * (uint64_t)(len) + ((uint64_t)1 << 20))

/* Fill OV->hidden from T's source graph: every object reached by a path
 * with children and no attribute whose key is in the checkpoint, in it or
 * below it, whose parent has one (or is the root), up to HIDDEN_BYTES of
 * paths.  The graph is read node by node, keeping its edges only.  A
 * graph that cannot be read hides nothing (the mount said so).  0 or
 * -ENOMEM. */
static int
make_hidden(struct ckptfs_tree *t)
{
	struct ckptfs_overlay *ov = t->ov;
	struct edges w = { .b = t->bundle };
	struct ckpt_objgraph *g = NULL;
	struct ckpt_buf b = { 0 };
	const uint8_t *bytes;
	uint8_t *buf = NULL;
	size_t *up = NULL, i, j, cap = 0, len;
	uint64_t budget;
	bool *valued;
	int rc = 0;

	if (!t->src.tf2 || t->bundle == NULL ||
	    ckpt_bundle_objgraph_bytes(t->bundle, &buf, &bytes, &len, NULL) < 0)
		return 0;
	budget = HIDDEN_BYTES(len);
	if ((w.g = g = calloc(1, sizeof(*g))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = ckpt_objgraph_walk(bytes, len, take_edges, &w, NULL);
	free(buf);
	buf = NULL;
	valued = w.valued;
	if (rc < 0 || g->n == 0) {
		rc = rc == -ENOMEM ? rc : 0;
		goto out;
	}
	if ((rc = ckpt_objgraph_bfs(g, &up)) < 0)
		goto out;
	for (i = 1; i < g->n; i++)
		for (j = i; valued[2 * i] && up[2 * j] != SIZE_MAX && j != 0 &&
			    !valued[2 * up[2 * j] + 1];
		     j = up[2 * j])
			valued[2 * up[2 * j] + 1] = true;
	/* Each edge from a shown object (or the root) to a hidden one: an
	 * object reached by two names is hidden under both. */
	for (i = 0; i < g->n && rc == 0 && budget > 0; i++) {
		const struct ckpt_objnode *pn = &g->nodes[i];

		if ((i != 0 && up[2 * i] == SIZE_MAX) ||
		    (i != 0 && !valued[2 * i] && !valued[2 * i + 1]))
			continue;
		for (j = 0; j < pn->nchildren && rc == 0; j++) {
			int32_t c = pn->children[j].node_id;
			struct hidden *h;

			/* (a leaf may be a variable an earlier edit removed,
			 * which takes a value again rightly: only objects
			 * with children, which no variable is, are kept
			 * from one) */
			if (c <= 0 || (size_t)c >= g->n || valued[2 * c] ||
			    valued[2 * c + 1] || g->nodes[c].nchildren == 0)
				continue;
			b.len = 0;
			if ((i != 0 &&
			     ((rc = ckpt_objgraph_path(g, up, i, SIZE_MAX,
						       &b)) < 0 ||
			      (rc = ckpt_buf_put(&b, "/", 1)) < 0)) ||
			    (rc = ckpt_name_escape(pn->children[j].local_name,
						   pn->children[j]
							   .local_name_len,
						   &b)) < 0)
				break;
			if (b.len >= budget) {
				budget = 0;
				break;
			}
			budget -= b.len;
			if (ov->nhidden == cap) {
				cap = cap ? 2 * cap : 16;
				h = realloc(ov->hidden, cap * sizeof(*h));
				if (h == NULL) {
					rc = -ENOMEM;
					break;
				}
				ov->hidden = h;
			}
			h = &ov->hidden[ov->nhidden];
			if ((h->path = malloc(b.len ? b.len : 1)) == NULL) {
				rc = -ENOMEM;
				break;
			}
			if (b.len > 0)
				memcpy(h->path, b.data, b.len);
			h->len = b.len;
			ov->nhidden++;
		}
	}
	if (ov->nhidden > 0)
		qsort(ov->hidden, ov->nhidden, sizeof(*ov->hidden),
		      hidden_cmp);
out:
	ckpt_buf_free(&b);
	free(w.valued);
	free(buf);
	free(up);
	ckpt_objgraph_free(g);
	return rc;
}

/* True if directory D, renamed to raw /by-object path PATH, holds a name
 * at the path of a hidden object below PATH (OV->hidden, made). */
static bool
hidden_inside(struct ckptfs_tree *t, const struct ckptfs_node *d,
	      const struct ckpt_buf *path)
{
	struct ckptfs_overlay *ov = t->ov;
	struct ckpt_buf disp = { 0 };
	bool found = false;

	for (size_t i = 0; i < ov->nhidden && !found; i++) {
		const struct hidden *h = &ov->hidden[i];
		const struct ckptfs_node *c = d;
		size_t at = path->len + 1, end;

		if (h->len <= at || memcmp(h->path, path->data, path->len) != 0 ||
		    h->path[path->len] != '/')
			continue;
		/* each raw component below PATH, shown as a file or as a
		 * directory beside one (NAME@) */
		for (; c != NULL && at <= h->len; at = end + 1) {
			const struct ckptfs_node *next = NULL;
			const char *slash = memchr(h->path + at, '/',
						   h->len - at);

			end = slash != NULL ? (size_t)(slash - h->path) : h->len;
			for (int sfx = 0; sfx < 2 && next == NULL; sfx++) {
				int rc;

				if (c->kind == CKPTFS_DIR)
					next = ckptfs_dir_lookup_raw(
						c, h->path + at, end - at,
						sfx, &disp, &rc);
			}
			c = next;
		}
		found = c != NULL;
	}
	ckpt_buf_free(&disp);
	return found;
}

/* True if a name RAW made in DIR of /by-object would be the path of an
 * object of the source's graph that the view does not show (OV->hidden),
 * or, for a directory MOVED there (or NULL), holds a name at such a path
 * below it: the write-out would give that object a value, where
 * TensorFlow's restore finds no variable for it.  Journals replay as
 * written.  Computed at the first such question (it reads the graph). */
static bool
hidden_object(struct ckptfs_tree *t, const struct ckptfs_node *dir,
	      const struct ckpt_buf *raw, const struct ckptfs_node *moved)
{
	struct ckptfs_overlay *ov = t->ov;
	struct ckpt_buf path = { 0 };
	struct hidden key;
	bool found = false;

	if (ov->replaying || !t->src.tf2 || dir->view != CKPTFS_BY_OBJECT)
		return false;
	if (!ov->hidden_made) {
		(void)make_hidden(t);	/* (out of memory: what it has) */
		ov->hidden_made = true;
	}
	if (ov->nhidden == 0)
		return false;
	if (ckptfs_node_rawpath(t, dir, CKPTFS_BY_OBJECT, &path) == 0 &&
	    (path.len == 0 || ckpt_buf_put(&path, "/", 1) == 0) &&
	    ckpt_buf_put(&path, raw->data, raw->len) == 0) {
		key.path = (char *)path.data;
		key.len = path.len;
		found = bsearch(&key, ov->hidden, ov->nhidden,
				sizeof(*ov->hidden), hidden_cmp) != NULL;
		if (!found && moved != NULL && moved->kind == CKPTFS_DIR)
			found = hidden_inside(t, moved, &path);
	}
	ckpt_buf_free(&path);
	return found;
}

/* Walk the raw PATH in VIEW.  With CREATE, missing directories are made
 * (and queued in IV); *DIR is the directory of the last component and
 * DISP its displayed name; *AT the node already there (or NULL).  Without
 * CREATE, a missing directory ends the walk with *AT NULL and *DIR NULL. */
static int
walk_path(struct ckptfs_tree *t, int view, const char *path, size_t len,
	  bool create, struct ckptfs_node **dir, struct ckpt_buf *disp,
	  struct ckptfs_node **at)
{
	struct ckptfs_node *d = view_root(t, view);
	size_t start = 0, i;
	int rc;

	*at = NULL;
	*dir = NULL;
	for (i = 0; i <= len; i++) {
		struct ckptfs_node *c;

		if (i < len && path[i] != '/')
			continue;
		/* (-EEXIST: not there, and no name left to make it under) */
		c = ckptfs_dir_lookup_raw(d, path + start, i - start, false,
					  disp, &rc);
		if (rc < 0 && (rc != -EEXIST || create))
			return rc;
		if (i == len) {
			*dir = d;
			*at = c;
			return 0;
		}
		if (c == NULL || c->kind != CKPTFS_DIR) {
			struct ckptfs_node *c2;
			bool file_there = c != NULL;

			c2 = ckptfs_dir_lookup_raw(d, path + start, i - start,
						   true, disp, &rc);
			if (rc < 0 && (rc != -EEXIST || create))
				return rc;
			if (c2 != NULL && c2->kind == CKPTFS_DIR) {
				c = c2;
			} else if (c2 != NULL) {
				return -EEXIST;
			} else if (!create) {
				return 0;
			} else {
				if (!file_there &&
				    (ckptfs_dir_lookup_raw(d, path + start,
							   i - start, false,
							   disp, &rc) != NULL ||
				     rc < 0))
					return rc < 0 ? rc : -EEXIST;
				c = ckptfs_node_new(t, CKPTFS_DIR, d);
				if (c == NULL)
					return -ENOMEM;
				rc = ckptfs_dir_link(d, c,
						     (const char *)disp->data,
						     disp->len, path + start,
						     i - start);
				dir_touched(t, d);
				if (rc < 0)
					return rc;
			}
		}
		d = c;
		start = i + 1;
	}
	return 0;
}

/* Link tensor N at raw PATH in VIEW. */
static int
link_at(struct ckptfs_tree *t, struct ckptfs_node *n, int view,
	const char *path, size_t len)
{
	struct ckpt_buf disp = { 0 };
	struct ckptfs_node *d, *at;
	const char *slash;
	size_t base;
	int rc;

	rc = walk_path(t, view, path, len, true, &d, &disp, &at);
	if (rc == 0 && at != NULL)
		rc = -EEXIST;
	if (rc == 0) {
		slash = len ? memrchr(path, '/', len) : NULL;
		base = slash ? (size_t)(slash - path) + 1 : 0;
		rc = ckptfs_dir_link(d, n, (const char *)disp.data, disp.len,
				     path + base, len - base);
		dir_touched(t, d);
	}
	ckpt_buf_free(&disp);
	return rc;
}

/* The node at raw PATH in VIEW, if any. */
static struct ckptfs_node *
node_at(struct ckptfs_tree *t, int view, const char *path, size_t len)
{
	struct ckpt_buf disp = { 0 };
	struct ckptfs_node *d, *at = NULL;

	if (walk_path(t, view, path, len, false, &d, &disp, &at) == -EEXIST)
		at = t->root;	/* a file where a directory is needed */
	ckpt_buf_free(&disp);
	return at;
}

/* Remove N's name in VIEW; with PRUNE also the directories above it that
 * became empty and were not made by mkdir (marked stale:
 * ckptfs_node.stale). */
static void
unlink_loc(struct ckptfs_tree *t, struct ckptfs_node *n, int view,
	   bool prune, struct ckptfs_invals *iv)
{
	struct ckptfs_loc *l = CKPTFS_LOC(n, view);
	const struct ckptfs_node *root = view_root(t, view);
	struct ckptfs_node *d = l->dir;

	if (d == NULL)
		return;
	ckptfs_dir_remove(d, l->name, l->len);
	dir_touched(t, d);
	inval_add(iv, d, l->name, l->len, 0);
	ckptfs_loc_clear(l);
	while (prune && d != root && !d->user_dir && d->dir.nlive == 0) {
		struct ckptfs_loc *dl = &d->loc;
		struct ckptfs_node *up = dl->dir;

		ckptfs_dir_remove(up, dl->name, dl->len);
		dir_touched(t, up);
		inval_add(iv, up, dl->name, dl->len, 0);
		ckptfs_loc_clear(dl);
		d->stale = true;
		d = up;
	}
}

/* Remove tensor N from every view (PRIMARY: the view the user acted in,
 * where directories are not pruned).  TAKEN: a file renamed over N takes
 * its place in the other view too: N's directories there stay for that
 * file, so that the kernel's names of them stay true (a shell inside
 * one, a path cached through it). */
static void
delete_tensor(struct ckptfs_tree *t, struct ckptfs_node *n, int primary,
	      bool taken, struct ckptfs_invals *iv)
{
	for (int v = 0; v < 2; v++)
		unlink_loc(t, n, v, v != primary && !taken, iv);
	n->deleted = true;
	inval_add(iv, NULL, NULL, 0, n->ino);
	if (n->spool_id != 0)
		spool_unlink(t->ov, n->spool_id);
	pthread_mutex_lock(&t->ov->fd_mu);
	if (atomic_load(&n->nopen) == 0 && atomic_load(&n->spool_fd) >= 0)
		close(atomic_exchange(&n->spool_fd, -1));
	pthread_mutex_unlock(&t->ov->fd_mu);
	atomic_store(&t->ov->changed, true);
	t->ov->structure = true;
}

/* The other view's raw path for tensor N whose path in VIEW becomes
 * NEWPATH: *SAME when the other view does not move. */
static int
other_path(struct ckptfs_tree *t, struct ckptfs_node *n, int view,
	   const char *newpath, size_t len, struct ckpt_buf *out, bool *same)
{
	*same = false;
	out->len = 0;
	if (CKPTFS_LOC(n, 1 - view)->dir == NULL && n->entry != NULL) {
		*same = true;	/* the object graph: one view only */
		return 0;
	}
	if (!t->src.tf2) {
		if (view == CKPTFS_BY_NAME)
			return key_for_name(t, newpath, len, out);
		return ckptfs_name_from_key(t, newpath, len, out);
	}
	if (view == CKPTFS_BY_NAME) {
		if (n->derived_key)
			return key_for_name(t, newpath, len, out);
		*same = true;
		return 0;
	}
	if (!n->derived_name) {
		*same = true;
		return 0;
	}
	return ckptfs_name_from_key(t, newpath, len, out);
}

/* Give directory D the displayed name DISP and raw name RAW in its
 * directory in place of its own (a rename: it keeps its inode).  Return
 * 0 or -ENOMEM. */
static int
relink_dir(struct ckptfs_tree *t, struct ckptfs_node *d, const char *disp,
	   size_t displen, const char *raw, size_t rawlen,
	   struct ckptfs_invals *iv)
{
	struct ckptfs_node *up = d->loc.dir;
	int rc;

	ckptfs_dir_remove(up, d->loc.name, d->loc.len);
	inval_add(iv, up, d->loc.name, d->loc.len, 0);
	ckptfs_loc_clear(&d->loc);
	rc = ckptfs_dir_link(up, d, disp, displen, raw, rawlen);
	dir_touched(t, up);
	return rc;
}

/* The directory at raw PATH in /by-name if a tensor can take that name
 * by the directory stepping aside as "NAME@" (the scope beside a tensor
 * of its name, as a mount of a checkpoint holding both shows them): a
 * directory shown under its plain name, whose '@' name is free.  NULL
 * if there is none or it cannot. */
static struct ckptfs_node *
scope_in_way(struct ckptfs_tree *t, const char *path, size_t len)
{
	struct ckptfs_node *d = node_at(t, CKPTFS_BY_NAME, path, len);
	struct ckpt_buf sdisp = { 0 };
	bool free_name;

	if (d == NULL || d->kind != CKPTFS_DIR || d->loc.dir == NULL ||
	    d == t->by_name)
		return NULL;
	free_name = ckptfs_name_escape(CKPTFS_LOC_RAW(&d->loc), d->loc.rawlen,
				       true, &sdisp) == 0 &&
		    ckptfs_dir_lookup(d->loc.dir, (const char *)sdisp.data,
				      sdisp.len) == NULL;
	ckpt_buf_free(&sdisp);
	return free_name ? d : NULL;
}

/* Show directory D (scope_in_way()) as "NAME@".  Return 0 or -ENOMEM.
 * D may have been pruned since it was found (it held only the renamed
 * tensor's old name, a file renamed out of it into the name): nothing
 * is in the way then. */
static int
scope_step_aside(struct ckptfs_tree *t, struct ckptfs_node *d,
		 struct ckptfs_invals *iv)
{
	struct ckpt_buf sdisp = { 0 }, raw = { 0 };
	int rc;

	if (d->loc.dir == NULL)
		return 0;
	rc = ckpt_buf_put(&raw, CKPTFS_LOC_RAW(&d->loc), d->loc.rawlen);
	if (rc == 0)
		rc = ckptfs_name_escape(raw.data, raw.len, true, &sdisp);
	if (rc == 0)
		rc = relink_dir(t, d, (const char *)sdisp.data, sdisp.len,
				(const char *)raw.data, raw.len, iv);
	ckpt_buf_free(&sdisp);
	ckpt_buf_free(&raw);
	return rc;
}

/* On a TF2 mount, a file made or renamed (alone or with its directory)
 * at /by-object raw PATH whose key a tensor left by removal takes that
 * tensor's TF1 name, when no file holds it now (a scope of the name steps
 * aside): set *OTHER to it, *DERIVED to whether that name followed the
 * tensor's key (an empty full_name: so does the file's), and return
 * true.  (rm and a new file keep the name, as they keep the dtype and
 * shape: take_vacated().)  A replay decides the same, the removals
 * replayed first. */
static bool
vac_name(struct ckptfs_tree *t, const struct ckpt_buf *path,
	 struct ckpt_buf *other, bool *derived)
{
	struct ckptfs_overlay *ov = t->ov;
	struct ckpt_buf key = { 0 };
	const struct vacated *v;
	bool took = false;

	if (ov->vcap == 0 ||
	    ckptfs_tf2_key_of_path((const char *)path->data, path->len,
				   &key) < 0)
		goto out;
	v = ov->vac[vac_slot(ov, key.data, key.len,
			     vac_hash(key.data, key.len, false), false)];
	if (v == NULL || v->name == NULL ||
	    (node_at(t, CKPTFS_BY_NAME, v->name, v->nlen) &&
	     !scope_in_way(t, v->name, v->nlen)))
		goto out;
	/* (OTHER is left as it was if this fails) */
	if (ckpt_buf_reserve(other, v->nlen) == 0) {
		other->len = 0;
		took = ckpt_buf_put(other, v->name, v->nlen) == 0;
		*derived = v->n != NULL && v->n->derived_name;
	}
out:
	ckpt_buf_free(&key);
	return took;
}

/* True if raw /by-name PATH gives the key whose /by-object path is the
 * LEN bytes at OBJ (key_for_name()). */
static bool
gives_key(struct ckptfs_tree *t, const struct ckpt_buf *path,
	  const char *obj, size_t len)
{
	struct ckpt_buf k = { 0 };
	bool same = key_for_name(t, (const char *)path->data, path->len,
				 &k) == 0 &&
		    k.len == len && memcmp(k.data, obj, len) == 0;

	ckpt_buf_free(&k);
	return same;
}

/* On a TF2 mount, a file SELF (NULL: a new one) made or renamed (alone or
 * with its directory) at /by-name raw PATH, a TF1 name a tensor left,
 * takes that tensor's key: when no file holds the key now (the tensor
 * was removed, or since got another key) and the tensor was the last to
 * leave it, unless it is the key PATH gives; when it was
 * renamed away in /by-name and holds the key still, if FROM is given
 * (then *FROM is set to it: the caller moves it to the key its new name
 * gives).  Set *OTHER to the key's /by-object path and return true.
 * (rm and a new file, as tar makes one, keep the key, and with it the
 * dtype and shape; so does an editor's save that renames the file to a
 * backup first.)  A replay decides the same, the removals and renames
 * replayed first. */
static bool
vac_key(struct ckptfs_tree *t, const struct ckptfs_node *self,
	const struct ckpt_buf *path, struct ckpt_buf *other,
	struct ckptfs_node **from)
{
	struct ckptfs_overlay *ov = t->ov;
	struct ckpt_buf key = { 0 }, now = { 0 }, its = { 0 };
	const struct vacated *v, *kv;
	const struct ckptfs_node *at;
	bool took = false;

	if (from != NULL)
		*from = NULL;
	if (ov->vcap == 0 || !t->src.tf2)
		return false;
	v = ov->vac[vac_slot(ov, path->data, path->len,
			     vac_hash(path->data, path->len, true), true)];
	if (v == NULL || v->name == NULL || v->n == self)
		goto out;
	at = node_at(t, CKPTFS_BY_OBJECT, v->name, v->nlen);
	/* (renamed away, holding the key, which is not the one its new
	 * name gives: a key renamed in /by-object to go with its new name
	 * stays) */
	if (at != NULL && at == v->n && from != NULL && !v->n->deleted &&
	    v->n->loc.dir != NULL &&
	    ckptfs_node_rawpath(t, v->n, CKPTFS_BY_NAME, &now) == 0 &&
	    (now.len != path->len ||
	     memcmp(now.data, path->data, now.len) != 0) &&
	    derive_key(t, (const char *)now.data, now.len, v->n, &its) == 0 &&
	    (its.len != v->nlen || memcmp(its.data, v->name, its.len) != 0)) {
		*from = v->n;
	} else if (at != NULL || gives_key(t, path, v->name, v->nlen) ||
		   ckptfs_tf2_key_of_path(v->name, v->nlen, &key) < 0) {
		/* (held; or the key the name gives, which the file gets
		 * anyway, its key then following its name: a temporary
		 * name's) */
		goto out;
	} else {
		/* the tensor that left the key last, under this name (a
		 * key that was removed under several names goes by the
		 * last) */
		kv = ov->vac[vac_slot(ov, key.data, key.len,
				      vac_hash(key.data, key.len, false),
				      false)];
		if (kv == NULL || kv->n != v->n)
			goto out;
	}
	/* (OTHER is left as it was if this fails) */
	if (ckpt_buf_reserve(other, v->nlen) == 0) {
		other->len = 0;
		took = ckpt_buf_put(other, v->name, v->nlen) == 0;
	}
	if (!took && from != NULL)
		*from = NULL;
out:
	ckpt_buf_free(&key);
	ckpt_buf_free(&now);
	ckpt_buf_free(&its);
	return took;
}

/* Move X, a tensor whose key a file takes (vac_key()), in /by-object to
 * the key its /by-name path gives (derive_key()); from then on its key
 * follows that path.  Return 0, -ENOMEM or -EEXIST (X left where it
 * was).  *KEEP (if not NULL, empty) gets the raw path X had, for
 * take_key_back(). */
static int
give_key_away(struct ckptfs_tree *t, struct ckptfs_node *x,
	      struct ckpt_buf *keep, struct ckptfs_invals *iv)
{
	struct ckpt_buf name = { 0 }, obj = { 0 }, was = { 0 };
	int rc;

	if ((rc = ckptfs_node_rawpath(t, x, CKPTFS_BY_NAME, &name)) < 0 ||
	    (rc = ckptfs_node_rawpath(t, x, CKPTFS_BY_OBJECT, &was)) < 0 ||
	    (rc = derive_key(t, (const char *)name.data, name.len, x,
			     &obj)) < 0)
		goto out;
	if (obj.len == was.len && memcmp(obj.data, was.data, obj.len) == 0) {
		rc = -EEXIST;	/* (vac_key() does not ask it) */
		goto out;
	}
	/* (its directories stay: the file taking the key goes there) */
	unlink_loc(t, x, CKPTFS_BY_OBJECT, false, iv);
	if ((rc = link_at(t, x, CKPTFS_BY_OBJECT, (const char *)obj.data,
			  obj.len)) < 0) {
		(void)link_at(t, x, CKPTFS_BY_OBJECT, (const char *)was.data,
			      was.len);
		goto out;
	}
	x->derived_key = true;
	x->derived_name = false;
	inval_add(iv, NULL, NULL, 0, x->ino);
	if (keep != NULL) {
		*keep = was;
		was = (struct ckpt_buf){ 0 };
	}
out:
	ckpt_buf_free(&name);
	ckpt_buf_free(&obj);
	ckpt_buf_free(&was);
	return rc;
}

/* Undo give_key_away() of X, whose raw path in /by-object was WAS and
 * whose flags DERIVED_KEY and DERIVED_NAME were as given: a create that
 * took its key failed (its journal record could not be written). */
static int
take_key_back(struct ckptfs_tree *t, struct ckptfs_node *x,
	      const struct ckpt_buf *was, bool derived_key, bool derived_name,
	      struct ckptfs_invals *iv)
{
	int rc;

	unlink_loc(t, x, CKPTFS_BY_OBJECT, false, iv);
	rc = link_at(t, x, CKPTFS_BY_OBJECT, (const char *)was->data,
		     was->len);
	x->derived_key = derived_key;
	x->derived_name = derived_name;
	inval_add(iv, NULL, NULL, 0, x->ino);
	return rc;
}

/* --- operations --------------------------------------------------------------- */

/* Common checks of a directory argument. */
static int
check_dir(struct ckptfs_tree *t, const struct ckptfs_node *dir)
{
	if (t->ov == NULL)
		return -EROFS;
	if (t->ov->broken)
		return -EIO;
	if (dir->kind != CKPTFS_DIR)
		return -ENOTDIR;
	if (dir->view < 0)
		return -EPERM;
	if (dir->loc.dir == NULL)	/* removed (a shell still in it) */
		return ckptfs_dir_detached(dir) ? -ESTALE : -ENOENT;
	return 0;
}

/* Whether a directory may be named NAME (LEN bytes; SFX: it ends in '@')
 * in DIR, so that a scope has one directory: "x" and "x@" (the scope x
 * beside a tensor x) are the same scope, so either is -EEXIST while a
 * directory has the other, unless that is SELF (the directory renamed).
 * ("x@" is allowed before the tensor x exists: rsync -a makes the
 * directories first.)  Return 0 or -EEXIST. */
static int
scope_name_ok(struct ckptfs_node *dir, const char *name, size_t len, bool sfx,
	      const struct ckptfs_node *self)
{
	struct ckpt_buf raw = { 0 }, at = { 0 };
	struct ckptfs_node *o = NULL;
	bool dummy;

	if (sfx) {
		o = ckptfs_dir_lookup(dir, name, len - 1);
	} else if (ckptfs_name_unescape(name, len, &raw, &dummy) == 0 &&
		   ckptfs_name_escape(raw.data, raw.len, true, &at) == 0) {
		/* "x@", or for a long name its shortened form with '@' */
		o = ckptfs_dir_lookup(dir, (const char *)at.data, at.len);
	}
	ckpt_buf_free(&raw);
	ckpt_buf_free(&at);
	return o != NULL && o->kind == CKPTFS_DIR && o != self ? -EEXIST : 0;
}

/* Whether X is a tensor the written checkpoint holds. */
static bool
commit_holds(const struct ckptfs_tree *t, const struct ckptfs_node *x)
{
	return x->kind == CKPTFS_TENSOR && !x->deleted &&
	       (x->loc.dir != NULL || x->oloc.dir != NULL) &&
	       !ckptfs_node_is_graph(t, x);
}

/* X's bits mixed (splitmix64's finalizer), so that sums of mixed pairs
 * do not cancel the way sums of the pairs' own parts could. */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A digest of the names of T's tensors: *N of them, *SUM the sum of a
 * hash of each one's pair of raw paths (so the order of the inode table
 * does not matter), and *OWNERS (if not NULL) the same with the hash of
 * the tensor's key in the source (or its inode number, a new file's) in
 * each, so that tensors swapping their names change it.  Return 0 or
 * -ENOMEM. */
static int
names_sum(struct ckptfs_tree *t, uint64_t *sum, uint64_t *n,
	  uint64_t *owners)
{
	struct ckpt_buf p = { 0 };
	int rc = 0;

	*sum = *n = 0;
	if (owners != NULL)
		*owners = 0;
	for (size_t i = 0; i < t->ninodes && rc == 0; i++) {
		struct ckptfs_node *x = t->inodes[i];
		uint64_t h[2] = { 0, 0 };

		if (!commit_holds(t, x))
			continue;
		for (int v = 0; v < 2 && rc == 0; v++) {
			p.len = 0;
			rc = ckptfs_node_rawpath(t, x, v, &p);
			if (rc == -ENOENT)
				rc = 0;	/* not in that view */
			h[v] = ckpt_fnv1a64(p.data ? p.data : (uint8_t *)"",
					    p.len);
		}
		*sum += h[0] * 0x9e3779b97f4a7c15ull ^ h[1];
		if (owners != NULL) {
			const struct ckpt_entry *e = x->entry;
			uint64_t k = e != NULL && x->ino <= t->base_inodes
					     ? ckpt_fnv1a64((const uint8_t *)
								    e->key,
							    e->key_len)
					     : x->ino * 0xff51afd7ed558ccdull;

			*owners += mix64((h[0] * 0x9e3779b97f4a7c15ull ^ h[1]) +
					 k * 0xc4ceb9fe1a85ec53ull);
		}
		++*n;
	}
	ckpt_buf_free(&p);
	return rc;
}

/* Before the first change of names: remember their digest, so that the
 * write-out can tell whether they are the same in the end. */
static void
names_before(struct ckptfs_tree *t)
{
	struct ckptfs_overlay *ov = t->ov;

	if (ov == NULL || ov->structure || ov->names_taken)
		return;
	ov->names_taken = names_sum(t, &ov->names_sum, &ov->names_n,
				    &ov->owners_sum) == 0;
}

/* ckptfs_ov_create() without the bookkeeping of IV for dir_touched(). */
static int
ov_create(struct ckptfs_tree *t, struct ckptfs_node *dir,
	  const char *name, size_t len, bool is_dir,
	  struct ckptfs_node **out, struct ckptfs_invals *iv)
{
	struct ckpt_buf raw = { 0 }, path = { 0 }, other = { 0 };
	/* to undo: FROM's key given away (WAS), ASIDE stepped aside */
	struct ckpt_buf was = { 0 }, adisp = { 0 }, araw = { 0 };
	struct ckptfs_node *n = NULL, *aside = NULL, *from = NULL, *occ;
	int view = dir->view, fd = -1, rc;
	uint64_t id = 0;
	bool sfx, same, gave = false, stepped = false;
	bool derived_key = false, derived_name = false;

	*out = NULL;
	if ((rc = check_dir(t, dir)) < 0)
		return rc;
	if ((rc = raw_of(name, len, &raw, &sfx)) < 0)
		goto out;
	if (sfx && !is_dir) {
		rc = -EINVAL;
		goto out;
	}
	if (ckptfs_dir_lookup(dir, name, len) != NULL) {
		rc = -EEXIST;
		goto out;
	}
	if (!is_dir && graph_place(t, dir, &raw)) {
		rc = -EPERM;
		goto out;
	}
	if (hidden_object(t, dir, &raw, NULL)) {
		rc = -EEXIST;
		goto out;
	}
	if (is_dir && (rc = scope_name_ok(dir, name, len, sfx, NULL)) < 0)
		goto out;
	n = ckptfs_node_new(t, is_dir ? CKPTFS_DIR : CKPTFS_TENSOR, dir);
	if (n == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (is_dir) {
		n->user_dir = true;
		rc = ckptfs_dir_link(dir, n, name, len, raw.data, raw.len);
		dir_touched(t, dir);
		if (rc == 0 &&
		    (rc = journal_path(t, J_MKDIR, dir, name, len, 0)) < 0) {
			/* Not made: a crash would forget it (and a replay
			 * of what is made in it would fail). */
			ckptfs_dir_remove(dir, name, len);
			ckptfs_loc_clear(&n->loc);
		}
		goto out;
	}
	/* The tensor's names: this view's path, and the other's by rule. */
	rc = ckptfs_node_rawpath(t, dir, view, &path);
	/* (not PATH's length: a directory of the empty name, '%', has an
	 * empty path too) */
	if (rc == 0 && dir != view_root(t, view))
		rc = ckpt_buf_put(&path, "/", 1);
	if (rc == 0)
		rc = ckpt_buf_put(&path, raw.data, raw.len);
	if (rc < 0)
		goto out;
	if (t->src.tf2 && view == CKPTFS_BY_NAME) {
		n->derived_key = !vac_key(t, NULL, &path, &other, &from);
		if (n->derived_key)
			rc = derive_key(t, (const char *)path.data, path.len,
					NULL, &other);
	} else {
		bool d;

		n->derived_name = t->src.tf2;
		rc = other_path(t, n, view, (const char *)path.data, path.len,
				&other, &same);
		if (rc == 0 && t->src.tf2 && vac_name(t, &path, &other, &d))
			n->derived_name = d;
	}
	if (rc < 0)
		goto out;
	occ = node_at(t, 1 - view, (const char *)other.data, other.len);
	if (occ != NULL && occ != from &&
	    (view != CKPTFS_BY_OBJECT ||
	     (aside = scope_in_way(t, (const char *)other.data, other.len)) ==
		     NULL)) {
		rc = -EEXIST;
		goto out;
	}
	id = t->ov->replaying ? 0 : spool_next(t->ov);
	if (!t->ov->replaying) {
		fd = spool_open(t, id, false);
		if (fd < 0) {
			rc = fd;
			goto out;
		}
	}
	rc = ckptfs_dir_link(dir, n, name, len, raw.data, raw.len);
	dir_touched(t, dir);
	/* (what the scope's name was, to take it back) */
	if (rc == 0 && aside != NULL && aside->loc.dir != NULL) {
		rc = ckpt_buf_put(&adisp, aside->loc.name, aside->loc.len);
		if (rc == 0)
			rc = ckpt_buf_put(&araw, CKPTFS_LOC_RAW(&aside->loc),
					  aside->loc.rawlen);
		if (rc == 0)
			rc = scope_step_aside(t, aside, iv);
		stepped = rc == 0;
	}
	/* the key of the tensor an editor renamed to a backup: that one
	 * goes to the key its new name gives */
	if (rc == 0 && from != NULL) {
		derived_key = from->derived_key;
		derived_name = from->derived_name;
		rc = give_key_away(t, from, &was, iv);
		gave = rc == 0;
	}
	if (rc == 0)
		rc = link_at(t, n, 1 - view, (const char *)other.data,
			     other.len);
	if (rc == 0)
		rc = journal_path(t, J_CREATE, dir, name, len, id);
	if (rc < 0) {
		unlink_loc(t, n, 0, view != 0, NULL);
		unlink_loc(t, n, 1, view != 1, NULL);
		n->deleted = true;
		/* Not made, so nothing else changes: the tensor keeps its
		 * key and the scope its name (a replay, which never sees
		 * this create, leaves them so).  If that fails (no
		 * memory), the tree no longer matches the journal: no
		 * more changes. */
		if ((gave && take_key_back(t, from, &was, derived_key,
					   derived_name, iv) < 0) ||
		    (stepped && aside->loc.dir != NULL &&
		     relink_dir(t, aside, (const char *)adisp.data, adisp.len,
				(const char *)araw.data, araw.len, iv) < 0)) {
			pthread_mutex_lock(&t->ov->mu);
			t->ov->broken = true;
			pthread_mutex_unlock(&t->ov->mu);
		}
		goto out;
	}
	n->written = true;
	n->spool_id = id;
	if (from != NULL)
		/* its dtype and shape, as a file renamed over it takes them */
		(void)take_meta(n, from, true);
	take_vacated(t, n, NULL);
	if (t->src.tf2 && view == CKPTFS_BY_NAME && !n->derived_key) {
		/* a key taken (vac_key()): the file is that tensor's, its
		 * dtype and shape its own, as the key is */
		n->dtype_taken = false;
		n->shape_taken = false;
	}
	if (fd >= 0) {
		spool_fd_park(t, n, fd);
		fd = -1;
	}
	atomic_store(&t->ov->changed, true);
	t->ov->structure = true;
out:
	if (fd >= 0) {
		close(fd);
		spool_unlink(t->ov, id);
	}
	if (rc == 0)
		*out = n;
	ckpt_buf_free(&raw);
	ckpt_buf_free(&path);
	ckpt_buf_free(&other);
	ckpt_buf_free(&was);
	ckpt_buf_free(&adisp);
	ckpt_buf_free(&araw);
	return rc;
}

/* ckptfs_ov_remove() without the bookkeeping of IV for dir_touched(). */
static int
ov_remove(struct ckptfs_tree *t, struct ckptfs_node *dir,
	  const char *name, size_t len, bool is_dir,
	  struct ckptfs_invals *iv)
{
	struct ckpt_buf key = { 0 }, tf1 = { 0 }, opath = { 0 };
	struct ckptfs_node *n;
	int rc;

	if ((rc = check_dir(t, dir)) < 0)
		return rc;
	n = ckptfs_dir_lookup(dir, name, len);
	if (n == NULL || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return n == NULL ? -ENOENT : -EINVAL;
	if (is_dir) {
		if (n->kind != CKPTFS_DIR)
			return -ENOTDIR;
		if (n->dir.nlive != 0)
			return -ENOTEMPTY;
		if ((rc = journal_path(t, J_RMDIR, dir, name, len, 0)) < 0)
			return rc;
		ckptfs_dir_remove(dir, name, len);
		dir_touched(t, dir);
		ckptfs_loc_clear(&n->loc);
		return 0;
	}
	if (n->kind == CKPTFS_DIR)
		return -EISDIR;
	if (n->kind != CKPTFS_TENSOR)
		return -EPERM;
	if ((rc = journal_path(t, J_UNLINK, dir, name, len, 0)) < 0)
		return rc;
	if (ckptfs_node_is_graph(t, n))
		t->ov->graph_removed = true;	/* to have one built */
	else
		key_of(t, n, &key);
	/* (a TF2 key keeps its TF1 name for a file made there, and the
	 * TF1 name its key for a file made there: vac_name(), vac_key()) */
	if (key.len > 0 && t->src.tf2 && n->loc.dir != NULL &&
	    ckptfs_node_rawpath(t, n, CKPTFS_BY_NAME, &tf1) < 0)
		tf1.len = 0;
	if (tf1.len > 0 && n->oloc.dir != NULL &&
	    ckptfs_node_rawpath(t, n, CKPTFS_BY_OBJECT, &opath) < 0)
		opath.len = 0;
	delete_tensor(t, n, dir->view, false, iv);
	if (key.len > 0)
		vac_note(t->ov, n, &key, &tf1, false);
	if (opath.len > 0)
		vac_note(t->ov, n, &tf1, &opath, true);
	ckpt_buf_free(&key);
	ckpt_buf_free(&tf1);
	ckpt_buf_free(&opath);
	return 0;
}

/* One tensor moved by a rename, with its names before and after. */
struct moved {
	struct ckptfs_node *n;
	struct ckpt_buf oldkey;		/* its key before (key_of()) */
	struct ckpt_buf oldother;	/* its raw path in the other view */
	struct ckpt_buf other;		/* the new one, unless same */
	/* The scope in the way of OTHER when checked (it steps aside when
	 * the tensor is linked, if still in the way). */
	struct ckptfs_node *aside;
	bool same;
	bool in_place;			/* rename_private() moved it */
	bool named;			/* OTHER is a removed tensor's TF1
					 * name (vac_name()), or its key
					 * (vac_key()) */
	bool named_derived;		/* that TF1 name followed its key */
	/* TF2, renamed in /by-name: the raw path it leaves there; and the
	 * tensor whose key it takes (vac_key()), which moves away */
	struct ckpt_buf oldname;
	struct ckptfs_node *from;
	/* What it leaves behind at its key (drop_taken()); -1: none. */
	int ldtype;
	int lrank;
	int64_t *ldims;
	bool lorder;
};

/* The directory of tensor N's raw path OLDP in VIEW that can simply be
 * renamed for its path to become NEWP (a TF1 tensor's by-object
 * vars/<name>/.ATTRIBUTES/ when its TF1 name changes), so that a rename of
 * a scope makes no new directories: NEWP has as many components as OLDP
 * and differs from it in one directory component only, and the directory
 * there holds N and nothing else, down to N, none of it made by mkdir.
 * *RAW and *RAWLEN: that component of NEWP.  NULL when it does not
 * apply (the name is then unlinked and linked again). */
static struct ckptfs_node *
private_dir(struct ckptfs_node *n, int view, const struct ckpt_buf *oldp,
	    const struct ckpt_buf *newp, const char **raw, size_t *rawlen)
{
	const char *o = (const char *)oldp->data, *w = (const char *)newp->data;
	size_t oi = 0, wi = 0, at = 0, ncomp = 1, i;
	struct ckptfs_node *d;
	bool differs = false;

	if (oldp->len == 0 || newp->len == 0)
		return NULL;
	/* Compare component by component. */
	for (;;) {
		size_t oe = oi, we = wi;

		while (oe < oldp->len && o[oe] != '/')
			oe++;
		while (we < newp->len && w[we] != '/')
			we++;
		if (oe - oi != we - wi || memcmp(o + oi, w + wi, oe - oi) != 0) {
			if (differs)
				return NULL;	/* two components differ */
			differs = true;
			at = ncomp - 1;
			*raw = w + wi;
			*rawlen = we - wi;
		}
		if ((oe == oldp->len) != (we == newp->len))
			return NULL;	/* not as many components */
		if (oe == oldp->len)
			break;
		oi = oe + 1;
		wi = we + 1;
		ncomp++;
	}
	if (!differs || at + 1 >= ncomp)
		return NULL;	/* same path, or only N's own name differs */
	/* Up from N's directory to the one at depth AT, each holding only
	 * the way down to N. */
	d = CKPTFS_LOC(n, view)->dir;
	for (i = ncomp - 1; d != NULL; i--) {
		if (d->kind != CKPTFS_DIR || d->user_dir || d->dir.nlive != 1)
			return NULL;
		if (i == at + 1)
			return d;
		d = d->loc.dir;
	}
	return NULL;
}

/* Give directory D (private_dir()) the raw name RAW in its directory, in
 * place of its own, if no name there is in the way.  Return true if
 * done. */
static bool
rename_private(struct ckptfs_tree *t, struct ckptfs_node *d, const char *raw,
	       size_t rawlen, struct ckptfs_invals *iv)
{
	struct ckptfs_node *up = d->loc.dir, *c;
	struct ckpt_buf disp = { 0 }, sdisp = { 0 };
	const struct ckpt_buf *use = &disp;
	bool done = false;

	if (ckptfs_name_escape(raw, rawlen, false, &disp) < 0 ||
	    ckptfs_name_escape(raw, rawlen, true, &sdisp) < 0)
		goto out;
	/* As walk_path() would name a new directory: with the '@' suffix
	 * beside a file of its plain name. */
	c = ckptfs_dir_lookup(up, (const char *)disp.data, disp.len);
	if (c != NULL && c->kind == CKPTFS_DIR)
		goto out;
	if (c != NULL)
		use = &sdisp;
	if (ckptfs_dir_lookup(up, (const char *)sdisp.data, sdisp.len) != NULL)
		goto out;
	done = relink_dir(t, d, (const char *)use->data, use->len, raw,
			  rawlen, iv) == 0;
out:
	ckpt_buf_free(&disp);
	ckpt_buf_free(&sdisp);
	return done;
}


/* Collect the tensors at or below N in VIEW into *V. */
static int
collect(struct ckptfs_node *n, int view, struct moved **v, size_t *nv,
	size_t *cap)
{
	if (n->kind == CKPTFS_TENSOR) {
		if (*nv == *cap) {
			size_t c = *cap ? 2 * *cap : 16;
			struct moved *m = reallocarray(*v, c, sizeof(*m));

			if (m == NULL)
				return -ENOMEM;
			*v = m;
			*cap = c;
		}
		memset(&(*v)[*nv], 0, sizeof(**v));
		(*v)[*nv].ldtype = -1;
		(*v)[*nv].lrank = -1;
		(*v)[(*nv)++].n = n;
		return 0;
	}
	if (n->kind != CKPTFS_DIR)
		return 0;
	for (size_t i = 0; i < n->dir.n; i++) {
		struct ckptfs_node *c = CKPTFS_DIR_ENTS(n)[i].node;
		int rc;

		if (c != NULL && (rc = collect(c, view, v, nv, cap)) < 0)
			return rc;
	}
	return 0;
}

/* True if N is among the V[0..NV) tensors. */
static bool
in_moved(const struct moved *v, size_t nv, const struct ckptfs_node *n)
{
	for (size_t i = 0; i < nv; i++)
		if (v[i].n == n)
			return true;
	return false;
}

/* True if tensor N's key is the one raw /by-name PATH gives (a key set
 * in /by-object to go with the name it is renamed to: kept). */
static bool
key_fits(struct ckptfs_tree *t, struct ckptfs_node *n,
	 const struct ckpt_buf *path)
{
	struct ckpt_buf cur = { 0 };
	bool fits = ckptfs_node_rawpath(t, n, CKPTFS_BY_OBJECT, &cur) == 0 &&
		    gives_key(t, path, (const char *)cur.data, cur.len);

	ckpt_buf_free(&cur);
	return fits;
}

/* Tensor M->n leaves its name or key: the dtype and shape it took there
 * from another tensor (take_meta()) stay behind, in M (LDTYPE, LRANK,
 * LDIMS) for the record of the key it leaves; the file renamed has none
 * of its own (a script's temporary name gives each file its own). */
static void
drop_taken(struct ckptfs_node *n, struct moved *m)
{
	if (n->kind != CKPTFS_TENSOR)
		return;
	if (n->dtype_taken) {
		m->ldtype = n->dtype;
		m->lorder = n->other_order;
		n->dtype = -1;
		n->other_order = false;
	}
	if (n->shape_taken && n->rank >= 0 &&
	    (m->ldims = dims_dup(n->dims, n->rank)) != NULL) {
		m->lrank = n->rank;
		set_shape(n, NULL, -1);
	}
	n->dtype_taken = false;
	n->shape_taken = false;
}

/* Give the record of the key M's tensor left (vac_note()) what it left
 * behind there (drop_taken()). */
static void
vac_leave(struct ckptfs_overlay *ov, struct moved *m)
{
	struct vacated *v;

	if (ov->vcap == 0 || (m->ldtype < 0 && m->lrank < 0))
		return;
	v = ov->vac[vac_slot(ov, m->oldkey.data, m->oldkey.len,
			     vac_hash(m->oldkey.data, m->oldkey.len, false),
			     false)];
	if (v == NULL || v->n != m->n)
		return;
	v->ldtype = m->ldtype;
	v->lorder = m->lorder;
	free(v->ldims);
	v->ldims = m->ldims;
	v->lrank = m->ldims != NULL ? m->lrank : -1;
	m->ldims = NULL;
}

/* Set M's path in the other view (OTHER, SAME) for its tensor moved from
 * raw path OLDP to NEWP in VIEW (its own raw path is OLDP or below it);
 * with NAMING, a removed tensor's TF1 name where its new key was left
 * (vac_name()), or its key where its new TF1 name was (vac_key()):
 * NAMED.  NP is scratch. */
static int
moved_other(struct ckptfs_tree *t, struct moved *m, int view,
	    const struct ckpt_buf *oldp, const struct ckpt_buf *newp,
	    bool naming, bool alone, struct ckpt_buf *np)
{
	struct ckpt_buf cur = { 0 };
	int rc;

	m->named = false;
	m->from = NULL;
	rc = ckptfs_node_rawpath(t, m->n, view, &cur);
	np->len = 0;
	if (rc == 0)
		rc = ckpt_buf_put(np, newp->data, newp->len);
	if (rc == 0)
		rc = ckpt_buf_put(np, cur.data + oldp->len,
				  cur.len - oldp->len);
	ckpt_buf_free(&cur);
	if (rc == 0)
		rc = other_path(t, m->n, view, (const char *)np->data,
				np->len, &m->other, &m->same);
	if (rc < 0 || !naming || m->n->kind != CKPTFS_TENSOR)
		return rc;
	if (view == CKPTFS_BY_OBJECT)
		m->named = !m->same &&
			   vac_name(t, np, &m->other, &m->named_derived);
	else if (m->n->derived_key && !key_fits(t, m->n, np) &&
		 (m->named = vac_key(t, m->n, np, &m->other,
				     alone ? &m->from : NULL)))
		m->same = false;
	return rc;
}

/* Order of two moved tensors' new paths in the other view. */
static int
other_cmp(const void *a, const void *b)
{
	const struct ckpt_buf *x = &(*(struct moved *const *)a)->other;
	const struct ckpt_buf *y = &(*(struct moved *const *)b)->other;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n > 0 ? memcmp(x->data, y->data, n) : 0;

	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* 1 if a tensor of V[0..NV) that took a removed tensor's name shares its
 * new path in the other view with another of them, else 0 (or
 * -ENOMEM). */
static int
others_clash(struct moved *v, size_t nv)
{
	struct moved **s;
	size_t i, k = 0;
	bool named = false;
	int dup = 0;

	for (i = 0; i < nv; i++)
		named |= v[i].named;
	if (!named || nv < 2)
		return 0;
	if ((s = calloc(nv, sizeof(*s))) == NULL)
		return -ENOMEM;
	for (i = 0; i < nv; i++)
		if (!v[i].same)
			s[k++] = &v[i];
	qsort(s, k, sizeof(*s), other_cmp);
	for (i = 1; i < k && !dup; i++)
		dup = other_cmp(&s[i - 1], &s[i]) == 0 &&
		      (s[i - 1]->named || s[i]->named);
	free(s);
	return dup;
}

/* ckptfs_ov_rename() without the bookkeeping of IV for dir_touched(). */
static int
ov_rename(struct ckptfs_tree *t, struct ckptfs_node *dir,
	  const char *name, size_t len, struct ckptfs_node *ndir,
	  const char *nname, size_t nlen, unsigned int flags,
	  struct ckptfs_invals *iv)
{
	struct ckpt_buf raw = { 0 }, oldp = { 0 }, newp = { 0 }, np = { 0 };
	struct ckpt_buf jfrom = { 0 }, jto = { 0 };
	struct ckptfs_node *n, *target, *d;
	struct moved *mv = NULL;
	size_t nmv = 0, cap = 0, i;
	int view = dir->view, rc, other;
	bool sfx, takeover, naming, derived = false, derived_key = false;
	bool journaled = false;

	if ((rc = check_dir(t, dir)) < 0 || (rc = check_dir(t, ndir)) < 0)
		return rc;
	if (dir->view != ndir->view)
		return -EXDEV;
	if (flags & ~1u)
		return -EINVAL;
	other = 1 - view;
	n = ckptfs_dir_lookup(dir, name, len);
	if (n == NULL)
		return -ENOENT;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	if (ckptfs_node_is_graph(t, n))
		return -EPERM;	/* its name is what makes it the graph */
	if ((rc = raw_of(nname, nlen, &raw, &sfx)) < 0)
		goto out;
	if (sfx && n->kind != CKPTFS_DIR) {
		rc = -EINVAL;
		goto out;
	}
	if (n->kind != CKPTFS_DIR && graph_place(t, ndir, &raw)) {
		rc = -EPERM;
		goto out;
	}
	/* (a name that is there is shown: only what a directory holds) */
	if (hidden_object(t, ndir, &raw, n)) {
		rc = -EEXIST;
		goto out;
	}
	if (n->kind == CKPTFS_DIR &&
	    (rc = scope_name_ok(ndir, nname, nlen, sfx, n)) < 0)
		goto out;
	target = ckptfs_dir_lookup(ndir, nname, nlen);
	if (target == n) {
		rc = 0;
		goto out;
	}
	if (target != NULL && (flags & 1u)) {
		rc = -EEXIST;
		goto out;
	}
	if (n->kind == CKPTFS_DIR) {
		for (d = ndir; d != t->root; d = d->loc.dir) {
			if (d == n) {
				rc = -EINVAL;
				goto out;
			}
			if (d == t->by_name || d == t->by_object)
				break;
		}
	}
	if (target != NULL) {
		if (target->kind == CKPTFS_DIR && n->kind != CKPTFS_DIR)
			rc = -EISDIR;
		else if (target->kind != CKPTFS_DIR && n->kind == CKPTFS_DIR)
			rc = -ENOTDIR;
		else if (target->kind == CKPTFS_DIR && target->dir.nlive != 0)
			rc = -ENOTEMPTY;
		else if (target->kind == CKPTFS_BLOB ||
			 ckptfs_node_is_graph(t, target))
			rc = -EPERM;
		if (rc < 0)
			goto out;
	}
	/* Raw paths before and after (the prefix every moved tensor has). */
	if ((rc = ckptfs_node_rawpath(t, n, view, &oldp)) < 0 ||
	    (rc = ckptfs_node_rawpath(t, ndir, view, &newp)) < 0)
		goto out;
	if (ndir != view_root(t, view) &&
	    (rc = ckpt_buf_put(&newp, "/", 1)) < 0)
		goto out;
	if ((rc = ckpt_buf_put(&newp, raw.data, raw.len)) < 0)
		goto out;
	if ((rc = collect(n, view, &mv, &nmv, &cap)) < 0)
		goto out;
	/* A file renamed over a tensor (how editors, sed -i and rsync save
	 * one) takes its place: its name in the other view, and its dtype
	 * and shape when it has none of its own. */
	takeover = target != NULL && target->kind == CKPTFS_TENSOR &&
		   n->kind == CKPTFS_TENSOR &&
		   CKPTFS_LOC(target, other)->dir != NULL;
	/* A file renamed to a TF2 key a tensor was removed from takes its
	 * TF1 name, and one whose key follows its name renamed to such a
	 * TF1 name (or one a tensor was renamed away from) its key, as a
	 * file made there does (a temporary file renamed into place, or a
	 * directory of them). */
	naming = !takeover && t->src.tf2;
	for (i = 0; i < nmv && rc == 0; i++) {
		struct moved *m = &mv[i];

		key_of(t, m->n, &m->oldkey);
		if (t->src.tf2 && view == CKPTFS_BY_NAME &&
		    (rc = ckptfs_node_rawpath(t, m->n, view, &m->oldname)) < 0)
			break;
		if (takeover) {
			m->other.len = 0;
			m->same = false;
			rc = ckptfs_node_rawpath(t, target, other, &m->other);
		} else {
			rc = moved_other(t, m, view, &oldp, &newp, naming,
					 nmv == 1 && m->n == n, &np);
		}
	}
	/* Two tensors of a directory cannot take one name: then none
	 * takes a removed tensor's name. */
	if (rc == 0 && naming && (rc = others_clash(mv, nmv)) == 1)
		for (i = 0, rc = 0; i < nmv && rc == 0; i++)
			if (mv[i].named)
				rc = moved_other(t, &mv[i], view, &oldp, &newp,
						 false, false, &np);
	for (i = 0; i < nmv && rc == 0; i++) {
		struct moved *m = &mv[i];

		if (!m->same) {
			struct ckptfs_node *occ;

			rc = ckptfs_node_rawpath(t, m->n, other, &m->oldother);
			if (rc == -ENOENT)
				rc = 0;
			occ = node_at(t, other, (const char *)m->other.data,
				      m->other.len);
			if (occ != NULL && occ != target && occ != m->from &&
			    !in_moved(mv, nmv, occ)) {
				if (other == CKPTFS_BY_NAME &&
				    scope_in_way(t,
						 (const char *)m->other.data,
						 m->other.len) == occ)
					m->aside = occ;
				else if (other != CKPTFS_BY_OBJECT ||
					 !m->n->derived_key || m->named)
					rc = -EEXIST;
				else if (m->n == n)	/* renamed alone */
					rc = derive_key(
						t, (const char *)newp.data,
						newp.len, n, &m->other);
				else
					m->same = true;	/* keeps its key */
			}
		}
	}
	if (rc < 0)
		goto out;
	/* Journal first (the paths are the displayed ones before the move). */
	if (!t->ov->replaying) {
		if ((rc = ckptfs_node_path(t, dir, view, &jfrom)) < 0 ||
		    (rc = ckpt_buf_put(&jfrom, "/", 1)) < 0 ||
		    (rc = ckpt_buf_put(&jfrom, name, len)) < 0 ||
		    (rc = ckptfs_node_path(t, ndir, view, &jto)) < 0 ||
		    (rc = ckpt_buf_put(&jto, "/", 1)) < 0 ||
		    (rc = ckpt_buf_put(&jto, nname, nlen)) < 0 ||
		    (rc = journal(t, J_RENAME, &jfrom, &jto, NULL, flags)) < 0)
			goto out;
		journaled = true;
	}
	/* Apply: the replaced target, the move, then the other view.  A
	 * dtype or shape a file renamed took at its old name stays there;
	 * the tensors of a directory renamed keep theirs (a scope moved
	 * is not a file saved through another name).  One taken by this
	 * rename (over a tensor, or to a name or key a tensor left) is the
	 * tensor's own from here on (below). */
	for (i = 0; i < nmv && n->kind != CKPTFS_DIR; i++)
		/* (not where the key stays: a TF2 name changed alone) */
		if (!(t->src.tf2 && view == CKPTFS_BY_NAME && mv[i].same))
			drop_taken(mv[i].n, &mv[i]);
	if (takeover) {
		/* (its own: not another's that left the key before; out of
		 * memory: not taken) */
		(void)take_meta(n, target, true);
		derived = target->derived_name;
		derived_key = target->derived_key;
	}
	if (target != NULL) {
		if (target->kind == CKPTFS_DIR) {
			ckptfs_dir_remove(ndir, nname, nlen);
			dir_touched(t, ndir);
			ckptfs_loc_clear(&target->loc);
		} else {
			delete_tensor(t, target, view, takeover, iv);
		}
	}
	ckptfs_dir_remove(dir, name, len);
	rc = ckptfs_dir_link(ndir, n, nname, nlen, raw.data, raw.len);
	dir_touched(t, dir);
	dir_touched(t, ndir);
	if (rc < 0)
		goto out;	/* -ENOMEM only */
	/* The other view: a directory of the tensor's own renamed in place,
	 * else unlinked (all first, so that names can be exchanged) and
	 * linked at the new path. */
	for (i = 0; i < nmv; i++) {
		struct moved *m = &mv[i];
		struct ckptfs_node *pd;
		const char *r = NULL;
		size_t rlen = 0;

		if (m->same)
			continue;
		pd = private_dir(m->n, other, &m->oldother, &m->other, &r,
				 &rlen);
		if (pd != NULL && rename_private(t, pd, r, rlen, iv))
			m->in_place = true;
		else
			unlink_loc(t, m->n, other, true, iv);
	}
	for (i = 0; i < nmv; i++) {
		struct ckptfs_node *sc;

		if (mv[i].same)
			continue;
		if (!mv[i].in_place) {
			/* A scope in the way steps aside: the one found
			 * above (ASIDE), or one renamed in place just now
			 * (by-name's x@ of by-object's x/sub became y as
			 * by-object's x became y, before the tensor x did).
			 * ASIDE itself may have been renamed in place for
			 * another tensor of the move, and is then not in
			 * the way. */
			if (other == CKPTFS_BY_NAME &&
			    (sc = scope_in_way(t,
					       (const char *)mv[i].other.data,
					       mv[i].other.len)) != NULL &&
			    scope_step_aside(t, sc, iv) < 0)
				rc = -ENOMEM;
			/* the key of the tensor renamed to a backup: that
			 * one goes to its new name's (vac_key()) */
			if (mv[i].from != NULL &&
			    give_key_away(t, mv[i].from, NULL, iv) < 0)
				rc = -ENOMEM;
			if (link_at(t, mv[i].n, other,
				    (const char *)mv[i].other.data,
				    mv[i].other.len) < 0 &&
			    mv[i].oldother.len > 0 &&
			    link_at(t, mv[i].n, other,
				    (const char *)mv[i].oldother.data,
				    mv[i].oldother.len) < 0)
				rc = -EEXIST;	/* cannot happen after the
						 * check */
		}
		if (t->src.tf2 && view == CKPTFS_BY_OBJECT)
			mv[i].n->derived_name =
				!mv[i].named || mv[i].named_derived;
		inval_add(iv, NULL, NULL, 0, mv[i].n->ino);
	}
	/* (a key set in /by-object, or taken from a removed tensor, no
	 * longer follows the TF1 name) */
	for (i = 0; i < nmv && t->src.tf2; i++) {
		if (view == CKPTFS_BY_NAME)
			mv[i].n->derived_name = false;
		if (view == CKPTFS_BY_OBJECT || mv[i].named)
			mv[i].n->derived_key = false;
	}
	if (takeover) {
		n->derived_name = derived;
		n->derived_key = view == CKPTFS_BY_NAME && derived_key;
	}
	for (i = 0; i < nmv; i++) {
		if (mv[i].from != NULL)
			(void)take_meta(mv[i].n, mv[i].from, true);
	}
	/* TF2, in /by-name: the names left, with the keys they had (for a
	 * file made there later: vac_key()) */
	for (i = 0; i < nmv && t->src.tf2 && view == CKPTFS_BY_NAME; i++) {
		struct ckpt_buf o = { 0 };
		const struct ckpt_buf *op = &mv[i].oldother;

		if (mv[i].same)
			op = ckptfs_node_rawpath(t, mv[i].n, other, &o) == 0
				     ? &o
				     : NULL;
		if (op != NULL && op->len > 0 && mv[i].oldname.len > 0)
			vac_note(t->ov, mv[i].n, &mv[i].oldname, op, true);
		ckpt_buf_free(&o);
	}
	/* The keys left, then what the tensors take where they came. */
	for (i = 0; i < nmv; i++) {
		struct ckpt_buf k = { 0 };

		key_of(t, mv[i].n, &k);
		if (mv[i].oldkey.len > 0 &&
		    (k.len != mv[i].oldkey.len ||
		     memcmp(k.data, mv[i].oldkey.data, k.len) != 0)) {
			vac_note(t->ov, mv[i].n, &mv[i].oldkey, NULL, false);
			vac_leave(t->ov, &mv[i]);
		}
		ckpt_buf_free(&k);
	}
	for (i = 0; i < nmv; i++) {
		take_vacated(t, mv[i].n, &mv[i].oldkey);
		mv[i].n->dtype_taken = false;
		mv[i].n->shape_taken = false;
	}
	if (nmv > 0) {
		atomic_store(&t->ov->changed, true);
		t->ov->structure = true;
	}
out:
	/* Journalled, then failed half-way (no memory): the tree no longer
	 * matches the journal, which a replay would apply whole; no more
	 * changes, as for a create. */
	if (rc < 0 && journaled) {
		pthread_mutex_lock(&t->ov->mu);
		t->ov->broken = true;
		pthread_mutex_unlock(&t->ov->mu);
	}
	for (i = 0; i < nmv; i++) {
		ckpt_buf_free(&mv[i].other);
		ckpt_buf_free(&mv[i].oldother);
		ckpt_buf_free(&mv[i].oldkey);
		ckpt_buf_free(&mv[i].oldname);
		free(mv[i].ldims);
	}
	free(mv);
	ckpt_buf_free(&raw);
	ckpt_buf_free(&oldp);
	ckpt_buf_free(&newp);
	ckpt_buf_free(&np);
	ckpt_buf_free(&jfrom);
	ckpt_buf_free(&jto);
	return rc;
}

/* Journal a setxattr of N. */
static int
journal_setx(struct ckptfs_tree *t, struct ckptfs_node *n, const char *name,
	     const void *value, size_t size)
{
	struct ckpt_buf nm = { 0 }, val = { 0 };
	int rc;

	rc = ckpt_buf_put(&nm, name, strlen(name));
	if (rc == 0)
		rc = ckpt_buf_put(&val, value, size);
	if (rc == 0)
		rc = journal_node(t, J_SETX, n, &nm, &val, 0);
	ckpt_buf_free(&nm);
	ckpt_buf_free(&val);
	return rc;
}

/* True if T's source holds its tensor data big-endian: every tensor shown
 * is then in that byte order (unless user.ckpt.byteorder says
 * otherwise), and so is the new checkpoint. */
static bool
big_endian(const struct ckptfs_tree *t)
{
	return t->bundle != NULL && t->bundle->hdr.endianness == 1;
}

/* True unless a tensor of DTYPE (-1: unknown) cannot have its bytes
 * converted to the other byte order: a variant (or a resource), whose
 * elements are serialized protos, each with its own lengths. */
static bool
order_convertible(int dtype)
{
	return dtype < 0 || dtype == CKPT_DT_STRING ||
	       ckpt_dtype_size(dtype) > 0;
}

/* False if a tensor of DTYPE (-1: unknown) and shape DIMS[0..RANK)
 * (RANK -1: unknown) would take more than 2^63 bytes, which no size can
 * match (the element count alone is checked by ckpt_shape_parse()). */
static bool
shape_fits(int dtype, const int64_t *dims, int rank)
{
	uint64_t bytes;

	return dtype < 0 || rank < 0 ||
	       ckpt_tensor_fixed_size(dtype, dims, rank, &bytes) != -EOVERFLOW;
}

int
ckptfs_ov_setxattr(struct ckptfs_tree *t, struct ckptfs_node *n,
		   const char *name, const void *value, size_t size)
{
	char text[CKPT_MAX_RANK * 24 + 16];
	int64_t dims[CKPT_MAX_RANK];
	int rank, dtype, rc;

	if (t->ov == NULL)
		return -EROFS;
	if (n->kind != CKPTFS_TENSOR)
		return -ENOTSUP;
	if (ckptfs_node_is_graph(t, n) ||
	    strcmp(name, CKPTFS_XATTR_KEY) == 0 ||
	    strcmp(name, CKPTFS_XATTR_CRC) == 0) {
		struct ckpt_buf cur = { 0 };
		bool same;

		/* Any value on a file written here (not compared: a
		 * changed tensor's CRC reads every byte); the graph's
		 * attributes only at their value (setfattr --restore). */
		if (n->written && !ckptfs_node_is_graph(t, n))
			return 0;
		rc = ckptfs_xattr_get(t, n, name, &cur);
		same = rc == 0 && cur.len == size &&
		       (size == 0 || memcmp(cur.data, value, size) == 0);
		ckpt_buf_free(&cur);
		return same ? 0 : -EPERM;
	}
	if (strcmp(name, CKPTFS_XATTR_DTYPE) != 0 &&
	    strcmp(name, CKPTFS_XATTR_SHAPE) != 0 &&
	    strcmp(name, CKPTFS_XATTR_ORDER) != 0)
		return -ENOTSUP;
	if (size >= sizeof(text))
		return -EINVAL;
	if (size > 0)
		memcpy(text, value, size);
	text[size] = '\0';
	while (size > 0 && (text[size - 1] == '\n' || text[size - 1] == '\0'))
		text[--size] = '\0';
	if (memchr(text, '\0', size) != NULL)
		return -EINVAL;	/* "int32\0junk" is not int32 */
	if (strcmp(name, CKPTFS_XATTR_ORDER) == 0) {
		bool other;

		if (strcmp(text, "little") != 0 && strcmp(text, "big") != 0)
			return -EINVAL;
		other = (strcmp(text, "big") == 0) != big_endian(t);
		if (other == n->other_order)
			return 0;
		/* (a variant's lengths and checksums are in its bytes) */
		if (other && !order_convertible(n->dtype))
			return -EINVAL;
		if ((rc = copy_up(t, n, UINT64_MAX)) < 0 ||
		    (rc = journal_setx(t, n, name, text, size)) < 0)
			return rc;
		n->other_order = other;
	} else if (strcmp(name, CKPTFS_XATTR_DTYPE) == 0) {
		dtype = ckpt_dtype_from_name(text);
		if (dtype < 0 || !ckpt_dtype_storable(dtype) ||
		    !shape_fits(dtype, n->dims, n->rank) ||
		    (n->other_order && !order_convertible(dtype)))
			return -EINVAL;
		if (dtype == n->dtype && !n->dtype_taken)
			return 0;
		if ((rc = copy_up(t, n, UINT64_MAX)) < 0)
			return rc;
		if ((rc = journal_setx(t, n, name, text, size)) < 0)
			return rc;
		n->dtype = dtype;
		n->dtype_taken = false;
	} else {
		int64_t *nd;

		if (ckpt_shape_parse(text, dims, &rank) < 0 ||
		    !shape_fits(n->dtype, dims, rank))
			return -EINVAL;
		if (rank == n->rank && !n->shape_taken &&
		    (rank == 0 || memcmp(dims, n->dims,
					 (size_t)rank * sizeof(*dims)) == 0))
			return 0;
		if ((rc = copy_up(t, n, UINT64_MAX)) < 0)
			return rc;
		if ((nd = dims_dup(dims, rank)) == NULL)
			return -ENOMEM;
		if ((rc = journal_setx(t, n, name, text, size)) < 0) {
			free(nd);
			return rc;
		}
		set_shape(n, nd, rank);
		n->shape_taken = false;
	}
	n->written = true;
	atomic_store(&t->ov->changed, true);
	return 0;
}

int
ckptfs_ov_removexattr(struct ckptfs_tree *t, struct ckptfs_node *n,
		      const char *name)
{
	bool dtype = strcmp(name, CKPTFS_XATTR_DTYPE) == 0;
	struct ckpt_buf nm = { 0 };
	int rc;

	if (t->ov == NULL)
		return -EROFS;
	if (n->kind != CKPTFS_TENSOR)
		return -ENODATA;
	if (ckptfs_node_is_graph(t, n))
		return -EPERM;
	if (strcmp(name, CKPTFS_XATTR_KEY) == 0 ||
	    strcmp(name, CKPTFS_XATTR_CRC) == 0)
		return n->written ? 0 : -EPERM;
	/* (rsync -X of a file without it: the bytes are taken to be in
	 * the checkpoint's order) */
	if (strcmp(name, CKPTFS_XATTR_ORDER) == 0)
		return n->other_order
			       ? ckptfs_ov_setxattr(t, n, name,
						    big_endian(t) ? "big"
								  : "little",
						    big_endian(t) ? 3 : 6)
			       : 0;
	if (!dtype && strcmp(name, CKPTFS_XATTR_SHAPE) != 0)
		return -ENODATA;
	if (dtype ? n->dtype < 0 : n->rank < 0)
		return -ENODATA;
	if ((rc = copy_up(t, n, UINT64_MAX)) < 0)
		return rc;
	rc = ckpt_buf_put(&nm, name, strlen(name));
	if (rc == 0)
		rc = journal_node(t, J_RMX, n, &nm, NULL, 0);
	ckpt_buf_free(&nm);
	if (rc < 0)
		return rc;
	if (dtype) {
		n->dtype = -1;
		n->dtype_taken = false;
	} else {
		set_shape(n, NULL, -1);
		n->shape_taken = false;
	}
	n->written = true;
	atomic_store(&t->ov->changed, true);
	return 0;
}

int
ckptfs_ov_truncate(struct ckptfs_tree *t, struct ckptfs_node *n,
		   uint64_t size)
{
	int fd, rc;

	if (t->ov == NULL)
		return -EROFS;
	if (n->kind != CKPTFS_TENSOR)
		return n->kind == CKPTFS_DIR ? -EISDIR : -EPERM;
	if (ckptfs_node_is_graph(t, n))
		return -EPERM;
	/* (a tensor whose entry cannot be used has size 0 and still
	 * becomes a new, empty one; so does a tensor of no bytes, which may
	 * be damaged: cut to nothing, it is overwritten whole) */
	if (!ckptfs_ov_spooled(n) && size == n->size && size != 0 &&
	    !t->ov->replaying && !ckptfs_node_bad(n))
		return 0;
	if ((rc = copy_up(t, n, size)) < 0)
		return rc;
	/* Copied up here, cut to SIZE already: a failing ftruncate() must
	 * not report a change that stays made. */
	if (rc == 1 && n->size == size)
		return 0;
	if ((fd = ckptfs_ov_fd_dup(t, n)) < 0)
		return fd;
	rc = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	n->size = size;
	atomic_store(&t->ov->changed, true);
	return 0;
}

/* The spool fd to change tensor N's bytes through (N copied up first),
 * or a negative errno. */
static int
write_fd(struct ckptfs_tree *t, struct ckptfs_node *n)
{
	int rc;

	if (t->ov == NULL)
		return -EROFS;
	if (n->kind != CKPTFS_TENSOR || ckptfs_node_is_graph(t, n))
		return -EPERM;
	if ((rc = copy_up(t, n, UINT64_MAX)) < 0)
		return rc;
	return ckptfs_ov_fd(t, n);
}

/* N was written up to END: it is at least that long (writes may run
 * concurrently). */
static void
grow_to(struct ckptfs_node *n, uint64_t end)
{
	uint64_t cur = n->size;

	while (cur < end && !atomic_compare_exchange_weak(&n->size, &cur, end))
		;
}

/* After a write to N's spool file FD failed (ERR, returned): what it
 * wrote past N's size is cut, so that the file ends where N does, as a
 * replay takes it and later writes past the end expect (the kernel sends
 * one write or copy of a file at a time; its page write-back stays
 * within the size). */
static int
failed_write(int fd, struct ckptfs_node *n, int err)
{
	uint64_t size = atomic_load(&n->size);
	struct stat st;

	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > size)
		(void)ftruncate(fd, (off_t)size);
	return err;
}

int
ckptfs_ov_write(struct ckptfs_tree *t, struct ckptfs_node *n, const void *buf,
		size_t size, uint64_t off)
{
	int fd = write_fd(t, n), rc;

	if (fd < 0)
		return fd;
	if ((rc = ckpt_pwrite_all(fd, buf, size, off)) < 0)
		return failed_write(fd, n, rc);
	grow_to(n, off + size);
	return 0;
}

int
ckptfs_ov_write_fd(struct ckptfs_tree *t, struct ckptfs_node *n, int sfd,
		   uint64_t soff, uint64_t size, uint64_t off)
{
	int fd = write_fd(t, n), rc;

	if (fd < 0)
		return fd;
	if ((rc = ckpt_copy_range(sfd, soff, fd, off, size)) < 0)
		return failed_write(fd, n, rc);
	grow_to(n, off + size);
	return 0;
}

/* Whether a copy of all of tensor FROM into N keeps N's dtype (and byte
 * order): N has one, its own or taken from a tensor it replaced, that
 * the bytes fit (a whole number of its elements; for strings, FROM's
 * strings).  A tensor so overwritten keeps it, as one overwritten by
 * write(2) does, whatever tool copies the bytes. */
static bool
dtype_fits(const struct ckptfs_node *n, const struct ckptfs_node *from)
{
	size_t es = n->dtype >= 0 ? ckpt_dtype_size(n->dtype) : 0;

	return es > 0 ? from->size % es == 0
		      : n->dtype == CKPT_DT_STRING &&
				from->dtype == CKPT_DT_STRING;
}

/* Whether shape RANK, DIMS of DTYPE fits a copy of all of FROM: as many
 * bytes, or for strings as many elements. */
static bool
copy_fits(int dtype, int rank, const int64_t *dims,
	  const struct ckptfs_node *from)
{
	uint64_t elems, fe, es = dtype >= 0 ? ckpt_dtype_size(dtype) : 0;

	if (rank < 0 || ckpt_shape_elems(dims, rank, &elems) < 0)
		return false;
	if (dtype == CKPT_DT_STRING)
		return from->rank >= 0 &&
		       ckpt_shape_elems(from->dims, from->rank, &fe) == 0 &&
		       fe == elems;
	return es > 0 && elems <= UINT64_MAX / es && elems * es == from->size;
}

/* Whether shape RA, DA is RB, DB. */
static bool
same_shape(int ra, const int64_t *da, int rb, const int64_t *db)
{
	return ra == rb && (ra <= 0 || memcmp(da, db, (size_t)ra *
						      sizeof(*da)) == 0);
}

/* Whether a copy of all of FROM into N keeps a dtype or shape of N's
 * (dtype_fits(), copy_fits()) that is not FROM's: N cannot be FROM
 * itself. */
static bool
meta_differs(const struct ckptfs_node *n, const struct ckptfs_node *from)
{
	if (!dtype_fits(n, from))
		return false;
	return n->dtype != from->dtype || n->other_order != from->other_order ||
	       (copy_fits(n->dtype, n->rank, n->dims, from) &&
		!same_shape(n->rank, n->dims, from->rank, from->dims));
}

/* Whether new, empty tensor N can take FROM's bytes by sharing them
 * (ckptfs_ov_share()). */
static bool
can_share(const struct ckptfs_tree *t, const struct ckptfs_node *n,
	  const struct ckptfs_node *from)
{
	/* N: a file made in this mount, in both views, nothing in it, with
	 * no dtype and shape that FROM's bytes fit but for FROM's own
	 * (meta_differs(); replaying, what its spool file holds is that of
	 * later records, and the share was made: a journal of a version
	 * that shared more is replayed as it was); FROM: a source tensor,
	 * unchanged, its bytes
	 * usable (replaying, even if its data file was cut since: the copy
	 * then fails as the tensor does, and the other changes come back),
	 * still named (a journal record names it).  (/by-object is built:
	 * its build maps entries to nodes, one node each.) */
	return !atomic_load(&t->object_pending) && n->kind == CKPTFS_TENSOR &&
	       n->ino > t->base_inodes && ckptfs_ov_spooled(n) &&
	       (t->ov->replaying || n->size == 0) && !n->deleted &&
	       (t->ov->replaying || !meta_differs(n, from)) &&
	       n->loc.dir != NULL && n->oloc.dir != NULL &&
	       from->kind == CKPTFS_TENSOR && from->entry != NULL &&
	       !from->deleted && !ckptfs_ov_spooled(from) &&
	       !ckptfs_node_bad(from) &&
	       (t->bundle == NULL || t->ov->replaying ||
		(!ckpt_bundle_entry_short(t->bundle, from->entry) &&
		 !ckpt_bundle_entry_changed(t->bundle, from->entry))) &&
	       !ckptfs_node_damaged(from) && !ckptfs_node_is_graph(t, from);
}

int
ckptfs_ov_share(struct ckptfs_tree *t, struct ckptfs_node *n,
		struct ckptfs_node *from, uint64_t off, uint64_t len,
		uint64_t *count)
{
	struct ckpt_buf p = { 0 };
	int rc;

	*count = 0;
	if (t->ov == NULL || n == from)
		return 0;
	if (!(atomic_load(&n->shares) && n->entry == from->entry &&
	      !ckptfs_ov_spooled(from))) {
		/* Not the same bytes already (a copy continued): share them
		 * if the copy is of all of them, into an empty new file. */
		if (off != 0 || len < from->size || !can_share(t, n, from))
			return 0;
		if (!t->ov->replaying) {
			rc = ckptfs_node_path(t, from,
					      from->loc.dir ? CKPTFS_BY_NAME
							    : CKPTFS_BY_OBJECT,
					      &p);
			if (rc == 0)
				rc = journal_node(t, J_SHARE, n, &p, NULL, 0);
			ckpt_buf_free(&p);
			if (rc < 0)
				return rc;
		}
		n->entry = from->entry;
		n->dtype = from->entry->dtype;
		set_shape(n, (int64_t *)from->entry->dims, from->entry->rank);
		n->dtype_taken = false;
		n->shape_taken = false;
		n->other_order = false;	/* the source's bytes */
		n->dims_owned = false;
		n->size = from->size;
		atomic_store(&n->crc, atomic_load(&from->crc));
		/* found good (a check under way is FROM's to finish) */
		atomic_store(&n->verified,
			     atomic_load(&from->verified) == 1 ? 1 : 0);
		n->written = true;
		atomic_store(&n->shares, true);	/* not spooled now */
		atomic_store(&t->ov->changed, true);
	}
	*count = off < n->size ? n->size - off : 0;
	if (*count > len)
		*count = len;
	return 1;
}

int
ckptfs_ov_take_meta(struct ckptfs_tree *t, struct ckptfs_node *n,
		    struct ckptfs_node *from)
{
	static const char *const names[] = { CKPTFS_XATTR_DTYPE,
					     CKPTFS_XATTR_SHAPE,
					     CKPTFS_XATTR_ORDER };
	bool keep;
	int rc = 0;

	if (t->ov == NULL || n == from || n->kind != CKPTFS_TENSOR ||
	    from->kind != CKPTFS_TENSOR || n->deleted || from->dtype < 0 ||
	    n->size != from->size)
		return 0;
	/* N's dtype kept (and its byte order with it): its shape too if it
	 * fits, else FROM's if that fits, else as it is, as after write(2);
	 * else all of FROM's */
	keep = dtype_fits(n, from);
	if (keep && (copy_fits(n->dtype, n->rank, n->dims, from) ||
		     !copy_fits(n->dtype, from->rank, from->dims, from)))
		return 0;
	for (size_t k = keep ? 1 : 0; k < (keep ? 2u : 3u) && rc == 0; k++) {
		struct ckpt_buf v = { 0 };

		rc = ckptfs_xattr_get(t, from, names[k], &v);
		if (rc == 0)	/* (a scalar's shape is empty) */
			rc = ckptfs_ov_setxattr(t, n, names[k],
						v.data ? (const void *)v.data
						       : "",
						v.len);
		else if (rc == -ENODATA)
			rc = 0;
		ckpt_buf_free(&v);
	}
	return rc;
}

int
ckptfs_ov_create(struct ckptfs_tree *t, struct ckptfs_node *dir,
		 const char *name, size_t len, bool is_dir,
		 struct ckptfs_node **out, struct ckptfs_invals *iv)
{
	int rc;

	if (t->ov != NULL)
		t->ov->cur_iv = iv;
	names_before(t);
	rc = ov_create(t, dir, name, len, is_dir, out, iv);
	if (t->ov != NULL)
		t->ov->cur_iv = NULL;
	return rc;
}

int
ckptfs_ov_remove(struct ckptfs_tree *t, struct ckptfs_node *dir,
		 const char *name, size_t len, bool is_dir,
		 struct ckptfs_invals *iv)
{
	int rc;

	if (t->ov != NULL)
		t->ov->cur_iv = iv;
	names_before(t);
	rc = ov_remove(t, dir, name, len, is_dir, iv);
	if (t->ov != NULL)
		t->ov->cur_iv = NULL;
	return rc;
}

int
ckptfs_ov_rename(struct ckptfs_tree *t, struct ckptfs_node *dir,
		 const char *name, size_t len, struct ckptfs_node *ndir,
		 const char *nname, size_t nlen, unsigned int flags,
		 struct ckptfs_invals *iv)
{
	int rc;

	if (t->ov != NULL)
		t->ov->cur_iv = iv;
	names_before(t);
	rc = ov_rename(t, dir, name, len, ndir, nname, nlen, flags, iv);
	if (t->ov != NULL)
		t->ov->cur_iv = NULL;
	return rc;
}

void
ckptfs_ov_release(struct ckptfs_tree *t, struct ckptfs_node *n, bool write)
{
	int w = write ? 1 + CKPTFS_NOPEN_WRITE : 1;

	if (t->ov == NULL) {
		atomic_fetch_sub(&n->nopen, w);
		return;
	}
	pthread_mutex_lock(&t->ov->fd_mu);
	if (atomic_fetch_sub(&n->nopen, w) == w &&
	    atomic_load(&n->spool_fd) >= 0)
		close(atomic_exchange(&n->spool_fd, -1));
	pthread_mutex_unlock(&t->ov->fd_mu);
}

void
ckptfs_ov_open(struct ckptfs_tree *t, struct ckptfs_node *n, bool write)
{
	int fd;

	if (t->ov == NULL) {
		atomic_fetch_add(&n->nopen, write ? 1 + CKPTFS_NOPEN_WRITE : 1);
		return;
	}
	pthread_mutex_lock(&t->ov->fd_mu);
	atomic_fetch_add(&n->nopen, write ? 1 + CKPTFS_NOPEN_WRITE : 1);
	if (ckptfs_ov_spooled(n) && atomic_load(&n->spool_fd) < 0 &&
	    (fd = spool_reopen(t, n)) >= 0)
		atomic_store(&n->spool_fd, fd);
	pthread_mutex_unlock(&t->ov->fd_mu);
}

void
ckptfs_ov_verify_all(struct ckptfs_tree *t)
{
	if (t->ov != NULL)
		t->ov->verify_all = true;
}

void
ckptfs_ov_cut_off(struct ckptfs_tree *t)
{
	if (t->ov != NULL)
		t->ov->cut_off = true;
}

/* --- replay ----------------------------------------------------------------- */

/* Split the displayed PATH "by-name/a/b" into its directory node and last
 * name. */
static int
resolve_parent(struct ckptfs_tree *t, const char *path, size_t len,
	       struct ckptfs_node **dir, const char **name, size_t *nlen)
{
	const char *slash = memrchr(path, '/', len);
	char *d;

	if (slash == NULL)
		return -EINVAL;
	/* The journal names nodes by their paths, never with "." or "..",
	 * nor a NUL (ckptfs_tree_path() would stop there). */
	if (memchr(path, '\0', len) != NULL)
		return -EINVAL;
	for (const char *c = path, *end = path + len; c < end;) {
		const char *e = memchr(c, '/', (size_t)(end - c));
		size_t cl = (size_t)((e != NULL ? e : end) - c);

		if ((cl == 1 && c[0] == '.') ||
		    (cl == 2 && c[0] == '.' && c[1] == '.'))
			return -EINVAL;
		c += cl + 1;
	}
	d = strndup(path, (size_t)(slash - path));
	if (d == NULL)
		return -ENOMEM;
	*dir = ckptfs_tree_path(t, d);
	free(d);
	*name = slash + 1;
	*nlen = len - (size_t)(slash + 1 - path);
	return *dir != NULL ? 0 : -ENOENT;
}

/* The node at displayed PATH. */
static struct ckptfs_node *
resolve(struct ckptfs_tree *t, const char *path, size_t len)
{
	struct ckptfs_node *dir;
	const char *name;
	size_t nlen;

	if (resolve_parent(t, path, len, &dir, &name, &nlen) < 0)
		return NULL;
	return ckptfs_dir_lookup(dir, name, nlen);
}

/* Attach spool file ID to N (replay of a create or copy-up). */
static int
attach_spool(struct ckptfs_tree *t, struct ckptfs_node *n, uint64_t id)
{
	struct stat st;
	int fd;

	/* Never written (0 is "not spooled"); a directory cannot be. */
	if (id == 0 || id == UINT64_MAX || n->kind != CKPTFS_TENSOR)
		return -EBADMSG;
	/* The ids of spool files gone are not free either: a later record
	 * may remove the tensor of this one, and the file with it
	 * (scan_ids() sees only the files still there). */
	if (id >= t->ov->next_id)
		t->ov->next_id = id + 1;
	fd = spool_open(t, id, true);
	if (fd == -ENOENT && t->ov->replaying) {
		/* Gone: right if a later record removes N; checked once the
		 * journal is replayed (replay_missing()). */
		struct ckptfs_node **v = reallocarray(
			t->ov->missing, t->ov->nmissing + 1, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		t->ov->missing = v;
		v[t->ov->nmissing++] = n;
		n->size = 0;
		n->written = true;
		n->spool_id = id;
		atomic_store(&n->shares, false);
		atomic_store(&t->ov->changed, true);
		return 0;
	}
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	pthread_mutex_lock(&t->ov->fd_mu);
	if (atomic_load(&n->spool_fd) >= 0)
		close(atomic_exchange(&n->spool_fd, -1));
	pthread_mutex_unlock(&t->ov->fd_mu);
	n->size = (uint64_t)st.st_size;
	n->written = true;
	n->spool_id = id;
	atomic_store(&n->shares, false);
	spool_fd_park(t, n, fd);
	atomic_store(&t->ov->changed, true);
	return 0;
}

/* Apply one journal record [P, LIMIT). */
static int
replay_one(struct ckptfs_tree *t, const uint8_t *p, const uint8_t *limit,
	   struct ckpt_err *err)
{
	const char *a = NULL, *b = NULL, *c = NULL, *name;
	size_t al = 0, bl = 0, cl = 0, nlen, bnlen;
	struct ckptfs_node *dir, *ndir, *n;
	const char *bname;
	uint64_t num = 0;
	uint8_t op = *p++;
	int rc, nf;

	nf = op == J_RENAME || op == J_RMX || op == J_SHARE ? 2
	     : op == J_SETX				   ? 3
							   : 1;
	if (op == J_HEADER)
		nf = 3;
	if ((rc = get_field(&p, limit, &a, &al)) < 0 ||
	    (nf > 1 && (rc = get_field(&p, limit, &b, &bl)) < 0) ||
	    (nf > 2 && (rc = get_field(&p, limit, &c, &cl)) < 0) ||
	    ckpt_get_varint64(&p, limit, &num) < 0)
		return ckpt_fail(err, -EBADMSG, "%s/journal: bad record",
				 t->ov->spool_dir);
	if (op == J_HEADER) {
		const char *pre = t->src.prefix ? t->src.prefix : "";
		uint64_t nsec = 0;

		if (al != strlen(JOURNAL_MAGIC) ||
		    memcmp(a, JOURNAL_MAGIC, al) != 0)
			return ckpt_fail(err, -EBADMSG,
					 "%s/journal: not a ckptfs journal",
					 t->ov->spool_dir);
		if (bl != strlen(pre) || memcmp(b, pre, bl) != 0 ||
		    cl != strlen(t->tf2_root) ||
		    memcmp(c, t->tf2_root, cl) != 0)
			return ckpt_fail(err, -ESTALE,
					 "%s: spool of another checkpoint "
					 "(%.*s, tf2_root=%.*s)",
					 t->ov->spool_dir, (int)bl, b, (int)cl,
					 c);
		if (num != (uint64_t)t->src.mtime.tv_sec ||
		    ckpt_get_varint64(&p, limit, &nsec) < 0 ||
		    nsec != (uint64_t)t->src.mtime.tv_nsec)
			return ckpt_fail(err, -ESTALE,
					 "%s: spool of %.*s as it was when its "
					 "index was modified at %" PRIu64
					 ".%09" PRIu64 " s; that index is "
					 "now of %lld.%09ld s (written again, "
					 "or copied without its time): the "
					 "changes replay only on the checkpoint "
					 "they were made on",
					 t->ov->spool_dir, (int)bl, b, num,
					 nsec,
					 (long long)t->src.mtime.tv_sec,
					 (long)t->src.mtime.tv_nsec);
		return 0;
	}
	t->ov->replayed++;
	switch (op) {
	case J_CREATE:
	case J_MKDIR:
		if ((rc = resolve_parent(t, a, al, &dir, &name, &nlen)) < 0)
			break;
		rc = ckptfs_ov_create(t, dir, name, nlen, op == J_MKDIR, &n,
				      NULL);
		if (rc == 0 && op == J_CREATE)
			rc = attach_spool(t, n, num);
		break;
	case J_UNLINK:
	case J_RMDIR:
		if ((rc = resolve_parent(t, a, al, &dir, &name, &nlen)) < 0)
			break;
		rc = ckptfs_ov_remove(t, dir, name, nlen, op == J_RMDIR, NULL);
		break;
	case J_RENAME:
		if ((rc = resolve_parent(t, a, al, &dir, &name, &nlen)) < 0 ||
		    (rc = resolve_parent(t, b, bl, &ndir, &bname, &bnlen)) < 0)
			break;
		rc = ckptfs_ov_rename(t, dir, name, nlen, ndir, bname, bnlen,
				      (unsigned int)num, NULL);
		break;
	case J_SETX: {
		char *nm = strndup(b, bl);

		n = resolve(t, a, al);
		if (nm == NULL)
			rc = -ENOMEM;
		else if (n == NULL)
			rc = -ENOENT;
		else if (strcmp(nm, CKPTFS_XATTR_DTYPE) == 0 ||
			 strcmp(nm, CKPTFS_XATTR_SHAPE) == 0 ||
			 strcmp(nm, CKPTFS_XATTR_ORDER) == 0) {
			/* The copy-up before it has its own record. */
			rc = ckptfs_ov_setxattr(t, n, nm, c, cl);
		}
		free(nm);
		break;
	}
	case J_RMX: {
		char *nm = strndup(b, bl);

		n = resolve(t, a, al);
		rc = nm == NULL ? -ENOMEM
		     : n == NULL ? -ENOENT
				 : ckptfs_ov_removexattr(t, n, nm);
		free(nm);
		break;
	}
	case J_COPYUP:
		n = resolve(t, a, al);
		rc = n == NULL ? -ENOENT : attach_spool(t, n, num);
		break;
	case J_SHARE: {
		struct ckptfs_node *from = resolve(t, b, bl);
		uint64_t size;

		n = resolve(t, a, al);
		rc = n == NULL || from == NULL ? -ENOENT
		     : ckptfs_ov_share(t, n, from, 0, UINT64_MAX, &size) == 1
			     ? 0
			     : -EBADMSG;
		break;
	}
	default:
		rc = -EBADMSG;
	}
	if (rc < 0) {
		char opname[8];

		/* (a damaged record's op may be any byte, NUL included) */
		snprintf(opname, sizeof(opname), isprint(op) ? "'%c'" : "0x%02x",
			 op);
		return ckpt_fail(err, rc,
				 "%s/journal: cannot replay %s on %.*s: %s",
				 t->ov->spool_dir, opname, (int)al, a,
				 strerror(-rc));
	}
	return 0;
}

/* Whether a whole record that matches its checksum starts at OFF of the
 * journal BUF (LEN bytes). */
static bool
record_at(const uint8_t *buf, size_t len, size_t off)
{
	uint32_t rl;

	if (len - off < 8)
		return false;
	rl = ckpt_load32le(buf + off);
	return rl > 0 && rl <= len - off - 8 &&
	       ckpt_crc_mask(ckpt_crc32c(buf + off + 8, rl)) ==
		       ckpt_load32le(buf + off + 4);
}

/* The record at OFF of the journal BUF (LEN bytes, at PATH), of RL bytes,
 * is cut short or does not match its checksum.  That is what an append
 * cut by a crash leaves, as the last record: then return 0, and the
 * replay drops it.  A power failure may also leave zeros where the last
 * records were.  Anything else after it means damage in the middle,
 * whose later records must not be dropped in silence: -EBADMSG.  A
 * length damaged to run past the end looks like a cut append but for
 * the whole records that follow it, which no crash leaves behind one:
 * they are looked for at every byte. */
static int
torn_or_damaged(const uint8_t *buf, size_t len, size_t off, uint32_t rl,
		const char *path, struct ckpt_err *err)
{
	size_t next = rl > len - off - 8 ? len : off + 8 + rl, i, found;

	for (found = off + 1; found < len; found++)
		if (record_at(buf, len, found))
			break;
	for (i = rl == 0 ? off : next; i < len && buf[i] == 0; i++)
		;
	if (i == len && found == len)
		return 0;
	return ckpt_fail(err, -EBADMSG,
			 "%s: the change recorded at byte %zu is damaged, and "
			 "%zu bytes of changes follow it; nothing was mounted "
			 "(move the spool aside to mount without its changes)",
			 path, off, len - (found < next ? found : next));
}

/* After a replay: a tensor whose spool file is gone and that no later
 * record removed has lost its bytes; say so instead of mounting it
 * empty. */
static int
replay_missing(struct ckptfs_tree *t, struct ckpt_err *err)
{
	struct ckptfs_overlay *ov = t->ov;
	struct ckpt_buf w = { 0 };
	int rc = 0;

	for (size_t i = 0; i < ov->nmissing && rc == 0; i++) {
		struct ckptfs_node *n = ov->missing[i];
		char nm[32];

		if (n->deleted ||
		    (n->loc.dir == NULL && n->oloc.dir == NULL))
			continue;
		spool_name(n->spool_id, nm);
		where(t, n, &w);
		rc = ckpt_fail(err, -ENOENT,
			       "%s/%s: missing, so the changes to %s cannot be "
			       "replayed; nothing was mounted (move the spool "
			       "aside to mount without its changes)",
			       ov->spool_dir, nm, (const char *)w.data);
	}
	ckpt_buf_free(&w);
	free(ov->missing);
	ov->missing = NULL;
	ov->nmissing = 0;
	return rc;
}

/* Replay the journal in the spool directory, if there is one. */
static int
replay(struct ckptfs_tree *t, struct ckpt_err *err)
{
	struct ckptfs_overlay *ov = t->ov;
	uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	struct stat st;
	int fd, rc = 0;
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/" JOURNAL, ov->spool_dir) >=
	    (int)sizeof(path))
		return ckpt_fail(err, -ENAMETOOLONG, "%s: name too long",
				 ov->spool_dir);
	fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0
				       : ckpt_fail(err, -errno, "%s: %s", path,
						   strerror(errno));
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid()) {
		close(fd);
		return ckpt_fail(err, -EPERM, "%s: not ours", path);
	}
	len = (size_t)st.st_size;
	buf = malloc(len ? len : 1);
	if (buf == NULL) {
		close(fd);
		return ckpt_fail(err, -ENOMEM, "out of memory");
	}
	if (pread(fd, buf, len, 0) != (ssize_t)len) {
		rc = ckpt_fail(err, -EIO, "%s: short read", path);
		goto out;
	}
	/* Changes name tensors in either view: both must be there. */
	if (len > 0 && (rc = ckptfs_tree_build_object(t, err)) < 0)
		goto out;
	ov->replaying = true;
	while (rc == 0 && len - off >= 8) {
		uint32_t rl = ckpt_load32le(buf + off);
		uint32_t crc = ckpt_load32le(buf + off + 4);

		if (rl == 0 || len - off - 8 < rl ||
		    ckpt_crc_mask(ckpt_crc32c(buf + off + 8, rl)) != crc) {
			rc = torn_or_damaged(buf, len, off, rl, path, err);
			break;
		}
		if (off == 0 && buf[8] != J_HEADER) {
			rc = ckpt_fail(err, -EBADMSG, "%s: no header", path);
			break;
		}
		rc = replay_one(t, buf + off + 8, buf + off + 8 + rl, err);
		off += 8 + rl;
	}
	ov->replaying = false;
	if (rc == 0)
		rc = replay_missing(t, err);
	if (rc == 0 && off < len) {
		ov->dropped = len - off;
		if (ftruncate(fd, (off_t)off) < 0)
			rc = ckpt_fail(err, -errno, "%s: %s", path,
				       strerror(errno));
		/* An append cut short is taken back to JSIZE: that is the
		 * end now, not what spool_ensure() saw during the replay. */
		ov->jsize = (off_t)off;
	}
out:
	free(buf);
	close(fd);
	return rc;
}

/* Whether WRITTEN in directory DIRFD is the mark of a finished
 * write-out: a regular file (not a link) that was a journal (its header
 * record, first, holds the magic). */
static bool
written_mark(int dirfd)
{
	char head[64];
	struct stat st;
	ssize_t got;
	bool mark;
	int fd = openat(dirfd, WRITTEN,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return false;
	got = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
		      ? pread(fd, head, sizeof(head), 0)
		      : -1;
	mark = got > 0 && memmem(head, (size_t)got, JOURNAL_MAGIC,
				 strlen(JOURNAL_MAGIC)) != NULL;
	close(fd);
	return mark;
}

/* Whether NAME is one of the files a spool holds: the journal, or a
 * spool file (16 hex digits and ".spool"). */
static bool
spool_own_name(const char *name)
{
	size_t i;

	if (strcmp(name, JOURNAL) == 0)
		return true;
	for (i = 0; i < 16; i++)
		if (!isxdigit((unsigned char)name[i]))
			return false;
	return strcmp(name + 16, ".spool") == 0;
}

/* Read the spool directory PATH (if there is one): set *NEXT_ID above
 * every spool file in it and *WRITTEN if it holds the mark of a finished
 * write-out, and return whether it holds something that is not the
 * spool's own: then it is not a spool (a directory named by mistake,
 * $HOME, the source's own), and nothing in it may be used or removed. */
static bool
spool_scan(const char *path, uint64_t *next_id, bool *written)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool foreign = false;

	*next_id = 1;
	*written = false;
	if (d == NULL)
		return false;
	while (!foreign && (de = readdir(d)) != NULL) {
		uint64_t id;

		if (strcmp(de->d_name, WRITTEN) == 0) {
			*written = written_mark(dirfd(d));
			foreign = !*written;
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, JOURNAL) == 0)
			continue;
		foreign = !spool_own_name(de->d_name);
		if (!foreign && (id = strtoull(de->d_name, NULL, 16)) >=
					*next_id)
			*next_id = id + 1;
	}
	closedir(d);
	return foreign;
}

int
ckptfs_overlay_open(struct ckptfs_tree *t, const char *spool_dir,
		    struct ckpt_err *err)
{
	struct ckptfs_overlay *ov;
	struct stat st;
	uint64_t next_id;
	bool written;
	int rc;

	/* Something else at the spool's name is never used (spool_ensure()
	 * opens it without following links and checks its owner): say so
	 * now rather than fail every change. */
	if (lstat(spool_dir, &st) < 0)
		st.st_mode = 0;	/* made at the first change */
	else if (!S_ISDIR(st.st_mode))
		return ckpt_fail(err, -ENOTDIR,
				 "%s: %s, not a directory: it cannot be the "
				 "spool of changes (move it away, give -o "
				 "spool=DIR, or mount with -o ro)",
				 spool_dir,
				 S_ISLNK(st.st_mode) ? "a symbolic link (not "
						       "followed)"
						     : "a file");
	if (st.st_mode != 0 && st.st_uid != geteuid())
		return ckpt_fail(err, -EPERM,
				 "%s: the spool is another user's directory "
				 "(give -o spool=DIR, or mount with -o ro)",
				 spool_dir);
	/* The spool is removed once written out, with what is in it. */
	if (spool_scan(spool_dir, &next_id, &written))
		return ckpt_fail(err, -EEXIST,
				 "%s: a directory holding other files than a "
				 "spool's: it cannot be the spool of changes, "
				 "which is removed once they are written (give "
				 "-o spool= a new or empty directory, or mount "
				 "with -o ro)",
				 spool_dir);
	/* Mounting the source again, as after a failed write-out, would
	 * write it without the changes over the output that has them. */
	if (written)
		return ckpt_fail(err, -EALREADY,
				 "%s: the changes in this spool were written "
				 "out (its daemon ended while removing it): "
				 "they are in the output; mount the output to "
				 "change it further, and remove this spool",
				 spool_dir);
	ov = calloc(1, sizeof(*ov));
	if (ov == NULL || (ov->spool_dir = strdup(spool_dir)) == NULL) {
		free(ov);
		return ckpt_fail(err, -ENOMEM, "out of memory");
	}
	ov->dirfd = ov->jfd = ov->claim_fd = -1;
	if ((ov->parentfd = ckpt_open_dir_of(spool_dir)) < 0)
		ov->parentfd = AT_FDCWD;	/* by its path, then */
	pthread_mutex_init(&ov->mu, NULL);
	pthread_mutex_init(&ov->copy_mu, NULL);
	pthread_mutex_init(&ov->fd_mu, NULL);
	atomic_init(&ov->changed, false);
	t->ov = ov;
	t->writable = true;
	/* Claimed from the start, so that a second mount learns at once
	 * that it cannot change anything; one whose journal is in use by
	 * another cannot even replay it. */
	if (spool_claim(ov) == -EBUSY) {
		char *j = NULL;

		ov->busy = true;
		if (asprintf(&j, "%s/" JOURNAL, ov->spool_dir) < 0)
			j = NULL;
		if (j == NULL || access(j, F_OK) == 0) {
			free(j);
			ckptfs_overlay_close(t);
			t->writable = false;
			return ckpt_fail(err, -EBUSY,
					 "%s: the spool of another mount that "
					 "is still up; give this mount its own "
					 "-o output= or -o spool=",
					 spool_dir);
		}
		free(j);
	}
	ov->next_id = next_id;
	rc = replay(t, err);
	if (rc < 0) {
		ckptfs_overlay_close(t);
		t->writable = false;
	}
	return rc;
}

void
ckptfs_overlay_close(struct ckptfs_tree *t)
{
	struct ckptfs_overlay *ov = t->ov;

	if (ov == NULL)
		return;
	if (ov->jfd >= 0)
		close(ov->jfd);
	if (ov->dirfd >= 0)
		close(ov->dirfd);
	if (ov->claim_fd >= 0)
		close(ov->claim_fd);
	if (ov->parentfd >= 0)
		close(ov->parentfd);
	free(ov->missing);
	for (size_t i = 0; i < ov->vcap; i++) {
		if (ov->vac[i] != NULL) {
			free(ov->vac[i]->name);
			free(ov->vac[i]->ldims);
		}
		free(ov->vac[i]);
	}
	free(ov->vac);
	for (size_t i = 0; i < ov->nhidden; i++)
		free(ov->hidden[i].path);
	free(ov->hidden);
	ckpt_buf_free(&ov->refusals);
	ckpt_buf_free(&ov->notes);
	free(ov->unsynced);
	pthread_mutex_destroy(&ov->mu);
	pthread_mutex_destroy(&ov->copy_mu);
	pthread_mutex_destroy(&ov->fd_mu);
	free(ov->spool_dir);
	free(ov);
	t->ov = NULL;
}

bool
ckptfs_overlay_changed(const struct ckptfs_tree *t)
{
	return t->ov != NULL && atomic_load(&t->ov->changed);
}

bool
ckptfs_overlay_spool_gone(const struct ckptfs_tree *t)
{
	struct stat held, now;

	if (t->ov == NULL || t->ov->dirfd < 0 ||
	    fstat(t->ov->dirfd, &held) < 0)
		return false;
	return held.st_nlink == 0 || stat(t->ov->spool_dir, &now) < 0 ||
	       now.st_dev != held.st_dev || now.st_ino != held.st_ino;
}

int
ckptfs_overlay_sync(struct ckptfs_tree *t)
{
	struct ckptfs_overlay *ov = t->ov;
	int rc = 0;

	if (ov == NULL)
		return 0;
	/* All under the journal's lock, so that no record is appended
	 * meanwhile whose bytes this does not sync (copy_up()). */
	pthread_mutex_lock(&ov->mu);
	/* The bytes the journal's copy-ups took from the source first (a
	 * file since removed is not synced) */
	while (rc == 0 && ov->nunsynced > 0 && ov->dirfd >= 0) {
		char nm[32];
		int fd;

		spool_name(ov->unsynced[ov->nunsynced - 1], nm);
		fd = openat(ov->dirfd, nm, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno != ENOENT)
			rc = -errno;
		else if (fd >= 0 && fdatasync(fd) < 0)
			rc = -errno;
		if (fd >= 0)
			close(fd);
		if (rc == 0)
			ov->nunsynced--;
	}
	if (rc == 0 && ov->jfd >= 0 && fsync(ov->jfd) < 0)
		rc = -errno;
	if (rc == 0 && ov->dirfd >= 0 && fsync(ov->dirfd) < 0)
		rc = -errno;
	/* and, once, the spool's own name, which its first change made */
	if (rc == 0 && ov->dirfd >= 0 && !ov->parent_synced &&
	    ov->parentfd >= 0) {
		if (fsync(ov->parentfd) < 0)
			rc = -errno;
		else
			ov->parent_synced = true;
	}
	pthread_mutex_unlock(&ov->mu);
	return rc;
}

size_t
ckptfs_overlay_dropped(const struct ckptfs_tree *t)
{
	return t->ov != NULL ? t->ov->dropped : 0;
}

bool
ckptfs_overlay_busy(const struct ckptfs_tree *t)
{
	return t->ov != NULL && t->ov->busy;
}

size_t
ckptfs_overlay_replayed(const struct ckptfs_tree *t)
{
	return t->ov != NULL ? t->ov->replayed : 0;
}

int
ckptfs_overlay_statvfs(const struct ckptfs_tree *t, struct statvfs *sv)
{
	char *parent;
	int rc;

	if (t->ov == NULL)
		return -EROFS;
	if (statvfs(t->ov->spool_dir, sv) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	if ((parent = spool_parent(t->ov)) == NULL)
		return -ENOMEM;
	rc = statvfs(parent, sv) == 0 ? 0 : -errno;
	free(parent);
	return rc;
}

/* --- write-out --------------------------------------------------------------- */

/* Remove the spool directory and everything in it, the journal first
 * (WROTE: after a write-out): a spool killed half-way through is then
 * only litter (no journal to replay against missing spool files).
 * Something else at the spool's name (a symbolic link, a file, a
 * directory of another user) is not a spool: it is left alone, never
 * followed. */
static int
spool_remove(struct ckptfs_overlay *ov, bool wrote)
{
	struct dirent *de;
	struct stat st;
	bool marked;
	DIR *d;
	int dfd, moved, left = 0;

	if (ov->busy)
		return 0;	/* another mount's, in use */
	/* A new open of the directory, not a dup of DIRFD: btrfs lists
	 * through an open directory only the names it held when opened, and
	 * DIRFD was opened before the spool files were made. */
	dfd = ov->dirfd >= 0
		      ? openat(ov->dirfd, ".",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		      : openat(ov->parentfd, spool_base(ov),
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				       O_CLOEXEC);
	/* (nothing of ours there: another user's is not opened, and is
	 * left alone) */
	if (dfd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ||
				       errno == EACCES
			       ? 0
			       : -errno;
	if (fstat(dfd, &st) < 0 || st.st_uid != geteuid()) {
		close(dfd);
		return 0;
	}
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -errno;
	}
	/* The journal goes first.  After a write-out (WROTE) it is renamed
	 * to the mark of a finished write-out (atomically: a crash leaves
	 * the one or the other), which goes last; never over a file of
	 * that name put there since the mount (the journal is only removed
	 * then).  With nothing written it is only removed: a mark would
	 * tell the next mount that its changes are in an output. */
	marked = false;
	if (wrote) {
		moved = renameat2(dfd, JOURNAL, dfd, WRITTEN,
				  RENAME_NOREPLACE);
		if (moved < 0 && errno == EINVAL) {	/* not here */
			if (fstatat(dfd, WRITTEN, &st,
				    AT_SYMLINK_NOFOLLOW) == 0)
				errno = EEXIST;
			else
				moved = renameat(dfd, JOURNAL, dfd, WRITTEN);
		}
		marked = moved == 0;
	}
	/* (not marked: removed, but for a journal already gone) */
	if (!marked && (!wrote || errno == EEXIST
				? unlinkat(dfd, JOURNAL, 0) < 0 &&
					  errno != ENOENT
				: errno != ENOENT)) {
		int rc = -errno;

		closedir(d);
		return rc;
	}
	ckpt_test_crash("after-journal-unlink");
	if (ckpt_test_fail("spool-remove") < 0) {
		closedir(d);
		return -EIO;
	}
	/* Only the spool's own files: anything else put there since the
	 * mount stays, and so does the directory then.  After a write-out,
	 * one that cannot be removed keeps the mark (its changes are
	 * written out) and is said; without a journal the rest is litter. */
	while ((de = readdir(d)) != NULL)
		if (spool_own_name(de->d_name) &&
		    unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT &&
		    left == 0)
			left = -errno;
	if (left < 0 && wrote) {
		closedir(d);
		return left;
	}
	if (marked && unlinkat(dfd, WRITTEN, 0) < 0 && errno != ENOENT) {
		int rc = -errno;

		closedir(d);
		return rc;
	}
	closedir(d);
	if (ov->jfd >= 0) {
		close(ov->jfd);
		ov->jfd = -1;
	}
	if (ov->dirfd >= 0) {
		close(ov->dirfd);
		ov->dirfd = -1;
	}
	/* (not empty: someone put a file there; it stays) */
	if (unlinkat(ov->parentfd, spool_base(ov), AT_REMOVEDIR) < 0 &&
	    errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
		return -errno;
	return 0;
}

/* If tensor N is a slice entry of the source (its key a slice key), the
 * name of the tensor it is a slice of into OUT (its bytes, NULs too): 0,
 * else -EINVAL (or -ENOMEM). */
static int
slice_of(const struct ckptfs_node *n, struct ckpt_buf *out)
{
	const struct ckpt_entry *e = n->entry;
	struct ckpt_extent ext[CKPT_MAX_RANK];
	uint8_t *name;
	size_t nlen;
	int rank, rc = -EINVAL;

	if (e == NULL || e->key_len == 0 || e->key[0] != '\0')
		return -EINVAL;
	if ((name = malloc(e->key_len)) == NULL)
		return -ENOMEM;
	if (ckpt_slice_key_decode((const uint8_t *)e->key, e->key_len, name,
				  &nlen, ext, &rank) == 0) {
		rc = ckpt_buf_put(out, name, nlen);
	}
	free(name);
	return rc;
}

/* Whether tensor N's TF1 name NAME (NLEN bytes) can be stored when TF1 is
 * written, and its TF2 key KEY (KLEN bytes) when a TF2 object graph is
 * built for it; if not, record why in WHY, naming N in *VIEW.  Return 0
 * or -EINVAL. */
static int
check_names(struct ckptfs_tree *t, struct ckptfs_node *n, const char *name,
	    size_t nlen, const char *key, size_t klen, bool tf1, bool tf2,
	    int *view, struct ckpt_err *why)
{
	struct ckpt_buf w = { 0 };
	const char *what;
	int rc = 0;

	if (tf1 && (nlen == 0 || ckpt_objgraph_is_key(name, nlen))) {
		where(t, n, &w);
		rc = ckpt_fail(why, -EINVAL,
			       "%s: %s cannot be a TF1 name; rename it",
			       (const char *)w.data,
			       nlen == 0 ? "an empty name"
					 : "the object graph's key");
	} else if (tf2 && ckpt_objgraph_key_check(key, klen, &what) < 0) {
		struct ckpt_buf full = { 0 };
		char kb[CKPT_SHOWN_MAX];

		*view = CKPTFS_BY_OBJECT;
		where_in(t, n, *view, &w);
		if (slice_of(n, &full) == 0)
			/* shown because its tensor could not be assembled */
			rc = ckpt_fail(why, -EINVAL,
				       "%s: a slice of the partitioned tensor "
				       "'%s', whose entry cannot be used, "
				       "cannot be a TF2 object key; remove it "
				       "(with the tensor), or rename it",
				       (const char *)w.data,
				       ckpt_key_shown(full.data, full.len,
						      kb));
		else
			rc = ckpt_fail(why, -EINVAL,
				       "%s: cannot be a TF2 object key (%s); "
				       "rename it",
				       (const char *)w.data, what);
		ckpt_buf_free(&full);
	} else if (tf2 && klen == strlen(CKPT_SAVE_COUNTER_KEY) &&
		   memcmp(key, CKPT_SAVE_COUNTER_KEY, klen) == 0 &&
		   n->dtype >= 0 &&
		   (n->dtype != CKPT_DT_INT64 || n->rank > 0)) {
		/* tf.train.Checkpoint.restore() checks its counter's dtype
		 * and shape, and fails the whole restore otherwise. */
		*view = CKPTFS_BY_OBJECT;
		where_in(t, n, *view, &w);
		rc = ckpt_fail(why, -EINVAL,
			       "%s: tf.train.Checkpoint's save_counter must "
			       "be int64 []; rename it",
			       (const char *)w.data);
	} else if ((tf1 || tf2) && !ckpt_utf8_valid(name, nlen) &&
		   (tf2 || n->entry == NULL || nlen != n->entry->key_len ||
		    memcmp(name, n->entry->key, nlen) != 0)) {
		/* A new graph's full names are proto3 strings; a TF1 name
		 * that is not UTF-8 no TensorFlow variable can have (they
		 * are Python strings), and tf.train.list_variables() fails
		 * on it.  A TF1 checkpoint's own is written as it came. */
		where(t, n, &w);
		rc = ckpt_fail(why, -EINVAL,
			       "%s: the name is not valid UTF-8, which "
			       "TensorFlow needs; rename it",
			       (const char *)w.data);
	}
	ckpt_buf_free(&w);
	return rc;
}

/* What a refusal of string (STRING) or variant bytes laid out in the
 * order other than BE (the one checked) adds. */
static const char *
other_order_hint(bool be, bool string)
{
	if (!string)
		return be ? "; they are laid out little-endian (copied from "
			    "a mount of a little-endian checkpoint?), and a "
			    "variant cannot be converted: remove it"
			  : "; they are laid out big-endian (copied from a "
			    "mount of a big-endian checkpoint?), and a variant "
			    "cannot be converted: remove it";
	return be ? "; they are laid out little-endian (copied from a mount "
		    "of a little-endian checkpoint?): set user.ckpt.byteorder "
		    "to little"
		  : "; they are laid out big-endian (copied from a mount of a "
		    "big-endian checkpoint?): set user.ckpt.byteorder to big";
}

/* Check that spooled string or variant tensor N (shown as WHERE) holds
 * their stored layout for its shape, which the writer needs, so that the
 * refusal names it as the others are.  Return 0 or -EINVAL. */
static int
check_layout(struct ckptfs_tree *t, struct ckptfs_node *n, const char *where,
	     struct ckpt_err *err)
{
	char name[32], shape[64] = "?";
	uint64_t elems, size = n->size;
	/* (in the order of the file's bytes) */
	bool be = big_endian(t) != n->other_order;
	uint32_t crc;
	uint8_t *buf;
	int fd, rc = 0;

	if (ckpt_shape_elems(n->dims, n->rank, &elems) < 0 || size > SIZE_MAX)
		return 0;	/* the writer says why */
	spool_name(n->spool_id, name);
	fd = openat(t->ov->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;	/* likewise */
	buf = malloc(size ? (size_t)size : 1);
	if (buf != NULL && ckpt_pread_full(fd, buf, (size_t)size, 0) < 0) {
		free(buf);
		buf = NULL;	/* the writer says why */
	}
	close(fd);
	if (buf != NULL && n->dtype == CKPT_DT_STRING &&
	    ckpt_string_parse(buf, (size_t)size, elems, be, NULL, NULL,
			      &crc) < 0) {
		char why[160];

		ckpt_string_explain(buf, (size_t)size, elems, be, why,
				    sizeof(why));
		ckpt_shape_format(n->dims, n->rank, shape, sizeof(shape));
		rc = ckpt_fail(err, -EINVAL,
			       "%s: not a stored string tensor of shape [%s]: "
			       "%s (one varint length per element, the masked "
			       "CRC-32C of the lengths, then the bytes)%s",
			       where, shape, why,
			       ckpt_string_parse(buf, (size_t)size, elems, !be,
						 NULL, NULL, &crc) == 0
				       ? other_order_hint(be, true)
				       : "");
	} else if (buf != NULL && n->dtype != CKPT_DT_STRING &&
		   ckpt_variant_check(buf, (size_t)size, elems, be, &crc) < 0) {
		ckpt_shape_format(n->dims, n->rank, shape, sizeof(shape));
		rc = ckpt_fail(err, -EINVAL,
			       "%s: not a stored %s tensor of shape [%s] (per "
			       "element a varint length, the bytes and a "
			       "masked running CRC-32C)%s",
			       where, ckpt_dtype_name(n->dtype), shape,
			       ckpt_variant_check(buf, (size_t)size, elems,
						  !be, &crc) == 0
				       ? other_order_hint(be, false)
				       : "");
	}
	free(buf);
	return rc;
}

/* Decide the dtype and shape a spooled tensor is written with (rules in
 * ckptfs(1), WRITING): a known shape must match the size; an unknown or
 * rank-1 shape becomes [size / element size]; strings and variants must
 * hold their stored layout. */
static int
settle_shape(struct ckptfs_tree *t, struct ckptfs_node *n,
	     struct ckpt_out_tensor *o, int64_t *one, struct ckpt_err *err)
{
	struct ckpt_buf w = { 0 };
	uint64_t want = 0;
	size_t es;
	int rc = 0;

	where(t, n, &w);
	if (n->dtype < 0) {
		rc = ckpt_fail(err, -EINVAL,
			       "%s: no dtype (set one with setfattr -n "
			       "user.ckpt.dtype -v float32 ...)",
			       (const char *)w.data);
		goto out;
	}
	o->dtype = n->dtype;
	o->rank = n->rank;
	o->dims = n->dims;
	o->swap = n->other_order;
	if (n->other_order && !order_convertible(n->dtype)) {
		rc = ckpt_fail(err, -EINVAL,
			       "%s: a %s tensor whose bytes are in the other "
			       "byte order (user.ckpt.byteorder) cannot be "
			       "converted; write its bytes in this "
			       "checkpoint's",
			       (const char *)w.data, ckpt_dtype_name(n->dtype));
		goto out;
	}
	es = ckpt_dtype_size(n->dtype);
	if (es == 0) {
		if (n->rank < 0)
			rc = ckpt_fail(err, -EINVAL,
				       "%s: a %s tensor needs user.ckpt.shape",
				       (const char *)w.data,
				       ckpt_dtype_name(n->dtype));
		else
			rc = check_layout(t, n, (const char *)w.data, err);
		goto out;
	}
	if (n->rank >= 0 &&
	    ckpt_tensor_fixed_size(n->dtype, n->dims, n->rank, &want) < 0) {
		/* (a shape set while the dtype was unknown, then a dtype
		 * taken from a tensor the file was renamed over) */
		char shape[64];

		ckpt_shape_format(n->dims, n->rank, shape, sizeof(shape));
		rc = ckpt_fail(err, -EINVAL,
			       "%s: %s [%s] would take more than 2^63 bytes; "
			       "set user.ckpt.shape",
			       (const char *)w.data, ckpt_dtype_name(n->dtype),
			       shape);
		goto out;
	}
	if (n->rank >= 0 && want == n->size)
		goto out;
	if ((n->rank < 0 || n->rank == 1) && n->size % es == 0) {
		*one = (int64_t)(n->size / es);
		o->rank = 1;
		o->dims = one;
		goto out;
	}
	/* (a shape helps only a size that is whole elements) */
	if (n->rank < 0) {
		rc = ckpt_fail(err, -EINVAL,
			       "%s: %" PRIu64 " bytes are not a whole number of "
			       "%s elements (%zu bytes each); fix the data or "
			       "set user.ckpt.dtype",
			       (const char *)w.data, (uint64_t)n->size,
			       ckpt_dtype_name(n->dtype), es);
	} else {
		char shape[64];

		ckpt_shape_format(n->dims, n->rank, shape, sizeof(shape));
		rc = ckpt_fail(err, -EINVAL,
			       "%s: %" PRIu64 " bytes do not match %s [%s] "
			       "(%" PRIu64 " bytes); fix the data or set "
			       "user.ckpt.%s",
			       (const char *)w.data, (uint64_t)n->size,
			       ckpt_dtype_name(n->dtype), shape, want,
			       n->size % es == 0 ? "shape"
						 : "dtype (and shape if need "
						   "be)");
	}
out:
	ckpt_buf_free(&w);
	return rc;
}

/* The source's tensor under NAME (a TF1 source) or KEY (TF2), of NLEN
 * and KLEN bytes: the one a tensor written so replaces, for TensorFlow's
 * name- or key-based restore.  NULL if none (or no source). */
static const struct ckpt_entry *
source_under(const struct ckptfs_tree *t, const char *name, size_t nlen,
	     const char *key, size_t klen)
{
	if (t->bundle == NULL)
		return NULL;
	return t->src.tf2 ? ckpt_bundle_find(t->bundle, key, klen)
			  : ckpt_bundle_find(t->bundle, name, nlen);
}

/* The partitioned tensor of the source whose slices changed tensor N,
 * settled as O, is written in (ckpt_out_tensor.slicing), or NULL: N's own
 * source tensor, or for a file that replaced one (cp -a, an editor's
 * rename) the one the source has under N's name (TF1) or key (TF2), when
 * it has O's dtype and shape and TensorFlow restores that dtype only from
 * the slices it saved (strings, half, uint16/32/64, ...:
 * ckpt_dtype_slices_copied()); other dtypes are written whole, which
 * TensorFlow restores into any partitioning.  NAME and KEY are N's, of
 * NLEN and KLEN bytes. */
static const struct ckpt_entry *
kept_slicing(const struct ckptfs_tree *t, const struct ckptfs_node *n,
	     const struct ckpt_out_tensor *o, const char *name, size_t nlen,
	     const char *key, size_t klen)
{
	const struct ckpt_entry *e = n->entry;

	if (e == NULL)
		e = source_under(t, name, nlen, key, klen);
	if (e == NULL || e->nparts == 0 || e->dtype != o->dtype ||
	    ckpt_dtype_slices_copied(e->dtype) || e->dtype == CKPT_DT_VARIANT ||
	    !same_shape(o->rank, o->dims, e->rank, e->dims))
		return NULL;
	return e;
}

/* The tensors named in ckptfs_ov_notes(), at most (then how many more). */
#define NOTES_NAMED 8

/* Add LINE (a NUL-terminated note, which it frees) to the notes of the
 * write-out (ckptfs_ov_notes()), counted, kept if among the first. */
static void
add_note(struct ckptfs_tree *t, char *line)
{
	if (++t->ov->nnotes <= NOTES_NAMED && line != NULL &&
	    (ckpt_buf_put(&t->ov->notes, line, strlen(line)) < 0 ||
	     ckpt_buf_put(&t->ov->notes, "\n", 1) < 0))
		t->ov->notes.len = 0;	/* (the count stays) */
	free(line);
}

/* Note tensor N, written as O, if the source's tensor under its name
 * (TF1 source) or key (TF2: N's own, or one it replaced or was renamed
 * over) had another dtype or shape: TensorFlow restores it only into a
 * variable of the new ones (a SavedModel whose variables these are no
 * longer loads).  NAME and KEY are N's, of NLEN and KLEN bytes. */
static void
note_meta(struct ckptfs_tree *t, struct ckptfs_node *n,
	  const struct ckpt_out_tensor *o, const char *name, size_t nlen,
	  const char *key, size_t klen)
{
	const struct ckpt_entry *e;
	struct ckpt_buf w = { 0 };
	char was[64], now[64], *line = NULL;

	if (t->ov == NULL || o->dtype < 0)
		return;
	e = source_under(t, name, nlen, key, klen);
	if (e == NULL || e->is_part || !ckpt_dtype_storable(e->dtype))
		return;
	if (e->dtype == o->dtype &&
	    same_shape(o->rank, o->dims, e->rank, e->dims))
		return;
	ckpt_shape_format(e->dims, e->rank, was, sizeof(was));
	ckpt_shape_format(o->dims, o->rank, now, sizeof(now));
	where(t, n, &w);
	if (w.len == 0 ||
	    asprintf(&line,
		     "%s is written as %s [%s], where the source had %s [%s] "
		     "under its %s: TensorFlow restores it only into a "
		     "variable of the new %s",
		     (const char *)w.data, ckpt_dtype_name(o->dtype), now,
		     ckpt_dtype_name(e->dtype), was,
		     t->src.tf2 ? "key" : "name",
		     e->dtype == o->dtype ? "shape"
		     : same_shape(o->rank, o->dims, e->rank, e->dims)
			     ? "dtype"
			     : "dtype and shape") < 0)
		line = NULL;
	add_note(t, line);
	ckpt_buf_free(&w);
}

/* Note tensor N, written under TF2 KEY (KLEN bytes), if its /by-object
 * path ends in VARIABLE_VALUE without .ATTRIBUTES before it: written as
 * an object named VARIABLE_VALUE holding a variable (the key gets the
 * suffix), which no model has; its object's own value is
 * OBJ/.ATTRIBUTES/VARIABLE_VALUE. */
static void
note_key(struct ckptfs_tree *t, struct ckptfs_node *n, const char *key,
	 size_t klen)
{
	static const char odd[] = "/VARIABLE_VALUE" SFX, at[] = "/.ATTRIBUTES/";
	size_t ol = sizeof(odd) - 1;
	struct ckpt_buf w = { 0 }, raw = { 0 };
	char *line = NULL;
	bool odd_path;

	/* (at the root too; not a key of the source: it had it so; nor a
	 * TF1 name's, when /by-object was not looked into) */
	if (t->ov == NULL || atomic_load(&t->object_pending) ||
	    !(klen == ol - 1 ? memcmp(key, odd + 1, ol - 1) == 0
			     : klen > ol && memcmp(key + klen - ol, odd,
						   ol) == 0) ||
	    (t->src.tf2 && source_under(t, NULL, 0, key, klen) != NULL))
		return;
	/* The key gets the suffix when the path has no .ATTRIBUTES/ (a
	 * path with it may be the key itself); a TF1 variable named
	 * VARIABLE_VALUE has the path TF2_ROOT/VARIABLE_VALUE (RAW has a
	 * '/' more: 16 bytes after the root). */
	odd_path = ckptfs_node_rawpath(t, n, CKPTFS_BY_OBJECT, &raw) == 0 &&
		   ckpt_buf_put(&raw, "/", 1) == 0 &&
		   memmem(raw.data, raw.len, at, sizeof(at) - 1) == NULL &&
		   (raw.len < sizeof(at) - 2 ||
		    memcmp(raw.data, at + 1, sizeof(at) - 2) != 0) &&
		   (t->src.tf2 || raw.len != strlen(t->tf2_root) + 16 ||
		    memcmp(raw.data, t->tf2_root, strlen(t->tf2_root)) != 0);
	ckpt_buf_free(&raw);
	if (!odd_path)
		return;
	where_in(t, n, CKPTFS_BY_OBJECT, &w);
	if (w.len > 0 &&
	    asprintf(&line,
		     "%s is written as a variable of an object named "
		     "VARIABLE_VALUE, as its path has no .ATTRIBUTES/ before "
		     "that name (an object's own value is "
		     "OBJECT/.ATTRIBUTES/VARIABLE_VALUE)",
		     (const char *)w.data) < 0)
		line = NULL;
	add_note(t, line);
	ckpt_buf_free(&w);
}

/* The names of the refused tensors after the first that fit in a
 * message, beside the first one's reason and the spool's path. */
#define REFUSED_NAMES_MAX 160
/* The reasons kept for ckptfs_ov_refusals(), at most (a line more says
 * how many were left out). */
#define REFUSALS_MAX ((size_t)64 << 10)

/* Tensor X was refused for the reason in WHY, which names it in VIEW; it
 * is the COUNT-th (from 0).  The first one's reason goes in ERR; the next
 * ones' names are added to MORE while they fit (*NMORE counts them).
 * Return 0, or a negative errno if that fails. */
static int
refuse(struct ckptfs_tree *t, struct ckptfs_node *x, int view,
       const struct ckpt_err *why, struct ckpt_err *err,
       struct ckpt_buf *more, size_t count, size_t *nmore)
{
	struct ckpt_buf w = { 0 };
	int rc = 0;

	if (t->ov != NULL) {
		struct ckpt_buf *r = &t->ov->refusals;
		size_t len = strlen(why->msg), was = r->len;

		/* (ENOMEM here only shortens the report by this line; one
		 * line each: a newline in a path is written \n) */
		if (r->len + len + 1 <= REFUSALS_MAX &&
		    (ckpt_text_safe(why->msg, r) < 0 ||
		     ckpt_buf_put(r, "\n", 1) < 0))
			r->len = was;
	}
	if (count == 0) {
		ckpt_fail(err, why->code, "%s", why->msg);
		return 0;
	}
	/* (named as the reasons name it: where() for a file made in
	 * /by-object) */
	if (view == CKPTFS_BY_NAME && x->kind == CKPTFS_TENSOR &&
	    x->derived_name)
		view = CKPTFS_BY_OBJECT;
	where_in(t, x, view, &w);
	if (*nmore == count - 1 &&
	    more->len + w.len + 2 <= REFUSED_NAMES_MAX) {
		if ((more->len > 0 && (rc = ckpt_buf_put(more, ", ", 2)) < 0) ||
		    (rc = ckpt_buf_put(more, w.data, w.len - 1)) < 0)
			rc = ckpt_fail(err, rc, "out of memory");
		else
			++*nmore;
	}
	ckpt_buf_free(&w);
	return rc;
}

/* A key and the tensor it is written for (keys_unique()). */
struct keyref {
	const char *key;
	size_t len;
	struct ckptfs_node *n;
};

static int
cmp_keyref(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;

	return bytes_cmp(x->key, x->len, y->key, y->len);
}

/* With a new object graph, two /by-object paths can be one key: a
 * component that is not validly escaped is a literal name, so net/enc.l0
 * is the object "enc.l0", and so is net/enc..l0.  TensorFlow would keep
 * one of them: refuse the others, naming both paths, as refuse() does
 * (*NREFUSED, *REFUSED).  KEYS[0..N): the keys written.  Return 0 or a
 * negative errno (-ENOMEM). */
static int
keys_unique(struct ckptfs_tree *t, struct keyref *keys, size_t n,
	    struct ckpt_err *err, struct ckpt_buf *more, size_t *nrefused,
	    size_t *nmore, int *refused)
{
	struct ckpt_buf a = { 0 }, b = { 0 };
	struct ckpt_err why = { 0 };
	char kb[CKPT_SHOWN_MAX];
	int rc = 0;

	if (n > 1)
		qsort(keys, n, sizeof(*keys), cmp_keyref);
	for (size_t i = 1; i < n && rc == 0; i++) {
		if (cmp_keyref(&keys[i - 1], &keys[i]) != 0)
			continue;
		a.len = b.len = 0;
		where_in(t, keys[i].n, CKPTFS_BY_OBJECT, &a);
		where_in(t, keys[i - 1].n, CKPTFS_BY_OBJECT, &b);
		ckpt_fail(&why, -EEXIST,
			  "%s: the same key as %s, '%s' (a file P is the "
			  "key P/.ATTRIBUTES/VARIABLE_VALUE, and a '.' not "
			  "followed by '.' or 'S' is a literal one, written "
			  "'..'); rename one of them",
			  (const char *)a.data, (const char *)b.data,
			  ckpt_key_shown(keys[i].key, keys[i].len, kb));
		if (*refused == 0)
			*refused = -EEXIST;
		rc = refuse(t, keys[i].n, CKPTFS_BY_OBJECT, &why, err, more,
			    (*nrefused)++, nmore);
		ckpt_err_clear(&why);
	}
	ckpt_buf_free(&a);
	ckpt_buf_free(&b);
	return rc;
}

/* Whether KEYS[0..N), sorted (cmp_keyref()), hold K's key. */
static bool
keyref_holds(const struct keyref *keys, size_t n, const struct keyref *k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {	/* the first key not before K's */
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_keyref(&keys[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && cmp_keyref(&keys[lo], k) == 0;
}

/* TensorFlow saves a slot variable only with the variable it is a slot
 * of: refuse a slot key "<var>/.OPTIMIZER_SLOT/..." when the key
 * "<var>/.ATTRIBUTES/VARIABLE_VALUE" is not written, as refuse() does.  KEYS[0..N): the keys
 * written, sorted (keys_unique()).  Return 0 or -ENOMEM. */
static int
slots_have_vars(struct ckptfs_tree *t, const struct keyref *keys, size_t n,
		struct ckpt_err *err, struct ckpt_buf *more, size_t *nrefused,
		size_t *nmore, int *refused)
{
	static const char slot[] = "/.OPTIMIZER_SLOT/";
	static const char attrs[] = "/.ATTRIBUTES/VARIABLE_VALUE";
	struct ckpt_buf want = { 0 }, w = { 0 };
	struct ckpt_err why = { 0 };
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *at = memmem(keys[i].key, keys[i].len, slot,
					sizeof(slot) - 1);
		struct keyref k;
		size_t vlen;

		if (at == NULL)
			continue;
		vlen = (size_t)(at - keys[i].key);
		want.len = 0;
		if ((rc = ckpt_buf_put(&want, keys[i].key, vlen)) < 0 ||
		    (rc = ckpt_buf_put(&want, attrs, sizeof(attrs) - 1)) < 0)
			break;
		k.key = (const char *)want.data;
		k.len = want.len;
		if (keyref_holds(keys, n, &k))
			continue;
		w.len = 0;
		where_in(t, keys[i].n, CKPTFS_BY_OBJECT, &w);
		ckpt_fail(&why, -EINVAL,
			  "%s: a slot variable of %s%.*s, which is not written "
			  "(TensorFlow saves a slot only with its variable); "
			  "remove it too, or put the variable back",
			  (const char *)w.data,
			  vlen == 0 ? "the root object" : "", (int)vlen,
			  keys[i].key);
		if (*refused == 0)
			*refused = -EINVAL;
		rc = refuse(t, keys[i].n, CKPTFS_BY_OBJECT, &why, err, more,
			    (*nrefused)++, nmore);
		ckpt_err_clear(&why);
	}
	ckpt_buf_free(&want);
	ckpt_buf_free(&w);
	return rc;
}

/* The suffixes of a hash table's two tensors: TensorFlow saves a table
 * named B as B-keys and B-values and restores it from both or fails. */
static const char *const table_halves[2] = { "-keys", "-values" };

/* Which of TABLE_HALVES NAME (of LEN bytes) ends in: 0, 1, or -1. */
static int
table_half_of(const char *name, size_t len)
{
	for (int h = 0; h < 2; h++) {
		size_t sl = strlen(table_halves[h]);

		if (len > sl &&
		    memcmp(name + len - sl, table_halves[h], sl) == 0)
			return h;
	}
	return -1;
}

/* Whether source tensor E is one of a hash table's two tensors: its key
 * ends in one of TABLE_HALVES, the source holds the other under the same
 * beginning, both have rows, as many each (as a table exports), and the
 * keys are of a dtype TensorFlow's tables take for keys (int32, int64,
 * string). */
static bool
table_tensor(const struct ckptfs_tree *t, const struct ckpt_entry *e)
{
	const struct ckpt_entry *o;
	struct ckpt_buf k = { 0 };
	int h;

	if (e == NULL || t->bundle == NULL || e->rank < 1 ||
	    (h = table_half_of(e->key, e->key_len)) < 0)
		return false;
	if (ckpt_buf_put(&k, e->key, e->key_len - strlen(table_halves[h])) < 0 ||
	    ckpt_buf_put(&k, table_halves[!h], strlen(table_halves[!h])) < 0) {
		ckpt_buf_free(&k);
		return false;
	}
	o = ckpt_bundle_find(t->bundle, (const char *)k.data, k.len);
	ckpt_buf_free(&k);
	if (o == NULL || o->rank < 1 || o->dims[0] != e->dims[0])
		return false;
	switch ((h == 0 ? e : o)->dtype) {	/* the keys' */
	case CKPT_DT_INT32:
	case CKPT_DT_INT64:
	case CKPT_DT_STRING:
		return true;
	default:
		return false;
	}
}

/* A TF1 output's hash tables whole: TensorFlow's Saver restores a table
 * named B from B-keys and B-values, or fails.  Refuse, as refuse() does,
 * a tensor written under a name ending in one of TABLE_HALVES without
 * the other when it is a table's (its source tensor is, or the source's
 * under its name), unless the other was refused for its own reason (in
 * REFD, each name after its length).  NODES[i].n is the tensor written
 * as the I-th of N, NAMES + OFFS[2 * i] its name, O[i].name_len bytes.
 * Return 0 or a negative errno (-ENOMEM). */
static int
tables_whole(struct ckptfs_tree *t, const struct keyref *nodes, size_t n,
	     const struct ckpt_buf *names, const size_t *offs,
	     const struct ckpt_out_tensor *o, const struct ckpt_buf *refd,
	     struct ckpt_err *err, struct ckpt_buf *more, size_t *nrefused,
	     size_t *nmore, int *refused)
{
	struct keyref *byname = NULL;
	struct ckpt_buf want = { 0 }, w = { 0 };
	struct ckpt_err why = { 0 };
	size_t i, m = 0, nr = 0, at;
	int rc = 0;

	for (i = 0; i < n && m == 0; i++)
		if (table_half_of((const char *)names->data + offs[2 * i],
				  o[i].name_len) >= 0)
			m = n;
	if (m == 0)
		return 0;	/* (no name that could be a table's) */
	for (at = 0; at < refd->len; nr++) {
		size_t l;

		memcpy(&l, refd->data + at, sizeof(l));
		at += sizeof(l) + l;
	}
	if ((byname = calloc(n + nr, sizeof(*byname))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		byname[i].key = (const char *)names->data + offs[2 * i];
		byname[i].len = o[i].name_len;
		byname[i].n = nodes[i].n;
	}
	for (at = 0; i < n + nr; i++) {	/* refused: N is NULL */
		memcpy(&byname[i].len, refd->data + at, sizeof(size_t));
		byname[i].key = (const char *)refd->data + at + sizeof(size_t);
		at += sizeof(size_t) + byname[i].len;
	}
	m = n + nr;
	qsort(byname, m, sizeof(*byname), cmp_keyref);
	for (i = 0; i < m && rc == 0; i++) {
		const struct keyref *x = &byname[i];
		int h = table_half_of(x->key, x->len);
		size_t blen;
		struct keyref k;

		if (h < 0 || x->n == NULL)
			continue;
		blen = x->len - strlen(table_halves[h]);
		want.len = 0;
		if ((rc = ckpt_buf_put(&want, x->key, blen)) < 0 ||
		    (rc = ckpt_buf_put(&want, table_halves[!h],
				       strlen(table_halves[!h]))) < 0)
			break;
		k.key = (const char *)want.data;
		k.len = want.len;
		if (keyref_holds(byname, m, &k))
			continue;
		/* Its own source tensor, or (a TF1 source) the one the
		 * source has under its name: a file saved over it. */
		if (!table_tensor(t, atomic_load(&x->n->entry)) &&
		    (t->src.tf2 || t->bundle == NULL ||
		     !table_tensor(t, ckpt_bundle_find(t->bundle, x->key,
						       x->len))))
			continue;
		w.len = 0;
		where_in(t, x->n, CKPTFS_BY_NAME, &w);
		ckpt_fail(&why, -EINVAL,
			  "%s: one of a hash table's two tensors, written "
			  "without the other, %.*s (TensorFlow's Saver "
			  "restores a table from both or fails); put it "
			  "back, or remove this one too",
			  (const char *)w.data, (int)want.len,
			  (const char *)want.data);
		if (*refused == 0)
			*refused = -EINVAL;
		rc = refuse(t, x->n, CKPTFS_BY_NAME, &why, err, more,
			    (*nrefused)++, nmore);
		ckpt_err_clear(&why);
	}
	free(byname);
	ckpt_buf_free(&want);
	ckpt_buf_free(&w);
	return rc;
}

/* End report R of N refusals: a line for those that did not fit. */
static void
refusals_end(struct ckpt_buf *r, size_t n)
{
	size_t lines = 0;
	char tail[64];

	for (size_t i = 0; i < r->len; i++)
		lines += r->data[i] == '\n';
	if (lines < n) {
		snprintf(tail, sizeof(tail), "%zu more, not listed\n",
			 n - lines);
		(void)ckpt_buf_put(r, tail, strlen(tail));
	}
}

const struct ckpt_buf *
ckptfs_ov_refusals(const struct ckptfs_tree *t)
{
	return t->ov != NULL ? &t->ov->refusals : NULL;
}

const struct ckpt_buf *
ckptfs_ov_notes(const struct ckptfs_tree *t, size_t *count)
{
	*count = t->ov != NULL ? t->ov->nnotes : 0;
	return t->ov != NULL ? &t->ov->notes : NULL;
}

/* Add to ERR's message that COUNT more tensors were refused, NMORE of
 * them named in MORE. */
static void
refused_more(struct ckpt_err *err, const struct ckpt_buf *more, size_t count,
	     size_t nmore)
{
	char *tail = NULL;

	/* (the names that fit: each one's line follows anyway) */
	if (asprintf(&tail, "; %zu more tensor%s refused: %.*s%s", count,
		     count == 1 ? "" : "s", (int)more->len,
		     more->data ? (const char *)more->data : "",
		     nmore == 0 ? "..." : nmore < count ? ", ..." : "") >= 0)
		ckpt_err_append(err, tail, false);
	free(tail);
}

/* Check G, the source's object graph (NULL: removed), which a TF2 output
 * copies as stored; if it is damaged or cut short, refuse it as refuse()
 * does (COUNT: the refusals so far, *REFUSED: the first one's code).
 * Return 0 or a negative errno (it could not be checked). */
static int
graph_refused(struct ckptfs_tree *t, struct ckptfs_node *g,
	      struct ckpt_err *err, struct ckpt_buf *more, size_t *count,
	      size_t *nmore, int *refused)
{
	struct ckpt_err why = { 0 }, verr = { 0 };
	struct ckpt_buf w = { 0 };
	bool first = false, cut, malformed = false;
	int rc;

	if (g == NULL)
		return 0;
	cut = ckpt_bundle_entry_short(t->bundle, g->entry);
	if (!cut && (rc = ckptfs_node_verify(t, g, &first, &verr)) == 0) {
		/* its checksum holds: one that the mount could not read
		 * (malformed bytes a writer signed) is read again */
		struct ckpt_objgraph *pg = NULL;

		if (!t->graph_unusable)
			return 0;
		rc = ckpt_bundle_objgraph(t->bundle, &pg, &verr);
		ckpt_objgraph_free(pg);
		if (rc == -ENOMEM)
			return ckpt_fail(err, rc, "out of memory");
		if (rc == 0)
			return 0;
		malformed = true;
	}
	if (!cut && !malformed && !ckptfs_node_damaged(g))
		/* could not check it */
		return ckpt_fail(err, rc, "%s", ckpt_err_str(&verr, rc));
	where_in(t, g, CKPTFS_BY_OBJECT, &w);
	ckpt_fail(&why, -EBADMSG,
		  "%s: damaged in the source checkpoint (%s); remove it to "
		  "have a new one built from the keys (the source's other "
		  "objects and names in it are lost)",
		  (const char *)w.data,
		  ckptfs_node_bad(g) ? bad_reason(t->bundle, g->entry)
		  : cut		     ? "its bytes are not all in its data file"
		  : malformed	     ? ckpt_err_str(&verr, rc)
				     : "its bytes do not match its stored "
				       "checksum");
	ckpt_buf_free(&w);
	if (*refused == 0)
		*refused = -EBADMSG;
	return refuse(t, g, CKPTFS_BY_OBJECT, &why, err, more, (*count)++,
		      nmore);
}

/* Whether unchanged tensor X's bytes in the source still match their
 * stored checksum: checked again (reading them) unless a check since its
 * data file last changed found them good. */
static bool
source_holds(struct ckptfs_tree *t, struct ckptfs_node *x)
{
	struct ckpt_err verr = { 0 };
	bool first;

	return ckptfs_node_verify(t, x, &first, &verr) == 0;
}

/* The names of a write-out's tree against their digest from before the
 * first change of names (names_before()), taken once when first asked. */
struct names_now {
	bool done;
	bool same_names;	/* the same names */
	bool same_owners;	/* and each on the same tensor */
};

static void
names_now(struct ckptfs_tree *t, struct names_now *nn)
{
	struct ckptfs_overlay *ov = t->ov;
	uint64_t sum, n, owners;

	if (nn->done)
		return;
	nn->done = true;
	if (ov == NULL || !ov->names_taken ||
	    names_sum(t, &sum, &n, &owners) < 0)
		return;
	nn->same_names = sum == ov->names_sum && n == ov->names_n;
	nn->same_owners = nn->same_names && owners == ov->owners_sum;
}

/* Whether a TF2 output copies the source's object graph as stored: a TF2
 * source whose names did not change, even if names were made, moved and
 * removed on the way (a file saved through a temporary one and a rename,
 * a rename undone). */
static bool
copies_graph(struct ckptfs_tree *t, struct names_now *nn)
{
	if (!t->src.tf2 || t->bundle == NULL || t->graph_missing > 0)
		return false;
	if (t->ov == NULL || !t->ov->structure)
		return true;
	if (t->ov->graph_removed)
		return false;
	names_now(t, nn);
	return nn->same_names;
}

void
ckptfs_ov_on_written(struct ckptfs_tree *t, void (*fn)(void *arg), void *arg)
{
	if (t->ov != NULL) {
		t->ov->on_written = fn;
		t->ov->on_written_arg = arg;
	}
}

/* Whether T differs from its source in the end: a tensor new, changed
 * (bytes, dtype or shape set) or removed, a name changed, the object
 * graph removed.  Changes undone (a file made and removed, a rename and
 * its undo) are none, names judged as for the graph's copy
 * (copies_graph()); names changed before their digest was taken (by a
 * replay) count as changed. */
static bool
changed_in_the_end(struct ckptfs_tree *t, struct names_now *nn)
{
	struct ckptfs_overlay *ov = t->ov;

	if (!ckptfs_overlay_changed(t))
		return false;
	if (ov->graph_removed)
		return true;
	for (size_t i = 0; i < t->ninodes; i++) {
		struct ckptfs_node *x = t->inodes[i];

		if (commit_holds(t, x) &&
		    (x->ino > t->base_inodes || x->written ||
		     ckptfs_ov_spooled(x) || atomic_load(&x->shares)))
			return true;
	}
	if (!ov->structure)
		return false;
	names_now(t, nn);
	return !nn->same_owners;
}

/* Whether a TF2 output built or edited without a save_counter tensor
 * gets a new one: for a TF1 source (the graph is built as
 * tf.train.Checkpoint builds one), and for a TF2 source that held one
 * (as tf.train.Checkpoint saves it; a Keras model's save_weights() has
 * none, and its model at the root would have an object it lacks). */
static bool
counter_wanted(const struct ckptfs_tree *t)
{
	return !t->src.tf2 || t->bundle == NULL ||
	       ckpt_bundle_find(t->bundle, CKPT_SAVE_COUNTER_KEY,
				strlen(CKPT_SAVE_COUNTER_KEY)) != NULL;
}

/* Write the list O (N tensors) as output OUT of T: CHANGED, COPY (the
 * source's graph copied as stored), EDIT_GRAPH (the source's graph kept
 * beyond its values) as ckptfs_ov_commit() found them; GRAPH is scratch
 * for the copied graph.  Return 0 or a negative errno (ERR says why). */
static int
write_output(struct ckptfs_tree *t, const struct ckpt_out_tensor *o,
	     size_t n, const struct ckptfs_output *out, bool changed,
	     bool copy, bool edit_graph, struct ckpt_out_tensor *graph,
	     struct ckpt_err *err)
{
	struct ckpt_convert_opts co = {
		.format = out->format,
		.add_save_counter = counter_wanted(t),
		.dirfd = out->dirfd,
		.endianness = big_endian(t) ? 1 : 0,
	};
	bool same = (out->format == CKPT_FORMAT_TF2) == t->src.tf2;

	/* (not a graph that names keys it does not hold, or that could not
	 * be read: edited, or refused) */
	if (same && !changed && t->bundle != NULL && !t->graph_missing &&
	    !t->graph_unusable)
		return ckpt_bundle_rewrite(t->bundle, out->prefix, out->dirfd,
					   err);
	/* A new index is written as TensorFlow (1.2 and later) writes one:
	 * uncompressed, which every release reads. */
	co.compression = CKPT_COMPRESS_NONE;
	if (out->format == CKPT_FORMAT_TF2 && copy) {
		graph->bundle = t->bundle;
		graph->entry = ckpt_bundle_find(t->bundle, CKPT_OBJGRAPH_KEY,
						strlen(CKPT_OBJGRAPH_KEY));
		co.graph = graph->entry != NULL ? graph : NULL;
	} else if (out->format == CKPT_FORMAT_TF2 && edit_graph) {
		/* what the source's graph holds beyond the values is kept */
		co.graph_source = t->bundle;
	}
	return ckpt_convert_write(o, n, out->prefix, &co, err);
}

int
ckptfs_ov_commit(struct ckptfs_tree *t, const struct ckptfs_output *outs,
		 size_t nouts, unsigned flags, bool *wrote,
		 struct ckpt_err *err)
{
	struct names_now nn = { 0 };
	bool changed = changed_in_the_end(t, &nn);
	struct ckpt_out_tensor *o = NULL;
	/* Every tensor's name and key, each followed by a NUL, one after
	 * the other (OFFS: where each starts), not a buffer each. */
	struct ckpt_buf names = { 0 }, w = { 0 };
	/* The names of the tensors refused, each after its length. */
	struct ckpt_buf refd = { 0 };
	/* The source's object graph, unchanged (copied as it is stored). */
	struct ckpt_out_tensor graph = { .fd = -1 };
	size_t *offs = NULL;
	/* The tensors written (KEYS[i].n the I-th), with their keys for a
	 * TF2 output once known. */
	struct keyref *keys = NULL;
	int64_t *ones = NULL;
	char (*spnames)[32] = NULL;
	size_t n = 0, want = 0, nsp = 0, sp = 0, i, k;
	/* Tensors refused: the first one's reason goes in ERR, the others'
	 * names in MORE, so that one write-out names every tensor to fix. */
	struct ckpt_err why = { 0 };
	struct ckpt_buf more = { 0 };
	size_t nrefused = 0, nmore = 0;
	int rc = 0, refused = 0, view;
	/* Checks of the names: written as TF1; written as TF2 with a new
	 * object graph (not the source's copied). */
	bool tf1 = false, tf2 = false, copy;
	struct ckptfs_node *graph_node = NULL;	/* the source's, if kept */
	bool edit_graph;	/* GRAPH_NODE, for after the nodes are gone */
	const char *first = NULL;	/* the first output written */
	int pass;

	*wrote = false;
	if (t->ov != NULL) {
		t->ov->refusals.len = 0;
		t->ov->notes.len = 0;
		t->ov->nnotes = 0;
	}
	if (!changed && !(flags & CKPTFS_COMMIT_FORCE))
		return t->ov ? spool_remove(t->ov, false) : 0;
	/* Data files changed since the last read: checks forgotten, so that
	 * their unchanged tensors are checked before being copied. */
	ckptfs_tree_recheck(t, NULL);
	/* (a TF2 source's /by-object is built at mount) */
	copy = copies_graph(t, &nn);
	for (k = 0; k < nouts; k++) {
		if (outs[k].format != CKPT_FORMAT_TF2)
			tf1 = true;
		else if (!copy)
			tf2 = true;
	}
	/* The keys come from /by-object; a TF1 checkpoint's that nothing
	 * looked into is not built for them (ckptfs_node_tf2_key()): no
	 * name changed, and building it would be a sixth of the peak.  One
	 * whose build failed says so. */
	if (!atomic_load(&t->object_pending) &&
	    (rc = ckptfs_tree_build_object(t, err)) < 0)
		return rc;
	/* Arrays for the tensors written, not for every inode (a TF1
	 * checkpoint has nearly three directories per tensor); spool names
	 * and shapes only for the spooled ones. */
	for (i = 0; i < t->ninodes; i++)
		if (commit_holds(t, t->inodes[i])) {
			want++;
			nsp += ckptfs_ov_spooled(t->inodes[i]);
		} else if (ckptfs_node_is_graph(t, t->inodes[i]) &&
			   !t->inodes[i]->deleted) {
			graph_node = t->inodes[i];
		}
	o = calloc(want ? want : 1, sizeof(*o));
	offs = calloc(want ? 2 * want : 1, sizeof(*offs));
	ones = calloc(nsp ? nsp : 1, sizeof(*ones));
	spnames = calloc(nsp ? nsp : 1, sizeof(*spnames));
	keys = calloc(want ? want : 1, sizeof(*keys));
	if (o == NULL || offs == NULL || ones == NULL || spnames == NULL ||
	    keys == NULL) {
		rc = ckpt_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < t->ninodes && rc == 0; i++) {
		struct ckptfs_node *x = t->inodes[i];
		struct ckpt_out_tensor *y = &o[n];

		if (!commit_holds(t, x))
			continue;
		view = CKPTFS_BY_NAME;	/* where a refusal names it */
		offs[2 * n] = names.len;
		if ((rc = ckptfs_node_rawpath(t, x, CKPTFS_BY_NAME, &names)) < 0)
			break;
		y->name_len = names.len - offs[2 * n];
		if ((rc = ckpt_buf_put(&names, "", 1)) < 0)
			break;
		offs[2 * n + 1] = names.len;
		/* With a new graph, a component that is not validly escaped
		 * is a literal name (by-object/net/a.b is the object "a.b",
		 * as cp -a from by-name makes it). */
		if ((rc = ckptfs_node_tf2_key(t, x, tf2, &names)) < 0)
			break;
		y->key_len = names.len - offs[2 * n + 1];
		if ((rc = ckpt_buf_put(&names, "", 1)) < 0)
			break;
		if ((rc = check_names(t, x,
				      (const char *)names.data + offs[2 * n],
				      y->name_len,
				      (const char *)names.data + offs[2 * n + 1],
				      y->key_len, tf1, tf2, &view, &why)) < 0) {
			/* refused below */
		} else if (t->ov != NULL && t->ov->cut_off &&
			   atomic_load(&x->nopen) >= CKPTFS_NOPEN_WRITE &&
			   (ckptfs_ov_spooled(x) || atomic_load(&x->written))) {
			where(t, x, &w);
			rc = ckpt_fail(&why, -EBUSY,
				       "%s: open for writing when a signal "
				       "ended the mount: its writer was cut "
				       "off, so it may be incomplete; write it "
				       "again",
				       (const char *)w.data);
		} else if (ckptfs_ov_spooled(x)) {
			/* Nothing changes while the tree is written (the
			 * session has ended); never past the arrays. */
			if (sp == nsp) {
				rc = ckpt_fail(err, -EAGAIN,
					       "a tensor changed during the "
					       "write-out");
				break;
			}
			rc = settle_shape(t, x, y, &ones[sp], &why);
			spool_name(x->spool_id, spnames[sp]);
			y->fd = -1;
			y->dirfd = t->ov->dirfd;
			y->file = spnames[sp++];
			y->size = x->size;
			if (rc == 0) {
				const char *nm = (const char *)names.data;

				y->slicing = kept_slicing(
					t, x, y, nm + offs[2 * n], y->name_len,
					nm + offs[2 * n + 1], y->key_len);
			}
		} else if (ckptfs_node_bad(x)) {
			/* Nothing to write for it: no dtype, shape or bytes. */
			bool located = t->bundle != NULL &&
				       ckpt_bundle_bad_location(t->bundle,
								x->entry, NULL,
								NULL, NULL,
								NULL);

			where(t, x, &w);
			rc = ckpt_fail(&why, -EBADMSG,
				       "%s: its entry in the source's index "
				       "cannot be used (%s); remove it, or "
				       "overwrite all of it%s",
				       (const char *)w.data,
				       bad_reason(t->bundle, x->entry),
				       located ? " (ckpt-inspect -r --force "
						 "salvages the bytes it "
						 "locates)"
					       : "");
		} else if (x->entry != NULL && t->bundle != NULL &&
			   ckpt_bundle_entry_unopened(t->bundle, x->entry)) {
			char *f = data_file_of(t, x->entry);

			where(t, x, &w);
			rc = ckpt_fail(&why, -EIO,
				       "%s: its data file%s%s could not be "
				       "opened (%s); remove it, or overwrite "
				       "all of it",
				       (const char *)w.data, f ? " " : "",
				       f ? f : "",
				       ckpt_bundle_entry_unopened(t->bundle,
								  x->entry));
			free(f);
		} else if (x->entry != NULL && t->bundle != NULL &&
			   ckpt_bundle_entry_short(t->bundle, x->entry)) {
			char *f = data_file_of(t, x->entry);

			where(t, x, &w);
			rc = ckpt_fail(&why, -EIO,
				       "%s: its bytes are not all in its data "
				       "file%s%s (cut short?); remove it, or "
				       "overwrite all of it (ckpt-inspect -r "
				       "--force salvages what is there)",
				       (const char *)w.data, f ? " " : "",
				       f ? f : "");
			free(f);
		} else if (x->entry != NULL && t->bundle != NULL &&
			   ckpt_bundle_entry_changed(t->bundle, x->entry) &&
			   !source_holds(t, x)) {
			/* Its data file changed while mounted, and its bytes
			 * with it (they are checked, as they were not copied
			 * as they were shown). */
			where(t, x, &w);
			rc = ckpt_fail(&why, -EBADMSG,
				       "%s: damaged in the source checkpoint "
				       "(its data file changed while mounted, "
				       "and its bytes no longer match their "
				       "checksum); remove it, or overwrite all "
				       "of it",
				       (const char *)w.data);
		} else if (known_damaged(t, x)) {
			/* TensorFlow would refuse it too.  (Why, again: the
			 * first check's message went to the log.) */
			struct ckpt_err verr = { 0 };
			int vrc = t->bundle != NULL
					  ? ckpt_bundle_verify(t->bundle,
							       x->entry, &verr)
					  : 0;

			where(t, x, &w);
			rc = ckpt_fail(&why, -EBADMSG,
				       "%s: damaged in the source checkpoint "
				       "(%s); remove it, or overwrite all of "
				       "it",
				       (const char *)w.data,
				       vrc < 0 ? ckpt_err_str(&verr, vrc)
					       : "its bytes do not match "
						 "its stored checksum");
		} else {
			y->bundle = t->bundle;
			y->entry = x->entry;
			y->dtype = x->dtype;
			y->rank = x->rank;
			y->dims = x->dims;
			y->fd = -1;
			y->size = x->size;
		}
		if (rc < 0) {
			/* Refused (the tensor's own fault): go on looking,
			 * to name them all; nothing will be written.  Its
			 * name kept for tables_whole() (a partner refused is
			 * not missing). */
			size_t nl = y->name_len;

			if (ckpt_buf_put(&refd, &nl, sizeof(nl)) < 0 ||
			    ckpt_buf_put(&refd, names.data + offs[2 * n],
					 nl) < 0) {
				rc = ckpt_fail(err, -ENOMEM, "out of memory");
				break;
			}
			memset(y, 0, sizeof(*y));
			if (refused == 0)
				refused = rc;
			rc = refuse(t, x, view, &why, err, &more, nrefused++,
				    &nmore);
			ckpt_err_clear(&why);
			continue;
		}
		note_meta(t, x, y, (const char *)names.data + offs[2 * n],
			  y->name_len,
			  (const char *)names.data + offs[2 * n + 1],
			  y->key_len);
		if (tf2)
			note_key(t, x,
				 (const char *)names.data + offs[2 * n + 1],
				 y->key_len);
		keys[n].n = x;
		n++;
	}
	/* (what a removed graph, a tar or cp -f putting it back, loses) */
	if (tf2 && t->src.tf2 && t->ov != NULL && t->ov->graph_removed)
		add_note(t, strdup("by-object/_CHECKPOINTABLE_OBJECT_GRAPH was "
				   "removed, so the object graph is built "
				   "anew from the keys: objects of the "
				   "source's that hold no tensor (a "
				   "SavedModel's functions, signatures, "
				   "assets) are not in it"));
	/* The source's object graph, copied as stored into a TF2 output or
	 * edited into its graph: checked, as TensorFlow will (it is small,
	 * and the names of a TF2 mount came from it); refused after the
	 * tensors, among them. */
	for (k = 0; k < nouts && rc == 0 && (copy || graph_node != NULL); k++)
		if (outs[k].format == CKPT_FORMAT_TF2) {
			rc = graph_refused(t, graph_node, err, &more,
					   &nrefused, &nmore, &refused);
			break;
		}
	if (rc == 0 && tf1)
		rc = tables_whole(t, keys, n, &names, offs, o, &refd, err,
				  &more, &nrefused, &nmore, &refused);
	if (rc == 0 && tf2) {
		for (i = 0; i < n; i++) {
			keys[i].key = (const char *)names.data + offs[2 * i + 1];
			keys[i].len = o[i].key_len;
		}
		rc = keys_unique(t, keys, n, err, &more, &nrefused, &nmore,
				 &refused);
		if (rc == 0)
			rc = slots_have_vars(t, keys, n, err, &more,
					     &nrefused, &nmore, &refused);
	}
	if (rc == 0 && nrefused > 1)
		refused_more(err, &more, nrefused - 1, nmore);
	if (nrefused > 0 && t->ov != NULL)
		refusals_end(&t->ov->refusals, nrefused);
	if (rc == 0)
		rc = refused;
	if (rc < 0)
		goto out;
	/* The buffer has stopped moving. */
	for (i = 0; i < n; i++) {
		o[i].name = (const char *)names.data + offs[2 * i];
		o[i].key = (const char *)names.data + offs[2 * i + 1];
	}
	edit_graph = graph_node != NULL;
	if (flags & CKPTFS_COMMIT_LAST) {
		/* The list borrows nothing from the nodes but owned shapes,
		 * which the tree keeps. */
		free(keys);
		keys = NULL;
		ckptfs_tree_shed(t);
	}
	/* TF2 outputs first: one whose object graph is refused as it is
	 * built (a hash table's halves apart, or named apart) then leaves
	 * no other written. */
	for (pass = 0; pass < 2 && rc == 0; pass++)
		for (k = 0; k < nouts && rc == 0; k++)
			if ((outs[k].format == CKPT_FORMAT_TF2) == (pass == 0) &&
			    (rc = write_output(t, o, n, &outs[k], changed, copy,
					       edit_graph, &graph, err)) == 0 &&
			    first == NULL)
				first = outs[k].prefix;
	if (rc < 0 && first != NULL) {
		/* -o format=both: say which one is complete. */
		char *tail = NULL;

		if (asprintf(&tail, " (%s was written)", first) >= 0)
			ckpt_err_append(err, tail, true);
		free(tail);
	}
	if (rc == 0) {
		*wrote = true;
		if (t->ov != NULL && t->ov->on_written != NULL)
			t->ov->on_written(t->ov->on_written_arg);
		ckpt_test_crash("before-spool-remove");
		if (t->ov != NULL)
			rc = spool_remove(t->ov, true);
		if (rc < 0)
			rc = ckpt_fail(err, rc, "%s: cannot remove: %s",
				       t->ov->spool_dir, strerror(-rc));
	}
out:
	ckpt_buf_free(&names);
	ckpt_buf_free(&refd);
	ckpt_buf_free(&more);
	ckpt_buf_free(&w);
	free(offs);
	free(keys);
	free(o);
	free(ones);
	free(spnames);
	return rc;
}
