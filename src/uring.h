/* uring.h -- FUSE over io_uring under libfuse 3.14.
 *
 * Since Linux 6.14 the kernel can hand FUSE requests to the daemon
 * through io_uring instead of read(2) and write(2) on /dev/fuse, when the
 * fuse module's enable_uring parameter is set.  There is one queue per
 * CPU, and a request goes to the queue of the CPU that made it: served by
 * a thread kept on that CPU, a round trip needs no wake-up of another
 * CPU, which is most of what a FUSE request costs on a small machine.
 *
 * libfuse gained this transport in 3.18; Debian 12 has 3.14.  This one
 * sits under libfuse through fuse_session_custom_io(): a request taken
 * off a ring is laid out as /dev/fuse would give it and handed to
 * fuse_session_process_buf(), and the reply libfuse writes is put back
 * into the ring entry it answers.  What the kernel still sends through
 * /dev/fuse (INIT, FORGET, INTERRUPT) and the notifications the daemon
 * sends go the old way, through the same custom I/O.  The rings are
 * asked for in the INIT reply only once every queue's ring exists, so a
 * failure to make one leaves the mount on /dev/fuse; a refusal by the
 * kernel afterwards does too (the kernel falls back by itself). */
#ifndef CKPTFS_URING_H
#define CKPTFS_URING_H

#include <stdbool.h>
#include <stddef.h>

#include "fuse_ops.h"

/* Set up the transport for SE, mounted and not yet looping (after
 * daemonizing: it starts threads): install the custom I/O and start one
 * thread per CPU, each with its ring.  Return 1 if the kernel will be
 * asked at INIT, 0 if it does not offer the transport (enable_uring not
 * set, or a kernel without it), or a negative errno (the mount goes on
 * through /dev/fuse; the caller says why). */
int ckptfs_uring_start(struct fuse_session *se, struct ckptfs *fs);

/* The file descriptors ckptfs_uring_start() would hold open for the
 * mount's life (a ring and an eventfd per thread, two threads per
 * possible CPU, and one more): 0 where the kernel does not offer the
 * transport. */
unsigned ckptfs_uring_files(void);

/* After the session loop ended on a signal, before the unmount: wait
 * until every request the queue threads and workers hold now is answered
 * and handed back to the kernel, as the loop through /dev/fuse waits for
 * its threads; a write a worker runs would otherwise be applied after
 * the unmount told its writer it failed.  Gives up, with a warning, after
 * QUIET_MS without one of them finishing. */
void ckptfs_uring_quiesce(unsigned quiet_ms);

/* Just before the unmount that follows a signal: refuse every request
 * from now on (ECONNABORTED, as the unmount answers those it finds
 * queued), then wait for the ones being served (ckptfs_uring_quiesce()).
 * Requests keep being served until then, so that a notification waiting
 * for a directory held by a process that waits for an answer can go. */
void ckptfs_uring_close(unsigned quiet_ms);

/* After SE is unmounted (or the start failed): stop the threads and free
 * everything ckptfs_uring_start() made.  Does nothing if it made
 * nothing. */
void ckptfs_uring_stop(void);

/* Called by a request handler about to do what may take long (a check
 * of a large tensor, or a wait for another request's): if this thread is
 * a queue thread serving a ring entry, the handler is to reply anything
 * at once (the reply is dropped) and return; a worker thread then runs
 * the same request again, where this returns false, and its reply is
 * the answer.  So the handler must not have changed anything before.
 * Return true if the request is to be run again. */
bool ckptfs_uring_defer(void);

/* Called by a request handler that is about to reply LEN bytes of data:
 * if this thread serves a ring entry whose payload holds LEN bytes, its
 * address, so that the data can be made there and the reply
 * (fuse_reply_buf() of that address) copies nothing; else NULL. */
void *ckptfs_uring_reply_buf(size_t len);

#endif
