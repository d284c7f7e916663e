/* tree.h -- the filesystem model of a mounted checkpoint, without libfuse:
 * the node tree, the inode table, the /by-name and /by-object views, and
 * the escaping of checkpoint names into path components.
 *
 * A tree is built in one pass over the bundle's entries at mount time and
 * is immutable afterwards, so lookups need no lock.  One tensor is one node
 * (one inode), reachable under a name in each view that shows it, like a
 * hard link (nlink = number of names).  Inode numbers are indexes into the
 * inode table plus one (FUSE_ROOT_ID = 1 is the root) and never change.
 * The only mutable per-node state (CRC verification result, cached
 * content CRC, lookup count) is atomic.
 *
 * Writing (a later overlay) fits in by adding nodes to the table and
 * entries to directories with ckptfs_dir_link(); nothing here assumes the
 * tree stays as built except the absence of locks. */
#ifndef CKPT_TREE_H
#define CKPT_TREE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "bundle.h"
#include "coding.h"
#include "err.h"
#include "objgraph.h"

/* Longest displayed component; longer ones are shortened (see
 * ckptfs_name_escape()). */
#define CKPTFS_NAME_MAX 255
/* Bytes kept from a shortened component before "%#<hash>". */
#define CKPTFS_NAME_KEEP 200

#define CKPTFS_XATTR_DTYPE "user.ckpt.dtype"
#define CKPTFS_XATTR_SHAPE "user.ckpt.shape"
#define CKPTFS_XATTR_KEY "user.ckpt.key"
#define CKPTFS_XATTR_CRC "user.ckpt.crc32c"
#define CKPTFS_XATTR_ORDER "user.ckpt.byteorder"

enum ckptfs_kind {
	CKPTFS_DIR,
	CKPTFS_TENSOR,	/* a bundle entry */
	CKPTFS_BLOB,	/* fixed bytes held by the tree (info.json) */
};

struct ckptfs_node;
struct ckptfs_overlay;

/* One name in a directory: the node, whose location in the directory's
 * view (ckptfs_ent_loc()) holds the name, so that a name is stored once.
 * NODE is NULL for a removed name (a hole kept so readdir offsets stay
 * stable). */
struct ckptfs_dirent {
	struct ckptfs_node *node;	/* borrowed from the inode table */
};

/* Where a node is in one view: its directory, its displayed name there
 * and the raw component that name shows. */
struct ckptfs_loc {
	struct ckptfs_node *dir;	/* borrowed; NULL: not in this view */
	/* Owned unless FIXED; displayed, then (if APART) the raw component
	 * it shows, which may hold NULs: CKPTFS_LOC_RAW(). */
	char *name;
	uint32_t rawlen;
	uint16_t len;			/* <= CKPTFS_NAME_MAX */
	bool fixed;			/* NAME is not owned: static text, or
					 * in the tree's slabs (the build's
					 * names) */
	bool apart;			/* the raw component differs */
};

/* The raw component location L shows (RAWLEN bytes). */
#define CKPTFS_LOC_RAW(l) ((l)->apart ? (l)->name + (l)->len + 1 : (l)->name)

/* Views (CKPTFS_LOC()). */
enum { CKPTFS_BY_NAME = 0, CKPTFS_BY_OBJECT = 1 };

struct ckptfs_build_dir;

/* The names of a directory that holds more than one (the node's BIG). */
struct ckptfs_dirtab {
	/* Owned; while the node's BUILDING is set. */
	struct ckptfs_build_dir *build;
	uint32_t *slots;	/* owned; open addressing: ents index + 1, 0
				 * empty; NULL while the directory is small
				 * and searched in order */
	uint32_t cap;		/* room in ENTS */
	uint32_t nslots;	/* 0, or a power of two > 2 * n */
	/* Owned; NULL until a name is removed (ckptfs_dir_remove()). */
	struct ckptfs_dirgone *gone;
	struct ckptfs_dirent ents[];	/* readdir order, with holes */
};

/* The names last removed from a directory, so that one put back (a file
 * renamed over it, which removes it and the file's own name first) takes
 * the entry it had: a listing under way shows it once, never twice or not
 * at all.  Other names take the holes removals leave (none is below
 * HOLE), so that a mount's saves through temporary names do not grow the
 * directory. */
#define CKPTFS_GONE 4
struct ckptfs_dirgone {
	uint32_t hole;
	uint32_t next;			/* the oldest of the ring */
	uint32_t ent[CKPTFS_GONE];	/* entry index + 1, 0: none */
	uint32_t hash[CKPTFS_GONE];	/* of its name */
};

/* Counts are 32-bit (ckptfs_dir_link() refuses more names), so that a
 * node stays small: a mount of 100,000 tensors has about 375,000, and most
 * directories hold one name, kept in the node itself. */
struct ckptfs_dir {
	union {
		struct ckptfs_dirent one;	/* !BIG: the name if N is 1 */
		struct ckptfs_dirtab *tab;	/* BIG: owned */
	};
	uint32_t n;		/* entries (holes included) */
	uint32_t nlive;		/* names that are not holes */
};

/* Directory D's entries (D->dir.n of them, holes included). */
#define CKPTFS_DIR_ENTS(d) ((d)->big ? (d)->dir.tab->ents : &(d)->dir.one)

/* A node is a directory or a file (a tensor or a blob).  The fields after
 * the common ones depend on the kind, and a directory is allocated only up
 * to the end of its own part (node_size() in tree.c): never touch a file's
 * fields on a directory or the other way round.  A mount of 100,000 TF1
 * tensors has about 275,000 directories and 100,000 files. */
struct ckptfs_node {
	/* Set when the node is made.  Nodes live as long as the tree, so
	 * the kernel's lookup counts are not kept. */
	uint64_t ino;
	/* Everything below is protected by the namespace lock of the
	 * daemon (readers share it, changes hold it exclusively), except
	 * the atomics and BLOB, set when the node is made. */
	/* DIR: where it is (its directory is its ".."; the root has none);
	 * file: its place in /by-name (CKPTFS_LOC()). */
	struct ckptfs_loc loc;
	uint32_t nlink;
	uint8_t kind;		/* enum ckptfs_kind */
	int8_t view;		/* DIR: CKPTFS_BY_NAME/OBJECT, -1 above */
	bool user_dir : 1;	/* DIR: made by mkdir (never pruned) */
	/* DIR: names still pending (dir.tab->build; BIG is set). */
	bool building : 1;
	bool big : 1;		/* DIR: the names are in dir.tab */
	/* DIR: pruned (removed as the other view's directory of a tensor
	 * that left it): the kernel may still walk a path through it for a
	 * moment, a path that may name something again (the directory made
	 * anew by a file created at the same name, or one renamed there). */
	bool stale : 1;
	/* TENSOR: its dtype, its shape were taken from another tensor (one
	 * it replaced, or one that left its name or key), not set: another
	 * such tensor's replace them. */
	bool dtype_taken : 1;
	bool shape_taken : 1;
	/* TENSOR: its bytes are in the byte order other than the
	 * checkpoint's (set with user.ckpt.byteorder, as cp -a from a mount
	 * of the other order does): the write-out converts them. */
	bool other_order : 1;
	union {
		struct ckptfs_dir dir;	/* CKPTFS_DIR */
		struct {	/* CKPTFS_TENSOR, CKPTFS_BLOB */
			/* Its place in /by-object (CKPTFS_LOC()). */
			struct ckptfs_loc oloc;
			_Atomic uint64_t size;	/* grows under concurrent
						 * writes */
			/* CRC-32C of the content once known: bit 32 set
			 * when valid. */
			atomic_uint_fast64_t crc;
			/* 0: content still in the source; set at copy-up,
			 * after the spool file holds the content (the mark
			 * of a changed tensor, unless SHARES is set), and
			 * at the create of a new file.  Set once, but for a
			 * copy sharing a tensor's bytes removed while not
			 * open (a new spool file at its copy-up). */
			_Atomic uint64_t spool_id;
			/* TENSOR: borrowed from the source: set when the
			 * node is made, or (under the exclusive lock) when
			 * a new file shares a tensor's bytes (SHARES); read
			 * without the lock by the first read's check. */
			const struct ckpt_entry *_Atomic entry;
			const char *blob;	/* BLOB: borrowed from the
						 * tree */
			int64_t *dims;	/* borrowed from the entry or
					 * dims_owned */
			/* 0 not checked yet, 1 good, 2 being checked, 3
			 * to be checked again (the last check could not
			 * read it), or the negative errno of the check. */
			atomic_int verified;
			/* The spool file while the node has open handles
			 * (opened lazily, closed with the last handle, so
			 * open fds stay bounded); else -1.  Changed only
			 * under the overlay's fd lock (see
			 * ckptfs_ov_fd()). */
			atomic_int spool_fd;
			/* Open file handles, those open for writing
			 * counted CKPTFS_NOPEN_WRITE more each. */
			atomic_int nopen;
			int dtype;	/* -1 unknown (a new file) */
			int16_t rank;	/* -1 unknown */
			bool deleted;	/* no longer in any view */
			/* The by-name path follows the key. */
			bool derived_name;
			/* TF2: the key follows the by-name path (a file made
			 * in /by-name, until its key is set otherwise). */
			bool derived_key;
			/* Content or metadata set here.  Set by a first write
			 * under the shared namespace lock while lookups read
			 * it (cache timeouts), hence atomic. */
			atomic_bool written;
			bool dims_owned;
			/* TENSOR: a copy made by copy_file_range of an
			 * unchanged tensor of the source (ckptfs_ov_share()):
			 * its content is ENTRY's bytes, and its spool file
			 * (SPOOL_ID) stays empty until a change copies it
			 * up into that file.  Not spooled while set. */
			atomic_bool shares;
		};
	};
};

/* What an open file handle for writing adds to ckptfs_node.nopen (one
 * for the handle, and this). */
#define CKPTFS_NOPEN_WRITE (1 << 16)

/* N's location in VIEW: a directory has one (VIEW is ignored), a file one
 * per view. */
#define CKPTFS_LOC(n, v)                                                     \
	((n)->kind == CKPTFS_DIR || (v) == CKPTFS_BY_NAME ? &(n)->loc         \
							  : &(n)->oloc)

/* The location that names N in directory DIR (the root's entries use
 * their first one). */
#define CKPTFS_ENT_LOC(dir, n)                                               \
	CKPTFS_LOC(n, (dir)->view == CKPTFS_BY_OBJECT ? CKPTFS_BY_OBJECT      \
						      : CKPTFS_BY_NAME)

/* The ".." of directory D. */
#define CKPTFS_PARENT(d) ((d)->loc.dir != NULL ? (d)->loc.dir : (d))

/* What a tree is built from. */
struct ckptfs_source {
	const struct ckpt_bundle *bundle;	/* borrowed; NULL in unit tests
						 * (then CRCs come from entries
						 * only and reads fail) */
	const struct ckpt_entry *entries;	/* borrowed; key order */
	size_t n;
	bool tf2;
	/* The serialized object graph (a TrackableObjectGraph), read one
	 * node at a time while /by-name (its only user) is built; NULL: no
	 * graph.  Borrowed; if GRAPH_BUF is set, it is a malloc()ed buffer
	 * holding GRAPH, given to the build, which frees it as soon as
	 * /by-name is built (and on failure).  A graph found malformed
	 * there is a warning (the tree's WARNING), not an error: /by-name
	 * then shows the keys. */
	const uint8_t *graph;
	size_t graph_len;
	void *graph_buf;
	const char *prefix;	/* for info.json */
	int32_t num_shards;
	struct timespec mtime;	/* of the index: every node's times */
};

struct ckptfs_tree_opts {
	const char *tf2_root;	/* TF1 /by-object root; NULL means "vars" */
	uid_t uid;
	gid_t gid;
	/* Extra members for info.json: "key": value lines, each ending in
	 * ",\n" and already JSON (NULL: none). */
	const char *info_extra;
	/* A TF1 checkpoint's /by-object is left empty until
	 * ckptfs_tree_build_object() (the daemon calls it before the first
	 * look into /by-object and the first change): a mount used through
	 * /by-name never pays for it.  Ignored for TF2 checkpoints. */
	bool lazy_object;
};

struct ckptfs_tree {
	/* inodes[ino - 1].  The daemon looks inode numbers up without its
	 * namespace lock while a create (holding it) may add nodes, so the
	 * table is only ever replaced by a larger copy, published after it
	 * is filled, and the old ones are kept until the tree is freed
	 * (RETIRED); NINODES grows after the slot it covers is set.
	 * Until BUILT no other thread has the tree, and old tables are
	 * freed at once. */
	struct ckptfs_node **_Atomic inodes;	/* owned */
	_Atomic size_t ninodes;
	size_t capinodes;
	/* Inodes 1 to BASE_INODES are the checkpoint's (the build's and a
	 * lazy /by-object's); those above, the overlay's new nodes.  Set by
	 * the builds, before any change of names. */
	size_t base_inodes;
	struct ckptfs_node ***retired;	/* owned, each owned */
	size_t nretired;
	/* Nodes, and the names the build gives them, are carved from slabs
	 * (owned, freed with the tree): one allocation per CKPTFS_SLAB
	 * bytes instead of one per node and name. */
	char **slabs;
	size_t nslabs, capslabs;
	size_t slab_lo, slab_hi;	/* free bytes of the last slab */
	struct ckptfs_node *root, *by_name, *by_object, *info;
	char *info_json;		/* owned */
	const struct ckpt_bundle *bundle;	/* borrowed */
	struct ckptfs_source src;	/* copy; pointers borrowed */
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
	/* When the tree was built: info.json's times (its content, the
	 * daemon's pid among it, is the mount's). */
	struct timespec built_at;
	size_t ntensors;	/* tensor files (visible entries) */
	/* A TF1 checkpoint with a tensor save_counter, which /by-object
	 * shows at its root (ckpt_tf2_key_for_name()). */
	bool tf1_counter;
	/* A problem that did not stop the mount (e.g. an unreadable object
	 * graph, shown as if it were a TF1 checkpoint); "" if none. */
	char warning[512];
	/* The object graph could not be read (WARNING says why): a TF2
	 * write-out checks it again before it copies or edits it. */
	bool graph_unusable;
	/* Keys the object graph names that the checkpoint does not hold
	 * (TensorFlow cannot restore those objects): a TF2 write-out
	 * edits the graph, which leaves them out, rather than copy it. */
	size_t graph_missing;
	/* Owned; root for new by-object names, as the keys' first
	 * component: the tf2_root option's name escaped ("my..root"). */
	char *tf2_root;
	bool built;		/* ckptfs_tree_build_from() has returned it */
	/* /by-object is still to be built (ckptfs_tree_opts.lazy_object);
	 * until then stat data count the links it will hold.  Set while
	 * building, cleared (under the daemon's exclusive lock) once built
	 * or failed: OBJECT_ERROR is then 0 or why it failed. */
	atomic_bool object_pending;
	int object_error;
	bool writable;		/* modes 0644/0755 instead of 0444/0555 */
	struct ckptfs_overlay *ov;	/* owned; NULL until made writable */
	/* After ckptfs_tree_shed(): the shapes files owned (owned, each
	 * owned), which a write-out's list of tensors borrows. */
	int64_t **shed_dims;
	size_t nshed_dims;
};

/* Build the tree for SRC.  *OUT is owned by the caller (free with
 * ckptfs_tree_free()).  Return 0, -ENOMEM, -EEXIST (two names that would
 * display alike: a bug, with a message), -EINVAL (bad tf2_root). */
int ckptfs_tree_build_from(const struct ckptfs_source *src,
			   const struct ckptfs_tree_opts *opts,
			   struct ckptfs_tree **out, struct ckpt_err *err);

/* Build the tree for an opened bundle B (parses its object graph; a graph
 * that does not parse is a warning, not an error). */
int ckptfs_tree_build(const struct ckpt_bundle *b,
		      const struct ckptfs_tree_opts *opts,
		      struct ckptfs_tree **out, struct ckpt_err *err);

/* Build the /by-object view a lazy build left out; nothing if it is built
 * already.  Other threads must not use the tree meanwhile, except to look
 * up inode numbers (the table has room reserved for the view's nodes).
 * Return 0, or the error of this or an earlier attempt (-ENOMEM, -EEXIST
 * for two names that would display alike), with a message in ERR; a
 * failed view stays failed. */
int ckptfs_tree_build_object(struct ckptfs_tree *t, struct ckpt_err *err);

/* T's inodes, counting those of a /by-object still to be built. */
size_t ckptfs_tree_inodes(const struct ckptfs_tree *t);

void ckptfs_tree_free(struct ckptfs_tree *t);

/* Free T's namespace (its nodes, their names, the directories' tables and
 * the inode table), keeping the rest: the bundle, the overlay (spool,
 * notes, refusals) and the shapes its files own, which a write-out's list
 * of tensors (ckpt_out_tensor.dims) borrows.  For the write-out at the
 * unmount, whose peak of memory the object graph's build makes: nothing
 * but ckptfs_overlay_close() and ckptfs_tree_free() may use T afterwards.
 * Out of memory, it keeps everything. */
void ckptfs_tree_shed(struct ckptfs_tree *t);

/* The node with inode number INO, or NULL. */
struct ckptfs_node *ckptfs_tree_node(const struct ckptfs_tree *t,
				     uint64_t ino);

/* The node named NAME (LEN bytes, displayed form) in DIR, or NULL.
 * "." and ".." are resolved too. */
struct ckptfs_node *ckptfs_dir_lookup(const struct ckptfs_node *dir,
				      const char *name, size_t len);

/* The node of raw component RAW (LEN bytes) in DIR, as a file or, with
 * DIR_SUFFIX, as a directory beside a file of its name, or NULL; DISP
 * gets its displayed name (or the one to link it under).  That is
 * ckptfs_name_escape()'s, but for a shortened name whose hash another
 * raw component in DIR has (two names made to collide), then "~2", "~3",
 * ... after the hash.  *RC: 0, -ENOMEM, or -EEXIST when too many do. */
struct ckptfs_node *ckptfs_dir_lookup_raw(const struct ckptfs_node *dir,
					  const void *raw, size_t len,
					  bool dir_suffix,
					  struct ckpt_buf *disp, int *rc);

/* Resolve a '/'-separated PATH of displayed names from the root (tests,
 * tools).  Return the node or NULL. */
struct ckptfs_node *ckptfs_tree_path(const struct ckptfs_tree *t,
				     const char *path);

/* Add NODE to DIR under the displayed NAME of raw component RAW: sets
 * NODE's location in DIR's view (strings copied, the previous ones
 * freed).  Return 0, -EEXIST, -ENOMEM, -ENAMETOOLONG; on error nothing
 * has changed. */
int ckptfs_dir_link(struct ckptfs_node *dir, struct ckptfs_node *node,
		    const char *name, size_t len, const void *raw,
		    size_t rawlen);

/* Remove NAME from DIR (its slot becomes a hole); the node keeps its
 * location until ckptfs_loc_clear() or the next ckptfs_dir_link().
 * Return 0 or -ENOENT. */
int ckptfs_dir_remove(struct ckptfs_node *dir, const char *name, size_t len);

/* A new node of KIND in T's inode table (DIR: empty, parent PARENT, in
 * PARENT's view).  NULL on -ENOMEM. */
struct ckptfs_node *ckptfs_node_new(struct ckptfs_tree *t,
				    enum ckptfs_kind kind,
				    struct ckptfs_node *parent);

/* Free L's strings and empty it (not in any view). */
void ckptfs_loc_clear(struct ckptfs_loc *l);

/* Append N's raw path in VIEW ('/'-joined raw components below the
 * view's root) to OUT.  Return 0, -ENOENT (not in VIEW), -ENOMEM. */
int ckptfs_node_rawpath(const struct ckptfs_tree *t,
			const struct ckptfs_node *n, int view,
			struct ckpt_buf *out);

/* Append N's displayed path from the mount root ("by-name/a/b") to OUT. */
int ckptfs_node_path(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		     int view, struct ckpt_buf *out);

/* Fill *ST for N (mode 0444 files, 0555 dirs, 0644/0755 when T is
 * writable; owner and times from T). */
void ckptfs_node_stat(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		      struct stat *st);

/* Check N's stored CRC once per tree; later calls return the cached
 * result.  Return 0 or -EIO.  On the first call that finds the damage
 * *FIRST_FAILURE is set (so exactly one caller logs it) and ERR gets a
 * message naming the key.  Thread-safe: while one thread checks N, the
 * others asking about N wait for its answer. */
int ckptfs_node_verify(const struct ckptfs_tree *t, struct ckptfs_node *n,
		       bool *first_failure, struct ckpt_err *err);

/* True if the CRC-32C of the content of E's file is E's stored CRC (a
 * numeric tensor saved whole); else it is computed from the content. */
bool ckptfs_crc_is_stored(const struct ckpt_entry *e);

/* True if ckptfs_node_verify() of N would read it (not checked yet) or
 * wait for the thread checking it (then *WAITS is set); checks nothing
 * itself. */
bool ckptfs_node_verify_pending(const struct ckptfs_node *n, bool *waits);

/* If a data file of T's source changed while mounted
 * (ckpt_bundle_poll()): forget every check of the source's tensors, so
 * that each is checked again as it is read (a damaged one then fails
 * with EIO; one whose bytes are as they were reads on), and take the files
 * as they are now.  Return how many files changed, the first named in ERR.
 * Call with the inode table steady (the namespace lock, shared). */
size_t ckptfs_tree_recheck(struct ckptfs_tree *t, struct ckpt_err *err);

/* True if a check of N (ckptfs_node_verify()) found its stored bytes
 * damaged; checks nothing itself. */
bool ckptfs_node_damaged(const struct ckptfs_node *n);

/* True if N is a tensor of the source whose index entry could not be
 * used (struct ckpt_bundle, NBAD), not overwritten since: it has a key
 * and no bytes, dtype or shape; opening it to read fails. */
bool ckptfs_node_bad(const struct ckptfs_node *n);

/* The length of the object path of TF2 key KEY (LEN bytes), the name
 * /by-name shows for a key no attribute names: the key less a trailing
 * /.ATTRIBUTES/VARIABLE_VALUE, or all of it without one (or when nothing
 * would be left). */
size_t ckptfs_object_path_len(const char *key, size_t len);

/* Append to OUT the TF2 key a tensor at raw /by-object PATH (LEN bytes)
 * is written as (its user.ckpt.key there).  0 or -ENOMEM. */
int ckptfs_tf2_key_of_path(const char *path, size_t len,
			   struct ckpt_buf *out);

/* Append to OUT the TF2 key tensor N's /by-object path is written as:
 * the path, plus /.ATTRIBUTES/VARIABLE_VALUE when it holds no
 * /.ATTRIBUTES/, and with CANON (a new object graph) each component not
 * validly escaped taken as a literal name (ckpt_objgraph_key_canon()).
 * Return 0 or a negative errno (-ENOENT: not in /by-object). */
int ckptfs_node_tf2_key(const struct ckptfs_tree *t,
			const struct ckptfs_node *n, bool canon,
			struct ckpt_buf *out);

/* True if N is a directory no longer in the tree through which the
 * kernel may still hold a path for a moment (entry invalidations are
 * sent after the reply): one pruned, the other view's directory of a
 * tensor that left, where the path may name something that exists now
 * (made anew at once by a create, or a rename as editors save).  Names
 * asked in it are answered ESTALE: the kernel then walks the path again,
 * asking for each name afresh (LOOKUP_REVAL), where ENOENT would fail
 * the open of a name that exists.  Not a directory the user removed,
 * whose name the kernel dropped itself.  (A shell inside a pruned one
 * gets ESTALE, as the retry starts there again.)  Under the namespace
 * lock. */
bool ckptfs_dir_detached(const struct ckptfs_node *d);

/* True if N is a TF2 checkpoint's object graph
 * (_CHECKPOINTABLE_OBJECT_GRAPH in /by-object): read-only, like the
 * blobs, since the write-out either copies it as stored or builds a new
 * one; it can only be removed. */
bool ckptfs_node_is_graph(const struct ckptfs_tree *t,
			  const struct ckptfs_node *n);

/* How many checks ckptfs_node_verify() has run in this process (each
 * reads a whole tensor): concurrent first reads of one tensor share one
 * check. */
uint64_t ckptfs_verify_runs(void);

/* Copy up to LEN bytes at OFF of N's content into BUF (*GOT bytes; short
 * only at the end).  No verification.  Return 0, -EIO, -EISDIR. */
int ckptfs_node_pread(const struct ckptfs_tree *t, const struct ckptfs_node *n,
		      void *buf, size_t len, uint64_t off, size_t *got);

/* Whether NAME is in a namespace the tree has attributes in ("user.").
 * The others (security., system., trusted.) are not supported at all:
 * -EOPNOTSUPP, as the VFS answers for a namespace a filesystem has no
 * handler for.  Unlike -ENODATA this is remembered per filesystem by
 * tools: ls -l stops asking for security.selinux and POSIX ACLs after
 * the first file instead of sending three requests per file. */
bool ckptfs_xattr_supported(const char *name);

/* Append the value of extended attribute NAME of N to OUT (its current
 * dtype and shape; user.ckpt.key is the key N has in a checkpoint of the
 * mounted format; user.ckpt.byteorder, "little" or "big", that of its
 * bytes).  Return 0, -EOPNOTSUPP (not a "user." name), -ENODATA
 * (no such attribute, or a dtype or shape not known yet), -EIO,
 * -ENOMEM. */
int ckptfs_xattr_get(const struct ckptfs_tree *t, struct ckptfs_node *n,
		     const char *name, struct ckpt_buf *out);

/* Append the NUL-terminated names of N's extended attributes to OUT. */
int ckptfs_xattr_list(const struct ckptfs_node *n, struct ckpt_buf *out);

/* --- naming ------------------------------------------------------------
 * A raw name component (bytes between '/' in a checkpoint name) is shown
 * as follows: bytes 0x00-0x1f, 0x7f, '%' and '@' become %XX (uppercase
 * hex); a component that is exactly "." or ".." becomes %2E or %2E%2E; an
 * empty component becomes "%"; every other byte stays.  DIR_SUFFIX (a
 * directory whose name is also a file in the same directory) appends '@'.
 * If the result is longer than CKPTFS_NAME_MAX bytes it is shortened to
 * its first CKPTFS_NAME_KEEP bytes, "%#", the 16 lowercase hex digits of
 * the 64-bit FNV-1a hash of the raw component, and the '@' if any.
 * Appends to OUT (no NUL).  Return 0 or -ENOMEM. */
int ckptfs_name_escape(const void *raw, size_t len, bool dir_suffix,
		       struct ckpt_buf *out);

/* The inverse: append the raw component of displayed NAME to OUT and set
 * *DIR_SUFFIX.  Return 0, -EINVAL (not a displayed name), -ENAMETOOLONG
 * (a shortened name: use the user.ckpt.key attribute). */
int ckptfs_name_unescape(const char *name, size_t len, struct ckpt_buf *out,
			 bool *dir_suffix);

#endif
