/* test_state.c -- covers src/state.c and ckpt_resolve_prefix() in
 * src/bundle.c: the text-format "checkpoint" file, and every way of naming
 * a checkpoint (prefix, .index, .data shard, directory). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "bundle_writer.h"
#include "check.h"

/* Parse TEXT; return the code, the path in *OUT (caller frees). */
static int
parse(const char *text, char **out)
{
	struct ckpt_err err = { 0 };

	return ckpt_state_parse(text, strlen(text), out, &err);
}

static void
test_parse(void)
{
	char *p = NULL;

	CHECK_EQ_INT(parse("model_checkpoint_path: \"ckpt-1\"\n"
			   "all_model_checkpoint_paths: \"ckpt-1\"\n",
			   &p),
		     0);
	CHECK_EQ_STR(p, "ckpt-1");
	free(p);

	/* CheckpointManager's timestamps, comments, several paths. */
	CHECK_EQ_INT(parse("# written by TF\n"
			   "model_checkpoint_path: \"/abs/model.ckpt-20\"\n"
			   "all_model_checkpoint_paths: \"/abs/model.ckpt-10\"\n"
			   "all_model_checkpoint_paths: \"/abs/model.ckpt-20\"\n"
			   "all_model_checkpoint_timestamps: 1700000000.5\n"
			   "all_model_checkpoint_timestamps: 1700000100.25\n"
			   "last_preserved_timestamp: 1699999999.0\n",
			   &p),
		     0);
	CHECK_EQ_STR(p, "/abs/model.ckpt-20");
	free(p);

	/* C escapes: quote, backslash, hex, octal, single quotes. */
	CHECK_EQ_INT(parse("model_checkpoint_path: \"a\\\"b\\\\c\\x41\\101\"", &p),
		     0);
	CHECK_EQ_STR(p, "a\"b\\cAA");
	free(p);
	CHECK_EQ_INT(parse("model_checkpoint_path: 'x y'", &p), 0);
	CHECK_EQ_STR(p, "x y");
	free(p);

	/* The last of repeated model_checkpoint_path fields wins. */
	CHECK_EQ_INT(parse("model_checkpoint_path: \"a\" "
			   "model_checkpoint_path: \"b\"",
			   &p),
		     0);
	CHECK_EQ_STR(p, "b");
	free(p);

	p = NULL;
	CHECK_EQ_INT(parse("", &p), -ENOENT);
	CHECK(p == NULL);
	CHECK_EQ_INT(parse("all_model_checkpoint_paths: \"x\"", &p), -ENOENT);
	CHECK_EQ_INT(parse("model_checkpoint_path: \"\"", &p), -ENOENT);
	CHECK_EQ_INT(parse("model_checkpoint_path: \"unterminated", &p),
		     -EBADMSG);
	CHECK_EQ_INT(parse("model_checkpoint_path \"x\"", &p), -EBADMSG);
	CHECK_EQ_INT(parse("model_checkpoint_path: \"bad\\q\"", &p), -EBADMSG);
	CHECK_EQ_INT(parse("model_checkpoint_path:", &p), -EBADMSG);
	CHECK_EQ_INT(parse(": \"x\"", &p), -EBADMSG);
	/* A NUL in the path would cut it: said so, naming the line. */
	{
		struct ckpt_err err = { 0 };
		static const char t[] = "# x\nmodel_checkpoint_path: "
					"\"ck\\000pt\"\n";

		CHECK_EQ_INT(ckpt_state_parse(t, strlen(t), &p, &err),
			     -EBADMSG);
		CHECK(p == NULL);
		CHECK(strstr(err.msg, "line 2: model_checkpoint_path holds "
				      "a NUL byte") != NULL);
	}
	/* Each error names the line of its field, not the next one. */
#define T "last_preserved_timestamp"
#define M "model_checkpoint_path"
	{
		static const struct {
			const char *text, *msg;
		} v[] = {
			{ "garbage\n", "line 1: expected 'field: value'" },
			{ T ": 1\nbad\n\n", "line 2: expected 'field: value'" },
			{ T ": 1\n" T ":\n", "line 2: missing value" },
			{ T ": 1\n\n" M ": \"x\n", "line 3: malformed string" },
			/* a bit flipped in a field's name */
			{ M ": \"a\"\naln_model_checkpoint_paths: \"a\"\n",
			  "line 2: unknown field 'aln_model_checkpoint_paths' "
			  "(damaged? TensorFlow ignores a state file it cannot "
			  "parse)" },
			{ "oodel_checkpoint_path: \"a\"\n",
			  "line 1: unknown field 'oodel_checkpoint_path'" },
		};

		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
			struct ckpt_err err = { 0 };

			CHECK_EQ_INT(ckpt_state_parse(v[i].text,
						      strlen(v[i].text), &p,
						      &err),
				     -EBADMSG);
			CHECK(strstr(err.msg, v[i].msg) != NULL);
		}
	}
	CHECK_EQ_INT(parse("all_model_checkpoint_paths: \"a\\0\"\n"
			   "model_checkpoint_path: \"b\"",
			   &p),
		     0);
	CHECK_EQ_STR(p, "b");
	free(p);
}

/* Create an empty file. */
static void
touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	close(fd);
}

/* Write TEXT to PATH. */
static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static void
test_resolve(void)
{
	char dir[PATH_MAX - 64];
	char path[PATH_MAX], want[PATH_MAX], text[PATH_MAX + 64];
	struct ckpt_err err = { 0 };
	char *p;

	check_mkdtemp(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/model.ckpt-7.index", dir);
	touch(path);
	snprintf(want, sizeof(want), "%s/model.ckpt-7", dir);

	/* The prefix itself, its .index, and one of its shards. */
	CHECK_EQ_INT(ckpt_resolve_prefix(want, &p, &err), 0);
	CHECK_EQ_STR(p, want);
	free(p);
	CHECK_EQ_INT(ckpt_resolve_prefix(path, &p, &err), 0);
	CHECK_EQ_STR(p, want);
	free(p);
	snprintf(path, sizeof(path), "%s/model.ckpt-7.data-00000-of-00001", dir);
	touch(path);
	CHECK_EQ_INT(ckpt_resolve_prefix(path, &p, &err), 0);
	CHECK_EQ_STR(p, want);
	free(p);
	/* A prefix that looks like a shard name is one when its .index is
	 * there. */
	snprintf(path, sizeof(path), "%s/p.data-00000-of-00001.index", dir);
	touch(path);
	path[strlen(path) - 6] = '\0';
	CHECK_EQ_INT(ckpt_resolve_prefix(path, &p, &err), 0);
	CHECK_EQ_STR(p, path);
	free(p);
	/* A shard name that is not there is not taken for its prefix. */
	snprintf(path, sizeof(path), "%s/model.ckpt-7.data-00009-of-00010", dir);
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_resolve_prefix(path, &p, &err), -ENOENT);
	CHECK(p == NULL);
	CHECK(strstr(err.msg, "model.ckpt-7.data-00009-of-00010: No such") !=
	      NULL);

	/* A directory: relative path in the state file. */
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	write_text(path, "model_checkpoint_path: \"model.ckpt-7\"\n");
	CHECK_EQ_INT(ckpt_resolve_prefix(dir, &p, &err), 0);
	CHECK_EQ_STR(p, want);
	free(p);

	/* ... and an absolute one, as TF1's Saver writes it. */
	snprintf(text, sizeof(text), "model_checkpoint_path: \"%s\"\n", want);
	write_text(path, text);
	CHECK_EQ_INT(ckpt_resolve_prefix(dir, &p, &err), 0);
	CHECK_EQ_STR(p, want);
	free(p);

	/* A state file naming a checkpoint that is gone. */
	write_text(path, "model_checkpoint_path: \"model.ckpt-8\"\n");
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_resolve_prefix(dir, &p, &err), -ENOENT);
	CHECK(p == NULL);
	CHECK(strstr(err.msg, "model.ckpt-8.index") != NULL);

	/* A broken state file names itself. */
	write_text(path, "model_checkpoint_path \"x\"\n");
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_resolve_prefix(dir, &p, &err), -EBADMSG);
	CHECK(strstr(err.msg, "/checkpoint") != NULL);
	CHECK(strstr(err.msg, "line 1") != NULL);

	/* No such prefix; a directory without a state file. */
	unlink(path);
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_resolve_prefix(dir, &p, &err), -ENOENT);
	CHECK(strstr(err.msg, "checkpoint") != NULL);
	snprintf(path, sizeof(path), "%s/nope", dir);
	ckpt_err_clear(&err);
	CHECK_EQ_INT(ckpt_resolve_prefix(path, &p, &err), -ENOENT);
	CHECK(strstr(err.msg, "nope.index") != NULL);

	check_rmtree(dir);
}

/* The state file written for a new output: as TensorFlow writes it,
 * parsed back to the newest path whatever its bytes, made only where there
 * is none, and resolved by ckpt_resolve_prefix(). */
static void
test_write(void)
{
	static const char *const odd[] = {
		"a \"quoted\" \\ 'name'", "line\nbreak\ttab", "\xc3\xa9t\xc3\xa9",
		"\x01\x7f\xff", "model.ckpt-42",
	};
	static const char want2[] =
		"model_checkpoint_path: \"model.tf2\"\n"
		"all_model_checkpoint_paths: \"model.tf1\"\n"
		"all_model_checkpoint_paths: \"model.tf2\"\n";
	const char *two[] = { "model.tf1", "model.tf2" };
	char dir[PATH_MAX - 64], path[PATH_MAX], prefix[PATH_MAX], *p;
	struct ckpt_buf text = { 0 };
	struct ckpt_err err = { 0 };
	int dfd;

	text.len = 0;
	CHECK_EQ_INT(ckpt_state_format(&odd[1], 1, &text), 0);
	CHECK(memmem(text.data, text.len, "\"line\\nbreak\\ttab\"", 17) !=
	      NULL);
	for (size_t i = 0; i < ARRAY_SIZE(odd); i++) {
		text.len = 0;
		CHECK_EQ_INT(ckpt_state_format(&odd[i], 1, &text), 0);
		CHECK_EQ_INT(ckpt_state_parse((const char *)text.data, text.len,
					      &p, &err),
			     0);
		CHECK_EQ_STR(p, odd[i]);
		free(p);
	}
	text.len = 0;
	CHECK_EQ_INT(ckpt_state_format(two, 2, &text), 0);
	CHECK_EQ_MEM(text.data, text.len, want2, strlen(want2));
	text.len = 0;
	CHECK_EQ_INT(ckpt_state_format(two, 0, &text), -EINVAL);
	ckpt_buf_free(&text);

	check_mkdtemp(dir, sizeof(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0);
	/* what a writer killed before linking it left: removed */
	snprintf(path, sizeof(path), "%s/checkpoint.tempstate123", dir);
	touch(path);
	CHECK_EQ_INT(ckpt_state_write_new(dfd, dir, &two[1], 1, &err), 0);
	CHECK(access(path, F_OK) < 0);
	snprintf(path, sizeof(path), "%s/model.tf2.index", dir);
	snprintf(prefix, sizeof(prefix), "%s/model.tf2", dir);
	touch(path);
	CHECK_EQ_INT(ckpt_resolve_prefix(dir, &p, &err), 0);
	CHECK_EQ_STR(p, prefix);
	free(p);
	/* There is one now: left as it is (a temporary file killed after
	 * the link left is removed all the same). */
	snprintf(path, sizeof(path), "%s/checkpoint.tempstate9", dir);
	touch(path);
	CHECK_EQ_INT(ckpt_state_write_new(dfd, dir, &two[0], 1, &err), 1);
	CHECK(access(path, F_OK) < 0);
	CHECK_EQ_INT(ckpt_resolve_prefix(dir, &p, &err), 0);
	CHECK_EQ_STR(p, prefix);
	free(p);
	/* Nothing else was left there (a temporary file). */
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/model.tf2.index", dir);
	unlink(path);
	CHECK_EQ_INT(rmdir(dir), 0);
	/* A directory that cannot be written: the error names the file. */
	ckpt_err_clear(&err);
	CHECK(ckpt_state_write_new(dfd, dir, two, 1, &err) < 0);
	CHECK(strstr(err.msg, "/checkpoint") != NULL);
	close(dfd);
}

int
main(void)
{
	test_parse();
	test_resolve();
	test_write();
	return check_done("test_state");
}
