#!/usr/bin/env bats
# Covers: src/tree.c (the /by-name view), src/fuse_ops.c.
# Generated checkpoints (mkfixture) mounted and listed exactly: TF1 scopes
# and optimizer slots with the '@' rule, TF2 full_names with uniquifying
# and the empty-name fallback, strings in their stored layout,
# partitioned variables assembled, several shards, every dtype, odd names.

load helpers

# The tree below DIR, one path per line, sorted bytewise.
tree_of() {
	(cd "$1" && find . | LC_ALL=C sort)
}

@test "tf1: scopes, slots beside their variable (@), values, xattrs" {
	mount_ckpt "$(fixture tf1)"
	run -0 tree_of "$MNT/by-name"
	assert_output - <<'EOF'
.
./a
./b
./dense
./dense/bias
./dense/bias@
./dense/bias@/Adam
./dense/bias@/Adam_1
./dense/kernel
./dense/kernel@
./dense/kernel@/Adam
./dense/kernel@/Adam_1
./global_step
./scoped
./scoped/c
EOF
	local n=$MNT/by-name
	[ "$(values "$n/a" f4)" = 1 ]
	[ "$(values "$n/b" f4)" = 2 ]
	[ "$(values "$n/scoped/c" f4)" = 3 ]
	[ "$(values "$n/dense/kernel" f4)" = "0 1 2 3 4 5" ]
	[ "$(values "$n/dense/kernel@/Adam" f4)" = "0 0.5 1 1.5 2 2.5" ]
	[ "$(values "$n/dense/kernel@/Adam_1" f4)" = "0 0.25 0.5 0.75 1 1.25" ]
	[ "$(values "$n/dense/bias" f4)" = "1 2 3" ]
	[ "$(values "$n/dense/bias@/Adam" f4)" = "0 0 0" ]
	[ "$(values "$n/global_step" d8)" = 42 ]
	[ "$(stat -c %s "$n/dense/kernel")" = 24 ]
	[ "$(stat -c %s "$n/global_step")" = 8 ]
	[ "$(xattr "$n/dense/kernel" user.ckpt.shape)" = 2,3 ]
	[ "$(xattr "$n/dense/bias" user.ckpt.shape)" = 3 ]
	[ "$(xattr "$n/global_step" user.ckpt.dtype)" = int64 ]
	[ "$(xattr "$n/dense/kernel@/Adam_1" user.ckpt.key)" = dense/kernel/Adam_1 ]
	[ "$(stat -c %F "$n/dense/kernel@")" = directory ]
	run -0 getfattr -d "$n/dense/kernel"
	assert_line 'user.ckpt.shape="2,3"'
	assert_line 'user.ckpt.key="dense/kernel"'
	run -1 getfattr -n user.nope "$n/a"
	assert_output --partial "No such attribute"
	run -0 cat "$MNT/info.json"
	assert_output --partial '"tensors": 10'
}

@test "tf2: full_names, Variable_1 for a duplicate, object path for an empty name" {
	mount_ckpt "$(fixture tf2)"
	run -0 tree_of "$MNT/by-name"
	assert_output - <<'EOF'
.
./Adam
./Adam/iter
./Adam/m
./Adam/m/dense
./Adam/m/dense/kernel
./Variable
./Variable_1
./dense
./dense/bias
./dense/kernel
./dense_1
./dense_1/kernel
./model
./model/nameless
./save_counter
./x
EOF
	local n=$MNT/by-name
	[ "$(values "$n/Variable" f4)" = 10 ]
	[ "$(values "$n/Variable_1" f4)" = 11 ]
	[ "$(values "$n/model/nameless" f4)" = 12 ]
	[ "$(values "$n/x" f4)" = 9 ]
	[ "$(values "$n/dense/kernel" f4)" = "0 1 2 3 4 5" ]
	[ "$(values "$n/dense_1/kernel" f4)" = "6 7 8" ]
	[ "$(values "$n/Adam/m/dense/kernel" f4)" = "0.5 0.5 0.5 0.5 0.5 0.5" ]
	[ "$(values "$n/Adam/iter" d8)" = 10 ]
	[ "$(values "$n/save_counter" d8)" = 1 ]
	[ "$(xattr "$n/Variable_1" user.ckpt.key)" = model/extra/1/.ATTRIBUTES/VARIABLE_VALUE ]
	[ "$(xattr "$n/x" user.ckpt.key)" = model/named/scoped.Sx..y/.ATTRIBUTES/VARIABLE_VALUE ]
	[ "$(xattr "$n/dense_1/kernel" user.ckpt.shape)" = 3,1 ]
}

@test "tf2saveables: a legacy saveable's tensors under its full name, as ckpt-inspect -j names them" {
	# the first attribute with a full name takes the tensors its key
	# begins, but for those another names by their keys (table_x); one
	# without a full name takes none; the graph's own key is no one's
	local fx f
	fx=$(fixture tf2saveables)
	mount_ckpt "$fx"
	run -0 ls "$MNT/by-name"
	assert_output "$(printf '%s\n' hash-keys hash-values lookup-a v x)"
	[ "$(xattr "$MNT/by-name/hash-keys" user.ckpt.key)" = t/.ATTRIBUTES/table-keys ]
	[ "$(xattr "$MNT/by-name/lookup-a" user.ckpt.key)" = u/.ATTRIBUTES/tbl-a ]
	[ "$(xattr "$MNT/by-name/x" user.ckpt.key)" = t/.ATTRIBUTES/table_x ]
	run -0 grep -c "the object graph names key 't/.ATTRIBUTES/table', which the checkpoint does not hold, nor 3 more" "$CKPTFS_LOG"
	# and ckpt-inspect -c the same four (one more than it names)
	run -1 "$CKPT_INSPECT" -c "$fx"
	assert_output "$(printf '%s\n' \
		"DAMAGED _CHECKPOINTABLE_OBJECT_GRAPH: object graph: node 5 names key 't/.ATTRIBUTES/table', which the index does not hold" \
		"DAMAGED _CHECKPOINTABLE_OBJECT_GRAPH: object graph: node 6 names key '_CHECKPOINTABLE', which the index does not hold" \
		"DAMAGED _CHECKPOINTABLE_OBJECT_GRAPH: object graph: node 7 names key 't/.ATTRIBUTES/t', which the index does not hold" \
		"DAMAGED _CHECKPOINTABLE_OBJECT_GRAPH: object graph: 1 more key it names is not in the index" \
		"6 tensors verified, 1 damaged")"
	# ckpt-inspect gives each the full name by-name/ shows it under
	run -0 "$CKPT_INSPECT" -j "$fx"
	run -0 jq -r 'select(.full_name) | .full_name + " " + .key' <<<"$output"
	assert_output "$(printf '%s\n' 'hash-keys t/.ATTRIBUTES/table-keys' \
		'hash-values t/.ATTRIBUTES/table-values' \
		'x t/.ATTRIBUTES/table_x' 'lookup-a u/.ATTRIBUTES/tbl-a')"
	for f in hash-keys hash-values lookup-a x; do
		[ "$("$CKPT_INSPECT" -j "$fx" | jq -r --arg f "$f" 'select(.full_name == $f) | .key')" = \
			"$(xattr "$MNT/by-name/$f" user.ckpt.key)" ]
	done
}

@test "tf2list: what convert_tf2_to_tf1 would name them" {
	mount_ckpt "$(fixture tf2list)"
	run -0 tree_of "$MNT/by-name"
	assert_output - <<'EOF'
.
./a
./b
./save_counter
./scoped
./scoped/c
EOF
	[ "$(values "$MNT/by-name/scoped/c" f4)" = 3 ]
}

@test "strings: stored layout, exact sizes" {
	mount_ckpt "$(fixture strings)"
	run -0 tree_of "$MNT/by-name"
	assert_output - <<'EOF'
.
./s
./s/empty
./s/matrix
./s/scalar
./s/vec
EOF
	local s=$MNT/by-name/s
	# varint lengths, 4-byte length checksum, then the bytes
	[ "$(stat -c %s "$s/scalar")" = 10 ]
	[ "$(stat -c %s "$s/vec")" = 11 ]
	[ "$(stat -c %s "$s/empty")" = 4 ]
	[ "$(stat -c %s "$s/matrix")" = 16 ]
	[ "$(head -c 1 "$s/scalar" | od -An -tu1 | xargs)" = 5 ]
	[ "$(tail -c 5 "$s/scalar")" = hello ]
	[ "$(tail -c 4 "$s/vec")" = axyz ]
	[ "$(tail -c 8 "$s/matrix")" = 00011011 ]
	[ "$(head -c 3 "$s/vec" | od -An -tu1 | xargs)" = "1 0 3" ]
	[ "$(xattr "$s/vec" user.ckpt.dtype)" = string ]
	[ "$(xattr "$s/matrix" user.ckpt.shape)" = 2,2 ]
	[ "$(xattr "$s/empty" user.ckpt.shape)" = 0 ]
}

@test "partitioned: one file holding the full tensor" {
	mount_ckpt "$(fixture partitioned)"
	run -0 tree_of "$MNT/by-name"
	assert_output - <<'EOF'
.
./p
./v
./w
EOF
	local n=$MNT/by-name
	[ "$(stat -c %s "$n/w")" = 160 ]
	[ "$(stat -c %s "$n/v")" = 96 ]
	[ "$(values "$n/w" f4)" = "$(seq -s ' ' 0 39)" ]
	[ "$(values "$n/v" f4)" = "$(seq -s ' ' 100 123)" ]
	[ "$(values "$n/p" f4)" = 1 ]
	[ "$(xattr "$n/w" user.ckpt.shape)" = 10,4 ]
	[ "$(xattr "$n/v" user.ckpt.shape)" = 4,6 ]
	[ "$(xattr "$n/v" user.ckpt.key)" = v ]
	# reads that start and end inside a slice
	[ "$(dd if="$n/v" bs=4 skip=2 count=3 status=none | od -An -tf4 | xargs)" = "102 103 104" ]
	[ "$(dd if="$n/w" bs=4 skip=19 count=2 status=none | od -An -tf4 | xargs)" = "19 20" ]
}

@test "partitioned strings: one file, laid out as the tensor saved whole" {
	mount_ckpt "$(fixture partstrings)"
	local n=$MNT/by-name
	# s [3,2] is in two slices of one column each, so its elements
	# alternate between them; whole is the same tensor saved unsliced.
	[ "$(stat -c %s "$n/s")" = 150 ]
	cmp "$n/s" "$n/whole"
	cmp "$n/s" "$MNT/by-object/vars/s/.ATTRIBUTES/VARIABLE_VALUE"
	# lengths 0 1 130 3 4 1 (130 takes two bytes), a checksum, the bytes
	[ "$(head -c 7 "$n/s" | od -An -tx1 | xargs)" = "00 01 82 01 03 04 01" ]
	[ "$(tail -c 10 "$n/s")" = ccdddeeeef ]
	[ "$(xattr "$n/s" user.ckpt.dtype)" = string ]
	[ "$(xattr "$n/s" user.ckpt.shape)" = 3,2 ]
	# vocab [5] in slices [0,3) and [3,5)
	[ "$(stat -c %s "$n/vocab")" = 18 ]
	[ "$(head -c 5 "$n/vocab" | od -An -tu1 | xargs)" = "3 0 2 3 1" ]
	[ "$(tail -c 9 "$n/vocab")" = theofandx ]
	# reads that start inside the lengths, the checksum or a string
	[ "$(dd if="$n/s" bs=1 skip=5 count=4 status=none | od -An -tx1)" = \
	  "$(dd if="$n/whole" bs=1 skip=5 count=4 status=none | od -An -tx1)" ]
	[ "$(dd if="$n/s" bs=1 skip=9 count=3 status=none | od -An -tx1)" = \
	  "$(dd if="$n/whole" bs=1 skip=9 count=3 status=none | od -An -tx1)" ]
	[ "$(dd if="$n/s" bs=1 skip=140 count=6 status=none)" = ccddde ]
	run -0 "$CKPT_INSPECT" --verify "$(fixture partstrings)"
	assert_output "3 tensors verified, 0 damaged"
}

@test "shards: tensors from three data files" {
	mount_ckpt "$(fixture shards)"
	run -0 tree_of "$MNT/by-name"
	assert_output - <<'EOF'
.
./s0
./s0/x
./s1
./s1/y
./s2
./s2/z
EOF
	[ "$(values "$MNT/by-name/s0/x" f4)" = "1 2 3 4" ]
	[ "$(values "$MNT/by-name/s1/y" f4)" = "5 6 7 8" ]
	[ "$(values "$MNT/by-name/s2/z" f4)" = "9 10 11 12" ]
	run -0 cat "$MNT/info.json"
	assert_output --partial '"num_shards": 3'
}

@test "dtypes: every dtype's name, shape and size" {
	local f base
	mount_ckpt "$(fixture dtypes)"
	for f in "$MNT"/by-name/*; do
		base=${f##*/}
		case $base in
		empty | scalar | variant) continue ;;
		esac
		[ "$(xattr "$f" user.ckpt.dtype)" = "$base" ] ||
			fail "$base: dtype $(xattr "$f" user.ckpt.dtype)"
		[ "$(xattr "$f" user.ckpt.shape)" = 2 ]
	done
	local n=$MNT/by-name
	[ "$(values "$n/float64" f8)" = "1 2" ]
	[ "$(values "$n/int32" d4)" = "1 2" ]
	[ "$(values "$n/int64" d8)" = "1 2" ]
	[ "$(values "$n/uint8" u1)" = "1 2" ]
	[ "$(values "$n/bool" u1)" = "0 1" ]
	[ "$(values "$n/complex64" f4)" = "1 2 3 4" ]
	[ "$(stat -c %s "$n/complex128")" = 32 ]
	# int2 holds 1 and -2 (two bits)
	[ "$(od -An -tx1 "$n/int2" | xargs)" = "01 02" ]
	# float8 (ml_dtypes' 1.0 and 2.0), e4m3b11fnuz too
	[ "$(od -An -tx1 "$n/float8_e4m3b11fnuz" | xargs)" = "58 60" ]
	[ "$(od -An -tx1 "$n/float8_e5m2" | xargs)" = "3c 40" ]
	[ "$(stat -c %s "$n/empty")" = 0 ]
	[ "$(xattr "$n/empty" user.ckpt.shape)" = 0,3 ]
	[ "$(xattr "$n/scalar" user.ckpt.shape)" = "" ]
	[ "$(values "$n/scalar" d4)" = 7 ]
	[ "$(xattr "$n/variant" user.ckpt.dtype)" = variant ]
	run -0 cat "$n/empty"
	assert_output ""
}

@test "oddnames: escaped, reachable, reversible through user.ckpt.key" {
	local long
	long=$(printf 'L%.0s' $(seq 300))
	mount_ckpt "$(fixture oddnames)"
	run -0 tree_of "$MNT/by-name"
	assert_output - <<EOF
.
./%2E%2E
./${long:0:200}%#3e5c73efcb70d665
./a
./a/%
./a/%/b
./at%40sign
./ctl%01char
./dense
./dense/kernel
./dense/kernel@
./dense/kernel@/Adam
./dot.name
./h$(printf '\303\251')llo
./h$(printf '\303\251')llo/w$(printf '\303\266')rld
./pct%25sign
./trail
./trail/%
./with space
./x
./x/%2E
./x/%2E/y
EOF
	local n=$MNT/by-name
	[ "$(xattr "$n/%2E%2E" user.ckpt.key)" = .. ]
	[ "$(xattr "$n/a/%/b" user.ckpt.key)" = a//b ]
	[ "$(xattr "$n/trail/%" user.ckpt.key)" = trail/ ]
	[ "$(xattr "$n/x/%2E/y" user.ckpt.key)" = x/./y ]
	[ "$(xattr "$n/pct%25sign" user.ckpt.key)" = 'pct%sign' ]
	[ "$(xattr "$n/at%40sign" user.ckpt.key)" = 'at@sign' ]
	[ "$(xattr "$n/ctl%01char" user.ckpt.key)" = "$(printf 'ctl\001char')" ]
	[ "$(xattr "$n/${long:0:200}%#3e5c73efcb70d665" user.ckpt.key)" = "$long" ]
	[ "$(xattr "$n/dense/kernel@/Adam" user.ckpt.key)" = dense/kernel/Adam ]
	# nothing is lost: one file per tensor, and nothing outside the mount
	[ "$(find "$n" -type f | wc -l)" = 13 ]
	run -0 cat "$MNT/info.json"
	assert_output --partial '"tensors": 13'
	[ "$(realpath "$n/x/%2E/..")" = "$n/x" ]
}

@test "oddnames: ckpt-inspect takes each file's path in the mount, both views, for its key" {
	local f rel fx n=0
	fx=$(fixture oddnames)
	mount_ckpt "$fx" -o ro
	while IFS= read -r -d '' f; do
		rel=${f#"$MNT"/}
		[ "$("$CKPT_INSPECT" -j "$fx" "$rel" | jq -r .key)" = \
			"$(xattr "$f" user.ckpt.key)" ] ||
			fail "$rel: not the key the mount gives"
		n=$((n + 1))
	done < <(find "$MNT/by-name" "$MNT/by-object" -type f -print0)
	# every tensor, in both views
	[ "$n" = 26 ]
	# what no path a mount shows has: an empty component, "." or ".."
	run -1 "$CKPT_INSPECT" "$fx" by-name/dense//kernel
	run -1 "$CKPT_INSPECT" "$fx" by-name/x/%2E/../%2E/y
	run -1 "$CKPT_INSPECT" "$fx" by-name/dense/kernel/
	run -0 "$CKPT_INSPECT" "$fx" by-name/x/%2E/y
	unmount_ckpt
}
