#!/usr/bin/env bats
# Covers: src/bundle_writer.c (ckpt_writer_finish), src/overlay.c
# (ckptfs_ov_commit, the spool), src/ckptfs.c (ckptfs -u).
# kill -9 of the daemon while it writes a checkpoint out: at each step of
# the write-out (CKPT_TEST_CRASH, a test-only hook that makes the daemon
# SIGKILL itself there) and at timed points of a 200 MB write-out.  After
# every kill: the source is byte-identical, the output name holds either
# a complete checkpoint (every checksum right, the expected values) or no
# index at all, never an index over other data; and mounting again with
# the spool brings the changes back and writes them out.

load helpers

setup() {
	require_fuse
	command -v jq >/dev/null || skip "jq not installed"
	T=$BATS_TEST_TMPDIR
	# Nothing of a killed daemon may land in TMPDIR (checked below).
	export TMPDIR=$T/tmp
	mkdir -p "$TMPDIR"
	mkdir -p "$T/src"
	cp "$(fixture tf1)".* "$T/src/"
	P=$T/src/ckpt
	O=$T/out
	SUM=$(cat "$P".index "$P".data-* | md5sum)
}

# Mount the source for a TF1 write-out to $O (default spool), set a to
# float32 V (given as 4 hex-escaped bytes) and remove b; with POINT, the
# daemon is told to kill itself there.  cycle POINT BYTES
cycle() {
	local point=$1
	if [ -n "$point" ]; then
		export CKPT_TEST_CRASH=$point
	fi
	mount_ckpt "$P" -o format=tf1,output="$O"
	unset CKPT_TEST_CRASH
	printf %b "$2" >"$MNT/by-name/a"
	rm -f "$MNT/by-name/b"
}

# Unmount with ckptfs -u, expecting the daemon to die of SIGKILL.
killed_unmount() {
	local pid=${CKPTFS_PIDS[-1]} st=0
	run -1 timeout 60 "$CKPTFS" -u "$MNT"
	assert_output --partial "exited without reporting (killed?)"
	wait "$pid" || st=$?
	[ "$st" -eq 137 ]
	# shellcheck disable=SC2034 # read by helpers.bash
	CKPTFS_MNTS=() CKPTFS_PIDS=() CKPTFS_LOGS=()
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
}

# The output is a complete checkpoint with a = $1 and no b.
complete() {
	run -0 "$CKPT_INSPECT" --verify "$O"
	assert_output "9 tensors verified, 0 damaged"
	[ "$(val "$O" a)" = "$1" ]
	[ "$(val "$O" dense/kernel)" = "[[0,1,2],[3,4,5]]" ]
	[ "$(val "$O" global_step)" = 42 ]
	run -1 "$CKPT_INSPECT" "$O" b
}

# No checkpoint under the output name, but data files may be there.
absent() {
	[ ! -e "$O.index" ]
	run -1 "$CKPT_INSPECT" "$O"
}

# Mount again (the spool replays the changes), unmount, and check the
# output is complete with a = 10, and nothing is left behind.
recover() {
	mount_ckpt "$P" -o format=tf1,output="$O"
	[ "$(values "$MNT/by-name/a" f4)" = 10 ]
	[ ! -e "$MNT/by-name/b" ]
	finish
	complete 10
	[ ! -e "$O.ckptfs-spool" ]
	run -0 find "$T" -name '*tempstate*'
	assert_output ""
	run -0 sh -c "ls '$T' | grep '^out'"
	assert_output - <<EOF
out.data-00000-of-00001
out.index
EOF
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
}

# Write an older output (a = 7) first, then crash the write-out of the
# next change (a = 10) at POINT.
crash_over_old() {
	cycle "" '\x00\x00\xe0\x40'
	finish
	complete 7
	cycle "$1" '\x00\x00\x20\x41'
	killed_unmount
}

@test "killed while writing data: old output untouched, temporary files only" {
	crash_over_old mid-data
	complete 7
	[ -f "$O.ckptfs-spool/journal" ]
	run -0 find "$T" -name 'out.data-00000-of-00001.tempstate*'
	[ "${#lines[@]}" -eq 1 ]
	recover
}

@test "killed with every file written, nothing renamed: old output untouched" {
	crash_over_old after-data
	complete 7
	run -0 find "$T" -name 'out.index.tempstate*'
	[ "${#lines[@]}" -eq 1 ]
	recover
}

@test "killed after the old index is moved aside: no checkpoint, no old index" {
	crash_over_old after-index-unlink
	absent
	# The old data is still there, without an index: not a checkpoint.
	[ -f "$O.data-00000-of-00001" ]
	run -0 find "$T" -name 'out.index.tempstate*'
	[ "${#lines[@]}" -eq 2 ]	# the new index, the old one aside
	recover
}

@test "killed between data and index renames: new data, but no old index over it" {
	crash_over_old before-index-rename
	absent
	[ -f "$O.data-00000-of-00001" ]
	# the new index, the old one aside; the old data aside
	run -0 find "$T" -name 'out.index.tempstate*'
	[ "${#lines[@]}" -eq 2 ]
	run -0 find "$T" -name 'out.data-00000-of-00001.tempstate*'
	[ "${#lines[@]}" -eq 1 ]
	recover
}

@test "killed right after the index rename: complete; the spool writes it again" {
	crash_over_old after-index-rename
	complete 10
	[ -f "$O.ckptfs-spool/journal" ]
	recover
}

@test "killed before and while the spool is removed: complete and remountable" {
	crash_over_old before-spool-remove
	complete 10
	[ -f "$O.ckptfs-spool/journal" ]
	recover
	cycle after-journal-unlink '\x00\x00\x20\x41'
	killed_unmount
	complete 10
	# No journal, so nothing to replay, but the mark of a finished
	# write-out: mounting again as after a failed one is refused, as it
	# would write the source without the change over the output.
	[ -f "$O.ckptfs-spool/written" ] && [ ! -e "$O.ckptfs-spool/journal" ]
	# (the output's state file is made before the spool goes)
	grep -q 'model_checkpoint_path: "out"' "$T/checkpoint"
	mkdir "$T/m2"
	run -1 timeout 30 "$CKPTFS" -f -o format=tf1,output="$O" "$P" "$T/m2"
	assert_output --partial "$O.ckptfs-spool: the changes in this spool were written out"
	assert_output --partial "they are in the output; mount the output to change it further, and remove this spool"
	! mountpoint -q "$T/m2"
	complete 10
	rm -r "$O.ckptfs-spool"
	mount_ckpt "$P" -o format=tf1,output="$O"
	[ "$(values "$MNT/by-name/a" f4)" = 1 ]
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	rm "$MNT/by-name/b"
	finish
	complete 10
	[ ! -e "$O.ckptfs-spool" ]
}

@test "killed while removing the spool of changes that came to nothing: no mark of a write-out" {
	# Made and removed: a journal, and no change at the unmount.
	export CKPT_TEST_CRASH=after-journal-unlink
	mount_ckpt "$P"
	unset CKPT_TEST_CRASH
	touch "$MNT/by-name/x"
	rm "$MNT/by-name/x"
	[ -f "$P.tf2.ckptfs-spool/journal" ]
	killed_unmount
	[ ! -e "$P.tf2.ckptfs-spool/journal" ]
	[ ! -e "$P.tf2.ckptfs-spool/written" ]
	[ ! -e "$P.tf2.index" ]
	# (the mark said the changes were in an output, and the mount was
	# refused)
	mount_ckpt "$P"
	[ "$(values "$MNT/by-name/a" f4)" = 1 ]
	[ ! -e "$MNT/by-name/x" ]
	finish
	[ ! -e "$P.tf2.ckptfs-spool" ]
}

@test "a spool that cannot be removed after the write-out: written, with a warning" {
	# (CKPT_TEST_FAIL: a test-only hook failing the removal with EIO
	# once the journal is the mark of a finished write-out)
	export CKPT_TEST_FAIL=spool-remove
	cycle "" '\x00\x00\x20\x41'
	unset CKPT_TEST_FAIL
	run -0 timeout 120 "$CKPTFS" -u "$MNT"
	assert_output "ckptfs: warning: the checkpoint is written, but $O.ckptfs-spool: cannot remove: Input/output error; remove it by hand"
	unmount_ckpt
	grep -q "wrote $O" "${CKPTFS_LOG}"
	complete 10
	# Mounting the spool again would write the source over the output.
	mkdir "$T/m2"
	run -1 timeout 30 "$CKPTFS" -f -o format=tf1,output="$O" "$P" "$T/m2"
	assert_output --partial "the changes in this spool were written out"
	complete 10
}

@test "a spool file that cannot be removed after the write-out: written, with a warning" {
	local f
	cycle "" '\x00\x00\x20\x41'
	f=$(find "$O.ckptfs-spool" -name '*.spool' | head -1)
	[ -n "$f" ]
	chattr +i "$f" 2>/dev/null || skip "chattr +i not supported here"
	run timeout 120 "$CKPTFS" -u "$MNT"
	chattr -i "$f"	# (before any check: else nothing could remove it)
	[ "$status" -eq 0 ]
	assert_output "ckptfs: warning: the checkpoint is written, but $O.ckptfs-spool: cannot remove: Operation not permitted; remove it by hand"
	unmount_ckpt
	complete 10
	# the mark stays: its changes are in the output
	[ -f "$O.ckptfs-spool/written" ]
}

@test "a rename refused as the new files go into place: the older output put back" {
	# (CKPT_TEST_FAIL: a test-only hook failing that rename with ENOSPC,
	# as a full directory can; the old index is moved aside by then, and
	# for index-rename the new data is in place)
	local point pid st
	cycle "" '\x00\x00\xe0\x40'
	finish
	complete 7
	for point in data-rename-0 index-rename; do
		export CKPT_TEST_FAIL=$point
		cycle "" '\x00\x00\x20\x41'
		unset CKPT_TEST_FAIL
		pid=${CKPTFS_PIDS[-1]} st=0
		run -1 timeout 120 "$CKPTFS" -u "$MNT"
		assert_output --partial ": No space left on device"
		assert_output --partial "changes kept in $O.ckptfs-spool"
		wait "$pid" || st=$?
		[ "$st" -eq 1 ]
		# shellcheck disable=SC2034 # read by helpers.bash
		CKPTFS_MNTS=() CKPTFS_PIDS=() CKPTFS_LOGS=()
		complete 7
		run -0 find "$T" -name '*tempstate*'
		assert_output ""
	done
	recover
}

@test "killed on the first write-out (no older output): nothing or all" {
	for point in mid-data after-data after-index-unlink before-index-rename; do
		cycle "$point" '\x00\x00\x20\x41'
		killed_unmount
		absent
	done
	recover
}

@test "format=both killed after the first output: the spool writes both" {
	export CKPT_TEST_CRASH=after-index-rename
	mount_ckpt "$P" -o format=both,output="$O"
	unset CKPT_TEST_CRASH
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	killed_unmount
	# (the TF2 output first: its object graph may still be refused)
	[ "$(val "$O.tf2" 'vars/a/.ATTRIBUTES/VARIABLE_VALUE')" = 10 ]
	[ ! -e "$O.tf1.index" ]
	mount_ckpt "$P" -o format=both,output="$O"
	finish
	[ "$(val "$O.tf1" a)" = 10 ]
	[ "$(val "$O.tf2" 'vars/a/.ATTRIBUTES/VARIABLE_VALUE')" = 10 ]
	[ ! -e "$O.ckptfs-spool" ]
}

@test "a 3-shard checkpoint at the output name is replaced whole" {
	"$MKFIXTURE" shards "$O" >/dev/null
	[ -f "$O.data-00002-of-00003" ]
	cycle after-index-unlink '\x00\x00\x20\x41'
	killed_unmount
	absent
	recover
}

@test "timed kill -9 during a 200 MB write-out: complete or absent, then recovered" {
	# The cycle counter must not be called i: bats' run (called below
	# when an output is complete) assigns i, and bash's dynamic scoping
	# let that overwrite ours, so the last cycle wrote a stale value.
	local big pid delay cycle n=0 full=0 none=0 t0 t1 off
	big=$(fixture big --tensors 64 --bytes 200000000)
	P=$T/src/big
	cp "$big".index "$P".index
	cp "$big".data-00000-of-00001 "$P".data-00000-of-00001
	SUM=$(cat "$P".index "$P".data-* | md5sum)
	cycle=0
	for delay in 0.01 0.03 0.06 0.1 0.15 0.2 0.25 0.35; do
		cycle=$((cycle + 1))
		mount_ckpt "$P" -o format=tf1,output="$O"
		pid=${CKPTFS_PIDS[-1]}
		# Element 0 of the largest tensor := cycle (int32 bytes as float
		# bits do not matter: the value is compared as raw bytes).
		printf %b "\\x$(printf %02x "$cycle")\\x00\\x00\\x00" |
			dd of="$MNT/by-name/embedding/embeddings" bs=4 conv=notrunc status=none
		fusermount3 -u "$MNT"
		sleep "$delay"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		# shellcheck disable=SC2034 # read by helpers.bash
		CKPTFS_MNTS=() CKPTFS_PIDS=() CKPTFS_LOGS=()
		n=$((n + 1))
		[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
		if [ -e "$O.index" ]; then
			run -0 "$CKPT_INSPECT" --verify "$O"
			assert_output "64 tensors verified, 0 damaged"
			full=$((full + 1))
		else
			none=$((none + 1))
		fi
		# Killed while the spool of a complete write-out was removed:
		# its mark says so, and a mount of it is refused; remove it,
		# as that refusal says.
		if [ -f "$O.ckptfs-spool/written" ]; then
			[ -e "$O.index" ]
			rm -r "$O.ckptfs-spool"
		fi
	done
	echo "# $n kills: $full complete, $none without an index" >&3
	# Recover: unless the last kill came after the write-out (then the
	# journal is gone and the output has the change), the last change
	# (8) comes back from the spool.
	if [ -f "$O.ckptfs-spool/journal" ]; then
		mount_ckpt "$P" -o format=tf1,output="$O"
		[ "$(od -An -tx1 -N4 "$MNT/by-name/embedding/embeddings" | xargs)" = "08 00 00 00" ]
		t0=$(date +%s%N)
		finish
		t1=$(date +%s%N)
		echo "# recovered; write-out $(((t1 - t0) / 1000000)) ms" >&3
		[ ! -e "$O.ckptfs-spool" ]
	fi
	run -0 "$CKPT_INSPECT" --verify "$O"
	assert_output "64 tensors verified, 0 damaged"
	off=$("$CKPT_INSPECT" --json "$O" embedding/embeddings | jq .offset)
	[ "$(od -An -tx1 -j "$off" -N4 "$O.data-00000-of-00001" | xargs)" = "08 00 00 00" ]
	run -0 find "$T" -name '*tempstate*'
	assert_output ""
}

@test "SIGTERM and SIGHUP unmount, write the checkpoint and exit 0" {
	local sig pid st
	# (SIGINT too, but a background job of a script ignores it, and
	# libfuse leaves an ignored signal ignored: so is SIGHUP under nohup)
	local sigs="TERM HUP" ign
	ign=$(awk '/^SigIgn:/ { print $2 }' /proc/self/status)
	(( (16#$ign & 1) == 0 )) || sigs=TERM
	for sig in $sigs; do
		rm -rf "$O".*
		mount_ckpt "$P" -o format=tf1,output="$O"
		printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
		# names changing in both views while the signal comes
		mv "$MNT/by-name/dense" "$MNT/by-name/net"
		mv "$MNT/by-object/vars/net.Sbias" "$MNT/by-object/vars/bias2"
		pid=${CKPTFS_PIDS[-1]}
		kill -"$sig" "$pid"
		st=0
		timeout 60 tail --pid="$pid" -f /dev/null || st=$?
		[ "$st" = 0 ] || fail "SIG$sig: the daemon did not exit"
		wait "$pid" || fail "SIG$sig: exit status $?"
		run ! mountpoint -q "$MNT"
		unset 'CKPTFS_MNTS[-1]' 'CKPTFS_PIDS[-1]' 'CKPTFS_LOGS[-1]'
		[ "$(val "$O" a)" = 10 ]
		[ "$(val "$O" bias2)" = "[1,2,3]" ]
		[ "$(val "$O" net/kernel/Adam)" = "[[0,0.5,1],[1.5,2,2.5]]" ]
		[ ! -e "$O.ckptfs-spool" ]
	done
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
}

@test "a signal ending the mount under a writer: its tensor refused, the spool kept; readers do not matter" {
	local pid w r spool=$O.ckptfs-spool
	mount_ckpt "$P" -o format=tf1,output="$O"
	pid=${CKPTFS_PIDS[-1]}
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	# a writer (cp cut off) and a reader still open
	(exec 3<>"$MNT/by-name/w"; printf abcd >&3; exec sleep 30) &
	w=$!
	(exec 4<"$MNT/by-name/a"; exec sleep 30) &
	r=$!
	for _ in $(seq 50); do
		[ "$(stat -c %s "$MNT/by-name/w" 2>/dev/null)" = 4 ] && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait_daemon "$pid" && fail "exit 0"
	kill "$w" "$r" 2>/dev/null || true
	wait "$w" "$r" 2>/dev/null || true
	grep -q "^ckptfs: writing the checkpoint failed: by-name/w: open for writing when a signal ended the mount: its writer was cut off, so it may be incomplete; write it again; the changes are kept in $spool" "$CKPTFS_LOG"
	unset 'CKPTFS_MNTS[-1]' 'CKPTFS_PIDS[-1]' 'CKPTFS_LOGS[-1]'
	[ ! -e "$O.index" ]
	# mounted again: what was written is there; closed, it is written
	mount_ckpt "$P" -o format=tf1,output="$O",spool="$spool"
	[ "$(cat "$MNT/by-name/w")" = abcd ]
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/w"
	finish
	[ "$(val "$O" a)" = 10 ]
	[ "$(val "$O" w)" = "[97,98,99,100]" ]
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$SUM" ]
}

@test "ckptfs -u after a kill -9: unmounts, says so, exit 1; nothing left in TMPDIR" {
	mount_ckpt "$P" -o format=tf1,output="$O"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	kill -9 "${CKPTFS_PIDS[-1]}"
	wait "${CKPTFS_PIDS[-1]}" || true
	unset 'CKPTFS_PIDS[-1]' 'CKPTFS_LOGS[-1]'
	run -1 timeout 60 "$CKPTFS" -u "$MNT"
	assert_output "ckptfs: the daemon of $MNT had exited (killed?): unmounted, nothing written; mounting the checkpoint again with the same options brings back the changes its spool kept"
	run ! mountpoint -q "$MNT"
	unset 'CKPTFS_MNTS[-1]'
	run -0 ls -A "$TMPDIR"
	assert_output ""
	# and the spool does bring the change back
	mount_ckpt "$P" -o format=tf1,output="$O"
	finish
	[ "$(val "$O" a)" = 10 ]
	# Read-only, info.json is served from the kernel's cache after the
	# daemon is gone: -u said "/proc/PID/fd/N: No such file".
	mount_ckpt "$P" -o ro
	cat "$MNT/info.json" >/dev/null
	kill -9 "${CKPTFS_PIDS[-1]}"
	wait "${CKPTFS_PIDS[-1]}" || true
	unset 'CKPTFS_PIDS[-1]' 'CKPTFS_LOGS[-1]'
	run -1 timeout 60 "$CKPTFS" -u "$MNT"
	# (no spool to speak of)
	assert_output "ckptfs: the daemon of $MNT had exited (killed?): unmounted (it was read-only: nothing to write)"
	run ! mountpoint -q "$MNT"
	unset 'CKPTFS_MNTS[-1]'
}

@test "ckptfs -u finds the daemon in an info.json of any length" {
	local root
	# pid came after 8 KiB of tf2_root, past what -u read
	root=$(head -c 8200 /dev/zero | tr '\0' r)
	mount_ckpt "$P" -o ro,tf2_root="$root"
	[ "$(stat -c %s "$MNT/info.json")" -gt 8192 ]
	finish
}

@test "a file named written is the user's: never taken for the mark, never removed" {
	# In a directory given as the spool: as any other file there.
	mkdir "$T/sp"
	echo notes >"$T/sp/written"
	mkdir "$T/m2"
	run -1 timeout 30 "$CKPTFS" -f -o format=tf1,output="$O",spool="$T/sp" "$P" "$T/m2"
	assert_output --partial "$T/sp: a directory holding other files than a spool's"
	[ "$(cat "$T/sp/written")" = notes ]
	# Put in the spool while mounted: it stays, and so does the spool.
	cycle "" '\x00\x00\x20\x41'
	echo notes >"$O.ckptfs-spool/written"
	finish
	complete 10
	[ "$(cat "$O.ckptfs-spool/written")" = notes ]
	[ ! -e "$O.ckptfs-spool/journal" ]
}

@test "a crashed mount: mounting over it says to unmount it; its spool on a source written again says why it is refused" {
	local pid spool=$O.ckptfs-spool mnt
	mount_ckpt "$P" -o format=tf1,output="$O"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	pid=${CKPTFS_PIDS[-1]}
	mnt=$MNT
	kill -9 "$pid"
	wait "$pid" || true
	run -1 "$CKPTFS" -o output="$O" "$P" "$mnt"
	assert_output "ckptfs: mount point $mnt: a file system whose daemon is gone is still mounted there (ckptfs -u $mnt unmounts it)"
	fusermount3 -u -z "$mnt"
	unset 'CKPTFS_MNTS[-1]' 'CKPTFS_PIDS[-1]' 'CKPTFS_LOGS[-1]'
	# the source copied back without its time
	cp "$P.index" "$T/i" && rm "$P.index" && cp "$T/i" "$P.index"
	touch -d @1700000000 "$P.index"
	run -1 "$CKPTFS" -o output="$O",spool="$spool" "$P" "$mnt"
	assert_output --regexp "^ckptfs: $spool: spool of $P as it was when its index was modified at [0-9]+\.[0-9]{9} s; that index is now of 1700000000\.000000000 s \(written again, or copied without its time\): the changes replay only on the checkpoint they were made on$"
	[ -d "$spool" ]
}

@test "the source's directory removed while mounted, default spool in it: the write-out says the changes went with it" {
	mount_ckpt "$P"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	rm -rf "$T/src"
	finish_fails
	# (it said the changes were kept in that spool)
	assert_output --partial "; the spool $P.tf2.ckptfs-spool was removed (or moved) while mounted, and the changes with it"
	refute_output --partial "mount again"
}
