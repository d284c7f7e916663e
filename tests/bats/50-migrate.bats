#!/usr/bin/env bats
# Covers: src/overlay.c, src/ckptfs.c (write-out), src/convert.c.
# TensorFlow's checkpoint migration guide as file operations, each
# checked in the written checkpoint with ckpt-inspect: TF1 -> TF2, TF2 ->
# TF1, an assignment map via mkdir + mv, renaming a scope, deleting
# slots, replacing values with cp, converting with cp -a into by-object,
# the Estimator warm-start layout, and byte-identical rewrites of every
# real TensorFlow checkpoint with -o format=same.

load helpers

setup() {
	require_fuse
	command -v jq >/dev/null || skip "jq not installed"
	T=$BATS_TEST_TMPDIR
}

@test "TF1 -> TF2: a, b, scoped/c become vars/a, vars/b, vars/scoped.Sc" {
	mount_ckpt "$(fixture tf1)" -o output="$T/new"
	finish
	[ "$(val "$T/new" 'vars/a/.ATTRIBUTES/VARIABLE_VALUE')" = 1 ]
	[ "$(val "$T/new" 'vars/b/.ATTRIBUTES/VARIABLE_VALUE')" = 2 ]
	[ "$(val "$T/new" 'vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE')" = 3 ]
	[ "$(val "$T/new" 'save_counter/.ATTRIBUTES/VARIABLE_VALUE')" = 1 ]
	run -0 "$CKPT_INSPECT" -g "$T/new"
	assert_output --partial "child scoped/c -> node"
	assert_output --partial "full_name scoped/c  checkpoint_key vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE"
	run -0 "$CKPT_INSPECT" --verify "$T/new"
}

@test "TF2 -> TF1 -> TF2 keeps save_counter's value, at the root, once" {
	mount_ckpt "$(fixture tf2list)" -o output="$T/v1"
	printf '\x05\0\0\0\0\0\0\0' >"$MNT/by-object/save_counter/.ATTRIBUTES/VARIABLE_VALUE"
	finish
	[ "$(val "$T/v1" save_counter)" = 5 ]
	# TF1: by-object shows it where tf.train.Checkpoint keeps it
	mount_ckpt "$T/v1" -o output="$T/v2"
	[ "$(ls "$MNT/by-object")" = "$(printf 'save_counter\nvars')" ]
	cmp "$MNT/by-name/save_counter" "$MNT/by-object/save_counter/.ATTRIBUTES/VARIABLE_VALUE"
	[ ! -e "$MNT/by-object/vars/save_counter" ]
	finish
	run -0 keys "$T/v2"
	assert_output - <<'EOF'
_CHECKPOINTABLE_OBJECT_GRAPH
save_counter/.ATTRIBUTES/VARIABLE_VALUE
vars/a/.ATTRIBUTES/VARIABLE_VALUE
vars/b/.ATTRIBUTES/VARIABLE_VALUE
vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE
EOF
	[ "$(val "$T/v2" save_counter/.ATTRIBUTES/VARIABLE_VALUE)" = 5 ]
	run -0 "$CKPT_INSPECT" -g "$T/v2"
	[ "$(grep -c 'full_name save_counter ' <<<"$output")" = 1 ]
	# a counter TensorFlow would refuse, and a root that is the counter
	mount_ckpt "$T/v1" -o output="$T/v3"
	setfattr -n user.ckpt.dtype -v float64 "$MNT/by-name/save_counter"
	run -1 timeout 120 "$CKPTFS" -u "$MNT"
	assert_output --partial "by-object/save_counter/.ATTRIBUTES/VARIABLE_VALUE: tf.train.Checkpoint's save_counter must be int64 []; rename it"
	unset 'CKPTFS_MNTS[-1]' 'CKPTFS_PIDS[-1]' 'CKPTFS_LOGS[-1]'
	mkdir "$T/m"
	run -1 timeout 20 "$CKPTFS" -o tf2_root=save_counter "$T/v1" "$T/m"
	assert_output "ckptfs: tf2_root=save_counter: the name of tf.train.Checkpoint's own counter; choose another"
	# roots no TF2 key can hold (the mount came up, every tensor was
	# refused at the write-out)
	for r in .ATTRIBUTES .OPTIMIZER_SLOT; do
		run -1 timeout 20 "$CKPTFS" -o tf2_root="$r" "$T/v1" "$T/m"
		assert_output "ckptfs: tf2_root=$r: a name TensorFlow's keys reserve; choose another"
	done
	run -1 timeout 20 "$CKPTFS" -o tf2_root="$(printf 'v\377')" "$T/v1" "$T/m"
	assert_output --partial ": not valid UTF-8; choose another"
	run ! mountpoint -q "$T/m"
}

@test "TF2 -> TF1: Checkpoint(var_list={...}) becomes a, b, scoped/c" {
	mount_ckpt "$(fixture tf2list)" -o output="$T/v1"
	rm "$MNT/by-name/save_counter"	# tf.train.Checkpoint's own counter
	finish
	run -0 keys "$T/v1"
	assert_output - <<'EOF'
a
b
scoped/c
EOF
	[ "$(val "$T/v1" a)" = 1 ]
	[ "$(val "$T/v1" b)" = 2 ]
	[ "$(val "$T/v1" scoped/c)" = 3 ]
}

@test "TF2 full names that repeat get new names that no other variable has" {
	# Two eager variables made without names (Variable, Variable) and
	# one named Variable_1: the second became Variable_1 and took the
	# third's name (TF1 name-based restore then read 2 for it).
	mount_ckpt "$(fixture tf2dup)" -o output="$T/v1"
	run -0 ls "$MNT/by-name"
	assert_output "$(printf 'Variable\nVariable_1\nVariable_2\nmodel')"
	[ "$(xattr "$MNT/by-name/Variable_1" user.ckpt.key)" = c/.ATTRIBUTES/VARIABLE_VALUE ]
	finish
	[ "$(val "$T/v1" Variable)" = 1 ]
	[ "$(val "$T/v1" Variable_1)" = 3 ]
	[ "$(val "$T/v1" Variable_2)" = 2 ]
	# An edit of the graph keeps Variable_1 the unique name it is.
	mount_ckpt "$(fixture tf2dup)" -o format=same,output="$T/v2"
	mv "$MNT/by-object/a" "$MNT/by-object/a2"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/v2"
	assert_output --partial "full_name Variable_1  checkpoint_key c/.ATTRIBUTES/VARIABLE_VALUE"
	assert_output --partial "full_name Variable_2  checkpoint_key b/.ATTRIBUTES/VARIABLE_VALUE"
}

@test "TF2: a hash table saved as two tensors of one attribute keeps it; TF1 names them as Saver does" {
	# MutableHashTable saves its keys and values under its attribute's
	# key followed by -keys and -values: the key itself names no tensor.
	# That was taken for a graph naming a key the checkpoint lacks: the
	# mount warned, and a TF2 write-out gave the tensors attributes of
	# their own, which TensorFlow leaves unused (the table restored
	# empty).
	local fx
	fx=$(fixture tf2table)
	run -0 "$CKPT_INSPECT" --verify "$fx"
	assert_output "6 tensors verified, 0 damaged"
	mount_ckpt "$fx" -o format=same,output="$T/same"
	run ! grep -q "does not hold" "$CKPTFS_LOG"
	run -0 ls "$MNT/by-name"
	assert_output "$(printf 'hash_table-keys\nhash_table-values\nhash_table_x\nsave_counter\nv')"
	[ "$(xattr "$MNT/by-name/hash_table-keys" user.ckpt.key)" = table/.ATTRIBUTES/table-keys ]
	finish
	cmp "$fx.index" "$T/same.index"
	# An edit of the graph (v renamed) keeps the table's attribute.
	mount_ckpt "$fx" -o format=same,output="$T/e"
	mv "$MNT/by-object/v" "$MNT/by-object/w"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/e"
	assert_output --partial "attribute table  full_name hash_table  checkpoint_key table/.ATTRIBUTES/table"$'\n'
	assert_output --partial "attribute table_x  full_name hash_table_x  checkpoint_key table/.ATTRIBUTES/table_x"
	refute_output --partial "attribute table-keys"
	# TF1: a table named hash_table is saved as hash_table-keys and
	# hash_table-values.
	mount_ckpt "$T/e" -o format=tf1,output="$T/t1"
	finish
	run -0 keys "$T/t1"
	assert_output "$(printf 'hash_table-keys\nhash_table-values\nhash_table_x\nsave_counter\nv')"
	[ "$(val "$T/t1" hash_table-values)" = "[10,20,30]" ]
	[ "$(val "$T/t1" hash_table-keys)" = "[1,2,3]" ]
	# Renamed alike, the attribute takes the name; one renamed alone
	# cannot be so named (the rename was lost).
	mount_ckpt "$fx" -o format=same,output="$T/both"
	mv "$MNT/by-name/hash_table-keys" "$MNT/by-name/lookup-keys"
	mv "$MNT/by-name/hash_table-values" "$MNT/by-name/lookup-values"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/both"
	assert_output --partial "attribute table  full_name lookup  checkpoint_key table/.ATTRIBUTES/table"$'\n'
	mount_ckpt "$fx" -o format=same,output="$T/one"
	mv "$MNT/by-name/hash_table-keys" "$MNT/by-name/foo"
	finish_fails
	assert_output --partial 'object graph: the tensors of key "table/.ATTRIBUTES/table" (a saveable of several, as a hash table: their keys are it followed by more) have one full name, but that of "table/.ATTRIBUTES/table-keys" is "foo"'
	[ ! -e "$T/one.index" ]
	# The table's object renamed: its attribute goes with it (it was
	# split into one attribute per tensor), table_x keeps its own.
	mount_ckpt "$fx" -o format=same,output="$T/moved"
	mv "$MNT/by-object/table" "$MNT/by-object/tbl"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/moved"
	assert_output --partial "attribute table  full_name hash_table  checkpoint_key tbl/.ATTRIBUTES/table"$'\n'
	assert_output --partial "attribute table_x  full_name hash_table_x  checkpoint_key tbl/.ATTRIBUTES/table_x"
	refute_output --partial "attribute table-keys"
	# and its tensors renamed alike in by-name too: the name as well;
	# renamed apart, refused as in place
	mount_ckpt "$fx" -o format=same,output="$T/moved2"
	mv "$MNT/by-object/table" "$MNT/by-object/tbl"
	mv "$MNT/by-name/hash_table-keys" "$MNT/by-name/newname-keys"
	mv "$MNT/by-name/hash_table-values" "$MNT/by-name/newname-values"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/moved2"
	assert_output --partial "attribute table  full_name newname  checkpoint_key tbl/.ATTRIBUTES/table"$'\n'
	refute_output --partial "attribute table-keys"
	mount_ckpt "$fx" -o format=same,output="$T/moved3"
	mv "$MNT/by-object/table" "$MNT/by-object/tbl"
	mv "$MNT/by-name/hash_table-keys" "$MNT/by-name/newname-keys"
	finish_fails
	assert_output --partial 'object graph: the tensors of key "tbl/.ATTRIBUTES/table" (a saveable of several'
	# A copy of the table's object holds a table too: one attribute
	# for its two tensors (it got one for each, which TensorFlow does
	# not restore a table from)
	mount_ckpt "$fx" -o format=same,output="$T/copied"
	cp -a "$MNT/by-object/table" "$MNT/by-object/tcopy"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/copied"
	assert_output --partial "checkpoint_key tcopy/.ATTRIBUTES/table"$'\n'
	assert_output --partial "checkpoint_key tcopy/.ATTRIBUTES/table_x"
	refute_output --partial "attribute table-keys"
	[ "$(val "$T/copied" tcopy/.ATTRIBUTES/table-values)" = "[10,20,30]" ]
	# the graph removed, built anew: one attribute for the two too
	mount_ckpt "$fx" -o format=same,output="$T/anew"
	rm "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/anew"
	assert_output --partial "attribute table  full_name hash_table  checkpoint_key table/.ATTRIBUTES/table"$'\n'
	refute_output --partial "attribute table-keys"
}

@test "TF2: a hash table with one of its two tensors removed is refused; both removed, its attribute goes" {
	local fx
	fx=$(fixture tf2table)
	# TensorFlow's restore of the table then fails (NotFound): refused
	# at the write-out instead, nothing lost
	mount_ckpt "$fx" -o format=same,output="$T/half"
	rm "$MNT/by-name/hash_table-values"
	finish_fails
	assert_output --partial 'object graph: "table/.ATTRIBUTES/table-keys" is written without "table/.ATTRIBUTES/table-values": a hash table is saved as both (the attribute of key "table/.ATTRIBUTES/table"), and TensorFlow restores it from both or fails; put the other back, or remove this one too'
	[ ! -e "$T/half.index" ]
	mount_ckpt "$fx" -o format=same,output="$T/half",spool="$T/half.ckptfs-spool"
	[ ! -e "$MNT/by-name/hash_table-values" ]
	rm "$MNT/by-name/hash_table-keys"
	finish
	run -0 "$CKPT_INSPECT" -g "$T/half"
	refute_output --partial "attribute table "
	assert_output --partial "attribute table_x  full_name hash_table_x"
	run -0 keys "$T/half"
	refute_output --partial "table-"
}

@test "TF1 out: a hash table with one of its two tensors removed or renamed alone is refused" {
	local fx
	fx=$(fixture tf2table)
	# TensorFlow's Saver restores the table hash_table from
	# hash_table-keys and hash_table-values, or fails (NotFound)
	mount_ckpt "$fx" -o output="$T/t1"
	rm "$MNT/by-name/hash_table-values"
	finish_fails
	assert_output --partial "by-name/hash_table-keys: one of a hash table's two tensors, written without the other, hash_table-values (TensorFlow's Saver restores a table from both or fails); put it back, or remove this one too"
	[ ! -e "$T/t1.index" ]
	mount_ckpt "$fx" -o output="$T/t1",spool="$T/t1.ckptfs-spool"
	rm "$MNT/by-name/hash_table-keys"
	finish
	run -0 keys "$T/t1"
	assert_output "$(printf 'hash_table_x\nsave_counter\nv')"
	# A TF1 source: a pair of names so, as many rows each, is a table.
	mount_ckpt "$fx" -o output="$T/src"
	finish
	mount_ckpt "$T/src" -o format=same,output="$T/one"
	mv "$MNT/by-name/hash_table-keys" "$MNT/by-name/lookup-keys"
	finish_fails
	assert_output --partial "by-name/hash_table-values: one of a hash table's two tensors, written without the other, hash_table-keys"
	assert_output --partial "1 more tensor refused: by-name/lookup-keys"
	[ ! -e "$T/one.index" ]
	mount_ckpt "$T/src" -o format=same,output="$T/one",spool="$T/one.ckptfs-spool"
	mv "$MNT/by-name/hash_table-values" "$MNT/by-name/lookup-values"
	finish
	run -0 keys "$T/one"
	assert_output "$(printf 'hash_table_x\nlookup-keys\nlookup-values\nsave_counter\nv')"
	# A file saved over one half keeps it a table's.
	mount_ckpt "$T/src" -o format=same,output="$T/ed"
	cp "$MNT/by-name/hash_table-keys" "$T/k"
	rm "$MNT/by-name/hash_table-keys" "$MNT/by-name/hash_table-values"
	cp "$T/k" "$MNT/by-name/hash_table-keys"
	setfattr -n user.ckpt.dtype -v int64 "$MNT/by-name/hash_table-keys"
	finish_fails
	assert_output --partial "by-name/hash_table-keys: one of a hash table's two tensors, written without the other, hash_table-values"
	# A name so that is no table's is left alone, and so is a pair
	# whose keys are of no dtype tables take for keys (float32).
	mount_ckpt "$T/src" -o format=same,output="$T/nt"
	printf '\007\0\0\0\0\0\0\0' >"$MNT/by-name/x-keys"
	setfattr -n user.ckpt.dtype -v int64 "$MNT/by-name/x-keys"
	cp "$MNT/by-name/hash_table-values" "$MNT/by-name/emb-keys"
	cp "$MNT/by-name/hash_table-values" "$MNT/by-name/emb-values"
	finish
	[ "$(val "$T/nt" x-keys)" = "[7]" ]
	mount_ckpt "$T/nt" -o format=same,output="$T/nt2"
	rm "$MNT/by-name/emb-values"
	finish
	run -0 keys "$T/nt2"
	assert_line emb-keys
	# One refused for its own reason (damaged) leaves its partner be:
	# only it is named.
	cp "$T/src.index" "$T/dmg.index"
	cp "$T/src.data-00000-of-00001" "$T/dmg.data-00000-of-00001"
	local off
	off=$("$CKPT_INSPECT" -j "$T/dmg" hash_table-keys | jq .offset)
	printf '\377' | dd of="$T/dmg.data-00000-of-00001" bs=1 seek="$off" conv=notrunc status=none
	mount_ckpt "$T/dmg" -o format=same,verify,output="$T/own"
	finish_fails
	assert_output --partial "by-name/hash_table-keys: damaged in the source checkpoint"
	refute_output --partial "one of a hash table's two tensors"
	refute_output --partial "more tensor"
}

@test "TF2: a graph built anew gets a save_counter only when the source had one" {
	# tf2dup has none (as a Keras model's save_weights() writes it,
	# whose root is the model): its graph removed is built without one,
	# edited without one, and so is one of a key through a second name.
	mount_ckpt "$(fixture tf2dup)" -o format=same,output="$T/v"
	rm "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH"
	finish
	run -0 keys "$T/v"
	assert_output "$(printf '%s/.ATTRIBUTES/VARIABLE_VALUE\n' \
		a b c model/w | sed '1i _CHECKPOINTABLE_OBJECT_GRAPH')"
	run -0 "$CKPT_INSPECT" -g "$T/v"
	refute_output --partial save_counter
	mount_ckpt "$(fixture tf2dup)" -o format=same,output="$T/v2"
	mv "$MNT/by-object/a" "$MNT/by-object/a2"
	finish
	run -0 keys "$T/v2"
	refute_output --partial save_counter
	# tf2 has one: built anew, it keeps one
	mount_ckpt "$(fixture tf2)" -o format=same,output="$T/v3"
	rm "$MNT/by-object/_CHECKPOINTABLE_OBJECT_GRAPH" \
		"$MNT/by-object/save_counter/.ATTRIBUTES/VARIABLE_VALUE"
	finish
	[ "$(val "$T/v3" save_counter/.ATTRIBUTES/VARIABLE_VALUE)" = 1 ]
}

@test "TF2: a name by-object/ does not show, an object that holds others, is taken" {
	# tf2dup has objects without values that hold others, as a
	# SavedModel's signatures and functions: a variable renamed or made
	# there was given to that object, whose restore found no variable.
	mount_ckpt "$(fixture tf2dup)" -o format=same,output="$T/v"
	local m=$MNT/by-object
	[ ! -e "$m/signatures" ] && [ ! -e "$m/model/sig" ]
	run -1 mkdir "$m/signatures"
	assert_output --partial "File exists"
	run -1 mkdir "$m/sigs2"	# the same object by its second name
	run -1 bash -c 'printf x >"$1"' - "$m/model/sig"
	assert_output --partial "File exists"
	run -1 mv "$m/a" "$m/signatures"
	# a directory renamed where a name inside it would be one
	mkdir -p "$m/tmp/sig" "$m/tmp2"
	rm -r "$m/model"
	run -1 mv "$m/tmp" "$m/model"
	mv "$m/tmp2" "$m/model"	# holding nothing of the kind
	run -1 mv -T "$m/tmp" "$m/model"	# over an empty directory
	rm -r "$m/tmp"
	# A leaf without values may be a variable an earlier edit removed:
	# it takes one (as asset does here).
	mv "$m/a" "$m/asset"
	mv "$m/b" "$m/b2"	# a name no object has
	finish
	run -0 "$CKPT_INSPECT" -g "$T/v"
	assert_output --partial "$(printf 'node 6  asset\n  attribute VARIABLE_VALUE')"
	assert_output --partial "checkpoint_key b2/.ATTRIBUTES/VARIABLE_VALUE"
	refute_output --partial "checkpoint_key signatures/"
	refute_output --partial "checkpoint_key model/sig"
	# A variable removed and written out, put back in the next mount
	mount_ckpt "$(fixture tf2)" -o format=same,output="$T/h2"
	rm "$MNT/by-object/model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE"
	finish
	mount_ckpt "$T/h2" -o format=same,output="$T/h3"
	mkdir -p "$MNT/by-object/model/layers/0/bias/.ATTRIBUTES"
	local f=$MNT/by-object/model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE
	printf '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40' >"$f"
	setfattr -n user.ckpt.dtype -v float32 "$f"
	finish
	[ "$(val "$T/h3" model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE)" = "[1,2,3]" ]
	run -0 "$CKPT_INSPECT" -g "$T/h3"
	assert_output --partial "$(printf 'node 14  model/layers/0/bias\n  attribute VARIABLE_VALUE')"
}

@test "assignment map {'/': 'new_scope/'}: mkdir + mv" {
	local n
	mount_ckpt "$(fixture tf1)" -o format=tf1,output="$T/out"
	mkdir "$MNT/by-name/new_scope"
	for n in "$MNT"/by-name/*; do
		[ "$n" = "$MNT/by-name/new_scope" ] || mv "$n" "$MNT/by-name/new_scope/"
	done
	finish
	run -0 keys "$T/out"
	[ "${#lines[@]}" -eq 10 ]
	run -1 grep -v '^new_scope/' <<<"$output"
	[ "$(val "$T/out" new_scope/dense/kernel/Adam)" = "[[0,0.5,1],[1.5,2,2.5]]" ]
	[ "$(val "$T/out" new_scope/global_step)" = 42 ]
}

@test "rename a scope with mv; delete optimizer slots with rm" {
	mount_ckpt "$(fixture tf1)" -o format=tf1,output="$T/out"
	mv "$MNT/by-name/dense" "$MNT/by-name/net"
	rm -r "$MNT/by-name/net/kernel@" "$MNT/by-name/net/bias@"
	finish
	run -0 keys "$T/out"
	assert_output - <<'EOF'
a
b
global_step
net/bias
net/kernel
scoped/c
EOF
	[ "$(val "$T/out" net/kernel)" = "[[0,1,2],[3,4,5]]" ]
}

@test "replace one tensor's values with cp" {
	mount_ckpt "$(fixture tf1)" -o format=tf1,output="$T/out"
	printf '\x00\x00\x80\x40\x00\x00\xa0\x40\x00\x00\xc0\x40' >"$T/bias.bin"
	cp "$T/bias.bin" "$MNT/by-name/dense/bias"
	finish
	[ "$(val "$T/out" dense/bias)" = "[4,5,6]" ]
	[ "$(meta "$T/out" dense/bias)" = "float32 [3]" ]
	[ "$(val "$T/out" dense/kernel)" = "[[0,1,2],[3,4,5]]" ]
}

@test "convert by copying: cp -a by-name/. by-object/net/ adds object paths" {
	mount_ckpt "$(fixture tf1)" -o format=tf2,output="$T/out"
	run -0 cp -a "$MNT/by-name/." "$MNT/by-object/net/"
	assert_output ""
	# On a TF1 mount this is a second set: net/... beside vars/...
	[ "$(values "$MNT/by-name/net/scoped/c" f4)" = 3 ]
	finish
	[ "$(val "$T/out" 'net/scoped/c/.ATTRIBUTES/VARIABLE_VALUE')" = 3 ]
	[ "$(meta "$T/out" 'net/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE')" = "float32 [2,3]" ]
	[ "$(val "$T/out" 'net/dense/kernel/Adam/.ATTRIBUTES/VARIABLE_VALUE')" = "[[0,0.5,1],[1.5,2,2.5]]" ]
	[ "$(meta "$T/out" 'net/global_step/.ATTRIBUTES/VARIABLE_VALUE')" = "int64 []" ]
	[ "$(val "$T/out" 'vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE')" = 3 ]
	run -0 "$CKPT_INSPECT" -g "$T/out"
	assert_output --partial "full_name net/dense/kernel/Adam"
}

@test "Estimator warm-start: var + global_step as var_list/var and step" {
	mount_ckpt "$(fixture tf1)" -o tf2_root=var_list,output="$T/ws"
	mv "$MNT/by-name/a" "$MNT/by-name/var"
	rm -r "$MNT/by-name/b" "$MNT/by-name/dense" "$MNT/by-name/scoped"
	mv "$MNT/by-object/var_list/global_step" "$MNT/by-object/step"
	[ "$(values "$MNT/by-name/step" d8)" = 42 ]
	finish
	run -0 keys "$T/ws"
	assert_output - <<'EOF'
_CHECKPOINTABLE_OBJECT_GRAPH
save_counter/.ATTRIBUTES/VARIABLE_VALUE
step/.ATTRIBUTES/VARIABLE_VALUE
var_list/var/.ATTRIBUTES/VARIABLE_VALUE
EOF
	[ "$(val "$T/ws" 'var_list/var/.ATTRIBUTES/VARIABLE_VALUE')" = 1 ]
	[ "$(meta "$T/ws" 'step/.ATTRIBUTES/VARIABLE_VALUE')" = "int64 []" ]
	[ "$(val "$T/ws" 'step/.ATTRIBUTES/VARIABLE_VALUE')" = 42 ]
}

@test "every real checkpoint written back unchanged is byte-identical" {
	local idx p base n=0 f
	require_realdata
	for idx in "$RD"/*.index; do
		p=${idx%.index}
		base=$(basename "$p")
		mount_ckpt "$p" -o format=same,output="$T/$base"
		finish
		unmount_ckpt
		cmp "$p.index" "$T/$base.index"
		for f in "$p".data-*; do
			cmp "$f" "$T/$base${f#"$p"}"
		done
		n=$((n + 1))
	done
	echo "# $n checkpoints byte-identical" >&3
	[ "$n" -gt 0 ]
}

@test "a checkpoint of three shards written back unchanged is byte-identical" {
	local p f
	p=$(fixture shards)
	mount_ckpt "$p" -o format=same,output="$T/s"
	finish
	cmp "$p.index" "$T/s.index"
	for f in "$p".data-*; do
		cmp "$f" "$T/s${f#"$p"}"
	done
	[ "$(ls "$T" | grep -c '^s\.data-0000[0-2]-of-00003$')" = 3 ]
}

@test "a snappy index converted, or changed, is written uncompressed" {
	local p
	require_realdata
	p=$RD/saved_model_half_plus_two_cpu_variables
	run -0 "$CKPT_INSPECT" --header "$p"
	assert_line --partial "snappy"
	mount_ckpt "$p" -o format=tf2,output="$T/conv"
	finish
	unmount_ckpt
	run -0 "$CKPT_INSPECT" --header "$T/conv"
	refute_output --partial "snappy"
	run -0 "$CKPT_INSPECT" --verify "$T/conv"
	mount_ckpt "$p" -o format=same,output="$T/same"
	printf '\x00\x00\x80\x3f' >"$MNT/by-name/a"
	finish
	run -0 "$CKPT_INSPECT" --header "$T/same"
	refute_output --partial "snappy"
	[ "$(val "$T/same" a)" = 1 ]
	[ "$(val "$T/same" b)" = 2 ]
}

@test "a partitioned tensor changed through the mount is written whole" {
	mount_ckpt "$(fixture partitioned)" -o format=tf1,output="$T/out"
	printf '\x00\x00\x00\x00' | dd of="$MNT/by-name/v" bs=4 seek=23 conv=notrunc status=none
	finish
	[ "$(meta "$T/out" v)" = "float32 [4,6]" ]
	[ "$(val "$T/out" v | jq -c '.[3]')" = "[118,119,120,121,122,0]" ]
	[ "$(val "$T/out" w | jq -c '.[9]')" = "[36,37,38,39]" ]
}

@test "a partitioned tensor of half or uint64 changed keeps its slices: TensorFlow restores those dtypes from no other" {
	local k slices
	slices() { "$CKPT_INSPECT" --json "$1" "$2" | jq -c '[.parts[] | .slice]'; }
	mount_ckpt "$(fixture parthalf)" -o format=tf2,output="$T/out"
	# h[9][3] = 2.0 (half 0x4000); u[3][5] = 7 (a cut on dim 1: gathered
	# from rows of the whole); f changed too, written whole
	printf '\x00\x40' | dd of="$MNT/by-name/h" bs=2 seek=39 conv=notrunc status=none
	printf '\x07' | dd of="$MNT/by-name/u" bs=8 seek=23 conv=notrunc status=none
	printf '\x00\x00\x80\x3f' | dd of="$MNT/by-name/f" bs=4 conv=notrunc status=none
	finish
	run -0 "$CKPT_INSPECT" --verify "$T/out"
	k=vars/h/.ATTRIBUTES/VARIABLE_VALUE
	[ "$(slices "$T/out" $k)" = '[[[0,5],[0,4]],[[5,5],[0,4]]]' ]
	[ "$(val "$T/out" $k | jq -c '.[9]')" = "[36,37,38,2]" ]
	[ "$(val "$T/out" $k | jq -c '.[0]')" = "[0,1,2,3]" ]
	k=vars/u/.ATTRIBUTES/VARIABLE_VALUE
	[ "$(slices "$T/out" $k)" = '[[[0,4],[0,3]],[[0,4],[3,3]]]' ]
	[ "$(val "$T/out" $k)" = '[[100,101,102,103,104,105],[106,107,108,109,110,111],[112,113,114,115,116,117],[118,119,120,121,122,7]]' ]
	k=vars/f/.ATTRIBUTES/VARIABLE_VALUE
	[ "$("$CKPT_INSPECT" --json "$T/out" $k | jq -c .parts)" = null ]
	[ "$(val "$T/out" $k)" = '[1,1,2,3]' ]
	# Back to TF1, u's bytes given in the other byte order: converted as
	# its parts are gathered.
	mount_ckpt "$T/out" -o format=tf1,output="$T/back"
	od -An -v -tx8 --endian=little "$MNT/by-name/u" | tr -d ' \n' | xxd -r -p >"$T/u.be"
	cp "$T/u.be" "$MNT/by-name/u"
	setfattr -n user.ckpt.byteorder -v big "$MNT/by-name/u"
	finish
	run -0 "$CKPT_INSPECT" --verify "$T/back"
	[ "$(slices "$T/back" u)" = '[[[0,4],[0,3]],[[0,4],[3,3]]]' ]
	[ "$(val "$T/back" u)" = "$(val "$T/out" vars/u/.ATTRIBUTES/VARIABLE_VALUE)" ]
}

@test "a partitioned string tensor keeps its slices, changed or not" {
	local k slices
	slices() { "$CKPT_INSPECT" --json "$1" "$2" | jq -c '[.parts[] | [.slice, .crc32c]]'; }
	mount_ckpt "$(fixture partstrings)" -o format=tf2,output="$T/out"
	# vocab[0] "the" -> "The"; s unchanged
	printf T | dd of="$MNT/by-name/vocab" bs=1 seek=9 conv=notrunc status=none
	finish
	run -0 "$CKPT_INSPECT" --verify "$T/out"
	k=vars/vocab/.ATTRIBUTES/VARIABLE_VALUE
	[ "$(val "$T/out" $k)" = '["The","","of","and","x"]' ]
	[ "$("$CKPT_INSPECT" --json "$T/out" $k | jq -c '[.parts[].slice]')" = '[[[0,3]],[[3,2]]]' ]
	# its second slice did not change
	[ "$(slices "$T/out" $k | jq -c '.[1]')" = "$(slices "$(fixture partstrings)" vocab | jq -c '.[1]')" ]
	k=vars/s/.ATTRIBUTES/VARIABLE_VALUE
	[ "$(slices "$T/out" $k)" = "$(slices "$(fixture partstrings)" s)" ]
	[ "$(val "$T/out" $k)" = "$(val "$T/out" vars/whole/.ATTRIBUTES/VARIABLE_VALUE)" ]
	# Back to TF1: s written over with its own bytes gets the same
	# slices; vocab given another shape is written whole.
	mount_ckpt "$T/out" -o format=tf1,output="$T/back"
	cp "$MNT/by-name/whole" "$MNT/by-name/s"
	setfattr -n user.ckpt.shape -v 5,1 "$MNT/by-name/vocab"
	finish
	run -0 "$CKPT_INSPECT" --verify "$T/back"
	[ "$(slices "$T/back" s)" = "$(slices "$(fixture partstrings)" s)" ]
	[ "$(meta "$T/back" vocab)" = "string [5,1]" ]
	[ "$("$CKPT_INSPECT" --json "$T/back" vocab | jq -c .parts)" = null ]
	[ "$(val "$T/back" vocab)" = '[["The"],[""],["of"],["and"],["x"]]' ]
}

@test "a file replacing a partitioned string tensor under its name gets its slices" {
	local a slices
	slices() { "$CKPT_INSPECT" --json "$1" "$2" | jq -c '[.parts[] | .slice]'; }
	mount_ckpt "$(fixture partstrings)" -o format=tf1,output="$T/out"
	# cp -a unlinks and creates (the file has two names); an editor
	# writes a new file and renames it over
	cp -a "$MNT/by-name/whole" "$T/x"
	cp -a "$T/x" "$MNT/by-name/s"
	a=$MNT/by-object/vars/vocab/.ATTRIBUTES
	{ printf '\x03\x00\x02\x03\x01'; tail -c +6 "$a/VARIABLE_VALUE" | head -c 4
	  printf 'Theofandx'; } >"$a/.new"
	setfattr -n user.ckpt.dtype -v string "$a/.new"
	setfattr -n user.ckpt.shape -v 5 "$a/.new"
	mv "$a/.new" "$a/VARIABLE_VALUE"
	finish
	run -0 "$CKPT_INSPECT" --verify "$T/out"
	[ "$(slices "$T/out" s)" = '[[[0,3],[0,1]],[[0,3],[1,1]]]' ]
	[ "$(val "$T/out" s)" = "$(val "$T/out" whole)" ]
	[ "$(slices "$T/out" vocab)" = '[[[0,3]],[[3,2]]]' ]
	[ "$(val "$T/out" vocab)" = '["The","","of","and","x"]' ]
	# the same from a TF2 source, by key
	mount_ckpt "$T/out" -o format=tf2,output="$T/back"
	# (the TF1 output is the source now: s is written there in slices)
	cp -a "$MNT/by-name/whole" "$T/y"
	cp -a "$T/y" "$MNT/by-name/s"
	finish
	mount_ckpt "$T/back" -o format=tf2,output="$T/again"
	cp -a "$MNT/by-object/vars/whole/.ATTRIBUTES/VARIABLE_VALUE" "$T/z"
	cp -a "$T/z" "$MNT/by-object/vars/s/.ATTRIBUTES/VARIABLE_VALUE"
	finish
	[ "$(slices "$T/again" vars/s/.ATTRIBUTES/VARIABLE_VALUE)" = '[[[0,3],[0,1]],[[0,3],[1,1]]]' ]
	[ "$(val "$T/again" vars/s/.ATTRIBUTES/VARIABLE_VALUE)" = "$(val "$T/out" whole)" ]
}

@test "cp -a of 1,000 tensors between views under ulimit -n 256" {
	local src pid nfd
	src=$(fixture big --tensors 1000 --bytes 64000)
	# The daemon alone gets the low limit (soft and hard, so raising the
	# soft limit at start cannot lift it).
	cat >"$T/ckptfs-lowfd" <<-WRAP
	#!/bin/sh
	ulimit -n 256 || exit 99
	exec "$CKPTFS" "\$@"
	WRAP
	chmod +x "$T/ckptfs-lowfd"
	CKPTFS=$T/ckptfs-lowfd mount_ckpt "$src" -o format=tf2,output="$T/out"
	pid=${CKPTFS_PIDS[0]}
	run -0 grep -E '^Max open files +256 +256 ' "/proc/$pid/limits"
	run -0 cp -a "$MNT/by-name/." "$MNT/by-object/vars/"
	assert_output ""
	# Spool files are closed with their last handle.
	nfd=$(find "/proc/$pid/fd" -mindepth 1 | wc -l)
	echo "# daemon fds after cp -a: $nfd" >&3
	[ "$nfd" -lt 64 ]
	[ "$(values "$MNT/by-object/vars/layer_7/dense/kernel" f4)" = \
		"$(values "$MNT/by-name/layer_7/dense/kernel" f4)" ]
	finish
	run -0 "$CKPT_INSPECT" --verify "$T/out"
	assert_output --partial "2002 tensors verified, 0 damaged"
	# The copies are new tensors beside the originals, same values.
	[ "$(val "$T/out" 'vars/layer_0/dense/bias/.ATTRIBUTES/VARIABLE_VALUE')" = \
		"$(val "$src" layer_0/dense/bias)" ]
	[ "$(val "$T/out" 'vars/layer_0/dense/bias/.ATTRIBUTES/VARIABLE_VALUE')" = \
		"[0,0.0010000000474974513,0.0020000000949949026,0.003000000026077032,0.004000000189989805,0.005000000353902578,0.006000000052154064,0.007000000216066837,0.00800000037997961,0.009000000543892384,0.010000000707805157,0.01100000087171793]" ]
	[ "$(val "$T/out" 'vars/layer_99/dense/kernel/Adam_1/.ATTRIBUTES/VARIABLE_VALUE')" = \
		"$(val "$src" layer_99/dense/kernel/Adam_1)" ]
	[ "$(val "$T/out" 'vars/embedding/embeddings/.ATTRIBUTES/VARIABLE_VALUE')" = \
		"$(val "$src" embedding/embeddings)" ]
	[ "$(meta "$T/out" 'vars/embedding/embeddings/.ATTRIBUTES/VARIABLE_VALUE')" = "float32 [4000]" ]
}

@test "a new output directory gets a checkpoint state file; others are left alone" {
	mkdir -p "$T/src" "$T/new" "$T/both" "$T/old"
	cp "$(fixture tf1)".* "$T/src/"
	mount_ckpt "$T/src/ckpt" -o output="$T/new/model.ckpt-42"
	finish
	run -0 cat "$T/new/checkpoint"
	assert_output - <<'EOF2'
model_checkpoint_path: "model.ckpt-42"
all_model_checkpoint_paths: "model.ckpt-42"
EOF2
	grep -q "wrote $T/new/checkpoint" "$CKPTFS_LOG"
	# The directory names the checkpoint, for ckptfs as for TensorFlow.
	run -0 "$CKPT_INSPECT" --verify "$T/new"
	assert_output "12 tensors verified, 0 damaged"
	mount_ckpt "$T/new" -o ro
	[ "$(values "$MNT/by-object/vars/a/.ATTRIBUTES/VARIABLE_VALUE" f4)" = 1 ]
	unmount_ckpt
	# Both formats: the TF2 one is the newest.
	mount_ckpt "$T/src/ckpt" -o format=both,output="$T/both/m"
	finish
	run -0 cat "$T/both/checkpoint"
	assert_output - <<'EOF2'
model_checkpoint_path: "m.tf2"
all_model_checkpoint_paths: "m.tf1"
all_model_checkpoint_paths: "m.tf2"
EOF2
	# A state file already there is not touched.
	printf 'model_checkpoint_path: "mine"\n' >"$T/old/checkpoint"
	mount_ckpt "$T/src/ckpt" -o output="$T/old/x"
	finish
	assert_output "ckptfs: note: $T/old/checkpoint is left as it is: tf.train.latest_checkpoint() of that directory finds the checkpoint it names, not x"
	[ "$(cat "$T/old/checkpoint")" = 'model_checkpoint_path: "mine"' ]
	[ -f "$T/old/x.index" ]
	# One that names the output already leaves nothing to note, also
	# through a symbolic link.
	printf 'model_checkpoint_path: "%s"\n' "$T/old/x" >"$T/old/state"
	ln -sf state "$T/old/checkpoint"
	mount_ckpt "$T/src/ckpt" -o output="$T/old/x"
	finish
	assert_output ""
	# Nor is one made beside the source (the default output).
	mount_ckpt "$T/src/ckpt"
	printf '\x00\x00\x20\x41' >"$MNT/by-name/a"
	finish
	assert_output ""
	[ -f "$T/src/ckpt.tf2.index" ] && [ ! -e "$T/src/checkpoint" ]
	# nor over the source's own, which says so (a repair beside it)
	printf 'model_checkpoint_path: "ckpt"\n' >"$T/src/checkpoint"
	mount_ckpt "$T/src" -o output="$T/src/fixed",format=both
	finish
	assert_output "ckptfs: note: $T/src/checkpoint is left as it is: tf.train.latest_checkpoint() of that directory finds the checkpoint it names, not fixed.tf2"
	[ "$(cat "$T/src/checkpoint")" = 'model_checkpoint_path: "ckpt"' ]
	run -0 find "$T" -name '*tempstate*'
	assert_output ""
}

@test "directories renamed while mounted: outputs named where they are; no state file made in the source's" {
	mkdir "$T/src" "$T/o"
	cp "$(fixture tf1)".* "$T/src/"
	mount_ckpt "$T/src/ckpt"
	printf '\0\0\0@' >"$MNT/by-name/a"
	mv "$T/src" "$T/src2"
	finish
	# (it said "wrote .../src/ckpt.tf2", and made src2/checkpoint)
	run -0 cat "$CKPTFS_LOG"
	assert_output "ckptfs: wrote $T/src2/ckpt.tf2 (named $T/src/ckpt.tf2 when mounted: its directory was renamed since)"
	[ ! -e "$T/src2/checkpoint" ]
	[ "$(val "$T/src2/ckpt.tf2" vars/a/.ATTRIBUTES/VARIABLE_VALUE)" = 2 ]
	# an output's own directory renamed: its state file there, named so
	mount_ckpt "$T/src2/ckpt" -o output="$T/o/out"
	printf '\0\0\0@' >"$MNT/by-name/a"
	mv "$T/o" "$T/o2"
	finish
	run -0 cat "$CKPTFS_LOG"
	assert_line "ckptfs: wrote $T/o2/checkpoint"
	assert_line "ckptfs: wrote $T/o2/out (named $T/o/out when mounted: its directory was renamed since)"
	[ "$(head -n 1 "$T/o2/checkpoint")" = 'model_checkpoint_path: "out"' ]
	# named through a symbolic link (or ".."), not renamed: no note
	ln -s src2 "$T/lnk"
	mount_ckpt "$T/lnk/ckpt" -o format=tf1
	printf '\0\0\0@' >"$MNT/by-name/a"
	finish
	run -0 cat "$CKPTFS_LOG"
	assert_output "ckptfs: wrote $T/lnk/ckpt.tf1"
}

@test "cp -a between mounts of either byte order keeps values (user.ckpt.byteorder), after a crash too" {
	local a w
	mount_ckpt "$(fixture bigendian)" -o ro
	a=$MNT
	[ "$(xattr "$a/by-name/k" user.ckpt.byteorder)" = big ]
	mount_ckpt "$(fixture tf1)" -o format=same,output="$T/le",spool="$T/sp"
	w=$MNT
	[ "$(xattr "$w/by-name/a" user.ckpt.byteorder)" = little ]
	mkdir "$w/by-name/s"
	cp -a "$a/by-name/k" "$a/by-name/step" "$w/by-name/"
	cp -a "$a/by-name/s/vec" "$w/by-name/s/"
	# shown as copied, big-endian as the attribute says
	cmp "$a/by-name/k" "$w/by-name/k"
	[ "$(xattr "$w/by-name/k" user.ckpt.byteorder)" = big ]
	# a copy of all of a tensor is that tensor, byte order too
	cp "$w/by-name/k" "$w/by-name/k3"
	[ "$(xattr "$w/by-name/k3" user.ckpt.byteorder)" = big ]
	# taken away (rsync -X from a file without it): this checkpoint's
	cp -a "$a/by-name/k" "$w/by-name/k2"
	setfattr -x user.ckpt.byteorder "$w/by-name/k2"
	[ "$(xattr "$w/by-name/k2" user.ckpt.byteorder)" = little ]
	run ! setfattr -n user.ckpt.byteorder -v middle "$w/by-name/k"
	# saved through a temporary file (sed -i), or removed and written
	# again: the byte order goes with the dtype the file takes
	cp -a "$a/by-name/k" "$w/by-name/k4"
	cp -a "$a/by-name/k" "$w/by-name/k5"
	sed -i 's/\xc0\x00\x00\x00$/\xc0\x40\x00\x00/' "$w/by-name/k4"
	[ "$(xattr "$w/by-name/k4" user.ckpt.byteorder)" = big ]
	cat "$w/by-name/k5" >"$T/k5"
	rm "$w/by-name/k5"
	cat "$T/k5" >"$w/by-name/k5"
	[ "$(xattr "$w/by-name/k5" user.ckpt.byteorder)" = big ]
	# a copy sharing a tensor of the source has the source's order
	touch "$w/by-name/n"
	setfattr -n user.ckpt.byteorder -v big "$w/by-name/n"
	cp "$w/by-name/a" "$w/by-name/n"
	[ "$(xattr "$w/by-name/n" user.ckpt.byteorder)" = little ]
	# a variant's bytes cannot be converted, set either way round
	printf '\x00' >"$w/by-name/var"
	setfattr -n user.ckpt.dtype -v variant "$w/by-name/var"
	run ! setfattr -n user.ckpt.byteorder -v big "$w/by-name/var"
	setfattr -n user.ckpt.dtype -v uint8 "$w/by-name/var"
	setfattr -n user.ckpt.byteorder -v big "$w/by-name/var"
	run ! setfattr -n user.ckpt.dtype -v variant "$w/by-name/var"
	rm "$w/by-name/var"
	# journalled: a crash, and the spool brings the byte orders back
	kill_daemon
	mount_ckpt "$(fixture tf1)" -o format=same,output="$T/le",spool="$T/sp"
	[ "$(xattr "$MNT/by-name/k" user.ckpt.byteorder)" = big ]
	[ "$(xattr "$MNT/by-name/k2" user.ckpt.byteorder)" = little ]
	finish
	run -0 "$CKPT_INSPECT" -H "$T/le"
	assert_output --partial "endianness:   little"
	[ "$(val "$T/le" k)" = "[1.5,-2]" ]
	[ "$(val "$T/le" k3)" = "[1.5,-2]" ]
	[ "$(val "$T/le" k4)" = "[1.5,-3]" ]
	[ "$(val "$T/le" k5)" = "[1.5,-2]" ]
	[ "$(val "$T/le" n)" = 1 ]
	[ "$(val "$T/le" step)" = 42 ]
	[ "$(val "$T/le" s/vec)" = '["a","","xyz"]' ]
	[ "$(val "$T/le" a)" = 1 ]
	run -0 "$CKPT_INSPECT" --verify "$T/le"
	assert_output --partial ", 0 damaged"
	# and the other way, into a big-endian checkpoint
	mount_ckpt "$T/le" -o ro
	a=$MNT
	mount_ckpt "$(fixture bigendian)" -o format=same,output="$T/be"
	cp -a "$a/by-name/a" "$a/by-name/global_step" "$MNT/by-name/"
	cp -a "$a/by-name/s/vec" "$MNT/by-name/s/vec2"
	[ "$(xattr "$MNT/by-name/global_step" user.ckpt.byteorder)" = little ]
	finish
	run -0 "$CKPT_INSPECT" -H "$T/be"
	assert_output --partial "endianness:   big"
	[ "$(val "$T/be" a)" = 1 ]
	[ "$(val "$T/be" global_step)" = 42 ]
	[ "$(val "$T/be" s/vec2)" = '["a","","xyz"]' ]
	[ "$(val "$T/be" k)" = "[1.5,-2]" ]
	run -0 "$CKPT_INSPECT" --verify "$T/be"
	assert_output --partial ", 0 damaged"
}

@test "strings and a variant copied from a mount of the other byte order without it: refused, saying so" {
	local a
	mount_ckpt "$(fixture bigendian)" -o ro
	a=$MNT
	mount_ckpt "$(fixture tf1)" -o format=same,output="$T/le"
	# (cp -a cannot set the order of a variant, and says nothing)
	cp -a "$a/by-name/v" "$MNT/by-name/v"
	mkdir "$MNT/by-name/s"
	cp "$a/by-name/s/vec" "$MNT/by-name/s/vec"
	setfattr -n user.ckpt.dtype -v string "$MNT/by-name/s/vec"
	setfattr -n user.ckpt.shape -v 3 "$MNT/by-name/s/vec"
	finish_fails
	assert_output --partial "ckptfs: refused: by-name/s/vec: not a stored string tensor of shape [3]: "
	assert_output --partial "; they are laid out big-endian (copied from a mount of a big-endian checkpoint?): set user.ckpt.byteorder to big"
	assert_output --partial "ckptfs: refused: by-name/v: not a stored variant tensor of shape [] (per element a varint length, the bytes and a masked running CRC-32C); they are laid out big-endian (copied from a mount of a big-endian checkpoint?), and a variant cannot be converted: remove it"
	unmount_ckpt
}

@test "a big-endian checkpoint converts in its own byte order, strings too" {
	local p
	p=$(fixture bigendian)
	mount_ckpt "$p" -o output="$T/tf2"
	[ "$(jq -r .endianness "$MNT/info.json")" = big ]
	# Shown as stored, most significant byte first.
	[ "$(od -An -tx1 "$MNT/by-name/step" | tr -d ' ')" = 000000000000002a ]
	# A variant's checksums are big-endian too: it reads.
	run -0 cat "$MNT/by-name/v"
	[ "$(head -c 6 "$MNT/by-name/v" | od -An -tx1 | tr -d ' ')" = 050a03616263 ]
	# A changed string tensor: its layout is checked in that byte order.
	cp "$MNT/by-name/s/other" "$MNT/by-name/s/vec"
	finish
	run -0 "$CKPT_INSPECT" -H "$T/tf2"
	assert_output --partial "endianness:   big"
	[ "$(val "$T/tf2" vars/k/.ATTRIBUTES/VARIABLE_VALUE)" = "[1.5,-2]" ]
	[ "$(val "$T/tf2" vars/step/.ATTRIBUTES/VARIABLE_VALUE)" = 42 ]
	[ "$(val "$T/tf2" vars/s.Svec/.ATTRIBUTES/VARIABLE_VALUE)" = '["hello","","!!"]' ]
	[ "$(val "$T/tf2" save_counter/.ATTRIBUTES/VARIABLE_VALUE)" = 1 ]
	run -0 "$CKPT_INSPECT" -g "$T/tf2"
	assert_output --partial "full_name s/vec"
	run -0 "$CKPT_INSPECT" --verify "$T/tf2"
	assert_output --partial "7 tensors verified, 0 damaged"
	# and back, the counter's bytes big-endian as well
	mount_ckpt "$T/tf2" -o output="$T/tf1"
	[ "$(od -An -tx1 "$MNT/by-name/save_counter" | tr -d ' ')" = 0000000000000001 ]
	finish
	run -0 "$CKPT_INSPECT" -H "$T/tf1"
	assert_output --partial "endianness:   big"
	[ "$(val "$T/tf1" k)" = "[1.5,-2]" ]
	[ "$(val "$T/tf1" s/other)" = '["hello","","!!"]' ]
	[ "$(val "$T/tf1" save_counter)" = 1 ]
	run -0 "$CKPT_INSPECT" --verify "$T/tf1"
	assert_output --partial ", 0 damaged"
}
