#!/usr/bin/env bats
# Covers: src/ckptfs.c (mount options), src/fuse_ops.c (modes, owners).
# Who can reach a mount: by default only the user who mounted it (no
# allow_other), checked as a second user (nobody, through setpriv or
# runuser; skipped when neither works); with -o allow_other,
# default_permissions is on and files keep modes 0644 / 0755 (0444 /
# 0555 with -o ro): only the owner may write.

load helpers

# Run "$@" as the unprivileged user nobody.
as_nobody() {
	if command -v setpriv >/dev/null; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		runuser -u nobody -- "$@"
	fi
}

# Skip unless we are root and can switch to nobody; set PD to a fresh
# directory every user may traverse (outside the private test tmpdir).
setup_second_user() {
	require_fuse
	[ "$(id -u)" = 0 ] || skip "needs root to act as a second user"
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	getent group nogroup >/dev/null || skip "no group nogroup"
	as_nobody true 2>/dev/null || skip "cannot switch to nobody"
	PD=$(mktemp -d "${TMPDIR:-/tmp}/ckptfs-perm.XXXXXX")
	chmod 755 "$PD"
	# Every ancestor must be traversable for the control to mean much.
	as_nobody stat "$PD" >/dev/null 2>&1 ||
		skip "$PD is not reachable by nobody"
	mkdir -p "$PD/mnt" "$PD/plain"
}

# mount_at PREFIX DIR [ckptfs args...]: a daemonized mount at DIR,
# unmounted by the teardown.
mount_at() {
	local p=$1 d=$2
	shift 2
	CKPTFS_EXTRA_MNTS+=("$d")
	run -0 timeout 20 "$CKPTFS" "$@" "$p" "$d" 3>&-
	mountpoint -q "$d"
}

teardown() {
	ckpt_teardown
	[ -n "${PD:-}" ] && rm -rf "$PD"
	true
}

@test "by default only the mounting user reaches the mount" {
	local p
	p=$(fixture tf1)
	setup_second_user
	cp "$p".* "$PD/"
	chmod 644 "$PD"/ckpt.*
	mount_at "$PD/ckpt" "$PD/mnt"
	run -0 grep " $PD/mnt fuse.ckptfs " /proc/mounts
	refute_output --partial allow_other
	# The owner reads it ...
	[ "$(values "$PD/mnt/by-name/b" f4)" = 2 ]
	# ... the control: nobody reaches a plain directory beside it ...
	run -0 as_nobody ls "$PD/plain"
	run -0 as_nobody cat "$PD/ckpt.index"
	# ... but not the mount, nor anything below it.
	run ! as_nobody ls "$PD/mnt"
	assert_output --partial "Permission denied"
	run ! as_nobody cat "$PD/mnt/by-name/b"
	assert_output --partial "Permission denied"
	run ! as_nobody stat "$PD/mnt/by-name"
	run ! as_nobody getfattr -n user.ckpt.key "$PD/mnt/by-name/b"
}

@test "-o allow_other: default_permissions on, modes 0644/0755, others read" {
	local p
	p=$(fixture tf1)
	setup_second_user
	mount_at "$p" "$PD/mnt" -o allow_other
	run -0 grep " $PD/mnt fuse.ckptfs " /proc/mounts
	assert_output --regexp "[ ,]default_permissions[ ,]"
	assert_output --regexp "[ ,]allow_other[ ,]"
	[ "$(stat -c %a "$PD/mnt/by-name/b")" = 644 ]
	[ "$(stat -c %a "$PD/mnt/by-name/dense")" = 755 ]
	[ "$(stat -c %a "$PD/mnt/info.json")" = 444 ]
	[ "$(stat -c %a "$PD/mnt")" = 755 ]
	run -0 sh -c "find '$PD/mnt' -type f ! -perm 644 ! -name info.json"
	assert_output ""
	run -0 sh -c "find '$PD/mnt' -type d ! -perm 755"
	assert_output ""
	[ "$(stat -c %u:%g "$PD/mnt/by-name/b")" = "$(id -u):$(id -g)" ]
	run -0 as_nobody od -An -tf4 "$PD/mnt/by-name/b"
	[ "$(xargs <<<"$output")" = 2 ]
	run -0 as_nobody getfattr --absolute-names --only-values -n user.ckpt.key "$PD/mnt/by-name/b"
	assert_output b
	# The kernel checks the modes itself: nobody may not write.
	run ! as_nobody sh -c "echo x >> '$PD/mnt/by-name/b'"
	run ! as_nobody touch "$PD/mnt/by-name/new"
	# nor unmount it (it said the daemon's status was not one)
	run -1 as_nobody "$CKPTFS" -u "$PD/mnt"
	assert_output --regexp "^ckptfs: $PD/mnt: its daemon \(pid [0-9]+\) is another user's: only that user \(or root\) can unmount it$"
	mountpoint -q "$PD/mnt"
}
