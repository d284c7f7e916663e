#!/usr/bin/env bats
# Covers: src/bundle_writer.c (copies that share the source's blocks with
# FICLONERANGE: the probe, runs of tensors, offsets kept equal modulo a
# block, partial blocks copied), src/convert.c (unchanged tensors added in
# their source's data order).  On a small XFS and a small btrfs made in
# loop files (skipped where mkfs or a loop mount is not possible), with a
# source of 200 tensors of uneven sizes in two shards: a checkpoint
# converted unchanged shares nearly all its data blocks with the source
# and reads back the same; after removals, a rewrite in place, a new
# tensor and a rename, every tensor's bytes are those the mount showed
# (diff -r against a copy taken before the unmount); the same on an XFS
# of 64 KiB blocks, where most tensors are smaller than 4 blocks and runs
# of them are moved whole; a checkpoint written back unchanged in its own
# format is byte for byte the source; cp -a of one view into the other
# (copies that share the source's bytes) writes the copies sharing blocks
# too, in long runs.  The
# suites on ext4 and tmpfs cover the copy without sharing.

load helpers

setup() {
	require_fuse
	command -v filefrag >/dev/null || skip "filefrag not installed"
	T=$BATS_TEST_TMPDIR
}

teardown() {
	local rc=0
	ckpt_teardown || rc=$?
	if [ -n "${L:-}" ] && mountpoint -q "$L"; then
		umount "$L" || umount -l "$L"
	fi
	return "$rc"
}

# mkloop TYPE [MKFS-ARGS...]: a new TYPE filesystem in a sparse file,
# mounted at $L, holding a copy of the layout fixture at $L/in/ckpt.
mkloop() {
	local type=$1
	shift
	command -v "mkfs.$type" >/dev/null || skip "mkfs.$type not installed"
	rm -f "$T/fs.img"
	truncate -s 1G "$T/fs.img"
	"mkfs.$type" -q "$@" "$T/fs.img" >/dev/null 2>&1 ||
		skip "mkfs.$type $* failed"
	mkdir -p "$T/fs"
	mount -o loop "$T/fs.img" "$T/fs" 2>/dev/null ||
		skip "cannot mount a loop device here"
	L=$T/fs
	SRC=$(fixture layout)
	mkdir "$L/in"
	cp "$SRC".* "$L/in/"
}

# The percentage of FILE's blocks that are shared with another file.
shared_pct() {
	filefrag -v "$1" | awk -F: '/^ *[0-9]+:/ {
		n = $4 + 0; all += n; if ($0 ~ /shared/) sh += n }
		END { print all ? int(100 * sh / all) : 0 }'
}

# The layout fixture converted unchanged (to FORMAT $2, COUNT $3 tensors)
# on a TYPE ($1) filesystem made with MKFS-ARGS (the rest) shares its
# blocks.
unchanged() {
	mkloop "$1" "${@:4}"
	mount_ckpt "$L/in/ckpt" -o "output=$L/out,format=$2"
	finish
	run -0 "$CKPT_INSPECT" --verify "$L/out"
	[ "$output" = "$3 tensors verified, 0 damaged" ]
	[ "$(shared_pct "$L/out.data-00000-of-00001")" -ge 95 ]
	mount_ckpt "$L/out" -o ro
	local out=$MNT
	mount_ckpt "$L/in/ckpt" -o ro
	[ "$(find "$MNT/by-name" -type f | wc -l)" -eq 200 ]
	# (a TF2 output has a save_counter too)
	diff -r -x save_counter "$out/by-name" "$MNT/by-name"
}

# The layout fixture edited, then written out as FORMAT: every tensor is
# as the mount showed it, and most blocks are still shared.  Arguments
# as for unchanged().
edited() {
	local t
	mkloop "$1" "${@:4}"
	mount_ckpt "$L/in/ckpt" -o "output=$L/out,format=$2"
	t=$MNT/by-name/t
	rm "$t/0003" "$t/0050" "$t/0101"
	# t/0008 holds 249,224 bytes: 3 of them changed in place
	[ "$(stat -c %s "$t/0008")" -eq 249224 ]
	printf 'XYZ' | dd of="$t/0008" bs=1 seek=70000 conv=notrunc status=none
	head -c 100001 /dev/urandom >"$MNT/by-name/new"
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/new"
	mkdir "$MNT/by-name/u"
	mv "$t/0010" "$MNT/by-name/u/moved"
	cp -r "$MNT/by-name" "$T/expect"
	finish
	# the spool goes once written (on btrfs too)
	[ ! -e "$L/out.ckptfs-spool" ]
	run -0 "$CKPT_INSPECT" --verify "$L/out"
	[ "$output" = "$3 tensors verified, 0 damaged" ]
	[ "$(shared_pct "$L/out.data-00000-of-00001")" -ge 80 ]
	mount_ckpt "$L/out" -o ro
	[ "$(find "$MNT/by-name" -type f ! -name save_counter | wc -l)" -eq 198 ]
	diff -r -x save_counter "$T/expect" "$MNT/by-name"
	[ "$(od -An -c -j70000 -N3 "$MNT/by-name/t/0008" | tr -d ' ')" = XYZ ]
	cmp "$MNT/by-name/u/moved" "$T/expect/u/moved"
}

@test "xfs: cp -a of a view into the other: nothing spooled, blocks shared" {
	mkloop xfs
	mount_ckpt "$L/in/ckpt" -o "output=$L/out,format=tf2"
	mkdir "$MNT/by-object/copy"
	cp -a "$MNT/by-name/." "$MNT/by-object/copy/"
	# the copies share the source's bytes: no spool file holds any
	[ "$(find "$L/out.ckptfs-spool" -name '*.spool' -size +0 | wc -l)" = 0 ]
	cp -r "$MNT/by-name/copy" "$T/expect"
	[ "$(find "$T/expect" -type f | wc -l)" = 200 ]
	finish
	run -0 "$CKPT_INSPECT" --verify "$L/out"
	[ "$output" = "402 tensors verified, 0 damaged" ]
	# the copies follow the originals in the source's order: long runs
	[ "$(shared_pct "$L/out.data-00000-of-00001")" -ge 95 ]
	[ "$(filefrag "$L/out.data-00000-of-00001" | awk '{ print $2 }')" -le 40 ]
	mount_ckpt "$L/out" -o ro
	diff -r "$T/expect" "$MNT/by-name/copy"
}

@test "xfs: a checkpoint converted unchanged shares its blocks" {
	unchanged xfs tf2 202
}

@test "btrfs: a checkpoint converted unchanged shares its blocks" {
	unchanged btrfs tf2 202
}

@test "xfs: removals, a rewrite, a new tensor, a rename: every byte right" {
	edited xfs tf2 200
}

@test "btrfs: the same edits written in the source's format" {
	edited btrfs same 198
}

@test "xfs of 64 KiB blocks: unchanged, then edited, blocks are shared" {
	# (a run of tensors smaller than 4 blocks each is moved as a whole)
	unchanged xfs tf2 202 -b size=65536
	unmount_ckpt
	umount "$L"
	edited xfs tf2 200 -b size=65536
}

@test "xfs: written back unchanged in its format: byte for byte, shared" {
	mkloop xfs
	mount_ckpt "$L/in/ckpt" -o "output=$L/same,format=same"
	finish
	cmp "$L/in/ckpt.index" "$L/same.index"
	for s in 00000 00001; do
		cmp "$L/in/ckpt.data-$s-of-00002" "$L/same.data-$s-of-00002"
		[ "$(shared_pct "$L/same.data-$s-of-00002")" -ge 95 ]
	done
}
