#!/usr/bin/env bats
# Covers: src/overlay.c, src/tree.c, src/fuse_ops.c, src/ckptfs.c.
# Writing through both views: overwrite, partial write, truncate, create
# with dtype/shape xattrs, mkdir, rm, rmdir, mv of files and directories,
# cp -a between views; the other view following the naming rules; the
# spool (bounded daemon memory, nothing copied for reads), a refused
# tensor that keeps the spool and comes back with -o spool, kill -9 and
# replay, and -o ro.  Values are checked in the written checkpoint with
# ckpt-inspect --json and jq.

load helpers

# Four little-endian float32 bytes of a value given as hex bytes.
f4() {
	printf "$1"
}

setup() {
	require_fuse
	command -v jq >/dev/null || skip "jq not installed"
	command -v setfattr >/dev/null || skip "setfattr not installed"
	T=$BATS_TEST_TMPDIR
	mkdir -p "$T/src"
	cp "$(fixture tf1)".* "$T/src/"
	P=$T/src/ckpt
	SUM=$(cat "$P".index "$P".data-* | md5sum)
}

@test "tf1: overwrite in by-name shows in by-object; written out as TF2" {
	local room
	mount_ckpt "$P"
	# df shows the room where changes are spooled, as 4 KiB blocks.
	room=$(( $(stat -f -c '%a * %S' "$T") / 4096 ))
	[ "$(stat -f -c %S "$MNT")" = 4096 ]
	[ "$(stat -f -c %a "$MNT")" -gt $((room * 99 / 100)) ]
	[ "$(stat -f -c %a "$MNT")" -lt $((room * 101 / 100 + 256)) ]
	f4 '\x00\x00\x20\x41' >"$MNT/by-name/a"	# 10.0
	[ "$(values "$MNT/by-object/vars/a/.ATTRIBUTES/VARIABLE_VALUE" f4)" = 10 ]
	[ "$(xattr "$MNT/by-name/a" user.ckpt.shape)" = "" ]
	[ "$(xattr "$MNT/by-name/a" user.ckpt.dtype)" = float32 ]
	[ -d "$P.tf2.ckptfs-spool" ]
	[ "$(stat -c %a "$P.tf2.ckptfs-spool")" = 700 ]
	finish
	[ "$(val "$P.tf2" 'vars/a/.ATTRIBUTES/VARIABLE_VALUE')" = 10 ]
	[ "$(val "$P.tf2" 'vars/b/.ATTRIBUTES/VARIABLE_VALUE')" = 2 ]
	[ "$(val "$P.tf2" 'vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE')" = 3 ]
	[ ! -e "$P.tf2.ckptfs-spool" ]
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
}

@test "partial write keeps dtype and shape; truncate of a rank-1 tensor" {
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	# element 1 of dense/kernel [2,3] := 9.0, through by-object
	f4 '\x00\x00\x10\x41' | dd of="$MNT/by-object/vars/dense.Skernel/.ATTRIBUTES/VARIABLE_VALUE" \
		bs=4 seek=1 conv=notrunc status=none
	[ "$(values "$MNT/by-name/dense/kernel" f4)" = "0 9 2 3 4 5" ]
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.shape)" = "2,3" ]
	truncate -s 8 "$MNT/by-name/dense/bias"
	[ "$(stat -c %s "$MNT/by-object/vars/dense.Sbias/.ATTRIBUTES/VARIABLE_VALUE")" = 8 ]
	# The shape shown is the one written: the vector's new length.
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.shape)" = 2 ]
	truncate -s 6 "$MNT/by-name/dense/bias@/Adam"
	[ "$(xattr "$MNT/by-name/dense/bias@/Adam" user.ckpt.shape)" = 3 ]
	truncate -s 16 "$MNT/by-name/dense/bias@/Adam"
	[ "$(xattr "$MNT/by-name/dense/bias@/Adam" user.ckpt.shape)" = 4 ]
	finish
	[ "$(val "$T/out" dense/kernel)" = "[[0,9,2],[3,4,5]]" ]
	[ "$(meta "$T/out" dense/kernel)" = "float32 [2,3]" ]
	[ "$(val "$T/out" dense/bias)" = "[1,2]" ]
	[ "$(meta "$T/out" dense/bias)" = "float32 [2]" ]
	[ "$(val "$T/out" global_step)" = 42 ]
}

@test "create + setfattr in either view; the other view gets the name" {
	mount_ckpt "$P" -o format=both,output="$T/out"
	mkdir "$MNT/by-name/new"
	printf '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40' \
		>"$MNT/by-name/new/w"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/new/w"
	setfattr -n user.ckpt.shape -v 2,2 "$MNT/by-name/new/w"
	local o=$MNT/by-object/vars/new.Sw/.ATTRIBUTES/VARIABLE_VALUE
	[ "$(stat -c %i "$o")" = "$(stat -c %i "$MNT/by-name/new/w")" ]
	[ "$(stat -c %h "$o")" = 2 ]
	[ "$(xattr "$o" user.ckpt.shape)" = "2,2" ]
	# A new object path: its TF1 name is the path without the suffix.
	mkdir -p "$MNT/by-object/obj/x/.ATTRIBUTES"
	printf '\x07\x00\x00\x00' >"$MNT/by-object/obj/x/.ATTRIBUTES/VARIABLE_VALUE"
	setfattr -n user.ckpt.dtype -v int32 "$MNT/by-object/obj/x/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(values "$MNT/by-name/obj/x" d4)" = 7 ]
	run -1 setfattr -n user.ckpt.dtype -v nonsense "$MNT/by-name/a"
	run -1 setfattr -n user.ckpt.key -v other "$MNT/by-name/a"
	assert_output --partial "Operation not permitted"
	setfattr -n user.ckpt.key -v a "$MNT/by-name/a"
	finish
	[ "$(val "$T/out.tf1" new/w)" = "[[1,2],[3,4]]" ]
	[ "$(meta "$T/out.tf1" obj/x)" = "int32 [1]" ]
	[ "$(val "$T/out.tf2" 'vars/new.Sw/.ATTRIBUTES/VARIABLE_VALUE')" = "[[1,2],[3,4]]" ]
	[ "$(val "$T/out.tf2" 'obj/x/.ATTRIBUTES/VARIABLE_VALUE')" = "[7]" ]
	run -0 "$CKPT_INSPECT" -g "$T/out.tf2"
	assert_output --partial "full_name new/w"
	assert_output --partial "full_name obj/x"
}

@test "files kept open stay usable while their directory is listed" {
	# A listing (readdirplus) names the nodes a lookup named before: the
	# kernel fails every open file of a node it sees named differently.
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	# A subshell: its files close even when a write fails.
	(
		exec 7>"$MNT/by-name/new" 8<>"$MNT/by-name/a"
		f4 '\x00\x00\x80\x3f' >&7
		ls -l "$MNT/by-name" "$MNT/by-object/vars" >/dev/null
		f4 '\x00\x00\x00\x40' >&7
		f4 '\x00\x00\x40\x40' >&8
		ls -l "$MNT/by-name" "$MNT/by-object/vars" >/dev/null
	)
	[ "$(values "$MNT/by-name/new" f4)" = "1 2" ]
	[ "$(values "$MNT/by-object/vars/a/.ATTRIBUTES/VARIABLE_VALUE" f4)" = 3 ]
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/new"
	finish
	[ "$(val "$T/out" new)" = "[1,2]" ]
	[ "$(val "$T/out" a)" = 3 ]
}

@test "a tensor removed or replaced while open stays usable through its fds" {
	# As on any filesystem, a name removed (rm, or mv over it) leaves
	# the file to the descriptors still open on it; it is not written.
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	(
		exec 7<>"$MNT/by-name/a" 8<>"$MNT/by-name/global_step" \
			9<"$MNT/by-name/global_step" 6<"$MNT/by-name/a"
		rm "$MNT/by-name/a"
		mv "$MNT/by-name/b" "$MNT/by-name/global_step"
		# The first write copies a tensor that has no name any more.
		f4 '\x00\x00\x40\x40' >&7
		printf '\x07\x00\x00\x00\x00\x00\x00\x00' >&8
		setfattr -n user.ckpt.shape -v 1 /proc/self/fd/7
		[ "$(od -An -t f4 <&6 | xargs echo)" = 3 ]
		[ "$(xattr /proc/self/fd/7 user.ckpt.shape)" = 1 ]
		# Its attributes but the key (in no view now) are listed, so
		# that getfattr -d of it reads them all.
		run -0 getfattr -d --absolute-names /proc/self/fd/7
		assert_line 'user.ckpt.dtype="float32"'
		refute_output --partial user.ckpt.key
		[ "$(stat -L -c %h /proc/self/fd/7)" = 0 ]
		[ "$(od -An -t d8 <&9 | xargs echo)" = 7 ]
		# A removed tensor cannot be opened again (ESTALE: the other
		# view's name of it may still be in the kernel's cache, and
		# be the name of another file now).
		run ! od /proc/self/fd/8
		assert_output --partial "Stale file handle"
		run ! od /proc/self/fd/7
		assert_output --partial "Stale file handle"
	)
	[ ! -e "$MNT/by-name/a" ]
	[ ! -e "$MNT/by-object/vars/a" ]
	[ "$(values "$MNT/by-name/global_step" f4)" = 2 ]
	finish
	run -0 keys "$T/out"
	refute_line a
	refute_line b
	assert_line global_step
	[ "$(val "$T/out" global_step)" = 2 ]
	[ ! -e "$T/out.ckptfs-spool" ]
}

@test "a replayed spool gives no new tensor the spool id of a removed one" {
	mount_ckpt "$P"
	printf ZZZZ >"$MNT/by-name/z"	# no dtype: the write-out is refused
	printf XXXX >"$MNT/by-name/x"
	rm "$MNT/by-name/x"
	finish_fails
	# x's spool file is gone, its records are not: y got x's id, and the
	# next replay gave y's file to x, whose removal deleted it.
	mount_ckpt "$P"
	f4 '\x00\x00\x80\x3f' >"$MNT/by-name/y"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/y"
	finish_fails
	mount_ckpt "$P"
	[ "$(values "$MNT/by-name/y" f4)" = 1 ]
	rm "$MNT/by-name/z"
	finish
	[ "$(val "$P.tf2" vars/y/.ATTRIBUTES/VARIABLE_VALUE)" = "[1]" ]
}

@test "a damaged tensor: no change keeps its bytes; found, it is not written" {
	# dense/kernel is [2,3] = 0..5: damage one of its bytes.
	local off k
	off=$("$CKPT_INSPECT" --json "$P" dense/kernel | jq .offset)
	printf '\x7f' | dd of="$P.data-00000-of-00001" bs=1 seek=$((off + 5)) \
		conv=notrunc status=none
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	k=$MNT/by-name/dense/kernel
	run -1 cat "$k"
	assert_output --partial "Input/output error"
	# Changes that keep its bytes would give them a valid checksum.
	run ! sh -c "printf abcd | dd of='$k' conv=notrunc status=none"
	assert_output --partial "Input/output error"
	run -1 truncate -s 8 "$k"
	assert_output --partial "Input/output error"
	run -1 setfattr -n user.ckpt.shape -v 6 "$k"
	assert_output --partial "Input/output error"
	# Unchanged and known damaged, it is refused by the write-out.
	finish_fails
	assert_output --partial "by-name/dense/kernel: damaged in the source checkpoint"
	refute_output --partial "changes kept"
	[ ! -e "$T/out.index" ]
	# Overwritten whole, it is written.
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	f4 '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40\x00\x00\xc0\x40' >"$k"
	finish
	[ "$(val "$T/out" dense/kernel)" = "[[1,2,3],[4,5,6]]" ]
	run -0 "$CKPT_INSPECT" --verify "$T/out"
	assert_output --partial ", 0 damaged"
}

@test "damage nothing read is copied as stored, by every write-out" {
	local x
	for x in a dense/bias; do
		printf '\x11' | dd of="$P.data-00000-of-00001" bs=1 \
			seek="$("$CKPT_INSPECT" --json "$P" "$x" | jq .offset)" \
			conv=notrunc status=none
	done
	# Unchanged, in the source's format: a copy, damage and all.
	mount_ckpt "$P" -o format=same,output="$T/same"
	finish
	cmp "$P.index" "$T/same.index"
	cmp "$P.data-00000-of-00001" "$T/same.data-00000-of-00001"
	run -1 "$CKPT_INSPECT" --verify "$T/same"
	assert_output --partial ", 2 damaged"
	# Converted: the same two found damaged there.
	mount_ckpt "$P" -o output="$T/conv"
	finish
	run -1 "$CKPT_INSPECT" --verify "$T/conv"
	assert_output --partial ", 2 damaged"
	assert_output --partial "vars/a/.ATTRIBUTES/VARIABLE_VALUE"
}

@test "a sparse file written into the mount stays sparse in the new checkpoint" {
	# 64 MiB of holes around 4 bytes: the write-out wrote 64 MiB.
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	truncate -s 64M "$MNT/by-name/sparse"
	printf 'abcd' | dd of="$MNT/by-name/sparse" bs=1 seek=33554432 \
		conv=notrunc status=none
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/sparse"
	# its blocks are its spool file's: du does not count the holes
	[ "$(stat -c %b "$MNT/by-name/sparse")" -lt 1024 ]
	[ "$(stat -c %b "$MNT/by-name/sparse")" -gt 0 ]
	[ "$(du -k "$MNT/by-name/sparse" | cut -f1)" -lt 512 ]
	local crc crc2
	crc=$(xattr "$MNT/by-name/sparse" user.ckpt.crc32c)
	# holes of no whole MiB, data at odd places, the last MiB partial:
	# its CRC (taking holes as zeros unread) is the one the write-out,
	# which reads them, stores
	truncate -s 5000001 "$MNT/by-name/odd"
	for o in 1 1048575 3000000 4999999; do
		printf 'xy' | dd of="$MNT/by-name/odd" bs=1 seek=$o conv=notrunc status=none
	done
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/odd"
	crc2=$(xattr "$MNT/by-name/odd" user.ckpt.crc32c)
	finish
	run -0 "$CKPT_INSPECT" --verify "$T/out"
	refute_output --partial DAMAGED
	local f=$T/out.data-00000-of-00001
	[ "$(stat -c %s "$f")" -ge 67108864 ]
	# (blocks of 512 bytes: the MiB holding abcd, the three of odd
	# holding data, and the others)
	[ "$(stat -c %b "$f")" -lt 12288 ]
	"$CKPT_INSPECT" --raw "$T/out" sparse | cmp - <(
		head -c 33554432 /dev/zero; printf abcd
		head -c $((33554432 - 4)) /dev/zero)
	mount_ckpt "$T/out" -o ro
	[ "$(xattr "$MNT/by-name/sparse" user.ckpt.crc32c)" = "$crc" ]
	[ "$(xattr "$MNT/by-name/odd" user.ckpt.crc32c)" = "$crc2" ]
}

@test "rm removes a tensor from both views; rmdir; empty other-view dirs go" {
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	rm "$MNT/by-name/b"
	[ ! -e "$MNT/by-object/vars/b" ]
	rm "$MNT/by-object/vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE"
	# by-name/scoped held only that name: pruned; by-object keeps its dirs.
	[ ! -e "$MNT/by-name/scoped" ]
	rmdir "$MNT/by-object/vars/scoped.Sc/.ATTRIBUTES"
	run -1 rmdir "$MNT/by-name/dense"
	assert_output --partial "not empty"
	mkdir "$MNT/by-name/empty"
	[ ! -e "$MNT/by-object/vars/empty" ]
	finish
	run -0 keys "$T/out"
	assert_output - <<'EOF'
a
dense/bias
dense/bias/Adam
dense/bias/Adam_1
dense/kernel
dense/kernel/Adam
dense/kernel/Adam_1
global_step
EOF
}

@test "modes, owners and times: accepted and ignored; another owner is EPERM" {
	local f m
	mount_ckpt "$P"
	f=$MNT/by-name/a
	m=$(stat -c '%a %u %g %Y' "$f")
	chmod 600 "$f"
	touch -d 2001-01-01 "$f"
	chown "$(id -u):$(id -g)" "$f"
	[ "$(stat -c '%a %u %g %Y' "$f")" = "$m" ]
	run ! chown "$(($(id -u) + 1))" "$f"
	assert_output --partial "Operation not permitted"
	run ! chgrp "$(($(id -g) + 1))" "$f"
	assert_output --partial "Operation not permitted"
	[ "$(stat -c '%a %u %g %Y' "$f")" = "$m" ]
	finish
}

@test "symbolic links, hard links, FIFOs and devices are refused with EPERM" {
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	run -1 ln -s a "$MNT/by-name/s"
	assert_output --partial "Operation not permitted"
	run -1 ln "$MNT/by-name/a" "$MNT/by-name/a2"
	assert_output --partial "Operation not permitted"
	run -1 ln "$MNT/by-name/a" "$MNT/by-object/vars/a2"
	assert_output --partial "Operation not permitted"
	run -1 mkfifo "$MNT/by-object/f"
	assert_output --partial "Operation not permitted"
	[ "$(ls "$MNT/by-name" | tr '\n' ' ')" = "a b dense global_step scoped " ]
	finish
	run -0 keys "$T/out"
	assert_line a
	refute_line s
	refute_line a2
}

@test "mv of files and directories in both views renames every tensor" {
	local ino
	mount_ckpt "$P" -o format=both,output="$T/out"
	ino=$(stat -c %i "$MNT/by-object/vars/dense.Skernel.SAdam")
	# A shell inside a tensor's by-object directory goes with it.
	cd "$MNT/by-object/vars/dense.Skernel.SAdam/.ATTRIBUTES"
	mv "$MNT/by-name/dense" "$MNT/by-name/net"
	[ -f "$MNT/by-object/vars/net.Skernel.SAdam/.ATTRIBUTES/VARIABLE_VALUE" ]
	[ ! -e "$MNT/by-object/vars/dense.Skernel" ]
	# renamed, not made again
	[ "$(stat -c %i "$MNT/by-object/vars/net.Skernel.SAdam")" = "$ino" ]
	[ "$(values VARIABLE_VALUE f4)" = "0 0.5 1 1.5 2 2.5" ]
	[ "$(realpath ..)" = "$MNT/by-object/vars/net.Skernel.SAdam" ]
	cd "$BATS_TEST_TMPDIR"
	[ "$(values "$MNT/by-name/net/kernel@/Adam" f4)" = "0 0.5 1 1.5 2 2.5" ]
	mv "$MNT/by-object/vars/a" "$MNT/by-object/top"
	[ "$(values "$MNT/by-name/top" f4)" = 1 ]
	[ ! -e "$MNT/by-name/a" ]
	mv "$MNT/by-name/b" "$MNT/by-name/net/b2"
	[ -f "$MNT/by-object/vars/net.Sb2/.ATTRIBUTES/VARIABLE_VALUE" ]
	# Replacing a name deletes the tensor that had it.
	mv -f "$MNT/by-name/net/b2" "$MNT/by-name/global_step"
	[ "$(values "$MNT/by-object/vars/global_step/.ATTRIBUTES/VARIABLE_VALUE" f4)" = 2 ]
	finish
	run -0 keys "$T/out.tf1"
	assert_output - <<'EOF'
global_step
net/bias
net/bias/Adam
net/bias/Adam_1
net/kernel
net/kernel/Adam
net/kernel/Adam_1
scoped/c
top
EOF
	[ "$(val "$T/out.tf2" 'top/.ATTRIBUTES/VARIABLE_VALUE')" = 1 ]
	[ "$(val "$T/out.tf2" 'vars/global_step/.ATTRIBUTES/VARIABLE_VALUE')" = 2 ]
}

@test "a new tensor of shape [3,0]: ckpt-inspect prints it [] as numpy does, [[],[],[]] in JSON" {
	mount_ckpt "$P" -o format=same,output="$T/out"
	touch "$MNT/by-name/z"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/z"
	setfattr -n user.ckpt.shape -v 3,0 "$MNT/by-name/z"
	finish
	run -0 "$CKPT_INSPECT" -v "$T/out" z
	assert_output "z = []"
	[ "$(val "$T/out" z)" = "[[],[],[]]" ]
}

@test "the unmount notes tensors written with a dtype or shape other than the source's" {
	local i
	mount_ckpt "$P" -o format=same,output="$T/out"
	printf '\0\0\0\0\0\0\0\0' >"$MNT/by-name/dense/bias"
	setfattr -n user.ckpt.dtype -v int32 "$MNT/by-name/a"
	# same dtype and shape, a new tensor: no note
	printf '\0\0\0\0\0\0\0\0\0\0\0\0' >"$MNT/by-name/dense/bias@/Adam"
	printf 'abcd' >"$MNT/by-name/new"
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/new"
	finish
	assert_output "$(printf '%s\n' \
		"ckptfs: note: by-name/a is written as int32 [], where the source had float32 [] under its name: TensorFlow restores it only into a variable of the new dtype" \
		"ckptfs: note: by-name/dense/bias is written as float32 [2], where the source had float32 [3] under its name: TensorFlow restores it only into a variable of the new shape")"
	[ "$(meta "$T/out" dense/bias)" = "float32 [2]" ]
	# an unchanged tensor renamed over another of another shape
	mount_ckpt "$P" -o format=same,output="$T/o4"
	mv "$MNT/by-name/dense/bias" "$MNT/by-name/a"
	finish
	assert_line "ckptfs: note: by-name/a is written as float32 [3], where the source had float32 [] under its name: TensorFlow restores it only into a variable of the new shape"
	# a TF2 source: by key
	mount_ckpt "$(fixture tf2)" -o format=same,output="$T/o3"
	setfattr -n user.ckpt.shape -v 1,1 "$MNT/by-name/save_counter"
	finish
	assert_line "ckptfs: note: by-name/save_counter is written as int64 [1,1], where the source had int64 [] under its key: TensorFlow restores it only into a variable of the new shape"
	# a by-object path ending in VARIABLE_VALUE without .ATTRIBUTES/
	mount_ckpt "$P" -o format=tf2,output="$T/o5"
	mkdir -p "$MNT/by-object/model/k"
	cp "$MNT/by-name/dense/kernel" "$MNT/by-object/model/k/VARIABLE_VALUE"
	mkdir -p "$MNT/by-object/model/j/.ATTRIBUTES"
	cp "$MNT/by-name/dense/kernel" "$MNT/by-object/model/j/.ATTRIBUTES/VARIABLE_VALUE"
	cp "$MNT/by-name/dense/kernel" "$MNT/by-object/VARIABLE_VALUE"
	finish
	assert_line "ckptfs: note: by-object/model/k/VARIABLE_VALUE is written as a variable of an object named VARIABLE_VALUE, as its path has no .ATTRIBUTES/ before that name (an object's own value is OBJECT/.ATTRIBUTES/VARIABLE_VALUE)"
	assert_line --partial "ckptfs: note: by-object/VARIABLE_VALUE is written as a variable of an object named VARIABLE_VALUE"
	# a source that has such a key: nothing new to say; nor a path
	# with .ATTRIBUTES/ whose key ends alike, nor a TF1 variable named
	# VARIABLE_VALUE (vars/VARIABLE_VALUE)
	mount_ckpt "$T/o5" -o format=same,output="$T/o6"
	printf '\0\0\0\0' | dd of="$MNT/by-name/a" bs=4 conv=notrunc status=none
	mkdir -p "$MNT/by-object/b/VARIABLE_VALUE/.ATTRIBUTES"
	cp "$MNT/by-name/a" "$MNT/by-object/b/VARIABLE_VALUE/.ATTRIBUTES/VARIABLE_VALUE"
	finish
	refute_output --partial "object named VARIABLE_VALUE"
	mount_ckpt "$P" -o format=same,output="$T/o7"
	cp "$MNT/by-name/a" "$MNT/by-name/VARIABLE_VALUE"
	finish
	mount_ckpt "$T/o7" -o format=tf2,output="$T/o8"
	ls -R "$MNT/by-object" >/dev/null
	finish
	refute_output --partial "object named VARIABLE_VALUE"
	# dtype and shape both changed: said so
	mount_ckpt "$P" -o format=same,output="$T/o9"
	cp -a "$MNT/by-name/dense/kernel" "$MNT/by-name/a"
	finish
	assert_line "ckptfs: note: by-name/a is written as float32 [2,3], where the source had float32 [] under its name: TensorFlow restores it only into a variable of the new shape"
	mount_ckpt "$(fixture dtypes)" -o format=same,output="$T/o10"
	setfattr -n user.ckpt.shape -v 1,2 "$MNT/by-name/int32"
	cp -a "$MNT/by-name/int32" "$MNT/by-name/float32"
	finish
	assert_line --partial "ckptfs: note: by-name/float32 is written as int32 [1,2], where the source had float32 [2] under its name: TensorFlow restores it only into a variable of the new dtype and shape"
	refute_output --partial "model/j"
	# past 8, a count
	mount_ckpt "$(fixture big --tensors 12 --bytes 4096)" -o format=tf2,output="$T/o2"
	for i in $(cd "$MNT/by-name" && find . -type f ! -name save_counter | head -10); do
		setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/$i"
	done
	finish
	[ "$(grep -c '^ckptfs: note: by-name/.* is written as uint8' <<<"$output")" = 8 ]
	assert_line "ckptfs: note: 2 more tensors are noted as above"
}

@test "a SavedModel's variables mounted to be written in the other format: a note says it will not load" {
	local d=$T/sm f
	mkdir -p "$d/variables"
	f=$(fixture tf2)
	cp "$f.index" "$d/variables/variables.index"
	cp "$f.data-00000-of-00001" "$d/variables/variables.data-00000-of-00001"
	touch "$d/saved_model.pb"
	mount_ckpt "$d/variables/variables"
	grep -qF "ckptfs: note: $d/variables/variables: a SavedModel's variables (saved_model.pb is beside them), which the unmount writes in the other format: the SavedModel loads only its own (-o format=same keeps it)" "$CKPTFS_LOG"
	unmount_ckpt
	mount_ckpt "$d/variables/variables" -o format=same,output="$T/out"
	run ! grep -q "SavedModel" "$CKPTFS_LOG"
	unmount_ckpt
	# read-only, or without saved_model.pb: nothing to say
	mount_ckpt -o ro "$d/variables/variables"
	run ! grep -q "SavedModel" "$CKPTFS_LOG"
	unmount_ckpt
	rm "$d/saved_model.pb"
	mount_ckpt "$d/variables/variables"
	run ! grep -q "SavedModel" "$CKPTFS_LOG"
}

@test "rsync -rcX between two mounts, as the man page says, settles: a second run changes nothing" {
	local a f r=(rsync -rcXi --filter='-x user.ckpt.key')
	mount_ckpt -o ro "$P"
	a=$MNT
	mount_ckpt "$(fixture big --tensors 40 --bytes 65536)" -o output="$T/out"
	run -0 "${r[@]}" "$a/by-name/" "$MNT/by-name/"
	assert_line ">f+++++++++ dense/kernel@/Adam"
	run -0 "${r[@]}" "$a/by-name/" "$MNT/by-name/"
	assert_output ""
	# (-a sets the read-only mount's modes again at every run: why not)
	for _ in 1 2; do
		run -0 rsync -acXi --filter='-x user.ckpt.key' "$a/by-name/" "$MNT/by-name/"
	done
	assert_line --regexp '^\.f\.\.[t.]p\.\.\.\.\. dense/kernel$'
	finish
	mount_ckpt -o ro "$T/out"
	while read -r f; do
		cmp "$a/by-name/$f" "$MNT/by-name/$f"
	done < <(cd "$a/by-name" && find . -type f)
	[ "$(find "$MNT/by-name" -path '*/layer_*' -type f | wc -l)" -gt 0 ]
}

@test "cp -a and rsync -X between views carry dtype and shape, without errors" {
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	run -0 cp -a "$MNT/by-name/dense/kernel" "$MNT/by-object/vars/"
	assert_output ""
	[ "$(xattr "$MNT/by-name/vars/kernel" user.ckpt.shape)" = "2,3" ]
	mkdir "$T/local"
	cp -a "$MNT/by-name/global_step" "$T/local/" 2>/dev/null || true
	run -0 cp -a "$T/local/global_step" "$MNT/by-name/gs2"
	run -0 rsync -X "$MNT/by-name/a" "$MNT/by-name/a_rsync"
	run -0 rsync -aX "$MNT/by-name/dense/" "$MNT/by-name/dense_copy/"
	[ "$(xattr "$MNT/by-name/dense_copy/kernel@/Adam" user.ckpt.shape)" = "2,3" ]
	finish
	[ "$(meta "$T/out" a_rsync)" = "float32 []" ]
	[ "$(val "$T/out" a_rsync)" = "1" ]
	[ "$(meta "$T/out" dense_copy/kernel/Adam)" = "float32 [2,3]" ]
	[ "$(val "$T/out" dense_copy/bias)" = "[1,2,3]" ]
	[ "$(meta "$T/out" vars/kernel)" = "float32 [2,3]" ]
	[ "$(val "$T/out" vars/kernel)" = "[[0,1,2],[3,4,5]]" ]
	if getfattr -n user.ckpt.dtype "$T/local/global_step" >/dev/null 2>&1; then
		[ "$(meta "$T/out" gs2)" = "int64 []" ]
	fi
}

@test "tf2: a by-name rename changes the full_name only; by-object the key" {
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out"
	mv "$MNT/by-name/dense/kernel" "$MNT/by-name/dense/w"
	[ -f "$MNT/by-object/model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE" ]
	# The nameless variable's by-name path follows its object path.
	mv "$MNT/by-object/model/nameless" "$MNT/by-object/model/anon"
	[ "$(values "$MNT/by-name/model/anon" f4)" = 12 ]
	# A file made in by-name gets a key under tf2_root.
	printf '\x00\x00\x00\x00' >"$MNT/by-name/fresh"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/fresh"
	[ -f "$MNT/by-object/vars/fresh/.ATTRIBUTES/VARIABLE_VALUE" ]
	# Two tensors may not want one name: the derived by-name path exists.
	mkdir -p "$MNT/by-object/dense/bias/.ATTRIBUTES"
	run -1 touch "$MNT/by-object/dense/bias/.ATTRIBUTES/VARIABLE_VALUE"
	assert_output --partial "File exists"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/out"
	assert_output --partial "full_name dense/w  checkpoint_key model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
	assert_output --partial "checkpoint_key model/anon/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(val "$T/out" 'model/anon/.ATTRIBUTES/VARIABLE_VALUE')" = 12 ]
	[ "$(val "$T/out" 'vars/fresh/.ATTRIBUTES/VARIABLE_VALUE')" = "[0]" ]
}

@test "tf2: a file saved over a tensor by rename keeps its names, dtype and shape" {
	local a
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out"
	a=$MNT/by-object/model/layers/0/bias/.ATTRIBUTES
	# An editor's save in by-object: a new file, renamed over the tensor.
	f4 '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40' >"$a/tmp"
	mv "$a/tmp" "$a/VARIABLE_VALUE"
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.shape)" = 3 ]
	[ "$(values "$MNT/by-name/dense/bias" f4)" = "1 2 3" ]
	[ ! -e "$MNT/by-name/model/layers" ]
	# sed -i in by-object (its own temporary file and rename).
	sed -i 's/^$//' "$a/VARIABLE_VALUE"
	[ "$(xattr "$a/VARIABLE_VALUE" user.ckpt.key)" = model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE ]
	# rsync without -X into by-name: the kernel's key, dtype and shape.
	f4 '\x00\x00\xe0\x40\x00\x00\x00\x41\x00\x00\x10\x41\x00\x00\x20\x41\x00\x00\x30\x41\x00\x00\x40\x41' >"$T/k"
	rsync -c "$T/k" "$MNT/by-name/dense/kernel"
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.key)" = model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE ]
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.shape)" = 2,3 ]
	finish
	[ "$(meta "$T/out.tf1" dense/bias)" = "float32 [3]" ]
	[ "$(val "$T/out.tf1" dense/bias)" = "[1,2,3]" ]
	[ "$(val "$T/out.tf1" dense/kernel)" = "[[7,8,9],[10,11,12]]" ]
	run -0 "$CKPT_INSPECT" -g "$T/out.tf2"
	assert_output --partial "full_name dense/bias  checkpoint_key model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE"
	assert_output --partial "full_name dense/kernel  checkpoint_key model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(val "$T/out.tf2" model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE)" = "[1,2,3]" ]
	run -0 keys "$T/out.tf2"
	refute_output --partial vars/
	refute_output --partial tmp
}

@test "tf2: rm and a new file in by-object keep the TF1 name when it is free, after a crash too" {
	local a spool=$T/sp
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out",spool="$spool"
	a=$MNT/by-object/model/layers/0
	cp "$a/bias/.ATTRIBUTES/VARIABLE_VALUE" "$T/b"
	rm "$a/bias/.ATTRIBUTES/VARIABLE_VALUE"
	[ ! -e "$MNT/by-name/dense/bias" ]
	f4 '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40' >"$a/bias/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(values "$MNT/by-name/dense/bias" f4)" = "1 2 3" ]
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.shape)" = 3 ]
	[ ! -e "$MNT/by-name/model/layers" ]
	# A backup still holding the name: the new file gets its path's.
	mv "$a/kernel/.ATTRIBUTES/VARIABLE_VALUE" "$a/kernel/.ATTRIBUTES/old"
	cat "$a/kernel/.ATTRIBUTES/old" >"$a/kernel/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(xattr "$a/kernel/.ATTRIBUTES/old" user.ckpt.key)" = model/layers/0/kernel/.ATTRIBUTES/old ]
	[ -e "$MNT/by-name/dense/kernel" ]
	[ -e "$MNT/by-name/model/layers/0/kernel" ]
	rm "$a/kernel/.ATTRIBUTES/old"
	kill_daemon
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out",spool="$spool"
	[ "$(values "$MNT/by-name/dense/bias" f4)" = "1 2 3" ]
	[ -e "$MNT/by-name/model/layers/0/kernel" ]
	finish
	[ "$(val "$T/out.tf1" dense/bias)" = "[1,2,3]" ]
	[ "$(meta "$T/out.tf1" model/layers/0/kernel)" = "float32 [2,3]" ]
	run -0 "$CKPT_INSPECT" -g "$T/out.tf2"
	assert_output --partial "full_name dense/bias  checkpoint_key model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE"
}

@test "tf2: a file made in by-name keeps the key a removed tensor left there; others' keys follow their names, after a crash too" {
	local o v=.ATTRIBUTES/VARIABLE_VALUE spool=$T/sp
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out",spool="$spool"
	o=$MNT/by-object
	# rm and a new file (as tar restores one): the tensor's key, dtype
	# and shape.
	rm "$MNT/by-name/dense/bias"
	f4 '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40' >"$MNT/by-name/dense/bias"
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.key)" = model/layers/0/bias/$v ]
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.shape)" = 3 ]
	[ "$(values "$o/model/layers/0/bias/$v" f4)" = "1 2 3" ]
	eventually [ ! -e "$o/vars" ]
	# A temporary file renamed into a name a tensor was removed from.
	rm "$MNT/by-name/dense/kernel"
	f4 '\x00\x00\xe0\x40\x00\x00\x00\x41\x00\x00\x10\x41\x00\x00\x20\x41\x00\x00\x30\x41\x00\x00\x40\x41' >"$MNT/by-name/dense/.kernel.tmp"
	[ -f "$o/vars/dense.S..kernel..tmp/$v" ]
	mv "$MNT/by-name/dense/.kernel.tmp" "$MNT/by-name/dense/kernel"
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.key)" = model/layers/0/kernel/$v ]
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.shape)" = 2,3 ]
	eventually [ ! -e "$o/vars" ]
	# A new file saved through a temporary name (rsync, an editor): the
	# key of the name it ends with, also when its directory is renamed.
	printf '\x00\x00\x00\x00' >"$MNT/by-name/.fresh.XYZ"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/.fresh.XYZ"
	mv "$MNT/by-name/.fresh.XYZ" "$MNT/by-name/fresh"
	[ "$(xattr "$MNT/by-name/fresh" user.ckpt.key)" = vars/fresh/$v ]
	[ ! -e "$o/vars/..fresh..XYZ" ]
	# A file saved over it (here a tensor of the checkpoint, which
	# gives up its own key) takes its place: the key still follows the
	# name, as the replaced file's would have.
	mv "$MNT/by-name/x" "$MNT/by-name/fresh"
	[ "$(xattr "$MNT/by-name/fresh" user.ckpt.key)" = vars/fresh/$v ]
	mv "$MNT/by-name/fresh" "$MNT/by-name/fresh2"
	[ "$(xattr "$MNT/by-name/fresh2" user.ckpt.key)" = vars/fresh2/$v ]
	mv "$MNT/by-name/fresh2" "$MNT/by-name/fresh"
	[ "$(xattr "$MNT/by-name/fresh" user.ckpt.key)" = vars/fresh/$v ]
	mkdir "$MNT/by-name/stage"
	printf '\x00\x00\x80\x3f' >"$MNT/by-name/stage/w"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/stage/w"
	mv "$MNT/by-name/stage" "$MNT/by-name/head"
	[ "$(xattr "$MNT/by-name/head/w" user.ckpt.key)" = vars/head.Sw/$v ]
	# A key set in by-object stays with its tensor.
	mkdir "$o/vars/kept"
	mv "$o/vars/head.Sw" "$o/vars/kept/w"
	mv "$MNT/by-name/head/w" "$MNT/by-name/head/w2"
	[ "$(xattr "$MNT/by-name/head/w2" user.ckpt.key)" = vars/kept/w/$v ]
	kill_daemon
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out",spool="$spool"
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.key)" = model/layers/0/bias/$v ]
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.key)" = model/layers/0/kernel/$v ]
	[ "$(xattr "$MNT/by-name/fresh" user.ckpt.key)" = vars/fresh/$v ]
	[ "$(xattr "$MNT/by-name/head/w2" user.ckpt.key)" = vars/kept/w/$v ]
	finish
	run -0 "$CKPT_INSPECT" -g "$T/out.tf2"
	assert_output --partial "full_name dense/bias  checkpoint_key model/layers/0/bias/$v"
	assert_output --partial "full_name dense/kernel  checkpoint_key model/layers/0/kernel/$v"
	assert_output --partial "full_name head/w2  checkpoint_key vars/kept/w/$v"
	[ "$(val "$T/out.tf2" model/layers/0/kernel/$v)" = "[[7,8,9],[10,11,12]]" ]
	[ "$(val "$T/out.tf2" vars/fresh/$v)" = 9 ]
	run -0 keys "$T/out.tf2"
	refute_output --partial tmp
	refute_output --partial XYZ
	refute_output --partial stage
	[ "$(val "$T/out.tf1" dense/bias)" = "[1,2,3]" ]
}

@test "tf2: saves in by-name that rename the file to a backup first keep its key, dtype and shape; the backup gets a key of its own" {
	local v=.ATTRIBUTES/VARIABLE_VALUE spool=$T/sp
	# keys var_list/NAME: those a file made in by-name would get
	mount_ckpt "$(fixture tf2list)" -o format=tf2,output="$T/out",tf2_root=var_list,spool="$spool"
	# rsync -b: the file renamed to a backup, a temporary one into place
	mv "$MNT/by-name/a" "$MNT/by-name/a~"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/.a.tmp"
	mv "$MNT/by-name/.a.tmp" "$MNT/by-name/a"
	[ "$(xattr "$MNT/by-name/a" user.ckpt.key)" = var_list/a/$v ]
	[ "$(xattr "$MNT/by-name/a" user.ckpt.dtype)" = float32 ]
	[ "$(values "$MNT/by-object/var_list/a/$v" f4)" = 10 ]
	[ "$(xattr "$MNT/by-name/a~" user.ckpt.key)" = var_list/a~/$v ]
	[ "$(values "$MNT/by-object/var_list/a~/$v" f4)" = 1 ]
	# emacs: a new file made under the name
	mv "$MNT/by-name/b" "$MNT/by-name/b.bak"
	printf '\x00\x00\xa0\x41' >"$MNT/by-name/b"
	[ "$(xattr "$MNT/by-name/b" user.ckpt.key)" = var_list/b/$v ]
	[ "$(xattr "$MNT/by-name/b.bak" user.ckpt.key)" = var_list/b..bak/$v ]
	# vim: the backup removed after the save
	mv "$MNT/by-name/scoped/c" "$MNT/by-name/scoped/c~"
	printf '\x00\x00\xf0\x41' >"$MNT/by-name/scoped/c"
	rm "$MNT/by-name/scoped/c~"
	[ "$(xattr "$MNT/by-name/scoped/c" user.ckpt.key)" = var_list/scoped.Sc/$v ]
	# the saved file renamed, the backup kept: its key, dtype and shape
	# go with it
	mv "$MNT/by-name/b" "$MNT/by-name/b2"
	[ "$(xattr "$MNT/by-name/b2" user.ckpt.dtype)" = float32 ]
	mv "$MNT/by-name/b2" "$MNT/by-name/b"
	# a key renamed in by-object, then its name to go with it: a file
	# made at the old name takes nothing from it
	mv "$MNT/by-object/var_list/b..bak" "$MNT/by-object/var_list/q"
	mv "$MNT/by-name/b.bak" "$MNT/by-name/q"
	printf '\x00\x00\x20\x42' >"$MNT/by-name/.t"
	mv "$MNT/by-name/.t" "$MNT/by-name/b.bak"
	[ "$(xattr "$MNT/by-name/b.bak" user.ckpt.key)" = var_list/b..bak/$v ]
	[ "$(xattr "$MNT/by-name/q" user.ckpt.key)" = var_list/q/$v ]
	rm "$MNT/by-name/b.bak"
	# nor does a file renamed there whose key is the name's already
	mv "$MNT/by-object/var_list/q" "$MNT/by-object/var_list/k"
	mv "$MNT/by-name/q" "$MNT/by-name/z"
	printf '\x00\x00\x30\x42' >"$MNT/by-name/w"
	mv "$MNT/by-object/var_list/w" "$MNT/by-object/var_list/q"
	mv "$MNT/by-name/w" "$MNT/by-name/q"
	[ "$(xattr "$MNT/by-name/q" user.ckpt.key)" = var_list/q/$v ]
	[ "$(xattr "$MNT/by-name/z" user.ckpt.key)" = var_list/k/$v ]
	rm "$MNT/by-name/q"
	# a key set in by-object (an editor's save there) goes to the new
	# file all the same
	cp "$MNT/by-object/var_list/a/$v" "$T/a"
	cp "$T/a" "$MNT/by-object/var_list/a/$v.tmp"
	mv "$MNT/by-object/var_list/a/$v.tmp" "$MNT/by-object/var_list/a/$v"
	mv "$MNT/by-name/a" "$MNT/by-name/a.orig"
	cp "$T/a" "$MNT/by-name/a"
	[ "$(xattr "$MNT/by-name/a" user.ckpt.key)" = var_list/a/$v ]
	[ "$(xattr "$MNT/by-name/a" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$MNT/by-name/a.orig" user.ckpt.key)" = var_list/a..orig/$v ]
	rm "$MNT/by-name/a.orig"
	# the same after a crash
	kill_daemon
	mount_ckpt "$(fixture tf2list)" -o format=tf2,output="$T/out",tf2_root=var_list,spool="$spool"
	[ "$(xattr "$MNT/by-name/a" user.ckpt.key)" = var_list/a/$v ]
	[ "$(xattr "$MNT/by-name/a~" user.ckpt.key)" = var_list/a~/$v ]
	[ "$(xattr "$MNT/by-name/b" user.ckpt.key)" = var_list/b/$v ]
	[ "$(xattr "$MNT/by-name/scoped/c" user.ckpt.key)" = var_list/scoped.Sc/$v ]
	[ "$(xattr "$MNT/by-name/z" user.ckpt.key)" = var_list/k/$v ]
	finish
	run -0 "$CKPT_INSPECT" -c "$T/out"
	[ "$(val "$T/out" var_list/a/$v)" = 10 ]
	[ "$(val "$T/out" var_list/a~/$v)" = 1 ]
	[ "$(val "$T/out" var_list/b/$v)" = 20 ]
	[ "$(val "$T/out" var_list/k/$v)" = 2 ]
	[ "$(val "$T/out" var_list/scoped.Sc/$v)" = 30 ]
	run -0 "$CKPT_INSPECT" -g "$T/out"
	assert_output --partial "full_name a  checkpoint_key var_list/a/$v"
	assert_output --partial "full_name a~  checkpoint_key var_list/a~/$v"
}

@test "tf2: one temporary name used for many saves: each file ends with its own name's key" {
	local v=.ATTRIBUTES/VARIABLE_VALUE n
	mount_ckpt "$(fixture tf2list)" -o format=tf2,output="$T/out",tf2_root=var_list,spool="$T/sp"
	for n in w1 w2 w3 w4; do
		printf '\x00\x00\x80\x3f' >"$MNT/by-name/tmp"
		setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/tmp"
		mv "$MNT/by-name/tmp" "$MNT/by-name/$n"
	done
	for n in w1 w2 w3 w4; do
		[ "$(xattr "$MNT/by-name/$n" user.ckpt.key)" = var_list/$n/$v ]
	done
	# a second save of one name through the temporary name, the first
	# kept as a backup
	mv "$MNT/by-name/w1" "$MNT/by-name/w1.bak"
	printf '\x00\x00\x00\x40' >"$MNT/by-name/tmp"
	mv "$MNT/by-name/tmp" "$MNT/by-name/w1"
	[ "$(xattr "$MNT/by-name/w1" user.ckpt.key)" = var_list/w1/$v ]
	[ "$(xattr "$MNT/by-name/w1.bak" user.ckpt.key)" = var_list/w1..bak/$v ]
	[ "$(values "$MNT/by-object/var_list/w1/$v" f4)" = 2 ]
	# a temporary name whose file was removed gives no key
	printf '\x00\x00\x80\x3f' >"$MNT/by-name/t.tmp"
	mv "$MNT/by-name/t.tmp" "$MNT/by-name/w5"
	rm "$MNT/by-name/w5"
	printf '\x00\x00\x80\x3f' >"$MNT/by-name/t.tmp"
	mv "$MNT/by-name/t.tmp" "$MNT/by-name/w6"
	[ "$(xattr "$MNT/by-name/w6" user.ckpt.key)" = var_list/w6/$v ]
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/w6"
	# a tensor renamed in both views leaves no key to its old name
	mv "$MNT/by-name/b" "$MNT/by-name/b2"
	mv "$MNT/by-object/var_list/b" "$MNT/by-object/var_list/b2"
	printf '\x00\x00\x40\x40' >"$MNT/by-name/b"
	[ "$(xattr "$MNT/by-name/b" user.ckpt.key)" = var_list/b/$v ]
	[ "$(xattr "$MNT/by-name/b2" user.ckpt.key)" = var_list/b2/$v ]
	kill_daemon
	mount_ckpt "$(fixture tf2list)" -o format=tf2,output="$T/out",tf2_root=var_list,spool="$T/sp"
	for n in w1 w2 w3 w4 b b2; do
		[ "$(xattr "$MNT/by-name/$n" user.ckpt.key)" = var_list/$n/$v ]
	done
	[ "$(xattr "$MNT/by-name/w1.bak" user.ckpt.key)" = var_list/w1..bak/$v ]
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/b"
	finish
	run -0 "$CKPT_INSPECT" -c "$T/out"
	run -0 keys "$T/out"
	refute_output --partial tmp
}

@test "tf2: an editor's second save over its backup keeps the key, dtype and shape" {
	local v=.ATTRIBUTES/VARIABLE_VALUE b=$MNT
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out",spool="$T/sp"
	b=$MNT/by-name
	mv "$b/Variable" "$b/Variable~"
	printf '\x00\x00\x20\x41' >"$b/Variable"
	mv "$b/Variable" "$b/Variable~"
	printf '\x00\x00\xa0\x41' >"$b/Variable"
	[ "$(xattr "$b/Variable" user.ckpt.key)" = model/extra/0/$v ]
	[ "$(xattr "$b/Variable" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$b/Variable~" user.ckpt.key)" = vars/Variable~/$v ]
	# the temporary file made first, the backup replaced
	cp "$b/dense/kernel" "$T/k"
	cp "$T/k" "$b/dense/.kernel.new"
	mv -f "$b/dense/kernel" "$b/dense/kernel.bak"
	mv "$b/dense/.kernel.new" "$b/dense/kernel"
	cp "$T/k" "$b/dense/.kernel.new"
	mv -f "$b/dense/kernel" "$b/dense/kernel.bak"
	mv "$b/dense/.kernel.new" "$b/dense/kernel"
	[ "$(xattr "$b/dense/kernel" user.ckpt.key)" = model/layers/0/kernel/$v ]
	[ "$(xattr "$b/dense/kernel" user.ckpt.shape)" = 2,3 ]
	kill_daemon
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out",spool="$T/sp"
	b=$MNT/by-name
	[ "$(xattr "$b/Variable" user.ckpt.key)" = model/extra/0/$v ]
	[ "$(xattr "$b/dense/kernel" user.ckpt.key)" = model/layers/0/kernel/$v ]
	finish
	[ "$(val "$T/out" model/extra/0/$v)" = 20 ]
	[ "$(val "$T/out" vars/Variable~/$v)" = 10 ]
}

@test "tf2: keys swapped in by-object stay while the names are swapped in by-name" {
	local o v=.ATTRIBUTES/VARIABLE_VALUE
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out"
	o=$MNT/by-object/model/layers
	mv "$o/0/kernel" "$MNT/by-object/model/tmp"
	mv "$o/1/kernel" "$o/0/kernel"
	mv "$MNT/by-object/model/tmp" "$o/1/kernel"
	mv "$MNT/by-name/dense/kernel" "$MNT/by-name/t"
	mv "$MNT/by-name/dense_1/kernel" "$MNT/by-name/dense/kernel"
	mv "$MNT/by-name/t" "$MNT/by-name/dense_1/kernel"
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.key)" = model/layers/0/kernel/$v ]
	[ "$(xattr "$MNT/by-name/dense_1/kernel" user.ckpt.key)" = model/layers/1/kernel/$v ]
	[ "$(values "$MNT/by-name/dense/kernel" f4)" = "6 7 8" ]
	# names swapped alone: the full names only
	mv "$MNT/by-name/x" "$MNT/by-name/t"
	mv "$MNT/by-name/Variable" "$MNT/by-name/x"
	mv "$MNT/by-name/t" "$MNT/by-name/Variable"
	[ "$(xattr "$MNT/by-name/x" user.ckpt.key)" = model/extra/0/$v ]
	[ "$(xattr "$MNT/by-name/Variable" user.ckpt.key)" = model/named/scoped.Sx..y/$v ]
	# and a name a removed tensor left: its own key too
	rm "$MNT/by-name/dense/bias"
	mv "$MNT/by-name/Variable_1" "$MNT/by-name/dense/bias"
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.key)" = model/extra/1/$v ]
	[ ! -e "$MNT/by-object/vars" ]
	finish
	run -0 "$CKPT_INSPECT" -g "$T/out"
	assert_output --partial "full_name dense/kernel  checkpoint_key model/layers/0/kernel/$v"
	assert_output --partial "full_name dense_1/kernel  checkpoint_key model/layers/1/kernel/$v"
}

@test "tf2: a file made in by-name whose name's key another tensor holds gets the next free key; in a renamed directory it keeps its own" {
	local v=.ATTRIBUTES/VARIABLE_VALUE
	# model/nameless has no full name: by-name shows model/nameless
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out",tf2_root=model
	printf '\x00\x00\x80\x3f' >"$MNT/by-name/nameless"
	[ "$(xattr "$MNT/by-name/nameless" user.ckpt.key)" = model/nameless_1/$v ]
	printf '\x00\x00\x00\x40' >"$MNT/by-name/.t"
	mv "$MNT/by-name/.t" "$MNT/by-name/nameless_1"
	[ "$(xattr "$MNT/by-name/nameless_1" user.ckpt.key)" = model/nameless_1_1/$v ]
	# files of a directory renamed where one's key is taken
	mkdir "$MNT/by-name/d"
	printf '\x00\x00\x40\x40' >"$MNT/by-name/d/nameless"
	printf '\x00\x00\x80\x40' >"$MNT/by-name/d/y"
	mv "$MNT/by-name/d" "$MNT/by-name/e"
	[ "$(xattr "$MNT/by-name/e/y" user.ckpt.key)" = model/e.Sy/$v ]
	for f in nameless nameless_1 e/nameless e/y; do
		setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/$f"
	done
	finish
	run -0 "$CKPT_INSPECT" -c "$T/out"
	[ "$(val "$T/out" model/nameless/$v)" = 12 ]
	[ "$(val "$T/out" model/nameless_1/$v)" = "[1]" ]
	[ "$(val "$T/out" model/nameless_1_1/$v)" = "[2]" ]
}

@test "tf2: a file renamed into a key a tensor was removed from takes its TF1 name, a scope stepping aside" {
	local a o v=.ATTRIBUTES/VARIABLE_VALUE
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out",spool="$T/sp"
	a=$MNT/by-object/model/layers/0
	cp "$a/bias/$v" "$T/b"
	cp "$a/kernel/$v" "$T/k"
	# A temporary file renamed into place: its by-name name was inside
	# the scope the new name makes step aside (the daemon crashed).
	rm "$a/bias/$v"
	cp "$T/b" "$a/bias/.ATTRIBUTES/tmp"
	mv "$a/bias/.ATTRIBUTES/tmp" "$a/bias/$v"
	[ "$(values "$MNT/by-name/dense/bias" f4)" = "1 2 3" ]
	[ ! -e "$MNT/by-name/model/layers" ]
	rm "$a/kernel/$v"
	rsync "$T/k" "$a/kernel/$v"
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.shape)" = 2,3 ]
	# the same after a crash
	kill_daemon
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out",spool="$T/sp"
	[ "$(values "$MNT/by-name/dense/bias" f4)" = "1 2 3" ]
	finish
	[ "$(keys "$T/out.tf1" | grep -c /layers/)" = 0 ]
	[ "$(val "$T/out.tf1" dense/bias)" = "[1,2,3]" ]
	# A TF1 name that is a scope too (dense/bias beside dense/bias/Adam):
	# removed with its slots and made again, the slots first.
	mount_ckpt "$P" -o format=tf2,output="$T/tf2src"
	finish
	mount_ckpt "$T/tf2src" -o format=tf1,output="$T/out2"
	o=$MNT/by-object/vars
	cp "$o/dense.Sbias/$v" "$T/b"
	cp "$o/dense.Sbias.SAdam/$v" "$T/m"
	cp "$o/dense.Sbias.SAdam_1/$v" "$T/m1"
	rm "$o/dense.Sbias/$v" "$o/dense.Sbias.SAdam/$v" \
		"$o/dense.Sbias.SAdam_1/$v"
	[ ! -e "$MNT/by-name/dense/bias@" ]
	cp "$T/m" "$o/dense.Sbias.SAdam/$v"
	[ -f "$MNT/by-name/dense/bias/Adam" ]
	cp "$T/b" "$o/dense.Sbias/$v"
	cp "$T/m1" "$o/dense.Sbias.SAdam_1/$v"
	eventually [ -f "$MNT/by-name/dense/bias" ]
	eventually [ -f "$MNT/by-name/dense/bias@/Adam" ]
	eventually [ -f "$MNT/by-name/dense/bias@/Adam_1" ]
	finish
	[ "$(meta "$T/out2" dense/bias)" = "float32 [3]" ]
	[ "$(meta "$T/out2" dense/bias/Adam)" = "float32 [3]" ]
	[ "$(meta "$T/out2" dense/bias/Adam_1)" = "float32 [3]" ]
	run -0 keys "$T/out2"
	refute_output --partial vars/
}

@test "tf2: a file made or renamed at the key of a removed tensor whose TF1 name followed its key (an empty full_name) follows it too" {
	local o v=.ATTRIBUTES/VARIABLE_VALUE
	mount_ckpt "$(fixture tf2)" -o format=tf1,output="$T/out",spool="$T/sp"
	o=$MNT/by-object/model
	[ -f "$MNT/by-name/model/nameless" ]
	# rm and a new file: renamed in by-object, the name follows, as the
	# removed tensor's did (after a crash too)
	rm "$o/nameless/$v"
	printf '\x00\x00\x80\x3f' >"$o/nameless/$v"
	eventually [ -f "$MNT/by-name/model/nameless" ]
	kill_daemon
	mount_ckpt "$(fixture tf2)" -o format=tf1,output="$T/out",spool="$T/sp"
	[ -f "$MNT/by-name/model/nameless" ]
	mv "$o/nameless" "$o/nl"
	eventually [ -f "$MNT/by-name/model/nl" ]
	eventually [ ! -e "$MNT/by-name/model/nameless" ]
	# a file renamed into the key the same way
	rm "$o/nl/$v"
	printf '\x00\x00\x00\x40' >"$o/nl/.ATTRIBUTES/tmp"
	mv "$o/nl/.ATTRIBUTES/tmp" "$o/nl/$v"
	eventually [ -f "$MNT/by-name/model/nl" ]
	mv "$o/nl" "$o/again"
	eventually [ -f "$MNT/by-name/model/again" ]
	[ "$(values "$MNT/by-name/model/again" f4)" = 2 ]
	finish
	run -0 keys "$T/out"
	assert_line model/again
	refute_line model/nl
	refute_line model/nameless
	[ "$(val "$T/out" model/again)" = 2 ]
}

@test "ckpt-inspect takes a mount's path of a name with pattern characters for that name" {
	local b
	mount_ckpt "$P" -o format=tf1,output="$T/g"
	b=$MNT/by-name
	for f in 'a?b' 's[0]' 'st*r'; do
		printf '\x00\x00\x80\x3f' >"$b/$f"
		setfattr -n user.ckpt.dtype -v float32 "$b/$f"
	done
	finish
	[ "$("$CKPT_INSPECT" -j "$T/g" 'by-name/a?b' | jq -r .key)" = 'a?b' ]
	[ "$("$CKPT_INSPECT" -j "$T/g" 'by-name/s[0]' | jq -r .key)" = 's[0]' ]
	[ "$("$CKPT_INSPECT" -j "$T/g" \
		'by-object/vars/st*r/.ATTRIBUTES/VARIABLE_VALUE' | jq -r .key)" = 'st*r' ]
	run -1 "$CKPT_INSPECT" "$T/g" 'by-name/s[1]'
}

@test "format=both: a TF2 graph refused as it is built (a hash table's half removed) leaves neither output written" {
	mount_ckpt "$(fixture tf2saveables)" -o format=both,output="$T/out"
	rm "$MNT/by-object/t/.ATTRIBUTES/table-values"
	finish_fails
	assert_output --partial '"t/.ATTRIBUTES/table-keys" is written without "t/.ATTRIBUTES/table-values"'
	refute_output --partial 'was written)'
	[ ! -e "$T/out.tf1.index" ]
	[ ! -e "$T/out.tf2.index" ]
	[ -d "$T/out.ckptfs-spool" ]
}

@test "tf2: a directory renamed into keys tensors were removed from: its tensors take their TF1 names" {
	local o v=.ATTRIBUTES/VARIABLE_VALUE
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out",spool="$T/sp"
	o=$MNT/by-object/model/layers
	# New weights made beside the object, then put in its place.
	mkdir -p "$MNT/by-object/stage"
	cp -a "$o/0/." "$MNT/by-object/stage/"
	f4 '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40' \
		>"$MNT/by-object/stage/bias/$v"
	[ -f "$MNT/by-name/stage/bias" ]
	rm -r "$o/0"
	mv "$MNT/by-object/stage" "$o/0"
	[ "$(values "$MNT/by-name/dense/bias" f4)" = "1 2 3" ]
	[ -f "$MNT/by-name/dense/kernel" ]
	[ -f "$MNT/by-name/Adam/m/dense/kernel" ]
	eventually [ ! -e "$MNT/by-name/stage" ]
	eventually [ ! -e "$MNT/by-name/model/layers" ]
	# the same after a crash
	kill_daemon
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out",spool="$T/sp"
	[ "$(values "$MNT/by-name/dense/bias" f4)" = "1 2 3" ]
	[ -f "$MNT/by-name/Adam/m/dense/kernel" ]
	finish
	[ "$(val "$T/out.tf1" dense/bias)" = "[1,2,3]" ]
	[ "$(meta "$T/out.tf1" dense/kernel)" = "float32 [2,3]" ]
	[ "$(meta "$T/out.tf1" Adam/m/dense/kernel)" = "float32 [2,3]" ]
	[ "$(keys "$T/out.tf1" | grep -c -e stage -e layers)" = 0 ]
	run -0 "$CKPT_INSPECT" -g "$T/out.tf2"
	assert_output --partial "full_name dense/bias  checkpoint_key model/layers/0/bias/$v"
	assert_output --partial "full_name Adam/m/dense/kernel  checkpoint_key model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/$v"
	# Two of the moved tensors would have one TF1 name (the removed
	# bias had been renamed to what kernel2's path gives): neither
	# takes a removed tensor's name.
	mount_ckpt "$(fixture tf2)" -o format=tf1,output="$T/out2"
	mkdir -p "$MNT/by-name/model/layers/0"
	mv "$MNT/by-name/dense/bias" "$MNT/by-name/model/layers/0/kernel2"
	rm -r "$o/0"
	mkdir -p "$MNT/by-object/stage/bias/.ATTRIBUTES" \
		"$MNT/by-object/stage/kernel2/.ATTRIBUTES"
	printf 'bbbb' >"$MNT/by-object/stage/bias/$v"
	printf 'kkkk' >"$MNT/by-object/stage/kernel2/$v"
	mv "$MNT/by-object/stage" "$o/0"
	[ "$(cat "$MNT/by-name/model/layers/0/bias")" = bbbb ]
	[ "$(cat "$MNT/by-name/model/layers/0/kernel2")" = kkkk ]
	[ "$(xattr "$MNT/by-name/model/layers/0/bias" user.ckpt.dtype)" = float32 ]
	setfattr -n user.ckpt.dtype -v int32 "$MNT/by-name/model/layers/0/kernel2"
	finish
	# (bias keeps the removed bias's dtype and rank: [3] became [1])
	[ "$(meta "$T/out2" model/layers/0/bias)" = "float32 [1]" ]
	[ "$(meta "$T/out2" model/layers/0/kernel2)" = "int32 [1]" ]
	# The scope of a removed name is the moved directory's own (by-name
	# stage/ holds a and b): renamed in place for b, it does not step
	# aside for a as well (it showed as tt@/b, with no tensor tt).
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out3",spool="$T/sp3"
	o=$MNT/by-object
	mkdir -p "$o/tt/a/.ATTRIBUTES"
	printf 'tttt' >"$o/tt/a/$v"
	setfattr -n user.ckpt.dtype -v float32 "$o/tt/a/$v"
	mv "$MNT/by-name/tt/a" "$MNT/by-name/stage"
	rmdir "$MNT/by-name/tt"
	rm -r "$o/tt"
	mkdir -p "$o/stage/a/.ATTRIBUTES" "$o/stage/b/.ATTRIBUTES"
	printf 'AAAA' >"$o/stage/a/$v"
	printf 'BBBB' >"$o/stage/b/$v"
	setfattr -n user.ckpt.dtype -v float32 "$o/stage/b/$v"
	mv "$o/stage" "$o/tt"
	[ "$(cat "$MNT/by-name/stage")" = AAAA ]
	[ "$(cat "$MNT/by-name/tt/b")" = BBBB ]
	[ ! -e "$MNT/by-name/tt@" ]
	kill_daemon
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out3",spool="$T/sp3"
	[ "$(cat "$MNT/by-name/tt/b")" = BBBB ]
	[ ! -e "$MNT/by-name/tt@" ]
	finish
	run -0 "$CKPT_INSPECT" -g "$T/out3"
	assert_line "  attribute VARIABLE_VALUE  full_name stage  checkpoint_key tt/a/$v"
	assert_line "  attribute VARIABLE_VALUE  full_name tt/b  checkpoint_key tt/b/$v"
}

@test "tf2: a changed structure edits the source's object graph: its ids, slots and objects kept" {
	mount_ckpt "$(fixture tf2)" -o format=same,output="$T/out"
	mv "$MNT/by-object/model/extra/1" "$MNT/by-object/model/extra/2"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/out"
	[ "$(grep -c '^node ' <<<"$output")" = 19 ]
	assert_line "  slot m  variable node 15 -> slot node 17"
	assert_line "  child 1 -> node 10"
	assert_line "  child 2 -> node 18"
	# the object moved from keeps its node, without the value
	[ "$(sed -n '/^node 10 /,/^node 11 /p' <<<"$output" | grep -c attribute)" = 0 ]
	assert_line "node 18  model/extra/2"
	assert_line "  attribute VARIABLE_VALUE  full_name Variable_1  checkpoint_key model/extra/2/.ATTRIBUTES/VARIABLE_VALUE"
	assert_line "  attribute VARIABLE_VALUE  full_name dense/kernel  checkpoint_key model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
	# an empty full_name stays so while by-name shows its object path
	assert_line '  attribute VARIABLE_VALUE  full_name ""  checkpoint_key model/nameless/.ATTRIBUTES/VARIABLE_VALUE'
	# Removed, the graph is built anew from the keys.
	mount_ckpt "$(fixture tf2)" -o format=same,output="$T/new"
	mv "$MNT/by-object/model/extra/1" "$MNT/by-object/model/extra/2"
	rm "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/new"
	[ "$(grep -c '^node ' <<<"$output")" = 18 ]
	refute_output --partial "model/extra/1"
}

@test "tf2: a SavedModel's variables changed keep their other objects, and get no save_counter" {
	local p v=.ATTRIBUTES/VARIABLE_VALUE
	require_realdata
	p=$RD/tf_text_regression_01_variables_variables
	mount_ckpt "$p" -o format=same,output="$T/out"
	mkdir -p "$MNT/by-object/extra/.ATTRIBUTES"
	printf 'abcd' >"$MNT/by-object/extra/$v"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-object/extra/$v"
	finish
	run -0 keys "$T/out"
	assert_output "$(printf '%s\n' _CHECKPOINTABLE_OBJECT_GRAPH "extra/$v")"
	# its 30 objects as they were, the new one last
	run -0 "$CKPT_INSPECT" -g "$T/out"
	assert_line "  child extra -> node 30"
	assert_line "node 30  extra"
	diff <("$CKPT_INSPECT" -g "$p") \
		<(grep -v -e '^  child extra -> node 30$' -e '^node 30 ' \
			-e '^  attribute VARIABLE_VALUE  full_name extra ' <<<"$output")
}

@test "a file made where a tensor was (rm, or a backup renamed away) takes its dtype and shape" {
	local spool=$T/sp o
	mount_ckpt "$P" -o format=both,output="$T/out",spool="$spool"
	o=$MNT/by-object/vars
	# rm, then a new file under the name
	rm "$MNT/by-name/dense/kernel"
	f4 '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40\x00\x00\xc0\x40' \
		>"$MNT/by-name/dense/kernel"
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.shape)" = 2,3 ]
	# What was set in the mount is what passes on, not the source's.
	setfattr -n user.ckpt.shape -v 3,2 "$MNT/by-name/dense/kernel"
	mv "$MNT/by-name/dense/kernel" "$MNT/by-name/dense/kernel.bak"
	cat "$MNT/by-name/dense/kernel.bak" >"$MNT/by-name/dense/kernel"
	rm "$MNT/by-name/dense/kernel.bak"
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.shape)" = 3,2 ]
	# A scope moved keeps what its files took (the write-out refused
	# them: a long session's mv of a layer lost 75 dtypes so).
	rm "$MNT/by-name/dense/bias"
	printf '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40' \
		>"$MNT/by-name/dense/bias"
	mkdir "$MNT/by-name/grp"
	mv "$MNT/by-name/dense" "$MNT/by-name/grp/"
	[ "$(xattr "$MNT/by-name/grp/dense/bias" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$MNT/by-name/grp/dense/bias" user.ckpt.shape)" = 3 ]
	[ "$(xattr "$MNT/by-name/grp/dense/kernel" user.ckpt.shape)" = 3,2 ]
	mv "$MNT/by-name/grp/dense" "$MNT/by-name/"
	rmdir "$MNT/by-name/grp"
	# A dtype removed stays removed by a rename there and back.
	setfattr -x user.ckpt.dtype "$MNT/by-name/scoped/c"
	mv "$MNT/by-name/scoped/c" "$MNT/by-name/scoped/c2"
	mv "$MNT/by-name/scoped/c2" "$MNT/by-name/scoped/c"
	run ! getfattr -n user.ckpt.dtype "$MNT/by-name/scoped/c"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/scoped/c"
	# as emacs saves: the old one renamed to a backup, a new file made
	mv "$MNT/by-name/global_step" "$MNT/by-name/global_step~"
	printf '\x07\x00\x00\x00\x00\x00\x00\x00' >"$MNT/by-name/global_step"
	[ "$(xattr "$MNT/by-name/global_step" user.ckpt.dtype)" = int64 ]
	[ "$(xattr "$MNT/by-name/global_step" user.ckpt.shape)" = "" ]
	# as vim can: a new file renamed into the name a backup left free
	f4 '\x00\x00\x20\x41' >"$MNT/by-name/tmp"
	run ! getfattr -n user.ckpt.dtype "$MNT/by-name/tmp"
	mv "$MNT/by-name/b" "$MNT/by-name/b~"
	mv "$MNT/by-name/tmp" "$MNT/by-name/b"
	[ "$(xattr "$MNT/by-name/b" user.ckpt.dtype)" = float32 ]
	# in by-object: the name a tensor's path gives
	rm "$o/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE"
	mkdir -p "$o/scoped.Sc/.ATTRIBUTES"
	f4 '\x00\x00\x40\x40' >"$o/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(xattr "$MNT/by-name/scoped/c" user.ckpt.dtype)" = float32 ]
	# Its own dtype is kept, and the shape a wrong size is told against.
	rm "$MNT/by-name/dense/kernel@/Adam"
	head -c 20 /dev/zero >"$MNT/by-name/dense/kernel@/Adam"
	setfattr -n user.ckpt.dtype -v int32 "$MNT/by-name/dense/kernel@/Adam"
	# A name the checkpoint never had: still no dtype.
	printf 'abcd' >"$MNT/by-name/fresh"
	run ! getfattr -n user.ckpt.dtype "$MNT/by-name/fresh"
	# The same after a crash: the journal's replay decides alike.
	kill_daemon
	mount_ckpt "$P" -o format=both,output="$T/out",spool="$spool"
	[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.shape)" = 3,2 ]
	[ "$(xattr "$MNT/by-name/global_step" user.ckpt.dtype)" = int64 ]
	[ "$(xattr "$MNT/by-name/b" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$MNT/by-name/dense/kernel@/Adam" user.ckpt.dtype)" = int32 ]
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.dtype)" = float32 ]
	finish_fails
	assert_output --partial "by-name/dense/kernel@/Adam: 20 bytes do not match int32 [2,3] (24 bytes)"
	mount_ckpt "$P" -o format=both,output="$T/out",spool="$spool"
	rm "$MNT/by-name/dense/kernel@/Adam" "$MNT/by-name/fresh"
	finish
	[ "$(meta "$T/out.tf1" dense/kernel)" = "float32 [3,2]" ]
	[ "$(val "$T/out.tf1" dense/kernel)" = "[[1,2],[3,4],[5,6]]" ]
	[ "$(meta "$T/out.tf1" global_step)" = "int64 []" ]
	[ "$(val "$T/out.tf1" global_step)" = 7 ]
	[ "$(val "$T/out.tf1" b)" = 10 ]
	[ "$(val "$T/out.tf1" 'b~')" = 2 ]
	[ "$(meta "$T/out.tf1" scoped/c)" = "float32 []" ]
	[ "$(val "$T/out.tf1" scoped/c)" = 3 ]
	[ "$(meta "$T/out.tf1" dense/bias)" = "float32 [3]" ]
	[ "$(meta "$T/out.tf2" vars/global_step/.ATTRIBUTES/VARIABLE_VALUE)" = "int64 []" ]
}

@test "a scope pruned from the other view and made again at once: the kernel's old path finds it" {
	local o
	# (CKPTFS_TEST_NOTIFY_LATE_MS: a test-only hook sending the kernel
	# the invalidations of its names late, as a busy machine can)
	CKPTFS_TEST_NOTIFY_LATE_MS=1500 mount_ckpt "$P" \
		-o format=both,output="$T/out"
	o=$MNT/by-object/vars
	ls "$MNT/by-name" >/dev/null	# the kernel holds by-name/scoped
	# by-name/scoped goes with its only tensor, and comes back at once:
	# a name looked up through the kernel's old one
	rm "$o/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE"
	f4 '\x00\x00\x40\x40' >"$o/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(xattr "$MNT/by-name/scoped/c" user.ckpt.dtype)" = float32 ]
	[ "$(values "$MNT/by-name/scoped/c" f4)" = 3 ]
	# and again: a name the kernel holds in the old one removed (the
	# unlink is sent to that directory)
	rm "$o/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE"
	f4 '\x00\x00\x40\x40' >"$o/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE"
	rm "$MNT/by-name/scoped/c"
	run ! test -e "$MNT/by-name/scoped/c"
	# by-object's directories of it went: a path the kernel holds
	# through them names nothing, until they are made again
	run ! bash -c "printf x >'$o/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE'"
	assert_output --partial "No such file or directory"
	mkdir -p "$o/scoped.Sc/.ATTRIBUTES"
	f4 '\x00\x00\x80\x40' >"$o/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(values "$MNT/by-name/scoped/c" f4)" = 4 ]
	finish
	[ "$(meta "$T/out.tf1" scoped/c)" = "float32 []" ]
	[ "$(val "$T/out.tf1" scoped/c)" = 4 ]
}

@test "tf2: a file made at a removed tensor's key takes its dtype and shape" {
	local k
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out"
	k=$MNT/by-object/model/layers/1/kernel/.ATTRIBUTES
	rm "$k/VARIABLE_VALUE"
	f4 '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40' >"$k/VARIABLE_VALUE"
	[ "$(xattr "$k/VARIABLE_VALUE" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$k/VARIABLE_VALUE" user.ckpt.shape)" = 3,1 ]
	# A by-name rename keeps the key: nothing is taken back.
	setfattr -x user.ckpt.dtype "$MNT/by-name/dense/bias"
	mv "$MNT/by-name/dense/bias" "$MNT/by-name/dense/bias2"
	run ! getfattr -n user.ckpt.dtype "$MNT/by-name/dense/bias2"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/dense/bias2"
	finish
	[ "$(meta "$T/out" model/layers/1/kernel/.ATTRIBUTES/VARIABLE_VALUE)" = "float32 [3,1]" ]
	[ "$(val "$T/out" model/layers/1/kernel/.ATTRIBUTES/VARIABLE_VALUE)" = "[[1],[2],[3]]" ]
}

@test "a file saved over a tensor by rename: the other view's name opens it at once" {
	local o
	mount_ckpt "$P"
	o=$MNT/by-object/vars
	# The other view's directories of the replaced tensor are gone and
	# the kernel drops its names for them only after the reply: opening
	# through them failed (ENOENT) or gave the old bytes.
	run -0 "$REPLACE_READ" 300 "$MNT/by-name/tmp" "$MNT/by-name/a" \
		"$o/a/.ATTRIBUTES/VARIABLE_VALUE"
	assert_output "0 failed, 0 stale"
	run -0 "$REPLACE_READ" 300 "$o/tmp" "$o/b/.ATTRIBUTES/VARIABLE_VALUE" \
		"$MNT/by-name/b"
	assert_output "0 failed, 0 stale"
	# The replaced tensor's directories there stay the new file's: a
	# shell inside one keeps working (they were removed and made anew).
	local i
	i=$(stat -c %i "$o/a/.ATTRIBUTES")
	(cd "$o/a/.ATTRIBUTES" && f4 '\x00\x00\x20\x41' >"$MNT/by-name/tmp" &&
		mv "$MNT/by-name/tmp" "$MNT/by-name/a" &&
		[ "$(values VARIABLE_VALUE f4)" = 10 ])
	[ "$(stat -c %i "$o/a/.ATTRIBUTES")" = "$i" ]
	# and saved as vim can save: the old one renamed to a~, removed
	# last (the new one, renamed into the name a held, takes its dtype)
	run -0 "$REPLACE_READ" 300 "$MNT/by-name/tmp" "$MNT/by-name/a" \
		"$o/a/.ATTRIBUTES/VARIABLE_VALUE" "$MNT/by-name/a~"
	assert_output "0 failed, 0 stale"
	[ "$(xattr "$MNT/by-name/a" user.ckpt.dtype)" = float32 ]
	# The last of the 300 counters, in both.
	[ "$(values "$o/a/.ATTRIBUTES/VARIABLE_VALUE" u4)" = 299 ]
	[ "$(values "$MNT/by-name/b" u4)" = 299 ]
	# A shell in the other view's directory that went with its last
	# tensor is told ESTALE (the kernel's second walk starts there
	# again), as any path through it is (a new one may be there).
	mkdir "$MNT/by-name/zz"
	f4 '\x00\x00\x80\x3f' >"$MNT/by-name/zz/q"
	run -1 sh -c "cd '$o/zz.Sq/.ATTRIBUTES' && rm '$MNT/by-name/zz/q' &&
		cat VARIABLE_VALUE"
	assert_output --partial "Stale file handle"
	finish
}

@test "tf2: the object graph is read-only; names TF cannot store are refused, all of them" {
	local g f
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out"
	g=$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH
	[ "$(stat -c %a "$g")" = 444 ]
	run ! sh -c "echo x >'$g'"
	assert_output --partial "Permission denied"
	run ! mv "$g" "$MNT/by-object/g"
	assert_output --partial "Operation not permitted"
	run ! setfattr -n user.ckpt.shape -v 1 "$g"
	assert_output --partial "Operation not permitted"
	# its attributes at their values, as setfattr --restore of a dump
	# sets them: nothing changes
	(cd "$MNT/by-object" &&
		getfattr -d -m - _CHECKPOINTABLE_OBJECT_GRAPH) >"$T/graph.xattr"
	[ "$(grep -c '^user\.ckpt\.' "$T/graph.xattr")" = 5 ]
	(cd "$MNT/by-object" && setfattr --restore="$T/graph.xattr")
	run -0 sh -c "cd '$MNT/by-object' &&
		getfattr -d -m - _CHECKPOINTABLE_OBJECT_GRAPH"
	assert_output "$(cat "$T/graph.xattr")"
	run ! mv "$MNT/by-object/save_counter/.ATTRIBUTES/VARIABLE_VALUE" "$g"
	assert_output --partial "Operation not permitted"
	# Names one of the two formats cannot hold.
	mkdir -p "$MNT/by-object/o/.ATTRIBUTES/x" "$MNT/by-name/enc.l0"
	for f in "$MNT/by-name/%" "$MNT/by-name/_CHECKPOINTABLE_OBJECT_GRAPH" \
		"$MNT/by-object/o/.ATTRIBUTES/x/y" "$MNT/by-name/nul%00x" \
		"$MNT/by-object/foo.bar" "$MNT/by-name/enc.l0/k"; do
		f4 '\x00\x00\x80\x3f' >"$f"
		setfattr -n user.ckpt.dtype -v float32 "$f"
	done
	finish_fails
	assert_output --partial "by-name/%: an empty name cannot be a TF1 name; rename it; 2 more tensors refused: by-name/_CHECKPOINTABLE_OBJECT_GRAPH, by-object/o/.ATTRIBUTES/x/y;"
	# then every one with its reason, the first again
	assert_line "ckptfs: refused: by-name/%: an empty name cannot be a TF1 name; rename it"
	assert_line "ckptfs: refused: by-name/_CHECKPOINTABLE_OBJECT_GRAPH: the object graph's key cannot be a TF1 name; rename it"
	assert_line "ckptfs: refused: by-object/o/.ATTRIBUTES/x/y: cannot be a TF2 object key (not <path>/.ATTRIBUTES/<name>); rename it"
	[ "${#lines[@]}" = 4 ]
	[ ! -e "$T/out.tf1.index" ] && [ ! -e "$T/out.tf2.index" ]
	mount_ckpt "$(fixture tf2)" -o format=both,output="$T/out"
	rm "$MNT/by-name/%" "$MNT/by-name/_CHECKPOINTABLE_OBJECT_GRAPH" "$MNT/by-object/o/.ATTRIBUTES/x/y"
	# Removed, the graph is built anew.
	rm "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH"
	# The README's conversion: a name with '.' copied into by-object.
	mkdir "$MNT/by-object/net"
	cp -a "$MNT/by-name/enc.l0" "$MNT/by-object/net/"
	# No file takes the graph's place: a copy put back would be a
	# variable named like it.
	run ! cp "$MNT/by-object/foo.bar" "$g"
	assert_output --partial "Operation not permitted"
	run ! mv "$MNT/by-object/foo.bar" "$g"
	assert_output --partial "Operation not permitted"
	[ ! -e "$g" ]
	# The key shown is the one written.
	[ "$(xattr "$MNT/by-object/foo.bar" user.ckpt.key)" = foo..bar/.ATTRIBUTES/VARIABLE_VALUE ]
	[ "$(xattr "$MNT/by-object/net/enc.l0/k" user.ckpt.key)" = net/enc..l0/k/.ATTRIBUTES/VARIABLE_VALUE ]
	finish
	# A by-object component not validly escaped is a literal name.
	[ "$(val "$T/out.tf2" "foo..bar/.ATTRIBUTES/VARIABLE_VALUE")" = "[1]" ]
	[ "$(val "$T/out.tf2" "net/enc..l0/k/.ATTRIBUTES/VARIABLE_VALUE")" = "[1]" ]
	run -0 "$CKPT_INSPECT" -g "$T/out.tf2"
	assert_output --partial "child foo.bar"
	assert_output --partial "child enc.l0"
	# A NUL byte in a name is stored whole in both formats (a shell
	# argument cannot hold one: jq picks the key).
	[ "$("$CKPT_INSPECT" --json --values "$T/out.tf1" | jq -c 'select(.key == "nul\u0000x") | .values')" = "[1]" ]
	[ "$("$CKPT_INSPECT" --json --values "$T/out.tf2" | jq -c 'select(.key == "vars/nul\u0000x/.ATTRIBUTES/VARIABLE_VALUE") | .values')" = "[1]" ]
}

@test "tf2: a file named % at the root of by-object has the key of an empty name" {
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out"
	f4 '\x00\x00\x80\x3f' >"$MNT/by-object/%"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-object/%"
	# (its key was read through memmem() of no bytes: UBSan stopped it)
	[ "$(xattr "$MNT/by-object/%" user.ckpt.key)" = /.ATTRIBUTES/VARIABLE_VALUE ]
	finish
	[ "$(val "$T/out" /.ATTRIBUTES/VARIABLE_VALUE)" = "[1]" ]
}

@test "names below a directory of the empty name (%) keep their leading /" {
	mount_ckpt "$P" -o format=tf2,output="$T/out"
	mkdir "$MNT/by-name/%" "$MNT/by-object/%"
	f4 '\x00\x00\x80\x3f' >"$MNT/by-name/%/x"
	mv "$MNT/by-name/a" "$MNT/by-name/%/a"
	f4 '\x00\x00\x00\x40' >"$MNT/by-object/%/y"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/%/x" "$MNT/by-object/%/y"
	# The TF1 names /x and /a (TF2 escapes the empty component's '/'
	# as .S), and /y: they were taken for x, a and y.
	[ "$(xattr "$MNT/by-object/vars/.Sx/.ATTRIBUTES/VARIABLE_VALUE" user.ckpt.key)" = /x ]
	[ "$(xattr "$MNT/by-object/%/y" user.ckpt.key)" = /y ]
	[ -f "$MNT/by-object/vars/.Sa/.ATTRIBUTES/VARIABLE_VALUE" ]
	[ "$(ls "$MNT/by-name/%" | xargs echo)" = "a x y" ]
	finish
	run -0 keys "$T/out"
	assert_line vars/.Sx/.ATTRIBUTES/VARIABLE_VALUE
	assert_line vars/.Sa/.ATTRIBUTES/VARIABLE_VALUE
	assert_line /y/.ATTRIBUTES/VARIABLE_VALUE
	run -0 "$CKPT_INSPECT" -g "$T/out"
	assert_output --partial "full_name /x "
	assert_output --partial "full_name /y "
}

@test "tf2: a slot's value under another attribute than VARIABLE_VALUE is refused (TensorFlow would leave the slot as made)" {
	local d
	mount_ckpt "$(fixture tf2)" -o format=same,output="$T/out"
	d=$MNT/by-object/model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES
	mv "$d/VARIABLE_VALUE" "$d/OTHER"
	finish_fails
	assert_output --partial "ckptfs: error: by-object/model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/OTHER: cannot be a TF2 object key (a slot variable's value is its .ATTRIBUTES/VARIABLE_VALUE, no other attribute); rename it"
	[ ! -e "$T/out.index" ]
	# renamed back, it is written (and the spool replayed first)
	mount_ckpt "$(fixture tf2)" -o format=same,output="$T/out"
	mv "$d/OTHER" "$d/VARIABLE_VALUE"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/out"
	assert_output --partial "slot m"
}

@test "tf2: two by-object paths written as one key are refused, naming both" {
	local d
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out"
	mkdir -p "$MNT/by-object/net/enc.l0" "$MNT/by-object/net/enc..l0"
	for d in enc.l0 enc..l0; do
		f4 '\x00\x00\x80\x3f' >"$MNT/by-object/net/$d/k"
		setfattr -n user.ckpt.dtype -v float32 "$MNT/by-object/net/$d/k"
	done
	# (the object graph's builder refused it, naming the key twice)
	finish_fails
	assert_output --partial "by-object/net/enc..l0/k: the same key as by-object/net/enc.l0/k"
	assert_output --partial "ckptfs: error: by-object/net/enc..l0/k: the same key as by-object/net/enc.l0/k, 'net/enc..l0/k/.ATTRIBUTES/VARIABLE_VALUE' (a file P is the key P/.ATTRIBUTES/VARIABLE_VALUE, and a '.' not followed by '.' or 'S' is a literal one, written '..'); rename one of them;"
	[ ! -e "$T/out.index" ]
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out"
	mv "$MNT/by-object/net/enc.l0" "$MNT/by-object/net/enc2"
	finish
	run -0 keys "$T/out"
	assert_line net/enc..l0/k/.ATTRIBUTES/VARIABLE_VALUE
	assert_line net/enc2/k/.ATTRIBUTES/VARIABLE_VALUE
}

@test "tf2: a slot variable written without its variable is refused" {
	local s=model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out",spool="$T/sp"
	rm "$MNT/by-name/dense/kernel"
	finish_fails
	assert_output --partial "ckptfs: error: by-object/$s: a slot variable of model/layers/0/kernel, which is not written (TensorFlow saves a slot only with its variable); remove it too, or put the variable back;"
	[ ! -e "$T/out.index" ]
	# TF1 has no slots: written
	mount_ckpt "$(fixture tf2)" -o format=tf1,output="$T/tf1",spool="$T/sp"
	finish
	run -0 keys "$T/tf1"
	refute_line dense/kernel
	assert_line Adam/m/dense/kernel
	# nor with a value of another name
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out",spool="$T/sp3"
	mv "$MNT/by-object/model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE" \
		"$MNT/by-object/model/layers/0/kernel/.ATTRIBUTES/OTHER"
	finish_fails
	assert_output --partial "ckptfs: error: by-object/$s: a slot variable of model/layers/0/kernel, which is not written"
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out",spool="$T/sp2"
	rm "$MNT/by-name/dense/kernel" "$MNT/by-name/Adam/m/dense/kernel"
	finish
	run -0 keys "$T/out"
	refute_output --partial layers/0/kernel
	run -0 "$CKPT_INSPECT" -g "$T/out"
	refute_output --partial "slot m"
}

@test "tf2: save_counter moved away is not added again beside it" {
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out"
	mv "$MNT/by-object/save_counter" "$MNT/by-object/model/sc"
	finish
	run -0 keys "$T/out"
	refute_line save_counter/.ATTRIBUTES/VARIABLE_VALUE
	assert_line model/sc/.ATTRIBUTES/VARIABLE_VALUE
	run -0 "$CKPT_INSPECT" -g "$T/out"
	[ "$(grep -c 'full_name save_counter ' <<<"$output")" = 1 ]
	# removed, it is (tf.train.Checkpoint restores it)
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out2"
	rm "$MNT/by-name/save_counter"
	mv "$MNT/by-name/x" "$MNT/by-name/y"
	finish
	[ "$(val "$T/out2" save_counter/.ATTRIBUTES/VARIABLE_VALUE)" = 1 ]
}

@test "removexattr: what rsync -X removes; dtype and shape become unknown" {
	local spool=$T/sp
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$spool"
	# A file from outside with a dtype only: rsync -aX removes the key,
	# checksum and shape the mount's file has and the source lacks.
	f4 '\x00\x00\x80\x3f\x00\x00\x00\x40' >"$T/x"
	setfattr -n user.ckpt.dtype -v float32 "$T/x"
	rsync -aX "$T/x" "$MNT/by-name/x"
	rsync -aX --inplace "$T/x" "$MNT/by-name/dense/bias"
	run -0 getfattr -d -m - "$MNT/by-name/dense/bias"
	refute_output --partial user.ckpt.shape
	# Only attributes there are removed; key and checksum only as set.
	run ! setfattr -x user.other "$MNT/by-name/a"
	assert_output --partial "No such attribute"
	run ! setfattr -x user.ckpt.key "$MNT/by-name/a"
	assert_output --partial "Operation not permitted"
	run ! setfattr -x security.selinux "$MNT/by-name/a"
	assert_output --partial "Operation not supported"
	# Removed from a new file, the dtype is missing at write-out, and
	# stays removed when the spool is replayed.
	printf 'abcd' >"$MNT/by-name/y"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/y"
	setfattr -x user.ckpt.dtype "$MNT/by-name/y"
	finish_fails
	assert_output --partial "by-name/y: no dtype"
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$spool"
	run ! getfattr -n user.ckpt.dtype "$MNT/by-name/y"
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.dtype)" = float32 ]
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/y"
	finish
	[ "$(meta "$T/out" x)" = "float32 [2]" ]
	[ "$(val "$T/out" x)" = "[1,2]" ]
	# The shape removed is taken from the size, as for a new file.
	[ "$(meta "$T/out" dense/bias)" = "float32 [2]" ]
	[ "$(meta "$T/out" y)" = "uint8 [4]" ]
}

@test "names that are not UTF-8 are refused, unless a TF1 source's own" {
	local bad
	bad=$(printf 'bad\377name')
	# TF1 -> TF2: the object graph holds text (proto3 strings).
	mount_ckpt "$P" -o output="$T/out"
	f4 '\x00\x00\x80\x3f' >"$MNT/by-name/$bad"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/$bad"
	finish_fails
	# (messages show such a byte as \xNN, never raw)
	assert_output --partial 'by-object/vars/bad\xffname/.ATTRIBUTES/VARIABLE_VALUE: cannot be a TF2 object key (not valid UTF-8); rename it'
	refute_output --partial "$bad"
	[ ! -e "$T/out.index" ]
	# Written as TF1 it is refused too (no TensorFlow variable has it).
	mount_ckpt "$P" -o format=tf1,output="$T/out1"
	f4 '\x00\x00\x80\x3f' >"$MNT/by-name/$bad"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/$bad"
	# A name with a right-to-left override (valid UTF-8, and no dtype):
	# shown as \u{202e}, so that it cannot turn the message around.
	printf 'abcd' >"$MNT/by-name/x$(printf '\342\200\256')y"
	finish_fails
	assert_output --partial 'by-name/bad\xffname: the name is not valid UTF-8, which TensorFlow needs; rename it'
	assert_output --partial 'by-name/x\u{202e}y: no dtype'
	# (a TF1 source's own key is written as it came: test_overlay)
	# TF2 -> TF2 with a new name in by-object
	mount_ckpt "$(fixture tf2)" -o format=same,output="$T/out2"
	mv "$MNT/by-object/model/nameless" "$MNT/by-object/model/caf$(printf '\351')"
	finish_fails
	assert_output --partial "not valid UTF-8"
	[ ! -e "$T/out2.index" ]
}

@test "a string tensor too large to check in memory is refused by name" {
	ldd "$CKPTFS" | grep -qE 'lib(a|t)san' && skip "ulimit -v and the sanitizers do not mix"
	# the daemon gets 1 GiB of address space; the tensor is 3 GiB
	ulimit -v 1048576
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	: >"$MNT/by-name/s"
	setfattr -n user.ckpt.dtype -v string "$MNT/by-name/s"
	setfattr -n user.ckpt.shape -v 100 "$MNT/by-name/s"
	truncate -s 3G "$MNT/by-name/s"
	finish_fails
	assert_output --partial "tensor 's': its 3221225472 bytes of string do not fit in memory, where they are checked"
}

@test "a tensor named like a scope from by-object: the scope steps aside as @" {
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	mkdir -p "$MNT/by-object/vars/dense/.ATTRIBUTES"
	f4 '\x00\x00\x80\x3f' >"$MNT/by-object/vars/dense/.ATTRIBUTES/VARIABLE_VALUE"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-object/vars/dense/.ATTRIBUTES/VARIABLE_VALUE"
	setfattr -n user.ckpt.shape -v "" "$MNT/by-object/vars/dense/.ATTRIBUTES/VARIABLE_VALUE"
	[ -f "$MNT/by-name/dense" ] && [ -d "$MNT/by-name/dense@" ]
	[ "$(values "$MNT/by-name/dense@/kernel@/Adam" f4)" = "0 0.5 1 1.5 2 2.5" ]
	# and by a rename, which a remount replays
	mv "$MNT/by-object/vars/a" "$MNT/by-object/vars/scoped"
	[ -f "$MNT/by-name/scoped" ] && [ -f "$MNT/by-name/scoped@/c" ]
	# and by a rename of an object holding both (its by-name scope was
	# renamed first, and the tensor kept its old name in its way)
	mkdir -p "$MNT/by-object/net/x/.ATTRIBUTES" "$MNT/by-object/net/x/s/.ATTRIBUTES"
	f4 '\x00\x00\x80\x3f' >"$MNT/by-object/net/x/.ATTRIBUTES/VARIABLE_VALUE"
	f4 '\x00\x00\x00\x40' >"$MNT/by-object/net/x/s/.ATTRIBUTES/VARIABLE_VALUE"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-object/net/x/.ATTRIBUTES/VARIABLE_VALUE" \
		"$MNT/by-object/net/x/s/.ATTRIBUTES/VARIABLE_VALUE"
	mv -T "$MNT/by-object/net/x" "$MNT/by-object/net/y"
	[ "$(ls "$MNT/by-name/net" | xargs echo)" = "y y@" ]
	[ "$(xattr "$MNT/by-object/net/y/.ATTRIBUTES/VARIABLE_VALUE" user.ckpt.key)" = net/y ]
	kill_daemon
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	[ -f "$MNT/by-name/scoped" ] && [ -f "$MNT/by-name/scoped@/c" ]
	[ -f "$MNT/by-name/net/y" ] && [ -f "$MNT/by-name/net/y@/s" ]
	finish
	run -0 keys "$T/out"
	assert_output - <<'EOF'
b
dense
dense/bias
dense/bias/Adam
dense/bias/Adam_1
dense/kernel
dense/kernel/Adam
dense/kernel/Adam_1
global_step
net/y
net/y/s
scoped
scoped/c
EOF
	[ "$(val "$T/out" dense)" = 1 ]
	[ "$(val "$T/out" scoped)" = 1 ]
	[ "$(val "$T/out" net/y)" = "[1]" ]
	[ "$(val "$T/out" net/y/s)" = "[2]" ]
}

@test "a name over 255 bytes is ENAMETOOLONG; a scope has one directory" {
	local long
	long=$(printf 'x%.0s' $(seq 256))
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	run ! touch "$MNT/by-name/$long"
	assert_output --partial "File name too long"
	run ! mkdir "$MNT/by-object/$long"
	assert_output --partial "File name too long"
	run ! stat "$MNT/by-name/$long"
	assert_output --partial "File name too long"
	# "s" and "s@" are one scope: the second directory is refused.
	mkdir "$MNT/by-name/s@"
	run ! mkdir "$MNT/by-name/s"
	assert_output --partial "File exists"
	mkdir "$MNT/by-name/t"
	# (rename(2) says EEXIST; mv words it as if s were a file)
	run ! mv -T "$MNT/by-name/t" "$MNT/by-name/s"
	[ -d "$MNT/by-name/t" ] && [ ! -e "$MNT/by-name/s" ]
	run ! mkdir "$MNT/by-name/t@"
	assert_output --partial "File exists"
	mv "$MNT/by-name/s@" "$MNT/by-name/u@"
	mv "$MNT/by-name/u@" "$MNT/by-name/u"
	[ -d "$MNT/by-name/u" ] && [ ! -e "$MNT/by-name/u@" ]
	# So are a 255-byte name and its '@' form, which is shortened: a
	# second directory made two tensors of one TF1 name.
	long=${long:1}
	f4 '\x00\x00\x80\x3f' >"$MNT/by-name/$long"
	mkdir "$MNT/by-object/$long"
	f4 '\x00\x00\x80\x3f' >"$MNT/by-object/$long/k"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-object/$long/k"
	rm "$MNT/by-name/$long"
	[ "$(ls "$MNT/by-name" | grep -c '^x*%#[0-9a-f]*@$')" = 1 ]
	run ! mkdir "$MNT/by-name/$long"
	assert_output --partial "File exists"
}

@test "tf2: a data-only change keeps the original object graph bytes" {
	local g a
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out"
	f4 '\x00\x00\x20\x41' >"$MNT/by-name/x"
	# Names made, moved and removed that end as they began change no
	# name: a save through a temporary file, a rename undone.
	a=$MNT/by-object/model/layers/0/bias/.ATTRIBUTES
	cp "$a/VARIABLE_VALUE" "$a/tmp"
	mv "$a/tmp" "$a/VARIABLE_VALUE"
	sed -i 's/^$//' "$MNT/by-name/dense/kernel"
	touch "$MNT/by-name/t"
	rm "$MNT/by-name/t"
	mv "$MNT/by-name/Variable" "$MNT/by-name/V2"
	mv "$MNT/by-name/V2" "$MNT/by-name/Variable"
	mkdir "$MNT/by-object/d"
	rmdir "$MNT/by-object/d"
	finish
	[ "$(val "$T/out" 'model/named/scoped.Sx..y/.ATTRIBUTES/VARIABLE_VALUE')" = 10 ]
	g=$("$CKPT_INSPECT" --json --values --all "$(fixture tf2)" _CHECKPOINTABLE_OBJECT_GRAPH | jq -r .values)
	[ "$("$CKPT_INSPECT" --json --values --all "$T/out" _CHECKPOINTABLE_OBJECT_GRAPH | jq -r .values)" = "$g" ]
	# Copied as stored: the same entry CRC, and the graph stored last.
	g=$("$CKPT_INSPECT" --json "$(fixture tf2)" _CHECKPOINTABLE_OBJECT_GRAPH | jq -r .crc32c)
	[ "$("$CKPT_INSPECT" --json "$T/out" _CHECKPOINTABLE_OBJECT_GRAPH | jq -r .crc32c)" = "$g" ]
	[ "$("$CKPT_INSPECT" --json "$T/out" | jq -s -r 'max_by(.offset) | .key')" = _CHECKPOINTABLE_OBJECT_GRAPH ]
}

@test "tf2: the object graph removed, and nothing else, is built anew" {
	mount_ckpt "$(fixture tf2)" -o format=tf2,output="$T/out"
	rm "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH"
	finish
	assert_output "ckptfs: note: by-object/_CHECKPOINTABLE_OBJECT_GRAPH was removed, so the object graph is built anew from the keys: objects of the source's that hold no tensor (a SavedModel's functions, signatures, assets) are not in it"
	[ "$("$CKPT_INSPECT" --json "$T/out" _CHECKPOINTABLE_OBJECT_GRAPH | jq -r .crc32c)" != \
	  "$("$CKPT_INSPECT" --json "$(fixture tf2)" _CHECKPOINTABLE_OBJECT_GRAPH | jq -r .crc32c)" ]
	run -0 "$CKPT_INSPECT" -g "$T/out"
	assert_output --partial "full_name dense/kernel  checkpoint_key model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
}

@test "the spool: a 64 MiB write does not grow the daemon; reads copy nothing" {
	local pid before after spool
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	pid=$(jq -r .pid "$MNT/info.json")
	spool=$(jq -r .spool "$MNT/info.json")
	cat "$MNT"/by-name/a "$MNT"/by-object/vars/*/.ATTRIBUTES/* >/dev/null
	[ ! -e "$spool" ]
	before=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	dd if=/dev/zero of="$MNT/by-name/big" bs=1M count=64 status=none
	after=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	echo "# VmHWM $before kB -> $after kB" >&3
	[ $((after - before)) -lt 32768 ]
	f4 '\x00\x00\x20\x41' >"$MNT/by-name/a"
	run -0 sh -c "ls '$spool' | grep -c '\\.spool\$'"
	assert_output 2
	[ "$(stat -c %s "$spool"/*.spool | sort -n | tail -1)" = 67108864 ]
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/big"
	finish
	[ "$(meta "$T/out" big)" = "uint8 [67108864]" ]
	[ "$(val "$T/out" a)" = 10 ]
}

@test "a write-out refusing 900 tensors gives each its line, up to 64 KiB" {
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	mkdir "$MNT/by-name/new"
	(cd "$MNT/by-name/new" && for i in $(seq 100 999); do : >"t$i"; done)
	finish_fails
	assert_line --index 0 --partial "ckptfs: error: by-name/new/t"
	assert_line --index 0 --partial ": no dtype (set one with setfattr -n user.ckpt.dtype -v float32 ...); 899 more tensors refused: by-name/new/t"
	assert_line "ckptfs: refused: by-name/new/t100: no dtype (set one with setfattr -n user.ckpt.dtype -v float32 ...)"
	# 85 bytes a line: 771 of them fit in 64 KiB, then the count of the
	# rest
	[ "$(grep -c '^ckptfs: refused: by-name/new/t[0-9]*: no dtype' <<<"$output")" = 771 ]
	[ "${lines[772]}" = "ckptfs: refused: 129 more, not listed" ]
	[ "${#lines[@]}" = 773 ]
}

@test "a tensor of the wrong size is refused; the spool brings it back" {
	local spool=$T/sp
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$spool"
	f4 '\x00\x00\x20\x41' >"$MNT/by-name/a"
	printf 'abcde' >"$MNT/by-name/bad"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/bad"
	printf '\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c' >"$MNT/by-name/scoped/c"
	printf 'abcd' >"$MNT/by-name/d64"	# no shape holds 4 bytes of float64
	setfattr -n user.ckpt.dtype -v float64 "$MNT/by-name/d64"
	setfattr -n user.ckpt.shape -v 1 "$MNT/by-name/d64"
	mv "$MNT/by-name/b" "$MNT/by-name/b2"
	finish_fails
	# The first refused tensor's reason (inode order: scoped/c first),
	# then the others' names.
	assert_output --partial "by-name/scoped/c: 12 bytes do not match float32 [] (4 bytes); fix the data or set user.ckpt.shape; 2 more tensors refused: by-name/bad, by-name/d64;"
	assert_line "ckptfs: refused: by-name/bad: 5 bytes are not a whole number of float32 elements (4 bytes each); fix the data or set user.ckpt.dtype"
	assert_line "ckptfs: refused: by-name/d64: 4 bytes do not match float64 [1] (8 bytes); fix the data or set user.ckpt.dtype (and shape if need be)"
	# How to get them back, with where they were to go.
	assert_output --partial "; changes kept in $spool (mount again with -o spool=$spool,output=$T/out,format=tf1)"
	[ ! -e "$T/out.index" ]
	[ -f "$spool/journal" ]
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$spool"
	grep -q "replayed" "$CKPTFS_LOG"
	[ "$(values "$MNT/by-name/a" f4)" = 10 ]
	[ "$(stat -c %s "$MNT/by-name/bad")" = 5 ]
	[ "$(xattr "$MNT/by-name/bad" user.ckpt.dtype)" = float32 ]
	[ -f "$MNT/by-name/b2" ] && [ ! -e "$MNT/by-name/b" ]
	run -1 setfattr -n user.ckpt.shape -v 2,x "$MNT/by-name/scoped/c"
	setfattr -n user.ckpt.shape -v 3 "$MNT/by-name/scoped/c"
	finish_fails
	assert_output --partial "by-name/bad: 5 bytes are not a whole number of float32 elements (4 bytes each)"
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$spool"
	truncate -s 4 "$MNT/by-name/bad"
	rm "$MNT/by-name/d64"
	finish
	[ "$(meta "$T/out" scoped/c)" = "float32 [3]" ]
	[ "$(val "$T/out" a)" = 10 ]
	[ "$(meta "$T/out" bad)" = "float32 [1]" ]
	[ "$(val "$T/out" b2)" = 2 ]
	run -0 keys "$T/out"
	refute_line b
	[ ! -e "$spool" ]
}

@test "strings that are not UTF-8: ckpt-inspect's JSON gives their bytes in values_hex" {
	mount_ckpt "$(fixture strings)" -o format=tf1,output="$T/out"
	# s/vec's layout ("a", "", "xyz"): the same lengths, other bytes
	cp -a "$MNT/by-name/s/vec" "$MNT/by-name/s/bin"
	printf '\xe9\xc3\xa9!' |
		dd of="$MNT/by-name/s/bin" bs=1 seek=7 conv=notrunc status=none
	finish
	run -0 "$CKPT_INSPECT" -j -v "$T/out" s/bin
	assert_output '{"key":"s/bin","dtype":"string","shape":[3],"size":11,"shard":0,"offset":'"$("$CKPT_INSPECT" -j "$T/out" s/bin | jq .offset)"',"crc32c":'"$("$CKPT_INSPECT" -j "$T/out" s/bin | jq .crc32c)"',"values":["\u00e9","","é!"],"values_hex":["e9","","c3a921"]}'
	run -0 "$CKPT_INSPECT" -j -v "$T/out" s/vec
	refute_output --partial values_hex
}

@test "a string cut for display is cut before a character, not inside it" {
	mount_ckpt "$(fixture partstrings)" -o format=tf1,output="$T/out"
	# whole[1,0] is 130 c's from byte 12 (lengths, checksum, "" and
	# "b" before it): an e-acute at its bytes 63 and 64
	printf '\xc3\xa9' |
		dd of="$MNT/by-name/whole" bs=1 seek=75 conv=notrunc status=none
	finish
	run -0 "$CKPT_INSPECT" -v "$T/out" whole
	# 63 c's, then the cut (it showed the lead byte as \xc3)
	assert_line --index 1 --partial "[\"$(printf 'c%.0s' $(seq 63))\"..., \"ddd\"]"
	refute_output --partial 'xc3'
	run -0 "$CKPT_INSPECT" -a -v "$T/out" whole
	assert_output --partial "$(printf 'c%.0s' $(seq 63))é$(printf 'c%.0s' $(seq 65))\""
}

@test "a string tensor not in the stored layout is refused by name, with the layout" {
	mount_ckpt "$(fixture strings)" -o format=tf1,output="$T/out"
	cp -a "$MNT/by-name/s/vec" "$MNT/by-name/s/vec2"
	printf 'abc' >"$MNT/by-name/s/raw"
	setfattr -n user.ckpt.dtype -v string "$MNT/by-name/s/raw"
	setfattr -n user.ckpt.shape -v 1 "$MNT/by-name/s/raw"
	# The length checksum of an empty [0] tensor is not 0.
	printf '\x00\x00\x00\x00' >"$MNT/by-name/s/empty"
	finish_fails
	assert_output --partial "by-name/s/empty: not a stored string tensor of shape [0]: the checksum of the lengths (bytes 0 to 3, little-endian) is 00000000 where the lengths give a282ead8 (one varint length per element, the masked CRC-32C of the lengths, then the bytes); 1 more tensor refused: by-name/s/raw;"
	assert_output --partial "refused: by-name/s/raw: not a stored string tensor of shape [1]: 3 bytes cannot hold 1 length and their 4-byte checksum"
	mount_ckpt "$(fixture strings)" -o format=tf1,output="$T/out",spool="$T/out.ckptfs-spool"
	rm "$MNT/by-name/s/raw"
	cat "$MNT/by-name/s/vec2" >/dev/null
	rm "$MNT/by-name/s/empty"
	# Two strings, "hi" and "you", with a checksum to be put right from
	# the message.
	printf '\x02\x03\x00\x00\x00\x00hiyou' >"$MNT/by-name/s/new"
	setfattr -n user.ckpt.dtype -v string "$MNT/by-name/s/new"
	setfattr -n user.ckpt.shape -v 2 "$MNT/by-name/s/new"
	finish_fails
	assert_output --partial "by-name/s/new: not a stored string tensor of shape [2]: the checksum of the lengths (bytes 2 to 5, little-endian) is 00000000 where the lengths give "
	local want
	want=$(printf '%s\n' "$output" | sed -n 's/.*is 00000000 where the lengths give \([0-9a-f]\{8\}\).*/\1/p' | head -1)
	[ "${#want}" -eq 8 ]
	mount_ckpt "$(fixture strings)" -o format=tf1,output="$T/out",spool="$T/out.ckptfs-spool"
	# little-endian: the last hex byte first
	printf "\\x${want:6:2}\\x${want:4:2}\\x${want:2:2}\\x${want:0:2}" |
		dd of="$MNT/by-name/s/new" bs=1 seek=2 conv=notrunc status=none
	finish
	[ "$(val "$T/out" s/vec2)" = "$(val "$(fixture strings)" s/vec)" ]
	[ "$(val "$T/out" s/new)" = '["hi","you"]' ]
	run -0 keys "$T/out"
	refute_line s/empty
}

@test "two writable mounts of one spool: the second changes nothing; ro or another output can" {
	local first
	mount_ckpt "$P"
	first=$MNT
	mkdir -p "$T/m2" "$T/m3" "$T/m4" "$T/m5"
	# (daemons: mount_ckpt's teardown would unmount the first one too)
	CKPTFS_EXTRA_MNTS+=("$T/m2" "$T/m3" "$T/m4")
	run -0 "$CKPTFS" "$P" "$T/m2"
	assert_output "ckptfs: warning: $P.tf2.ckptfs-spool: the spool of another mount that is still up: changes in this mount fail with EBUSY and its unmount writes no checkpoint (give it its own -o output= or -o spool=, or -o ro)"
	f4 '\x00\x00\x20\x41' >"$first/by-name/a"
	# A journal in use cannot be replayed by another mount.
	run -1 "$CKPTFS" -o spool="$P.tf2.ckptfs-spool",output="$T/o" "$P" "$T/m5"
	assert_output "ckptfs: $P.tf2.ckptfs-spool: the spool of another mount that is still up; give this mount its own -o output= or -o spool="
	run ! mountpoint -q "$T/m5"
	run ! sh -c "printf 'abcd' >'$T/m2/by-name/b'"
	assert_output --partial "Device or resource busy"
	run ! mv "$T/m2/by-name/b" "$T/m2/by-name/b2"
	assert_output --partial "Device or resource busy"
	# It reads, as a read-only mount or one with its own output.
	[ "$(values "$T/m2/by-name/b" f4)" = 2 ]
	"$CKPTFS" -o ro "$P" "$T/m3"
	"$CKPTFS" -o output="$T/o4" "$P" "$T/m4"
	f4 '\x00\x00\x30\x41' >"$T/m4/by-name/b"
	run -0 "$CKPTFS" -u "$T/m4"
	run -0 "$CKPTFS" -u "$T/m3"
	[ "$(val "$T/o4" vars/b/.ATTRIBUTES/VARIABLE_VALUE)" = 11 ]
	# The second one's unmount leaves the first one's spool alone.
	run -0 "$CKPTFS" -u "$T/m2"
	[ -f "$P.tf2.ckptfs-spool/journal" ]
	[ "$(values "$first/by-name/a" f4)" = 10 ]
	# The first one's change is written.
	MNT=$first
	finish
	[ "$(val "$P.tf2" vars/a/.ATTRIBUTES/VARIABLE_VALUE)" = 10 ]
}

@test "a mount sharing another's output= writes nothing over what that one wrote" {
	local first
	mount_ckpt "$P" -o output="$T/out"
	first=$MNT
	mkdir -p "$T/m2"
	CKPTFS_EXTRA_MNTS+=("$T/m2")
	run -0 "$CKPTFS" -o output="$T/out" "$P" "$T/m2"
	assert_output "ckptfs: warning: $T/out.ckptfs-spool: the spool of another mount that is still up: changes in this mount fail with EBUSY and its unmount writes no checkpoint (give it its own -o output= or -o spool=, or -o ro)"
	f4 '\x00\x00\xe0\x40' >"$first/by-name/a"
	MNT=$first
	finish
	[ "$(val "$T/out" vars/a/.ATTRIBUTES/VARIABLE_VALUE)" = 7 ]
	run -0 "$CKPTFS" -u "$T/m2"
	assert_output "ckptfs: note: no checkpoint was written: the spool $T/out.ckptfs-spool was another mount's when this one came up, and its output is that mount's to write"
	# (the unmount of the second had written the source's 1 over it)
	[ "$(val "$T/out" vars/a/.ATTRIBUTES/VARIABLE_VALUE)" = 7 ]
	[ ! -e "$T/out.ckptfs-spool" ]
}

@test "-0.0 written through the mount keeps its sign, also in ckpt-inspect's JSON" {
	mount_ckpt "$P" -o format=tf1,output="$T/out"
	f4 '\x00\x00\x00\x80' >"$MNT/by-name/a"
	finish
	run -0 "$CKPT_INSPECT" --values "$T/out" a
	assert_output "a = -0"
	run -0 "$CKPT_INSPECT" --json --values "$T/out" a
	# (-0 would be read as the integer 0 by most JSON readers)
	assert_output --partial '"values":-0.0}'
}

@test "kill -9 of the daemon: the next mount with -o spool replays" {
	local spool=$T/sp
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$spool"
	f4 '\x00\x00\x20\x41' >"$MNT/by-object/vars/a/.ATTRIBUTES/VARIABLE_VALUE"
	mkdir "$MNT/by-name/s"
	mv "$MNT/by-name/global_step" "$MNT/by-name/s/step"
	kill_daemon
	[ ! -e "$T/out.index" ]
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$spool"
	[ "$(values "$MNT/by-name/a" f4)" = 10 ]
	[ "$(values "$MNT/by-name/s/step" d8)" = 42 ]
	finish
	[ "$(val "$T/out" s/step)" = 42 ]
	[ "$(val "$T/out" a)" = 10 ]
}

@test "-o ro refuses every write with EROFS and writes nothing" {
	mount_ckpt "$P" -o ro
	[ "$(stat -f -c %a "$MNT")" = 0 ]
	run ! sh -c "echo 1 > '$MNT/by-name/a'"
	assert_output --partial "Read-only file system"
	run -1 touch "$MNT/by-name/new"
	assert_output --partial "Read-only file system"
	run -1 mkdir "$MNT/by-object/d"
	assert_output --partial "Read-only file system"
	run -1 rm "$MNT/by-name/a"
	assert_output --partial "Read-only file system"
	run -1 mv "$MNT/by-name/a" "$MNT/by-name/z"
	assert_output --partial "Read-only file system"
	run -1 setfattr -n user.ckpt.dtype -v int32 "$MNT/by-name/a"
	assert_output --partial "Read-only file system"
	run -1 truncate -s 0 "$MNT/by-name/b"
	assert_output --partial "Read-only file system"
	run -1 ln -s a "$MNT/by-name/s"
	assert_output --partial "Read-only file system"
	run -1 mkfifo "$MNT/by-name/f"
	assert_output --partial "Read-only file system"
	finish
	[ ! -e "$P.tf2.index" ] && [ ! -e "$P.tf2.ckptfs-spool" ]
}

@test "nothing changed and no output given: nothing is written" {
	mount_ckpt "$P"
	cat "$MNT/by-name/a" >/dev/null
	finish
	run -0 ls "$T/src"
	assert_output - <<'EOF'
ckpt.data-00000-of-00001
ckpt.index
EOF
}

@test "output=SOURCE is refused before mounting; ckptfs -u on a non-mount fails" {
	local o s
	mkdir -p "$T/mnt"
	ln -s src "$T/link"
	# The source under any spelling: the directory is compared, not text.
	for o in "$P" "$T/src/../src/ckpt" "$T/src//ckpt" "$T/link/ckpt"; do
		run -1 "$CKPTFS" -o output="$o" "$P" "$T/mnt"
		assert_output "ckptfs: output=$o: is the source checkpoint, which is never overwritten"
	done
	(cd "$T/src" && run -1 "$CKPTFS" -o output=./ckpt ckpt "$T/mnt" &&
		assert_output --partial "output=./ckpt: is the source checkpoint")
	# format=both adds .tf1 and .tf2 to the output given.
	cp "$P".index "$T/src/m.tf1.index"
	cp "$P".data-00000-of-00001 "$T/src/m.tf1.data-00000-of-00001"
	run -1 "$CKPTFS" -o output="$T/src/m",format=both "$T/src/m.tf1" "$T/mnt"
	assert_output "ckptfs: output=$T/src/m: is the source checkpoint, which is never overwritten"
	# Where nothing can be written, before mounting too.
	run -1 "$CKPTFS" -o output="$T/nodir/out" "$P" "$T/mnt"
	assert_output "ckptfs: output=$T/nodir/out: cannot make files in $T/nodir: No such file or directory"
	run -1 "$CKPTFS" -o output= "$P" "$T/mnt"
	assert_output "ckptfs: output=: empty"
	run -1 "$CKPTFS" -o output="$T/" "$P" "$T/mnt"
	assert_output "ckptfs: output=$T/: names a directory, not a prefix"
	run -1 "$CKPTFS" -o output="$T/." "$P" "$T/mnt"
	assert_output "ckptfs: output=$T/.: names a directory, not a prefix"
	run -1 "$CKPTFS" -o output=.. "$P" "$T/mnt"
	assert_output "ckptfs: output=..: names a directory, not a prefix"
	run -1 "$CKPTFS" -o spool="$T/nodir/sp" "$P" "$T/mnt"
	assert_output "ckptfs: spool=$T/nodir/sp: cannot make files in $T/nodir: No such file or directory"
	# A directory where the output's index or data file goes: the
	# write-out could not replace it (and said so only at unmount).
	mkdir -p "$T/o1/p.index" "$T/o2/p.data-00000-of-00001"
	run -1 "$CKPTFS" -o output="$T/o1/p" "$P" "$T/mnt"
	assert_output "ckptfs: output=$T/o1/p: $T/o1/p.index is a directory, which the write-out cannot replace"
	run -1 "$CKPTFS" -o output="$T/o2/p" "$P" "$T/mnt"
	assert_output "ckptfs: output=$T/o2/p: $T/o2/p.data-00000-of-00001 is a directory, which the write-out cannot replace"
	# A spool at the source's prefix hid it from the next mount.
	run -1 "$CKPTFS" -o spool="$T/link/ckpt" "$P" "$T/mnt"
	assert_output "ckptfs: spool=$T/link/ckpt: is the source checkpoint's prefix: a directory there would hide it"
	# Inside the mount point, in a directory only the mount has.
	run -1 "$CKPTFS" -o output="$T/mnt/by-name/out" "$P" "$T/mnt"
	assert_output "ckptfs: output=$T/mnt/by-name/out: inside the mount point $T/mnt; give a path outside it"
	# A spool where the write-out makes its files: it failed every time.
	for s in o.index o.data-00000-of-00001 o.index.tempstate1 checkpoint \
		checkpoint.tempstate77 o.tempstate5; do
		run -1 "$CKPTFS" -o output="$T/o",spool="$T/$s" "$P" "$T/mnt"
		assert_output "ckptfs: spool=$T/$s: a name the write-out of $T/o makes; give another"
	done
	run -1 "$CKPTFS" -o format=both,output="$T/o",spool="$T/o.tf2.index" "$P" "$T/mnt"
	assert_output "ckptfs: spool=$T/o.tf2.index: a name the write-out of $T/o.tf2 makes; give another"
	run ! mountpoint -q "$T/mnt"
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
	run -1 "$CKPTFS" -u "$T/mnt"
	assert_output --partial "info.json"
	# An info.json anywhere named any process's descriptor, and -u
	# opened it before anything was checked.
	sleep 60 3>&- &
	printf '{"pid": %d, "status_fd": 0}\n' $! >"$T/mnt/info.json"
	run -1 "$CKPTFS" -u "$T/mnt"
	kill $!
	assert_output "ckptfs: $T/mnt: not a ckptfs mount"
	run -1 "$CKPTFS" -u "$P.index"
	assert_output "ckptfs: mount point $P.index: not a directory"
	# output=MNT: its files go beside the mount point, not into it; a
	# spool named like them but not one of them is a spool
	mount_ckpt "$P" -o output="$BATS_TEST_TMPDIR/mnt",spool="$T/mnt.indexes"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	[ -d "$T/mnt.indexes" ]
	finish
	[ "$(val "$BATS_TEST_TMPDIR/mnt" vars/a/.ATTRIBUTES/VARIABLE_VALUE)" = 10 ]
}

@test "cached listings follow changes made through the other view" {
	mount_ckpt "$P" -o output="$T/out"
	# List both views twice so the kernel caches them.
	ls "$MNT/by-name" "$MNT/by-object/vars" "$MNT/by-name/scoped" >/dev/null
	run -0 ls "$MNT/by-object/vars"
	assert_line a
	assert_line b
	# A new name alone (nothing the kernel has cached changes).
	touch "$MNT/by-name/newt"
	run -0 ls "$MNT/by-object/vars"
	assert_line newt
	mv "$MNT/by-name/a" "$MNT/by-name/z"
	rm "$MNT/by-name/b"
	run -0 ls "$MNT/by-object/vars"
	refute_line a
	refute_line b
	assert_line z
	assert_line newt
	assert_line scoped.Sc
	# And back: by-object changes show in cached by-name listings.
	mv "$MNT/by-object/vars/scoped.Sc" "$MNT/by-object/vars/moved"
	run -0 ls "$MNT/by-name"
	assert_line moved
	refute_line scoped
	eventually [ ! -e "$MNT/by-name/scoped" ]
	rm "$MNT/by-name/newt"
	run -0 ls "$MNT/by-object/vars"
	refute_line newt
	assert_line z
	assert_line moved
}

@test "unmounting without changes writes nothing and says so; output= writes" {
	mount_ckpt "$P"
	cat "$MNT/by-name/a" >/dev/null
	run -0 timeout 60 "$CKPTFS" -u "$MNT"
	assert_output "ckptfs: note: nothing was changed, so no checkpoint was written (-o output=PREFIX writes one anyway)"
	unmount_ckpt
	[ ! -e "$P.tf2.index" ]
	mount_ckpt "$P" -o output="$T/conv"
	run -0 timeout 60 "$CKPTFS" -u "$MNT"
	assert_output ""
	unmount_ckpt
	run -0 "$CKPT_INSPECT" --verify "$T/conv"
	assert_output "12 tensors verified, 0 damaged"
	mount_ckpt "$P" -o ro
	run -0 timeout 60 "$CKPTFS" -u "$MNT"
	assert_output ""
	unmount_ckpt
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
	# Changes undone are none: a file made and removed, a tensor renamed
	# and back, an empty scope made (no checkpoint holds one).
	mount_ckpt "$P"
	touch "$MNT/by-name/zz"
	rm "$MNT/by-name/zz"
	mv "$MNT/by-name/scoped" "$MNT/by-name/s2"
	mv "$MNT/by-object/vars/s2.Sc" "$MNT/by-object/vars/scoped.Sc"
	mkdir "$MNT/by-name/empty"
	run -0 timeout 60 "$CKPTFS" -u "$MNT"
	assert_output "ckptfs: note: nothing was changed, so no checkpoint was written (-o output=PREFIX writes one anyway)"
	unmount_ckpt
	[ ! -e "$P.tf2.index" ] && [ ! -e "$P.tf2.ckptfs-spool" ]
	# ... and a rename left, a change
	mount_ckpt "$P"
	mv "$MNT/by-name/a" "$MNT/by-name/a2"
	finish
	[ "$("$CKPT_INSPECT" --json "$P.tf2" | jq -r .key | grep -c '^vars/a2/')" = 1 ]
	# ... and tensors swapping their names (the same names in the end,
	# on other tensors), also as format=same with an output
	mount_ckpt "$P" -o format=same,output="$T/sw"
	mv "$MNT/by-name/a" "$MNT/by-name/t"
	mv "$MNT/by-name/b" "$MNT/by-name/a"
	mv "$MNT/by-name/t" "$MNT/by-name/b"
	finish
	[ "$(val "$T/sw" a)" = 2 ] && [ "$(val "$T/sw" b)" = 1 ]
	rm "$P.tf2".*
	mount_ckpt "$P"
	mv "$MNT/by-name/a" "$MNT/by-name/t"
	mv "$MNT/by-name/b" "$MNT/by-name/a"
	mv "$MNT/by-name/t" "$MNT/by-name/b"
	finish
	[ "$(val "$P.tf2" vars/a/.ATTRIBUTES/VARIABLE_VALUE)" = 2 ]
	[ "$(val "$P.tf2" vars/b/.ATTRIBUTES/VARIABLE_VALUE)" = 1 ]
}

@test "dtype and shape set as Python spells them: tf.float32, (2, 3), (2,), ()" {
	mount_ckpt "$P" -o output="$T/o"
	head -c 24 /dev/zero >"$MNT/by-name/m"
	setfattr -n user.ckpt.dtype -v tf.float32 "$MNT/by-name/m"
	setfattr -n user.ckpt.shape -v "(2, 3)" "$MNT/by-name/m"
	[ "$(xattr "$MNT/by-name/m" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$MNT/by-name/m" user.ckpt.shape)" = 2,3 ]
	head -c 8 /dev/zero >"$MNT/by-name/v"
	setfattr -n user.ckpt.dtype -v np.int32 "$MNT/by-name/v"
	setfattr -n user.ckpt.shape -v "(2,)" "$MNT/by-name/v"
	head -c 8 /dev/zero >"$MNT/by-name/s"
	setfattr -n user.ckpt.dtype -v numpy.float64 "$MNT/by-name/s"
	setfattr -n user.ckpt.shape -v "()" "$MNT/by-name/s"
	run ! setfattr -n user.ckpt.shape -v "(2,3]" "$MNT/by-name/s"
	run ! setfattr -n user.ckpt.dtype -v torch.float32 "$MNT/by-name/s"
	finish
	[ "$(meta "$T/o" vars/m/.ATTRIBUTES/VARIABLE_VALUE)" = "float32 [2,3]" ]
	[ "$(meta "$T/o" vars/v/.ATTRIBUTES/VARIABLE_VALUE)" = "int32 [2]" ]
	[ "$(meta "$T/o" vars/s/.ATTRIBUTES/VARIABLE_VALUE)" = "float64 []" ]
}

@test "a changed tensor has the time of its change and keeps times set on it" {
	local t0
	mount_ckpt "$P" -o output="$T/o"
	t0=$(stat -c %Y "$MNT/by-name/a")
	[ "$(stat -c %Y "$MNT/by-name/b")" = "$t0" ]
	sleep 1.1
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	[ "$(stat -c %Y "$MNT/by-name/a")" -gt "$t0" ]
	[ "$(stat -c %Y "$MNT/by-object/vars/a/.ATTRIBUTES/VARIABLE_VALUE")" -gt "$t0" ]
	touch -d "2001-02-03 04:05:06" "$MNT/by-name/a"
	[ "$(stat -c %y "$MNT/by-name/a")" = "2001-02-03 04:05:06.000000000 +0000" ]
	# An unchanged tensor keeps the checkpoint's time.
	touch -d "2001-02-03 04:05:06" "$MNT/by-name/b"
	[ "$(stat -c %Y "$MNT/by-name/b")" = "$t0" ]
	# A changed tensor removed while open keeps its times, and they can
	# be set through the open file (it has no name left).
	printf '\x00\x00\x20\x41' >"$MNT/by-name/dense/bias"
	exec 7<"$MNT/by-name/dense/bias"
	rm "$MNT/by-name/dense/bias"
	[ "$(stat -L -c %Y /proc/self/fd/7)" -gt "$t0" ]
	touch -d "2002-03-04 05:06:07" /proc/self/fd/7
	[ "$(stat -L -c %y /proc/self/fd/7)" = "2002-03-04 05:06:07.000000000 +0000" ]
	exec 7<&-
	# cp -a and rsync keep a file's time: a second rsync copies nothing.
	printf '\x00\x00\x00\x40' >"$T/f"
	touch -d "1999-12-31 23:59:58" "$T/f"
	cp -a "$T/f" "$MNT/by-name/f"
	[ "$(stat -c %y "$MNT/by-name/f")" = "1999-12-31 23:59:58.000000000 +0000" ]
	if command -v rsync >/dev/null; then
		rsync -a "$T/f" "$MNT/by-name/g"
		run -0 rsync -ai "$T/f" "$MNT/by-name/g"
		assert_output ""
	fi
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/f"
	rm -f "$MNT/by-name/g"
	# A kill -9 and replay keep them (the spool files keep them).
	kill_daemon
	mount_ckpt "$P" -o output="$T/o"
	[ "$(stat -c %y "$MNT/by-name/a")" = "2001-02-03 04:05:06.000000000 +0000" ]
	[ "$(stat -c %y "$MNT/by-name/f")" = "1999-12-31 23:59:58.000000000 +0000" ]
	finish
	[ "$(val "$T/o" vars/f/.ATTRIBUTES/VARIABLE_VALUE)" = "[2]" ]
}

@test "writes read back right while other processes open, read and stat the file" {
	local p=$T/big/s
	mkdir -p "$T/big"
	"$MKFIXTURE" big "$p" --tensors 64 --bytes 16000000 >/dev/null
	mount_ckpt "$p" -o output="$T/o"
	# The kernel caches a write before the daemon has it; an open that
	# dropped the cache then (or a stat showing a new time) let a
	# reader cache the old bytes: 0-8 of 3000 read-backs were stale.
	local k
	for k in 4 6 9; do
		run -0 "$REOPEN_READ" "$MNT/by-name/layer_$k/dense/bias" 3000 3
		assert_output "3000 rounds, 0 stale"
	done
	run -0 "$REOPEN_READ" "$MNT/by-object/vars/layer_5.Sdense.Sbias/.ATTRIBUTES/VARIABLE_VALUE" 3000 3
	assert_output "3000 rounds, 0 stale"
	finish
	run -0 "$CKPT_INSPECT" --verify "$T/o"
	assert_output "66 tensors verified, 0 damaged"
}

@test "user.ckpt.crc32c of a file another process cuts and writes is a CRC, not EIO" {
	mount_ckpt "$P" -o output="$T/o"
	local f=$MNT/by-name/e n=0 bad=0 v end writer
	printf '%65536s' '' >"$f"
	# (shell builtins: an open with O_TRUNC and a write, as fast as
	# they come, while getfattr asks)
	(end=$((SECONDS + 3)); while [ "$SECONDS" -lt "$end" ]; do
		: >"$f"; printf '%65536s' '' >"$f"; done) &
	writer=$!
	end=$((SECONDS + 2))
	while [ "$SECONDS" -lt "$end" ]; do
		v=$(xattr "$f" user.ckpt.crc32c 2>/dev/null) || bad=$((bad + 1))
		[[ "$v" =~ ^[0-9a-f]{8}$ ]] || bad=$((bad + 1))
		n=$((n + 1))
	done
	wait "$writer"
	# before: about one in a hundred failed with EIO
	echo "$n asked, $bad failed"
	[ "$n" -gt 20 ] && [ "$bad" = 0 ]
	printf '%65536s' '' >"$MNT/by-name/e2"
	[ "$(xattr "$f" user.ckpt.crc32c)" = "$(xattr "$MNT/by-name/e2" user.ckpt.crc32c)" ]
	rm "$f" "$MNT/by-name/e2"
	finish
}

@test "user.ckpt.crc32c of a name files are renamed over (an editor's saves) is the CRC of one of them, not EIO" {
	mount_ckpt "$P" -o output="$T/o"
	local f=$MNT/by-name/k n=0 bad=0 v end writer
	printf abcd >"$f"
	(end=$((SECONDS + 3)); while [ "$SECONDS" -lt "$end" ]; do
		printf abcd >"$MNT/by-name/t"
		mv "$MNT/by-name/t" "$f"; done) &
	writer=$!
	end=$((SECONDS + 2))
	while [ "$SECONDS" -lt "$end" ]; do
		v=$(xattr "$f" user.ckpt.crc32c 2>/dev/null) || bad=$((bad + 1))
		[ "$v" = 92c80a31 ] || bad=$((bad + 1))
		n=$((n + 1))
	done
	wait "$writer"
	# before: about one in ten failed with EIO
	echo "$n asked, $bad failed"
	[ "$n" -gt 50 ] && [ "$bad" = 0 ]
	rm "$f"
	finish
}

@test "a refusal names a file made in by-object/ of a TF2 checkpoint by its by-object path" {
	mount_ckpt "$(fixture tf2)" -o format=same,output="$T/o"
	local s=$MNT/by-object/model/layers/1/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES
	mkdir -p "$s"
	printf 'abcd' >"$s/VARIABLE_VALUE"
	mkdir -p "$MNT/by-object/vars"
	printf 'abcd' >"$MNT/by-object/vars/final3"
	finish_fails
	# (it named by-name/model/layers/1/kernel/.OPTIMIZER_SLOT/..., a
	# path the user never used)
	assert_output --partial "by-object/model/layers/1/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE: no dtype"
	# the list of the others too
	assert_output --partial "1 more tensor refused: by-object/vars/final3;"
	refute_output --partial "by-name/model/layers/1"
	refute_output --partial "by-name/vars"
}

@test "rm and a new file, then renamed away and back (a scope, the file): it keeps the dtype and shape, after a crash too" {
	local spool=$T/sp
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$spool"
	cat "$MNT/by-name/dense/bias" >"$T/b"
	rm "$MNT/by-name/dense/bias"
	cat "$T/b" >"$MNT/by-name/dense/bias"
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.shape)" = 3 ]
	# (a rename and its undo are no change: it had no dtype back)
	mv "$MNT/by-name/dense" "$MNT/by-name/d2"
	mv "$MNT/by-name/d2" "$MNT/by-name/dense"
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.dtype)" = float32 ]
	mv "$MNT/by-name/dense/bias" "$MNT/by-name/dense/tmp"
	mv "$MNT/by-name/dense/tmp" "$MNT/by-name/dense/bias"
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.shape)" = 3 ]
	kill_daemon
	mount_ckpt "$P" -o format=tf1,output="$T/out",spool="$spool"
	[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.dtype)" = float32 ]
	finish
	[ "$(meta "$T/out" dense/bias)" = "float32 [3]" ]
	[ "$(val "$T/out" dense/bias)" = "[1,2,3]" ]
}

@test "one temporary name saved over several tensors: each keeps its own dtype and shape" {
	local b
	mount_ckpt "$P" -o format=tf1,output="$T/o",spool="$T/sp"
	b=$MNT/by-name
	# (a script's fixed temporary name: the second file made there
	# takes the first tensor's dtype and shape, which the tensor it
	# replaces then overrides)
	printf '\x00\x00\x80\x3f\x00\x00\x80\x3f\x00\x00\x80\x3f' >"$b/tmp"
	mv "$b/tmp" "$b/dense/bias"
	printf '\x00\x00\x00\x40\x00\x00\x00\x40\x00\x00\x00\x40\x00\x00\x00\x40\x00\x00\x00\x40\x00\x00\x00\x40' >"$b/tmp"
	mv "$b/tmp" "$b/dense/kernel"
	[ "$(xattr "$b/dense/bias" user.ckpt.shape)" = 3 ]
	[ "$(xattr "$b/dense/kernel" user.ckpt.shape)" = 2,3 ]
	# ... and a removed tensor's name gives back its own
	rm "$b/dense/kernel@/Adam"
	printf '\x00\x00\x00\x40\x00\x00\x00\x40\x00\x00\x00\x40\x00\x00\x00\x40\x00\x00\x00\x40\x00\x00\x00\x40' >"$b/tmp"
	printf '\x00\x00\x40\x40\x00\x00\x40\x40\x00\x00\x40\x40' >"$b/tmp2"
	mv "$b/tmp2" "$b/dense/bias@/Adam"
	mv "$b/tmp" "$b/dense/kernel@/Adam"
	[ "$(xattr "$b/dense/kernel@/Adam" user.ckpt.shape)" = 2,3 ]
	[ "$(xattr "$b/dense/bias@/Adam" user.ckpt.shape)" = 3 ]
	# a dtype set is the file's own: kept over a tensor
	printf '\x01\x00\x00\x00' >"$b/tmp"
	setfattr -n user.ckpt.dtype -v int32 "$b/tmp"
	mv "$b/tmp" "$b/a"
	[ "$(xattr "$b/a" user.ckpt.dtype)" = int32 ]
	# also when it is the one the file took at the name
	printf '\x00\x00\x80\x3f\x00\x00\x80\x3f' >"$b/tmp"
	[ "$(xattr "$b/tmp" user.ckpt.dtype)" = int32 ]
	setfattr -n user.ckpt.dtype -v int32 "$b/tmp"
	setfattr -n user.ckpt.shape -v 2 "$b/tmp"
	mv "$b/tmp" "$b/global_step"
	[ "$(xattr "$b/global_step" user.ckpt.dtype)" = int32 ]
	[ "$(xattr "$b/global_step" user.ckpt.shape)" = 2 ]
	# one taken at the name does not go with the file to a new name
	printf '\x07\x00\x00\x00\x00\x00\x00\x00' >"$b/tmp"
	[ "$(xattr "$b/tmp" user.ckpt.dtype)" = int32 ]
	mv "$b/tmp" "$b/v"
	run -1 getfattr -n user.ckpt.dtype "$b/v"
	setfattr -n user.ckpt.dtype -v float64 "$b/v"
	kill_daemon
	mount_ckpt "$P" -o format=tf1,output="$T/o",spool="$T/sp"
	[ "$(xattr "$b/dense/kernel" user.ckpt.shape)" = 2,3 ]
	[ "$(xattr "$b/dense/kernel@/Adam" user.ckpt.shape)" = 2,3 ]
	finish
	[ "$(meta "$T/o" dense/kernel)" = "float32 [2,3]" ]
	[ "$(meta "$T/o" dense/kernel/Adam)" = "float32 [2,3]" ]
	[ "$(meta "$T/o" dense/bias/Adam)" = "float32 [3]" ]
	[ "$(meta "$T/o" a)" = "int32 []" ]
	[ "$(meta "$T/o" global_step)" = "int32 [2]" ]
	[ "$(meta "$T/o" v)" = "float64 [1]" ]
}

@test "a file saved over a tensor takes the tensor's dtype and shape, not those of one that left the name before" {
	local b
	mount_ckpt "$P" -o format=tf1,output="$T/o"
	b=$MNT/by-name
	# a: made again after rm, then given a dtype of its own
	rm "$b/a"
	printf '\x00\x00\x80\x3f' >"$b/a"
	setfattr -n user.ckpt.dtype -v int32 "$b/a"
	printf '\x07\x00\x00\x00' >"$b/tmp"
	mv "$b/tmp" "$b/a"
	[ "$(xattr "$b/a" user.ckpt.dtype)" = int32 ]
	# b: another tensor renamed there after the first went to a backup
	mv "$b/b" "$b/b.old"
	mv "$b/dense/bias" "$b/b"
	sed -i 's/^$//' "$b/b"
	[ "$(xattr "$b/b" user.ckpt.shape)" = 3 ]
	finish
	[ "$(meta "$T/o" a)" = "int32 []" ]
	[ "$(val "$T/o" a)" = 7 ]
	[ "$(meta "$T/o" b)" = "float32 [3]" ]
}

@test "an editor's next save after a backup renamed away keeps the dtype; a temporary name's last tensor, edited since, gives a new one nothing" {
	local b
	mount_ckpt "$P" -o format=tf1,output="$T/o"
	b=$MNT/by-name
	mv "$b/a" "$b/a~"
	printf '\x00\x00\x80\x40' >"$b/a"
	mv "$b/a" "$b/a.bak"
	printf '\x00\x00\xa0\x40' >"$b/a"
	[ "$(xattr "$b/a" user.ckpt.dtype)" = float32 ]
	rm "$b/a.bak"
	printf '\x07\x00\x00\x00\x00\x00\x00\x00' >"$b/tmp"
	mv "$b/tmp" "$b/global_step"
	sed -i 's/^$//' "$b/global_step"
	printf '\x00\x00\xc0\x3f\x00\x00\xc0\x3f' >"$b/tmp"
	mv "$b/tmp" "$b/v"
	run -1 getfattr -n user.ckpt.dtype "$b/v"
	setfattr -n user.ckpt.dtype -v float32 "$b/v"
	finish
	[ "$(meta "$T/o" a)" = "float32 []" ]
	[ "$(val "$T/o" a)" = 5 ]
	[ "$(meta "$T/o" global_step)" = "int64 []" ]
	[ "$(val "$T/o" v)" = "[1.5,1.5]" ]
}

@test "tf2: a tensor restored by rm and a new file keeps its dtype and shape when its name changes in by-name" {
	local k=var_list/a/.ATTRIBUTES/VARIABLE_VALUE
	mount_ckpt "$(fixture tf2list)" -o format=tf2,output="$T/out",tf2_root=var_list
	rm "$MNT/by-object/$k"
	printf '\x00\x00\xe0\x40' >"$MNT/by-object/$k"
	mv "$MNT/by-name/a" "$MNT/by-name/alpha"
	[ "$(xattr "$MNT/by-name/alpha" user.ckpt.dtype)" = float32 ]
	[ "$(xattr "$MNT/by-name/alpha" user.ckpt.key)" = "$k" ]
	finish
	[ "$(meta "$T/out" "$k")" = "float32 []" ]
	[ "$(val "$T/out" "$k")" = 7 ]
}
