/* ckptfs.c -- main(): parse the command line, open the checkpoint and
 * build the tree before mounting (so every error is reported on the
 * terminal with exit status 1), then mount, daemonize and run the
 * multi-threaded session loop until unmounted.
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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "bundle.h"
#include "err.h"
#include "tree.h"

struct ckptfs_config {
	char *checkpoint;	/* owned: first non-option argument */
	const char *mountpoint;	/* borrowed from argv: the second one */
	char *tf2_root;		/* owned (fuse_opt) */
	int nonopts;
	int show_help;
	int show_version;
};

enum { KEY_HELP, KEY_VERSION };

#define CKPTFS_OPT(t, field, v) { t, offsetof(struct ckptfs_config, field), v }

static const struct fuse_opt ckptfs_opt_spec[] = {
	CKPTFS_OPT("tf2_root=%s", tf2_root, 0),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

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
static void
usage(const char *prog)
{
	printf("usage: %s [options] CHECKPOINT MOUNTPOINT\n\n"
	       "Mount a TensorFlow checkpoint (a prefix, its .index file, or a\n"
	       "directory with a 'checkpoint' file) read-only at MOUNTPOINT.\n\n"
	       "ckptfs options:\n"
	       "    -o tf2_root=NAME       root of /by-object for a TF1 "
	       "checkpoint\n"
	       "                           (default: vars)\n\n",
	       prog);
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

/* Refuse a mount point that is missing, not a directory, or already a
 * mount point.  "/dev/fd/N" (mount.fuse3 -o drop_privileges) passes. */
static int
check_mountpoint(const char *mnt)
{
	char parent[PATH_MAX];
	struct stat st, pst;

	if (strncmp(mnt, "/dev/fd/", 8) == 0)
		return 0;
	if (stat(mnt, &st) != 0) {
		fprintf(stderr, "ckptfs: %s: %s\n", mnt, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ckptfs: %s: not a directory\n", mnt);
		return -1;
	}
	if (snprintf(parent, sizeof(parent), "%s/..", mnt) <
		    (int)sizeof(parent) &&
	    stat(parent, &pst) == 0 && pst.st_dev != st.st_dev &&
	    pst.st_ino != st.st_ino) {
		fprintf(stderr,
			"ckptfs: %s: mount point busy (something is already "
			"mounted there)\n",
			mnt);
		return -1;
	}
	return 0;
}

/* Mount options we always pass: read-only (last, so it wins over an "rw"
 * from fstab), kernel permission checks on our modes, and a source name
 * and type for /proc/mounts.  The first ones go before the user's
 * options so those can override them. */
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
		     fuse_opt_insert_arg(args, 2, o) ||
		     fuse_opt_add_arg(args, "-oro");
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
	int ret = EXIT_FAILURE, rc;

	guard_std_fds();
	if (fuse_opt_parse(&args, &conf, ckptfs_opt_spec, opt_proc) != 0)
		goto out_args;
	if (conf.show_help) {
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = EXIT_SUCCESS;
		goto out_args;
	}
	if (conf.show_version) {
		printf("ckptfs %s\n", PACKAGE_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		fflush(stdout);	/* fusermount3 prints its version too */
		fuse_lowlevel_version();
		ret = EXIT_SUCCESS;
		goto out_args;
	}
	if (conf.checkpoint == NULL || conf.nonopts < 2) {
		fprintf(stderr, "ckptfs: missing %s (usage: ckptfs [options] "
				"CHECKPOINT MOUNTPOINT)\n",
			conf.checkpoint == NULL ? "CHECKPOINT" : "MOUNTPOINT");
		goto out_args;
	}
	if (conf.nonopts > 2) {
		fprintf(stderr, "ckptfs: too many arguments (usage: ckptfs "
				"[options] CHECKPOINT MOUNTPOINT)\n");
		goto out_args;
	}
	if (check_mountpoint(conf.mountpoint) < 0)
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out_args;

	rc = ckpt_bundle_open(conf.checkpoint, &bundle, &err);
	if (rc < 0) {
		fprintf(stderr, "ckptfs: %s\n", ckpt_err_str(&err, rc));
		goto out_opts;
	}
	topts.tf2_root = conf.tf2_root;
	topts.uid = getuid();
	topts.gid = getgid();
	rc = ckptfs_tree_build(bundle, &topts, &tree, &err);
	if (rc < 0) {
		fprintf(stderr, "ckptfs: %s\n", ckpt_err_str(&err, rc));
		goto out_bundle;
	}
	if (tree->warning[0] != '\0')
		fprintf(stderr, "ckptfs: warning: %s\n", tree->warning);
	fs.bundle = bundle;
	fs.tree = tree;
	atomic_init(&fs.use_syslog, false);
	atomic_init(&fs.no_opendir, false);

	if (add_mount_opts(&args, bundle->prefix) < 0) {
		fprintf(stderr, "ckptfs: out of memory\n");
		goto out_tree;
	}
	se = fuse_session_new(&args, &ckptfs_ops, sizeof(ckptfs_ops), &fs);
	if (se == NULL)
		goto out_tree;	/* libfuse said why */
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0) {
		fprintf(stderr, "ckptfs: cannot mount on %s\n",
			opts.mountpoint);
		goto out_signals;
	}
	openlog("ckptfs", LOG_PID, LOG_DAEMON);
	if (fuse_daemonize(opts.foreground) != 0)
		goto out_unmount;
	if (!opts.foreground)
		atomic_store(&fs.use_syslog, true);
	rc = run_loop(se, &opts);	/* 0 after unmount, signo on a signal */
	if (rc < 0)
		ckptfs_log(&fs, LOG_ERR, "session loop failed: %s",
			   strerror(-rc));
	else
		ret = EXIT_SUCCESS;
out_unmount:
	fuse_session_unmount(se);
	closelog();
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_tree:
	ckptfs_tree_free(tree);
out_bundle:
	ckpt_bundle_close(bundle);
out_opts:
	free(opts.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	free(conf.checkpoint);
	free(conf.tf2_root);
	return ret;
}
