/* ckptfs.c -- main(): parse the command line, open the checkpoint, build
 * the tree and replay a spool's journal before mounting (so every error
 * is reported on the terminal with exit status 1), then mount, daemonize
 * and run the multi-threaded session loop until unmounted; then, after
 * the unmount, write the new checkpoint if the tree changed (or
 * -o output was given), and report the result in the status file that
 * `ckptfs -u MOUNTPOINT` waits on (an anonymous file, opened through
 * /proc/PID/fd/N as info.json gives them; the daemon holds an exclusive
 * lock on it until it exits).
 *
 * Argument handling: our options are "-o name=value" in a fuse_opt table;
 * the first non-option argument is CHECKPOINT and the second, left for
 * fuse_parse_cmdline(), is MOUNTPOINT.  Options may come before or after
 * them, which is also the order mount.fuse3 uses for /etc/fstab entries
 * ("ckptfs CHECKPOINT MOUNTPOINT -o opts"). */
#include "config.h"
#include "fuse_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "bundle.h"
#include "bundle_writer.h"
#include "coding.h"
#include "convert.h"
#include "err.h"
#include "overlay.h"
#include "tree.h"
#include "uring.h"

extern char **environ;

struct ckptfs_config {
	char *checkpoint;	/* owned: first non-option argument */
	const char *mountpoint;	/* borrowed from argv: the second one */
	char *tf2_root;		/* owned (fuse_opt) */
	char *output;		/* owned (fuse_opt) */
	char *format;		/* owned (fuse_opt) */
	char *spool;		/* owned (fuse_opt) */
	int ro;			/* -o ro seen (and passed on) */
	int no_uring;		/* -o no_uring: only /dev/fuse */
	int verify;		/* -o verify: check unchanged tensors too */
	int salvage;		/* -o salvage: a damaged index's readable
				 * part (and verify) */
	unsigned max_read;	/* -o max_read=N seen (and passed on) */
	unsigned readahead;	/* -o readahead=KIB */
	bool readahead_set;	/* given, not the default */
	int nonopts;
	int show_help;
	int show_version;
};

enum { KEY_HELP, KEY_VERSION, KEY_RO, KEY_MAX_READ, KEY_READAHEAD };

/* The readahead asked of the kernel for the mount (KiB): 128 KiB, the
 * kernel's default for FUSE, makes every read request of a large file
 * 128 KiB.  With 512 KiB (and requests capped below a pipe of 1 MiB, see
 * ckptfs_op_init()), a first read of a 64 MiB tensor from cached shards
 * took 27-35 ms instead of 37-44 ms (reads of 128 KiB), and cat 34-37 ms
 * instead of 39-44 ms; 256 KiB and 1 MiB were within that spread. */
#define READAHEAD_KIB 512
/* Largest -o readahead=: 1 GiB. */
#define READAHEAD_MAX_KIB (1u << 20)

#define CKPTFS_OPT(t, field, v) { t, offsetof(struct ckptfs_config, field), v }

static const struct fuse_opt ckptfs_opt_spec[] = {
	CKPTFS_OPT("tf2_root=%s", tf2_root, 0),
	CKPTFS_OPT("output=%s", output, 0),
	CKPTFS_OPT("format=%s", format, 0),
	CKPTFS_OPT("spool=%s", spool, 0),
	CKPTFS_OPT("no_uring", no_uring, 1),
	CKPTFS_OPT("verify", verify, 1),
	CKPTFS_OPT("salvage", salvage, 1),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("max_read=%u", KEY_MAX_READ),
	FUSE_OPT_KEY("readahead=", KEY_READAHEAD),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

/* The decimal number after the '=' of option ARG into *OUT: 0, or -1 if
 * it is not one, or above MAX. */
static int
opt_uint(const char *arg, unsigned long max, unsigned *out)
{
	const char *v = strchr(arg, '=') + 1;
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n > max)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* Take the first non-option argument as CHECKPOINT; keep the rest for
 * libfuse. */
static int
opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct ckptfs_config *conf = data;

	(void)outargs;
	switch (key) {
	case KEY_HELP:
		conf->show_help = 1;
		return 0;
	case KEY_VERSION:
		conf->show_version = 1;
		return 0;
	case KEY_RO:
		conf->ro = 1;
		return 1;	/* the kernel makes the mount read-only */
	case KEY_MAX_READ:
		/* libfuse checks that init() asks for it too; the kernel
		 * would refuse a bad one after the checkpoint is opened,
		 * saying only "Invalid argument" */
		if (opt_uint(arg, UINT_MAX, &conf->max_read) < 0) {
			ckptfs_log(NULL, LOG_ERR, "%s: not a number of bytes",
				   arg);
			return -1;
		}
		return 1;
	case KEY_READAHEAD:
		if (opt_uint(arg, READAHEAD_MAX_KIB, &conf->readahead) < 0) {
			ckptfs_log(NULL, LOG_ERR, "%s: not a number of KiB up "
				   "to %u", arg, READAHEAD_MAX_KIB);
			return -1;
		}
		/* the kernel keeps whole pages: 1-3 KiB would be none */
		conf->readahead = (conf->readahead + 3) / 4 * 4;
		conf->readahead_set = true;
		return 0;	/* ours, not the kernel's */
	case FUSE_OPT_KEY_NONOPT:
		conf->nonopts++;
		if (conf->checkpoint == NULL) {
			conf->checkpoint = strdup(arg);
			return conf->checkpoint != NULL ? 0 : -1;
		}
		if (conf->mountpoint == NULL)
			conf->mountpoint = arg;
		return 1;
	default:
		return 1;
	}
}

/* Our part of --help; libfuse's follows. */
/* Flush standard output: EXIT_SUCCESS, or EXIT_FAILURE said (a full disk,
 * a closed pipe: --help and --version must not look printed). */
static int
stdout_done(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return EXIT_SUCCESS;
	fprintf(stderr, "ckptfs: standard output: %s\n",
		strerror(errno ? errno : EIO));
	return EXIT_FAILURE;
}

static void
usage(const char *prog)
{
	printf("usage: %s [options] CHECKPOINT MOUNTPOINT\n"
	       "       %s -u MOUNTPOINT\n\n"
	       "Mount a TensorFlow checkpoint (a prefix, its .index or a data\n"
	       "file, or a directory with a 'checkpoint' file) at MOUNTPOINT;\n"
	       "changes are written as a new checkpoint when it is unmounted.\n"
	       "-u unmounts, waits for that write and reports its result.\n\n"
	       "ckptfs options:\n"
	       "    -o tf2_root=NAME       root of /by-object for a TF1 "
	       "checkpoint\n"
	       "                           and of new TF2 keys (default: vars)\n"
	       "    -o ro                  read-only: every change is EROFS\n"
	       "    -o format=FMT          output: tf1, tf2, both, same, or "
	       "other\n"
	       "                           (default: the other format than the "
	       "source)\n"
	       "    -o output=PREFIX       where to write (default: "
	       "SOURCE.tf1/.tf2);\n"
	       "                           given, it is written even unchanged\n"
	       "    -o spool=DIR           spool and journal of changes "
	       "(default:\n"
	       "                           OUTPUT.ckptfs-spool); replayed if "
	       "present\n"
	       "    -o verify              the write-out checks the unchanged "
	       "tensors\n"
	       "                           too (reads them all), refusing "
	       "damage\n"
	       "    -o salvage             mount what can be read of a damaged "
	       "index\n"
	       "                           (implies verify)\n"
	       "    -o no_uring            requests through /dev/fuse even "
	       "where the\n"
	       "                           kernel offers io_uring\n"
	       "    -o readahead=KIB       the mount's readahead (default: %u, "
	       "raised\n"
	       "                           as root; 0: the kernel's)\n\n",
	       prog, prog, READAHEAD_KIB);
}

/* Make sure fds 0-2 are open, so no checkpoint file gets one of them and
 * is then replaced by /dev/null when daemonizing. */
static void
guard_std_fds(void)
{
	int fd;

	do {
		fd = open("/dev/null", O_RDWR);
	} while (fd >= 0 && fd <= 2);
	if (fd > 2)
		close(fd);
}

/* Undo mountinfo's escaping of S in place: a blank, tab, newline or
 * backslash is written as '\' and three octal digits. */
static void
mountinfo_unescape(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Look through /proc/self/mountinfo for the mounts at the absolute path
 * POINT: *DEV gets the device ("MAJ:MIN") of the last one, the one on
 * top, and *CKPTFS whether one of them is a ckptfs mount.  True if there
 * is one.  Read there rather than by stat(), which a mount whose daemon
 * is gone or not answering yet would hang or fail. */
static bool
mountinfo_at(const char *point, char dev[32], bool *ckptfs, bool *ro)
{
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	*ckptfs = false;
	if (ro != NULL)
		*ro = false;
	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL)
		return false;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] - TYPE SOURCE ..."
	 * (a blank in the mount point is written \040) */
	while (getline(&line, &cap, f) > 0) {
		char at[PATH_MAX], type[64], mm[32], opts[8], *sep;

		if (sscanf(line, "%*s %*s %31s %*s %4095s %7s", mm, at,
			   opts) != 3 ||
		    (sep = strstr(line, " - ")) == NULL ||
		    sscanf(sep + 3, "%63s", type) != 1)
			continue;
		mountinfo_unescape(at);
		if (strcmp(at, point) != 0)
			continue;
		found = true;
		memcpy(dev, mm, sizeof(mm));
		*ckptfs = *ckptfs || strcmp(type, "fuse.ckptfs") == 0;
		if (ro != NULL)
			*ro = strncmp(opts, "ro", 2) == 0 &&
			      (opts[2] == ',' || opts[2] == '\0');
	}
	free(line);
	fclose(f);
	return found;
}

/* Set the readahead of the mount at MNT to KIB (not 0) through its
 * backing device's sysfs file, which only root may write; the kernel
 * offers no other way up from its default.  Said when it fails only if
 * ASKED (-o readahead= given). */
static void
set_readahead(const char *mnt, unsigned kib, bool asked)
{
	char dev[32], path[80], val[16];
	bool ours;
	int rc = -ENOENT, fd, len;

	if (mountinfo_at(mnt, dev, &ours, NULL) && ours) {
		FILE *f;
		unsigned now;

		rc = 0;
		snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb",
			 dev);
		/* Not above the kernel's: the answer to its INIT request
		 * lowers it (ckptfs_op_init()), for anyone. */
		if ((f = fopen(path, "re")) != NULL) {
			bool lower = fscanf(f, "%u", &now) == 1 && kib <= now;

			fclose(f);
			if (lower)
				return;
		}
		len = snprintf(val, sizeof(val), "%u\n", kib);
		errno = 0;
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, val, (size_t)len) != len)
			rc = errno ? -errno : -EIO;
		if (fd >= 0)
			close(fd);
	}
	if (rc < 0 && asked)
		ckptfs_log(NULL, LOG_WARNING,
			   "warning: cannot set the readahead of %s to %u KiB%s: "
			   "%s",
			   mnt, kib,
			   rc == -EACCES || rc == -EPERM ? " (only root may)"
							 : "",
			   strerror(-rc));
}

/* True if libfuse knows every option left in ARGS (what ckptfs does not
 * take itself).  Tried on a copy, before the checkpoint is opened: an
 * unknown option is refused at once, libfuse naming it, not after the
 * index was read and a spool claimed. */
static bool
options_known(const struct fuse_args *args)
{
	struct fuse_args probe = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	bool ok = true;

	for (int i = 0; i < args->argc && ok; i++)
		ok = fuse_opt_add_arg(&probe, args->argv[i]) == 0;
	if (ok) {
		se = fuse_session_new(&probe, &ckptfs_ops, sizeof(ckptfs_ops),
				      NULL);
		ok = se != NULL;
	}
	if (se != NULL)
		fuse_session_destroy(se);
	fuse_opt_free_args(&probe);
	if (!ok)
		ckptfs_log(NULL, LOG_ERR, "an option was not understood "
			   "(ckptfs -h lists them)");
	return ok;
}

/* True if E is what a mount whose daemon is gone answers: ENOTCONN, or
 * through io_uring (a request caught in the teardown of its rings)
 * ECONNABORTED. */
static bool
dead_mount_errno(int e)
{
	return e == ENOTCONN || e == ECONNABORTED;
}

/* Refuse a mount point that is missing, not a directory, or already a
 * mount point.  "/dev/fd/N" (mount.fuse3 -o drop_privileges) passes. */
static int
check_mountpoint(const char *mnt)
{
	char parent[PATH_MAX], real[PATH_MAX], dev[32];
	struct stat st, pst;
	struct statvfs vfs;
	bool ours;

	if (strncmp(mnt, "/dev/fd/", 8) == 0)
		return 0;
	/* (statvfs() asks the daemon, where stat() may be answered from
	 * the kernel's cache) */
	if (stat(mnt, &st) != 0 || statvfs(mnt, &vfs) != 0) {
		if (dead_mount_errno(errno))
			ckptfs_log(NULL, LOG_ERR,
				   "mount point %s: a file system whose daemon "
				   "is gone is still mounted there (ckptfs -u "
				   "%s unmounts it)",
				   mnt, mnt);
		else
			ckptfs_log(NULL, LOG_ERR, "mount point %s: %s", mnt,
				   strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		ckptfs_log(NULL, LOG_ERR, "mount point %s: not a directory",
			   mnt);
		return -1;
	}
	/* (a bind mount of a directory of the same file system has its
	 * device: only the mount table tells) */
	if ((snprintf(parent, sizeof(parent), "%s/..", mnt) <
		     (int)sizeof(parent) &&
	     stat(parent, &pst) == 0 && pst.st_dev != st.st_dev &&
	     pst.st_ino != st.st_ino) ||
	    (realpath(mnt, real) != NULL &&
	     mountinfo_at(real, dev, &ours, NULL))) {
		ckptfs_log(NULL, LOG_ERR,
			   "%s: mount point busy (something is already "
			   "mounted there)",
			   mnt);
		return -1;
	}
	return 0;
}

/* Mount options we always pass: kernel permission checks on our modes,
 * and a source name and type for /proc/mounts.  They go before the
 * user's options so those can override them ("-o ro" is the user's). */
static int
add_mount_opts(struct fuse_args *args, const char *prefix)
{
	char *o = NULL, *fsname;
	int rc;

	if (asprintf(&fsname, "fsname=%s", prefix) < 0)
		return -1;
	rc = fuse_opt_add_opt(&o, "default_permissions") ||
	     fuse_opt_add_opt(&o, "subtype=ckptfs") ||
	     fuse_opt_add_opt_escaped(&o, fsname);
	free(fsname);
	if (rc == 0) {
		rc = fuse_opt_insert_arg(args, 1, "-o") ||
		     fuse_opt_insert_arg(args, 2, o);
	}
	free(o);
	return rc ? -1 : 0;
}

/* Run the session loop the command line asked for. */
static int
run_loop(struct fuse_session *se, const struct fuse_cmdline_opts *opts)
{
	struct fuse_loop_config *cfg;
	int rc;

	if (opts->singlethread)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (cfg == NULL)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned int)opts->clone_fd);
	if (opts->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(cfg, opts->max_idle_threads);
	fuse_loop_cfg_set_max_threads(cfg, opts->max_threads);
	rc = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return rc;
}

/* After a signal ended the session loop: answer the requests still
 * queued until the notifier has sent every invalidation.  One may be
 * waiting in the kernel for a directory lock held by a process that
 * waits for the answer to a queued request (a second mv in a directory);
 * stopping first left both, and the daemon, waiting for ever.  Gives up
 * after about DRAIN_MS of silence. */
#define DRAIN_MS 10000
static void
drain(struct fuse_session *se, struct ckptfs *fs)
{
	struct fuse_buf buf = { 0 };
	struct pollfd p = { .fd = fuse_session_fd(se), .events = POLLIN };
	int quiet = 0, rc;

	fuse_session_reset(se);	/* the signal marked it exited */
	while (!ckptfs_notifier_idle(fs) && quiet < DRAIN_MS / 100) {
		rc = poll(&p, 1, 100);
		if (rc <= 0 || !(p.revents & POLLIN)) {
			quiet++;
			continue;
		}
		rc = fuse_session_receive_buf(se, &buf);
		if (rc > 0)
			fuse_session_process_buf(se, &buf);
		else if (rc == 0 || (rc != -EINTR && rc != -EAGAIN))
			break;	/* unmounted or aborted */
	}
	free(buf.mem);
	fuse_session_exit(se);
}

/* PATH made absolute (malloc()ed), against the current directory. */
static char *
absolute(const char *path)
{
	char cwd[PATH_MAX];
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

/* The directory absolute PATH is in, malloc()ed (NULL: no memory). */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash == path ? strdup("/")
			     : strndup(path, (size_t)(slash - path));
}

/* Whether files can be made in directory DIR: 0 or -errno.  Tried with
 * a file made and removed at once, since access(2) says yes to root on
 * a read-only file system it cannot tell (a FUSE one) and to anyone on
 * a mount that refuses writes by itself. */
static int
dir_writable(const char *dir)
{
	char *probe;
	int fd, rc = 0;

	if (asprintf(&probe, "%s/.ckptfs-probe-XXXXXX", dir) < 0)
		return -ENOMEM;
	fd = mkostemp(probe, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
	} else {
		close(fd);
		unlink(probe);
	}
	free(probe);
	return rc;
}

/* Stat the directory PATH is in (PATH absolute); *BASE: where its last
 * component starts.  With WRITE, it must also let us make files there.
 * Return 0 or -errno. */
static int
stat_parent(const char *path, bool write, struct stat *st, const char **base)
{
	char *dir = dir_of(path);
	int rc;

	*base = strrchr(path, '/') + 1;
	if (dir == NULL)
		return -ENOMEM;
	rc = stat(dir, st) < 0 ? -errno : 0;
	if (rc == 0 && !S_ISDIR(st->st_mode))
		rc = -ENOTDIR;
	if (rc == 0 && write)
		rc = dir_writable(dir);
	free(dir);
	return rc;
}

/* Whether absolute PATH (or the directory it would be made in) is the
 * mount point MNT or inside it, compared by device and inode after
 * resolving links and "..", before mounting. */
static bool
in_mountpoint(const char *path, const char *mnt)
{
	struct stat mst, st;
	char *dir, *real, *slash;
	bool in = false;

	if (strncmp(mnt, "/dev/fd/", 8) == 0 || stat(mnt, &mst) < 0)
		return false;
	/* PATH, or the nearest directory above it that is there: the
	 * directories of mnt/by-name/x are not, before mounting. */
	real = realpath(path, NULL);
	for (dir = strdup(path); real == NULL && dir != NULL &&
				 strchr(dir, '/') != NULL && strcmp(dir, "/");) {
		slash = strrchr(dir, '/');
		slash[slash == dir] = '\0';
		real = realpath(dir, NULL);
	}
	free(dir);
	if (real == NULL)
		return false;
	for (;;) {
		if (stat(real, &st) == 0 && st.st_dev == mst.st_dev &&
		    st.st_ino == mst.st_ino) {
			in = true;
			break;
		}
		if ((slash = strrchr(real, '/')) == NULL || real[1] == '\0')
			break;
		slash[slash == real] = '\0';	/* "/a" -> "/" */
	}
	free(real);
	return in;
}

/* Whether a file of the output PREFIX (option output=GIVEN: its index,
 * its data file) is a directory, which the write-out could not replace:
 * say so and return -1; else 0. */
static int
output_blocked(const char *given, const char *prefix)
{
	static const char *const ends[] = { ".index",
					    ".data-00000-of-00001" };
	struct stat st;
	char *f;

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		if (asprintf(&f, "%s%s", prefix, ends[i]) < 0)
			return -1;
		if (lstat(f, &st) == 0 && S_ISDIR(st.st_mode)) {
			ckptfs_log(NULL, LOG_ERR, "output=%s: %s is a "
				   "directory, which the write-out cannot "
				   "replace", given, f);
			free(f);
			return -1;
		}
		free(f);
	}
	return 0;
}

/* Check that PATH (absolute), given as option OPT=GIVEN, names a file to
 * be made in a directory that exists and can be written, outside the
 * mount point MNT, and is not the source checkpoint's prefix SRC under
 * another spelling (a symbolic link, "..", "//", another mount of the
 * directory): the directory is compared by device and inode.  An output
 * (OPT "output") must not be where its files would replace a directory;
 * a spool not where it would hide the source.  Say why not and return
 * -1. */
static int
check_target(const char *opt, const char *given, const char *path,
	     const char *src, const char *mnt)
{
	struct stat st, sst;
	const char *base, *sbase, *last = strrchr(given, '/');
	size_t len = strlen(given);
	bool output = strcmp(opt, "output") == 0, inside;
	char *dir;
	int rc;

	last = last != NULL ? last + 1 : given;
	/* (".", "..": a directory too, and "..index" a hidden file) */
	if (len == 0 || given[len - 1] == '/' || strcmp(last, ".") == 0 ||
	    strcmp(last, "..") == 0) {
		ckptfs_log(NULL, LOG_ERR, "%s=%s: %s", opt, given,
			   len == 0 ? "empty"
				    : "names a directory, not a prefix");
		return -1;
	}
	/* (an output's files go beside PATH: output=MNT is outside) */
	dir = mnt == NULL ? NULL : output ? dir_of(path) : strdup(path);
	inside = dir != NULL && in_mountpoint(dir, mnt);
	free(dir);
	if (inside) {
		if (output)
			ckptfs_log(NULL, LOG_ERR, "output=%s: inside the mount "
				   "point %s; give a path outside it", given,
				   mnt);
		else	/* as main() says it of a default spool */
			ckptfs_log(NULL, LOG_ERR, "spool %s: inside the mount "
				   "point %s; give -o spool= (or -o output=) "
				   "outside it", given, mnt);
		return -1;
	}
	if ((rc = stat_parent(path, true, &st, &base)) < 0) {
		dir = dir_of(path);
		ckptfs_log(NULL, LOG_ERR, "%s=%s: cannot make files in %s: %s",
			   opt, given, dir != NULL ? dir : "its directory",
			   strerror(-rc));
		free(dir);
		return -1;
	}
	if (src != NULL && stat_parent(src, false, &sst, &sbase) == 0 &&
	    st.st_dev == sst.st_dev && st.st_ino == sst.st_ino &&
	    strcmp(base, sbase) == 0) {
		if (output)
			ckptfs_log(NULL, LOG_ERR, "%s=%s: is the source "
				   "checkpoint, which is never overwritten",
				   opt, given);
		else
			ckptfs_log(NULL, LOG_ERR, "%s=%s: is the source "
				   "checkpoint's prefix: a directory there "
				   "would hide it", opt, given);
		return -1;
	}
	if (output && (rc = output_blocked(given, path)) != 0)
		return -1;
	return 0;
}

/* Whether SPOOL (absolute) is a name the write-out of output PREFIX makes
 * in its directory (its index, a data file, a temporary file, the
 * 'checkpoint' state file), where a directory would fail it every time:
 * say so and return -1; else 0. */
static int
spool_clash(const char *spool, const char *prefix)
{
	struct stat st, pst;
	const char *base, *pbase;

	if (stat_parent(spool, false, &st, &base) < 0 ||
	    stat_parent(prefix, false, &pst, &pbase) < 0 ||
	    st.st_dev != pst.st_dev || st.st_ino != pst.st_ino ||
	    !ckpt_writer_names(base, pbase))
		return 0;
	ckptfs_log(NULL, LOG_ERR, "spool=%s: a name the write-out of %s "
		   "makes; give another", spool, prefix);
	return -1;
}

/* What a mount writes: the outputs, the spool, whether to write even
 * unchanged. */
struct plan {
	struct ckptfs_output outs[2];
	char *prefixes[2];	/* owned */
	/* The outputs' directories, opened when mounting (outs[i].dirfd
	 * points here once open): the write-out makes its files there,
	 * whatever a directory above has become since. */
	int dirfds[2];
	size_t n;
	char *spool;		/* owned */
	/* Owned: the options that write these changes out as this mount
	 * would ("-o spool=...,output=...,format=...,tf2_root=..."), for
	 * the message of a failed write-out (the journal keeps the
	 * changes, not where they go). */
	char *again;
	bool force;
	/* The source's directory when mounting (SRC_KNOWN: it could be
	 * stat()ed), whose state file is the user's: told apart from an
	 * output's directory by identity, as either may be renamed. */
	bool src_known;
	dev_t src_dev;
	ino_t src_ino;
};

/* Where output I of P now is (malloc()ed; NULL: as named): its
 * directory, which the write-out used whatever it has become since, may
 * have been renamed while mounted. */
static char *
written_at(const struct plan *p, size_t i)
{
	char link[40], dir[PATH_MAX], *out = NULL, *named;
	const char *base = strrchr(p->prefixes[i], '/');
	struct stat held, now;
	bool same;
	ssize_t n;

	if (p->outs[i].dirfd == NULL || base == NULL ||
	    fstat(p->dirfds[i], &held) < 0)
		return NULL;
	/* (the name still leads to it, by a symbolic link or ".." too: as
	 * named) */
	named = dir_of(p->prefixes[i]);
	same = named != NULL && stat(named, &now) == 0 &&
	       now.st_dev == held.st_dev && now.st_ino == held.st_ino;
	free(named);
	if (same || held.st_nlink == 0)
		return NULL;	/* (removed: as named too) */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", p->dirfds[i]);
	n = readlink(link, dir, sizeof(dir) - 1);
	if (n <= 0 || dir[0] != '/')
		return NULL;
	dir[n] = '\0';
	if (asprintf(&out, "%s%s", strcmp(dir, "/") == 0 ? "" : dir,
		     base) < 0)
		return NULL;
	return out;
}

/* Log that output I of P was written, where it is now. */
static void
log_wrote(struct ckptfs *fs, const struct plan *p, size_t i)
{
	char *at = written_at(p, i);

	if (at != NULL)
		ckptfs_log(fs, LOG_INFO, "wrote %s (named %s when mounted: its "
			   "directory was renamed since)",
			   at, p->prefixes[i]);
	else
		ckptfs_log(fs, LOG_INFO, "wrote %s", p->prefixes[i]);
	free(at);
}

static void
plan_free(struct plan *p)
{
	for (int i = 0; i < 2; i++)
		if (p->outs[i].dirfd != NULL)
			close(p->dirfds[i]);
	free(p->prefixes[0]);
	free(p->prefixes[1]);
	free(p->spool);
	free(p->again);
	memset(p, 0, sizeof(*p));
}

/* Append ",NAME=VALUE" (no comma first when B is empty) to B, escaping
 * the commas and backslashes of VALUE as libfuse's -o parser wants. */
static int
put_opt(struct ckpt_buf *b, const char *name, const char *value)
{
	int rc = b->len > 0 ? ckpt_buf_put(b, ",", 1) : 0;

	if (rc == 0)
		rc = ckpt_buf_put(b, name, strlen(name));
	if (rc == 0)
		rc = ckpt_buf_put(b, "=", 1);
	for (; rc == 0 && *value; value++) {
		if ((*value == ',' || *value == '\\') &&
		    (rc = ckpt_buf_put(b, "\\", 1)) < 0)
			break;
		rc = ckpt_buf_put(b, value, 1);
	}
	return rc;
}

/* P->again for CONF whose output is BASE (absolute). */
static int
plan_again(struct plan *p, const struct ckptfs_config *conf,
	   const char *base)
{
	struct ckpt_buf b = { 0 };
	int rc = put_opt(&b, "spool", p->spool);

	if (rc == 0 && conf->output != NULL)
		rc = put_opt(&b, "output", base);
	if (rc == 0 && conf->format != NULL)
		rc = put_opt(&b, "format", conf->format);
	if (rc == 0 && conf->tf2_root != NULL)
		rc = put_opt(&b, "tf2_root", conf->tf2_root);
	if (rc == 0 && conf->salvage)
		rc = ckpt_buf_put(&b, ",salvage", 8);
	else if (rc == 0 && conf->verify)
		rc = ckpt_buf_put(&b, ",verify", 7);
	if (rc == 0)
		rc = ckpt_buf_put(&b, "", 1);
	if (rc < 0) {
		ckpt_buf_free(&b);
		return rc;
	}
	p->again = (char *)b.data;
	return 0;
}

/* Whether B is the variables of a SavedModel (DIR/variables/variables,
 * DIR holding saved_model.pb) that P writes in the other format. */
static bool
savedmodel_converted(const struct ckpt_bundle *b, const struct plan *p)
{
	static const char tail[] = "/variables/variables";
	size_t n = strlen(b->prefix), tl = sizeof(tail) - 1;
	bool other = false;
	char *pb = NULL;
	struct stat st;

	for (size_t i = 0; i < p->n; i++)
		other |= (p->outs[i].format == CKPT_FORMAT_TF2) != b->tf2;
	if (!other || n < tl || strcmp(b->prefix + n - tl, tail) != 0 ||
	    asprintf(&pb, "%.*s/saved_model.pb", (int)(n - tl), b->prefix) < 0)
		return false;
	other = stat(pb, &st) == 0 && S_ISREG(st.st_mode);
	free(pb);
	return other;
}

/* Decide outputs and spool from the options (rules in ckptfs(1)). */
static int
make_plan(const struct ckptfs_config *conf, const struct ckpt_bundle *b,
	  struct plan *p)
{
	const char *fmt = conf->format ? conf->format : "other";
	enum ckpt_format src = b->tf2 ? CKPT_FORMAT_TF2 : CKPT_FORMAT_TF1;
	enum ckpt_format f[2];
	char *base = NULL;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (strcmp(fmt, "tf1") == 0) {
		f[0] = CKPT_FORMAT_TF1;
		p->n = 1;
	} else if (strcmp(fmt, "tf2") == 0) {
		f[0] = CKPT_FORMAT_TF2;
		p->n = 1;
	} else if (strcmp(fmt, "same") == 0) {
		f[0] = src;
		p->n = 1;
	} else if (strcmp(fmt, "other") == 0) {
		f[0] = b->tf2 ? CKPT_FORMAT_TF1 : CKPT_FORMAT_TF2;
		p->n = 1;
	} else if (strcmp(fmt, "both") == 0) {
		f[0] = CKPT_FORMAT_TF1;
		f[1] = CKPT_FORMAT_TF2;
		p->n = 2;
	} else {
		ckptfs_log(NULL, LOG_ERR, "format=%s: not tf1, tf2, both, same "
			   "or other", fmt);
		return -1;
	}
	p->force = conf->output != NULL;
	{
		char *sdir = dir_of(b->prefix);
		struct stat st;

		if (sdir != NULL && stat(sdir, &st) == 0) {
			p->src_known = true;
			p->src_dev = st.st_dev;
			p->src_ino = st.st_ino;
		}
		free(sdir);
	}
	base = conf->output ? absolute(conf->output) : strdup(b->prefix);
	if (base == NULL)
		goto nomem;
	for (i = 0; i < p->n; i++) {
		const char *ext = f[i] == CKPT_FORMAT_TF1 ? "tf1" : "tf2";

		if (conf->output != NULL && p->n == 1)
			p->prefixes[i] = strdup(base);
		else if (asprintf(&p->prefixes[i], "%s.%s", base, ext) < 0)
			p->prefixes[i] = NULL;
		if (p->prefixes[i] == NULL)
			goto nomem;
		/* (the default names differ from the source's) */
		if (conf->output != NULL &&
		    check_target("output", conf->output, p->prefixes[i],
				 b->prefix, conf->mountpoint) < 0) {
			free(base);
			plan_free(p);
			return -1;
		}
		p->outs[i].format = f[i];
		p->outs[i].prefix = p->prefixes[i];
		/* (if not, the write-out opens it by path, and says why
		 * not) */
		if ((p->dirfds[i] = ckpt_open_dir_of(p->prefixes[i])) >= 0)
			p->outs[i].dirfd = &p->dirfds[i];
	}
	if (conf->spool != NULL) {
		size_t len;

		p->spool = absolute(conf->spool);
		len = p->spool != NULL ? strlen(p->spool) : 0;
		while (len > 1 && p->spool[len - 1] == '/')
			p->spool[--len] = '\0';
		if (p->spool != NULL && (conf->spool[0] == '\0' ||
					 check_target("spool", p->spool,
						      p->spool, b->prefix,
						      conf->mountpoint) < 0)) {
			if (conf->spool[0] == '\0')
				ckptfs_log(NULL, LOG_ERR, "spool=: empty");
			free(base);
			plan_free(p);
			return -1;
		}
	} else if (asprintf(&p->spool, "%s.ckptfs-spool",
			  p->n == 1 ? p->prefixes[0] : base) < 0)
		p->spool = NULL;
	if (p->spool == NULL)
		goto nomem;
	for (i = 0; i < p->n; i++)
		if (spool_clash(p->spool, p->prefixes[i]) < 0) {
			free(base);
			plan_free(p);
			return -1;
		}
	if (plan_again(p, conf, base) < 0)
		goto nomem;
	free(base);
	return 0;
nomem:
	free(base);
	plan_free(p);
	ckptfs_log(NULL, LOG_ERR, "out of memory");
	return -1;
}

/* Append S to B as a JSON string. */
static int
json_put(struct ckpt_buf *b, const char *s)
{
	int rc = ckpt_buf_put(b, "\"", 1);

	for (; rc == 0 && *s; s++) {
		char e[8];

		if (*s == '"' || *s == '\\') {
			e[0] = '\\';
			e[1] = *s;
			rc = ckpt_buf_put(b, e, 2);
		} else if ((unsigned char)*s < 0x20) {
			snprintf(e, sizeof(e), "\\u%04x", (unsigned char)*s);
			rc = ckpt_buf_put(b, e, 6);
		} else {
			rc = ckpt_buf_put(b, s, 1);
		}
	}
	return rc < 0 ? rc : ckpt_buf_put(b, "\"", 1);
}

/* The extra members of info.json (see struct ckptfs_tree_opts), NUL
 * terminated in B.  "pid" is a placeholder wide enough for any pid, set
 * by set_info_pid() once daemonized. */
/* Append a string literal. */
#define PUTS(b, lit) ckpt_buf_put((b), (lit), sizeof(lit) - 1)

static int
info_extra(struct ckpt_buf *b, const struct plan *p, bool writable,
	   int status_fd)
{
	char num[32];
	int rc = PUTS(b, "  \"writable\": ");

	if (rc == 0)
		rc = writable ? PUTS(b, "true") : PUTS(b, "false");
	if (rc == 0)
		rc = PUTS(b, ",\n  \"pid\":          0,\n");
	snprintf(num, sizeof(num), "%d", status_fd);
	if (rc == 0)
		rc = PUTS(b, "  \"status_fd\": ");
	if (rc == 0)
		rc = ckpt_buf_put(b, num, strlen(num));
	if (rc == 0 && writable) {
		rc = PUTS(b, ",\n  \"spool\": ");
		if (rc == 0)
			rc = json_put(b, p->spool);
		for (size_t i = 0; rc == 0 && i < p->n; i++) {
			rc = i ? PUTS(b, ", ") : PUTS(b, ",\n  \"outputs\": [");
			if (rc == 0)
				rc = json_put(b, p->prefixes[i]);
		}
		if (rc == 0)
			rc = PUTS(b, "]");
	}
	if (rc == 0)
		rc = ckpt_buf_put(b, ",\n", 3);	/* with the NUL */
	return rc;
}

/* Write our pid into info.json's placeholder. */
static void
set_info_pid(struct ckptfs_tree *t)
{
	char *p = t->info_json ? strstr(t->info_json, "\"pid\": ") : NULL;
	char num[16];

	if (p == NULL)
		return;
	snprintf(num, sizeof(num), "%10ld", (long)getpid());
	memcpy(p + 7, num, 10);
}

/* Create the status file, locked until we exit: an anonymous one, which
 * `ckptfs -u` opens as /proc/PID/fd/N, so that a killed daemon leaves
 * nothing behind and no directory needs to be writable. */
static int
status_open(void)
{
	int fd = memfd_create("ckptfs-status", MFD_CLOEXEC);

	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		ckptfs_log(NULL, LOG_ERR, "the status file: %s",
			   strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The line of B at *I (LEN bytes at *LINE, without its newline), *I
 * moved past it; false at the end of B. */
static bool
next_line(const struct ckpt_buf *b, size_t *i, const char **line, int *len)
{
	const uint8_t *nl;
	size_t end;

	if (*i >= b->len)
		return false;
	nl = memchr(b->data + *i, '\n', b->len - *i);
	end = nl != NULL ? (size_t)(nl - b->data) : b->len;
	*line = (const char *)b->data + *i;
	*len = (int)(end - *i);
	*i = end + 1;
	return true;
}

/* All of file FD into OUT, NUL-terminated.  0, or -1 (read error, no
 * memory). */
static int
read_fd_whole(int fd, struct ckpt_buf *out)
{
	ssize_t got;

	out->len = 0;
	do {
		if (ckpt_buf_reserve(out, 65536) < 0)
			return -1;
		got = pread(fd, out->data + out->len, 65535, (off_t)out->len);
		out->len += got > 0 ? (size_t)got : 0;
	} while (got > 0);
	if (got < 0)
		return -1;
	out->data[out->len] = '\0';
	return 0;
}

/* Record the result for `ckptfs -u` (which holds the file open) and
 * release the lock: "ok", or "error: MSG", then the lines of MORE (may be
 * NULL): "refused: PATH: reason" after an error (keep_refusals()),
 * "warning: ..." after "ok". */
static void
status_close(int fd, int ok, const char *msg, const struct ckpt_buf *more)
{
	struct ckpt_buf text = { 0 };
	int rc;

	if (fd < 0)
		return;
	rc = ckpt_buf_put(&text, ok ? "ok" : "error: ", ok ? 2 : 7);
	/* (safe to print, and one line: a newline in a path as \n) */
	if (rc == 0 && !ok)
		rc = ckpt_text_safe(msg, &text);
	if (rc == 0)
		rc = ckpt_buf_put(&text, "\n", 1);
	if (rc == 0 && more != NULL)
		rc = ckpt_buf_put(&text, more->data, more->len);
	if (rc == 0 && pwrite(fd, text.data, text.len, 0) < 0)
		(void)0;	/* the exit status still tells */
	ckpt_buf_free(&text);
	close(fd);
}

/* When the write-out refused more than one tensor, log each with its
 * reason (its message has the first one's and some names) and keep the
 * lines, "refused: PATH: reason", in OUT for the status; R:
 * ckptfs_ov_refusals(). */
static void
keep_refusals(struct ckptfs *fs, const struct ckpt_buf *r,
	      struct ckpt_buf *out)
{
	const char *line;
	size_t i = 0;
	int len;

	if (r == NULL || r->len == 0 ||
	    memchr(r->data, '\n', r->len) == r->data + r->len - 1)
		return;	/* one, or none */
	while (next_line(r, &i, &line, &len)) {
		ckptfs_log(fs, LOG_ERR, "refused: %.*s", len, line);
		/* (without memory, the message still names some) */
		if (ckpt_buf_put(out, "refused: ", 9) < 0 ||
		    ckpt_buf_put(out, line, (size_t)len) < 0 ||
		    ckpt_buf_put(out, "\n", 1) < 0)
			out->len = 0;
	}
}

/* The JSON number member NAME of TEXT, or -1. */
static long
json_long(const char *text, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\": ", name);
	p = strstr(text, key);
	return p == NULL ? -1 : strtol(p + strlen(key), NULL, 10);
}


/* True if MNT is the mount point of a ckptfs mount (its type in
 * /proc/self/mountinfo), even one whose daemon is gone; *RO (if not
 * NULL) set when it is mounted read-only. */
static bool
is_ckptfs_mount(const char *mnt, bool *ro)
{
	char real[PATH_MAX], dev[32];
	bool found = false;

	if (realpath(mnt, real) == NULL) {
		/* a dead FUSE mount cannot be resolved: take MNT made
		 * absolute (mountinfo holds absolute paths) */
		char *abs = absolute(mnt);
		size_t len;

		if (abs == NULL)
			return false;
		snprintf(real, sizeof(real), "%s", abs);
		free(abs);
		len = strlen(real);
		while (len > 1 && real[len - 1] == '/')
			real[--len] = '\0';
	}
	return mountinfo_at(real, dev, &found, ro) && found;
}

/* Run fusermount3 -u MNT; return 0 if it succeeded. */
static int
fusermount_u(const char *mnt)
{
	char a0[] = "fusermount3", a1[] = "-u";
	char *argv[] = { a0, a1, (char *)mnt, NULL };
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ) != 0 ||
	    waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		ckptfs_log(NULL, LOG_ERR, "fusermount3 -u %s failed", mnt);
		return -1;
	}
	return 0;
}

/* ckptfs -u on MNT whose daemon is gone (killed): nothing will be
 * written, but the mount can go, and a spool keeps the changes (none for
 * a read-only mount, which had nothing to write).  Return the exit
 * status. */
static int
unmount_dead(const char *mnt)
{
	bool ro = false;

	(void)is_ckptfs_mount(mnt, &ro);
	if (fusermount_u(mnt) < 0)
		return EXIT_FAILURE;
	if (ro)
		ckptfs_log(NULL, LOG_ERR, "the daemon of %s had exited "
			   "(killed?): unmounted (it was read-only: "
			   "nothing to write)",
			   mnt);
	else
		ckptfs_log(NULL, LOG_ERR, "the daemon of %s had exited "
			   "(killed?): unmounted, nothing written; mounting "
			   "the checkpoint again with the same options brings "
			   "back the changes its spool kept",
			   mnt);
	return EXIT_FAILURE;
}

/* Drop the trailing slashes of path P (not a lone "/"): "link/" would
 * name what the link points to. */
static void
strip_slashes(char *p)
{
	size_t len = strlen(p);

	while (len > 1 && p[len - 1] == '/')
		p[--len] = '\0';
}

/* MNT as mountinfo and fusermount3 name it, malloc()ed (NULL: no
 * memory): its real path, or for a mount whose daemon is gone (which
 * cannot be stat()ed) the real path of its directory and its own name,
 * after following the symbolic links MNT itself names. */
static char *
canonical_mnt(const char *mnt)
{
	char *p = strdup(mnt), *dir, *out = NULL;
	struct stat st;

	for (int hops = 0; p != NULL && hops < 40; hops++) {
		char target[PATH_MAX];
		ssize_t n;

		if ((out = realpath(p, NULL)) != NULL)
			break;
		strip_slashes(p);
		if (lstat(p, &st) < 0 || !S_ISLNK(st.st_mode) ||
		    (n = readlink(p, target, sizeof(target) - 1)) <= 0) {
			/* the last component itself, in its real directory */
			char *abs = absolute(p);

			free(p);
			p = NULL;
			if (abs == NULL)
				return NULL;
			strip_slashes(abs);
			dir = dir_of(abs);
			out = dir != NULL ? realpath(dir, NULL) : NULL;
			if (out != NULL) {
				char *name = strrchr(abs, '/') + 1, *joined;

				if (asprintf(&joined, "%s/%s",
					     strcmp(out, "/") == 0 ? "" : out,
					     name) < 0)
					joined = NULL;
				free(out);
				out = joined;
			} else {
				out = abs;
				abs = NULL;
			}
			free(dir);
			free(abs);
			return out;
		}
		target[n] = '\0';
		if (target[0] == '/') {
			free(p);
			p = strdup(target);
		} else {
			/* relative to the link's own directory */
			char *abs = absolute(p), *joined = NULL;

			dir = abs != NULL ? dir_of(abs) : NULL;
			if (dir != NULL &&
			    asprintf(&joined, "%s/%s", dir, target) < 0)
				joined = NULL;
			free(dir);
			free(abs);
			free(p);
			p = joined;
		}
		out = NULL;
	}
	if (out == NULL && p != NULL)
		out = p;	/* a loop of links: as given */
	else
		free(p);
	return out;
}

static int unmount_wait_at(const char *mnt);

/* ckptfs -u MOUNTPOINT: unmount, wait for the daemon to finish writing,
 * and report its result.  Return the exit status. */
static int
unmount_wait(const char *mnt)
{
	char *real = canonical_mnt(mnt);
	int rc = unmount_wait_at(real != NULL ? real : mnt);

	free(real);
	return rc;
}

/* unmount_wait() of MNT, made canonical. */
static int
unmount_wait_at(const char *mnt)
{
	char path[PATH_MAX], status[64], link[64];
	struct ckpt_buf text = { 0 };
	const char *line;
	long pid, sfd_num;
	ssize_t got;
	int fd, sfd, rc, len;

	snprintf(path, sizeof(path), "%s/info.json", mnt);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && dead_mount_errno(errno) &&
	    is_ckptfs_mount(mnt, NULL))
		return unmount_dead(mnt);
	if (fd < 0) {
		int e = errno;
		struct stat st;

		if (stat(mnt, &st) < 0)
			ckptfs_log(NULL, LOG_ERR, "mount point %s: %s", mnt,
				   strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			ckptfs_log(NULL, LOG_ERR, "mount point %s: not a "
				   "directory", mnt);
		else
			ckptfs_log(NULL, LOG_ERR, "%s: %s (not a ckptfs "
				   "mount?)", path, strerror(e));
		return EXIT_FAILURE;
	}
	/* Whole: the source path and tf2_root, of any length, come first. */
	rc = read_fd_whole(fd, &text);
	close(fd);
	pid = rc == 0 ? json_long((const char *)text.data, "pid") : -1;
	sfd_num = rc == 0 ? json_long((const char *)text.data, "status_fd")
			  : -1;
	ckpt_buf_free(&text);
	if (pid <= 0 || sfd_num < 0) {
		ckptfs_log(NULL, LOG_ERR, "%s: no daemon or status named", path);
		return EXIT_FAILURE;
	}
	snprintf(status, sizeof(status), "/proc/%ld/fd/%ld", pid, sfd_num);
	/* Only a ckptfs mount's info.json is believed, and only about the
	 * daemon's status file: any directory can hold an info.json naming
	 * any process's descriptor. */
	if (!is_ckptfs_mount(mnt, NULL)) {
		ckptfs_log(NULL, LOG_ERR, "%s: not a ckptfs mount", mnt);
		return EXIT_FAILURE;
	}
	got = readlink(status, link, sizeof(link) - 1);
	link[got > 0 ? got : 0] = '\0';
	/* A read-only mount's info.json may come from the kernel's cache
	 * (no OPEN is sent there) after its daemon is gone. */
	if (got < 0 && errno == ENOENT)
		return unmount_dead(mnt);
	if (got < 0 && (errno == EACCES || errno == EPERM)) {
		ckptfs_log(NULL, LOG_ERR, "%s: its daemon (pid %ld) is another "
			   "user's: only that user (or root) can unmount it",
			   mnt, pid);
		return EXIT_FAILURE;
	}
	if (strncmp(link, "/memfd:ckptfs-status", 20) != 0) {
		ckptfs_log(NULL, LOG_ERR, "%s: %s is not a ckptfs daemon's "
			   "status",
			   path, status);
		return EXIT_FAILURE;
	}
	sfd = open(status, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (sfd < 0) {
		ckptfs_log(NULL, LOG_ERR, "%s (the daemon's status): %s", status,
			   strerror(errno));
		return EXIT_FAILURE;
	}
	if (fusermount_u(mnt) < 0) {
		close(sfd);
		return EXIT_FAILURE;
	}
	/* The daemon holds an exclusive lock until it exits. */
	while (flock(sfd, LOCK_SH) < 0 && errno == EINTR)
		;
	/* Whole: a refused write-out lists every tensor it refused. */
	rc = read_fd_whole(sfd, &text);
	close(sfd);
	if (rc == 0 && text.len >= 3 && memcmp(text.data, "ok\n", 3) == 0) {
		/* written, with warnings (a spool that stays) */
		for (size_t i = 3; next_line(&text, &i, &line, &len);)
			ckptfs_log(NULL, LOG_ERR, "%.*s", len, line);
		ckpt_buf_free(&text);
		return EXIT_SUCCESS;
	}
	if (text.len == 0)
		ckptfs_log(NULL, LOG_ERR, "the daemon of %s exited without "
			   "reporting (killed?)", mnt);
	for (size_t i = 0; next_line(&text, &i, &line, &len);)
		ckptfs_log(NULL, LOG_ERR, "%.*s", len, line);
	ckpt_buf_free(&text);
	return EXIT_FAILURE;
}

/* Log a line of FMT at PRIO and keep it in LINES (for the status file,
 * after "ok": "warning: ..." or "note: ..."). */
static void __attribute__((format(printf, 4, 5)))
status_line(struct ckptfs *fs, int prio, struct ckpt_buf *lines,
	    const char *fmt, ...)
{
	char *line = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	ckptfs_log_text(fs, prio, line);
	if (ckpt_text_safe(line, lines) < 0 ||
	    ckpt_buf_put(lines, "\n", 1) < 0)
		(void)0;	/* the log has it */
	free(line);
}

/* Say, after a write-out, which tensors it wrote so that a model may
 * not restore them (ckptfs_ov_notes(): with a dtype or shape other than
 * the source's, under a key with an object named VARIABLE_VALUE).  Added
 * to LINES. */
static void
note_meta_changes(struct ckptfs *fs, const struct ckptfs_tree *tree,
		  struct ckpt_buf *lines)
{
	size_t count, named = 0, i = 0;
	const struct ckpt_buf *notes = ckptfs_ov_notes(tree, &count);
	const char *line;
	int len;

	while (notes != NULL && next_line(notes, &i, &line, &len)) {
		status_line(fs, LOG_INFO, lines, "note: %.*s", len, line);
		named++;
	}
	if (count > named && named > 0)
		status_line(fs, LOG_INFO, lines,
			    "note: %zu more tensor%s noted as above",
			    count - named, count - named > 1 ? "s are" : " is");
	else if (count > named)	/* (no memory for the lines) */
		status_line(fs, LOG_INFO, lines,
			    "note: %zu tensors are written so that a model "
			    "may not restore them (see ckptfs(1), DIAGNOSTICS)",
			    count);
}

/* What write_state() needs. */
struct state_job {
	struct ckptfs *fs;
	const struct plan *plan;
	struct ckpt_buf *warned;	/* "warning: ..." lines for ckptfs -u */
};

/* False if the state file in directory DFD (ODIR) names a newest
 * checkpoint other than NAME (a file name there) or PREFIX; true if it
 * names that one, or cannot be read as a state file (a regular file of at
 * most 1 MiB, symbolic links followed). */
static bool
state_names(int dfd, const char *odir, const char *name, const char *prefix)
{
	struct ckpt_buf text = { 0 };
	char *model = NULL;
	bool yes = true;
	struct stat st;
	int fd = openat(dfd, "checkpoint",
			O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return true;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size <= (1 << 20) && read_fd_whole(fd, &text) == 0 &&
	    text.len <= (1 << 20) &&
	    ckpt_state_parse((const char *)text.data, text.len, &model,
			     NULL) == 0) {
		const char *m = model;
		size_t dl = strlen(odir);

		/* "DIR/NAME" given whole names the same file */
		if (strncmp(m, odir, dl) == 0 && m[dl] == '/')
			m += dl + 1;
		yes = strcmp(m, name) == 0 || strcmp(model, prefix) == 0;
	}
	close(fd);
	free(model);
	ckpt_buf_free(&text);
	return yes;
}

/* Once the outputs are written (before the spool goes, so that a crash
 * leaves both or the spool's mark of a finished write-out): note a state
 * file there that keeps naming another checkpoint, or give their
 * directory a "checkpoint" state file naming them when it has none and
 * is not the source's (whose state file, or its absence, is the user's),
 * so that a mount of the directory and tf.train.latest_checkpoint() find
 * them.  A failure is a warning, logged and added to WARNED: the
 * checkpoint is complete. */
static void
write_state(void *arg)
{
	const struct state_job *job = arg;
	const struct plan *p = job->plan;
	/* (named where it is now: its directory may have been renamed) */
	char *at = written_at(p, 0);
	char *odir = dir_of(at != NULL ? at : p->prefixes[0]);
	const char *names[2];
	struct ckpt_err err = { 0 };
	struct stat b;
	int dfd = -1, rc = 0;

	if (odir == NULL)
		goto out;
	dfd = p->outs[0].dirfd != NULL
		      ? fcntl(*p->outs[0].dirfd, F_DUPFD_CLOEXEC, 0)
		      : open(odir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &b) < 0)
		goto out;
	for (size_t i = 0; i < p->n; i++)
		names[i] = strrchr(p->prefixes[i], '/') + 1;
	/* (1: the one there, or none, is left as it is; the source's
	 * directory unknown, no state file is made) */
	if (!p->src_known ||
	    (p->src_dev == b.st_dev && p->src_ino == b.st_ino))
		rc = 1;
	else
		rc = ckpt_state_write_new(dfd, odir, names, p->n, &err);
	if (rc == 0)
		ckptfs_log(job->fs, LOG_INFO, "wrote %s/checkpoint", odir);
	else if (rc == 1 && !state_names(dfd, odir, names[p->n - 1],
					 p->prefixes[p->n - 1]))
		/* A repair written beside the damaged checkpoint, say (the
		 * newest of both formats is the TF2 one, as it is in a state
		 * file written for them). */
		status_line(job->fs, LOG_INFO, job->warned,
			    "note: %s/checkpoint is left as it is: "
			    "tf.train.latest_checkpoint() of that directory "
			    "finds the checkpoint it names, not %s",
			    odir, names[p->n - 1]);
	else if (rc < 0)
		status_line(job->fs, LOG_WARNING, job->warned,
			    "warning: the checkpoint is written, but not its "
			    "state file: %s",
			    err.msg);
out:
	if (dfd >= 0)
		close(dfd);
	free(odir);
	free(at);
}

/* Files the daemon opens besides the data files and the io_uring queues
 * (the device, its status and log, the spool's, a few changed files). */
#define FILES_BESIDE 64

/* Whether B's data files, all held open, leave the daemon files enough
 * to run, with URING for the io_uring queues; else say so. */
static bool
room_for_files(const struct ckpt_bundle *b, unsigned uring)
{
	uint64_t beside = FILES_BESIDE + (uint64_t)uring;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    (uint64_t)b->hdr.num_shards + beside <= rl.rlim_cur)
		return true;
	ckptfs_log(NULL, LOG_ERR,
		   "%s: its %d data files are held open together, and at "
		   "most %llu files can be open at once (ulimit -Hn), too "
		   "few for them and the %llu more the mount needs%s",
		   b->index_path, b->hdr.num_shards,
		   (unsigned long long)rl.rlim_cur,
		   (unsigned long long)beside,
		   uring > 0 ? " (-o no_uring needs fewer)" : "");
	return false;
}

/* True if the directory of PLAN's default outputs (next to the source)
 * cannot be written: the mount is then read-only, with a warning saying
 * how to make changes, rather than writable with every change failing. */
static bool
default_unwritable(const struct plan *p)
{
	const char *out = p->prefixes[0];
	char *dir = dir_of(out);
	int rc = dir == NULL ? -ENOMEM : dir_writable(dir);

	if (rc < 0)
		ckptfs_log(NULL, LOG_WARNING,
			   "warning: %s: %s: mounted read-only (give -o "
			   "output=PREFIX in a directory that can be written "
			   "to make changes)",
			   dir != NULL ? dir : out, strerror(-rc));
	free(dir);
	return rc < 0;
}

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct ckptfs_config conf = { 0 };
	struct fuse_cmdline_opts opts = { 0 };
	struct ckptfs_tree_opts topts = { 0 };
	struct ckpt_bundle *bundle = NULL;
	struct ckptfs_tree *tree = NULL;
	struct ckpt_err err = { 0 };
	struct fuse_session *se;
	struct ckptfs fs = { 0 };
	struct plan plan = { 0 };
	struct ckpt_buf extra = { 0 }, refused = { 0 }, warned = { 0 };
	int ret = EXIT_FAILURE, rc, status_fd = -1;
	bool ok = false, signalled = false;

	guard_std_fds();
	ckpt_raise_nofile();
#ifdef __GLIBC__
	/* glibc raises its mmap threshold to the size of each large block
	 * freed (the index read at mount), after which large buffers (the
	 * write-out's names, arrays and packed graph) come from the heap,
	 * where growing one copies it and a freed one stays resident.  A
	 * fixed threshold keeps them in mappings of their own, moved by
	 * mremap() and given back when freed: converting 100,000 tensors
	 * peaked 7 MB (7%) lower. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
	if (argc >= 2 && strcmp(argv[1], "-u") == 0) {
		if (argc != 3 || argv[2][0] == '\0') {
			ckptfs_log(NULL, LOG_ERR, "usage: ckptfs -u MOUNTPOINT");
			return EXIT_FAILURE;
		}
		return unmount_wait(argv[2]);
	}
	if (fuse_opt_parse(&args, &conf, ckptfs_opt_spec, opt_proc) != 0)
		goto out_args;
	if (!conf.readahead_set)
		conf.readahead = READAHEAD_KIB;
	if (conf.show_help) {
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = stdout_done();
		goto out_args;
	}
	if (conf.show_version) {
		printf("ckptfs %s\n", PACKAGE_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		if ((ret = stdout_done()) != EXIT_SUCCESS)
			goto out_args;
		fuse_lowlevel_version();	/* fusermount3 prints too */
		ret = stdout_done();
		goto out_args;
	}
	if (conf.checkpoint == NULL || conf.nonopts < 2) {
		/* An option not understood first: "ckptfs --bogus" is not
		 * missing its arguments only. */
		if (fuse_parse_cmdline(&args, &opts) != 0) {
			ckptfs_log(NULL, LOG_ERR, "an option was not "
				   "understood (ckptfs -h lists them)");
			goto out_opts;
		}
		if (!options_known(&args))
			goto out_opts;
		ckptfs_log(NULL, LOG_ERR,
			   "missing %s (usage: ckptfs [options] CHECKPOINT "
			   "MOUNTPOINT)",
			   conf.checkpoint == NULL ? "CHECKPOINT"
						   : "MOUNTPOINT");
		goto out_opts;
	}
	if (conf.nonopts > 2) {
		ckptfs_log(NULL, LOG_ERR, "too many arguments (usage: ckptfs "
			   "[options] CHECKPOINT MOUNTPOINT)");
		goto out_args;
	}
	if (check_mountpoint(conf.mountpoint) < 0)
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts) != 0) {
		/* (libfuse said which, "fuse: invalid parameter ...") */
		ckptfs_log(NULL, LOG_ERR, "an option was not understood "
			   "(ckptfs -h lists them)");
		goto out_args;
	}
	if (!options_known(&args))
		goto out_opts;

	/* What salvage reads of an index may be wrong: every tensor copied
	 * is checked. */
	if (conf.salvage)
		conf.verify = 1;
	rc = ckpt_bundle_open_flags(conf.checkpoint,
				    conf.salvage ? CKPT_OPEN_SALVAGE : 0,
				    &bundle, &err);
	if (rc < 0) {
		ckptfs_log(NULL, LOG_ERR, "%s", ckpt_err_str(&err, rc));
		goto out_opts;
	}
	if (!room_for_files(bundle, conf.no_uring || opts.singlethread
					    ? 0
					    : ckptfs_uring_files()))
		goto out_bundle;
	if (bundle->warning != NULL)
		ckptfs_log(NULL, LOG_WARNING,
			   "warning: %s; reading such a tensor fails with EIO",
			   bundle->warning);
	if (make_plan(&conf, bundle, &plan) < 0)
		goto out_bundle;
	if (conf.ro && conf.output != NULL)
		ckptfs_log(NULL, LOG_WARNING,
			   "warning: -o ro: nothing is written, output=%s "
			   "neither",
			   conf.output);
	/* Said so; changes are EROFS, and the kernel's mount read-only too
	 * (an open with O_TRUNC, which no OPEN request may reach, would
	 * otherwise seem to succeed). */
	if (!conf.ro && conf.output == NULL && default_unwritable(&plan)) {
		conf.ro = 1;
		if (fuse_opt_add_arg(&args, "-oro") != 0) {
			ckptfs_log(NULL, LOG_ERR, "out of memory");
			goto out_bundle;
		}
	}
	/* Its first change would wait for itself: the daemon, holding its
	 * lock, makes the spool through the mount. */
	if (!conf.ro && conf.spool == NULL &&	/* (a given one: make_plan()) */
	    in_mountpoint(plan.spool, conf.mountpoint)) {
		ckptfs_log(NULL, LOG_ERR, "spool %s: inside the mount point "
			   "%s; give -o spool= (or -o output=) outside it",
			   plan.spool, conf.mountpoint);
		goto out_bundle;
	}
	status_fd = status_open();
	if (status_fd < 0)
		goto out_bundle;
	if (info_extra(&extra, &plan, !conf.ro, status_fd) < 0) {
		ckptfs_log(NULL, LOG_ERR, "out of memory");
		goto out_bundle;
	}
	topts.tf2_root = conf.tf2_root;
	topts.uid = getuid();
	topts.gid = getgid();
	topts.info_extra = (const char *)extra.data;
	topts.lazy_object = true;	/* built at first use (fuse_ops.c) */
	rc = ckptfs_tree_build(bundle, &topts, &tree, &err);
	if (rc < 0) {
		ckptfs_log(NULL, LOG_ERR, "%s", ckpt_err_str(&err, rc));
		goto out_bundle;
	}
	if (tree->warning[0] != '\0')
		ckptfs_log(NULL, LOG_WARNING, "warning: %s", tree->warning);
#ifdef __GLIBC__
	/* The build's scratch tables are freed; give their pages back
	 * (a third of the peak for 100,000 tensors). */
	malloc_trim(0);
#endif
	if (!conf.ro) {
		rc = ckptfs_overlay_open(tree, plan.spool, &err);
		if (rc < 0) {
			ckptfs_log(NULL, LOG_ERR, "%s",
				   ckpt_err_str(&err, rc));
			goto out_tree;
		}
		if (ckptfs_overlay_busy(tree))
			ckptfs_log(NULL, LOG_WARNING,
				   "warning: %s: the spool of another mount "
				   "that is still up: changes in this mount "
				   "fail with EBUSY and its unmount writes no "
				   "checkpoint (give it its own -o output= or "
				   "-o spool=, or -o ro)",
				   plan.spool);
		if (savedmodel_converted(bundle, &plan))
			ckptfs_log(NULL, LOG_INFO,
				   "note: %s: a SavedModel's variables "
				   "(saved_model.pb is beside them), which the "
				   "unmount writes in the other format: the "
				   "SavedModel loads only its own "
				   "(-o format=same keeps it)",
				   bundle->prefix);
		if (ckptfs_overlay_dropped(tree) > 0)
			ckptfs_log(NULL, LOG_WARNING,
				   "%s/journal: dropped %zu bytes at its end, "
				   "which a crash left incomplete",
				   plan.spool, ckptfs_overlay_dropped(tree));
		if (ckptfs_overlay_replayed(tree) > 0)
			ckptfs_log(NULL, LOG_INFO, "replayed %zu change%s from "
				   "%s",
				   ckptfs_overlay_replayed(tree),
				   ckptfs_overlay_replayed(tree) == 1 ? "" : "s",
				   plan.spool);
	}
	fs.bundle = bundle;
	fs.tree = tree;
	fs.writable = !conf.ro;
	fs.max_read = conf.max_read;
	fs.readahead = conf.readahead;
	fs.readahead_set = conf.readahead_set;
	pthread_rwlock_init(&fs.ns, NULL);
	atomic_init(&fs.use_syslog, false);
	atomic_init(&fs.no_opendir, false);

	if (add_mount_opts(&args, bundle->prefix) < 0) {
		ckptfs_log(NULL, LOG_ERR, "out of memory");
		goto out_tree;
	}
	se = fuse_session_new(&args, &ckptfs_ops, sizeof(ckptfs_ops), &fs);
	if (se == NULL)
		goto out_tree;	/* libfuse said why */
	fs.se = se;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0) {
		ckptfs_log(NULL, LOG_ERR, "cannot mount on %s",
			   opts.mountpoint);
		goto out_signals;
	}
	if (conf.readahead > 0)
		set_readahead(opts.mountpoint, conf.readahead,
			      conf.readahead_set);
	openlog("ckptfs", LOG_PID, LOG_DAEMON);
	if (fuse_daemonize(opts.foreground) != 0)
		goto out_unmount;
	if (!opts.foreground)
		atomic_store(&fs.use_syslog, true);
	set_info_pid(tree);
	if (ckptfs_notifier_start(&fs) < 0)
		goto out_unmount;
	if (!conf.no_uring && !opts.singlethread) {
		rc = ckptfs_uring_start(se, &fs);
		if (rc < 0)
			ckptfs_log(&fs, LOG_WARNING,
				   "warning: requests go through /dev/fuse, "
				   "not io_uring: %s",
				   strerror(-rc));
	}
	rc = run_loop(se, &opts);	/* 0 after unmount, signo on a signal */
	/* A worker that took a request as an unmount's teardown
	 * disconnected the queue is told ECONNABORTED, not ENODEV: the end
	 * all the same once the mount is gone (an abort through
	 * /sys/fs/fuse leaves it). */
	if (rc == -ECONNABORTED && !is_ckptfs_mount(opts.mountpoint, NULL))
		rc = 0;
	signalled = rc > 0;
	if (rc > 0) {
		/* What the rings hold is finished as the loop finished its
		 * threads' requests, then nothing more is taken. */
		ckptfs_uring_quiesce(30000);
		drain(se, &fs);
		ckptfs_uring_close(30000);
	}
	ckptfs_notifier_stop(&fs);
	if (rc < 0)
		ckptfs_log(&fs, LOG_ERR, "session loop failed: %s",
			   strerror(-rc));
	else
		ok = true;
out_unmount:
	fuse_session_unmount(se);
	ckptfs_uring_stop();	/* its entries are gone with the mount */
	if (ok && fs.writable) {
		bool wrote = false, busy;
		struct state_job job = { &fs, &plan, &warned };

		/* Unmounted: nothing waits on us while we write. */
		ckptfs_ov_on_written(tree, write_state, &job);
		if (conf.verify)
			ckptfs_ov_verify_all(tree);
		if (signalled)
			ckptfs_ov_cut_off(tree);
		/* A mount sharing another's spool shares its output: that
		 * mount's to write (it may have written its changes there
		 * already), never this one's, output= or not. */
		busy = ckptfs_overlay_busy(tree);
		rc = ckptfs_ov_commit(tree, plan.outs, plan.n,
				      (plan.force && !busy ? CKPTFS_COMMIT_FORCE
							   : 0) |
					      CKPTFS_COMMIT_LAST,
				      &wrote, &err);
		if (rc < 0) {
			char why[sizeof(err.msg)];

			ok = false;
			snprintf(why, sizeof(why), "%s", ckpt_err_str(&err, rc));
			memcpy(err.msg, why, sizeof(why));
			if (err.code == 0)	/* (for ckpt_err_append()) */
				err.code = rc;
		}
		if (rc < 0 && wrote) {
			/* The checkpoint is complete; only the spool stays
			 * (a mount of it says its changes were written). */
			ok = true;
			rc = 0;
			for (size_t i = 0; i < plan.n; i++)
				log_wrote(&fs, &plan, i);
			status_line(&fs, LOG_WARNING, &warned,
				    "warning: the checkpoint is written, but "
				    "%s; remove it by hand",
				    err.msg);
			note_meta_changes(&fs, tree, &warned);
		} else if (rc < 0 && !ckptfs_overlay_changed(tree)) {
			/* Nothing was changed (a write forced by output=):
			 * there is no spool to keep. */
			ckptfs_log(&fs, LOG_ERR,
				   "writing the checkpoint failed: %s",
				   err.msg);
		} else if (rc < 0 && ckptfs_overlay_spool_gone(tree)) {
			/* (the directory of the source, output and spool
			 * removed while mounted, say) */
			ckptfs_log(&fs, LOG_ERR,
				   "writing the checkpoint failed: %s; the "
				   "spool %s was removed (or moved) while "
				   "mounted, and the changes with it",
				   err.msg, plan.spool);
			char *tail = NULL;

			if (asprintf(&tail,
				     "; the spool %s was removed (or moved) "
				     "while mounted, and the changes with it",
				     plan.spool) >= 0)
				ckpt_err_append(&err, tail, true);
			free(tail);
		} else if (rc < 0) {
			ckptfs_log(&fs, LOG_ERR,
				   "writing the checkpoint failed: %s; the "
				   "changes are kept in %s (mount again with "
				   "-o %s to get them back)",
				   err.msg, plan.spool, plan.again);
			char *tail = NULL;

			if (asprintf(&tail,
				     "; changes kept in %s (mount again with -o "
				     "%s)",
				     plan.spool, plan.again) >= 0)
				ckpt_err_append(&err, tail, true);
			free(tail);
		} else if (wrote) {
			for (size_t i = 0; i < plan.n; i++)
				log_wrote(&fs, &plan, i);
			note_meta_changes(&fs, tree, &warned);
		} else if (busy) {
			status_line(&fs, LOG_INFO, &warned,
				    "note: no checkpoint was written: the "
				    "spool %s was another mount's when this "
				    "one came up, and its output is that "
				    "mount's to write",
				    plan.spool);
		} else {
			/* Unmounting to convert without output= is the
			 * likely mistake: say why there is nothing. */
			status_line(&fs, LOG_INFO, &warned,
				    "note: nothing was changed, so no "
				    "checkpoint was written (-o output=PREFIX "
				    "writes one anyway)");
		}
		/* after the summary: each refused tensor's line */
		if (rc < 0)
			keep_refusals(&fs, ckptfs_ov_refusals(tree), &refused);
	}
	ret = ok ? EXIT_SUCCESS : EXIT_FAILURE;
	closelog();
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_tree:
	if (fs.tree != NULL)
		pthread_rwlock_destroy(&fs.ns);
	if (tree != NULL)
		ckptfs_overlay_close(tree);
	ckptfs_tree_free(tree);
out_bundle:
	status_close(status_fd, ret == EXIT_SUCCESS,
		     err.msg[0] ? err.msg : "the mount failed",
		     ret == EXIT_SUCCESS ? &warned : &refused);
	ckpt_buf_free(&refused);
	ckpt_buf_free(&warned);
	ckpt_buf_free(&extra);
	plan_free(&plan);
	ckpt_bundle_close(bundle);
out_opts:
	free(opts.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	free(conf.checkpoint);
	free(conf.tf2_root);
	free(conf.output);
	free(conf.format);
	free(conf.spool);
	return ret;
}
