#!/usr/bin/env bats
# Covers: src/fuse_ops.c (copy_file_range), src/overlay.c
# (ckptfs_ov_write_fd), src/bundle_writer.c (ckpt_copy_range).
# copy_file_range(2) inside a mount is answered by the daemon: all of an
# unchanged tensor into a new file is shared (the copy reads the source's
# bytes; nothing is spooled until it changes; replayed after a crash);
# other copies go from the shard or spool file to the destination's spool
# file in the kernel, never through /dev/fuse.  Whole and partial ranges,
# into new and existing tensors, from changed, partitioned, damaged and
# multi-step (over 16 MiB) sources; cp -a within the mount; the written
# checkpoint's values.

load helpers

setup() {
	require_fuse
	command -v jq >/dev/null || skip "jq not installed"
	command -v setfattr >/dev/null || skip "setfattr not installed"
	command -v "$COPY_RANGE" >/dev/null ||
		skip "copy_range not built ($COPY_RANGE)"
	T=$BATS_TEST_TMPDIR
	mkdir -p "$T/src"
	cp "$(fixture tf1)".* "$T/src/"
	P=$T/src/ckpt
}

# Requests of OPCODE the daemon logged so far (a mount with -d).
requests() {
	grep -c "opcode: $1 (" "$CKPTFS_LOG" || true
}

@test "a copy of part of a tensor: by the daemon, no byte through /dev/fuse" {
	local w r
	mount_ckpt "$P" -d -o format=tf1,output="$T/out"
	touch "$MNT/by-name/k2"
	w=$(requests WRITE)
	r=$(requests READ)
	# elements 1..5 of dense/kernel
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/kernel" 4 "$MNT/by-name/k2" 0 1048576
	assert_output 20
	[ "$(requests COPY_FILE_RANGE)" -ge 1 ]
	[ "$(requests WRITE)" = "$w" ]
	[ "$(requests READ)" = "$r" ]
	[ "$(values "$MNT/by-name/k2" f4)" = "1 2 3 4 5" ]
	[ "$(stat -c %s "$MNT/by-name/k2")" = 20 ]
	cmp "$MNT/by-name/k2" "$MNT/by-object/vars/k2/.ATTRIBUTES/VARIABLE_VALUE"
	# At the end of the source: nothing more.
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/kernel" 24 "$MNT/by-name/k2" 20 100
	assert_output 0
	[ "$(stat -c %s "$MNT/by-name/k2")" = 20 ]
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/k2"
	setfattr -n user.ckpt.shape -v 5 "$MNT/by-name/k2"
	finish
	[ "$(val "$T/out" k2)" = "[1,2,3,4,5]" ]
	[ "$(meta "$T/out" k2)" = "float32 [5]" ]
	[ "$(val "$T/out" dense/kernel)" = "[[0,1,2],[3,4,5]]" ]
}

# Spool files that hold bytes (the tensors copied or changed).
spooled() {
	find "$1" -name '*.spool' -size +0 | wc -l
}

@test "a whole unchanged tensor into a new file: shared, not copied, until changed" {
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$T/sp"
	touch "$MNT/by-name/k2" "$MNT/by-name/k3"
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/kernel" 0 "$MNT/by-name/k2" 0 1000
	assert_output 24
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/bias" 0 "$MNT/by-name/k3" 0 12
	assert_output 12
	# nothing copied: the spool holds no bytes
	[ "$(spooled "$T/sp")" = 0 ]
	[ "$(values "$MNT/by-name/k2" f4)" = "0 1 2 3 4 5" ]
	# the copy is the tensor: its dtype and shape too
	[ "$(xattr "$MNT/by-name/k2" user.ckpt.shape)" = 2,3 ]
	[ "$(xattr "$MNT/by-name/k3" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$MNT/by-name/k2" user.ckpt.crc32c)" = "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.crc32c)" ]
	# a copy continued where it is the same bytes already: done
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/kernel" 8 "$MNT/by-name/k2" 8 1000
	assert_output 16
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/kernel" 24 "$MNT/by-name/k2" 24 1000
	assert_output 0
	[ "$(spooled "$T/sp")" = 0 ]
	# the source changed or gone: the copies keep their bytes
	printf '\x00\x00\x10\x41' | dd of="$MNT/by-name/dense/kernel" bs=4 \
		conv=notrunc status=none	# 9.0
	rm "$MNT/by-name/dense/bias"
	[ "$(values "$MNT/by-name/dense/kernel" f4)" = "9 1 2 3 4 5" ]
	[ "$(values "$MNT/by-name/k2" f4)" = "0 1 2 3 4 5" ]
	[ "$(values "$MNT/by-name/k3" f4)" = "1 2 3" ]
	# all of a changed tensor: copied, and still a tensor of its dtype
	# and shape
	touch "$MNT/by-name/k4"
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/kernel" 0 "$MNT/by-name/k4" 0 1000
	assert_output 24
	[ "$(values "$MNT/by-name/k4" f4)" = "9 1 2 3 4 5" ]
	[ "$(xattr "$MNT/by-name/k4" user.ckpt.shape)" = 2,3 ]
	[ "$(xattr "$MNT/by-name/k4" user.ckpt.dtype)" = float32 ]
	# a shared copy removed while open (reopened since, so no spool
	# file is open) can still be written through its descriptor
	touch "$MNT/by-name/k6"
	run -0 "$COPY_RANGE" "$MNT/by-name/k3" 0 "$MNT/by-name/k6" 0 12
	assert_output 12
	exec {fd}<>"$MNT/by-name/k6"
	rm "$MNT/by-name/k6"
	printf '\x00\x00\xe0\x40' >&"$fd"
	exec {fd}>&-
	# a source removed while open: copied, not shared (a journal record
	# could not name it)
	touch "$MNT/by-name/k7"
	run -0 "$COPY_RANGE" -u "$MNT/by-name/k3" 0 "$MNT/by-name/k7" 0 12
	assert_output 12
	[ ! -e "$MNT/by-name/k3" ]
	[ "$(values "$MNT/by-name/k7" f4)" = "1 2 3" ]
	mv "$MNT/by-name/k7" "$MNT/by-name/k3"
	# a change of the copy copies it up
	printf '\x00\x00\xe0\x40' | dd of="$MNT/by-name/k2" bs=4 seek=5 \
		conv=notrunc status=none	# 7.0
	[ "$(values "$MNT/by-name/k2" f4)" = "0 1 2 3 4 7" ]
	[ "$(values "$MNT/by-object/vars/k2/.ATTRIBUTES/VARIABLE_VALUE" f4)" = "0 1 2 3 4 7" ]
	[ "$(spooled "$T/sp")" = 4 ]
	# the same after a crash
	kill_daemon
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$T/sp"
	[ "$(values "$MNT/by-name/k2" f4)" = "0 1 2 3 4 7" ]
	[ "$(values "$MNT/by-name/k3" f4)" = "1 2 3" ]
	[ "$(values "$MNT/by-name/dense/kernel" f4)" = "9 1 2 3 4 5" ]
	[ ! -e "$MNT/by-name/dense/bias" ]
	finish
	[ "$(val "$T/out" k2)" = "[[0,1,2],[3,4,7]]" ]
	[ "$(val "$T/out" k3)" = "[1,2,3]" ]
	[ "$(meta "$T/out" k3)" = "float32 [3]" ]
	[ "$(val "$T/out" dense/kernel)" = "[[9,1,2],[3,4,5]]" ]
	[ "$(val "$T/out" k4)" = "[[9,1,2],[3,4,5]]" ]
	run -0 "$CKPT_INSPECT" --verify "$T/out"
	assert_output --partial ", 0 damaged"
}

@test "cp A B: B is A, bytes, dtype and shape, over a name left or a tensor of another size" {
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	# a: float32 [] removed; a file made there takes its metadata, and
	# the copy replaces it
	rm "$MNT/by-name/a"
	cp "$MNT/by-name/dense/bias" "$MNT/by-name/a"
	[ "$(xattr "$MNT/by-name/a" user.ckpt.shape)" = 3 ]
	# and copied over again (cp truncates it first): shared again
	cp "$MNT/by-name/dense/kernel" "$MNT/by-name/a"
	[ "$(xattr "$MNT/by-name/a" user.ckpt.shape)" = 2,3 ]
	[ "$(find "$T/out.ckptfs-spool" -name '*.spool' -size +0 | wc -l)" = 0 ]
	# b: an unchanged float32 [] tensor, truncated by cp and copied into
	cp "$MNT/by-name/dense/bias" "$MNT/by-name/b"
	[ "$(xattr "$MNT/by-name/b" user.ckpt.shape)" = 3 ]
	[ "$(values "$MNT/by-name/b" f4)" = "1 2 3" ]
	# global_step: int64 [], a changed tensor copied over it
	printf '\x00\x00\x40\x40' >"$MNT/by-name/scoped/c"
	cp "$MNT/by-name/scoped/c" "$MNT/by-name/global_step"
	[ "$(xattr "$MNT/by-name/global_step" user.ckpt.dtype)" = float32 ]
	# A tensor whose own dtype and shape fit the bytes keeps them, as
	# after write(2), whatever tool copies (cat and cp call
	# copy_file_range): a [3,2] overwritten with the [2,3] kernel.
	head -c 24 /dev/zero >"$MNT/by-name/t32"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/t32"
	setfattr -n user.ckpt.shape -v 3,2 "$MNT/by-name/t32"
	cat "$MNT/by-name/dense/kernel" >"$MNT/by-name/t32"
	[ "$(xattr "$MNT/by-name/t32" user.ckpt.shape)" = 3,2 ]
	cp "$MNT/by-name/dense/kernel" "$MNT/by-name/t32"
	[ "$(xattr "$MNT/by-name/t32" user.ckpt.shape)" = 3,2 ]
	cp "$MNT/by-name/dense/kernel" "$MNT/by-name/dense/kernel@/Adam_1"
	[ "$(xattr "$MNT/by-name/dense/kernel@/Adam_1" user.ckpt.shape)" = 2,3 ]
	# a new file of a dtype of its own and no shape: the dtype kept,
	# the copy's shape taken as it fits it (dd would settle it [6])
	touch "$MNT/by-name/n32"
	setfattr -n user.ckpt.dtype -v int32 "$MNT/by-name/n32"
	cat "$MNT/by-name/dense/kernel" >"$MNT/by-name/n32"
	[ "$(xattr "$MNT/by-name/n32" user.ckpt.dtype)" = int32 ]
	[ "$(xattr "$MNT/by-name/n32" user.ckpt.shape)" = 2,3 ]
	# so do those a file took from the tensor it replaced (an editor's
	# save, rm and a new file), as after dd
	mv "$MNT/by-name/dense/kernel@/Adam" "$MNT/by-name/dense/kernel@/Adam~"
	head -c 24 /dev/zero >"$MNT/by-name/dense/kernel@/Adam"
	[ "$(xattr "$MNT/by-name/dense/kernel@/Adam" user.ckpt.shape)" = 2,3 ]
	cat "$MNT/by-name/t32" >"$MNT/by-name/dense/kernel@/Adam"
	[ "$(xattr "$MNT/by-name/dense/kernel@/Adam" user.ckpt.shape)" = 2,3 ]
	finish
	[ "$(meta "$T/out" t32)" = "float32 [3,2]" ]
	[ "$(val "$T/out" t32)" = "[[0,1],[2,3],[4,5]]" ]
	[ "$(meta "$T/out" dense/kernel/Adam)" = "float32 [2,3]" ]
	[ "$(meta "$T/out" n32)" = "int32 [2,3]" ]
	[ "$(val "$T/out" dense/kernel/Adam)" = "[[0,1,2],[3,4,5]]" ]
	[ "$(val "$T/out" a)" = "[[0,1,2],[3,4,5]]" ]
	[ "$(meta "$T/out" b)" = "float32 [3]" ]
	[ "$(val "$T/out" b)" = "[1,2,3]" ]
	[ "$(meta "$T/out" global_step)" = "float32 []" ]
	[ "$(val "$T/out" global_step)" = 3 ]
	[ "$(val "$T/out" dense/kernel)" = "[[0,1,2],[3,4,5]]" ]
}

@test "a string tensor overwritten by a copy of as many elements keeps its shape, as after dd" {
	mount_ckpt "$(fixture strings)" -o format=same,output="$T/out"
	local s=$MNT/by-name/s
	cp -a "$s/vec" "$s/v2"
	setfattr -n user.ckpt.shape -v 3,1 "$s/v2"
	cat "$s/vec" >"$s/v2"
	[ "$(xattr "$s/v2" user.ckpt.shape)" = 3,1 ]
	# a new file of its own dtype and shape: not made to share vec's
	# bytes (and shape)
	touch "$s/n"
	setfattr -n user.ckpt.dtype -v string "$s/n"
	setfattr -n user.ckpt.shape -v 1,3 "$s/n"
	cp "$s/vec" "$s/n"
	[ "$(xattr "$s/n" user.ckpt.shape)" = 1,3 ]
	# of another number of elements: the copy's
	cp -a "$s/vec" "$s/v4"
	cp "$s/matrix" "$s/v4"
	[ "$(xattr "$s/v4" user.ckpt.shape)" = 2,2 ]
	finish
	[ "$(meta "$T/out" s/v2)" = "string [3,1]" ]
	[ "$(val "$T/out" s/v2)" = '[["a"],[""],["xyz"]]' ]
	[ "$(meta "$T/out" s/n)" = "string [1,3]" ]
	[ "$(meta "$T/out" s/v4)" = "string [2,2]" ]
}

@test "a source cut short after a share: the rest replays, the copy fails as it does" {
	local off
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$T/sp"
	touch "$MNT/by-name/k"
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/kernel" 0 "$MNT/by-name/k" 0 24
	assert_output 24
	printf 'abcd' >"$MNT/by-name/new"
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/new"
	kill_daemon
	off=$("$CKPT_INSPECT" --json "$P" dense/kernel | jq .offset)
	truncate -s $((off + 8)) "$P.data-00000-of-00001"
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$T/sp"
	[ "$(cat "$MNT/by-name/new")" = abcd ]
	run -1 cat "$MNT/by-name/k"
	assert_output --partial "Input/output error"
	run -1 cat "$MNT/by-name/dense/kernel"
	finish_fails
	assert_output --partial "by-name/k: its bytes are not all in its data file"
}

@test "partial ranges: into an unchanged tensor, from a changed one, past the end" {
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	# Elements 1..2 of dense/bias (2, 3) over elements 4..5 of
	# dense/kernel, which is copied up first.
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/bias" 4 "$MNT/by-name/dense/kernel" 16 8
	assert_output 8
	[ "$(values "$MNT/by-name/dense/kernel" f4)" = "0 1 2 3 2 3" ]
	[ "$(values "$MNT/by-object/vars/dense.Skernel/.ATTRIBUTES/VARIABLE_VALUE" f4)" = "0 1 2 3 2 3" ]
	# From the changed tensor (its spool file), asking for more than
	# there is: a short count, the destination grows to what was copied.
	touch "$MNT/by-name/t"
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/kernel" 8 \
		"$MNT/by-object/vars/t/.ATTRIBUTES/VARIABLE_VALUE" 4 1000
	assert_output 16
	[ "$(stat -c %s "$MNT/by-name/t")" = 20 ]
	[ "$(values "$MNT/by-name/t" f4)" = "0 2 3 2 3" ]
	# Within one file, ranges apart, either way.
	run -0 "$COPY_RANGE" "$MNT/by-name/t" 4 "$MNT/by-name/t" 16 4
	assert_output 4
	[ "$(values "$MNT/by-name/t" f4)" = "0 2 3 2 2" ]
	run -0 "$COPY_RANGE" "$MNT/by-name/t" 8 "$MNT/by-name/t" 0 4
	assert_output 4
	[ "$(values "$MNT/by-name/t" f4)" = "3 2 3 2 2" ]
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/t"
	setfattr -n user.ckpt.shape -v 5 "$MNT/by-name/t"
	finish
	[ "$(val "$T/out" dense/kernel)" = "[[0,1,2],[3,2,3]]" ]
	[ "$(val "$T/out" t)" = "[3,2,3,2,2]" ]
	[ "$(val "$T/out" dense/bias)" = "[1,2,3]" ]
}

@test "copy of a partitioned tensor gives the whole tensor" {
	mount_ckpt "$(fixture partitioned)" -o format=tf1,output="$T/out"
	touch "$MNT/by-name/w2"
	run -0 "$COPY_RANGE" "$MNT/by-name/w" 0 "$MNT/by-name/w2" 0 1000
	assert_output 160
	cmp "$MNT/by-name/w" "$MNT/by-name/w2"
	# From the middle of one part into the next.
	run -0 "$COPY_RANGE" "$MNT/by-name/w" 60 "$MNT/by-name/w2" 0 40
	assert_output 40
	[ "$(values "$MNT/by-name/w2" f4 | cut -d' ' -f1-11)" = "15 16 17 18 19 20 21 22 23 24 10" ]
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/w2"
	setfattr -n user.ckpt.shape -v 40 "$MNT/by-name/w2"
	finish
	[ "$(val "$T/out" w2 | jq -c '.[0:12]')" = "[15,16,17,18,19,20,21,22,23,24,10,11]" ]
}

@test "a damaged source: EIO, the destination unchanged, the rest copied" {
	local off
	off=$("$CKPT_INSPECT" --json "$P" dense/kernel | jq .offset)
	printf '\xff' | dd of="$P.data-00000-of-00001" bs=1 seek="$off" \
		conv=notrunc status=none
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	# all of it into a new file: shared, so not read, as an unchanged
	# tensor is not until read; the copy read finds the damage
	touch "$MNT/by-name/k5"
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/kernel" 0 "$MNT/by-name/k5" 0 24
	assert_output 24
	run -1 cat "$MNT/by-name/k5"
	assert_output --partial "Input/output error"
	rm "$MNT/by-name/k5"
	printf 'abcd' >"$MNT/by-name/k2"
	run -1 "$COPY_RANGE" "$MNT/by-name/dense/kernel" 0 "$MNT/by-name/k2" 0 24
	assert_output "error: Input/output error"
	[ "$(cat "$MNT/by-name/k2")" = abcd ]
	run -0 "$COPY_RANGE" "$MNT/by-name/dense/bias" 0 "$MNT/by-name/k2" 4 12
	assert_output 12
	[ "$(od -An -v -tf4 -j4 "$MNT/by-name/k2" | xargs echo)" = "1 2 3" ]
	# logged once by each file that found it: the copy, the tensor
	run -0 grep -c "tensor 'dense/kernel': crc32c mismatch" "$CKPTFS_LOG"
	assert_output 2
	rm "$MNT/by-name/dense/kernel"
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/k2"
	finish
	[ "$(val "$T/out" k2)" = "[97,98,99,100,0,0,128,63,0,0,0,64,0,0,64,64]" ]
}

@test "a copy over 16 MiB (several steps); cp -a within the mount" {
	local big f w
	big=$(fixture big --tensors 3 --bytes $((48 << 20)))
	mount_ckpt "$big" -d -o output="$T/out"
	f=$MNT/by-name/layer_0/dense/bias
	[ "$(stat -c %s "$f")" -gt $((16 << 20)) ]
	# changed, so that it is copied (not shared), in 16 MiB steps
	printf 'Z' | dd of="$f" bs=1 seek=$((17 << 20)) conv=notrunc status=none
	w=$(requests WRITE)
	touch "$MNT/by-name/copy"
	run -0 "$COPY_RANGE" "$f" 0 "$MNT/by-name/copy" 0 $((1 << 30))
	assert_output "$(stat -c %s "$f")"
	cmp "$f" "$MNT/by-name/copy"
	[ "$(requests WRITE)" = "$w" ]
	rm "$MNT/by-name/copy"
	mkdir "$MNT/by-name/again"
	cp -a "$MNT/by-name/embedding" "$MNT/by-name/layer_0" \
		"$MNT/by-name/again/"
	# cp copies with copy_file_range: no byte through /dev/fuse.
	[ "$(requests WRITE)" = "$w" ]
	diff -r "$MNT/by-name/layer_0" "$MNT/by-name/again/layer_0"
	diff -r "$MNT/by-name/embedding" "$MNT/by-name/again/embedding"
	[ "$(xattr "$MNT/by-name/again/layer_0/dense/bias" user.ckpt.shape)" = 4718592 ]
	finish
	run -0 "$CKPT_INSPECT" --verify "$T/out"
	assert_output --partial ", 0 damaged"
	[ "$(keys "$T/out" | grep -c again)" = 3 ]
}
