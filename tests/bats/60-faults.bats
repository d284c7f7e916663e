#!/usr/bin/env bats
# Covers: src/bundle.c (reads against shards that change under a mount),
# src/fuse_ops.c, src/tree.c.
# Faults that need no writing through the mount: a data shard truncated
# or deleted while mounted (EIO on the affected tensors only, the rest
# intact), FIFOs and directories where files belong, and hostile checkpoints mounted read-only: names with '..',
# '/', NUL and 4 KiB that must stay inside the mount, and TF2 object
# graphs with a dangling checkpoint key or a cycle.
# The hostile checkpoints come from `test_hostile --write DIR`.

load helpers

# Copy the checkpoint at PREFIX into a fresh directory; print the new
# prefix (so a test may damage its files).
copy_ckpt() {
	local d=$BATS_TEST_TMPDIR/copy$RANDOM
	mkdir -p "$d"
	cp "$1".* "$d/"
	echo "$d/ckpt"
}

# The hostile checkpoints of test_hostile; sets HX to their directory.
hostile() {
	local t=${top_builddir:-.}/tests/unit/test_hostile
	[ -x "$t" ] || skip "test_hostile not built ($t)"
	HX=$BATS_FILE_TMPDIR/hostile
	if [ ! -f "$HX/names.index" ]; then
		mkdir -p "$HX"
		"$t" --write "$HX" || fail "test_hostile --write failed"
	fi
}

@test "a shard truncated while mounted: EIO on its tensors only" {
	local p
	p=$(copy_ckpt "$(fixture shards)")
	mount_ckpt "$p"
	[ "$(values "$MNT/by-name/s0/x" f4)" = "1 2 3 4" ]
	truncate -s 8 "$p.data-00001-of-00003"
	run -1 cat "$MNT/by-name/s1/y"
	assert_output --partial "Input/output error"
	run -1 cat "$MNT/by-object/vars/s1.Sy/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(values "$MNT/by-name/s0/x" f4)" = "1 2 3 4" ]
	[ "$(values "$MNT/by-name/s2/z" f4)" = "9 10 11 12" ]
	# Metadata still answers.
	[ "$(stat -c %s "$MNT/by-name/s1/y")" = 16 ]
	[ "$(xattr "$MNT/by-name/s1/y" user.ckpt.shape)" = 4 ]
	run -0 ls "$MNT/by-name"
	assert_output $'s0\ns1\ns2'
	# Logged once however often it is read, naming the short file and
	# only the damaged tensor.
	run -1 cat "$MNT/by-name/s1/y"
	run -1 cat "$MNT/by-name/s1/y"
	run -0 grep -c "^ckptfs: $p.data-00001-of-00003: tensor 's1/y': the file is shorter than the index says" "$CKPTFS_LOG"
	[ "$output" = 1 ]
	run ! grep -E "s0/x|s2/z" "$CKPTFS_LOG"
}

@test "a shard cut short before mounting: a warning, the rest served, the cut refused" {
	local p
	p=$(copy_ckpt "$(fixture shards)")
	# s1/y is the 16 bytes of the second shard: cut in the middle
	truncate -s 8 "$p.data-00001-of-00003"
	mount_ckpt "$p" -o output="$BATS_TEST_TMPDIR/out"
	run -0 grep -c . "$CKPTFS_LOG"
	assert_output 1
	run -0 cat "$CKPTFS_LOG"
	assert_output "ckptfs: warning: $p.data-00001-of-00003: tensor 's1/y' (16 bytes at offset 0) runs past the end of the file (8 bytes): cut short?; reading such a tensor fails with EIO"
	[ "$(values "$MNT/by-name/s0/x" f4)" = "1 2 3 4" ]
	[ "$(values "$MNT/by-name/s2/z" f4)" = "9 10 11 12" ]
	run -1 cat "$MNT/by-name/s1/y"
	assert_output --partial "Input/output error"
	[ "$(stat -c %s "$MNT/by-name/s1/y")" = 16 ]
	# no checksum of bytes it does not have, as for damage
	run -1 getfattr -n user.ckpt.crc32c "$MNT/by-name/s1/y"
	assert_output --partial "Input/output error"
	[[ "$(xattr "$MNT/by-name/s2/z" user.ckpt.crc32c)" =~ ^[0-9a-f]{8}$ ]]
	# the write-out names it and how to go on
	finish_fails
	assert_output --partial "ckptfs: error: by-name/s1/y: its bytes are not all in its data file $p.data-00001-of-00003 (cut short?); remove it, or overwrite all of it (ckpt-inspect -r --force salvages what is there)"
	[ ! -e "$BATS_TEST_TMPDIR/out.index" ]
	# and the header says which file, and by how much
	run -1 --separate-stderr "$CKPT_INSPECT" -H "$p"
	assert_line "shard 1      $p.data-00001-of-00003 (8 bytes; the index needs 16: cut short)"
	mount_ckpt "$p" -o output="$BATS_TEST_TMPDIR/out"
	rm "$MNT/by-name/s1/y"
	finish
	[ "$(keys "$BATS_TEST_TMPDIR/out" | tr '\n' ' ')" = "_CHECKPOINTABLE_OBJECT_GRAPH save_counter/.ATTRIBUTES/VARIABLE_VALUE vars/s0.Sx/.ATTRIBUTES/VARIABLE_VALUE vars/s2.Sz/.ATTRIBUTES/VARIABLE_VALUE " ]
	[ "$(val "$BATS_TEST_TMPDIR/out" vars/s2.Sz/.ATTRIBUTES/VARIABLE_VALUE)" = "[9,10,11,12]" ]
}

@test "a damaged object graph is not copied into a TF2 output; removed, one is built" {
	local p off o=$BATS_TEST_TMPDIR/out
	p=$(copy_ckpt "$(fixture tf2)")
	off=$("$CKPT_INSPECT" -j "$p" _CHECKPOINTABLE_OBJECT_GRAPH | jq .offset)
	printf '\xff' | dd of="$p.data-00000-of-00001" bs=1 seek=$((off + 500)) \
		conv=notrunc status=none
	mount_ckpt "$p" -o format=same,output="$o"
	grep -q "warning: .*object graph" "$CKPTFS_LOG"
	finish_fails
	assert_output --partial "ckptfs: error: by-object/_CHECKPOINTABLE_OBJECT_GRAPH: damaged in the source checkpoint (its bytes do not match its stored checksum); remove it to have a new one built from the keys"
	[ ! -e "$o.index" ]
	# A TF1 output does not hold it.
	mount_ckpt "$p" -o format=tf1,output="$o.tf1"
	finish
	run -0 "$CKPT_INSPECT" --verify "$o.tf1"
	# Removed, a new one is built.
	mount_ckpt "$p" -o format=same,output="$o"
	rm "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH"
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	assert_output --partial ", 0 damaged"
	# Cut short (it is stored last): named the same way.
	truncate -s $((off + 500)) "$p.data-00000-of-00001"
	mount_ckpt "$p" -o format=tf2,output="$o.cut"
	finish_fails
	assert_output --partial "ckptfs: error: by-object/_CHECKPOINTABLE_OBJECT_GRAPH: damaged in the source checkpoint (its bytes are not all in its data file); remove it"
}

@test "shards cut while mounted: the write-out refuses each cut tensor by name" {
	local p
	p=$(copy_ckpt "$(fixture shards)")
	mount_ckpt "$p" -o format=same,output="$BATS_TEST_TMPDIR/out"
	truncate -s 8 "$p.data-00001-of-00003"
	truncate -s 0 "$p.data-00002-of-00003"
	finish_fails
	assert_output --partial "ckptfs: error: by-name/s1/y: its bytes are not all in its data file $p.data-00001-of-00003 (cut short?); remove it, or overwrite all of it (ckpt-inspect -r --force salvages what is there); 1 more tensor refused: by-name/s2/z"
	[ ! -e "$BATS_TEST_TMPDIR/out.index" ]
}

@test "a shard truncated after a first read: the rest fails, no short read" {
	local p t
	p=$(copy_ckpt "$(fixture big --tensors 4 --bytes 4000000)")
	mount_ckpt "$p"
	# The largest tensor is the first in the shard; read one byte of it
	# (verified whole), cut the shard in its middle, read on uncached.
	t=$MNT/by-name/embedding/embeddings
	[ -f "$t" ] || t=$(find "$MNT/by-name" -type f -size +1000k | head -n 1)
	run -0 dd if="$t" bs=1 count=1 status=none
	truncate -s 100000 "$p.data-00000-of-00001"
	run -1 dd if="$t" of=/dev/null bs=4096 skip=200 count=4 status=none
	assert_output --partial "Input/output error"
	run -1 dd if="$t" of=/dev/null bs=4096 skip=200 count=4 \
		iflag=direct status=none
	assert_output --partial "Input/output error"
}

@test "a shard changed while mounted: its tensors checked again, the damaged refused" {
	local p o=$BATS_TEST_TMPDIR/out d
	p=$(copy_ckpt "$(fixture shards)")
	d=$p.data-00001-of-00003
	cp "$d" "$BATS_TEST_TMPDIR/keep"
	mount_ckpt "$p" -o format=same,output="$o"
	# s1/y read (and checked), then its bytes change under the mount
	[ "$(values "$MNT/by-name/s1/y" f4)" = "5 6 7 8" ]
	sleep 0.01
	printf '\xde\xad\xbe\xef' | dd of="$d" conv=notrunc status=none
	run -1 dd if="$MNT/by-name/s1/y" iflag=direct bs=16 count=1 status=none
	assert_output --partial "Input/output error"
	run -0 grep -c "^ckptfs: warning: $d: changed while open" "$CKPTFS_LOG"
	[ "$output" = 1 ]
	run -0 grep -c "tensor 's1/y': crc32c mismatch" "$CKPTFS_LOG"
	[ "$output" = 1 ]
	# the other shards are as they were
	[ "$(values "$MNT/by-name/s0/x" f4)" = "1 2 3 4" ]
	[ "$(values "$MNT/by-name/s2/z" f4)" = "9 10 11 12" ]
	# put back: checked again, good
	cp "$BATS_TEST_TMPDIR/keep" "$d"
	run -0 dd if="$MNT/by-name/s1/y" iflag=direct bs=16 count=1 status=none
	# touched, or grown at its end: its bytes are as they were
	touch "$d"
	printf 'Z' >>"$d"
	run -0 dd if="$MNT/by-name/s1/y" iflag=direct bs=16 count=1 status=none
	[ "$(grep -c "^ckptfs: warning: $d: changed while open" "$CKPTFS_LOG")" -ge 3 ]
	# damaged again, and written out: refused, the change kept
	printf '\xde\xad' | dd of="$d" conv=notrunc status=none
	printf '\x00\x00\x80\x3f' >"$MNT/by-name/s0/x"
	finish_fails
	assert_output --partial "ckptfs: error: by-name/s1/y: damaged in the source checkpoint (its data file changed while mounted, and its bytes no longer match their checksum); remove it, or overwrite all of it"
	[ ! -e "$o.index" ]
	# mounted again (the change replayed), s1/y removed: written
	[ -d "$o.ckptfs-spool" ]
	mount_ckpt "$p" -o format=same,output="$o"
	[ "$(values "$MNT/by-name/s0/x" f4)" = "1" ]
	rm "$MNT/by-name/s1/y"
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	[ "$("$CKPT_INSPECT" --json "$o" | jq -r .key | sort | xargs echo)" = "s0/x s2/z" ]
}

@test "a partitioned tensor that cannot be assembled: its slice left is refused for TF2, saying so" {
	local p o=$BATS_TEST_TMPDIR/out
	p=$(fixture badpart)
	mount_ckpt "$p" -o output="$o"
	# w, and the slice it could not claim, named by its slice key
	run -0 ls "$MNT/by-name"
	[ "${#lines[@]}" = 4 ]
	assert_line p
	assert_line w
	run -1 cat "$MNT/by-name/w"
	rm "$MNT/by-name/w"
	finish_fails
	assert_output --partial "/.ATTRIBUTES/VARIABLE_VALUE: a slice of the partitioned tensor 'w', whose entry cannot be used, cannot be a TF2 object key; remove it (with the tensor), or rename it"
	# mounted again (w's removal replayed), the slice removed too
	mount_ckpt "$p" -o output="$o"
	[ ! -e "$MNT/by-name/w" ]
	find "$MNT/by-name" -maxdepth 1 -name '%00w%00*' -delete
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	run -0 "$CKPT_INSPECT" "$o"
	assert_output --partial "vars/p/.ATTRIBUTES/VARIABLE_VALUE"
	refute_output --partial "w/"
	refute_output --partial 'x00w'
}

@test "a shard deleted while mounted keeps serving its bytes (open fd)" {
	local p
	p=$(copy_ckpt "$(fixture shards)")
	mount_ckpt "$p"
	rm "$p.data-00002-of-00003"
	# The daemon holds each shard open since mount time: the inode
	# lives on and every byte is still the checkpoint's.
	[ "$(values "$MNT/by-name/s2/z" f4)" = "9 10 11 12" ]
	# Replacing it by another file does not change what is served.
	printf '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' >"$p.data-00002-of-00003"
	[ "$(values "$MNT/by-name/s2/z" f4)" = "9 10 11 12" ]
	[ "$(values "$MNT/by-name/s1/y" f4)" = "5 6 7 8" ]
}

@test "a missing shard: a warning naming it, the rest served, its tensors refused" {
	local p o=$BATS_TEST_TMPDIR/out
	p=$(copy_ckpt "$(fixture shards)")
	rm "$p.data-00001-of-00003"
	# Listed from the index; --verify names the file.
	run -0 "$CKPT_INSPECT" "$p"
	assert_line --partial "s1/y"
	assert_line "ckpt-inspect: warning: $p.data-00001-of-00003: no such data file, which holds tensor 's1/y'"
	run -1 "$CKPT_INSPECT" --verify "$p"
	assert_line "DAMAGED s1/y: ckpt.data-00001-of-00003: no such data file"
	assert_line "3 tensors verified, 1 damaged"
	mount_ckpt "$p" -o output="$o"
	run -0 cat "$CKPTFS_LOG"
	assert_output "ckptfs: warning: $p.data-00001-of-00003: no such data file, which holds tensor 's1/y'; reading such a tensor fails with EIO"
	[ "$(values "$MNT/by-name/s0/x" f4)" = "1 2 3 4" ]
	[ "$(values "$MNT/by-name/s2/z" f4)" = "9 10 11 12" ]
	run -1 cat "$MNT/by-name/s1/y"
	assert_output --partial "Input/output error"
	run -1 getfattr -n user.ckpt.crc32c "$MNT/by-name/s1/y"
	assert_output --partial "Input/output error"
	finish_fails
	assert_output --partial "ckptfs: error: by-name/s1/y: its data file $p.data-00001-of-00003 could not be opened (no such data file); remove it, or overwrite all of it"
	[ ! -e "$o.index" ]
	mount_ckpt "$p" -o output="$o"
	rm "$MNT/by-name/s1/y"
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	assert_output --partial "4 tensors verified, 0 damaged"
}

@test "index entries that cannot be used: the rest served, read-only too; those fail to open, and are refused until removed or overwritten" {
	local p o=$BATS_TEST_TMPDIR/out
	# dense/bias says dtype 99, scoped/c is not a BundleEntryProto; the
	# block checksums are right
	p=$(copy_ckpt "$(fixture badentry)")
	run -1 --separate-stderr "$CKPT_INSPECT" "$p"
	[ "${#lines[@]}" = 8 ]
	refute_line --partial "dense/bias "
	[ "$stderr" = "ckpt-inspect: warning: $p.index: tensor 'dense/bias' has unknown dtype 99: this tensor cannot be read; 1 more unusable entry" ]
	run -1 "$CKPT_INSPECT" --verify "$p"
	assert_line "DAMAGED dense/bias: unusable index entry: tensor 'dense/bias' has unknown dtype 99 in ckpt.index"
	assert_line "DAMAGED scoped/c: unusable index entry: the entry of tensor 'scoped/c' is not a valid BundleEntryProto in ckpt.index"
	assert_line "10 tensors verified, 2 damaged"
	# a key asked for is named; the header counts them
	run -1 --separate-stderr "$CKPT_INSPECT" "$p" scoped/c
	[ "$output" = "" ]
	[ "${stderr_lines[1]}" = "ckpt-inspect: $p.index: the entry of tensor 'scoped/c' is not a valid BundleEntryProto" ]
	# (exit 1, as a listing's)
	run -1 "$CKPT_INSPECT" -H "$p"
	assert_line "tensors:      10, 2 of them unusable (ckpt-inspect --verify names them)"
	run -1 "$CKPT_INSPECT" -Hj "$p"
	run -0 jq -e '.unusable == 2 and .tensors == 10' <<<"${lines[-1]}"
	for opt in ro output="$o"; do
		mount_ckpt "$p" -o "$opt"
		run -0 cat "$CKPTFS_LOG"
		assert_output "ckptfs: warning: $p.index: tensor 'dense/bias' has unknown dtype 99: this tensor cannot be read; 1 more unusable entry; reading such a tensor fails with EIO"
		[ "$(values "$MNT/by-name/dense/kernel" f4)" = "0 1 2 3 4 5" ]
		[ "$(values "$MNT/by-object/vars/dense.Sbias.SAdam/.ATTRIBUTES/VARIABLE_VALUE" f4)" = "0 0 0" ]
		# shown under its key, with no bytes, dtype, shape or checksum
		[ "$(stat -c %s "$MNT/by-name/dense/bias")" = 0 ]
		[ "$(getfattr --absolute-names -d "$MNT/by-name/dense/bias" | grep -c =)" = 1 ]
		[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.key)" = dense/bias ]
		for f in by-name/dense/bias by-name/scoped/c \
			by-object/vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE; do
			run -1 cat "$MNT/$f"
			assert_output --partial "Input/output error"
		done
		# the first failure says why
		grep -q "tensor 'scoped/c' is not a valid BundleEntryProto" "$CKPTFS_LOG"
		[ "$opt" = ro ] && unmount_ckpt
	done
	# Changes that need its bytes fail; the write-out names both.
	run -1 truncate -s 4 "$MNT/by-name/dense/bias"
	run -1 setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/dense/bias"
	run -1 dd if=/dev/zero of="$MNT/by-name/dense/bias" bs=4 count=1 \
		conv=notrunc status=none
	assert_output --partial "Input/output error"
	printf '\0\0\0@' >"$MNT/by-name/a"
	finish_fails
	assert_output --partial "ckptfs: error: by-name/dense/bias: its entry in the source's index cannot be used ($p.index: tensor 'dense/bias' has unknown dtype 99); remove it, or overwrite all of it (ckpt-inspect -r --force salvages the bytes it locates); 1 more tensor refused: by-name/scoped/c; changes kept in"
	# (not for an entry that does not say where its bytes are)
	assert_line "ckptfs: refused: by-name/scoped/c: its entry in the source's index cannot be used ($p.index: the entry of tensor 'scoped/c' is not a valid BundleEntryProto); remove it, or overwrite all of it"
	[ ! -e "$o.index" ]
	# Replayed; one removed, one overwritten whole and described.
	mount_ckpt "$p" -o output="$o"
	[ "$(values "$MNT/by-name/a" f4)" = 2 ]
	rm "$MNT/by-name/scoped/c"
	# truncate(1) opens without O_TRUNC, then truncates
	truncate -s 0 "$MNT/by-name/dense/bias"
	printf '\0\0\200?\0\0\0@\0\0@@' >>"$MNT/by-object/vars/dense.Sbias/.ATTRIBUTES/VARIABLE_VALUE"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/dense/bias"
	setfattr -n user.ckpt.shape -v 3 "$MNT/by-name/dense/bias"
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	assert_output --partial "11 tensors verified, 0 damaged"
	[ "$(val "$o" vars/dense.Sbias/.ATTRIBUTES/VARIABLE_VALUE)" = "[1,2,3]" ]
	[ "$(val "$o" vars/a/.ATTRIBUTES/VARIABLE_VALUE)" = "2" ]
	[ "$(meta "$o" vars/global_step/.ATTRIBUTES/VARIABLE_VALUE)" = "int64 []" ]
}

@test "a newline in the path of a refused data file: ckptfs -u says it escaped, one line a message" {
	local d=$BATS_TEST_TMPDIR/we$'\n'ird
	mkdir "$d"
	cp "$(fixture shards)".* "$d/"
	rm "$d/ckpt.data-00001-of-00003" "$d/ckpt.data-00002-of-00003"
	mount_ckpt "$d/ckpt" -o format=same,output="$BATS_TEST_TMPDIR/out"
	printf '\0\0\0@' >"$MNT/by-name/n"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/n"
	finish_fails
	# (the path was cut in two, its second half a line of its own)
	assert_output --partial 'we\nird/ckpt.data-00001-of-00003'
	[ "$(grep -c -v '^ckptfs: ' <<<"$output" || true)" = 0 ]
}

@test "-o verify: damage nothing read is refused at the write-out; without it, copied as stored" {
	local p off o=$BATS_TEST_TMPDIR/out
	p=$(copy_ckpt "$(fixture tf1)")
	off=$("$CKPT_INSPECT" --json "$p" dense/kernel | jq .offset)
	printf '\xff' | dd of="$p.data-00000-of-00001" bs=1 seek=$((off + 1)) conv=notrunc status=none
	# (a copy sharing its bytes, under a new name, too)
	mount_ckpt "$p" -o verify,format=same,output="$o"
	cp "$MNT/by-name/dense/kernel" "$MNT/by-name/k2"
	printf '\0\0\0@' >"$MNT/by-name/a"
	finish_fails
	assert_output --partial "ckptfs: error: by-name/dense/kernel: damaged in the source checkpoint ($p.data-00000-of-00001: tensor 'dense/kernel': crc32c mismatch (stored 78743a5d, data "
	assert_output --partial "1 more tensor refused: by-name/k2"
	assert_output --partial "(mount again with -o spool=$o.ckptfs-spool,output=$o,format=same,verify)"
	[ ! -e "$o.index" ]
	# removed (and the copy), it is written; the rest was checked
	mount_ckpt "$p" -o verify,format=same,output="$o"
	rm "$MNT/by-name/dense/kernel" "$MNT/by-name/k2"
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	assert_output "9 tensors verified, 0 damaged"
	# without it, what nothing read goes as stored (ckpt-inspect finds it)
	mount_ckpt "$p" -o format=same,output="$o.2"
	printf '\0\0\0@' >"$MNT/by-name/a"
	finish
	run -1 "$CKPT_INSPECT" --verify "$o.2"
	assert_line --partial "DAMAGED dense/kernel: crc32c mismatch"
}

@test "a tensor of no bytes whose checksum is not that of nothing: EIO to open, refused at the write-out" {
	local p o=$BATS_TEST_TMPDIR/out
	p=$(copy_ckpt "$(fixture badempty)")
	# (no READ is ever sent for it: it was shown as a good empty file,
	# and copied into the output)
	for opt in ro output="$o"; do
		mount_ckpt "$p" -o "$opt"
		[ "$(stat -c %s "$MNT/by-name/empty")" = 0 ]
		[ "$(xattr "$MNT/by-name/empty" user.ckpt.shape)" = 0,3 ]
		run -1 cat "$MNT/by-name/empty"
		assert_output --partial "Input/output error"
		run -1 cat "$MNT/by-object/vars/empty/.ATTRIBUTES/VARIABLE_VALUE"
		run -1 xattr "$MNT/by-name/empty" user.ckpt.crc32c
		[ "$(values "$MNT/by-name/z" f4)" = 2 ]
		run -0 grep -c "tensor 'empty': crc32c mismatch (stored 1527dd7d, data 00000000)" "$CKPTFS_LOG"
		assert_output 1
		[ "$opt" = ro ] && unmount_ckpt
	done
	# never opened: refused all the same, saying why
	printf '\0\0\100\100' >"$MNT/by-name/a"
	finish_fails
	assert_output --partial "ckptfs: error: by-name/empty: damaged in the source checkpoint ($p.data-00000-of-00001: tensor 'empty': crc32c mismatch (stored 1527dd7d, data 00000000)); remove it, or overwrite all of it"
	[ ! -e "$o.index" ]
	mount_ckpt "$p" -o output="$o"
	printf '\0\0\100\100' >"$MNT/by-name/a"
	rm "$MNT/by-name/empty"
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	# (a, z, save_counter and the object graph)
	assert_output "4 tensors verified, 0 damaged"
	# or overwritten whole: with nothing, as it was meant to be
	mount_ckpt "$p" -o output="$o"
	: >"$MNT/by-name/empty"
	run -0 cat "$MNT/by-name/empty"
	[ "$(xattr "$MNT/by-name/empty" user.ckpt.crc32c)" = 00000000 ]
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	assert_output "5 tensors verified, 0 damaged"
	[ "$(meta "$o" vars/empty/.ATTRIBUTES/VARIABLE_VALUE)" = "float32 [0,3]" ]
}

@test "an object graph entry that cannot be used: refused with its reason; removed, one is built; an empty output" {
	local p o=$BATS_TEST_TMPDIR/out
	p=$(copy_ckpt "$(fixture badgraph)")
	mount_ckpt "$p" -o format=same,output="$o"
	grep -q "object graph unreadable ($p.index: tensor '_CHECKPOINTABLE_OBJECT_GRAPH' has unknown dtype 99)" "$CKPTFS_LOG"
	# by-name/ shows the keys' object paths, and a new graph and a TF1
	# output name the tensors so
	[ "$(values "$MNT/by-name/model/layers/0/bias" f4)" = "1 2 3" ]
	finish_fails
	assert_output --partial "ckptfs: error: by-object/_CHECKPOINTABLE_OBJECT_GRAPH: damaged in the source checkpoint ($p.index: tensor '_CHECKPOINTABLE_OBJECT_GRAPH' has unknown dtype 99); remove it"
	[ ! -e "$o.index" ]
	mount_ckpt "$p" -o format=same,output="$o"
	rm "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH"
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	assert_output --partial "11 tensors verified, 0 damaged"
	run -0 "$CKPT_INSPECT" -g "$o"
	assert_output --partial "full_name model/layers/0/bias  checkpoint_key model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE"
	mount_ckpt "$p" -o format=tf1,output="$o.names"
	finish
	[ "$(val "$o.names" model/layers/0/bias)" = "[1,2,3]" ]
	# every tensor removed: an empty TF1 checkpoint
	mount_ckpt "$p" -o format=tf1,output="$o.empty"
	rm -r "$MNT"/by-object/*
	finish
	run -0 "$CKPT_INSPECT" -H "$o.empty"
	assert_line "tensors:      0"
}

@test "a FIFO or directory in place of a file: never opened, not a hang; a shard's tensors alone fail" {
	local p d=$BATS_TEST_TMPDIR
	mkdir -p "$d/mnt" "$d/state"
	p=$(copy_ckpt "$(fixture shards)")
	rm "$p.data-00001-of-00003"
	mkfifo "$p.data-00001-of-00003"
	# (a plain open of a FIFO waits for a writer, forever); a data file
	# that is not a file is as a missing one: the rest is served
	mount_ckpt "$p" -o ro
	run -0 cat "$CKPTFS_LOG"
	assert_output "ckptfs: warning: $p.data-00001-of-00003: not a regular file, which holds tensor 's1/y'; reading such a tensor fails with EIO"
	[ "$(values "$MNT/by-name/s0/x" f4)" = "1 2 3 4" ]
	[ "$(values "$MNT/by-name/s2/z" f4)" = "9 10 11 12" ]
	run -1 timeout 10 cat "$MNT/by-name/s1/y"
	assert_output --partial "Input/output error"
	run -0 grep -c "ckptfs: $p.data-00001-of-00003: tensor 's1/y': not a regular file$" "$CKPTFS_LOG"
	assert_output 1
	unmount_ckpt
	run -0 --separate-stderr timeout 10 "$CKPT_INSPECT" "$p"
	[ "${#lines[@]}" = 3 ]
	[ "$stderr" = "ckpt-inspect: warning: $p.data-00001-of-00003: not a regular file, which holds tensor 's1/y'" ]
	rm "$p.data-00001-of-00003"
	mkdir "$p.data-00001-of-00003"
	run -1 timeout 10 "$CKPT_INSPECT" --verify "$p"
	assert_line "DAMAGED s1/y: ckpt.data-00001-of-00003: not a regular file"
	assert_line "3 tensors verified, 1 damaged"
	run -1 --separate-stderr "$CKPT_INSPECT" -H "$p"
	assert_line "shard 1      $p.data-00001-of-00003 (not a regular file)"
	run -1 --separate-stderr "$CKPT_INSPECT" -Hj "$p"
	run -0 jq -e '.shards[1] | .size == null and .error == "not a regular file"' <<<"$output"
	# refused at the write-out, named; removed, the rest is written
	mount_ckpt "$p" -o output="$d/out"
	printf '\0\0\200?' >"$MNT/by-name/n"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/n"
	finish_fails
	assert_output --partial "ckptfs: error: by-name/s1/y: its data file $p.data-00001-of-00003 could not be opened (not a regular file); remove it, or overwrite all of it"
	mount_ckpt "$p" -o output="$d/out"
	rm "$MNT/by-name/s1/y"
	finish
	run -0 "$CKPT_INSPECT" --verify "$d/out"
	assert_output "5 tensors verified, 0 damaged"
	mkfifo "$d/f.index"
	run -1 timeout 10 "$CKPT_INSPECT" "$d/f"
	assert_output "ckpt-inspect: $d/f.index: not a regular file"
	mkfifo "$d/state/checkpoint"
	run -1 timeout 10 "$CKPT_INSPECT" "$d/state"
	assert_output "ckpt-inspect: $d/state/checkpoint: not a regular file"
	run ! mountpoint -q "$d/mnt"
}

@test "a file system mounted over the spool: changes fail, the mount keeps working" {
	command -v squashfuse >/dev/null && command -v mksquashfs >/dev/null ||
		skip "squashfuse or mksquashfs not installed"
	local sq=$BATS_TEST_TMPDIR/sq
	mkdir -p "$sq/src" "$sq/mnt"
	echo x >"$sq/src/f"
	mksquashfs "$sq/src" "$sq/img" -quiet -noappend >/dev/null
	mount_ckpt "$(fixture tf1)" -o spool="$sq/mnt",output="$sq/out"
	# then a read-only FUSE file system is the spool: the changes fail
	# (it answered ENOSYS to mkdir when the spool was made below it,
	# which the kernel took as "never send setxattr again": EIO now)
	# (fd 3 closed: bats would wait for the daemon otherwise)
	squashfuse "$sq/img" "$sq/mnt" 3>&- || skip "squashfuse cannot mount here"
	CKPTFS_EXTRA_MNTS+=("$sq/mnt")
	run ! setfattr -n user.ckpt.dtype -v int32 "$MNT/by-name/a"
	assert_output --partial "Read-only file system"
	run ! sh -c "printf abcd >'$MNT/by-name/new1'"
	assert_output --partial "Read-only file system"
	fusermount3 -u "$sq/mnt"
	setfattr -n user.ckpt.dtype -v int32 "$MNT/by-name/a"
	printf abcd >"$MNT/by-name/new1"
	setfattr -n user.ckpt.dtype -v int32 "$MNT/by-name/new1"
	finish
	[ "$(meta "$sq/out" vars/a/.ATTRIBUTES/VARIABLE_VALUE)" = "int32 []" ]
	[ "$(meta "$sq/out" vars/new1/.ATTRIBUTES/VARIABLE_VALUE)" = "int32 [1]" ]
}

@test "hostile names: everything stays inside the mount, escaped" {
	local f rp b=
	hostile
	mount_ckpt "$HX/names"
	b=$MNT/by-name
	# No symlinks, no entry named '.', '..' or longer than NAME_MAX: no
	# path below the mount can lead out of it.
	run -0 find "$MNT" -type l
	assert_output ""
	run -0 sh -c "find '$MNT' -mindepth 1 -printf '%f\n' |
		awk '\$0 == \".\" || \$0 == \"..\" || length(\$0) > 255'"
	assert_output ""
	# Every path short enough to resolve resolves inside the mount.
	while IFS= read -r -d '' f; do
		[ "${#f}" -lt 4000 ] || continue
		rp=$(realpath -e -- "$f")
		case $rp in
		"$MNT"/*) ;;
		*) fail "$f resolves to $rp, outside $MNT" ;;
		esac
	done < <(find "$MNT" -mindepth 1 -print0)
	# All 20 tensors, in both views; nothing at the root but the views.
	run -0 find "$b" -type f
	[ "${#lines[@]}" -eq 20 ]
	run -0 find "$MNT/by-object" -type f
	[ "${#lines[@]}" -eq 20 ]
	run -0 ls -A "$MNT"
	assert_output $'by-name\nby-object\ninfo.json'
	# Each name where the escaping rules put it, with its value.
	[ "$(values "$b/%2E%2E" f4)" = 1 ]
	[ "$(values "$b/%2E%2E@/%2E%2E/%2E%2E/%2E%2E/etc/passwd" f4)" = 2 ]
	[ "$(xattr "$b/%2E%2E@/%2E%2E/%2E%2E/%2E%2E/etc/passwd" user.ckpt.key)" = \
		../../../../etc/passwd ]
	[ "$(values "$b/%/abs/path" f4)" = 3 ]
	[ "$(xattr "$b/%/abs/path" user.ckpt.key)" = /abs/path ]
	[ "$(values "$b/a/%2E%2E/%2E%2E/b" f4)" = 4 ]
	[ "$(values "$b/%2E" f4)" = 5 ]
	[ "$(values "$b/%2E@/x" f4)" = 6 ]
	[ "$(values "$b/x/%2E/y" f4)" = 7 ]
	[ "$(values "$b/a/%/b" f4)" = 8 ]
	[ "$(values "$b/trail/%" f4)" = 9 ]
	[ "$(values "$b/%/%" f4)" = 10 ]
	[ "$(values "$b/%/%@/%" f4)" = 11 ]
	[ "$(values "$b/sl\\ash" f4)" = 12 ]
	[ "$(values "$b/%252E%252E" f4)" = 13 ]
	[ "$(values "$b/pct%25" f4)" = 14 ]
	[ "$(values "$b/at%40" f4)" = 15 ]
	[ "$(values "$b/new%0Aline" f4)" = 16 ]
	# A NUL byte is escaped, not a place where the name ends.
	[ "$(values "$b/nul%00../%2E%2E/x" f4)" = 17 ]
	[ "$(xattr "$b/nul%00../%2E%2E/x" user.ckpt.key | od -An -tx1 | xargs)" = \
		"6e 75 6c 00 2e 2e 2f 2e 2e 2f 78" ]
	[ "$(values "$b/%00" f4)" = 18 ]
	# A 4 KiB name is shortened to fit; its key is whole.
	f=$b/$(printf 'L%.0s' $(seq 200))%#ec9697ff6ca32325
	[ "$(values "$f" f4)" = 19 ]
	[ "$(xattr "$f" user.ckpt.key | wc -c)" = 4096 ]
	# 4 KiB of "../": 1365 nested directories (a path longer than
	# PATH_MAX), its file readable relative to them.
	run -0 find "$b/%2E%2E@" -type f -name %2E -execdir od -An -tf4 {} +
	[ "$(xargs <<<"$output")" = 20 ]
}

@test "a malformed TF2 graph: ckpt-inspect --verify says so once, naming the file" {
	hostile
	run -1 "$CKPT_INSPECT" --verify "$HX/badgraph"
	assert_line "DAMAGED _CHECKPOINTABLE_OBJECT_GRAPH: object graph: malformed TrackableObjectGraph (5 bytes) in badgraph.data-00000-of-00001"
	assert_line --partial ", 1 damaged"
}

@test "a malformed TF2 graph whose checksum holds: a TF2 write-out refuses it until removed" {
	local o=$BATS_TEST_TMPDIR/out
	hostile
	mount_ckpt "$HX/badgraph" -o format=same,output="$o"
	grep -q "object graph unreadable (.*malformed TrackableObjectGraph (5 bytes).*); by-name/ shows the keys' object paths" "$CKPTFS_LOG"
	printf '\x00\x00\x80\x3f' >"$MNT/by-object/x/.ATTRIBUTES/VARIABLE_VALUE"
	finish_fails
	assert_output --partial "ckptfs: error: by-object/_CHECKPOINTABLE_OBJECT_GRAPH: damaged in the source checkpoint ("
	assert_output --partial "malformed TrackableObjectGraph (5 bytes)"
	assert_output --partial "); remove it to have a new one built"
	[ ! -e "$o.index" ]
	# unchanged, a write-out given its output refuses it too
	mount_ckpt "$HX/badgraph" -o format=same,output="$o.same"
	finish_fails
	assert_output --partial "by-object/_CHECKPOINTABLE_OBJECT_GRAPH: damaged in the source checkpoint"
	# a TF1 output has no graph
	mount_ckpt "$HX/badgraph" -o format=tf1,output="$o.tf1"
	finish
	[ "$(val "$o.tf1" x)" = 5 ]
	mount_ckpt "$HX/badgraph" -o format=same,output="$o"
	rm "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH"
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	# the graph and x (a source without save_counter gets none)
	assert_line "2 tensors verified, 0 damaged"
	run -0 "$CKPT_INSPECT" -g "$o"
	assert_line --partial "checkpoint_key x/.ATTRIBUTES/VARIABLE_VALUE"
}

@test "--verify names a damaged slice, and a key holding a NUL, as they are" {
	local p off
	p=$(copy_ckpt "$(fixture partitioned)")
	# One byte of w's second slice (w[5:10,0:4]).
	printf '\xff' | dd of="$p.data-00000-of-00001" bs=1 seek=100 conv=notrunc status=none
	run -1 "$CKPT_INSPECT" --verify "$p"
	assert_line --regexp "^DAMAGED w\[5:10,0:4\]: crc32c mismatch \(stored [0-9a-f]{8}, data [0-9a-f]{8}\) in ckpt.data-00000-of-00001$"
	# A key "a\0b" beside "a": the message names the damaged one.
	mount_ckpt "$(fixture tf1)" -o format=tf1,output="$BATS_TEST_TMPDIR/nul"
	printf 'abcd' >"$MNT/by-name/a%00b"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/a%00b"
	finish
	p=$BATS_TEST_TMPDIR/nul
	off=$("$CKPT_INSPECT" --json "$p" | jq 'select(.key == "a\u0000b") | .offset')
	printf '\xff' | dd of="$p.data-00000-of-00001" bs=1 seek="$off" conv=notrunc status=none
	run -1 "$CKPT_INSPECT" --verify "$p"
	assert_line --regexp '^DAMAGED a\\x00b: crc32c mismatch'
	# (the library's message shows the key escaped once, as --verify)
	run -1 "$CKPT_INSPECT" --values "$p"
	assert_output --partial "tensor 'a\\x00b': crc32c mismatch"
	refute_output --partial "tensor 'a':"
	# and so does the daemon's log (its backslash was doubled)
	mount_ckpt "$p" -o ro
	run -1 cat "$MNT/by-name/a%00b"
	run -0 grep -c "tensor 'a\\\\x00b': crc32c mismatch (stored" "$CKPTFS_LOG"
	assert_output 1
	run -1 grep -F '\\' "$CKPTFS_LOG"
}

@test "a damaged slice of a partitioned string tensor: EIO on it alone" {
	local p off
	p=$(copy_ckpt "$(fixture partstrings)")
	# The first length varint of vocab's second slice ("and", "x"):
	# 3 -> 0x43, which also breaks the slice's framing.
	off=$("$CKPT_INSPECT" --json "$p" vocab | jq '.parts[1].offset')
	printf '\x43' | dd of="$p.data-00000-of-00001" bs=1 seek="$off" conv=notrunc status=none
	mount_ckpt "$p"
	run -1 cat "$MNT/by-name/vocab"
	assert_output --partial "Input/output error"
	run -1 cat "$MNT/by-object/vars/vocab/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(stat -c %s "$MNT/by-name/vocab")" = 18 ]
	cmp "$MNT/by-name/s" "$MNT/by-name/whole"
	run -0 grep -c . "$CKPTFS_LOG"
	assert_output 1
	run -0 cat "$CKPTFS_LOG"
	assert_output --regexp "^ckptfs: .*/ckpt\\.data-00000-of-00001: tensor 'vocab\\[3:5\\]': not a stored string tensor of its shape: the lengths add up to more than the 10 bytes \\(element 0\\)$"
}

@test "user.ckpt.crc32c of a damaged tensor fails with EIO, as its reads" {
	local p q off
	p=$(copy_ckpt "$(fixture partstrings)")
	# the bytes of vocab's second slice ("and", "x"): a checksum mismatch
	off=$("$CKPT_INSPECT" --json "$p" vocab | jq '.parts[1].offset')
	printf 'A' | dd of="$p.data-00000-of-00001" bs=1 seek=$((off + 6)) conv=notrunc status=none
	q=$(copy_ckpt "$(fixture tf1)")
	off=$("$CKPT_INSPECT" --json "$q" dense/kernel | jq .offset)
	printf '\x7f' | dd of="$q.data-00000-of-00001" bs=1 seek=$((off + 5)) conv=notrunc status=none
	mount_ckpt "$p"
	# a CRC computed from the content checks it first, and logs it
	run -1 getfattr -n user.ckpt.crc32c "$MNT/by-name/vocab"
	assert_output --partial "Input/output error"
	run -1 cat "$MNT/by-name/vocab"
	run -0 grep -c . "$CKPTFS_LOG"
	assert_output 1
	[ "$(xattr "$MNT/by-name/s" user.ckpt.crc32c)" = \
	  "$(xattr "$MNT/by-name/whole" user.ckpt.crc32c)" ]
	unmount_ckpt
	# a stored one is shown until a read finds the damage
	mount_ckpt "$q"
	[[ "$(xattr "$MNT/by-name/dense/kernel" user.ckpt.crc32c)" =~ ^[0-9a-f]{8}$ ]]
	run -1 cat "$MNT/by-name/dense/kernel"
	run -1 getfattr -n user.ckpt.crc32c "$MNT/by-name/dense/kernel"
	assert_output --partial "Input/output error"
	[[ "$(xattr "$MNT/by-name/dense/bias" user.ckpt.crc32c)" =~ ^[0-9a-f]{8}$ ]]
}

@test "a TF2 graph naming a missing key still mounts" {
	hostile
	mount_ckpt "$HX/dangling"
	# The one real tensor is there under its key.
	[ "$(values "$MNT/by-object/x/.ATTRIBUTES/VARIABLE_VALUE" f4)" = 5 ]
	run -0 find "$MNT" -type f
	run -0 cat "$MNT/info.json"
	assert_output --partial '"format": "tf2"'
	[ ! -e "$MNT/by-name/gone" ]
	run -0 find "$MNT/by-name" -type f
	for f in "${lines[@]}"; do
		cat "$f" >/dev/null || fail "$f unreadable"
	done
	# --verify says so: TensorFlow cannot restore that object
	run -1 "$CKPT_INSPECT" --verify "$HX/dangling"
	assert_line "DAMAGED _CHECKPOINTABLE_OBJECT_GRAPH: object graph: node 1 names key 'gone/.ATTRIBUTES/VARIABLE_VALUE', which the index does not hold"
	assert_line "2 tensors verified, 1 damaged"
}

@test "a TF2 graph naming a missing key: the mount says so, a TF2 write-out leaves the key out" {
	local o=$BATS_TEST_TMPDIR/out
	hostile
	mount_ckpt "$HX/dangling" -o format=same,output="$o"
	grep -q "warning: $HX/dangling: the object graph names key 'gone/.ATTRIBUTES/VARIABLE_VALUE', which the checkpoint does not hold: TensorFlow cannot restore that object; a TF2 write-out leaves the key out of the graph" "$CKPTFS_LOG"
	# nothing changed, the output given: not a copy of the source's
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	assert_line "2 tensors verified, 0 damaged"
	run -0 "$CKPT_INSPECT" -g "$o"
	refute_output --partial gone
	assert_output --partial "checkpoint_key x/.ATTRIBUTES/VARIABLE_VALUE"
	[ "$(val "$o" x/.ATTRIBUTES/VARIABLE_VALUE)" = 5 ]
}

@test "a TF2 graph 30,000 nodes deep: ckpt-inspect -g in little memory, long paths cut" {
	ldd "$CKPT_INSPECT" | grep -qE 'lib(a|t)san' && skip "ulimit -v and the sanitizers do not mix"
	hostile
	# 64 MiB of address space: every path whole would take 900 MB
	run -0 bash -c 'set -o pipefail; ulimit -v 65536
		"$CKPT_INSPECT" -g "$1" | grep -E "^node (1|29999) "' _ "$HX/deepgraph"
	[ "${#lines[@]}" = 2 ]
	[ "${lines[0]}" = "node 1  c" ]
	# the deepest: its last names after .../, about 4 KiB
	[[ "${lines[1]}" == "node 29999  .../c/c/c/"* ]]
	[ "${#lines[1]}" -ge 4096 ] && [ "${#lines[1]}" -le 4200 ]
	run -0 bash -c 'set -o pipefail; ulimit -v 65536
		"$CKPT_INSPECT" -g -j "$1" | jq -r "select(.id == 2) | .path"' _ "$HX/deepgraph"
	assert_output "c/c"
}

@test "a TF2 graph with a cycle and odd edge names mounts and terminates" {
	hostile
	mount_ckpt "$HX/cycle"
	run -0 timeout 20 find "$MNT" -type f
	[ "$(values "$MNT/by-object/x/.ATTRIBUTES/VARIABLE_VALUE" f4)" = 5 ]
	mount_ckpt "$HX/oddgraph"
	run -0 timeout 20 find "$MNT" -type f
	run -0 cat "$MNT/by-name/%2E%2E/%2E%2E/etc/passwd"
	[ "$(values "$MNT/by-name/%2E%2E/%2E%2E/etc/passwd" f4)" = 5 ]
}

@test "-o salvage: what can be read of a damaged index is mounted, checked, written out" {
	local p o=$BATS_TEST_TMPDIR/out m=$BATS_TEST_TMPDIR/m0 off
	p=$(copy_ckpt "$(fixture tf1)")
	cp "$p.index" "$BATS_TEST_TMPDIR/index.good"
	# a bit of the key "dense/kernel" in its block ("kernel", stored
	# after the prefix it shares): refused whole without -o salvage
	off=$(grep -boa kernel "$p.index" | head -n 1 | cut -d: -f1)
	printf 'j' | dd of="$p.index" bs=1 seek="$off" conv=notrunc 2>/dev/null
	mkdir -p "$m"
	run -1 timeout 10 "$CKPTFS" "$p" "$m"
	assert_output --partial "$p.index: data block at offset 0: CRC mismatch"
	mount_ckpt "$p" -o salvage,format=same,output="$o"
	grep -q "^ckptfs: warning: $p.index: damaged (data block at offset 0: CRC mismatch (stored [0-9a-f]*, computed [0-9a-f]*)); salvaged what can be read: data block at offset 0 (checksum mismatch): 11 entries taken as they decode; a tensor whose entry is wrong fails its checksum" "$CKPTFS_LOG"
	# the entries sharing the damaged bytes come under the damaged name
	# (their data is intact: its checksums hold)
	[ "$(ls "$MNT/by-name/dense" | tr '\n' ' ')" = "bias bias@ jernel jernel@ " ]
	[ "$(values "$MNT/by-name/dense/jernel" f4)" = "0 1 2 3 4 5" ]
	mv "$MNT/by-name/dense/jernel" "$MNT/by-name/dense/kernel"
	mv "$MNT/by-name/dense/jernel@" "$MNT/by-name/dense/kernel@"
	finish
	run -0 "$CKPT_INSPECT" --verify "$o"
	assert_output --partial "10 tensors verified, 0 damaged"
	# every tensor as in the checkpoint before the damage
	[ "$("$CKPT_INSPECT" -j -v "$o" | jq -c '[.key, .dtype, .shape, .values]')" = \
	  "$("$CKPT_INSPECT" -j -v "$(fixture tf1)" | jq -c '[.key, .dtype, .shape, .values]')" ]
	# the footer's magic damaged: the blocks are found by their checksums
	cp "$BATS_TEST_TMPDIR/index.good" "$p.index"
	printf '\x00' | dd of="$p.index" bs=1 seek=$(($(stat -c %s "$p.index") - 1)) conv=notrunc 2>/dev/null
	run -1 --separate-stderr "$CKPT_INSPECT" "$p"
	run -0 --separate-stderr "$CKPT_INSPECT" --salvage "$p"
	[ "${#lines[@]}" = 10 ]
	[[ "$stderr" == *"salvaged what can be read: the index block could not be read: 1 data blocks found by their checksums"* ]]
	# and its header, from what was salvaged
	run -0 --separate-stderr "$CKPT_INSPECT" --salvage -H "$p"
	assert_line "tensors:      10"
	assert_line --partial "index blocks: 1 data block"
}

