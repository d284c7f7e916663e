#!/usr/bin/env bats
# Covers: src/tree.c (the /by-object view, shared inodes), src/fuse_ops.c.
# /by-object listed exactly for TF1 (the vars/<escaped>/.ATTRIBUTES layout,
# -o tf2_root, built at first use) and TF2 (keys as they are, optimizer slots included); every
# tensor is one inode under both views; two mounts compare equal; a
# damaged tensor fails alone; inode numbers stay put.

load helpers

tree_of() {
	(cd "$1" && find . | LC_ALL=C sort)
}

# cmp every by-name file with the by-object file of the same inode.
check_both_views() {
	local f ino o n=0
	while IFS= read -r -d '' f; do
		ino=$(stat -c %i "$f")
		o=$(find "$MNT/by-object" -inum "$ino" -print -quit)
		[ -n "$o" ] || fail "$f: no by-object name"
		cmp "$f" "$o" || fail "$f and $o differ"
		[ "$(stat -c %h "$f")" = 2 ] || fail "$f: nlink"
		[ "$(xattr "$f" user.ckpt.key)" = "$(xattr "$o" user.ckpt.key)" ]
		n=$((n + 1))
	done < <(find "$MNT/by-name" -type f -print0)
	echo "$n"
}

@test "tf1: vars/<escaped name>/.ATTRIBUTES/VARIABLE_VALUE" {
	mount_ckpt "$(fixture tf1)"
	run -0 tree_of "$MNT/by-object"
	assert_output - <<'EOF'
.
./vars
./vars/a
./vars/a/.ATTRIBUTES
./vars/a/.ATTRIBUTES/VARIABLE_VALUE
./vars/b
./vars/b/.ATTRIBUTES
./vars/b/.ATTRIBUTES/VARIABLE_VALUE
./vars/dense.Sbias
./vars/dense.Sbias.SAdam
./vars/dense.Sbias.SAdam/.ATTRIBUTES
./vars/dense.Sbias.SAdam/.ATTRIBUTES/VARIABLE_VALUE
./vars/dense.Sbias.SAdam_1
./vars/dense.Sbias.SAdam_1/.ATTRIBUTES
./vars/dense.Sbias.SAdam_1/.ATTRIBUTES/VARIABLE_VALUE
./vars/dense.Sbias/.ATTRIBUTES
./vars/dense.Sbias/.ATTRIBUTES/VARIABLE_VALUE
./vars/dense.Skernel
./vars/dense.Skernel.SAdam
./vars/dense.Skernel.SAdam/.ATTRIBUTES
./vars/dense.Skernel.SAdam/.ATTRIBUTES/VARIABLE_VALUE
./vars/dense.Skernel.SAdam_1
./vars/dense.Skernel.SAdam_1/.ATTRIBUTES
./vars/dense.Skernel.SAdam_1/.ATTRIBUTES/VARIABLE_VALUE
./vars/dense.Skernel/.ATTRIBUTES
./vars/dense.Skernel/.ATTRIBUTES/VARIABLE_VALUE
./vars/global_step
./vars/global_step/.ATTRIBUTES
./vars/global_step/.ATTRIBUTES/VARIABLE_VALUE
./vars/scoped.Sc
./vars/scoped.Sc/.ATTRIBUTES
./vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE
EOF
	run -0 check_both_views
	assert_output 10
	[ "$(values "$MNT/by-object/vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE" f4)" = 3 ]
}

@test "tf1 with -o tf2_root=model" {
	mount_ckpt "$(fixture tf1)" -o tf2_root=model
	run -0 ls "$MNT/by-object"
	assert_output model
	[ "$(values "$MNT/by-object/model/dense.Skernel/.ATTRIBUTES/VARIABLE_VALUE" f4)" = "0 1 2 3 4 5" ]
	run -0 grep -F '"tf2_root": "model"' "$MNT/info.json"
	mkdir -p "$BATS_TEST_TMPDIR/m2"
	run -1 timeout 10 "$CKPTFS" -o tf2_root=a/b "$(fixture tf1)" "$BATS_TEST_TMPDIR/m2"
	assert_output --regexp '^ckptfs: tf2_root=a/b: '
}

@test "tf1 with -o tf2_root=my.vars: written as the object my.vars" {
	local o=$BATS_TEST_TMPDIR/out
	mount_ckpt "$(fixture tf1)" -o tf2_root=my.vars,output="$o"
	# (TensorFlow's key for an object named "my.vars", which by-object
	# shows as it shows the keys it will write)
	run -0 ls "$MNT/by-object"
	assert_output my..vars
	[ "$(getfattr --only-values -n user.ckpt.key "$MNT/by-object/my..vars/a/.ATTRIBUTES/VARIABLE_VALUE")" = a ]
	printf '\x00\x00\x80\x3f' >"$MNT/by-name/new"
	setfattr -n user.ckpt.dtype -v float32 "$MNT/by-name/new"
	[ "$(values "$MNT/by-object/my..vars/new/.ATTRIBUTES/VARIABLE_VALUE" f4)" = 1 ]
	run -0 jq -r .tf2_root "$MNT/info.json"
	assert_output my.vars
	finish
	run -0 "$CKPT_INSPECT" --json --values "$o" my..vars/a/.ATTRIBUTES/VARIABLE_VALUE
	[ "$(jq -c .values <<<"$output")" = 1 ]
	run -0 "$CKPT_INSPECT" --json --values "$o" my..vars/new/.ATTRIBUTES/VARIABLE_VALUE
	[ "$(jq -c .values <<<"$output")" = "[1]" ]
	run -0 "$CKPT_INSPECT" -g "$o"
	assert_output --partial "child my.vars -> node 1"
	# the output mounted shows the same paths
	mount_ckpt "$o" -o ro
	run -0 ls "$MNT/by-object"
	assert_output "$(printf '_CHECKPOINTABLE_OBJECT_GRAPH\nmy..vars\nsave_counter')"
	[ -f "$MNT/by-object/my..vars/new/.ATTRIBUTES/VARIABLE_VALUE" ]
}

@test "tf1: /by-object is built at first use, after changes made in /by-name" {
	local T=$BATS_TEST_TMPDIR o files
	mount_ckpt "$(fixture tf1)" -o output="$T/out"
	# Nothing has looked into /by-object: the links it will give are
	# counted already.
	[ "$(stat -c %h "$MNT/by-name/a")" = 2 ]
	[ "$(stat -c %h "$MNT/by-object")" = 3 ]
	# A change first: the view is built, then follows it.
	mv "$MNT/by-name/a" "$MNT/by-name/renamed"
	o=$MNT/by-object/vars/renamed/.ATTRIBUTES/VARIABLE_VALUE
	[ "$(stat -c %i "$o")" = "$(stat -c %i "$MNT/by-name/renamed")" ]
	[ ! -e "$MNT/by-object/vars/a" ]
	[ "$(stat -c %h "$MNT/by-name/renamed")" = 2 ]
	[ "$(stat -c %h "$MNT/by-object")" = 3 ]
	[ "$(values "$o" f4)" = 1 ]
	unmount_ckpt
	[ "$(val "$T/out" 'vars/renamed/.ATTRIBUTES/VARIABLE_VALUE')" = 1 ]
	run -0 keys "$T/out"
	refute_output --partial 'vars/a/'
	# Read-only, listed first: the same view; its inodes counted
	# before it is built (df -i).
	mount_ckpt "$(fixture tf1)" -o ro
	[ "$(stat -c %h "$MNT/by-name/b")" = 2 ]
	files=$(stat -f -c %c "$MNT")
	run -0 tree_of "$MNT/by-object/vars/b"
	assert_output - <<'EOF'
.
./.ATTRIBUTES
./.ATTRIBUTES/VARIABLE_VALUE
EOF
	[ "$(stat -c %i "$MNT/by-name/b")" = \
		"$(stat -c %i "$MNT/by-object/vars/b/.ATTRIBUTES/VARIABLE_VALUE")" ]
	[ "$(stat -f -c %c "$MNT")" = "$files" ]
}

@test "tf1: the /by-object built at first use is cached as long as the rest" {
	local T=$BATS_TEST_TMPDIR o n
	# -d: the daemon logs every request, so lookups can be counted.
	mount_ckpt "$(fixture tf1)" -d -o output="$T/out"
	o=$MNT/by-object/vars/b/.ATTRIBUTES/VARIABLE_VALUE
	stat "$o" "$MNT/by-name/b" >/dev/null
	n=$(grep -c 'opcode: LOOKUP' "$CKPTFS_LOG")
	# Longer than a changed name is cached for (one second): the view
	# is the checkpoint's, the kernel asks nothing again.
	sleep 1.5
	stat "$o" "$MNT/by-name/b" >/dev/null
	[ "$(grep -c 'opcode: LOOKUP' "$CKPTFS_LOG")" = "$n" ]
	# A new name is asked for again after that second.
	mkdir "$MNT/by-name/new"
	stat "$MNT/by-name/new" >/dev/null
	n=$(grep -c 'opcode: LOOKUP' "$CKPTFS_LOG")
	sleep 1.5
	stat "$MNT/by-name/new" >/dev/null
	[ "$(grep -c 'opcode: LOOKUP' "$CKPTFS_LOG")" -gt "$n" ]
}

@test "tf2: the checkpoint keys, split at '/'" {
	mount_ckpt "$(fixture tf2)"
	run -0 tree_of "$MNT/by-object"
	assert_output - <<'EOF'
.
./_CHECKPOINTABLE_OBJECT_GRAPH
./model
./model/extra
./model/extra/0
./model/extra/0/.ATTRIBUTES
./model/extra/0/.ATTRIBUTES/VARIABLE_VALUE
./model/extra/1
./model/extra/1/.ATTRIBUTES
./model/extra/1/.ATTRIBUTES/VARIABLE_VALUE
./model/layers
./model/layers/0
./model/layers/0/bias
./model/layers/0/bias/.ATTRIBUTES
./model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE
./model/layers/0/kernel
./model/layers/0/kernel/.ATTRIBUTES
./model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE
./model/layers/0/kernel/.OPTIMIZER_SLOT
./model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer
./model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m
./model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES
./model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE
./model/layers/1
./model/layers/1/kernel
./model/layers/1/kernel/.ATTRIBUTES
./model/layers/1/kernel/.ATTRIBUTES/VARIABLE_VALUE
./model/named
./model/named/scoped.Sx..y
./model/named/scoped.Sx..y/.ATTRIBUTES
./model/named/scoped.Sx..y/.ATTRIBUTES/VARIABLE_VALUE
./model/nameless
./model/nameless/.ATTRIBUTES
./model/nameless/.ATTRIBUTES/VARIABLE_VALUE
./optimizer
./optimizer/iter
./optimizer/iter/.ATTRIBUTES
./optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE
./save_counter
./save_counter/.ATTRIBUTES
./save_counter/.ATTRIBUTES/VARIABLE_VALUE
EOF
	run -0 check_both_views
	assert_output 10
	[ "$(stat -c %h "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH")" = 1 ]
	[ "$(xattr "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH" user.ckpt.dtype)" = string ]
}

@test "every generated checkpoint: one inode per tensor in both views" {
	local k
	for k in strings partitioned shards oddnames dtypes tf2list; do
		mount_ckpt "$(fixture "$k")"
		run -0 check_both_views
		[ "$output" -gt 2 ] || fail "$k: only $output tensors"
		unmount_ckpt
	done
}

@test "two mounts of the same checkpoint: diff -r equal, inodes stable" {
	local a ino
	mount_ckpt "$(fixture tf2)"
	a=$MNT
	mount_ckpt "$(fixture tf2)"
	diff -r -x info.json "$a" "$MNT"
	ino=$(stat -c %i "$a/by-name/dense/kernel")
	cat "$a"/by-name/dense/kernel >/dev/null
	ls -lR "$a" >/dev/null
	[ "$(stat -c %i "$a/by-name/dense/kernel")" = "$ino" ]
	[ "$(stat -c %i "$MNT/by-name/dense/kernel")" = "$ino" ]
}

@test "a damaged tensor: EIO on that file in both views, one log line" {
	local d off
	d=$BATS_TEST_TMPDIR/damaged
	mkdir -p "$d"
	cp "$(fixture tf1)".* "$d/"
	# global_step = 42 (int64): the only 2a 00 00 00 00 00 00 00 in the shard
	off=$(grep -obUaP '\x2a\x00\x00\x00\x00\x00\x00\x00' \
		"$d/ckpt.data-00000-of-00001" | head -1 | cut -d: -f1)
	[ -n "$off" ]
	printf '\x2b' | dd of="$d/ckpt.data-00000-of-00001" bs=1 seek="$off" \
		conv=notrunc status=none
	mount_ckpt "$d/ckpt"
	run -1 cat "$MNT/by-name/global_step"
	assert_output --partial "Input/output error"
	run -1 cat "$MNT/by-object/vars/global_step/.ATTRIBUTES/VARIABLE_VALUE"
	run -1 cat "$MNT/by-name/global_step"
	[ "$(values "$MNT/by-name/dense/kernel" f4)" = "0 1 2 3 4 5" ]
	[ "$(values "$MNT/by-name/a" f4)" = 1 ]
	[ "$(stat -c %s "$MNT/by-name/global_step")" = 8 ]
	run -0 cat "$CKPTFS_LOG"
	assert_output --regexp '^ckptfs: .*global_step'
	[ "${#lines[@]}" -eq 1 ]
}

@test "a big checkpoint mounts and lists quickly" {
	local p t0 t1
	p=$(fixture big --tensors 20000 --bytes 4000000)
	t0=$(date +%s%N)
	mount_ckpt "$p"
	run -0 find "$MNT/by-name" -type f
	[ "${#lines[@]}" -eq 20000 ]
	t1=$(date +%s%N)
	echo "# mount + find of 20000 tensors: $(((t1 - t0) / 1000000)) ms" >&3
	[ $(((t1 - t0) / 1000000)) -lt 30000 ]
}

@test "a large tensor reads back byte for byte, as stored in the shard" {
	local p big key off
	p=$(fixture big --tensors 10 --bytes 64000000)
	mount_ckpt "$p"
	big=$(find "$MNT/by-name" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
	[ "$(stat -c %s "$big")" -gt 10000000 ]
	key=$(xattr "$big" user.ckpt.key)
	command -v "$CKPT_INSPECT" >/dev/null || skip "ckpt-inspect not built"
	off=$("$CKPT_INSPECT" -j "$p" "$key" | grep -o '"offset":[0-9]*' | cut -d: -f2)
	[ -n "$off" ]
	dd if="$p.data-00000-of-00001" iflag=skip_bytes,count_bytes skip="$off" \
		count="$(stat -c %s "$big")" status=none | cmp - "$big"
	# odd offsets and sizes, and the other view
	cmp <(dd if="$big" bs=4099 skip=7 count=300 status=none) \
		<(dd if="$p.data-00000-of-00001" iflag=skip_bytes,count_bytes \
			skip=$((off + 7 * 4099)) count=$((300 * 4099)) status=none)
	cmp "$big" "$(find "$MNT/by-object" -inum "$(stat -c %i "$big")" -print -quit)"
}
