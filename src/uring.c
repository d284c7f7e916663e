/* uring.c -- FUSE over io_uring under libfuse 3.14 (see uring.h).
 *
 * The protocol (Linux fs/fuse/dev_uring.c, include/uapi/linux/fuse.h
 * 7.42): the daemon answers INIT with FUSE_OVER_IO_URING (bit 41 of the
 * flags, so bit 9 of flags2), then submits, for every queue 0 to the
 * number of possible CPUs - 1, IORING_OP_URING_CMD commands on the
 * /dev/fuse fd with 128-byte SQEs: REGISTER gives the kernel an entry (a
 * header buffer and a payload buffer, as two iovecs) and completes when
 * a request is in it; COMMIT_AND_FETCH hands back the reply written into
 * the same buffers and waits for the next request.  Until every queue
 * has an entry, the kernel holds all requests; a REGISTER it refuses
 * sends the connection back to /dev/fuse.
 *
 * In an entry the kernel writes the fuse_in_header into the header's
 * first 128 bytes, the operation's fixed argument (fuse_read_in, ...)
 * into the next 128, and the rest (names, write data) into the payload,
 * giving its length in the header's last part; the operation's part is
 * the request's length less the other two.  The reply's fuse_out_header
 * goes to the first 128 bytes and everything after it to the payload.
 * Each payload here has a page in front of it, so that the request can
 * be made whole in place (header and argument copied before the payload)
 * and handed to libfuse without copying the payload.
 *
 * Threads: QUEUE_THREADS per queue, each pinned to the queue's CPU, each
 * with its own ring (single issuer, task work deferred to its waits) and
 * one entry: a request that blocks (a first read checking a large
 * tensor) holds one thread of its CPU, not the queue. */
#include "config.h"
#include "uring.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

/* --- the kernel's interface (uapi fuse.h 7.42; Debian 12's has none) ------ */

#define RING_INIT_FLAG2 (1u << 9)	/* FUSE_OVER_IO_URING >> 32 */
#define RING_IN_OUT_SZ 128
#define RING_OP_SZ 128

enum { RING_CMD_REGISTER = 1, RING_CMD_COMMIT_AND_FETCH = 2 };

struct ring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;	/* the request's unique */
	uint32_t payload_sz;	/* bytes used in the payload */
	uint32_t padding;
	uint64_t reserved;
};

struct ring_header {
	char in_out[RING_IN_OUT_SZ];	/* fuse_in_header / fuse_out_header */
	char op_in[RING_OP_SZ];		/* the operation's fixed argument */
	struct ring_ent_in_out ent;
};

/* In the SQE's command area (80 bytes with 128-byte SQEs). */
struct ring_cmd {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

_Static_assert(sizeof(struct ring_header) == 288, "ring header layout");
_Static_assert(sizeof(struct ring_cmd) == 24, "ring command layout");

/* --- state ---------------------------------------------------------------- */

#define QUEUE_THREADS 2
#define RING_DEPTH 4
/* Room in front of a payload for the header and the operation's part. */
#define PREFIX 4096
/* user_data of the poll on the stop eventfd (entries use their
 * address). */
#define STOP_TAG 1

enum phase {
	PH_WAIT,	/* rings made; INIT not answered yet */
	PH_GO,		/* INIT asked for the rings: register */
	PH_OFF,		/* not used: stop */
};

struct ring_thread {
	struct ckptfs_uring *u;
	pthread_t tid;
	bool started;
	unsigned qid;
	struct io_uring ring;
	bool ring_ok;
	/* The one entry. */
	struct ring_header hdr;
	char *map;		/* PREFIX + payload_len bytes, mmap()ed */
	char *payload;		/* MAP + PREFIX */
	struct iovec iov[2];
	uint64_t unique;	/* of the request being served */
	bool replied;
};

struct ckptfs_uring {
	struct fuse_session *se;
	struct ckptfs *fs;
	int fd;			/* /dev/fuse */
	int stop_fd;		/* eventfd: written once, to stop */
	size_t payload_len;
	unsigned nq;		/* queues: possible CPUs */
	unsigned nthreads;
	struct ring_thread *th;	/* NTHREADS */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned made;		/* threads that tried to make their ring */
	unsigned failed;	/* ... and could not */
	enum phase phase;
	/* INIT, seen by read_cb() (a /dev/fuse reader thread) and answered
	 * by writev_cb() (the same thread). */
	_Atomic uint64_t init_unique;
	bool offered;
	atomic_bool refused;	/* a REGISTER was refused (said once) */
};

/* One mount per process: libfuse's custom I/O passes the session's user
 * data (the struct ckptfs), not ours. */
static struct ckptfs_uring *the;
/* The entry the calling thread is serving, if any. */
static _Thread_local struct ring_thread *serving_ent;

/* --- setup ---------------------------------------------------------------- */

/* Whether the fuse module offers the transport: its parameter says Y. */
static bool
module_enabled(void)
{
	char c = 'N';
	int fd = open("/sys/module/fuse/parameters/enable_uring",
		      O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 'N';
	close(fd);
	return c == 'Y' || c == 'y' || c == '1';
}

/* The kernel's number of queues: num_possible_cpus(), the CPUs in
 * /sys/devices/system/cpu/possible ("0-3" or "0,2-5"). */
static unsigned
possible_cpus(void)
{
	char buf[256];
	unsigned n = 0;
	ssize_t len;
	int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	for (char *p = buf; *p != '\0' && *p != '\n';) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p)
			return 0;
		if (*end == '-') {
			p = end + 1;
			hi = strtoul(p, &end, 10);
			if (end == p || hi < lo)
				return 0;
		}
		n += (unsigned)(hi - lo + 1);
		p = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* Make T's ring and buffers, in T's own thread (a single-issuer ring
 * belongs to the thread that made it).  Return 0 or a negative errno. */
static int
thread_make(struct ring_thread *t)
{
	struct io_uring_params p;
	size_t maplen = PREFIX + t->u->payload_len;
	int rc;

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128 | IORING_SETUP_SINGLE_ISSUER |
		  IORING_SETUP_DEFER_TASKRUN;
	rc = io_uring_queue_init_params(RING_DEPTH, &t->ring, &p);
	if (rc == -EINVAL) {	/* a kernel without the last two */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128;
		rc = io_uring_queue_init_params(RING_DEPTH, &t->ring, &p);
	}
	if (rc < 0)
		return rc;
	t->ring_ok = true;
	/* Anonymous pages: no memory until used, and zero to valgrind. */
	t->map = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->map == MAP_FAILED) {
		t->map = NULL;
		return -ENOMEM;
	}
	t->payload = t->map + PREFIX;
	memset(&t->hdr, 0, sizeof(t->hdr));
	t->iov[0].iov_base = &t->hdr;
	t->iov[0].iov_len = sizeof(t->hdr);
	t->iov[1].iov_base = t->payload;
	t->iov[1].iov_len = t->u->payload_len;
	/* Test hook: a payload shorter than the kernel's requests, which
	 * it refuses (and goes back to /dev/fuse). */
	if (getenv("CKPTFS_TEST_URING_SHORT") != NULL)
		t->iov[1].iov_len /= 2;
	return 0;
}

/* Queue a command of OP for T's entry (COMMIT_ID: the request answered). */
static int
prep_cmd(struct ring_thread *t, uint32_t op, uint64_t commit_id)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
	struct ring_cmd *cmd;

	if (sqe == NULL)
		return -EBUSY;	/* cannot happen: one entry, RING_DEPTH */
	memset(sqe, 0, 2 * sizeof(*sqe));	/* a 128-byte SQE */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = t->u->fd;
	sqe->cmd_op = op;
	if (op == RING_CMD_REGISTER) {
		sqe->addr = (uint64_t)(uintptr_t)t->iov;
		sqe->len = 2;
	}
	cmd = (struct ring_cmd *)(void *)sqe->cmd;
	cmd->commit_id = commit_id;
	cmd->qid = (uint16_t)t->qid;
	io_uring_sqe_set_data(sqe, t);
	return 0;
}

/* --- serving -------------------------------------------------------------- */

/* Answer T's request with error ERR (no reply came from libfuse). */
static void
reply_error(struct ring_thread *t, int err)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh), .error = -err, .unique = t->unique,
	};

	memcpy(t->hdr.in_out, &oh, sizeof(oh));
	t->hdr.ent.payload_sz = 0;
}

/* Serve the request the kernel put in T's entry. */
static void
serve(struct ring_thread *t)
{
	struct fuse_in_header in;
	uint32_t psz = t->hdr.ent.payload_sz;
	size_t oplen;
	char *start;
	struct fuse_buf buf = { 0 };

	memcpy(&in, t->hdr.in_out, sizeof(in));
	t->unique = in.unique;
	t->replied = false;
	if (in.len < sizeof(in) + (size_t)psz || psz > t->u->payload_len ||
	    in.len - sizeof(in) - psz > RING_OP_SZ) {
		reply_error(t, EIO);	/* not laid out as we know it */
		return;
	}
	oplen = in.len - sizeof(in) - psz;
	start = t->payload - oplen - sizeof(in);
	memcpy(start, &in, sizeof(in));
	memcpy(start + sizeof(in), t->hdr.op_in, oplen);
	buf.mem = start;
	buf.size = in.len;
	serving_ent = t;
	fuse_session_process_buf(t->u->se, &buf);
	serving_ent = NULL;
	if (!t->replied)
		reply_error(t, EIO);
}

/* Put the reply IOV (COUNT parts, the fuse_out_header first) into T's
 * entry.  Return its length, as writev(2) would, or -1 with errno. */
static ssize_t
ring_reply(struct ring_thread *t, const struct iovec *iov, int count)
{
	size_t body = 0, at = 0;

	if (count < 1 || iov[0].iov_len != sizeof(struct fuse_out_header)) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 1; i < count; i++)
		body += iov[i].iov_len;
	if (body > t->u->payload_len) {
		errno = EINVAL;
		return -1;
	}
	memcpy(t->hdr.in_out, iov[0].iov_base, sizeof(struct fuse_out_header));
	for (int i = 1; i < count; i++) {
		/* a reply made in place (ckptfs_uring_reply_buf()) */
		if (iov[i].iov_base != t->payload + at)
			memcpy(t->payload + at, iov[i].iov_base,
			       iov[i].iov_len);
		at += iov[i].iov_len;
	}
	t->hdr.ent.payload_sz = (uint32_t)body;
	t->replied = true;
	return (ssize_t)(sizeof(struct fuse_out_header) + body);
}

static void
set_phase(struct ckptfs_uring *u, enum phase ph)
{
	pthread_mutex_lock(&u->mu);
	u->phase = ph;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

/* A queue thread: make the ring, wait for INIT, register, serve until
 * the entry is torn down (unmount) or the stop eventfd is written. */
static void *
thread_main(void *arg)
{
	struct ring_thread *t = arg;
	struct ckptfs_uring *u = t->u;
	char name[16];
	cpu_set_t cpus;
	bool done = false, registered = false;
	int rc;

	snprintf(name, sizeof(name), "ckptfs-ring%u", t->qid);
	pthread_setname_np(pthread_self(), name);
	/* On the queue's CPU; where that fails (a CPU offline), anywhere:
	 * slower, not wrong. */
	CPU_ZERO(&cpus);
	if (t->qid < CPU_SETSIZE) {
		CPU_SET(t->qid, &cpus);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(cpus),
					     &cpus);
	}
	rc = thread_make(t);
	pthread_mutex_lock(&u->mu);
	u->made++;
	if (rc < 0)
		u->failed++;
	pthread_cond_broadcast(&u->cv);
	while (u->phase == PH_WAIT)
		pthread_cond_wait(&u->cv, &u->mu);
	done = u->phase != PH_GO || rc < 0;
	pthread_mutex_unlock(&u->mu);

	if (!done) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);

		io_uring_prep_poll_add(sqe, u->stop_fd, POLLIN);
		io_uring_sqe_set_data64(sqe, STOP_TAG);
		rc = prep_cmd(t, RING_CMD_REGISTER, 0);
		done = rc < 0;
	}
	while (!done) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		rc = io_uring_submit_and_wait(&t->ring, 1);
		if (rc == -EAGAIN || rc == -ENOMEM || rc == -EBUSY) {
			usleep(1000);	/* short of memory: again */
			continue;
		}
		if (rc < 0 && rc != -EINTR) {
			ckptfs_log(u->fs, LOG_WARNING,
				   "warning: io_uring queue %u: %s; its "
				   "requests go to the other threads",
				   t->qid, strerror(-rc));
			break;
		}
		io_uring_for_each_cqe(&t->ring, head, cqe)
		{
			seen++;
			if (cqe->user_data == STOP_TAG) {
				done = true;
				continue;
			}
			if (cqe->res < 0) {
				/* Torn down (unmounted), or refused: then
				 * the kernel went back to /dev/fuse by
				 * itself. */
				if (!registered && cqe->res != -ENOTCONN &&
				    cqe->res != -ECANCELED &&
				    !atomic_exchange(&u->refused, true))
					ckptfs_log(u->fs, LOG_WARNING,
						   "warning: the kernel "
						   "refused io_uring (%s); "
						   "serving through /dev/fuse",
						   strerror(-cqe->res));
				done = true;
				continue;
			}
			registered = true;
			serve(t);
			if (prep_cmd(t, RING_CMD_COMMIT_AND_FETCH, t->unique) < 0)
				done = true;
		}
		io_uring_cq_advance(&t->ring, seen);
	}
	/* Cancel the entry now: left registered, requests given to it
	 * would wait for ever. */
	if (t->ring_ok) {
		io_uring_queue_exit(&t->ring);
		t->ring_ok = false;
	}
	return NULL;
}

/* --- libfuse's custom I/O ------------------------------------------------- */

static ssize_t
read_cb(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	struct ckptfs_uring *u = the;
	const struct fuse_in_header *in = buf;

	(void)userdata;
	if (u != NULL && n >= (ssize_t)sizeof(*in) &&
	    in->opcode == FUSE_INIT &&
	    (size_t)n >= sizeof(*in) + sizeof(struct fuse_init_in)) {
		struct fuse_init_in ii;

		memcpy(&ii, (const char *)buf + sizeof(*in), sizeof(ii));
		u->offered = (ii.flags & FUSE_INIT_EXT) &&
			     (ii.flags2 & RING_INIT_FLAG2);
		atomic_store(&u->init_unique, in->unique);
	}
	return n;
}

/* The INIT reply (IOV, COUNT parts) is about to go: ask for the rings if
 * the kernel offered them, every ring was made and the payload is large
 * enough; then tell the threads. */
static ssize_t
answer_init(struct ckptfs_uring *u, int fd, struct iovec *iov, int count)
{
	struct fuse_init_out *o = NULL;
	bool ask = false;
	ssize_t n;

	atomic_store(&u->init_unique, 0);
	if (count >= 2 && iov[1].iov_len >= offsetof(struct fuse_init_out,
						     flags2) + 4) {
		size_t need, page = (size_t)sysconf(_SC_PAGESIZE);

		o = iov[1].iov_base;
		need = o->max_write > 8192 ? o->max_write : 8192;
		if ((o->flags & FUSE_MAX_PAGES) &&
		    (size_t)o->max_pages * page > need)
			need = (size_t)o->max_pages * page;
		pthread_mutex_lock(&u->mu);
		while (u->made < u->nthreads)
			pthread_cond_wait(&u->cv, &u->mu);
		ask = u->offered && u->failed == 0 &&
		      (o->flags & FUSE_INIT_EXT) && need <= u->payload_len;
		pthread_mutex_unlock(&u->mu);
	}
	if (ask)
		o->flags2 |= RING_INIT_FLAG2;
	n = writev(fd, iov, count);
	set_phase(u, ask && n >= 0 ? PH_GO : PH_OFF);
	if (!ask && u->offered)
		ckptfs_log(u->fs, LOG_WARNING,
			   "warning: io_uring offered but not taken (%s); "
			   "serving through /dev/fuse",
			   u->failed ? "a queue's ring could not be made"
				     : "the request size is too large");
	return n;
}

static ssize_t
writev_cb(int fd, struct iovec *iov, int count, void *userdata)
{
	struct ckptfs_uring *u = the;
	struct ring_thread *t = serving_ent;
	const struct fuse_out_header *oh = iov[0].iov_base;

	(void)userdata;
	if (t != NULL && oh->unique == t->unique && !t->replied)
		return ring_reply(t, iov, count);
	if (u != NULL && oh->unique != 0 &&
	    oh->unique == atomic_load(&u->init_unique))
		return answer_init(u, fd, iov, count);
	return writev(fd, iov, count);
}

static ssize_t
splice_receive_cb(int fdin, off_t *offin, int fdout, off_t *offout,
		  size_t len, unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

/* A reply libfuse made in a pipe (the out header, then data spliced from
 * a file).  On a queue thread it goes into the entry: read out of the
 * pipe into the payload. */
static ssize_t
splice_send_cb(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
	       unsigned int flags, void *userdata)
{
	struct ring_thread *t = serving_ent;
	struct fuse_out_header oh;
	size_t body, got = 0;

	(void)userdata;
	if (t == NULL || t->replied)
		return splice(fdin, offin, fdout, offout, len, flags);
	if (len < sizeof(oh) || len - sizeof(oh) > t->u->payload_len ||
	    read(fdin, &oh, sizeof(oh)) != (ssize_t)sizeof(oh)) {
		errno = EIO;
		return -1;
	}
	body = len - sizeof(oh);
	while (got < body) {
		ssize_t n = read(fdin, t->payload + got, body - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = EIO;
			return -1;
		}
		got += (size_t)n;
	}
	if (oh.unique != t->unique) {	/* not this entry's: send it on */
		struct iovec v[2] = { { &oh, sizeof(oh) },
				      { t->payload, body } };

		return writev(fdout, v, 2);
	}
	memcpy(t->hdr.in_out, &oh, sizeof(oh));
	t->hdr.ent.payload_sz = (uint32_t)body;
	t->replied = true;
	return (ssize_t)len;
}

void *
ckptfs_uring_reply_buf(size_t len)
{
	struct ring_thread *t = serving_ent;

	if (t == NULL || t->replied || len > t->u->payload_len)
		return NULL;
	return t->payload;
}

/* --- start and stop ------------------------------------------------------- */

int
ckptfs_uring_start(struct fuse_session *se, struct ckptfs *fs)
{
	static const struct fuse_custom_io io = {
		.read = read_cb,
		.writev = writev_cb,
		.splice_receive = splice_receive_cb,
		.splice_send = splice_send_cb,
	};
	struct ckptfs_uring *u;
	unsigned nq;
	int rc;

	if (the != NULL)
		return -EBUSY;
	if (!module_enabled())
		return 0;
	nq = possible_cpus();
	if (nq == 0 || nq > UINT16_MAX)
		return -ENOTSUP;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	u->se = se;
	u->fs = fs;
	u->fd = fuse_session_fd(se);
	u->nq = nq;
	u->nthreads = nq * QUEUE_THREADS;
	/* libfuse asks for writes of 256 pages (FUSE_MAX_MAX_PAGES) and
	 * as many pages per request; a larger need is seen at INIT, and
	 * the rings are not asked for. */
	u->payload_len = 256 * (size_t)sysconf(_SC_PAGESIZE);
	u->stop_fd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	u->th = calloc(u->nthreads, sizeof(*u->th));
	if (u->stop_fd < 0 || u->th == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = fuse_session_custom_io(se, &io, u->fd);
	if (rc < 0)
		goto fail;
	the = u;
	for (unsigned i = 0; i < u->nthreads; i++) {
		struct ring_thread *t = &u->th[i];

		t->u = u;
		t->qid = i % nq;
		rc = -pthread_create(&t->tid, NULL, thread_main, t);
		if (rc < 0) {
			/* the rings are not asked for; the threads made so
			 * far stop at INIT */
			pthread_mutex_lock(&u->mu);
			u->failed += u->nthreads - i;
			u->made += u->nthreads - i;
			pthread_mutex_unlock(&u->mu);
			return rc;
		}
		t->started = true;
	}
	return 1;
fail:
	if (u->stop_fd >= 0)
		close(u->stop_fd);
	free(u->th);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	free(u);
	return rc;
}

void
ckptfs_uring_stop(void)
{
	struct ckptfs_uring *u = the;
	uint64_t one = 1;

	if (u == NULL)
		return;
	/* Threads still waiting for INIT stop there; serving ones see the
	 * eventfd (after an unmount their entries are torn down anyway). */
	set_phase(u, PH_OFF);
	if (write(u->stop_fd, &one, sizeof(one)) != sizeof(one))
		ckptfs_log(u->fs, LOG_WARNING,
			   "warning: io_uring threads not stopped: %s",
			   strerror(errno));
	for (unsigned i = 0; i < u->nthreads; i++) {
		struct ring_thread *t = &u->th[i];

		if (!t->started)
			continue;
		pthread_join(t->tid, NULL);
		if (t->ring_ok)
			io_uring_queue_exit(&t->ring);
		if (t->map != NULL)
			munmap(t->map, PREFIX + u->payload_len);
	}
	close(u->stop_fd);
	free(u->th);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	free(u);
	the = NULL;
}
