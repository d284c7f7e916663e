#!/usr/bin/env bats
# Covers: src/uring.c, src/fuse_ops.c (reply_read), src/ckptfs.c.
# Requests through FUSE over io_uring, where the kernel has it and the
# fuse module's enable_uring parameter is on; every test skips without
# it.  The file does not turn the parameter on itself: the other suites
# run beside it (make -j check), and on some kernels every ring of their
# live mounts fails once it is turned off again (the mount then ends).
# scripts/run-tests turns it on for its io_uring passes, where no other
# suite runs at the same time.
# Checks that the rings are used (the queue threads' context switches
# grow with the requests), that what is read, listed and written through
# them is what a mount through /dev/fuse gives, that -o no_uring and -s
# keep to /dev/fuse, and that a ring that cannot be made leaves the mount
# working on /dev/fuse with a warning.  scripts/run-tests also runs every
# other suite over io_uring.

load helpers

PARAM=/sys/module/fuse/parameters/enable_uring

teardown() {
	local knob=/proc/sys/kernel/io_uring_disabled
	[ ! -f "$BATS_TEST_TMPDIR/io_uring_disabled.old" ] ||
		cat "$BATS_TEST_TMPDIR/io_uring_disabled.old" >"$knob"
	ckpt_teardown
}

setup() {
	require_fuse
	[ -f "$PARAM" ] || skip "this kernel has no FUSE over io_uring"
	[ "$(cat "$PARAM")" = Y ] ||
		skip "enable_uring is off (scripts/run-tests turns it on for its io_uring passes)"
	T=$BATS_TEST_TMPDIR
}

# Queue threads of daemon PID (named ckptfs-ringN), one per line: "TID".
ring_tids() {
	local t
	for t in /proc/"$1"/task/*; do
		case $(cat "$t/comm" 2>/dev/null) in
		ckptfs-ring*) echo "${t##*/}" ;;
		esac
	done
}

# Voluntary context switches of the queue threads of daemon PID, summed:
# each request served is one wait on the ring.
ring_switches() {
	local tid sum=0 n
	for tid in $(ring_tids "$1"); do
		n=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' \
			"/proc/$1/task/$tid/status")
		sum=$((sum + n))
	done
	echo "$sum"
}

# CPUs the kernel makes queues for (num_possible_cpus()).
possible_cpus() {
	local n=0 r lo hi
	for r in $(tr ',' ' ' </sys/devices/system/cpu/possible); do
		lo=${r%-*} hi=${r#*-}
		n=$((n + hi - lo + 1))
	done
	echo "$n"
}

@test "requests are served through the rings, and give what /dev/fuse gives" {
	local p pid before after dirs
	p=$(fixture tf2)
	mount_ckpt "$p"
	pid=${CKPTFS_PIDS[-1]}
	# two threads per queue, one queue per possible CPU
	[ "$(ring_tids "$pid" | wc -l)" -eq $((2 * $(possible_cpus))) ]
	before=$(ring_switches "$pid")
	dirs=$(find "$MNT" -type d | wc -l)
	find "$MNT" -type f -exec cat {} + >/dev/null
	after=$(ring_switches "$pid")
	# at least one READDIRPLUS per directory went through a ring
	[ $((after - before)) -ge "$dirs" ]
	mount_ckpt "$p" -o no_uring
	[ -z "$(ring_tids "${CKPTFS_PIDS[-1]}")" ]
	# (info.json differs: the pid)
	run -0 diff -r "$MNT/by-name" "${CKPTFS_MNTS[0]}/by-name"
	run -0 diff -r "$MNT/by-object" "${CKPTFS_MNTS[0]}/by-object"
	(cd "$MNT" && getfattr -R -d -m - --absolute-names by-* |
		sort) >"$T/dev"
	(cd "${CKPTFS_MNTS[0]}" && getfattr -R -d -m - --absolute-names by-* |
		sort) >"$T/ring"
	[ -s "$T/dev" ]
	cmp "$T/dev" "$T/ring"
	# and what the checkpoint holds
	local k=model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE
	[ "$(values "${CKPTFS_MNTS[0]}/by-object/$k" f4)" = \
		"$("$CKPT_INSPECT" --json --values "$p" "$k" |
			jq -r '.values | flatten | map(tostring) | join(" ")')" ]
}

@test "large reads at odd offsets, and a damaged tensor's EIO, over the rings" {
	local p big a b
	p=$(fixture big --tensors 6 --bytes $((24 << 20)))
	mkdir -p "$T/dmg"
	cp "$p".* "$T/dmg/"
	mount_ckpt "$p"
	big=$(cd "$MNT/by-name" && find . -type f -size +1M | head -n 1)
	[ -n "$big" ]
	a=$MNT/by-name/$big
	mount_ckpt "$p" -o no_uring
	b=$MNT/by-name/$big
	cmp "$a" "$b"
	# reads that start mid-page and cross the 1 MiB request size
	dd if="$a" bs=777777 skip=3 count=4 status=none | md5sum >"$T/ra"
	dd if="$b" bs=777777 skip=3 count=4 status=none | md5sum >"$T/rb"
	cmp "$T/ra" "$T/rb"
	unmount_ckpt
	# damage the last byte of that tensor in the copy
	local off size
	off=$("$CKPT_INSPECT" --json "$T/dmg/ckpt" "${big#./}" | jq .offset)
	size=$("$CKPT_INSPECT" --json "$T/dmg/ckpt" "${big#./}" | jq .size)
	printf '\x5a' | dd of="$T/dmg/ckpt.data-00000-of-00001" bs=1 \
		seek=$((off + size - 1)) conv=notrunc status=none
	mount_ckpt "$T/dmg/ckpt"
	run -1 cat "$MNT/by-name/$big"
	assert_output --partial "Input/output error"
	# the others still read
	run -0 sh -c "cd '$MNT/by-name' && find . -type f ! -path '$big' \
		-exec cat {} + | wc -c"
	[ "$output" -gt 0 ]
}

@test "writes, renames and the write-out through the rings" {
	local p
	command -v setfattr >/dev/null || skip "setfattr not installed"
	mkdir -p "$T/src"
	cp "$(fixture tf1)".* "$T/src/"
	p=$T/src/ckpt
	head -c $((3 << 20)) /dev/urandom >"$T/blob"
	mount_ckpt "$p" -o format=tf1,output="$T/out"
	[ -n "$(ring_tids "${CKPTFS_PIDS[-1]}")" ]
	# a write larger than one request
	dd if="$T/blob" of="$MNT/by-name/new" bs=3M status=none
	setfattr -n user.ckpt.dtype -v uint8 "$MNT/by-name/new"
	setfattr -n user.ckpt.shape -v $((3 << 20)) "$MNT/by-name/new"
	cmp "$T/blob" "$MNT/by-name/new"
	cmp "$T/blob" "$MNT/by-object/vars/new/.ATTRIBUTES/VARIABLE_VALUE"
	mv "$MNT/by-name/dense" "$MNT/by-name/moved"
	rm "$MNT/by-name/b"
	[ "$(values "$MNT/by-name/moved/kernel" f4)" = "0 1 2 3 4 5" ]
	finish
	run -0 keys "$T/out"
	assert_output --partial "moved/kernel"
	refute_line "b"
	[ "$(val "$T/out" moved/bias)" = "[1,2,3]" ]
	[ "$(val "$T/out" moved/kernel)" = "[[0,1,2],[3,4,5]]" ]
	mount_ckpt "$T/out"
	cmp "$T/blob" "$MNT/by-name/new"
}

@test "-s keeps to /dev/fuse" {
	mount_ckpt "$(fixture tf1)" -s
	[ -z "$(ring_tids "${CKPTFS_PIDS[-1]}")" ]
	[ "$(values "$MNT/by-name/a" f4)" = 1 ]
}

@test "a ring that cannot be made: a warning, and the mount on /dev/fuse" {
	local knob=/proc/sys/kernel/io_uring_disabled
	[ -w "$knob" ] || skip "kernel.io_uring_disabled cannot be set here"
	cat "$knob" >"$T/io_uring_disabled.old"
	echo 2 >"$knob"
	mount_ckpt "$(fixture tf1)"
	cat "$T/io_uring_disabled.old" >"$knob"
	[ "$(values "$MNT/by-name/a" f4)" = 1 ]
	run -0 ls "$MNT/by-name"
	assert_line "scoped"
	run -0 cat "${CKPTFS_LOGS[-1]}"
	assert_output --partial "io_uring offered but not taken"
}

@test "a ring the kernel refuses: a warning, and the mount on /dev/fuse" {
	local pid before
	CKPTFS_TEST_URING_SHORT=1 mount_ckpt "$(fixture tf1)"
	pid=${CKPTFS_PIDS[-1]}
	[ "$(values "$MNT/by-name/a" f4)" = 1 ]
	run -0 ls -R "$MNT"
	assert_line "scoped"
	[ "$(values "$MNT/by-name/scoped/c" f4)" = 3 ]
	# the queue threads are gone: nothing waits on their entries
	for _ in $(seq 50); do
		[ -n "$(ring_tids "$pid")" ] || break
		sleep 0.1
	done
	[ -z "$(ring_tids "$pid")" ]
	run -0 grep -c "the kernel refused io_uring (Invalid argument); serving through /dev/fuse" "${CKPTFS_LOGS[-1]}"
	[ "$output" = 1 ]
}

@test "a queue that stops serving once the kernel uses the rings: the mount ends, nothing waits" {
	local pid st=0 log
	# (CKPTFS_TEST_URING_FAIL: a test-only hook failing a queue thread's
	# wait after that many, once it has served)
	CKPTFS_TEST_URING_FAIL=2 mount_ckpt "$(fixture tf1)" -o ro
	pid=${CKPTFS_PIDS[-1]} log=${CKPTFS_LOGS[-1]}
	for _ in $(seq 100); do
		mountpoint -q "$MNT" || break
		timeout 20 ls -lR "$MNT" >/dev/null 2>&1 || true
	done
	run ! mountpoint -q "$MNT"
	timeout 20 tail --pid="$pid" -f /dev/null
	wait "$pid" || st=$?
	[ "$st" -eq 0 ]
	# shellcheck disable=SC2034 # read by helpers.bash
	CKPTFS_MNTS=() CKPTFS_PIDS=() CKPTFS_LOGS=()
	run -0 grep -c "error: io_uring queue [0-9]* stopped serving (Input/output error); unmounting, as requests made on its CPU would wait for ever" "$log"
}

@test "long checks go to workers: reads, writes, truncates, setfattr and CRCs they answer" {
	local p pid n=layer_0/dense
	command -v setfattr >/dev/null || skip "setfattr not installed"
	mkdir -p "$T/src"
	cp "$(fixture big --tensors 6 --bytes $((24 << 20)))".* "$T/src/"
	p=$T/src/ckpt
	mount_ckpt "$p" -o no_uring
	local ref=$MNT
	mount_ckpt "$p" -o format=tf1,output="$T/out"
	pid=${CKPTFS_PIDS[-1]}
	# tensors of 3.6-6 MiB, none checked yet: each first use below is
	# run again by a worker
	cmp "$MNT/by-name/embedding/embeddings" "$ref/by-name/embedding/embeddings"
	[ -n "$(ps -T -p "$pid" -o comm= | grep -x ckptfs-ringw)" ]
	# a partial write (the tensor is checked before its bytes are kept)
	printf 'ABCD' | dd of="$MNT/by-name/$n/bias" bs=1 seek=1000 \
		conv=notrunc status=none
	head -c 1000 "$ref/by-name/$n/bias" >"$T/want"
	printf 'ABCD' >>"$T/want"
	tail -c +1005 "$ref/by-name/$n/bias" >>"$T/want"
	cmp "$T/want" "$MNT/by-name/$n/bias"
	# a truncate, and a setfattr that copies the tensor up
	truncate -s 4096 "$MNT/by-name/$n/kernel/Adam"
	[ "$(stat -c %s "$MNT/by-name/$n/kernel/Adam")" = 4096 ]
	cmp <(head -c 4096 "$ref/by-name/$n/kernel/Adam") \
		"$MNT/by-name/$n/kernel/Adam"
	setfattr -n user.ckpt.dtype -v int32 "$MNT/by-name/$n/kernel/Adam_1"
	[ "$(xattr "$MNT/by-name/$n/kernel/Adam_1" user.ckpt.dtype)" = int32 ]
	# the CRC of a changed tensor, read whole each time
	local crc
	crc=$(xattr "$MNT/by-name/$n/bias" user.ckpt.crc32c)
	[ "${#crc}" = 8 ]
	finish
	# every change is in the output; the CRC shown was the new bytes'
	mount_ckpt "$T/out" -o ro
	cmp "$T/want" "$MNT/by-name/$n/bias"
	[ "$(xattr "$MNT/by-name/$n/bias" user.ckpt.crc32c)" = "$crc" ]
	[ "$(stat -c %s "$MNT/by-name/$n/kernel/Adam")" = 4096 ]
	[ "$(xattr "$MNT/by-name/$n/kernel/Adam_1" user.ckpt.dtype)" = int32 ]
	cmp "$MNT/by-name/$n/kernel/Adam_1" "$ref/by-name/$n/kernel/Adam_1"
}

@test "a damaged large tensor checked by a worker: EIO, logged once" {
	local p off size k=layer_1/dense/kernel
	mkdir -p "$T/dmg"
	cp "$(fixture big --tensors 6 --bytes $((24 << 20)))".* "$T/dmg/"
	p=$T/dmg/ckpt
	off=$("$CKPT_INSPECT" --json "$p" "$k" | jq .offset)
	size=$("$CKPT_INSPECT" --json "$p" "$k" | jq .size)
	printf '\x5a' | dd of="$p.data-00000-of-00001" bs=1 \
		seek=$((off + size / 2)) conv=notrunc status=none
	mount_ckpt "$p" -o ro
	# several readers at once: one checks, the others wait in workers
	local pids=()
	for i in 1 2 3 4; do
		cat "$MNT/by-name/$k" >/dev/null 2>"$T/err$i" &
		pids+=("$!")
	done
	# (not a bare wait: the daemon is a child of this shell too)
	for i in "${pids[@]}"; do
		wait "$i" || true
	done
	for i in 1 2 3 4; do
		grep -q "Input/output error" "$T/err$i"
	done
	run -1 cat "$MNT/by-name/$k"
	run -0 grep -c "tensor '$k'" "$CKPTFS_LOG"
	[ "$output" = 1 ]
	# the others read whole
	run -0 sh -c "cat '$MNT/by-name/layer_1/dense/bias' | wc -c"
	[ "$output" = "$("$CKPT_INSPECT" --json "$p" layer_1/dense/bias |
		jq .size)" ]
}

@test "SIGTERM while writes are served: each is in the output exactly if it succeeded" {
	local p pid i k keys off got want
	mkdir -p "$T/src"
	cp "$(fixture big --tensors 6 --bytes $((24 << 20)))".* "$T/src/"
	p=$T/src/ckpt
	mapfile -t keys < <("$CKPT_INSPECT" --json "$p" | jq -r .key)
	mount_ckpt "$p" -o format=tf1,output="$T/out"
	pid=${CKPTFS_PIDS[-1]}
	# twelve writers, none of whose tensors is checked yet (each first
	# write waits for a worker's check), and the signal among them
	local pids=()
	for i in $(seq 0 11); do
		k=${keys[i % 6]}
		(printf 'W%07d' "$i" | dd of="$MNT/by-name/$k" bs=8 \
			seek="$i" conv=notrunc status=none 2>/dev/null
		 echo $? >"$T/rc$i") &
		pids+=("$!")
	done
	kill -TERM "$pid"
	for i in "${pids[@]}"; do
		wait "$i" || true
	done
	if ! wait_daemon "$pid"; then
		# a writer still open when the mount ended: its tensor is
		# refused, the spool keeps what succeeded
		grep -q "open for writing when a signal ended the mount" \
			"$CKPTFS_LOG" || fail "$(cat "$CKPTFS_LOG")"
		unset 'CKPTFS_MNTS[-1]' 'CKPTFS_PIDS[-1]' 'CKPTFS_LOGS[-1]'
		mount_ckpt "$p" -o format=tf1,output="$T/out",spool="$T/out.ckptfs-spool"
		finish
	else
		unset 'CKPTFS_MNTS[-1]' 'CKPTFS_PIDS[-1]' 'CKPTFS_LOGS[-1]'
	fi
	for i in $(seq 0 11); do
		k=${keys[i % 6]}
		off=$("$CKPT_INSPECT" --json "$T/out" "$k" | jq .offset)
		got=$(dd if="$T/out.data-00000-of-00001" bs=1 \
			skip=$((off + 8 * i)) count=8 status=none)
		if [ "$(cat "$T/rc$i")" = 0 ]; then
			want=$(printf 'W%07d' "$i")
		else
			off=$("$CKPT_INSPECT" --json "$p" "$k" | jq .offset)
			want=$(dd if="$p.data-00000-of-00001" bs=1 \
				skip=$((off + 8 * i)) count=8 status=none)
		fi
		[ "$got" = "$want" ] || fail "writer $i (rc $(cat "$T/rc$i")): '$got'"
	done
}
