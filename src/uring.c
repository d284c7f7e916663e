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
 * THREAD_ENTRIES entries.  A request that may take long (the check of a
 * large tensor, or the wait for another request's) must not hold a queue
 * thread: its handler asks for a worker (ckptfs_uring_defer()), its reply
 * is dropped, and a worker thread runs the same request again, from the
 * same bytes, into the same entry; the queue thread commits it when the
 * worker says it is answered (an eventfd per queue thread).  Meanwhile
 * the queue thread serves its other entries. */
#include "config.h"
#include "uring.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
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
#define THREAD_ENTRIES 4
#define RING_DEPTH 8	/* the entries' commands, the stop poll, the wake */
#define MAX_WORKERS 8
/* Room in front of a payload for the header and the operation's part. */
#define PREFIX 4096
/* user_data of the poll on the stop eventfd and of the read of the wake
 * eventfd (entries use their address). */
#define STOP_TAG 1
#define WAKE_TAG 2

enum phase {
	PH_WAIT,	/* rings made; INIT not answered yet */
	PH_GO,		/* INIT asked for the rings: register */
	PH_OFF,		/* not used: stop */
};

enum ent_state {
	ENT_KERNEL,	/* registered or committed: the kernel's */
	ENT_OURS,	/* holding a request: being served, or a worker's */
	ENT_ANSWERED,	/* a worker answered it: to be committed */
};

struct ring_thread;

/* One ring entry: the buffers the kernel puts a request in and takes the
 * reply from. */
struct ring_ent {
	struct ring_thread *t;
	struct ring_header hdr;
	char *map;		/* PREFIX + payload_len bytes, mmap()ed */
	char *payload;		/* MAP + PREFIX */
	struct iovec iov[2];
	uint64_t unique;	/* of the request being served */
	struct fuse_buf req;	/* the request made whole, in MAP */
	bool replied;
	/* The handler asked for a worker: the reply is dropped. */
	bool defer;
	_Atomic int state;	/* enum ent_state */
	/* Requests answered and handed back (ckptfs_uring_quiesce()). */
	atomic_ulong handed;
	struct ring_ent *next;	/* in the workers' queue */
};

struct ring_thread {
	struct ckptfs_uring *u;
	pthread_t tid;
	bool started;
	unsigned qid;
	struct io_uring ring;
	bool ring_ok;
	int wake_fd;		/* eventfd: a worker answered an entry */
	uint64_t wake_buf;
	struct ring_ent ent[THREAD_ENTRIES];
};

struct ckptfs_uring {
	struct fuse_session *se;
	struct ckptfs *fs;
	int fd;			/* /dev/fuse */
	int stop_fd;		/* eventfd: written once, to stop */
	size_t payload_len;
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
	/* Unmounting: new requests are refused (ckptfs_uring_close()). */
	atomic_bool closing;
	/* Workers: deferred entries queued from HEAD; up to MAX_WORKERS
	 * threads, made when a job finds none idle. */
	pthread_mutex_t wmu;
	pthread_cond_t wcv;
	struct ring_ent *whead, *wtail;
	pthread_t workers[MAX_WORKERS];
	unsigned nworkers, widle;
	bool wstop;
};

/* One mount per process: libfuse's custom I/O passes the session's user
 * data (the struct ckptfs), not ours. */
static struct ckptfs_uring *the;
/* The entry the calling thread is serving, if any, and whether the
 * thread is a worker (which never defers). */
static _Thread_local struct ring_ent *serving_ent;
static _Thread_local bool in_worker;

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

/* Make T's ring, wake eventfd and entries' buffers, in T's own thread (a
 * single-issuer ring belongs to the thread that made it).  Return 0 or a
 * negative errno. */
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
	t->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (t->wake_fd < 0)
		return -errno;
	for (int i = 0; i < THREAD_ENTRIES; i++) {
		struct ring_ent *e = &t->ent[i];

		e->t = t;
		/* Anonymous pages: no memory until used, zero to valgrind. */
		e->map = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (e->map == MAP_FAILED) {
			e->map = NULL;
			return -ENOMEM;
		}
		e->payload = e->map + PREFIX;
		e->iov[0].iov_base = &e->hdr;
		e->iov[0].iov_len = sizeof(e->hdr);
		e->iov[1].iov_base = e->payload;
		e->iov[1].iov_len = t->u->payload_len;
		/* Test hook: a payload shorter than the kernel's requests,
		 * which it refuses (and goes back to /dev/fuse). */
		if (getenv("CKPTFS_TEST_URING_SHORT") != NULL)
			e->iov[1].iov_len /= 2;
	}
	return 0;
}

/* Queue a command of OP for entry E (COMMIT_ID: the request answered). */
static int
prep_cmd(struct ring_ent *e, uint32_t op, uint64_t commit_id)
{
	struct ring_thread *t = e->t;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);
	struct ring_cmd *cmd;

	if (sqe == NULL)
		return -EBUSY;	/* cannot happen: RING_DEPTH */
	memset(sqe, 0, 2 * sizeof(*sqe));	/* a 128-byte SQE */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = t->u->fd;
	sqe->cmd_op = op;
	if (op == RING_CMD_REGISTER) {
		sqe->addr = (uint64_t)(uintptr_t)e->iov;
		sqe->len = 2;
	}
	cmd = (struct ring_cmd *)(void *)sqe->cmd;
	cmd->commit_id = commit_id;
	cmd->qid = (uint16_t)t->qid;
	io_uring_sqe_set_data(sqe, e);
	if (op == RING_CMD_COMMIT_AND_FETCH)
		atomic_fetch_add(&e->handed, 1);
	atomic_store(&e->state, ENT_KERNEL);
	return 0;
}

/* Queue the read of T's wake eventfd. */
static int
prep_wake(struct ring_thread *t)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&t->ring);

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_read(sqe, t->wake_fd, &t->wake_buf,
			   sizeof(t->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, WAKE_TAG);
	return 0;
}

/* --- serving -------------------------------------------------------------- */

/* Answer E's request with error ERR (no reply came from libfuse). */
static void
reply_error(struct ring_ent *e, int err)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh), .error = -err, .unique = e->unique,
	};

	memcpy(e->hdr.in_out, &oh, sizeof(oh));
	e->hdr.ent.payload_sz = 0;
	e->replied = true;
}

/* Give the request in E to libfuse (on a queue thread or a worker); EIO
 * if no reply came. */
static void
process(struct ring_ent *e)
{
	e->replied = false;
	e->defer = false;
	serving_ent = e;
	fuse_session_process_buf(e->t->u->se, &e->req);
	serving_ent = NULL;
	if (!e->replied)
		reply_error(e, EIO);
}

/* A worker: run deferred requests again until told to stop. */
static void *
worker_main(void *arg)
{
	struct ckptfs_uring *u = arg;
	uint64_t one = 1;

	pthread_setname_np(pthread_self(), "ckptfs-ringw");
	in_worker = true;
	pthread_mutex_lock(&u->wmu);
	for (;;) {
		struct ring_ent *e;

		while (u->whead == NULL && !u->wstop) {
			u->widle++;
			pthread_cond_wait(&u->wcv, &u->wmu);
			u->widle--;
		}
		if (u->wstop)
			break;
		e = u->whead;
		u->whead = e->next;
		if (u->whead == NULL)
			u->wtail = NULL;
		pthread_mutex_unlock(&u->wmu);
		process(e);
		atomic_store(&e->state, ENT_ANSWERED);
		if (write(e->t->wake_fd, &one, sizeof(one)) != sizeof(one))
			abort();	/* an eventfd of ours: cannot fail */
		pthread_mutex_lock(&u->wmu);
	}
	pthread_mutex_unlock(&u->wmu);
	return NULL;
}

/* Queue E for a worker, making one if none is idle.  Return false if
 * there is none and none can be made. */
static bool
defer_ent(struct ring_ent *e)
{
	struct ckptfs_uring *u = e->t->u;
	bool ok = true;

	pthread_mutex_lock(&u->wmu);
	if (u->widle == 0 && u->nworkers < MAX_WORKERS &&
	    pthread_create(&u->workers[u->nworkers], NULL, worker_main, u) ==
		    0)
		u->nworkers++;
	if (u->nworkers == 0) {
		ok = false;
	} else {
		e->next = NULL;
		if (u->wtail != NULL)
			u->wtail->next = e;
		else
			u->whead = e;
		u->wtail = e;
		pthread_cond_signal(&u->wcv);
	}
	pthread_mutex_unlock(&u->wmu);
	return ok;
}

/* Serve the request the kernel put in E.  Return true if it is answered
 * (to be committed), false if a worker has it. */
static bool
serve(struct ring_ent *e)
{
	struct fuse_in_header in;
	uint32_t psz = e->hdr.ent.payload_sz;
	size_t oplen;
	char *start;

	atomic_store(&e->state, ENT_OURS);
	memcpy(&in, e->hdr.in_out, sizeof(in));
	e->unique = in.unique;
	if (atomic_load(&e->t->u->closing)) {
		/* as the unmount will answer it: never done, so no writer is
		 * told of a failure that happened anyway */
		reply_error(e, ECONNABORTED);
		return true;
	}
	if (in.len < sizeof(in) + (size_t)psz || psz > e->t->u->payload_len ||
	    in.len - sizeof(in) - psz > RING_OP_SZ) {
		reply_error(e, EIO);	/* not laid out as we know it */
		return true;
	}
	oplen = in.len - sizeof(in) - psz;
	start = e->payload - oplen - sizeof(in);
	memcpy(start, &in, sizeof(in));
	memcpy(start + sizeof(in), e->hdr.op_in, oplen);
	memset(&e->req, 0, sizeof(e->req));
	e->req.mem = start;
	e->req.size = in.len;
	process(e);
	if (e->defer) {
		if (defer_ent(e))
			return false;
		in_worker = true;	/* no worker: here, then */
		process(e);
		in_worker = false;
	}
	return true;
}

/* Put the reply IOV (COUNT parts, the fuse_out_header first) into E.
 * Return its length, as writev(2) would, or -1 with errno. */
static ssize_t
ring_reply(struct ring_ent *e, const struct iovec *iov, int count)
{
	size_t body = 0, at = 0;

	if (count < 1 || iov[0].iov_len != sizeof(struct fuse_out_header)) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 1; i < count; i++)
		body += iov[i].iov_len;
	if (e->defer) {		/* the handler's stand-in answer: dropped */
		e->replied = true;
		return (ssize_t)(sizeof(struct fuse_out_header) + body);
	}
	if (body > e->t->u->payload_len) {
		errno = EINVAL;
		return -1;
	}
	memcpy(e->hdr.in_out, iov[0].iov_base, sizeof(struct fuse_out_header));
	for (int i = 1; i < count; i++) {
		/* a reply made in place (ckptfs_uring_reply_buf()) */
		if (iov[i].iov_base != e->payload + at)
			memcpy(e->payload + at, iov[i].iov_base,
			       iov[i].iov_len);
		at += iov[i].iov_len;
	}
	e->hdr.ent.payload_sz = (uint32_t)body;
	e->replied = true;
	return (ssize_t)(sizeof(struct fuse_out_header) + body);
}

bool
ckptfs_uring_defer(void)
{
	struct ring_ent *e = serving_ent;

	if (e == NULL || in_worker)
		return false;
	e->defer = true;
	return true;
}

static void
set_phase(struct ckptfs_uring *u, enum phase ph)
{
	pthread_mutex_lock(&u->mu);
	u->phase = ph;
	pthread_cond_broadcast(&u->cv);
	pthread_mutex_unlock(&u->mu);
}

/* Commit T's entries the workers answered. */
static void
commit_answered(struct ring_thread *t)
{
	for (int i = 0; i < THREAD_ENTRIES; i++) {
		struct ring_ent *e = &t->ent[i];

		if (atomic_load(&e->state) == ENT_ANSWERED)
			(void)prep_cmd(e, RING_CMD_COMMIT_AND_FETCH,
				       e->unique);
	}
}

/* A queue thread: make the ring, wait for INIT, register, serve until
 * the entries are torn down (unmount) or the stop eventfd is written. */
static void *
thread_main(void *arg)
{
	struct ring_thread *t = arg;
	struct ckptfs_uring *u = t->u;
	/* Test hook: the wait fails after that many, once registered. */
	const char *tf = getenv("CKPTFS_TEST_URING_FAIL");
	long fail_after = tf != NULL ? atol(tf) : -1;
	char name[16];
	cpu_set_t cpus;
	/* LOST: registered, then stopped serving other than by a teardown */
	bool done = false, registered = false, lost = false;
	int rc, live = 0, why = 0;

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
		done = prep_wake(t) < 0;
		for (int i = 0; i < THREAD_ENTRIES && !done; i++) {
			done = prep_cmd(&t->ent[i], RING_CMD_REGISTER, 0) < 0;
			live++;
		}
	}
	while (!done) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		rc = io_uring_submit_and_wait(&t->ring, 1);
		if (registered && rc >= 0 && fail_after >= 0 &&
		    fail_after-- == 0)
			rc = -EIO;
		if (rc == -EAGAIN || rc == -ENOMEM || rc == -EBUSY) {
			usleep(1000);	/* short of memory: again */
			continue;
		}
		if (rc < 0 && rc != -EINTR) {
			if (!registered)	/* the other threads serve */
				ckptfs_log(u->fs, LOG_WARNING,
					   "warning: io_uring queue %u: %s",
					   t->qid, strerror(-rc));
			lost = registered;
			why = -rc;
			break;
		}
		io_uring_for_each_cqe(&t->ring, head, cqe)
		{
			struct ring_ent *e;

			seen++;
			if (cqe->user_data == STOP_TAG) {
				done = true;
				continue;
			}
			if (cqe->user_data == WAKE_TAG) {
				commit_answered(t);
				if (prep_wake(t) < 0)
					done = true;
				goto submit;
			}
			e = io_uring_cqe_get_data(cqe);
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
				/* (the last entry lost otherwise than to a
				 * teardown: the queue stopped serving) */
				if (--live == 0) {
					done = true;
					lost = registered &&
					       cqe->res != -ENOTCONN &&
					       cqe->res != -ECANCELED;
					why = -cqe->res;
				}
				continue;
			}
			registered = true;
			if (serve(e) &&
			    prep_cmd(e, RING_CMD_COMMIT_AND_FETCH, e->unique) < 0)
				done = true;
		submit:
			/* Answers go at once when more requests wait in
			 * this batch (else with the next wait). */
			if (io_uring_cq_ready(&t->ring) > seen)
				(void)io_uring_submit(&t->ring);
		}
		io_uring_cq_advance(&t->ring, seen);
	}
	/* Answers of this batch still go; then the entries are cancelled:
	 * left registered, requests given to them would wait for ever. */
	if (t->ring_ok) {
		(void)io_uring_submit(&t->ring);
		io_uring_queue_exit(&t->ring);
		t->ring_ok = false;
	}
	/* Once the kernel serves through the rings it never goes back to
	 * /dev/fuse: the requests made on this queue's CPU would wait for
	 * ever (for its other thread too, one day).  The mount ends as on
	 * SIGTERM (the changes are written out), and that unmount fails
	 * what waits. */
	if (lost && !atomic_load(&u->closing)) {
		/* (EOPNOTSUPP: kernels that check enable_uring at every
		 * command refuse all of them once it is turned off) */
		ckptfs_log(u->fs, LOG_ERR,
			   "error: io_uring queue %u stopped serving (%s%s); "
			   "unmounting, as requests made on its CPU would "
			   "wait for ever",
			   t->qid, strerror(why),
			   why == EOPNOTSUPP
				   ? ": the fuse module's enable_uring was "
				     "turned off?"
				   : "");
		(void)kill(getpid(), SIGTERM);
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
	struct ring_ent *e = serving_ent;
	const struct fuse_out_header *oh = iov[0].iov_base;

	(void)userdata;
	if (e != NULL && oh->unique == e->unique && !e->replied)
		return ring_reply(e, iov, count);
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

/* Read LEN bytes of pipe FD into BUF (NULL: thrown away).  Return 0 or
 * -1 with errno. */
static int
read_pipe(int fd, char *buf, size_t len)
{
	char sink[4096];

	while (len > 0) {
		size_t want = buf != NULL ? len
			      : len < sizeof(sink) ? len : sizeof(sink);
		ssize_t n = read(fd, buf != NULL ? buf : sink, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			errno = EIO;
			return -1;
		}
		len -= (size_t)n;
		if (buf != NULL)
			buf += n;
	}
	return 0;
}

/* A reply libfuse made in a pipe (the out header, then data spliced from
 * a file).  For the entry being served it goes into the entry: read out
 * of the pipe into the payload. */
static ssize_t
splice_send_cb(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
	       unsigned int flags, void *userdata)
{
	struct ring_ent *e = serving_ent;
	struct fuse_out_header oh;
	struct iovec v[2];
	size_t body;

	(void)userdata;
	if (e == NULL || e->replied)
		return splice(fdin, offin, fdout, offout, len, flags);
	if (len < sizeof(oh) ||
	    read(fdin, &oh, sizeof(oh)) != (ssize_t)sizeof(oh)) {
		errno = EIO;
		return -1;
	}
	body = len - sizeof(oh);
	if (oh.unique != e->unique) {	/* not this entry's: send it on */
		char *tmp = malloc(body ? body : 1);
		ssize_t n = -1;

		v[0] = (struct iovec){ &oh, sizeof(oh) };
		v[1] = (struct iovec){ tmp, body };

		if (tmp != NULL && read_pipe(fdin, tmp, body) == 0)
			n = writev(fdout, v, 2);
		free(tmp);
		return n;
	}
	if (e->defer || body > e->t->u->payload_len) {
		/* a stand-in answer, or one too large: dropped */
		if (read_pipe(fdin, NULL, body) < 0)
			return -1;
		if (!e->defer)
			reply_error(e, EIO);
		e->replied = true;
		return (ssize_t)len;
	}
	if (read_pipe(fdin, e->payload, body) < 0)
		return -1;
	/* in place, as ckptfs_uring_reply_buf() makes it */
	v[0] = (struct iovec){ &oh, sizeof(oh) };
	v[1] = (struct iovec){ e->payload, body };
	return ring_reply(e, v, 2);
}

void *
ckptfs_uring_reply_buf(size_t len)
{
	struct ring_ent *e = serving_ent;

	if (e == NULL || e->replied || e->defer ||
	    len > e->t->u->payload_len)
		return NULL;
	return e->payload;
}

void
ckptfs_uring_quiesce(unsigned quiet_ms)
{
	struct ckptfs_uring *u = the;
	unsigned long *seen;
	size_t n, held = 0, left, was = 0;
	unsigned quiet = 0;

	if (u == NULL)
		return;
	n = (size_t)u->nthreads * THREAD_ENTRIES;
	seen = calloc(n, sizeof(*seen));
	if (seen == NULL)
		return;
	/* The requests held now.  The count is read before the state (a
	 * commit counts, then hands the entry back): a request handed back
	 * in between counts as answered. */
	for (size_t i = 0; i < n; i++) {
		struct ring_ent *e = &u->th[i / THREAD_ENTRIES]
					      .ent[i % THREAD_ENTRIES];
		unsigned long h = atomic_load(&e->handed);

		if (atomic_load(&e->state) != ENT_KERNEL) {
			seen[i] = h + 1;
			held++;
		}
	}
	for (left = held; left > 0 && quiet < quiet_ms / 10; quiet++) {
		left = 0;
		for (size_t i = 0; i < n; i++) {
			struct ring_ent *e = &u->th[i / THREAD_ENTRIES]
						      .ent[i % THREAD_ENTRIES];

			if (seen[i] != 0 && atomic_load(&e->handed) < seen[i])
				left++;
		}
		if (left != was)
			quiet = 0;	/* progress */
		was = left;
		if (left > 0)
			usleep(10000);
	}
	if (left > 0)
		ckptfs_log(u->fs, LOG_WARNING,
			   "warning: %zu request%s still being served after "
			   "%u s without progress; unmounting",
			   left, left == 1 ? "" : "s", quiet_ms / 1000);
	free(seen);
}

void
ckptfs_uring_close(unsigned quiet_ms)
{
	if (the == NULL)
		return;
	atomic_store(&the->closing, true);
	ckptfs_uring_quiesce(quiet_ms);
}

/* --- start and stop ------------------------------------------------------- */

/* Free U itself (its threads joined, their rings and buffers gone). */
static void
uring_free(struct ckptfs_uring *u)
{
	if (u->stop_fd >= 0)
		close(u->stop_fd);
	free(u->th);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cv);
	pthread_mutex_destroy(&u->wmu);
	pthread_cond_destroy(&u->wcv);
	free(u);
}

unsigned
ckptfs_uring_files(void)
{
	unsigned nq = module_enabled() ? possible_cpus() : 0;

	return nq == 0 || nq > UINT16_MAX ? 0 : 2 * QUEUE_THREADS * nq + 1;
}

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
	sigset_t old_sigs;
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
	u->nthreads = nq * QUEUE_THREADS;
	/* libfuse asks for writes of 256 pages (FUSE_MAX_MAX_PAGES) and
	 * as many pages per request; a larger need is seen at INIT, and
	 * the rings are not asked for. */
	u->payload_len = 256 * (size_t)sysconf(_SC_PAGESIZE);
	u->stop_fd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&u->mu, NULL);
	pthread_cond_init(&u->cv, NULL);
	pthread_mutex_init(&u->wmu, NULL);
	pthread_cond_init(&u->wcv, NULL);
	u->th = calloc(u->nthreads, sizeof(*u->th));
	if (u->stop_fd < 0 || u->th == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < u->nthreads; i++)
		u->th[i].wake_fd = -1;	/* (not made yet) */
	rc = fuse_session_custom_io(se, &io, u->fd);
	if (rc < 0)
		goto fail;
	the = u;
	/* The threads (and the workers they make) leave the signals that
	 * end the session to libfuse's loop. */
	ckptfs_block_stop_signals(&old_sigs);
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
			break;
		}
		t->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old_sigs, NULL);
	return rc < 0 ? rc : 1;
fail:
	uring_free(u);
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
		if (u->th[i].started)
			pthread_join(u->th[i].tid, NULL);
	}
	/* Workers finish the request they run (it writes into its entry),
	 * and take no other. */
	pthread_mutex_lock(&u->wmu);
	u->wstop = true;
	pthread_cond_broadcast(&u->wcv);
	pthread_mutex_unlock(&u->wmu);
	for (unsigned i = 0; i < u->nworkers; i++)
		pthread_join(u->workers[i], NULL);
	for (unsigned i = 0; i < u->nthreads; i++) {
		struct ring_thread *t = &u->th[i];

		if (t->ring_ok)
			io_uring_queue_exit(&t->ring);
		if (t->wake_fd >= 0)
			close(t->wake_fd);
		for (int k = 0; k < THREAD_ENTRIES; k++) {
			if (t->ent[k].map != NULL)
				munmap(t->ent[k].map,
				       PREFIX + u->payload_len);
		}
	}
	uring_free(u);
	the = NULL;
}
