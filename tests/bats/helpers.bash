# helpers.bash -- shared setup for the bats suites (`load helpers`).
#
# Provides: bats-support and bats-assert; strict skips (CKPTFS_TEST_STRICT=1
# turns every skip into a failure, for CI); the programs under test
# ($CKPTFS, $CKPT_INSPECT, $MKFIXTURE, set by `make check`); real and
# generated checkpoints (require_realdata, fixture); and mounting
# (mount_ckpt, unmount_ckpt) with a teardown that unmounts everything and
# fails the test when a daemon exited non-zero.  Suites that define their
# own teardown() must call ckpt_teardown from it.
# shellcheck shell=bash

bats_require_minimum_version 1.5.0

for _lib in bats-support bats-assert; do
	if [ -f "/usr/lib/bats/$_lib/load.bash" ]; then
		load "/usr/lib/bats/$_lib/load"
	else
		bats_load_library "$_lib"
	fi
done
unset _lib

: "${CKPTFS:=ckptfs}"
: "${CKPT_INSPECT:=ckpt-inspect}"
: "${MKFIXTURE:=mkfixture}"
: "${REPLACE_READ:=replace_read}"
: "${REOPEN_READ:=reopen_read}"
: "${MMAP_WRITE:=mmap_write}"
: "${COPY_RANGE:=copy_range}"
export CKPTFS CKPT_INSPECT MKFIXTURE REPLACE_READ REOPEN_READ MMAP_WRITE \
	COPY_RANGE

if [ "${CKPTFS_TEST_STRICT:-0}" = 1 ]; then
	# CI: a test that cannot run is a failure, not a skip.
	skip() {
		fail "skipped under CKPTFS_TEST_STRICT=1: ${*:-no reason}"
	}
fi

# Skip unless the real TensorFlow checkpoints are there; sets RD.
require_realdata() {
	if [ -z "${REALDATA:-}" ] || [ ! -d "$REALDATA" ]; then
		skip "REALDATA not set or absent"
	fi
	# shellcheck disable=SC2034 # used by the suites
	RD=$REALDATA
}

# Path of a generated checkpoint of KIND (made once per .bats file).
# fixture KIND [mkfixture args...]
fixture() {
	local kind=$1 dir
	shift
	dir=$BATS_FILE_TMPDIR/fx/$kind$(printf '%s' "$*" | tr -c 'a-zA-Z0-9' _)
	if [ ! -f "$dir/ckpt.index" ]; then
		command -v "$MKFIXTURE" >/dev/null ||
			skip "mkfixture not built ($MKFIXTURE)"
		mkdir -p "$dir"
		"$MKFIXTURE" "$kind" "$dir/ckpt" "$@" >&2 ||
			fail "mkfixture $kind failed"
	fi
	echo "$dir/ckpt"
}

# Skip unless FUSE mounts can work here.
require_fuse() {
	[ -w /dev/fuse ] || skip "no writable /dev/fuse"
	command -v fusermount3 >/dev/null || skip "fusermount3 not installed"
}

# Elements of FILE as od prints them with TYPE (e.g. f4, d8), one line.
values() {
	od -An -v -t"$2" "$1" | xargs echo
}

# Run the test command given until it holds, for up to 5 s: what the
# other view shows after a change, as the kernel forgets that view's old
# names when ckptfs tells it, just after the change is answered (a
# moment, longer on a busy machine; a name never forgotten fails).
eventually() {
	local i
	for i in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# The value of extended attribute NAME of FILE.
xattr() {
	getfattr --absolute-names --only-values -n "$2" "$1"
}

CKPTFS_MNTS=()
CKPTFS_PIDS=()
CKPTFS_LOGS=()

# Mount PREFIX with ckptfs in the foreground (in the background of the
# test); MNT is set to the new mount point ($BATS_TEST_TMPDIR/mnt, mnt2,
# ...) and CKPTFS_LOG to its log.  mount_ckpt PREFIX [ckptfs args...]
mount_ckpt() {
	local n=${#CKPTFS_MNTS[@]} pid sfx=
	require_fuse
	[ "$n" -eq 0 ] || sfx=$((n + 1))
	MNT=$BATS_TEST_TMPDIR/mnt$sfx
	CKPTFS_LOG=$BATS_TEST_TMPDIR/ckptfs$sfx.log
	mkdir -p "$MNT"
	# (a mount left there, a killed daemon's, would pass for the new one)
	! mountpoint -q "$MNT" || fail "$MNT is still a mount point"
	# fd 3 closed: bats would wait for the daemon otherwise.
	"$CKPTFS" -f "$@" "$MNT" 3>&- >"$CKPTFS_LOG" 2>&1 &
	pid=$!
	CKPTFS_MNTS+=("$MNT")
	CKPTFS_PIDS+=("$pid")
	CKPTFS_LOGS+=("$CKPTFS_LOG")
	for _ in $(seq 100); do
		mountpoint -q "$MNT" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$CKPTFS_LOG" >&2
	fail "ckptfs did not mount $1"
}

# Wait for daemon PID to exit and return its status; one still running
# two minutes after its unmount (a lazy unmount of a mount that a file
# of this test keeps open) is killed, so a failed test cannot hang the
# suite.
wait_daemon() {
	local i
	for i in $(seq 1200); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "ckptfs (pid $1) still running after its unmount: killed" >&2
		kill -9 "$1"
	fi
	wait "$1"
}

# Kill the daemon of the last mount with SIGKILL (a crash), detach its
# mount and forget it (the teardown expects no status from it).
kill_daemon() {
	local pid=${CKPTFS_PIDS[-1]}
	kill -9 "$pid"
	wait "$pid" || true
	fusermount3 -u -z "$MNT" 2>/dev/null || true
	unset 'CKPTFS_MNTS[-1]' 'CKPTFS_PIDS[-1]' 'CKPTFS_LOGS[-1]'
}

# Unmount every mount of this test and wait for its daemon; return
# non-zero (after printing the log) if any daemon exited non-zero.
unmount_ckpt() {
	local i rc=0 st
	for i in "${!CKPTFS_MNTS[@]}"; do
		if mountpoint -q "${CKPTFS_MNTS[$i]}"; then
			fusermount3 -u "${CKPTFS_MNTS[$i]}" 2>/dev/null ||
				fusermount3 -u -z "${CKPTFS_MNTS[$i]}"
		fi
		st=0
		wait_daemon "${CKPTFS_PIDS[$i]}" || st=$?
		if [ "$st" -ne 0 ]; then
			echo "ckptfs on ${CKPTFS_MNTS[$i]} exited $st:" >&2
			cat "${CKPTFS_LOGS[$i]}" >&2
			rc=1
		fi
	done
	CKPTFS_MNTS=()
	CKPTFS_PIDS=()
	CKPTFS_LOGS=()
	return "$rc"
}

# --- written checkpoints, read back with the inspector -------------------

# The keys of checkpoint P, one per line (inspector order: sorted).
keys() {
	"$CKPT_INSPECT" --json "$1" | jq -r .key
}

# The values of KEY in checkpoint P as compact JSON.
val() {
	"$CKPT_INSPECT" --json --values "$1" "$2" | jq -c .values
}

# The dtype and shape of KEY in P, e.g. "float32 [2,3]".
meta() {
	"$CKPT_INSPECT" --json "$1" "$2" | jq -r '.dtype + " " + (.shape|tostring)'
}

# Unmount $MNT with ckptfs -u (which waits for the write-out), expect
# success, and reap the daemons (each must exit 0).
finish() {
	run -0 timeout 120 "$CKPTFS" -u "$MNT"
	unmount_ckpt
}

# Unmount expecting the write-out to fail; the daemon's non-zero exit is
# taken here, not by the teardown.  Sets output/status from ckptfs -u.
finish_fails() {
	run -1 timeout 120 "$CKPTFS" -u "$MNT"
	local pid=${CKPTFS_PIDS[-1]} st=0
	wait "$pid" || st=$?
	[ "$st" -ne 0 ]
	unset 'CKPTFS_MNTS[-1]' 'CKPTFS_PIDS[-1]' 'CKPTFS_LOGS[-1]'
}

# Unmount mounts not started by mount_ckpt (daemonized ones).
CKPTFS_EXTRA_MNTS=()
unmount_extra() {
	local m
	for m in "${CKPTFS_EXTRA_MNTS[@]}"; do
		mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null ||
			fusermount3 -u -z "$m"; }
	done
	CKPTFS_EXTRA_MNTS=()
}

ckpt_teardown() {
	local l
	# A failed test shows what its daemons said, those it has
	# forgotten (killed, or failed as it expected) too.
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		for l in "$BATS_TEST_TMPDIR"/ckptfs*.log; do
			[ -s "$l" ] || continue
			echo "-- ${l##*/} (its last 40 lines):" >&2
			tail -n 40 "$l" >&2
		done
	fi
	unmount_extra
	unmount_ckpt || fail "a ckptfs daemon exited non-zero"
}

teardown() {
	ckpt_teardown
}
