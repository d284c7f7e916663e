/* convert.c -- write a set of tensors as a TF1 or TF2 checkpoint (see
 * convert.h).  The output is produced by the bundle writer, so it gets the
 * same temporary names, fsyncs and index-last rename. */
#include "config.h"

#include "convert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_writer.h"
#include "objgraph.h"
#include "tensor.h"

/* True if NAME[0..LEN) is save_counter (tf.train.Checkpoint's counter:
 * its TF1 name, and its edge name at the root). */
static bool
is_counter_name(const void *name, size_t len)
{
	return len == strlen(CKPT_SAVE_COUNTER_NAME) &&
	       memcmp(name, CKPT_SAVE_COUNTER_NAME, len) == 0;
}

int
ckpt_tf2_key_for_name(const char *root, const void *name, size_t len,
		      struct ckpt_buf *out)
{
	static const char attr[] = "/.ATTRIBUTES/VARIABLE_VALUE";
	int rc;

	/* tf.train.Checkpoint's own counter (its full_name), which a TF2
	 * checkpoint converted to TF1 has: back at the root, so that a round
	 * trip keeps its value and gets no second counter. */
	if (is_counter_name(name, len))
		return ckpt_buf_put(out, CKPT_SAVE_COUNTER_KEY,
				    strlen(CKPT_SAVE_COUNTER_KEY));
	if ((rc = ckpt_buf_put(out, root, strlen(root))) < 0 ||
	    (rc = ckpt_buf_put(out, "/", 1)) < 0 ||
	    (rc = ckpt_name_escape(name, len, out)) < 0)
		return rc;
	return ckpt_buf_put(out, attr, sizeof(attr) - 1);
}

/* The slice keys made for the parts of partitioned tensors: the writer
 * borrows every key until it is freed, so they are kept here until then. */
struct held {
	struct held *next;
	char key[];
};

static void
held_free(struct held *h)
{
	while (h != NULL) {
		struct held *next = h->next;

		free(h);
		h = next;
	}
}

/* The slice key of part I of partitioned entry E under KEY (KLEN bytes),
 * kept on *HELD for the writer to borrow; *LEN its length.  NULL, with
 * *RC -ENOMEM or -EINVAL (ckpt_slice_key_encode()), if it cannot be. */
static const char *
hold_slice_key(struct held **held, const char *key, size_t klen,
	       const struct ckpt_entry *e, size_t i, size_t *len, int *rc)
{
	struct ckpt_buf sk = { 0 };
	struct held *h = NULL;

	*rc = ckpt_slice_key_encode(key, klen, &e->slices[i * (size_t)e->rank],
				    e->rank, &sk);
	if (*rc == 0 && (h = malloc(sizeof(*h) + sk.len + 1)) == NULL)
		*rc = -ENOMEM;
	if (h != NULL) {
		memcpy(h->key, sk.data, sk.len);
		h->key[sk.len] = '\0';
		h->next = *held;
		*held = h;
		*len = sk.len;
	}
	ckpt_buf_free(&sk);
	return h != NULL ? h->key : NULL;
}

/* Copy an unchanged entry E of bundle B under KEY: plain tensors are
 * copied with their stored CRC; partitioned ones keep their partitioning,
 * each part under the slice key of the new name (kept on *HELD). */
static int
copy_entry(struct ckpt_writer *w, struct held **held,
	   const struct ckpt_bundle *b, const struct ckpt_entry *e,
	   const char *key, size_t klen, struct ckpt_err *err)
{
	char kb[CKPT_SHOWN_MAX];
	uint64_t foff = 0, run = 0;
	size_t pl = 0;
	int fd = -1, rc;

	if (ckpt_entry_is_bad(e))	/* (the overlay refuses it first) */
		return ckpt_fail(err, -EBADMSG, "tensor '%s': %s",
				 ckpt_key_shown(key, klen, kb),
				 ckpt_bundle_entry_bad(b, e));
	if (e->nparts == 0) {
		if (e->size > 0 &&
		    (rc = ckpt_bundle_locate(b, e, 0, &fd, &foff, &run)) < 0)
			return ckpt_fail(err, rc, "tensor '%s': %s",
					 ckpt_key_shown(key, klen, kb),
					 rc == -EIO ? "its bytes are not all in "
						      "its data file (cut "
						      "short?); remove it, or "
						      "overwrite all of it"
					 : rc == -ESTALE
						 ? "its data file changed "
						   "while it was copied"
						 : strerror(-rc));
		return ckpt_writer_add_copy(w, key, klen, e->dtype, e->dims,
					    e->rank, fd, foff, e->size,
					    e->crc32c, err);
	}
	for (size_t i = 0; i < e->nparts; i++) {
		const struct ckpt_entry *p = e->parts[i].entry;
		const char *pk;

		pk = hold_slice_key(held, key, klen, e, i, &pl, &rc);
		if (pk == NULL)
			return rc == -ENOMEM
				       ? ckpt_fail(err, rc, "out of memory")
				       : rc;
		if ((rc = copy_entry(w, held, b, p, pk, pl, err)) < 0)
			return rc;
	}
	return ckpt_writer_add_partitioned(w, key, klen, e->dtype, e->dims,
					   e->rank, e->slices, e->nparts, err);
}

/* Read string tensor T's bytes at FD into *BUF and split them, laid out
 * in byte order BE, into its *N elements: *LENS, *DATA (pointing into
 * *BUF).  The overlay checked the layout; a file changed since is not.
 * Return 0, -ENOMEM, -EBADMSG or a read's error; the caller frees the
 * three. */
static int
read_strings(const struct ckpt_out_tensor *t, int fd, bool be, uint8_t **buf,
	     uint64_t **lens, const uint8_t ***data, uint64_t *n)
{
	int rc;

	*n = 0;
	ckpt_shape_elems(t->dims, t->rank, n);
	if (t->size > SIZE_MAX || *n > SIZE_MAX / sizeof(uint64_t) ||
	    (*buf = malloc(t->size ? (size_t)t->size : 1)) == NULL ||
	    (*data = calloc(*n ? (size_t)*n : 1, sizeof(**data))) == NULL ||
	    (*lens = calloc(*n ? (size_t)*n : 1, sizeof(**lens))) == NULL)
		return -ENOMEM;
	if ((rc = ckpt_pread_full(fd, *buf, (size_t)t->size, 0)) < 0)
		return rc;
	return ckpt_string_parse(*buf, (size_t)t->size, *n, be, *lens, *data,
				 NULL);
}

/* Add changed string tensor T, whose SIZE bytes are in FD, under KEY in
 * the slices of T->slicing again, each part under its slice key (kept on
 * *HELD): TensorFlow restores a partitioned variable of strings only from
 * the slices it was saved in, never from one whole tensor. */
static int
add_split_strings(struct ckpt_writer *w, struct held **held,
		  const struct ckpt_out_tensor *t, int fd, const char *key,
		  size_t klen, bool be, struct ckpt_err *err)
{
	const struct ckpt_entry *e = t->slicing;
	uint64_t n;
	const uint8_t **data = NULL, **pd = NULL;
	uint64_t *lens = NULL, *pl = NULL;
	struct ckpt_buf part = { 0 };
	uint8_t *buf = NULL;
	uint32_t crc;
	char kb[CKPT_SHOWN_MAX];
	int rc;

	/* (in the file's byte order: the slices are made in the output's) */
	if ((rc = read_strings(t, fd, be != t->swap, &buf, &lens, &data,
			       &n)) < 0)
		goto fail;
	if ((pd = calloc(n ? (size_t)n : 1, sizeof(*pd))) == NULL ||
	    (pl = calloc(n ? (size_t)n : 1, sizeof(*pl))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < e->nparts; i++) {
		const struct ckpt_part *p = &e->parts[i];
		struct ckpt_part_walk walk;
		const char *pk;
		size_t pkl = 0;
		uint64_t m;

		/* The part's elements, in its own row-major order (T has
		 * E's shape: kept_slicing() in the overlay). */
		ckpt_shape_elems(p->entry->dims, e->rank, &m);
		ckpt_part_walk_init(&walk, e, p);
		for (uint64_t j = 0; j < m; j++) {
			uint64_t fi = ckpt_part_walk_next(&walk);

			pl[j] = lens[fi];
			pd[j] = data[fi];
		}
		part.len = 0;
		if ((rc = ckpt_string_encode_order(pd, pl, m, be, &part,
						   &crc)) < 0 ||
		    (pk = hold_slice_key(held, key, klen, e, i, &pkl,
					 &rc)) == NULL)
			goto fail;
		rc = ckpt_writer_add(w, pk, pkl, CKPT_DT_STRING,
				     p->entry->dims, e->rank, part.data,
				     part.len, err);
		if (rc < 0)
			goto out;
	}
	rc = ckpt_writer_add_partitioned(w, key, klen, CKPT_DT_STRING, t->dims,
					 t->rank, e->slices, e->nparts, err);
	goto out;
fail:
	rc = ckpt_fail(err, rc, "tensor '%s': %s",
		       ckpt_key_shown(key, klen, kb),
		       rc == -EBADMSG ? "not a string tensor of its shape"
				      : strerror(-rc));
out:
	ckpt_buf_free(&part);
	free(buf);
	free(data);
	free(pd);
	free(lens);
	free(pl);
	return rc;
}

/* What part_run() needs. */
struct part_runs {
	const struct ckpt_entry *e;
	const struct ckpt_part *p;
};

/* The offset in the whole tensor of run R of a part (struct part_runs at
 * ARG): ckpt_writer_add_fd_gather()'s RUN_OFF. */
static uint64_t
part_run(const void *arg, uint64_t r)
{
	const struct part_runs *pr = arg;

	return ckpt_part_run_offset(pr->e, pr->p, r);
}

/* Add changed tensor T of a fixed-size dtype, whose bytes are in FD,
 * under KEY in the slices of T->slicing again, each part gathered from
 * FD under its slice key (kept on *HELD): TensorFlow restores a
 * partitioned variable of half, uint16, uint32, ... only from the slices
 * it was saved in (ckpt_dtype_slices_copied()). */
static int
add_split_fixed(struct ckpt_writer *w, struct held **held,
		const struct ckpt_out_tensor *t, int fd, const char *key,
		size_t klen, struct ckpt_err *err)
{
	const struct ckpt_entry *e = t->slicing;
	char kb[CKPT_SHOWN_MAX];
	int rc = 0;

	for (size_t i = 0; i < e->nparts && rc == 0; i++) {
		const struct ckpt_part *p = &e->parts[i];
		struct part_runs pr = { e, p };
		size_t pkl = 0;
		const char *pk;

		pk = hold_slice_key(held, key, klen, e, i, &pkl, &rc);
		if (pk == NULL)
			return ckpt_fail(err, rc, "tensor '%s': %s",
					 ckpt_key_shown(key, klen, kb),
					 strerror(-rc));
		rc = ckpt_writer_add_fd_gather(w, pk, pkl, e->dtype,
					       p->entry->dims, e->rank, fd,
					       p->run_bytes, part_run, &pr,
					       t->swap, err);
	}
	if (rc == 0)
		rc = ckpt_writer_add_partitioned(w, key, klen, e->dtype,
						 t->dims, t->rank, e->slices,
						 e->nparts, err);
	return rc;
}

/* Add string tensor T, whose bytes at FD are laid out in the byte order
 * other than the output's (BE: big-endian), laid out again in the
 * output's: the checksum of the lengths is of their bytes in the order. */
static int
add_reordered_strings(struct ckpt_writer *w, const struct ckpt_out_tensor *t,
		      int fd, const char *key, size_t klen, bool be,
		      struct ckpt_err *err)
{
	struct ckpt_buf out = { 0 };
	const uint8_t **data = NULL;
	uint64_t *lens = NULL, n = 0;
	uint8_t *buf = NULL;
	char kb[CKPT_SHOWN_MAX];
	uint32_t crc;
	int rc;

	if ((rc = read_strings(t, fd, !be, &buf, &lens, &data, &n)) == 0 &&
	    (rc = ckpt_string_encode_order(data, lens, n, be, &out, &crc)) ==
		    0)
		rc = ckpt_writer_add(w, key, klen, CKPT_DT_STRING, t->dims,
				     t->rank, out.data, out.len, err);
	else
		rc = ckpt_fail(err, rc, "tensor '%s': %s",
			       ckpt_key_shown(key, klen, kb),
			       rc == -EBADMSG ? "not a string tensor of its "
						"shape"
					      : strerror(-rc));
	ckpt_buf_free(&out);
	free(lens);
	free(data);
	free(buf);
	return rc;
}

/* Add one tensor under KEY (BE: the output is big-endian). */
static int
add_tensor(struct ckpt_writer *w, struct held **held,
	   const struct ckpt_out_tensor *t, const char *key, size_t klen,
	   bool be, struct ckpt_err *err)
{
	char kb[CKPT_SHOWN_MAX];
	int fd = t->fd, rc;

	if (t->entry != NULL)
		return copy_entry(w, held, t->bundle, t->entry, key, klen,
				  err);
	if (t->file != NULL) {
		fd = openat(t->dirfd, t->file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			return ckpt_fail(err, -e, "tensor '%s': %s: %s",
					 ckpt_key_shown(key, klen, kb),
					 t->file, strerror(e));
		}
	}
	rc = t->slicing != NULL && t->dtype == CKPT_DT_STRING
		     ? add_split_strings(w, held, t, fd, key, klen, be, err)
	     : t->slicing != NULL
		     ? add_split_fixed(w, held, t, fd, key, klen, err)
	     : t->swap && t->dtype == CKPT_DT_STRING
		     ? add_reordered_strings(w, t, fd, key, klen, be, err)
		     : ckpt_writer_add_fd_order(w, key, klen, t->dtype,
						t->dims, t->rank, fd, 0,
						t->size, t->swap, err);
	if (t->file != NULL)
		close(fd);
	return rc;
}

/* The object graph on its way to the writer, as a string scalar (its
 * layout's head, then the packed graph): in a file of no name in the
 * output's directory, whose pages the kernel may write out, so that the
 * daemon does not hold it beside the builder's tables (for 100,000
 * variables it is about 15 MB, a seventh of the write-out's peak), read
 * back into MEM when it is stored, last; in MEM from the start where no
 * such file can be made. */
struct graph_out {
	int fd;			/* -1: in MEM */
	uint64_t len;		/* bytes in FD */
	struct ckpt_buf mem;
	int werr;		/* a write to FD failed: its error */
	bool be;		/* the output is big-endian */
};

/* Append LEN bytes at P to G. */
static int
graph_write(struct graph_out *g, const void *p, size_t len)
{
	int rc;

	if (g->fd < 0)
		return ckpt_buf_put(&g->mem, p, len);
	if ((rc = ckpt_pwrite_all(g->fd, p, len, g->len)) < 0)
		return g->werr = rc;
	g->len += len;
	return 0;
}

/* The sink of a struct graph_out (CTX): the head, then the graph. */
static int
graph_begin(void *ctx, uint64_t total)
{
	struct graph_out *g = ctx;
	uint8_t head[CKPT_STRING_HEAD_MAX];
	size_t n = ckpt_string_head(head, total, g->be);

	if (g->fd < 0 && (total > SIZE_MAX - n ||
			  ckpt_buf_reserve(&g->mem, n + (size_t)total) < 0))
		return -ENOMEM;
	return graph_write(g, head, n);
}

static int
graph_put(void *ctx, const void *p, size_t len)
{
	return graph_write(ctx, p, len);
}

/* A file of no name for the object graph in the directory of PREFIX
 * (DIRFD if not NULL), or -1 where none can be made there (a filesystem
 * without O_TMPFILE; tests ask for that with CKPT_TEST_NO_TMPFILE). */
static int
graph_file(const char *prefix, const int *dirfd)
{
	int dfd, fd;

	if (getenv("CKPT_TEST_NO_TMPFILE") != NULL)
		return -1;
	if ((dfd = dirfd != NULL ? *dirfd : ckpt_open_dir_of(prefix)) < 0)
		return -1;
	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (dirfd == NULL)
		close(dfd);
	return fd < 0 ? -1 : fd;
}

/* Build the object graph for the TF2 keys of T (plus save_counter when
 * WITH_COUNTER) into G.  With BASE (a source's graph), BASE edited to
 * hold them instead, unless that cannot be done.  Messages name PREFIX,
 * the output's. */
static int
make_graph(const struct ckpt_out_tensor *t, size_t n, bool with_counter,
	   struct ckpt_objgraph *base, struct graph_out *g,
	   const char *prefix, struct ckpt_err *err)
{
	struct ckpt_objvalue *vals = calloc(n + 1, sizeof(*vals));
	struct ckpt_objgraph_sink sink = { graph_begin, graph_put, g };
	size_t nv = 0;
	int rc;

	if (vals == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct ckpt_out_tensor *x = &t[i];

		if (ckpt_objgraph_is_key(x->key, x->key_len) ||
		    memmem(x->key, x->key_len, "/.ATTRIBUTES/", 13) == NULL)
			continue; /* stored, but not an object value */
		/* Whole, NUL bytes included (an empty key cannot be stored,
		 * so 0 never means "up to the NUL" here). */
		vals[nv].key = x->key;
		vals[nv].key_len = x->key_len;
		vals[nv].full_name = x->name;
		vals[nv].full_name_len = x->name_len;
		nv++;
	}
	if (with_counter) {
		vals[nv].key = CKPT_SAVE_COUNTER_KEY;
		vals[nv].full_name = CKPT_SAVE_COUNTER_NAME;
		nv++;
	}
	rc = base != NULL ? ckpt_objgraph_edit(base, vals, nv, err) : 1;
	if (rc == 0)
		rc = ckpt_objgraph_serialize_to(base, &sink);
	else if (rc == 1)
		rc = ckpt_objgraph_build_to(vals, nv, &sink, err);
	if (rc < 0 && g->werr < 0)
		ckpt_fail(err, rc, "%s: writing the object graph in the "
			  "output's directory: %s", prefix, strerror(-rc));
	else if (rc < 0)
		ckpt_fail(err, rc, "object graph: %s", strerror(-rc));
	free(vals);
	return rc;
}

/* Where the bytes of T start in their source: unchanged tensors by
 * bundle and entry E (a partitioned one's first part), then the others. */
struct place {
	const struct ckpt_bundle *b;
	size_t bi;		/* B's first tensor in T */
	/* Tensors before it in T with the same bytes (copies made by
	 * sharing them: ckptfs_ov_share()), which have the same entry. */
	size_t pass;
	const struct ckpt_entry *e;	/* NULL for the others */
	size_t i;		/* in T */
};

/* qsort() order of places: unchanged tensors in their source's data
 * order first (a second tensor of the same bytes in a second pass), then
 * the others as given. */
static int
place_cmp(const void *a, const void *b)
{
	const struct place *x = a, *y = b;

	if ((x->b == NULL) != (y->b == NULL))
		return x->b == NULL ? 1 : -1;
	if (x->pass != y->pass)
		return x->pass < y->pass ? -1 : 1;
	if (x->bi != y->bi)
		return x->bi < y->bi ? -1 : 1;
	if (x->b == NULL)
		return x->i < y->i ? -1 : x->i > y->i;
	if (x->e->shard_id != y->e->shard_id)
		return x->e->shard_id < y->e->shard_id ? -1 : 1;
	if (x->e->offset != y->e->offset)
		return x->e->offset < y->e->offset ? -1 : 1;
	/* (an empty tensor has the offset of the next: entries of one
	 * bundle, in one array) */
	if (x->e != y->e)
		return x->e < y->e ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* The order to add T in: unchanged tensors as their bytes lie in their
 * source, so that the copies read it front to back and, where the output
 * can share the source's blocks, shares them in a few long runs (see
 * ckpt_writer_add_copy()); tensors of bytes added already follow in as
 * many passes, in the same order, so that they make long runs too.  NULL
 * if out of memory. */
static size_t *
add_order(const struct ckpt_out_tensor *t, size_t n)
{
	struct place *p = calloc(n ? n : 1, sizeof(*p));
	size_t *order = calloc(n ? n : 1, sizeof(*order));
	/* The sources met so far (few: most often one), each with its first
	 * tensor, so that the order does not depend on their addresses. */
	const struct place **seen = calloc(n ? n : 1, sizeof(*seen));
	size_t nseen = 0;
	bool again = false;

	if (p == NULL || order == NULL || seen == NULL) {
		free(p);
		free(order);
		free(seen);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ckpt_entry *e = t[i].entry;

		if (e != NULL && e->nparts > 0)
			e = e->parts[0].entry;
		p[i].i = i;
		if (e != NULL) {
			size_t k = 0;

			while (k < nseen && seen[k]->b != t[i].bundle)
				k++;
			p[i].b = t[i].bundle;
			p[i].bi = k < nseen ? seen[k]->bi : i;
			if (k == nseen)
				seen[nseen++] = &p[i];
			p[i].e = e;
		}
	}
	free(seen);
	qsort(p, n, sizeof(*p), place_cmp);
	for (size_t i = 1; i < n; i++)
		if (p[i].b != NULL && p[i].e == p[i - 1].e) {
			p[i].pass = p[i - 1].pass + 1;
			again = true;
		}
	if (again)
		qsort(p, n, sizeof(*p), place_cmp);
	for (size_t i = 0; i < n; i++)
		order[i] = p[i].i;
	free(p);
	return order;
}

/* True if KEY is save_counter's. */
static bool
is_counter_key(const char *key, size_t len)
{
	return len == strlen(CKPT_SAVE_COUNTER_KEY) &&
	       memcmp(key, CKPT_SAVE_COUNTER_KEY, len) == 0;
}

/* True if the root of graph G has a child named save_counter (G was
 * saved by tf.train.Checkpoint). */
static bool
has_counter(const struct ckpt_objgraph *g)
{
	for (size_t j = 0; g->n > 0 && j < g->nodes[0].nchildren; j++)
		if (is_counter_name(g->nodes[0].children[j].local_name,
				    g->nodes[0].children[j].local_name_len))
			return true;
	return false;
}

int
ckpt_convert_write(const struct ckpt_out_tensor *t, size_t n,
		   const char *prefix, const struct ckpt_convert_opts *opts,
		   struct ckpt_err *err)
{
	struct ckpt_writer_opts wo = { 0 };
	struct ckpt_writer *w = NULL;
	struct held *held = NULL;
	struct graph_out graph = { .fd = -1 };
	struct ckpt_objgraph *base = NULL;
	size_t *order = NULL;
	bool tf2 = opts->format == CKPT_FORMAT_TF2, add_counter = false;
	bool be = opts->endianness == 1;
	int rc;

	if (tf2) {
		struct ckpt_err gerr = { 0 };

		/* A source's graph that cannot be read is built anew (a
		 * caller that must keep it checks it first). */
		if (opts->graph == NULL && opts->graph_source != NULL &&
		    ckpt_bundle_objgraph(opts->graph_source, &base, &gerr) < 0)
			base = NULL;
		add_counter = opts->add_save_counter && opts->graph == NULL &&
			      (base == NULL || has_counter(base));
		/* (nor when a tensor is named save_counter elsewhere: the
		 * counter moved away, and two would have its name) */
		for (size_t i = 0; i < n && add_counter; i++)
			add_counter = !is_counter_key(t[i].key, t[i].key_len) &&
				      !is_counter_name(t[i].name, t[i].name_len);
		/* Packed before the writer's entries exist, so that the
		 * builder's scratch and they are never alive together; it is
		 * still stored last, as TensorFlow stores it. */
		rc = 0;
		if (opts->graph == NULL) {
			graph.be = be;
			graph.fd = graph_file(prefix, opts->dirfd);
			rc = make_graph(t, n, add_counter, base, &graph,
					prefix, err);
		}
		ckpt_objgraph_free(base);
		if (rc < 0)
			goto out;
	}
	wo.producer = 1;
	wo.compression = opts->compression;
	wo.endianness = opts->endianness;
	/* T's names, keys and shapes, the slice keys on HELD and the static
	 * keys added here outlive the writer, freed before this returns. */
	wo.borrow = true;
	wo.dirfd = opts->dirfd;
	for (size_t i = 0; i < n && wo.watch == NULL; i++)
		wo.watch = t[i].bundle;
	if ((order = add_order(t, n)) == NULL) {
		rc = ckpt_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = ckpt_writer_new(prefix, &wo, &w, err)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct ckpt_out_tensor *x = &t[order[i]];
		const char *key = tf2 ? x->key : x->name;
		size_t klen = tf2 ? x->key_len : x->name_len;

		if (tf2 && ckpt_objgraph_is_key(key, klen))
			continue;
		if ((rc = add_tensor(w, &held, x, key, klen, be, err)) < 0)
			goto out;
	}
	if (add_counter) {
		/* int64 1, in the data's byte order */
		uint8_t one[8];

		ckpt_store64(one, 1, be);
		rc = ckpt_writer_add(w, CKPT_SAVE_COUNTER_KEY,
				     strlen(CKPT_SAVE_COUNTER_KEY),
				     CKPT_DT_INT64, NULL, 0, one, sizeof(one),
				     err);
		if (rc < 0)
			goto out;
	}
	/* The graph's file read back and dropped before its bytes go to the
	 * shard, so that the disk never holds them twice (a write-out that
	 * fits its output's file system in memory fits it this way too). */
	if (tf2 && opts->graph == NULL && graph.fd >= 0 &&
	    (graph.len > SIZE_MAX ||
	     ckpt_buf_reserve(&graph.mem, (size_t)graph.len) < 0)) {
		rc = ckpt_fail(err, -ENOMEM, "object graph: out of memory");
		goto out;
	}
	if (tf2 && opts->graph == NULL && graph.fd >= 0) {
		rc = ckpt_pread_full(graph.fd, graph.mem.data,
				     (size_t)graph.len, 0);
		if (rc < 0) {
			rc = ckpt_fail(err, rc, "%s: object graph: reading "
				       "it back from the output's directory: "
				       "%s", prefix, strerror(-rc));
			goto out;
		}
		graph.mem.len = (size_t)graph.len;
		close(graph.fd);
		graph.fd = -1;
	}
	if (tf2 && opts->graph == NULL) {
		rc = ckpt_writer_add(w, CKPT_OBJGRAPH_KEY,
				     strlen(CKPT_OBJGRAPH_KEY), CKPT_DT_STRING,
				     NULL, 0, graph.mem.data, graph.mem.len,
				     err);
	} else if (tf2) {
		rc = add_tensor(w, &held, opts->graph, CKPT_OBJGRAPH_KEY,
				strlen(CKPT_OBJGRAPH_KEY), be, err);
	}
	/* Its bytes are in the shard: not kept while the index is built. */
	ckpt_buf_free(&graph.mem);
	if (rc < 0)
		goto out;
	rc = ckpt_writer_finish(w, err);
out:
	ckpt_writer_free(w);
	free(order);
	held_free(held);
	ckpt_buf_free(&graph.mem);
	if (graph.fd >= 0)
		close(graph.fd);
	return rc;
}
