#!/usr/bin/env bats
# 00-inspect.bats -- ckpt-inspect (src/inspect.c, man/ckpt-inspect.1):
# listings, values, JSON, --verify, --graph, --header and bad input, on the
# real TensorFlow checkpoints in $REALDATA (skipped when absent) and on
# fixtures written by $MKFIXTURE.

load helpers
bats_require_minimum_version 1.5.0
bats_load_library bats-support 2>/dev/null || load /usr/lib/bats/bats-support/load
bats_load_library bats-assert 2>/dev/null || load /usr/lib/bats/bats-assert/load

setup() {
	: "${CKPT_INSPECT:?CKPT_INSPECT is not set (run through make check)}"
	: "${MKFIXTURE:?MKFIXTURE is not set (run through make check)}"
	W=$BATS_TEST_TMPDIR
}

# need_real NAME: set R to the prefix of real checkpoint NAME or skip.
need_real() {
	if [ -z "${REALDATA:-}" ] || [ ! -e "$REALDATA/$1.index" ]; then
		skip "real checkpoints not found (REALDATA=${REALDATA:-unset})"
	fi
	R=$REALDATA/$1
}

# copy_real NAME: a writable copy of real checkpoint NAME at $W/NAME; sets C.
copy_real() {
	need_real "$1"
	cp "$R".index "$R".data-* "$W"/
	chmod u+w "$W/$1".*
	C=$W/$1
}

# fixture KIND: write fixture KIND at $W/KIND; sets F.
fixture() {
	F=$W/$1
	"$MKFIXTURE" "$1" "$F" >/dev/null || fail "mkfixture $1 failed"
}

# inspect ARGS...: run ckpt-inspect with a time limit.
inspect() {
	timeout 20 "$CKPT_INSPECT" "$@"
}

# flip FILE OFFSET: invert the byte at OFFSET of FILE.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	poke "$1" "$2" "$(printf '%02x' $((b ^ 0xff)))"
}

# poke FILE OFFSET HEX...: overwrite bytes of FILE at OFFSET.
poke() {
	local file=$1 off=$2 h
	shift 2
	for h in "$@"; do
		# shellcheck disable=SC2059
		printf "\\x$h" | dd of="$file" bs=1 seek="$off" conv=notrunc \
			status=none
		off=$((off + 1))
	done
}

# fix_block_crc FILE LEN: rewrite the masked CRC32C in the trailer of the
# table block at offset 0 whose contents are LEN bytes (the CRC covers the
# contents and the type byte), so an edited entry passes the block check.
fix_block_crc() {
	local crc=$((0xffffffff)) b k m
	for b in $(od -An -v -tu1 -N $(($2 + 1)) "$1"); do
		crc=$((crc ^ b))
		for k in 1 2 3 4 5 6 7 8; do
			if ((crc & 1)); then
				crc=$(((crc >> 1) ^ 0x82f63b78))
			else
				crc=$((crc >> 1))
			fi
		done
	done
	crc=$((crc ^ 0xffffffff))
	m=$(((((crc >> 15) | (crc << 17)) + 0xa282ead8) & 0xffffffff))
	poke "$1" $(($2 + 1)) "$(printf '%02x' $((m & 255)))" \
		"$(printf '%02x' $((m >> 8 & 255)))" \
		"$(printf '%02x' $((m >> 16 & 255)))" \
		"$(printf '%02x' $((m >> 24 & 255)))"
}

# One line on stderr, "ckpt-inspect: ..." naming $1, nothing on stdout
# beyond what a listing had printed.
assert_one_error() {
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "${stderr_lines[0]}" "^ckpt-inspect: .*$1"
}

# --- command line ------------------------------------------------------------

@test "--help lists every option and --version prints the version" {
	run -0 inspect --help
	for opt in --values --all --full --json --verify --graph --header \
		--help --version; do
		assert_output --partial -- "$opt"
	done
	run -0 inspect --version
	assert_output --regexp '^ckpt-inspect [0-9]+\.[0-9]+'
	# a full disk is said, as for every other output (it was exit 0)
	for opt in --help --version; do
		run -1 bash -c '"$1" "$2" >/dev/full' - "$CKPT_INSPECT" "$opt"
		assert_output "ckpt-inspect: standard output: No space left on device"
	done
}

@test "every --help option is in the man page" {
	local opt
	for opt in values all full json verify graph header help version; do
		grep -q -- "^\.It.*Fl -$opt" "$top_srcdir/man/ckpt-inspect.1" ||
			fail "--$opt is not in man/ckpt-inspect.1"
	done
}

@test "usage errors exit 2" {
	run -2 inspect
	assert_output --partial "no checkpoint given"
	run -2 inspect --bogus x
	assert_output --partial "unknown option --bogus"
	run -2 inspect --values --graph x
	assert_output --partial "exclude each other"
	run -2 inspect --header x key
	# --all prints every value: with --verify, --graph or --header it
	# would be ignored
	for m in -c -g -H; do
		run -2 inspect -a "$m" x
		assert_line "ckpt-inspect: --all goes with --values (or alone)"
	done
}

# --- real checkpoints --------------------------------------------------------

@test "every real checkpoint lists and verifies" {
	need_real saved_model_half_plus_three_variables
	local n=0 idx
	for idx in "$REALDATA"/*.index; do
		run -0 inspect "$idx"
		[ -n "$output" ] || fail "empty listing of $idx"
		run -0 inspect --verify "${idx%.index}"
		assert_output --regexp "^[0-9]+ tensors? verified, 0 damaged$"
		n=$((n + 1))
	done
	[ "$n" -eq 13 ] || fail "expected 13 real checkpoints, found $n"
}

@test "half_plus_two: exact listing" {
	need_real saved_model_half_plus_two_2_versions_variables
	run -0 inspect "$R"
	assert_output "$(printf '%s\n' \
		'a  float32  []  4' \
		'b  float32  []  4' \
		'c  float32  []  4')"
}

@test "half_plus_two_cpu (snappy index): exact listing and values" {
	need_real saved_model_half_plus_two_cpu_variables
	run -0 inspect "$R.index"
	assert_output "$(printf '%s\n' \
		'a   float32  []  4' \
		'a2  float32  []  4' \
		'b   float32  []  4' \
		'c   float32  []  4' \
		'c2  float32  []  4')"
	run -0 inspect --values "$R"
	assert_output "$(printf '%s\n' 'a = 0.5' 'a2 = 0.5' 'b = 2' 'c = 3' \
		'c2 = 3')"
}

@test "half_plus_three: values a=0.5 b=3 c=3" {
	need_real saved_model_half_plus_three_variables
	run -0 inspect --values "$R"
	assert_output "$(printf '%s\n' 'a = 0.5' 'b = 3' 'c = 3')"
	run -0 inspect --values=b "$R"
	assert_output "b = 3"
	run -0 inspect -v "$R" c
	assert_output "c = 3"
}

@test "mkl: conv2d kernels [1,1,1,1] and their values" {
	need_real saved_model_half_plus_two_mkl_variables
	run -0 inspect "$R"
	assert_output "$(printf '%s\n' \
		'a                float32  []         4' \
		'b                float32  []         4' \
		'c                float32  []         4' \
		'conv2d/bias      float32  [1]        4' \
		'conv2d/kernel    float32  [1,1,1,1]  4' \
		'conv2d_1/bias    float32  [1]        4' \
		'conv2d_1/kernel  float32  [1,1,1,1]  4' \
		'conv2d_2/bias    float32  [1]        4' \
		'conv2d_2/kernel  float32  [1,1,1,1]  4')"
	run -0 inspect -v "$R" 'conv2d*/kernel'
	assert_output "$(printf '%s\n' \
		'conv2d/kernel = [[[[-0.52239597]]]]' \
		'conv2d_1/kernel = [[[[-1.045112]]]]' \
		'conv2d_2/kernel = [[[[1.5779432]]]]')"
	run -0 inspect -j -v "$R" conv2d/kernel
	run -0 jq -e '.values[0][0][0][0] < -0.5223 and
		.values[0][0][0][0] > -0.5224 and .shape == [1,1,1,1]' <<<"$output"
}

@test "tf2_cpu: listing, object graph of 24 nodes" {
	need_real saved_model_half_plus_two_tf2_cpu_variables
	run -0 inspect "$R"
	assert_output "$(printf '%s\n' \
		'_CHECKPOINTABLE_OBJECT_GRAPH  string   []  619' \
		'a/.ATTRIBUTES/VARIABLE_VALUE  float32  []    4' \
		'b/.ATTRIBUTES/VARIABLE_VALUE  float32  []    4' \
		'c/.ATTRIBUTES/VARIABLE_VALUE  float32  []    4')"
	run -0 inspect --graph "$R"
	assert_equal "$(grep -c '^node ' <<<"$output")" 24
	assert_line --index 0 "node 0  (root)"
	assert_line --index 1 "  child a -> node 1"
	assert_line "node 1  a"
	assert_line "  attribute VARIABLE_VALUE  full_name a  checkpoint_key a/.ATTRIBUTES/VARIABLE_VALUE"
	assert_line "node 11  signatures"
	assert_line "  child serving_default -> node 23"
	assert_line "node 23  signatures/serving_default"
	run -0 inspect --graph --json "$R"
	assert_equal "${#lines[@]}" 24
	run -0 jq -s -e 'length == 24 and (.[0].children | length) == 11 and
		.[0].path == "" and .[0].has_checkpoint_values == true and
		.[3].attributes[0].checkpoint_key == "c/.ATTRIBUTES/VARIABLE_VALUE" and
		.[4].has_checkpoint_values == false' <<<"$output"
	run -0 inspect -j "$R" _CHECKPOINTABLE_OBJECT_GRAPH
	run -0 jq -e '.dtype == "string" and .shape == [] and .size == 619 and
		.offset == 12 and .shard == 0' <<<"$output"
}

@test "tf_text_regression: graph of 30 nodes, node 6 reached twice" {
	need_real tf_text_regression_01_variables_variables
	run -0 inspect -g -j "$R"
	run -0 jq -s -e 'length == 30 and
		([.[4].children[] | select(.id == 6)] | length) == 2 and
		([.[].attributes[]] | length) == 0' <<<"$output"
}

@test "--header: raw and snappy indexes" {
	need_real saved_model_half_plus_two_cpu_variables
	run -0 inspect --header "$R"
	assert_line "index blocks: 1 data block, snappy"
	assert_line "num_shards:   1"
	assert_line "endianness:   little"
	assert_line "version:      producer 1, min_consumer 0"
	assert_line "tensors:      5"
	assert_line "kind:         TF1 name-based"
	assert_line --regexp '^shard 0 .*cpu_variables\.data-00000-of-00001 \(20 bytes\)$'
	need_real saved_model_half_plus_three_variables
	run -0 inspect --header --json "$R"
	run -0 jq -e '.index_size == 151 and .index_blocks == 1 and
		.index_snappy_blocks == 0 and .num_shards == 1 and
		.endianness == "little" and .version.producer == 1 and
		.tf2 == false and .shards[0].size == 12' <<<"$output"
}

@test "a directory with a checkpoint state file opens its latest checkpoint" {
	need_real saved_model_half_plus_three_variables
	mkdir "$W/run"
	ln -s "$R.index" "$W/run/model.ckpt-7.index"
	ln -s "$R.data-00000-of-00001" "$W/run/model.ckpt-7.data-00000-of-00001"
	printf 'model_checkpoint_path: "model.ckpt-7"\n' >"$W/run/checkpoint"
	run -0 inspect -v "$W/run" a
	assert_output "a = 0.5"
}

# --- generated fixtures ------------------------------------------------------

@test "tf1: listing and values" {
	fixture tf1
	run -0 inspect "$F"
	assert_output "$(printf '%s\n' \
		'a                    float32  []      4' \
		'b                    float32  []      4' \
		'dense/bias           float32  [3]    12' \
		'dense/bias/Adam      float32  [3]    12' \
		'dense/bias/Adam_1    float32  [3]    12' \
		'dense/kernel         float32  [2,3]  24' \
		'dense/kernel/Adam    float32  [2,3]  24' \
		'dense/kernel/Adam_1  float32  [2,3]  24' \
		'global_step          int64    []      8' \
		'scoped/c             float32  []      4')"
	run -0 inspect --values "$F" dense/kernel dense/kernel/Adam_1 \
		global_step dense/bias
	assert_output "$(printf '%s\n' \
		'dense/bias = [1, 2, 3]' \
		'dense/kernel = [[0, 1, 2],' \
		'                [3, 4, 5]]' \
		'dense/kernel/Adam_1 = [[   0, 0.25,  0.5],' \
		'                       [0.75,    1, 1.25]]' \
		'global_step = 42')"
	# a backslash makes a pattern too (fnmatch(3): the next character
	# as itself), as the listing shows a key's backslashes doubled
	run -0 inspect --values "$F" 'scoped\/c'
	assert_output "scoped/c = 3"
}

@test "--json: one parseable object per tensor with the documented fields" {
	fixture tf1
	run -0 inspect --json "$F"
	assert_equal "${#lines[@]}" 10
	run -0 jq -s -e 'all(has("key") and has("dtype") and has("shape") and
		has("size") and has("shard") and has("offset") and has("crc32c")) and
		(map(.size) | add) == 128' <<<"$output"
	run -0 inspect -j -v "$F" dense/kernel global_step
	run -0 jq -s -e '.[0].key == "dense/kernel" and .[0].dtype == "float32" and
		.[0].shape == [2,3] and .[0].size == 24 and
		.[0].values == [[0,1,2],[3,4,5]] and
		.[1].dtype == "int64" and .[1].values == 42' <<<"$output"
}

@test "a KEY that matches nothing is exit 1 naming it; a TF2 full name selects" {
	fixture tf1
	run -1 --separate-stderr inspect "$F" dense/nope
	assert_one_error 'tf1\.index: no tensor named "dense/nope"'
	assert_output ""
	run -1 --separate-stderr inspect "$F" 'nope/*'
	assert_one_error 'tf1\.index: no tensor matches "nope/\*"'
	# of a TF2 checkpoint, a full name (as its graph gives it) or a
	# pattern of full names selects its tensors, when it names no key
	fixture tf2
	run -0 --separate-stderr inspect -v "$F" dense/kernel
	assert_output 'model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE = [[0, 1, 2],
                                                    [3, 4, 5]]'
	run -0 --separate-stderr inspect "$F" Variable
	assert_equal "$(cut -d' ' -f1 <<<"$output")" \
		"$(printf '%s\n' model/extra/0/.ATTRIBUTES/VARIABLE_VALUE \
				model/extra/1/.ATTRIBUTES/VARIABLE_VALUE)"
	run -0 --separate-stderr inspect -j "$F" 'dense/*'
	assert_equal "$(jq -r .full_name <<<"$output")" \
		"$(printf '%s\n' dense/bias dense/kernel)"
	# a pattern's end is the name's (memory past it filled with junk)
	MALLOC_PERTURB_=165 run -0 --separate-stderr inspect "$F" 'dense/[b]ias'
	assert_equal "$(cut -d' ' -f1 <<<"$output")" \
		model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE
	cmp <(inspect -r "$F" dense/bias) \
		<(inspect -r "$F" model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE)
	run -2 --separate-stderr inspect -r "$F" Variable
	assert_one_error 'raw writes one tensor; 2 match$'
	# a key first: the pattern matches keys, so no full name is tried
	run -0 --separate-stderr inspect "$F" '*bias*'
	assert_equal "$(cut -d' ' -f1 <<<"$output")" \
		model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE
	run -1 --separate-stderr inspect "$F" 'nope/*'
	assert_one_error 'tf2\.index: no tensor matches "nope/\*"$'
	run -1 --separate-stderr inspect "$F" dense
	assert_one_error 'tf2\.index: no tensor named "dense"$'
}

@test "a KEY may be a path as a mount shows it: by-name/ (also without the prefix), by-object/" {
	fixture tf1
	# a name that is a scope too: its directory is dense/kernel@
	run -0 --separate-stderr inspect "$F" by-name/dense/kernel@/Adam
	assert_output --regexp '^dense/kernel/Adam +float32 +\[2,3\] +24$'
	run -0 --separate-stderr inspect "$F" dense/kernel@/Adam_1
	assert_output --regexp '^dense/kernel/Adam_1 +float32 +\[2,3\] +24$'
	run -0 --separate-stderr inspect -v "$F" \
		by-object/vars/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE
	assert_output 'scoped/c = 3'
	cmp <(inspect -r "$F" by-name/scoped/c) <(inspect -r "$F" scoped/c)
	# a directory is no tensor
	run -1 --separate-stderr inspect "$F" by-name/dense
	assert_one_error 'tf1\.index: no tensor named "by-name/dense"$'
	# a TF2 full name two tensors share: by-name/ tells them apart
	fixture tf2
	run -0 --separate-stderr inspect -j "$F" Variable_1
	assert_equal "$(jq -r .key <<<"$output")" \
		model/extra/1/.ATTRIBUTES/VARIABLE_VALUE
	assert_equal "$(jq -r .full_name <<<"$output")" Variable
	run -0 --separate-stderr inspect "$F" by-name/Variable
	assert_output --regexp '^model/extra/0/\.ATTRIBUTES/VARIABLE_VALUE '
	run -0 --separate-stderr inspect "$F" \
		by-object/model/named/scoped.Sx..y/.ATTRIBUTES/VARIABLE_VALUE
	assert_output --regexp '^model/named/scoped\.Sx\.\.y/\.ATTRIBUTES/VARIABLE_VALUE '
	run -0 inspect --help
	assert_output --partial "paths as a ckptfs mount shows"
}

@test "strings: quoted, escaped, nested by shape" {
	fixture strings
	run -0 inspect "$F"
	assert_line --regexp '^s/scalar +string +\[\] +10$'
	run -0 inspect -v "$F"
	assert_output "$(printf '%s\n' \
		's/empty = []' \
		's/matrix = [["00", "01"],' \
		'            ["10", "11"]]' \
		's/scalar = "hello"' \
		's/vec = ["a", "", "xyz"]')"
	run -0 inspect -j -v "$F" s/vec s/empty
	run -0 jq -s -e '.[0].values == [] and .[0].shape == [0] and
		.[1].values == ["a", "", "xyz"]' <<<"$output"
}

@test "dtypes: float16, bfloat16, bool, complex, ints, variant" {
	fixture dtypes
	run -0 inspect "$F" float16 bfloat16 complex64 variant
	assert_output "$(printf '%s\n' \
		'bfloat16   bfloat16   [2]   4' \
		'complex64  complex64  [2]  16' \
		'float16    float16    [2]   4' \
		'variant    variant    []   10')"
	run -0 inspect -v "$F" float16 bfloat16 bool complex128 int8 uint64 \
		scalar empty variant
	assert_output "$(printf '%s\n' \
		'bfloat16 = [1, 2]' \
		'bool = [false,  true]' \
		'complex128 = [(1+2j), (3+4j)]' \
		'empty = []' \
		'float16 = [1, 2]' \
		'int8 = [1, 2]' \
		'scalar = 7' \
		'uint64 = [1, 2]' \
		'variant = <variant, 10 bytes>')"
	run -0 inspect -j -v "$F"
	run -0 jq -s -e '
		(map({(.key): .}) | add) as $t |
		$t.float16.values == [1,2] and $t.bfloat16.values == [1,2] and
		$t.float64.values == [1,2] and $t.bool.values == [false,true] and
		$t.complex64.values == ["(1+2j)","(3+4j)"] and
		$t.empty.shape == [0,3] and $t.empty.values == [] and
		$t.scalar.values == 7 and $t.variant.values == null and
		$t.int64.dtype == "int64" and $t.uint4.size == 2 and
		$t.int2.values == [1,-2]' <<<"$output"
	# float8 values as ml_dtypes reads them (1 and 2 in each format)
	run -0 inspect -v "$F" 'float8_*'
	assert_output "$(printf '%s\n' \
		'float8_e4m3b11fnuz = [1, 2]' 'float8_e4m3fn = [1, 2]' \
		'float8_e4m3fnuz = [1, 2]' 'float8_e5m2 = [1, 2]' \
		'float8_e5m2fnuz = [1, 2]')"
}

@test "partitioned: full shapes, parts hidden, values assembled" {
	fixture partitioned
	run -0 inspect "$F"
	assert_output "$(printf '%s\n' \
		'p  float32  []        4' \
		'v  float32  [4,6]    96' \
		'w  float32  [10,4]  160')"
	run -0 inspect -v "$F" v
	assert_output "$(printf '%s\n' \
		'v = [[100, 101, 102, 103, 104, 105],' \
		'     [106, 107, 108, 109, 110, 111],' \
		'     [112, 113, 114, 115, 116, 117],' \
		'     [118, 119, 120, 121, 122, 123]]')"
	run -0 inspect -v "$F" w
	assert_line --index 0 'w = [[ 0,  1,  2,  3],'
	assert_line --index 9 '     [36, 37, 38, 39]]'
	run -0 inspect -j -v "$F" w v
	run -0 jq -s -e '.[0].key == "v" and
		.[0].parts == [{"slice":[[0,4],[0,3]],"shard":0,
			"offset":.[0].parts[0].offset,"size":48,
			"crc32c":.[0].parts[0].crc32c},
			{"slice":[[0,4],[3,3]],"shard":0,
			"offset":.[0].parts[1].offset,"size":48,
			"crc32c":.[0].parts[1].crc32c}] and
		(.[0] | has("offset") | not) and
		.[1].shape == [10,4] and (.[1].parts | length) == 2 and
		.[1].parts[1].slice == [[5,5],[0,4]] and
		(.[1].values | flatten) == [range(40)]' <<<"$output"
	run -0 inspect --verify "$F"
	assert_output "3 tensors verified, 0 damaged"
}

@test "summarizing: more than 1000 elements unless --all" {
	"$MKFIXTURE" big "$W/big" --tensors 2 --bytes 40000 >/dev/null ||
		skip "mkfixture big is not available"
	local key
	key=$(inspect -j "$W/big" | jq -rs 'max_by(.size) | .key')
	run -0 inspect -v "$W/big" "$key"
	assert_output --partial "..."
	[ "${#output}" -lt 2000 ] || fail "summary is ${#output} bytes"
	run -0 inspect -v --all "$W/big" "$key"
	refute_output --partial "..."
	# --all alone prints values too, as --all_tensors does.
	run -0 inspect --all "$W/big" "$key"
	assert_output --regexp "^$key = \\["
	refute_output --partial "..."
	[ "$output" = "$(inspect -v --all "$W/big" "$key")" ]
}

@test "a summary of a large tensor reads only what it shows" {
	ldd "$CKPT_INSPECT" | grep -qE 'lib(a|t)san' && skip "ulimit -v and the sanitizers do not mix"
	fixture big
	# 64 MiB of address space, the largest tensor as much: only the
	# summary fits
	run -0 bash -c 'ulimit -v 65536; "$CKPT_INSPECT" -v "$1"' _ "$F"
	assert_line 'embedding/embeddings = [         0,      0.001,      0.002, ..., 0.21300001, 0.21400002,      0.215]'
	[ "${#lines[@]}" = 2000 ]
}

@test "every value of a large tensor is printed in little memory" {
	ldd "$CKPT_INSPECT" | grep -qE 'lib(a|t)san' && skip "ulimit -v and the sanitizers do not mix"
	local p=$W/big2
	"$MKFIXTURE" big "$p" --tensors 2 --bytes 16777216 >/dev/null
	# 16 MiB of address space: 4 MiB of values and 20 MB of JSON text
	# would not fit at once (they did not, before)
	run -0 bash -c 'set -o pipefail; ulimit -v 16384
		"$CKPT_INSPECT" -j -v "$1" embedding/embeddings | tee "$2" | wc -l' _ "$p" "$BATS_TEST_TMPDIR/j"
	assert_output 1
	[ "$(jq -c '[(.values | length), .values[0:3]]' "$BATS_TEST_TMPDIR/j")" = "[1048576,[0,0.0010000000474974513,0.0020000000949949026]]" ]
	run -0 bash -c 'set -o pipefail; ulimit -v 16384
		"$CKPT_INSPECT" -v --all "$1" embedding/embeddings | md5sum' _ "$p"
	[ "$output" = "$("$CKPT_INSPECT" -v --all "$p" embedding/embeddings | md5sum)" ]
}

@test "shards: three data files listed and verified" {
	fixture shards
	run -0 inspect -v "$F"
	assert_output "$(printf '%s\n' 's0/x = [1, 2, 3, 4]' \
		's1/y = [5, 6, 7, 8]' 's2/z = [ 9, 10, 11, 12]')"
	run -0 inspect -j "$F"
	run -0 jq -s -e 'map(.shard) == [0,1,2]' <<<"$output"
	run -0 inspect -H "$F"
	assert_line "num_shards:   3"
	assert_line --regexp '^shard 2 .*shards\.data-00002-of-00003 \(16 bytes\)$'
	run -0 inspect --verify "$F"
	assert_output "3 tensors verified, 0 damaged"
	# a missing shard: listed as such, exit 1
	rm "$F.data-00001-of-00003"
	run -1 --separate-stderr inspect -H "$F"
	assert_line --regexp '^shard 1 .*shards\.data-00001-of-00003 \(missing\)$'
	assert_line --regexp '^shard 2 .*shards\.data-00002-of-00003 \(16 bytes\)$'
	run -1 --separate-stderr inspect -Hj "$F"
	run -0 jq -e '.shards | map(.size) == [16, null, 16]' <<<"$output"
	# nothing of it to salvage (it said "0 of 16 bytes written", and
	# without --force pointed to it)
	run -1 --separate-stderr inspect -r "$F" s1/y
	[ "${stderr_lines[-1]}" = "ckpt-inspect: nothing written (its data file could not be opened: nothing of it to salvage)" ]
	run -1 --separate-stderr inspect -r --force "$F" s1/y
	[ -z "$output" ]
	[ "${stderr_lines[-1]}" = "ckpt-inspect: nothing written (its data file could not be opened: nothing of it to salvage)" ]
}

@test "oddnames: keys escaped for the terminal, exact in JSON" {
	fixture oddnames
	run -0 inspect "$F"
	assert_line --regexp '^ctl\\x01char +float32 +\[\] +4$'
	assert_line --regexp '^with space +float32'
	assert_line --regexp '^héllo/wörld +float32'
	assert_line --regexp '^L{300}  float32  \[\]  4$'
	# No raw control byte reaches the terminal.
	run -0 bash -c '"$CKPT_INSPECT" "$1" | LC_ALL=C grep -c "[[:cntrl:]]" || true' _ "$F"
	assert_output "0"
	run -0 inspect -j "$F"
	assert_line --partial '"key":"ctl\u0001char"'
	run -0 jq -s -e '(map(select(has("key_hex"))) | length) == 0 and
		(map(.key) | index("ctl\u0001char") != null and
		index("héllo/wörld") != null and index("a//b") != null and
		index("trail/") != null and index("..") != null)' <<<"$output"
}

@test "keys are padded by display width: wide characters, combining marks" {
	fixture widenames
	run -0 inspect "$F"
	# 名前/重み takes 9 columns, e+U+0301 t e+U+0301 3, l1/\xe9t\xe9 12:
	# float32 starts at column 15.
	assert_output "$(printf '%s\n' 'a             float32  []  4' \
		$'e\xcc\x81te\xcc\x81           float32  []  4' \
		'l1/\xe9t\xe9  float32  []  4' \
		'名前/重み     float32  []  4')"
	# a key that is not UTF-8 has its bytes in key_hex, in each JSON
	run -0 inspect -j "$F"
	assert_line --regexp '^\{"key":"l1/\\u00e9t\\u00e9","key_hex":"6c312fe974e9","dtype":"float32",'
	[ "$(grep -c key_hex <<<"$output")" = 1 ]
	run -0 inspect -c -j "$F"
	assert_line '{"key":"l1/\u00e9t\u00e9","key_hex":"6c312fe974e9","ok":true}'
	[ "$(grep -c key_hex <<<"$output")" = 1 ]
}

@test "tf2 fixture: graph with slot variable and empty full_name" {
	fixture tf2
	run -0 inspect -g "$F"
	assert_line "  slot m  variable node 15 -> slot node 17"
	assert_line "node 17  (no path)"
	assert_line '  attribute VARIABLE_VALUE  full_name ""  checkpoint_key model/nameless/.ATTRIBUTES/VARIABLE_VALUE'
	assert_line "  child scoped/x.y -> node 13"
	assert_line "node 13  model/named/scoped.Sx..y"
	run -0 inspect -g -j "$F"
	run -0 jq -s -e '.[17].path == null and
		.[2].slot_variables == [{"original_variable_node_id":15,
			"slot_variable_node_id":17,"slot_name":"m"}] and
		.[13].attributes[0].full_name == "x"' <<<"$output"
	run -0 inspect --verify "$F"
	assert_output "11 tensors verified, 0 damaged"
}

@test "--json of a TF2 checkpoint: the full_name its object graph gives each tensor" {
	fixture tf2
	run -0 inspect -j "$F"
	run -0 jq -r -s 'map((.full_name // "-") + " " + .key) | .[]' <<<"$output"
	assert_output "$(printf '%s\n' \
		'- _CHECKPOINTABLE_OBJECT_GRAPH' \
		'Variable model/extra/0/.ATTRIBUTES/VARIABLE_VALUE' \
		'Variable model/extra/1/.ATTRIBUTES/VARIABLE_VALUE' \
		'dense/bias model/layers/0/bias/.ATTRIBUTES/VARIABLE_VALUE' \
		'dense/kernel model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE' \
		'Adam/m/dense/kernel model/layers/0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE' \
		'dense_1/kernel model/layers/1/kernel/.ATTRIBUTES/VARIABLE_VALUE' \
		'x model/named/scoped.Sx..y/.ATTRIBUTES/VARIABLE_VALUE' \
		'- model/nameless/.ATTRIBUTES/VARIABLE_VALUE' \
		'Adam/iter optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE' \
		'save_counter save_counter/.ATTRIBUTES/VARIABLE_VALUE')"
	run -0 inspect -j -v "$F" model/layers/0/kernel/.ATTRIBUTES/VARIABLE_VALUE
	run -0 jq -e '.full_name == "dense/kernel" and .values == [[0,1,2],[3,4,5]]' <<<"$output"
	# a hash table's tensors: its full name followed by what their keys
	# have after its attribute's; table_x has an attribute of its own
	fixture tf2table
	run -0 inspect -j "$F"
	run -0 jq -r -s 'map(select(.full_name) | .full_name + " " + .key) | .[]' <<<"$output"
	assert_output "$(printf '%s\n' \
		'save_counter save_counter/.ATTRIBUTES/VARIABLE_VALUE' \
		'hash_table-keys table/.ATTRIBUTES/table-keys' \
		'hash_table-values table/.ATTRIBUTES/table-values' \
		'hash_table_x table/.ATTRIBUTES/table_x' \
		'v v/.ATTRIBUTES/VARIABLE_VALUE')"
	# none for a TF1 checkpoint (the key is the name)
	fixture tf1
	run -0 inspect -j "$F"
	refute_output --partial full_name
}

@test "--graph of a TF1 checkpoint is exit 1" {
	fixture tf1
	run -1 --separate-stderr inspect --graph "$F"
	assert_one_error 'tf1\.index: no object graph'
}

@test "--raw writes one tensor's bytes as the mount shows them; damaged, only with --force" {
	local off
	fixture tf1
	run -0 bash -c '"$1" -r "$2" dense/kernel | od -An -tf4 | xargs' _ "$CKPT_INSPECT" "$F"
	assert_output "0 1 2 3 4 5"
	# the bytes in the data file, exactly
	off=$(inspect -j "$F" dense/kernel | jq .offset)
	inspect -r "$F" dense/kernel >"$W/k"
	cmp "$W/k" <(dd if="$F.data-00000-of-00001" bs=1 skip="$off" count=24 status=none)
	# one tensor, named; no --all, --json or another mode
	run -2 --separate-stderr inspect -r "$F" 'dense/*'
	[ "$stderr" = "ckpt-inspect: --raw writes one tensor; 6 match" ]
	[ -z "$output" ]
	run -2 inspect -r "$F"
	assert_line "ckpt-inspect: --raw needs the KEY of the tensor"
	run -2 inspect -r -j "$F" a
	assert_line "ckpt-inspect: --raw takes no --all or --json"
	run -2 inspect --force "$F" a
	assert_line "ckpt-inspect: --force goes with --raw"
	run -2 inspect -r -c "$F" a
	run -1 inspect -r "$F" nope
	# damaged: nothing written, unless --force (exit 1 all the same)
	flip "$F.data-00000-of-00001" $((off + 1))
	run -1 --separate-stderr inspect -r "$F" dense/kernel
	[ -z "$output" ]
	[[ "${stderr_lines[0]}" == "ckpt-inspect: $F.data-00000-of-00001: tensor 'dense/kernel': crc32c mismatch (stored 78743a5d, data "* ]]
	[ "${stderr_lines[1]}" = "ckpt-inspect: nothing written (--force writes the bytes as they are)" ]
	inspect -r --force "$F" dense/kernel >"$W/k2" 2>"$W/err" && fail "exit 0"
	grep -q "^ckpt-inspect: warning: $F.data-00000-of-00001: tensor 'dense/kernel': crc32c mismatch" "$W/err"
	[ "$(cmp -l "$W/k" "$W/k2" | wc -l)" = 1 ]
	# a full disk is the output's failure
	if [ -w /dev/full ]; then
		run -1 --separate-stderr bash -c '"$1" -r "$2" a >/dev/full' _ "$CKPT_INSPECT" "$F"
		[ "$stderr" = "ckpt-inspect: standard output: No space left on device" ]
	fi
	# a data file cut inside it: --force writes what is left
	truncate -s $((off + 10)) "$F.data-00000-of-00001"
	run -1 --separate-stderr inspect -r "$F" dense/kernel
	[ -z "$output" ]
	[ "${stderr_lines[-1]}" = "ckpt-inspect: nothing written (--force writes the bytes as they are)" ]
	inspect -r --force "$F" dense/kernel >"$W/k3" 2>"$W/err" && fail "exit 0"
	[ "$(tail -n 1 "$W/err")" = "ckpt-inspect: warning: 10 of 24 bytes written: the data file ends there" ]
	# the cut said once, where the checkpoint is opened, then what is left
	[ "$(wc -l <"$W/err")" = 2 ]
	grep -q "^ckpt-inspect: warning: $F.data-00000-of-00001: tensor '.*' (.*) runs past the end of the file ($((off + 10)) bytes): cut short?; 6 more tensors past the end of a data file$" "$W/err"
	cmp "$W/k3" <(head -c 10 "$W/k2")
}

@test "--raw --force of an index entry that cannot be used: the bytes it locates, if it does" {
	fixture badentry
	# dense/bias says dtype 99; its bytes are float32 1 2 3
	run -1 --separate-stderr inspect -r "$F" dense/bias
	[ -z "$output" ]
	[ "${stderr_lines[-1]}" = "ckpt-inspect: nothing written (--force writes the bytes its entry locates)" ]
	inspect -r --force "$F" dense/bias >"$W/b" 2>"$W/err" && fail "exit 0"
	[ "$(od -An -tf4 "$W/b" | xargs)" = "1 2 3" ]
	run -0 tail -n 1 "$W/err"
	assert_output --regexp "^ckpt-inspect: warning: 12 bytes at offset [0-9]+ of $F\.data-00000-of-00001 written as stored; they match the checksum its entry gives$"
	# scoped/c's entry does not decode: nothing to locate
	run -1 --separate-stderr inspect -r --force "$F" scoped/c
	[ -z "$output" ]
	[ "${stderr_lines[-1]}" = "ckpt-inspect: nothing written (its entry does not say where its bytes are)" ]
}

@test "--raw of a partitioned tensor is assembled; of strings, their stored layout" {
	fixture partitioned
	run -0 bash -c '"$1" -r "$2" w | od -An -v -tf4 | xargs' _ "$CKPT_INSPECT" "$F"
	[ "$output" = "$(inspect -a -j -v "$F" w | jq -r '.values | flatten | map(tostring) | join(" ")')" ]
	fixture strings
	inspect -r "$F" s/vec >"$W/s"
	[ "$(stat -c %s "$W/s")" = "$(inspect -j "$F" s/vec | jq .size)" ]
}

# --- bad input ---------------------------------------------------------------

@test "a missing checkpoint is exit 1 naming the file" {
	run -1 --separate-stderr inspect "$W/nope"
	assert_one_error "nope\.index"
	mkdir "$W/empty"
	run -1 --separate-stderr inspect "$W/empty"
	assert_one_error "empty/checkpoint"
	# The latest checkpoint a state file names is gone: said so, and
	# where the name came from (a trailing / makes no //).
	printf 'model_checkpoint_path: "m-3"\n' >"$W/empty/checkpoint"
	run -1 --separate-stderr inspect "$W/empty/"
	assert_one_error "$W/empty/m-3\.index: no such checkpoint \(No such file or directory\); it is the latest one named by $W/empty/checkpoint \(give a prefix to open another\)$"
	printf 'model_checkpoint_path: ""\n' >"$W/empty/checkpoint"
	run -1 --separate-stderr inspect "$W/empty"
	assert_one_error "$W/empty/checkpoint: model_checkpoint_path is empty$"
}

@test "a prefix that is also a directory, a stray shard, an index that cannot be opened" {
	fixture tf1
	# A directory named as the prefix (a spool, say) without a state
	# file: the prefix, not a checkpoint directory.
	mkdir "$F"
	run -0 inspect "$F"
	[ "${#lines[@]}" = 10 ]
	run -0 inspect "$F/"
	[ "${#lines[@]}" = 10 ]
	ln -s nowhere "$F/checkpoint"	# a state file that is not there
	run -0 inspect "$F"
	rm "$F/checkpoint"
	touch "$F/checkpoint"	# with one, the state file it is
	run -1 --separate-stderr inspect "$F"
	assert_one_error "$F/checkpoint: no model_checkpoint_path$"
	# a field's name damaged: named, not taken for a missing path
	printf 'model_checkpoint_path: "m"\naln_model_checkpoint_paths: "m"\n' >"$F/checkpoint"
	run -1 --separate-stderr inspect "$F"
	assert_one_error "$F/checkpoint: line 2: unknown field 'aln_model_checkpoint_paths' \(damaged\? TensorFlow ignores a state file it cannot parse\)$"
	rm -r "$F"
	# A data file of an older save with two shards is not this one's.
	touch "$F.data-00000-of-00002"
	run -1 --separate-stderr inspect "$F.data-00000-of-00002"
	assert_one_error "$F\.data-00000-of-00002: not a data file of checkpoint $F, whose index has 1 data file$"
	run -0 inspect "$F.data-00000-of-00001"
	# A shard's name is TensorFlow's: no other spelling of its numbers.
	local n
	for n in 0-of-1 000000-of-00001 00000-of-4294967297 4294967296-of-00001; do
		cp "$F.data-00000-of-00001" "$F.data-$n"
		run -1 --separate-stderr inspect "$F.data-$n"
		assert_one_error "$F\.data-$n\.index: no such checkpoint"
	done
	# A prefix that itself ends in .index
	"$MKFIXTURE" tf1 "$W/p.index" >/dev/null
	run -0 inspect "$W/p.index"
	[ "${#lines[@]}" = 10 ]
	# Not "no such checkpoint" for an index that is there but cannot be
	# opened.
	ln -s loop.index "$W/loop.index"
	run -1 --separate-stderr inspect "$W/loop"
	assert_one_error "$W/loop\.index: Too many levels of symbolic links$"
}

@test "a string tensor whose lengths were damaged: --verify says what is wrong" {
	fixture strings
	local off
	off=$(inspect -j "$F" s/vec | jq .offset)
	printf '\x02' | dd of="$F.data-00000-of-00001" bs=1 seek="$off" \
		conv=notrunc status=none
	run -1 inspect --verify "$F"
	assert_line "DAMAGED s/vec: not a stored string tensor of its shape: the lengths add up to 5 bytes, but 4 follow them and their 4-byte checksum in strings.data-00000-of-00001"
}

@test "an index cut short: the message says it may be" {
	fixture tf1
	head -c 300 "$F.index" >"$W/cut.index"
	run -1 --separate-stderr inspect "$W/cut"
	assert_one_error "cut\.index: bad table magic [0-9a-f]{16} at offset 292 \(cut short, or not a checkpoint index\?\)$"
}

@test "a flipped byte in the data file: --verify names the tensor" {
	fixture tf1
	# dense/kernel is [2,3] = 0..5; find its bytes and damage one.
	local off
	off=$(inspect -j "$F" dense/kernel | jq .offset)
	flip "$F.data-00000-of-00001" $((off + 5))
	run -1 inspect --verify "$F"
	assert_line --regexp '^DAMAGED dense/kernel: .*crc32c mismatch.* in tf1\.data-00000-of-00001$'
	assert_line "10 tensors verified, 1 damaged"
	assert_equal "$(grep -c DAMAGED <<<"$output")" 1
	run -1 inspect --verify --json "$F"
	run -0 jq -s -e '.[-1] == {"verified":10,"damaged":1} and
		(map(select(.ok == false)) | .[0].key) == "dense/kernel"' <<<"$output"
	run -1 --separate-stderr inspect -v "$F" dense/kernel
	# the file that holds it, not the prefix
	assert_one_error "$F\\.data-00000-of-00001: tensor 'dense/kernel': crc32c mismatch"
	# Every other tensor still prints, the damaged one said on stderr.
	run -1 --separate-stderr inspect -v "$F"
	assert_one_error "dense/kernel.*crc32c mismatch"
	assert_line "global_step = 42"
	assert_line "dense/bias = [1, 2, 3]"
	refute_output --partial "dense/kernel ="
	assert_equal "$(grep -c ' = ' <<<"$output")" 9
	run -1 --separate-stderr inspect -v -j "$F"
	assert_equal "$(jq -s length <<<"$output")" 9
	# The listing reads only the index.
	run -0 inspect "$F"
}

@test "a damaged part of a partitioned tensor is named with its extents" {
	fixture partitioned
	local off
	off=$(inspect -j "$F" w | jq '.parts[1].offset')
	flip "$F.data-00000-of-00001" $((off + 2))
	run -1 inspect --verify "$F"
	assert_line --regexp '^DAMAGED w\[5:10,0:4\]: .*crc32c mismatch'
	assert_line "3 tensors verified, 1 damaged"
	# a slice spanning a dim whole (stored as such) is named with ':'
	fixture partstrings
	off=$(inspect -j "$F" s | jq '.parts[0].offset')
	flip "$F.data-00000-of-00001" $((off + 20))
	run -1 inspect --verify "$F"
	assert_line --regexp "^DAMAGED s\[:,0:1\]: crc32c mismatch \(stored [0-9a-f]{8}, data [0-9a-f]{8}\) in partstrings\.data-00000-of-00001$"
	# and so is it when read
	run -1 inspect -v "$F" s
	assert_output --regexp "tensor 's\[:,0:1\]': crc32c mismatch"
}

@test "a truncated index is exit 1 naming the index" {
	fixture tf1
	truncate -s 100 "$F.index"
	run -1 --separate-stderr inspect "$F"
	assert_one_error "tf1\.index"
	truncate -s 0 "$F.index"
	run -1 --separate-stderr inspect "$F"
	assert_one_error "tf1\.index: empty file, not a checkpoint index$"
}

@test "a flipped byte in the index is exit 1 naming the index" {
	fixture tf1
	flip "$F.index" 20
	run -1 --separate-stderr inspect "$F"
	assert_one_error "tf1\.index.*(CRC|crc)"
	run -1 --separate-stderr inspect --verify "$F"
	assert_one_error "tf1\.index"
}

@test "a deleted shard: listed with a warning naming it; --verify is exit 1" {
	fixture shards
	rm "$F.data-00001-of-00003"
	run -0 --separate-stderr inspect "$F"
	[ "$(printf '%s\n' "$output" | wc -l)" = 3 ]
	[ "$stderr" = "ckpt-inspect: warning: $F.data-00001-of-00003: no such data file, which holds tensor 's1/y'" ]
	run -1 --separate-stderr inspect --verify "$F"
	assert_line "DAMAGED s1/y: shards.data-00001-of-00003: no such data file"
	# Two missing: both named.
	rm "$F.data-00002-of-00003"
	run -0 --separate-stderr inspect "$F"
	[ "$stderr" = "ckpt-inspect: warning: $F.data-00001-of-00003: no such data file, which holds tensor 's1/y'; 1 more tensor not in its data file; 2 data files missing: shards.data-00001-of-00003, shards.data-00002-of-00003" ]
	# One cut to nothing first, one missing: the missing one named too.
	: >"$F.data-00000-of-00003"
	printf x >"$F.data-00001-of-00003"
	run -0 --separate-stderr inspect "$F"
	[ "$stderr" = "ckpt-inspect: warning: $F.data-00000-of-00003: tensor 's0/x' (16 bytes at offset 0) runs past the end of the file (0 bytes): cut short?; 2 more tensors not in their data files; 1 data file missing: shards.data-00002-of-00003" ]
}

@test "data files of another shard count than the header's: the message says they are there" {
	fixture tf1
	mv "$F.data-00000-of-00001" "$F.data-00000-of-00002"
	run -0 --separate-stderr inspect "$F"
	[ "$stderr" = "ckpt-inspect: warning: $F.data-00000-of-00001: no such data file, which holds tensor 'a' ($F.data-00000-of-00002 is there: the index's header says 1 data file; damaged, or the index of another save?); 9 more tensors not in their data files" ]
	# (a name TensorFlow would not write is not taken for one, nor a
	# directory)
	mv "$F.data-00000-of-00002" "$F.data-0-of-2"
	mkdir "$F.data-00000-of-00003"
	run -0 --separate-stderr inspect "$F"
	[ "$stderr" = "ckpt-inspect: warning: $F.data-00000-of-00001: no such data file, which holds tensor 'a'; 9 more tensors not in their data files" ]
	# the header's first data file there, another missing: not said
	fixture shards
	mv "$F.data-00001-of-00003" "$W/saved"
	cp "$F.data-00000-of-00003" "$F.data-00000-of-00009"
	run -0 --separate-stderr inspect "$F"
	[ "$stderr" = "ckpt-inspect: warning: $F.data-00001-of-00003: no such data file, which holds tensor 's1/y'" ]
}

@test "a shard cut short: listed with a warning naming it; --verify names each cut" {
	fixture tf1
	truncate -s 64 "$F.data-00000-of-00001"
	run -0 --separate-stderr inspect "$F"
	[ "${#lines[@]}" = 10 ]
	[ "$stderr" = "ckpt-inspect: warning: $F.data-00000-of-00001: tensor 'dense/bias' (12 bytes at offset 84) runs past the end of the file (64 bytes): cut short?; 4 more tensors past the end of a data file" ]
	run -1 inspect --verify "$F"
	for k in dense/bias dense/bias/Adam dense/bias/Adam_1 dense/kernel/Adam_1 global_step; do
		assert_line "DAMAGED $k: the file is shorter than the index says in tf1.data-00000-of-00001"
	done
	assert_line "10 tensors verified, 5 damaged"
	# the tensors it still holds print
	run -0 --separate-stderr inspect -j -v "$F" dense/kernel/Adam
	[ "$(jq -c .values <<<"$output")" = "[[0,0.5,1],[1.5,2,2.5]]" ]
	run -1 --separate-stderr inspect -v "$F" global_step
	assert_regex "${stderr_lines[1]}" "tensor 'global_step': the file is shorter than the index says"
}

@test "a shard cut or changed while values print: said, naming it, not stdout" {
	# 1.5 million float32 in windows of 1 MiB: the values begin to
	# come out in the first window, the file is cut then, and the
	# second window's read fails (before: "standard output: ...").
	"$MKFIXTURE" big "$W/c" --tensors 1 --bytes 8000000 >/dev/null
	local k=layer_0/dense/bias d=$W/c.data-00000-of-00001
	cp "$d" "$W/keep"
	run -1 --separate-stderr bash -c '"$1" -j -a --values="$2" "$3" |
		{ head -c 1 >/dev/null; truncate -s 4096 "$4"; cat >/dev/null; }
		exit "${PIPESTATUS[0]}"' - "$CKPT_INSPECT" "$k" "$W/c" "$d"
	assert_one_error "$d: tensor '$k': the file became shorter than the index says while its values were printed\$"
	# written in place, the same size: the file changed
	cp "$W/keep" "$d"
	run -1 --separate-stderr bash -c '"$1" -j -a --values="$2" "$3" |
		{ head -c 1 >/dev/null; touch -d "1 hour ago" "$4"
		  cat >/dev/null; }
		exit "${PIPESTATUS[0]}"' - "$CKPT_INSPECT" "$k" "$W/c" "$d"
	assert_one_error "$d: tensor '$k': the file changed while its values were printed\$"
	# untouched, every value prints
	cp "$W/keep" "$d"
	run -0 --separate-stderr inspect -j -a --values="$k" "$W/c"
	[ "$(jq '.values | length' <<<"$output")" = 1500000 ]
}

@test "data files past the soft limit of open files: the hard one is taken; past that, said" {
	# Every data file is held open: 1,000 shards, a soft limit of 1,024,
	# and --verify called the tensors of the last ones damaged.
	fixture shards
	# (with only 0, 1 and 2 open: the index and 3 data files need 7)
	local only='for f in /proc/$$/fd/*; do f=${f##*/}
		[ "$f" -gt 2 ] && eval "exec $f>&-"; done'
	run -0 bash -c "$only"'; ulimit -Sn 6 && exec "$0" --verify "$1"' \
		"$CKPT_INSPECT" "$F"
	assert_output "3 tensors verified, 0 damaged"
	run -1 bash -c "$only"'; ulimit -n 6 && exec "$0" --verify "$1"' \
		"$CKPT_INSPECT" "$F"
	assert_output "ckpt-inspect: $F.index: Too many open files: its 3 data files are held open together, and at most 6 files can be open at once (ulimit -Hn)"
}

@test "an absurd size in an entry is exit 1 naming the file" {
	copy_real saved_model_half_plus_three_variables
	# Entry "c" (value at offset 45): replace "12 00 20 08 28 04" (shape {},
	# offset 8, size 4) with "28 ff ff ff ff 0f" (size 2^32 - 1).
	poke "$C.index" 47 28 ff ff ff ff 0f
	fix_block_crc "$C.index" 66
	run -1 --separate-stderr inspect "$C"
	assert_one_error "half_plus_three_variables\.index: tensor 'c' has 4294967295 bytes, but its shape needs 4 \(1 x float32\)"
	run -1 --separate-stderr inspect --verify "$C"
	assert_one_error "half_plus_three_variables\.index: .*has 4294967295 bytes"
}

@test "an unknown dtype is exit 1 naming the file; the other tensors are listed" {
	copy_real saved_model_half_plus_three_variables
	poke "$C.index" 46 63	# entry "c": dtype 1 -> 99
	fix_block_crc "$C.index" 66
	run -1 --separate-stderr inspect "$C"
	assert_one_error "half_plus_three_variables\.index: .*'c'.*dtype 99"
	[ "$(awk '{print $1}' <<<"$output" | tr '\n' ' ')" = "a b " ]
	run -0 --separate-stderr inspect -v "$C" b
	[ "$output" = "b = 3" ]
}

@test "a size that does not match the shape is exit 1" {
	copy_real saved_model_half_plus_three_variables
	poke "$C.index" 52 08	# entry "c": size 4 -> 8
	fix_block_crc "$C.index" 66
	run -1 --separate-stderr inspect "$C"
	assert_one_error "half_plus_three_variables\.index: tensor 'c' has 8 bytes, but its shape needs 4 \(1 x float32\)"
}

@test "the CRC helper reproduces the real index (self-check)" {
	copy_real saved_model_half_plus_three_variables
	fix_block_crc "$C.index" 66
	cmp "$C.index" "$R.index"
}
