#!/usr/bin/env bats
# Covers: src/ckptfs.c, src/fuse_ops.c, src/tree.c.
# The command line (help, version, errors before mounting, fstab-style
# argument order, daemonizing) and mounting every real TensorFlow
# checkpoint: values, sizes, xattrs, both views, info.json, two mounts
# compared with diff -r, and a damaged copy that fails on one file only.

load helpers

# CRC-32C of FILE as 8 hex digits (python3; skips without it).
crc32c_of() {
	command -v python3 >/dev/null || skip "python3 not installed"
	python3 - "$1" <<'EOF'
import sys
t = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    t.append(c)
c = 0xFFFFFFFF
for b in open(sys.argv[1], 'rb').read():
    c = t[(c ^ b) & 0xFF] ^ (c >> 8)
print('%08x' % (c ^ 0xFFFFFFFF))
EOF
}

@test "--help lists our options, then libfuse's" {
	run -0 "$CKPTFS" --help
	assert_line --partial "usage: "
	assert_line --partial "CHECKPOINT MOUNTPOINT"
	assert_line --partial "-o tf2_root=NAME"
	assert_line --partial "-o readahead=KIB       the mount's readahead (default: 512, raised"
	assert_line --partial "-o allow_other"
}

@test "--version names ckptfs and libfuse" {
	run -0 "$CKPTFS" --version
	assert_line --index 0 --regexp '^ckptfs [0-9]+\.[0-9]+\.[0-9]+$'
	assert_line --partial "FUSE library version"
}

@test "--help and --version that cannot be written say so, exit 1" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -1 bash -c '"$1" --version >/dev/full' _ "$CKPTFS"
	assert_output "ckptfs: standard output: No space left on device"
	run -1 bash -c '"$1" --help >/dev/full' _ "$CKPTFS"
	assert_output "ckptfs: standard output: No space left on device"
}

@test "a missing checkpoint is one line and exit 1" {
	mkdir -p "$BATS_TEST_TMPDIR/mnt"
	run -1 timeout 10 "$CKPTFS" "$BATS_TEST_TMPDIR/nope" \
		"$BATS_TEST_TMPDIR/mnt"
	assert_output --regexp '^ckptfs: .*nope.*$'
	[ "${#lines[@]}" -eq 1 ]
}

@test "a damaged index is one line and exit 1" {
	local p
	p=$(fixture tf1)
	mkdir -p "$BATS_TEST_TMPDIR/bad" "$BATS_TEST_TMPDIR/mnt"
	cp "$p".* "$BATS_TEST_TMPDIR/bad/"
	truncate -s 30 "$BATS_TEST_TMPDIR/bad/ckpt.index"
	run -1 timeout 10 "$CKPTFS" "$BATS_TEST_TMPDIR/bad/ckpt" \
		"$BATS_TEST_TMPDIR/mnt"
	assert_output --regexp '^ckptfs: .*ckpt\.index.*$'
	[ "${#lines[@]}" -eq 1 ]
	run ! mountpoint -q "$BATS_TEST_TMPDIR/mnt"
}

@test "bad mount points and missing arguments are one line and exit 1" {
	local p
	p=$(fixture tf1)
	run -1 timeout 10 "$CKPTFS" "$p" "$BATS_TEST_TMPDIR/none"
	assert_output "ckptfs: mount point $BATS_TEST_TMPDIR/none: No such file or directory"
	touch "$BATS_TEST_TMPDIR/file"
	run -1 timeout 10 "$CKPTFS" "$p" "$BATS_TEST_TMPDIR/file"
	assert_output "ckptfs: mount point $BATS_TEST_TMPDIR/file: not a directory"
	run -1 timeout 10 "$CKPTFS" "$p"
	assert_output --regexp '^ckptfs: missing MOUNTPOINT'
	run -1 timeout 10 "$CKPTFS"
	assert_output --regexp '^ckptfs: missing CHECKPOINT'
	# an option not understood is said first, not a missing argument
	run -1 timeout 10 "$CKPTFS" --bogus
	assert_line "ckptfs: an option was not understood (ckptfs -h lists them)"
	refute_output --partial missing
	run -1 timeout 10 "$CKPTFS" -u "$BATS_TEST_TMPDIR/none"
	assert_output "ckptfs: mount point $BATS_TEST_TMPDIR/none: No such file or directory"
	run -1 timeout 10 "$CKPTFS" "$p" "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR"
	assert_output --regexp '^ckptfs: too many arguments'
}

@test "a busy mount point is refused" {
	local p
	p=$(fixture tf1)
	mount_ckpt "$p"
	run -1 timeout 10 "$CKPTFS" "$p" "$MNT"
	assert_output "ckptfs: $MNT: mount point busy (something is already mounted there)"
	# a bind mount of a directory of the same file system (the same
	# device as the directory above)
	local b=$BATS_TEST_TMPDIR/bind
	mkdir "$b"
	mount --bind "$b" "$b" 2>/dev/null || skip "cannot bind mount here"
	run -1 timeout 10 "$CKPTFS" "$p" "$b"
	# (a ckptfs mounted on it by mistake goes first)
	! grep -q " $b fuse.ckptfs " /proc/mounts || fusermount3 -u "$b"
	umount "$b"
	assert_output "ckptfs: $b: mount point busy (something is already mounted there)"
}

@test "an unknown option fails before mounting" {
	local p
	p=$(fixture tf1)
	mkdir -p "$BATS_TEST_TMPDIR/mnt"
	run -1 timeout 10 "$CKPTFS" -o no_such_option "$p" "$BATS_TEST_TMPDIR/mnt"
	assert_output --partial "no_such_option"
	assert_line "ckptfs: an option was not understood (ckptfs -h lists them)"
	run ! mountpoint -q "$BATS_TEST_TMPDIR/mnt"
	# before the checkpoint is even opened
	run -1 timeout 10 "$CKPTFS" --no-such "$BATS_TEST_TMPDIR/nope" \
		"$BATS_TEST_TMPDIR/mnt"
	assert_output --partial "--no-such"
	refute_output --partial "nope"
	# a value libfuse refuses: its line, then ours (there was none)
	run -1 timeout 10 "$CKPTFS" -o max_threads=x "$p" "$BATS_TEST_TMPDIR/mnt"
	assert_line --partial "max_threads=x"
	assert_line "ckptfs: an option was not understood (ckptfs -h lists them)"
	run -1 timeout 10 "$CKPTFS" -o max_threads=x "$p"
	assert_line "ckptfs: an option was not understood (ckptfs -h lists them)"
	run ! mountpoint -q "$BATS_TEST_TMPDIR/mnt"
}

@test "ckptfs -u on a mount point with a blank or a backslash in its name" {
	local m
	for m in "$BATS_TEST_TMPDIR/a b" "$BATS_TEST_TMPDIR/c\\d"; do
		mkdir "$m"
		"$CKPTFS" -o ro "$(fixture tf1)" "$m" 3>&-
		CKPTFS_EXTRA_MNTS+=("$m")
		# mountinfo writes them \040 and \134
		run -0 timeout 60 "$CKPTFS" -u "$m"
		run ! mountpoint -q "$m"
	done
}

@test "ckptfs -u through a symbolic link to the mount point, live or dead" {
	local m=$BATS_TEST_TMPDIR/m pid
	mkdir "$m"
	ln -s m "$BATS_TEST_TMPDIR/rel"
	ln -s "$BATS_TEST_TMPDIR/rel" "$BATS_TEST_TMPDIR/abs"
	"$CKPTFS" -o ro "$(fixture tf1)" "$m" 3>&-
	CKPTFS_EXTRA_MNTS+=("$m")
	run -0 timeout 60 "$CKPTFS" -u "$BATS_TEST_TMPDIR/abs"
	run ! mountpoint -q "$m"
	# a daemon killed: the link cannot be followed into the mount (with
	# a trailing slash, "link/" would be what it points to)
	for l in rel abs/; do
		"$CKPTFS" -o ro "$(fixture tf1)" "$m" 3>&-
		pid=$(pgrep -n -f -- "-o ro $(fixture tf1) $m")
		kill -9 "$pid"
		while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
		run -1 timeout 60 "$CKPTFS" -u "$BATS_TEST_TMPDIR/$l"
		assert_output --partial "had exited (killed?): unmounted (it was read-only: nothing to write)"
		run ! mountpoint -q "$m"
	done
	run -1 "$CKPTFS" -u ""
	assert_output "ckptfs: usage: ckptfs -u MOUNTPOINT"
}

@test "-o max_read=N mounts and reads (libfuse wants init() to ask for it)" {
	local v
	mount_ckpt -o ro,max_read=8192 "$(fixture tf1)"
	[ "$(values "$MNT/by-name/dense/kernel" f4)" = "0 1 2 3 4 5" ]
	run -0 cat "$MNT/info.json"
	assert_output --partial '"endianness": "little"'
	assert_output --regexp '"pid": +[0-9]+,'
	unmount_ckpt
	# what the kernel would refuse, saying only "Invalid argument", is
	# refused before the checkpoint is opened
	for v in -1 99999999999 4096x ""; do
		run -1 timeout 10 "$CKPTFS" -o ro,max_read="$v" \
			"$BATS_TEST_TMPDIR/nope" "$MNT"
		assert_output "ckptfs: max_read=$v: not a number of bytes"
	done
}

# Whether a mount's readahead can be set here (/sys read-only in a
# container, or a chroot of one).
sys_writable() {
	local f
	for f in /sys/class/bdi/*/read_ahead_kb; do
		[ -w "$f" ]
		return
	done
}

# The readahead of the mount at MNT (KiB), from its backing device.
readahead_of() {
	cat "/sys/class/bdi/$(mountpoint -d "$MNT")/read_ahead_kb"
}

# The largest reply the daemon of the last mount logged (with -d), and
# whether every one of 64 KiB or more was spliced: "SIZE spliced|copied".
largest_reply() {
	awk '/outsize: / { n = $NF == "(splice)" ? $(NF - 1) : $NF
		if (n + 0 > max) max = n + 0
		if (n + 0 >= 65536 && $NF != "(splice)") copied = 1 }
	     END { print max, copied ? "copied" : "spliced" }' "$CKPTFS_LOG"
}

@test "-o readahead=KIB: the mount's readahead; reads up to 960 KiB, spliced" {
	local p v
	[ "$(id -u)" = 0 ] || skip "only root can set a mount's readahead"
	sys_writable || skip "/sys is read-only here: no mount's readahead can be set"
	# its largest tensor, embedding/embeddings, is 2 MiB
	p=$(fixture big --tensors 4 --bytes 8388608)
	mount_ckpt "$p" -o ro,no_uring -d
	[ "$(readahead_of)" = 512 ]
	# read in requests past what the kernel's 128 KiB allows (cat asks
	# for twice the readahead), at most 960 KiB (and a 16-byte header):
	# each fits a pipe of 1 MiB, so it is spliced, not copied
	cat "$MNT/by-name/embedding/embeddings" >/dev/null
	[ "$(largest_reply)" = "983056 spliced" ]
	cmp "$MNT/by-name/embedding/embeddings" \
		"$MNT/by-object/vars/embedding.Sembeddings/.ATTRIBUTES/VARIABLE_VALUE"
	unmount_ckpt
	mount_ckpt "$p" -o readahead=300
	[ "$(readahead_of)" = 300 ]
	unmount_ckpt
	# whole pages: 1 KiB is one, not none
	mount_ckpt "$p" -o readahead=1
	[ "$(readahead_of)" = 4 ]
	unmount_ckpt
	# 0: the kernel's own, 128 KiB for FUSE, and requests no larger
	mount_ckpt "$p" -o ro,no_uring,readahead=0 -d
	[ "$(readahead_of)" = 128 ]
	cat "$MNT/by-name/embedding/embeddings" >/dev/null
	[ "$(largest_reply)" = "262160 spliced" ]
	unmount_ckpt
	for v in -1 1048577 12k ""; do
		run -1 timeout 10 "$CKPTFS" -o ro,readahead="$v" "$p" "$MNT"
		assert_output "ckptfs: readahead=$v: not a number of KiB up to 1048576"
	done
}

@test "-o ro: a read-only mount, typed fuse.ckptfs, named after the prefix" {
	local p
	p=$(fixture tf1)
	mount_ckpt "$p" -o ro
	run -0 grep " $MNT fuse.ckptfs " /proc/mounts
	assert_output --regexp "^$p $MNT fuse.ckptfs ro,"
	run ! sh -c "echo 1 > '$MNT/by-name/a'"
	run ! touch "$MNT/by-name/new"
	run ! mkdir "$MNT/by-name/dir"
	run ! rm "$MNT/by-name/a"
	[ "$(stat -c %a "$MNT/by-name/a")" = 444 ]
	[ "$(stat -c %a "$MNT/by-name")" = 555 ]
	[ "$(stat -c %u:%g "$MNT/by-name/a")" = "$(id -u):$(id -g)" ]
	[ "$(stat -c %Y "$MNT/by-name/a")" = "$(stat -c %Y "$p.index")" ]
}

@test "-o ro: reads send no OPEN or RELEASE, and read the same bytes" {
	local p f n
	p=$(fixture tf1)
	mount_ckpt "$p" -o ro -d
	for n in 1 2; do
		for f in a:a b:b scoped/c:scoped.Sc dense/kernel:dense.Skernel \
			dense/kernel@/Adam:dense.Skernel.SAdam; do
			cmp "$MNT/by-name/${f%%:*}" \
				"$MNT/by-object/vars/${f#*:}/.ATTRIBUTES/VARIABLE_VALUE"
		done
	done
	[ "$(values "$MNT/by-name/dense/kernel" f4)" = "0 1 2 3 4 5" ]
	[ "$(values "$MNT/by-name/scoped/c" f4)" = 3 ]
	# The first OPEN is answered ENOSYS; the kernel sends no more.
	run -0 grep -c 'opcode: OPEN (' "$CKPTFS_LOG"
	assert_output 1
	run -1 grep -c 'opcode: RELEASE (' "$CKPTFS_LOG"
	assert_output 0
	unmount_ckpt
	# A writable mount opens and releases every file it reads.
	mount_ckpt "$p" -d
	for f in a b scoped/c; do
		cat "$MNT/by-name/$f" >/dev/null
	done
	run -0 grep -c 'opcode: OPEN (' "$CKPTFS_LOG"
	assert_output 3
}

@test "CHECKPOINT may be the .index or a directory with a checkpoint file" {
	local p d
	p=$(fixture tf1)
	mount_ckpt "$p.index"
	[ "$(values "$MNT/by-name/b" f4)" = 2 ]
	d=$BATS_TEST_TMPDIR/dir
	mkdir -p "$d"
	cp "$p".* "$d/"
	echo 'model_checkpoint_path: "ckpt"' >"$d/checkpoint"
	mount_ckpt "$d"
	[ "$(values "$MNT/by-name/b" f4)" = 2 ]
	run -0 grep -F "\"source\": \"$d/ckpt\"" "$MNT/info.json"
}

@test "options after the arguments, and mount.fuse3 as fstab runs it" {
	local p
	p=$(fixture tf1)
	mount_ckpt "$p" -o tf2_root=model
	[ -f "$MNT/by-object/model/a/.ATTRIBUTES/VARIABLE_VALUE" ]
	command -v mount.fuse3 >/dev/null || skip "mount.fuse3 not installed"
	mkdir -p "$BATS_TEST_TMPDIR/fstab"
	CKPTFS_EXTRA_MNTS+=("$BATS_TEST_TMPDIR/fstab")
	# What mount(8) runs for an fstab line of type fuse.ckptfs.
	PATH=$(dirname "$CKPTFS"):$PATH run -0 timeout 20 mount.fuse3 "$p" \
		"$BATS_TEST_TMPDIR/fstab" -t fuse.ckptfs \
		-o rw,nosuid,nodev,tf2_root=fromfstab
	mountpoint -q "$BATS_TEST_TMPDIR/fstab"
	run -0 grep " $BATS_TEST_TMPDIR/fstab fuse.ckptfs " /proc/mounts
	assert_output --regexp " fuse.ckptfs rw,nosuid,nodev,"
	[ -f "$BATS_TEST_TMPDIR/fstab/by-object/fromfstab/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE" ]
	[ "$(values "$BATS_TEST_TMPDIR/fstab/by-name/scoped/c" f4)" = 3 ]
}

@test "more data files than may be open with what the mount needs: said before mounting" {
	local fx m=$BATS_TEST_TMPDIR/m
	fx=$(fixture shards)
	mkdir "$m"
	run -1 bash -c 'ulimit -n 66 && exec "$0" -o ro,no_uring "$1" "$2"' \
		"$CKPTFS" "$fx" "$m"
	assert_output "ckptfs: $fx.index: its 3 data files are held open together, and at most 66 files can be open at once (ulimit -Hn), too few for them and the 64 more the mount needs"
	run ! mountpoint -q "$m"
}

@test "more data files than may be open with io_uring's queues: said before mounting" {
	# a ring and an eventfd for each of two threads per possible CPU,
	# and one, where the kernel offers FUSE over io_uring
	local fx m=$BATS_TEST_TMPDIR/m cpus
	[ "$(cat /sys/module/fuse/parameters/enable_uring 2>/dev/null)" = Y ] ||
		skip "the kernel does not offer FUSE over io_uring"
	fx=$(fixture shards)
	mkdir "$m"
	cpus=$(tr , '\n' </sys/devices/system/cpu/possible |
		awk -F- '{ n += NF == 2 ? $2 - $1 + 1 : 1 } END { print n }')
	run -1 bash -c 'ulimit -n 70 && exec "$0" -o ro "$1" "$2"' \
		"$CKPTFS" "$fx" "$m"
	assert_output "ckptfs: $fx.index: its 3 data files are held open together, and at most 70 files can be open at once (ulimit -Hn), too few for them and the $((64 + 4 * cpus + 1)) more the mount needs (-o no_uring needs fewer)"
	run ! mountpoint -q "$m"
}

@test "a daemonized mount serves and exits on unmount" {
	local p
	p=$(fixture tf1)
	require_fuse
	mkdir -p "$BATS_TEST_TMPDIR/bg"
	CKPTFS_EXTRA_MNTS+=("$BATS_TEST_TMPDIR/bg")
	run -0 timeout 20 "$CKPTFS" "$p" "$BATS_TEST_TMPDIR/bg" 3>&-
	mountpoint -q "$BATS_TEST_TMPDIR/bg"
	[ "$(values "$BATS_TEST_TMPDIR/bg/by-name/global_step" d8)" = 42 ]
	fusermount3 -u "$BATS_TEST_TMPDIR/bg"
	run ! mountpoint -q "$BATS_TEST_TMPDIR/bg"
}

@test "every real checkpoint mounts; every file reads in full at its size" {
	local f name n=0
	require_realdata
	for f in "$RD"/*.index; do
		name=${f%.index}
		mount_ckpt "$name"
		while IFS= read -r -d '' t; do
			[ "$(stat -c %s "$t")" = "$(wc -c <"$t")" ] ||
				fail "$t: size mismatch"
			[ "$(stat -c %i "$t")" != 0 ]
			n=$((n + 1))
		done < <(find "$MNT" -type f -print0)
		unmount_ckpt
	done
	[ "$n" -gt 40 ]
}

@test "half_plus_two (TF1): values, xattrs, one inode in both views" {
	require_realdata
	mount_ckpt "$RD/saved_model_half_plus_two_2_versions_variables"
	run -0 ls "$MNT/by-name"
	assert_output $'a\nb\nc'
	[ "$(values "$MNT/by-name/a" f4)" = 0.5 ]
	[ "$(values "$MNT/by-name/b" f4)" = 2 ]
	[ "$(values "$MNT/by-name/c" f4)" = 3 ]
	[ "$(stat -c %s "$MNT/by-name/a")" = 4 ]
	[ "$(xattr "$MNT/by-name/a" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$MNT/by-name/a" user.ckpt.shape)" = "" ]
	[ "$(xattr "$MNT/by-name/a" user.ckpt.key)" = a ]
	[ "$(xattr "$MNT/by-name/a" user.ckpt.crc32c)" = "$(crc32c_of "$MNT/by-name/a")" ]
	local o=$MNT/by-object/vars/a/.ATTRIBUTES/VARIABLE_VALUE
	cmp "$MNT/by-name/a" "$o"
	[ "$(stat -c %i "$MNT/by-name/a")" = "$(stat -c %i "$o")" ]
	[ "$(stat -c %h "$o")" = 2 ]
	run -0 getfattr -d "$MNT/by-name/c"
	assert_line 'user.ckpt.crc32c="'"$(crc32c_of "$MNT/by-name/c")"'"'
	assert_line 'user.ckpt.dtype="float32"'
	assert_line 'user.ckpt.key="c"'
	assert_line 'user.ckpt.shape=""'
	assert_line 'user.ckpt.byteorder="little"'
	run -0 cat "$MNT/info.json"
	assert_output --partial '"format": "tf1"'
	assert_output --partial '"tensors": 3'
	assert_output --partial '"num_shards": 1'
	assert_output --partial '"endianness": "little"'
	assert_output --partial '"tf2_root": "vars"'
}

@test "half_plus_two_mkl: rank-4 kernels" {
	require_realdata
	mount_ckpt "$RD/saved_model_half_plus_two_mkl_variables"
	run -0 ls "$MNT/by-name"
	assert_output $'a\nb\nc\nconv2d\nconv2d_1\nconv2d_2'
	[ "$(values "$MNT/by-name/conv2d/kernel" f4)" = -0.52239597 ]
	[ "$(values "$MNT/by-name/conv2d_2/kernel" f4)" = 1.5779432 ]
	[ "$(values "$MNT/by-name/conv2d/bias" f4)" = 0 ]
	[ "$(xattr "$MNT/by-name/conv2d/kernel" user.ckpt.shape)" = 1,1,1,1 ]
	[ "$(xattr "$MNT/by-name/conv2d/bias" user.ckpt.shape)" = 1 ]
	run ! cmp "$MNT/by-name/conv2d_1/kernel" \
		"$MNT/by-object/vars/conv2d.Skernel/.ATTRIBUTES/VARIABLE_VALUE"
	cmp "$MNT/by-name/conv2d_1/kernel" \
		"$MNT/by-object/vars/conv2d_1.Skernel/.ATTRIBUTES/VARIABLE_VALUE"
}

@test "half_plus_two_tf2: by-name from the object graph" {
	require_realdata
	mount_ckpt "$RD/saved_model_half_plus_two_tf2_cpu_variables"
	run -0 ls "$MNT/by-name"
	assert_output $'a\nb\nc'
	run -0 ls -A "$MNT/by-object"
	assert_output $'_CHECKPOINTABLE_OBJECT_GRAPH\na\nb\nc'
	[ "$(values "$MNT/by-name/a" f4)" = 0.5 ]
	[ "$(values "$MNT/by-name/b" f4)" = 2 ]
	[ "$(values "$MNT/by-name/c" f4)" = 3 ]
	cmp "$MNT/by-name/b" "$MNT/by-object/b/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(xattr "$MNT/by-name/b" user.ckpt.key)" = b/.ATTRIBUTES/VARIABLE_VALUE ]
	[ "$(stat -c %s "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH")" = 619 ]
	[ "$(xattr "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH" user.ckpt.dtype)" = string ]
	[ "$(stat -c %h "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH")" = 1 ]
	[ "$(xattr "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH" user.ckpt.crc32c)" = \
		"$(crc32c_of "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH")" ]
	run -0 cat "$MNT/info.json"
	assert_output --partial '"format": "tf2"'
	assert_output --partial '"tensors": 4'
}

@test "tf_text_regression: a graph and no values" {
	require_realdata
	mount_ckpt "$RD/tf_text_regression_01_variables_variables"
	run -0 ls -A "$MNT/by-name"
	assert_output ""
	run -0 ls -A "$MNT/by-object"
	assert_output "_CHECKPOINTABLE_OBJECT_GRAPH"
	[ "$(stat -c %s "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH")" = 927 ]
}

@test "info.json has the mount's time, the tensors the index's: rsync -a sees each mount's info.json change" {
	local t0
	cp "$(fixture tf1)".* "$T/"
	touch -d '2001-02-03 04:05:06' "$T"/ckpt.*
	t0=$(date +%s)
	mount_ckpt -o ro "$T/ckpt"
	[ "$(stat -c %Y "$MNT/by-name/dense/kernel")" = \
	  "$(stat -c %Y "$T/ckpt.index")" ]
	[ "$(stat -c %Y "$MNT/info.json")" -ge "$t0" ]
	[ "$(stat -c %Y "$MNT/info.json")" -le "$(date +%s)" ]
}

@test "two mounts of the same checkpoint compare equal with diff -r" {
	local a
	require_realdata
	mount_ckpt "$RD/saved_model_half_plus_two_mkl_variables"
	a=$MNT
	mount_ckpt "$RD/saved_model_half_plus_two_mkl_variables"
	# info.json differs per mount (pid, status file).
	diff -r -x info.json "$a" "$MNT"
	mount_ckpt "$RD/saved_model_half_plus_two_cpu_variables"
	run -1 diff -r -x info.json "$a" "$MNT"
}

@test "a damaged tensor reads as EIO, logged once; other files work" {
	local d
	require_realdata
	d=$BATS_TEST_TMPDIR/damaged
	mkdir -p "$d"
	cp "$RD"/saved_model_half_plus_two_2_versions_variables.* "$d/"
	chmod u+w "$d"/*
	# b = 2.0 is stored at offset 4: 00 00 00 40 -> 00 00 00 41
	printf '\x41' | dd of="$d/saved_model_half_plus_two_2_versions_variables.data-00000-of-00001" \
		bs=1 seek=7 conv=notrunc status=none
	mount_ckpt "$d/saved_model_half_plus_two_2_versions_variables"
	run -1 cat "$MNT/by-name/b"
	assert_output --partial "Input/output error"
	run -1 cat "$MNT/by-object/vars/b/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(values "$MNT/by-name/a" f4)" = 0.5 ]
	[ "$(values "$MNT/by-name/c" f4)" = 3 ]
	[ "$(stat -c %s "$MNT/by-name/b")" = 4 ]
	[ "$(xattr "$MNT/by-name/b" user.ckpt.dtype)" = float32 ]
	run -0 grep -c . "$CKPTFS_LOG"
	assert_output 1
	run -0 cat "$CKPTFS_LOG"
	assert_output --regexp '^ckptfs: .*\bb\b.*'
}
