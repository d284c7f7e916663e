#!/usr/bin/env bats
# Covers: src/bundle_writer.c (creating the output files), src/overlay.c
# (creating the spool).
# The written checkpoint's files get the mounting user's umask (027 gives
# 0640), and symbolic links planted at the output names (pointing at a
# victim file) are replaced by regular files, the victim unchanged; a
# symbolic link or a file at the spool's name refuses the mount, and what
# it points to is left alone.

load helpers

setup() {
	require_fuse
	command -v jq >/dev/null || skip "jq not installed"
	T=$BATS_TEST_TMPDIR
	mkdir -p "$T/src"
	cp "$(fixture tf1)".* "$T/src/"
	P=$T/src/ckpt
	O=$T/out
}

# The read-only bind mount goes after the ckptfs mounts that use it.
teardown() {
	ckpt_teardown
	[ -z "${RO_MNT:-}" ] || umount "$RO_MNT" || umount -l "$RO_MNT"
}

@test "a source where nothing can be written mounts read-only, saying so" {
	RO_MNT=$T/ro
	mkdir -p "$RO_MNT"
	# a read-only file system: root passes access(2) there, so only
	# making a file tells
	mount --bind "$T/src" "$RO_MNT" 2>/dev/null &&
		mount -o remount,bind,ro "$RO_MNT" 2>/dev/null ||
		skip "cannot make a read-only bind mount here"
	mount_ckpt "$RO_MNT/ckpt"
	run -0 cat "$CKPTFS_LOG"
	assert_output "ckptfs: warning: $RO_MNT: Read-only file system: mounted read-only (give -o output=PREFIX in a directory that can be written to make changes)"
	run -0 jq .writable "$MNT/info.json"
	assert_output false
	run ! touch "$MNT/by-name/new"
	assert_output --partial "Read-only file system"
	run ! setfattr -n user.ckpt.dtype -v int32 "$MNT/by-name/a"
	assert_output --partial "Read-only file system"
	# the kernel's mount is read-only too: an O_TRUNC open after a read
	# (after which no OPEN request comes) is refused, not a silent no-op
	cat "$MNT/by-name/a" >/dev/null
	run ! sh -c ": >'$MNT/by-name/a'"
	assert_output --partial "Read-only file system"
	[ "$(stat -c %s "$MNT/by-name/a")" = 4 ]
	grep -q " $MNT fuse.ckptfs ro," /proc/mounts
	unmount_ckpt
	mkdir "$T/m2"
	run -1 timeout 20 "$CKPTFS" -o output="$RO_MNT/out" "$RO_MNT/ckpt" "$T/m2"
	assert_output "ckptfs: output=$RO_MNT/out: cannot make files in $RO_MNT: Read-only file system"
	# given an output elsewhere, it is writable
	mount_ckpt "$RO_MNT/ckpt" -o output="$O"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	finish
	[ "$(val "$O" vars/a/.ATTRIBUTES/VARIABLE_VALUE)" = 10 ]
}

@test "output files get the umask: 027 makes them 0640" {
	umask 027
	mount_ckpt "$P" -o format=tf1,output="$O"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	[ "$(stat -c %a "$O.ckptfs-spool")" = 700 ]
	finish
	run -0 stat -c '%a %F %n' "$O.index" "$O.data-00000-of-00001"
	assert_output - <<EOF
640 regular file $O.index
640 regular file $O.data-00000-of-00001
EOF
	umask 022
	mount_ckpt "$P" -o format=tf2,output="$T/out2"
	finish
	[ "$(stat -c %a "$T/out2.index")" = 644 ]
	[ "$(stat -c %a "$T/out2.data-00000-of-00001")" = 644 ]
}

@test "symlinks planted at the output names are replaced, never followed" {
	printf victim >"$T/victim"
	chmod 600 "$T/victim"
	printf other >"$T/victim2"
	ln -s "$T/victim" "$O.index"
	ln -s "$T/victim2" "$O.data-00000-of-00001"
	mount_ckpt "$P" -o format=tf1,output="$O"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	finish
	[ "$(cat "$T/victim")" = victim ]
	[ "$(stat -c %a "$T/victim")" = 600 ]
	[ "$(cat "$T/victim2")" = other ]
	[ ! -L "$O.index" ] && [ -f "$O.index" ]
	[ ! -L "$O.data-00000-of-00001" ] && [ -f "$O.data-00000-of-00001" ]
	run -0 "$CKPT_INSPECT" --verify "$O"
	assert_output "10 tensors verified, 0 damaged"
	[ "$("$CKPT_INSPECT" --json --values "$O" a | jq -c .values)" = 10 ]
}

@test "a spool named where other files are, or inside the mount point, is refused" {
	local sp sum
	sum=$(cat "$P".index "$P".data-* | md5sum)
	mkdir "$T/mnt" "$T/dir"
	cp "$P".* "$T/dir/"
	printf keep >"$T/dir/precious"
	# Its files went when the spool was removed after the write-out:
	# precious, and the checkpoint itself for spool=its directory.
	for sp in "$T/dir" "$T/src"; do
		run -1 timeout 20 "$CKPTFS" -o spool="$sp",output="$O" "$P" "$T/mnt"
		assert_output "ckptfs: $sp: a directory holding other files than a spool's: it cannot be the spool of changes, which is removed once they are written (give -o spool= a new or empty directory, or mount with -o ro)"
	done
	[ "$(cat "$T/dir/precious")" = keep ]
	[ "$(cat "$P".index "$P".data-* | md5sum)" = "$sum" ]
	# The first change waited for itself, holding the daemon's lock:
	# the mount hung for good.
	ln -s mnt "$T/lnk"
	for sp in "$T/mnt/s" "$T/mnt" "$T/lnk/s" "$T/mnt/../mnt/s"; do
		run -1 timeout 20 "$CKPTFS" -o spool="$sp",output="$O" "$P" "$T/mnt"
		assert_output "ckptfs: spool $sp: inside the mount point $T/mnt; give -o spool= (or -o output=) outside it"
	done
	run -1 timeout 20 "$CKPTFS" -o output="$T/mnt/o" "$P" "$T/mnt"
	assert_output "ckptfs: output=$T/mnt/o: inside the mount point $T/mnt; give a path outside it"
	run ! mountpoint -q "$T/mnt"
	# A file put in a spool is left there, and so is the spool then.
	mount_ckpt "$P" -o format=tf1,output="$O"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	printf mine >"$O.ckptfs-spool/notes"
	finish
	[ "$(val "$O" a)" = 10 ]
	run -0 ls -A "$O.ckptfs-spool"
	assert_output notes
}

@test "a directory above the output swapped while mounted: the files go where they were" {
	mkdir -p "$T/d/run" "$T/mnt" "$T/d/victim"
	cp "$P".* "$T/d/run/"
	mount_ckpt "$T/d/run/ckpt"
	# Whoever owns d turns run into a link elsewhere: the write-out (and
	# the spool, made at the first change) followed it.
	mv "$T/d/run" "$T/d/run.orig"
	ln -s victim "$T/d/run"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	finish
	run -0 ls -A "$T/d/victim"
	assert_output ""
	[ "$(val "$T/d/run.orig/ckpt.tf2" vars/a/.ATTRIBUTES/VARIABLE_VALUE)" = 10 ]
	[ ! -e "$T/d/run.orig/ckpt.tf2.ckptfs-spool" ]
}

@test "a symlink or a file planted at the spool's name is refused, not followed" {
	mkdir "$T/elsewhere" "$T/mnt"
	printf keep >"$T/elsewhere/precious"
	ln -s "$T/elsewhere" "$O.ckptfs-spool"
	run -1 timeout 20 "$CKPTFS" -o format=tf1,output="$O" "$P" "$T/mnt"
	assert_output "ckptfs: $O.ckptfs-spool: a symbolic link (not followed), not a directory: it cannot be the spool of changes (move it away, give -o spool=DIR, or mount with -o ro)"
	run ! mountpoint -q "$T/mnt"
	[ -L "$O.ckptfs-spool" ]
	run -0 ls -A "$T/elsewhere"
	assert_output precious
	[ "$(cat "$T/elsewhere/precious")" = keep ]
	[ ! -e "$O.index" ]
	printf x >"$T/spoolfile"
	run -1 timeout 20 "$CKPTFS" -o spool="$T/spoolfile" "$P" "$T/mnt"
	assert_output --partial "spoolfile: a file, not a directory"
	[ "$(cat "$T/spoolfile")" = x ]
	# read-only, no spool is needed
	mount_ckpt "$P" -o ro,output="$O"
	run -0 cat "$CKPTFS_LOG"
	assert_output "ckptfs: warning: -o ro: nothing is written, output=$O neither"
	[ "$(values "$MNT/by-name/a" f4)" = 1 ]
}
