#!/usr/bin/env bats
# Covers: src/bundle_writer.c (ENOSPC while writing out), src/overlay.c
# (the spool on a full disk), src/ckptfs.c (the error of ckptfs -u).
# A small tmpfs as the output location (skipped where mounting one is not
# permitted): the write-out fails with ENOSPC naming the file, leaves no
# temporary files and an older output as it was, keeps the spool; after
# freeing space, mounting again with the spool and unmounting writes the
# complete checkpoint (values and checksums checked).  With the default
# spool on the full disk too, writes into the mount fail with ENOSPC and
# every acknowledged change survives; a journal append cut short by the
# full disk is taken back, so the changes after it replay; a copy cut by
# the full spool leaves nothing past the file's end (a replay gets the
# size the copy reported).

load helpers

setup() {
	require_fuse
	command -v jq >/dev/null || skip "jq not installed"
	command -v setfattr >/dev/null || skip "setfattr not installed"
	T=$BATS_TEST_TMPDIR
	D=$T/disk
	mkdir -p "$T/src" "$D"
	mount -t tmpfs -o size=4m,mode=0700 ckptfs-test "$D" 2>/dev/null ||
		skip "cannot mount a tmpfs here"
	cp "$(fixture tf1)".* "$T/src/"
	P=$T/src/ckpt
	O=$D/out
	SUM=$(cat "$P".index "$P".data-* | md5sum)
	head -c 1048576 /dev/urandom >"$T/big.bin"
}

teardown() {
	local rc=0
	ckpt_teardown || rc=$?
	if mountpoint -q "$D"; then
		umount "$D"
	fi
	return "$rc"
}

# Fill the tmpfs: a file FILE taking all the free space.
fill() {
	dd if=/dev/zero of="$1" bs=64k 2>/dev/null || true
	[ "$(df --output=avail -k "$D" | tail -1)" -lt 64 ]
}

# Unmount expecting the write-out to fail; reap the daemon (exit 1).
finish_fails() {
	local pid=${CKPTFS_PIDS[-1]} st=0
	run -1 timeout 120 "$CKPTFS" -u "$MNT"
	wait "$pid" || st=$?
	[ "$st" -eq 1 ]
	# shellcheck disable=SC2034 # read by helpers.bash
	CKPTFS_MNTS=() CKPTFS_PIDS=() CKPTFS_LOGS=()
}

# The output holds a = $1 and the 1 MiB tensor big, every checksum right.
complete() {
	local off
	run -0 "$CKPT_INSPECT" --verify "$O"
	assert_output "11 tensors verified, 0 damaged"
	[ "$(val "$O" a)" = "$1" ]
	[ "$(val "$O" dense/kernel)" = "[[0,1,2],[3,4,5]]" ]
	[ "$("$CKPT_INSPECT" --json "$O" big | jq -r '.dtype + " " + (.shape|tostring)')" = "uint8 [1048576]" ]
	off=$("$CKPT_INSPECT" --json "$O" big | jq .offset)
	cmp "$T/big.bin" <(tail -c +$((off + 1)) "$O.data-00000-of-00001" | head -c 1048576)
}

@test "full output disk, spool elsewhere: ENOSPC named, old output kept, retry works" {
	local sp=$T/sp
	# An older output (a = 7) on the small disk.
	mount_ckpt "$P" -o format=tf1,output="$O",spool="$sp"
	printf '\x00\x00\xe0\x40' >"$MNT/by-name/a"
	cp "$T/big.bin" "$MNT/by-name/big"
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/big"
	finish
	complete 7
	# Fill the rest; the next write-out (a = 10) does not fit.
	fill "$D/filler"
	mount_ckpt "$P" -o format=tf1,output="$O",spool="$sp"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	cp "$T/big.bin" "$MNT/by-name/big"
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/big"
	finish_fails
	assert_output --regexp "$O\\.(data-00000-of-00001|index)\\.tempstate[0-9]+: .*No space left on device"
	assert_output --partial "changes kept in $sp"
	# Nothing half-written, the older output intact, the spool kept.
	run -0 ls "$D"
	assert_output - <<'EOF'
checkpoint
filler
out.data-00000-of-00001
out.index
EOF
	complete 7
	[ -f "$sp/journal" ]
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
	# Free the space and retry with the spool.
	rm "$D/filler"
	mount_ckpt "$P" -o format=tf1,output="$O",spool="$sp"
	grep -q replayed "${CKPTFS_LOGS[-1]}"
	[ "$(values "$MNT/by-name/a" f4)" = 10 ]
	finish
	complete 10
	[ ! -e "$sp" ]
	run -0 ls "$D"
	assert_output - <<'EOF'
checkpoint
out.data-00000-of-00001
out.index
EOF
}

@test "default spool on the full disk: writes fail with ENOSPC, acknowledged ones stay" {
	mount_ckpt "$P" -o format=tf1,output="$O"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	cp "$T/big.bin" "$MNT/by-name/big"
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/big"
	[ -f "$O.ckptfs-spool/journal" ]
	# The spool's disk fills up: the writer gets ENOSPC.
	run ! dd if=/dev/zero of="$MNT/by-name/huge" bs=64k count=64 status=none
	assert_output --partial "No space left on device"
	rm "$MNT/by-name/huge"
	[ "$(values "$MNT/by-name/a" f4)" = 10 ]
	cmp "$T/big.bin" "$MNT/by-name/big"
	# Taken by something else: the write-out fails, the spool stays.
	fill "$D/filler"
	finish_fails
	assert_output --partial "No space left on device"
	assert_output --partial "changes kept in $O.ckptfs-spool"
	[ ! -e "$O.index" ]
	run -0 find "$D" -name '*tempstate*'
	assert_output ""
	[ -f "$O.ckptfs-spool/journal" ]
	# Room again: the default spool replays and the write-out succeeds.
	rm "$D/filler"
	mount_ckpt "$P" -o format=tf1,output="$O"
	grep -q replayed "${CKPTFS_LOGS[-1]}"
	[ "$(values "$MNT/by-name/a" f4)" = 10 ]
	[ ! -e "$MNT/by-name/huge" ]
	cmp "$T/big.bin" "$MNT/by-name/big"
	finish
	complete 10
	[ ! -e "$O.ckptfs-spool" ]
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
}

@test "a copy cut by a full spool: the file ends where the count said, after a crash too" {
	local big n
	big=$(fixture big --tensors 3 --bytes $((8 << 20)))
	mkdir "$D/sp"
	mount_ckpt "$big" -o output="$T/out",spool="$D/sp"
	n=$MNT/by-name
	# 3 MiB of 4 MiB spooled by a change; its copy finds 1 MiB of room
	printf 'X' | dd of="$n/layer_0/dense/bias" bs=1 seek=9 conv=notrunc status=none
	[ "$(stat -c %s "$n/layer_0/dense/bias")" = 3145728 ]
	printf 'abc' >"$n/c"
	run -1 "$COPY_RANGE" "$n/layer_0/dense/bias" 0 "$n/c" 0 $((1 << 30))
	assert_output "error: No space left on device"
	# (its 3 bytes may be the copy's, as those of a write that failed)
	[ "$(stat -c %s "$n/c")" = 3 ]
	# nothing past its end in its spool file: a replay gets the same
	kill_daemon
	mount_ckpt "$big" -o output="$T/out",spool="$D/sp"
	[ "$(stat -c %s "$MNT/by-name/c")" = 3 ]
	[ "$(dd if="$MNT/by-name/layer_0/dense/bias" bs=1 skip=9 count=1 status=none)" = X ]
	rm "$MNT/by-name/c"
}

@test "a journal append cut by a full disk is taken back: later changes replay" {
	local cur=b i
	mount_ckpt "$P" -o format=tf1,output="$T/o",spool="$D/sp"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	fill "$D/filler"
	# Renames append to the journal until one does not fit.
	for i in $(seq 1 2000); do
		run mv "$MNT/by-name/$cur" "$MNT/by-name/b$i"
		[ "$status" -eq 0 ] || break
		cur=b$i
	done
	assert_output --partial "No space left on device"
	[ -e "$MNT/by-name/$cur" ] && [ ! -e "$MNT/by-name/b$i" ]
	# Room again: later changes are recorded and survive a kill -9.
	rm "$D/filler"
	setfattr -n user.ckpt.shape -v 1 "$MNT/by-name/a"
	mv "$MNT/by-name/$cur" "$MNT/by-name/last"
	kill_daemon
	mount_ckpt "$P" -o format=tf1,output="$T/o",spool="$D/sp"
	[ "$(xattr "$MNT/by-name/a" user.ckpt.shape)" = 1 ]
	[ "$(values "$MNT/by-name/last" f4)" = 2 ]
	[ "$(values "$MNT/by-name/a" f4)" = 10 ]
	finish
	[ "$(meta "$T/o" a)" = "float32 [1]" ]
	[ "$(val "$T/o" last)" = 2 ]
}

@test "a mkdir the full journal cannot record is not made; the rest replays" {
	mount_ckpt "$P" -o format=tf1,output="$T/o",spool="$D/sp"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	local i
	fill "$D/filler"
	# Directories are made until the journal cannot record one.
	for i in $(seq 1 2000); do
		run mkdir "$MNT/by-name/s$i"
		[ "$status" -eq 0 ] || break
	done
	local bad=s$i last=s$((i - 1))
	assert_output --partial "No space left on device"
	[ ! -e "$MNT/by-name/$bad" ]
	run -0 ls "$MNT/by-name"
	refute_line "$bad"
	rm "$D/filler"
	mkdir "$MNT/by-name/made"
	printf '\x00\x00\x00\x40' >"$MNT/by-name/made/t"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/made/t"
	kill_daemon
	mount_ckpt "$P" -o format=tf1,output="$T/o",spool="$D/sp"
	[ ! -e "$MNT/by-name/$bad" ]
	[ "$last" = s0 ] || [ -d "$MNT/by-name/$last" ]
	[ "$(values "$MNT/by-name/a" f4)" = 10 ]
	[ "$(values "$MNT/by-name/made/t" f4)" = 2 ]
	finish
	[ "$(val "$T/o" made/t)" = "[2]" ]
	[ "$(val "$T/o" a)" = 10 ]
}

@test "a mapping's write-back refused on a full spool: reads give what the tensor holds" {
	local i got
	mount_ckpt "$P" -o format=tf1,output="$T/o",spool="$D/sp"
	# A changed tensor with a hole: storing into it needs room.
	printf W >"$MNT/by-name/h"
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/h"
	truncate -s 600000 "$MNT/by-name/h"
	fill "$D/filler"
	run -1 "$MMAP_WRITE" "$MNT/by-name/h" 400000 MMMMMMMM
	assert_output "msync: No space left on device"
	rm "$D/filler"
	# The refused bytes were left in the page cache, which opens keep:
	# the kernel is told to drop them once the write is answered.
	for i in $(seq 1 50); do
		got=$(dd if="$MNT/by-name/h" bs=1 skip=400000 count=8 status=none | od -An -tx1 | xargs)
		[ "$got" = "00 00 00 00 00 00 00 00" ] && break
		sleep 0.1
	done
	[ "$got" = "00 00 00 00 00 00 00 00" ]
	[ "$(head -c 1 "$MNT/by-object/vars/h/.ATTRIBUTES/VARIABLE_VALUE")" = W ]
	finish
	[ "$(meta "$T/o" h)" = "uint8 [600000]" ]
}

@test "a TF2 output that fits the disk once is written: its object graph is not on it twice" {
	local p
	# 14,000 variables: a graph of 2.0 MB in an output of 3.0 MB, on a
	# disk of 4 MiB (with the graph's scratch file kept to the end, 5.0)
	p=$(fixture big --tensors 14000 --bytes 200000)
	mount_ckpt "$p" -o spool="$T/spool",output="$D/g"
	finish
	run -0 "$CKPT_INSPECT" --verify "$D/g"
	assert_output --partial "14002 tensors verified, 0 damaged"
	[ "$("$CKPT_INSPECT" --json "$D/g" _CHECKPOINTABLE_OBJECT_GRAPH | jq .size)" -gt 2000000 ]
}

